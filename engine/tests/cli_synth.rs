//! `roap synth` as a user runs it: a bundled sample in, the documented files out.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use std::process::Command;

#[test]
fn synth_writes_program_meshes_and_metrics() {
    let root = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("tests run under cargo"),
    )
    .join("..");
    let out = std::env::temp_dir().join(format!("roap-cli-synth-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_roap"))
        .args(["--device", "cpu", "synth"])
        .arg(root.join("samples/shapes/mug.binvox"))
        .args([
            "--res", "32", "--steps", "40", "--lines", "6", "--parts", "16",
        ])
        .args([
            "--batch-points",
            "512",
            "--mesh-res",
            "24",
            "--crop",
            "fixed-plane",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for file in ["program.txt", "program.json", "mesh.obj", "metrics.json"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for key in [
        "chamfer_x1000",
        "iou",
        "live_lines",
        "seconds",
        "chamfer_vs_full_x1000",
    ] {
        assert!(metrics.get(key).is_some(), "metrics.json lacks {key}");
    }
    // Two components (plain and flip-union) of 6 lines each.
    assert!(metrics["live_lines"].as_u64().unwrap() <= 12);
    let program: roap_engine::graphics::GraphicsProgram =
        serde_json::from_str(&std::fs::read_to_string(out.join("program.json")).unwrap()).unwrap();
    assert_eq!(program.dim, 3);
    // The last stdout line is the metrics JSON.
    let stdout = String::from_utf8_lossy(&status.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["live_lines"], metrics["live_lines"]);

    // A broken input is one clear error line, not a panic, and writes nothing.
    let broken = out.join("broken.binvox");
    std::fs::write(&broken, b"#binvox 1\ndim 4 4 4\ndata\n\x01").unwrap();
    let failed = Command::new(env!("CARGO_BIN_EXE_roap"))
        .args(["synth"])
        .arg(&broken)
        .arg("--out")
        .arg(out.join("nothing"))
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.starts_with("error:") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(!out.join("nothing").exists());
    std::fs::remove_dir_all(&out).ok();
}
