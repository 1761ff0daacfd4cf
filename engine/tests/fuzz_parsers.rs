//! Fuzzing every file entry point: valid files mutated (bytes overwritten, numbers swapped
//! for extreme ones, chunks cut, duplicated or spliced, cut short) and arbitrary bytes must
//! give `Ok` or a typed error — never a panic, a hang or an absurd allocation.
//!
//! cargo-fuzz needs a nightly toolchain, which this project's machines do not have, so this
//! is a small mutational fuzzer on stable. CI runs a short campaign; `scripts/fuzz.sh` runs
//! the long one (`ROAP_FUZZ_CASES` cases per parser) and prints one JSON line per parser.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.
#![allow(clippy::print_stdout)] // The campaign prints one JSON line per parser.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use roap_engine::arith::ArithConfig;
use roap_engine::data::{self, Furniture};
use roap_engine::dsl::Program;
use roap_engine::export::{self, MeshFormat};
use roap_engine::graphics::amortized::{TrainConfig, checkpoint};
use roap_engine::graphics::policy::{Policy, PolicyConfig};
use roap_engine::graphics::{GraphicsProgram, PartFamily, SketchConfig};

thread_local! {
    /// Set on the campaign's threads: their panics are counted, not printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// A case slower than this counts as a hang.
const HANG: Duration = Duration::from_secs(5);

/// One file entry point: valid files to mutate, and the parser (which must not panic; it
/// says whether the input was accepted).
struct Parser {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    parse: Parse,
}

/// Parses one input; `true` if it was accepted.
type Parse = Box<dyn Fn(&[u8]) -> bool + Send + Sync>;

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn mesh_seeds(format: MeshFormat) -> Vec<Vec<u8>> {
    let grid = data::generate(Furniture::Mug, 1, 10);
    let mesh = export::isosurface_of_grid(&grid);
    let mut bytes = Vec::new();
    export::write_mesh(&mut bytes, &mesh, format).unwrap();
    vec![bytes]
}

fn png_seeds() -> Vec<Vec<u8>> {
    let mut gray = Vec::new();
    image::GrayImage::from_fn(16, 16, |x, y| image::Luma([if x > y { 255 } else { 0 }]))
        .write_to(
            &mut std::io::Cursor::new(&mut gray),
            image::ImageFormat::Png,
        )
        .unwrap();
    let mut rgb = Vec::new();
    image::RgbImage::from_fn(8, 8, |x, _| image::Rgb([x as u8 * 30, 0, 255]))
        .write_to(&mut std::io::Cursor::new(&mut rgb), image::ImageFormat::Png)
        .unwrap();
    vec![gray, rgb]
}

/// A small gzip-compressed IM-NET style file.
fn hdf5_seed() -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("roap-fuzz-seed-{}.hdf5", std::process::id()));
    let file = rust_hdf5::H5File::create(&path).unwrap();
    let dataset = file
        .new_dataset::<u8>()
        .shape([2usize, 4, 4, 4, 1])
        .chunk(&[1usize, 4, 4, 4, 1])
        .deflate(6)
        .create("voxels")
        .unwrap();
    dataset.write_raw(&[1u8; 128]).unwrap();
    file.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    bytes
}

/// The smallest policy a checkpoint can hold, so that a case costs microseconds.
fn tiny_checkpoint() -> (TrainConfig, Vec<u8>, Vec<u8>) {
    let config = TrainConfig {
        policy: PolicyConfig {
            sketch: SketchConfig {
                lines: 2,
                parts: 2,
                family: PartFamily::Library {
                    warps: 2,
                    surfaces: 2,
                },
                ..SketchConfig::paper_3d()
            },
            input_resolution: 8,
            channels: [1, 1, 1],
            hidden: 4,
            ..PolicyConfig::default()
        },
        ..TrainConfig::default()
    };
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("roap-fuzz-ckpt-{}-{call}", std::process::id()));
    let policy = Policy::new(&config.policy, &Device::flex());
    checkpoint::save(&dir, policy, None, &config).unwrap();
    let json = std::fs::read(dir.join("config.json")).unwrap();
    let record = std::fs::read(dir.join("policy.bpk")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (config, json, record)
}

