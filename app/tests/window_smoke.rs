//! The real window, end to end: `roap-studio` under Xvfb opens a bundled sample, runs a short
//! synthesis, saves a screenshot and quits. The screenshot must show the 3D viewport: the
//! grey input and the orange program surface, not a blank window.
//!
//! Needs `xvfb-run` (Debian: xvfb, xauth) and an OpenGL driver (Mesa's llvmpipe is enough);
//! `.ci/run` installs them.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use std::process::Command;

#[test]
fn the_window_synthesizes_a_sample_and_screenshots_it() {
    let out = std::env::temp_dir().join(format!("roap_smoke_{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let screenshot = out.join("window.png");
    let frame_times = out.join("frames.json");
    let sample = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("tests run under cargo"),
    )
    .join("../samples/shapes/mug.binvox");
    let studio = env!("CARGO_BIN_EXE_roap-studio");
    assert!(
        Command::new("xvfb-run").arg("--help").output().is_ok(),
        "xvfb-run is missing: install Debian's xvfb and xauth (see .ci/run)"
    );
    let status = Command::new("timeout")
        .arg("600")
        .arg("xvfb-run")
        .args(["-a", "-s", "-screen 0 1440x900x24"])
        .arg(studio)
        .arg("--open")
        .arg(&sample)
        .args([
            "--synthesize",
            "--steps",
            "60",
            "--quit-when-done",
            "--size",
            "1280",
            "800",
        ])
        .arg("--screenshot")
        .arg(&screenshot)
        .arg("--frame-times")
        .arg(&frame_times)
        .env("RUST_LOG", "warn")
        .status()
        .expect("start xvfb-run");
    assert!(status.success(), "roap-studio exited with {status}");

    let image = image::open(&screenshot)
        .expect("a PNG screenshot")
        .to_rgba8();
    assert_eq!((image.width(), image.height()), (1280, 800));
    let count =
        |keep: &dyn Fn(&image::Rgba<u8>) -> bool| image.pixels().filter(|p| keep(p)).count();
    // The viewport's program surface (orange) and the input (blue-grey voxels).
    let orange = count(&|p| p[0] > 180 && p[1] > 90 && p[1] < 190 && p[2] < 110);
    let grey_blue = count(&|p| {
        p[2] > 150 && u16::from(p[2]) > u16::from(p[0]) + 10 && p[1] > 130 && p[0] > 110
    });
    assert!(
        orange > 2_000,
        "only {orange} orange pixels: no program surface on screen"
    );
    assert!(
        grey_blue > 2_000,
        "only {grey_blue} blue-grey pixels: no input on screen"
    );
    let mut colors: Vec<u32> = image
        .pixels()
        .map(|p| u32::from_le_bytes([p[0], p[1], p[2], 0]))
        .collect();
    colors.sort_unstable();
    colors.dedup();
    assert!(
        colors.len() > 200,
        "{} colours: a blank window",
        colors.len()
    );

    // Frame times were measured while it trained.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&frame_times).unwrap()).unwrap();
    assert!(
        report["while_training"]["frames"].as_u64().unwrap_or(0) > 10,
        "{report}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}
