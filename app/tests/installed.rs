//! An installed roap works from any folder: the two binaries, copied alone into a temporary
//! folder outside the source tree, open a bundled sample and complete it with the bundled
//! policy. Nothing but the binaries is there, and the data folder starts empty, so what they
//! open is what they carry (`roap_engine::bundled`).
//!
//! Needs `xvfb-run` and an OpenGL driver, as `window_smoke.rs` does.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `binary`, run in `dir` with `dir/data` as the platform's data folder and `dir` as home.
fn command_in(dir: &Path, binary: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("ROAP_DATA")
        .env("RUST_LOG", "warn");
    command
}

#[test]
fn copied_binaries_open_and_complete_what_they_carry() {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_roap-studio"));
    let dir = std::env::temp_dir().join(format!("roap_installed_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let copy = |name: &str| {
        let name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
        let to = dir.join("bin").join(&name);
        std::fs::copy(built.with_file_name(&name), &to)
            .unwrap_or_else(|e| panic!("copying {name} (built with --workspace): {e}"));
        to
    };
    let (studio, roap) = (copy("roap-studio"), copy("roap"));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    assert!(
        !dir.canonicalize()
            .unwrap()
            .starts_with(manifest.parent().unwrap()),
        "the temporary folder must lie outside the source tree"
    );

    // The app opens a bundled sample (nothing recent in this home), synthesizes briefly,
    // crops and completes it with the bundled policy, and saves a screenshot.
    let screenshot = dir.join("s.png");
    let mut app = command_in(&dir, &studio);
    app.args([
        "--synthesize",
        "--steps",
        "10",
        "--complete",
        "--quit-when-done",
    ])
    .arg("--screenshot")
    .arg(&screenshot);
    let status = Command::new("timeout")
        .arg("600")
        .arg("xvfb-run")
        .args(["-a", "-s", "-screen 0 1440x900x24"])
        .arg(app.get_program())
        .args(app.get_args())
        .envs(app.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env_remove("ROAP_DATA")
        .current_dir(&dir)
        .status()
        .expect("start xvfb-run");
    assert!(status.success(), "roap-studio exited with {status}");
    let image = image::open(&screenshot).expect("a PNG screenshot");
    assert!(image.width() > 0);
    // What it opened and completed with came out of the binary, into the data folder.
    let data = dir.join("data/roap");
    let sample = data.join("samples/shapes/chair.binvox");
    assert!(sample.is_file(), "no sample written to {}", data.display());
    assert!(
        data.join("assets/checkpoints/procedural/policy.bpk")
            .is_file()
    );

    // The CLI completes a shape with the bundled policy when given no checkpoint.
    let output = command_in(&dir, &roap)
        .args(["--device", "cpu", "complete"])
        .arg(&sample)
        .args(["--refine-steps", "0", "--out", "out"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "roap complete failed: {stderr}");
    assert!(stderr.contains("(bundled)"), "{stderr}");
    let metrics = std::fs::read_to_string(dir.join("out/metrics.json")).unwrap();
    assert!(metrics.contains("chamfer_vs_full_x1000"), "{metrics}");
    std::fs::remove_dir_all(&dir).ok();
}