fn parsers() -> Vec<Parser> {
    let text = |path: &str| std::fs::read(samples().join(path)).unwrap();
    let (_, config_json, record) = tiny_checkpoint();
    let arith_config = serde_json::to_vec_pretty(&ArithConfig::quick()).unwrap();
    let dir = PathBuf::from("fuzzed-checkpoint");
    let valid_record = record.clone();
    let valid_config = config_json.clone();
    let hdf5_dir = std::env::temp_dir().join(format!("roap-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&hdf5_dir).unwrap();
    let hdf5_file = AtomicU64::new(0);
    vec![
        Parser {
            name: "binvox",
            seeds: vec![
                data::write_binvox(&data::generate(Furniture::Table, 2, 12)),
                text("shapes/mug.binvox"),
            ],
            parse: Box::new(|b| data::read_binvox(b).is_ok()),
        },
        Parser {
            name: "obj",
            seeds: mesh_seeds(MeshFormat::Obj),
            parse: Box::new(|b| data::read_obj(b).is_ok()),
        },
        Parser {
            name: "off",
            seeds: vec![b"OFF\n4 1 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n4 0 1 2 3\n".to_vec()],
            parse: Box::new(|b| data::read_off(b).is_ok()),
        },
        Parser {
            name: "stl",
            seeds: mesh_seeds(MeshFormat::Stl),
            parse: Box::new(|b| data::read_stl(b).is_ok()),
        },
        Parser {
            name: "ply",
            seeds: mesh_seeds(MeshFormat::Ply),
            parse: Box::new(|b| data::read_ply(b).is_ok()),
        },
        Parser {
            name: "png",
            seeds: png_seeds(),
            parse: Box::new(|b| data::read_png(b).is_ok()),
        },
        Parser {
            name: "hdf5",
            seeds: vec![hdf5_seed()],
            parse: Box::new(move |b| {
                // The reader takes a path: each case gets a fresh file name.
                let n = hdf5_file.fetch_add(1, Ordering::Relaxed);
                let path = hdf5_dir.join(format!("{n}.hdf5"));
                std::fs::write(&path, b).unwrap();
                let voxels = data::read_voxel_dataset(&path, "voxels").is_ok();
                let pixels = data::read_u8_dataset(&path, "pixels").is_ok();
                std::fs::remove_file(&path).unwrap();
                voxels || pixels
            }),
        },
        Parser {
            name: "program-text",
            seeds: vec![text("programs/csg_hidden.txt")],
            parse: Box::new(|b| std::str::from_utf8(b).is_ok_and(|t| t.parse::<Program>().is_ok())),
        },
        Parser {
            name: "program-json",
            seeds: vec![text("programs/mug.program.json")],
            parse: Box::new(|b| {
                // A program that checks out must also evaluate.
                let parsed = std::str::from_utf8(b).map(GraphicsProgram::from_json);
                let Ok(Ok(program)) = parsed else {
                    return false;
                };
                let point = vec![0.1f32; program.dim];
                program.occupancy(&point);
                true
            }),
        },
        Parser {
            name: "checkpoint-config",
            seeds: vec![config_json, arith_config],
            parse: Box::new(move |b| {
                let policy = checkpoint::from_bytes(&dir, b, valid_record.clone(), &Device::flex());
                let arith = serde_json::from_slice::<ArithConfig>(b)
                    .is_ok_and(|config| config.model.check().is_ok());
                policy.is_ok() || arith
            }),
        },
        Parser {
            name: "burn-record",
            seeds: vec![record],
            parse: Box::new(move |b| {
                let dir = PathBuf::from("fuzzed-checkpoint");
                checkpoint::from_bytes(&dir, &valid_config, b.to_vec(), &Device::flex()).is_ok()
            }),
        },
    ]
}

/// Numbers a lying header might hold.
const EXTREMES: [&[u8]; 10] = [
    b"0",
    b"-1",
    b"1",
    b"4096",
    b"65535",
    b"4294967295",
    b"4294967296",
    b"18446744073709551615",
    b"1e308",
    b"nan",
];

/// One mutation of a seed (or arbitrary bytes).
fn mutate(rng: &mut SmallRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.random_ratio(1, 16) {
        let len = rng.random_range(0..512);
        return (0..len).map(|_| rng.random()).collect();
    }
    let mut bytes = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..=3) {
        let len = bytes.len();
        match rng.random_range(0..7) {
            // Overwrite a few bytes (biased towards the header, where sizes live).
            0 if len > 0 => {
                for _ in 0..rng.random_range(1..=4) {
                    let end = if rng.random() { len.min(256) } else { len };
                    let at = rng.random_range(0..end);
                    bytes[at] = rng.random();
                }
            }
            // Swap a run of ASCII digits for an extreme number.
            1 => {
                let digits: Vec<usize> = (0..len).filter(|&i| bytes[i].is_ascii_digit()).collect();
                if let Some(&start) = digits.get(rng.random_range(0..digits.len().max(1))) {
                    let end = (start..len)
                        .find(|&i| !bytes[i].is_ascii_digit())
                        .unwrap_or(len);
                    let number = EXTREMES[rng.random_range(0..EXTREMES.len())];
                    bytes.splice(start..end, number.iter().copied());
                }
            }
            // Overwrite 4 bytes with an extreme little-endian count (binary headers).
            2 if len >= 4 => {
                let at = rng.random_range(0..len.min(512) - 3);
                let value: u32 = [0, 1, u32::MAX, 1 << 31, 1 << 20][rng.random_range(0..5)];
                bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            // Cut a chunk out.
            3 if len > 0 => {
                let start = rng.random_range(0..len);
                let end = (start + rng.random_range(1..=64)).min(len);
                bytes.drain(start..end);
            }
            // Duplicate a chunk.
            4 if len > 0 => {
                let start = rng.random_range(0..len);
                let end = (start + rng.random_range(1..=64)).min(len);
                let chunk = bytes[start..end].to_vec();
                let at = rng.random_range(0..=len);
                bytes.splice(at..at, chunk);
            }
            // Splice in the tail of another seed.
            5 => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                let cut = rng.random_range(0..=len);
                let from = rng.random_range(0..=other.len());
                bytes.truncate(cut);
                bytes.extend_from_slice(&other[from..]);
            }
            // Cut short.
            _ => {
                let cut = rng.random_range(0..=len);
                bytes.truncate(cut);
            }
        }
    }
    bytes
}

/// What one parser's campaign saw.
struct Campaign {
    cases: u64,
    /// Inputs the parser accepted (mutations that kept the file valid go deepest).
    accepted: u64,
    seconds: f64,
    panics: Vec<String>,
    hangs: u64,
    slowest: Duration,
}

/// What a worker is doing, for the watchdog: the case it runs and since when (ms after the
/// campaign started, plus one; 0 when idle).
#[derive(Default)]
struct Busy {
    since_ms: AtomicU64,
    case: AtomicU64,
}

/// Runs `cases` mutated inputs through `parser`; failing inputs are saved under `out`.
fn campaign(
    parser: &Parser,
    cases: u64,
    seed: u64,
    out: &std::path::Path,
    busy: (&Busy, Instant),
) -> Campaign {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut result = Campaign {
        cases,
        accepted: 0,
        seconds: 0.0,
        panics: Vec::new(),
        hangs: 0,
        slowest: Duration::ZERO,
    };
    let started = Instant::now();
    for case in 0..cases {
        let input = mutate(&mut rng, &parser.seeds);
        let began = Instant::now();
        busy.0.case.store(case, Ordering::Relaxed);
        busy.0
            .since_ms
            .store(busy.1.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| (parser.parse)(&input)));
        let took = began.elapsed();
        busy.0.since_ms.store(0, Ordering::Relaxed);
        result.slowest = result.slowest.max(took);
        result.accepted += u64::from(matches!(outcome, Ok(true)));
        let failure = match outcome {
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                Some(format!("panic: {message}"))
            }
            Ok(_) if took > HANG => {
                result.hangs += 1;
                Some(format!("took {took:?}"))
            }
            Ok(_) => None,
        };
        if let Some(failure) = failure {
            let file = out.join(format!("{}-{case}.bin", parser.name));
            std::fs::write(&file, &input).unwrap();
            if failure.starts_with("panic") {
                result
                    .panics
                    .push(format!("{failure} ({})", file.display()));
            }
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

/// Runs every parser's campaign on all cores, prints a JSON line per parser, and returns
/// the failures.
fn fuzz_every_parser(cases: u64) -> Vec<String> {
    let out = std::env::temp_dir().join(format!("roap-fuzz-failures-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    // Panics on the campaign's threads are counted, not printed; other tests' still print.
    let previous: Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync> =
        Arc::from(std::panic::take_hook());
    let chained = Arc::clone(&previous);
    std::panic::set_hook(Box::new(move |info| {
        if !QUIET.with(Cell::get) {
            chained(info);
        }
    }));
    let parsers = parsers();
    let next = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers: Vec<(Busy, AtomicU64)> = (0..threads.min(parsers.len()))
        .map(|_| (Busy::default(), AtomicU64::new(u64::MAX)))
        .collect();
    let started = Instant::now();
    let done = AtomicBool::new(false);
    let workers_done = AtomicU64::new(0);
    std::thread::scope(|scope| {
        // A case that never returns would stall the campaign: after a minute, name it (the
        // parser and case index reproduce it: each parser's cases come from a fixed seed).
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                let now = started.elapsed().as_millis() as u64;
                for (busy, parser) in &workers {
                    let since = busy.since_ms.load(Ordering::Relaxed);
                    if since > 0 && now.saturating_sub(since - 1) > 60_000 {
                        let name = parsers[parser.load(Ordering::Relaxed) as usize].name;
                        eprintln!(
                            "fuzz: {name} case {} has run for over a minute: a hang",
                            busy.case.load(Ordering::Relaxed)
                        );
                        std::process::exit(1);
                    }
                }
            }
        });
        for (busy, current) in &workers {
            let (next, failures, out, parsers) = (&next, &failures, &out, &parsers);
            let (workers_done, done, count) = (&workers_done, &done, workers.len() as u64);
            scope.spawn(move || {
                QUIET.with(|quiet| quiet.set(true));
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(parser) = parsers.get(index as usize) else {
                        break;
                    };
                    current.store(index, Ordering::Relaxed);
                    let seen = campaign(parser, cases, index, out, (busy, started));
                    println!(
                        "{{\"bench\":\"fuzz\",\"parser\":\"{}\",\"cases\":{},\"accepted\":{},\
                         \"seconds\":{:.1},\
                         \"execs_per_s\":{:.0},\"panics\":{},\"hangs_over_5s\":{},\
                         \"slowest_ms\":{:.1}}}",
                        parser.name,
                        seen.cases,
                        seen.accepted,
                        seen.seconds,
                        seen.cases as f64 / seen.seconds.max(1e-9),
                        seen.panics.len(),
                        seen.hangs,
                        seen.slowest.as_secs_f64() * 1000.0
                    );
                    let mut failures = failures.lock().unwrap();
                    let panics = seen.panics.iter().take(3);
                    failures.extend(panics.map(|p| format!("{}: {p}", parser.name)));
                    if seen.hangs > 0 {
                        failures.push(format!("{}: {} cases over 5 s", parser.name, seen.hangs));
                    }
                }
                if workers_done.fetch_add(1, Ordering::Relaxed) + 1 == count {
                    done.store(true, Ordering::Relaxed);
                }
            });
        }
    });
    std::panic::set_hook(Box::new(move |info| previous(info)));
    failures.into_inner().unwrap()
}

