//! Kill-safe files: a process writing a mesh, a program.json and a checkpoint over and over
//! is killed (SIGKILL) at random moments. Each destination must always hold a whole file,
//! the old one or the new one; a kill may leave a `.NAME.partial` temporary beside it, which
//! no reader takes for a result and the next write replaces.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.
#![allow(clippy::print_stdout)] // The test prints its counts as a JSON line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::tensor::Device;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use roap_engine::data::{self, Furniture};
use roap_engine::export::{self, MeshFormat, write_atomically};
use roap_engine::graphics::amortized::{TrainConfig, checkpoint};
use roap_engine::graphics::policy::{Policy, PolicyConfig};

/// Set for the child: the folder it writes into.
const CHILD_DIR: &str = "ROAP_KILL_SAFE_DIR";
/// Set for the child: write each file once, then exit (instead of looping).
const CHILD_ONCE: &str = "ROAP_KILL_SAFE_ONCE";
const KILLS: usize = 100;

/// The two versions of each file the child alternates between.
struct Versions {
    meshes: [Vec<u8>; 2],
    programs: [Vec<u8>; 2],
    configs: [TrainConfig; 2],
}

impl Versions {
    fn new() -> Self {
        // A few MB each, so a kill often lands inside a write.
        let mesh = |seed| {
            let mesh = export::isosurface_of_grid(&data::generate(Furniture::Chair, seed, 96));
            let mut bytes = Vec::new();
            export::write_mesh(&mut bytes, &mesh, MeshFormat::Obj).unwrap();
            bytes
        };
        let program = std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/programs/mug.program.json"),
        )
        .unwrap();
        let mut edited: serde_json::Value = serde_json::from_slice(&program).unwrap();
        edited["sharpness"] = serde_json::json!(60.0);
        let config = |seed| TrainConfig {
            policy: PolicyConfig {
                hidden: 64,
                ..PolicyConfig::default()
            },
            seed,
            ..TrainConfig::default()
        };
        Self {
            meshes: [mesh(1), mesh(2)],
            programs: [program, serde_json::to_vec_pretty(&edited).unwrap()],
            configs: [config(0), config(1)],
        }
    }
}

/// The child: writes version 0, 1, 0, … of every file into `$ROAP_KILL_SAFE_DIR` until it
/// is killed. (Run by `files_survive_sigkill_at_random_moments`; alone it does nothing.)
#[test]
#[ignore = "the child process of files_survive_sigkill_at_random_moments"]
fn child_writes_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR).map(PathBuf::from) else {
        return;
    };
    let versions = Versions::new();
    let device = Device::flex();
    let policies = versions
        .configs
        .clone()
        .map(|config| Policy::new(&config.policy, &device));
    for round in 0.. {
        let v = round % 2;
        write_atomically(&dir.join("mesh.obj"), &versions.meshes[v]).unwrap();
        write_atomically(&dir.join("program.json"), &versions.programs[v]).unwrap();
        checkpoint::save(
            &dir.join("checkpoint"),
            policies[v].clone(),
            None,
            &versions.configs[v],
        )
        .unwrap();
        if std::env::var_os(CHILD_ONCE).is_some() {
            return;
        }
    }
}

fn spawn_child(dir: &Path, once: bool) -> std::process::Child {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_writes_until_killed",
            "--exact",
            "--ignored",
            "--quiet",
        ])
        .env(CHILD_DIR, dir)
        .stdout(std::process::Stdio::null());
    if once {
        command.env(CHILD_ONCE, "1");
    }
    command.spawn().unwrap()
}

/// Temporaries a kill left in `dir` (and its checkpoint folder).
fn partials(dir: &Path) -> Vec<PathBuf> {
    [dir.to_path_buf(), dir.join("checkpoint")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".partial"))
        .collect()
}

/// Every destination that exists holds one whole version.
fn check_destinations(dir: &Path, versions: &Versions) -> Result<(), String> {
    let whole = |name: &str, choices: &[Vec<u8>; 2]| match std::fs::read(dir.join(name)) {
        Err(_) => Ok(()), // Not written yet.
        Ok(bytes) if choices.contains(&bytes) => Ok(()),
        Ok(bytes) => Err(format!(
            "{name} holds {} bytes of neither version",
            bytes.len()
        )),
    };
    whole("mesh.obj", &versions.meshes)?;
    whole("program.json", &versions.programs)?;
    let folder = dir.join("checkpoint");
    let written = ["config.json", "policy.bpk"].map(|f| folder.join(f).exists());
    if written == [true, true] {
        let (_, config) = checkpoint::load(&folder, &Device::flex()).map_err(|e| e.to_string())?;
        if !versions.configs.contains(&config) {
            return Err("checkpoint/config.json is neither version".into());
        }
    }
    Ok(())
}

#[test]
fn files_survive_sigkill_at_random_moments() {
    let dir = std::env::temp_dir().join(format!("roap-kill-safe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let versions = Versions::new();
    let mut rng = SmallRng::seed_from_u64(7);
    let mut failures = Vec::new();
    let mut inside_a_write = 0;
    for kill in 0..KILLS {
        let spawned = std::time::SystemTime::now();
        let mut child = spawn_child(&dir, false);
        std::thread::sleep(Duration::from_millis(rng.random_range(20..600)));
        child.kill().unwrap(); // SIGKILL on Unix.
        child.wait().unwrap();
        // A temporary this child wrote to: the kill landed inside a write.
        let fresh = partials(&dir).iter().any(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= spawned)
        });
        inside_a_write += usize::from(fresh);
        if let Err(e) = check_destinations(&dir, &versions) {
            failures.push(format!("kill {kill}: {e}"));
        }
    }
    // The next write finds the temporaries and replaces them.
    let status = spawn_child(&dir, true).wait().unwrap();
    assert!(status.success());
    let left = partials(&dir);
    println!(
        "{{\"test\":\"kill_safe\",\"kills\":{KILLS},\"kills_inside_a_write\":{inside_a_write},\
         \"partial_destinations\":{},\"temporaries_after_next_write\":{}}}",
        failures.len(),
        left.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(left.is_empty(), "the next write left {left:?}");
    assert!(
        inside_a_write > 0,
        "no kill landed inside a write, so the test proved nothing"
    );
    check_destinations(&dir, &versions).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
