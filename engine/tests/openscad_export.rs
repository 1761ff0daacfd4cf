//! The OpenSCAD export round trip: the .scad our exporter writes, rendered by the real
//! `openscad` CLI, covers the same voxels as the program itself (IoU at 64³). CI installs
//! openscad; elsewhere the test says it skipped.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use std::path::PathBuf;
use std::process::Command;

use roap_engine::data::{VoxelGrid, read_stl};
use roap_engine::graphics::openscad::{DEFAULT_PART_RESOLUTION, to_openscad};
use roap_engine::graphics::{ComponentKind, GraphicsProgram, OpenOptions, Target};

const RESOLUTION: usize = 64;

fn samples() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    PathBuf::from(manifest).join("../samples")
}

fn program(name: &str) -> GraphicsProgram {
    let path = samples().join("programs").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("a program.json")
}

fn openscad_available() -> bool {
    Command::new("openscad")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Renders the program's .scad with openscad and returns the IoU of the STL it writes with
/// the program, both sampled at the voxel centres of a 64³ grid (in `frame`'s model space).
fn round_trip_iou(name: &str, program: &GraphicsProgram, frame: Option<&VoxelGrid>) -> f64 {
    let dir = std::env::temp_dir().join(format!("roap_scad_{}_{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scad = dir.join("program.scad");
    let stl = dir.join("program.stl");
    let text = to_openscad(program, frame, DEFAULT_PART_RESOLUTION).unwrap();
    eprintln!("{name}: {} points and faces", text.matches("],[").count());
    std::fs::write(&scad, text).unwrap();
    let started = std::time::Instant::now();
    let output = Command::new("openscad")
        .arg("-o")
        .arg(&stl)
        .arg(&scad)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openscad failed on {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{name}: openscad {:.1} s", started.elapsed().as_secs_f64());
    let mesh = read_stl(&std::fs::read(&stl).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    let grid = VoxelGrid::empty(RESOLUTION);
    let r = RESOLUTION;
    let normalized: Vec<[f32; 3]> = (0..r * r * r)
        .map(|i| grid.normalized_centre([i / (r * r), (i / r) % r, i % r]))
        .collect();
    let model: Vec<[f32; 3]> = normalized
        .iter()
        .map(|p| match frame {
            Some(f) => [0, 1, 2].map(|a| (p[a] + 0.5) * f.scale + f.translate[a]),
            None => *p,
        })
        .collect();
    let flat: Vec<f32> = normalized.iter().flatten().copied().collect();
    let ours = program.occupancies(&flat);
    let theirs = mesh.winding_numbers(&model);
    let (mut both, mut either) = (0usize, 0usize);
    for (a, b) in ours.iter().zip(&theirs) {
        let (a, b) = (*a > 0.5, *b > 0.5);
        both += usize::from(a && b);
        either += usize::from(a || b);
    }
    assert!(either > 0, "{name}: both shapes are empty");
    both as f64 / either as f64
}

#[test]
fn openscad_renders_what_the_program_is() {
    if !openscad_available() {
        eprintln!("skipped: the openscad CLI is not installed (apt-get install openscad)");
        return;
    }
    // Synthesized by `roap synth samples/shapes/mug.binvox` (defaults): difference lines and
    // a flip-union, placed in the mug's model space.
    let mug = program("mug.program.json");
    let mug_frame = match Target::open(
        &samples().join("shapes/mug.binvox"),
        &OpenOptions::default(),
    )
    .unwrap()
    {
        Target::Voxels(grid) => grid,
        Target::Pixels(_) => unreachable!("a binvox is 3D"),
    };
    // Synthesized by `roap synth samples/shapes/chair.binvox` (defaults).
    let chair = program("chair.program.json");
    // The mug's first component repeated along x: a for-loop. The closest of the three to
    // the floor (0.95): its difference lines are `max(a − b, 0)`, which matches a CSG
    // difference of the parts' ½-surfaces only where the parts are sharp; the mug's body
    // and cut are soft.
    let mut repeated = mug.clone();
    repeated.components.truncate(1);
    let looped = &mut repeated.components[0];
    looped.kind = ComponentKind::ForLoop { max_count: 4 };
    looped.step = Some(vec![0.3, 0.0, 0.05]);
    looped.count = Some(3);

    let mut failures = Vec::new();
    for (name, program, frame) in [
        ("mug", &mug, Some(&mug_frame)),
        ("mug-normalized", &mug, None),
        ("chair", &chair, None),
        ("for-loop", &repeated, None),
    ] {
        let iou = round_trip_iou(name, program, frame);
        eprintln!("{name}: OpenSCAD round-trip IoU {iou:.4}");
        if iou < 0.95 {
            failures.push(format!("{name}: IoU {iou:.4} < 0.95"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