/// CI's short campaign.
#[test]
fn every_parser_survives_mutated_files() {
    let failures = fuzz_every_parser(20_000);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The long campaign: `ROAP_FUZZ_CASES` (default 10⁶) cases per parser. `scripts/fuzz.sh`.
#[test]
#[ignore = "long: about an hour on 2 cores; scripts/fuzz.sh runs it"]
fn fuzz_campaign() {
    let cases = std::env::var("ROAP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let failures = fuzz_every_parser(cases);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn binary_stl_with_a_huge_triangle_count_is_refused_quickly() {
    let mut bytes = vec![0u8; 84];
    bytes[80..84].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(data::read_stl(&bytes).is_err());
}

#[test]
fn a_checkpoint_asking_for_a_giant_policy_is_refused_before_it_is_built() {
    let (mut config, _, record) = tiny_checkpoint();
    config.policy.hidden = 1 << 40;
    let json = serde_json::to_vec(&config).unwrap();
    let started = Instant::now();
    let err = checkpoint::from_bytes(&PathBuf::from("giant"), &json, record, &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(err.contains("hidden"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Limits before allocation: files that claim (or are) huge give an error at once.
#[test]
fn files_claiming_huge_sizes_are_refused_within_a_second() {
    let quick = |what: &str, result: Result<(), String>| {
        let err = result.expect_err(what);
        assert!(!err.contains('\n'), "{what}: {err}");
        eprintln!("{what}: {err}");
    };
    let started = Instant::now();
    quick(
        "binvox 4096³",
        data::read_binvox(b"#binvox 1\ndim 4096 4096 4096\ndata\n")
            .map(drop)
            .map_err(|e| e.to_string()),
    );
    quick(
        "PLY lying about its counts",
        data::read_ply(
            b"ply\nformat ascii 1.0\nelement vertex 1000000000\nproperty float x\n\
              property float y\nproperty float z\nelement face 1000000000\n\
              property list uchar int vertex_indices\nend_header\n0 0 0\n",
        )
        .map(drop)
        .map_err(|e| e.to_string()),
    );
    quick(
        "OFF claiming 10⁹ faces",
        data::read_off(b"OFF\n3 1000000000 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
            .map(drop)
            .map_err(|e| e.to_string()),
    );
    quick(
        "OBJ face of vertex 10⁹",
        data::read_obj(b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 1000000000\n")
            .map(drop)
            .map_err(|e| e.to_string()),
    );
    // A 2 GiB file (sparse: nothing is written) is refused from its size, unread.
    let dir = std::env::temp_dir().join(format!("roap-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let huge = dir.join("huge.stl");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    quick(
        "a 2 GiB STL",
        data::read_mesh(&huge).map(drop).map_err(|e| e.to_string()),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}
