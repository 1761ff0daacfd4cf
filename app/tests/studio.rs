//! The studio's panels, driven the way a user drives them (accesskit queries, clicks), fed
//! with fixture events or with a real (small) synthesis on the CPU backend.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use roap_app::app::{StudioApp, Tab};
use roap_app::jobs::Message;
use roap_app::run_view::RunState;
use roap_app::settings::{CropMode, Settings};
use roap_engine::dsl::{Line, Program};
use roap_engine::graphics::{
    ComponentKind, GraphicsProgram, PartShape, ProgramComponent, SketchConfig,
};
use roap_engine::train::{
    ArchitectureSnapshot, DomainValue, MetricsReport, StepReport, TrainEvent,
};

fn harness(app: StudioApp) -> Harness<'static, StudioApp> {
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_ui_state(|ui, app: &mut StudioApp| app.ui_root(ui), app)
}

/// Steps the UI until `done` holds (background jobs run on their own threads).
fn step_until(harness: &mut Harness<'_, StudioApp>, what: &str, done: impl Fn(&StudioApp) -> bool) {
    let started = Instant::now();
    while !done(harness.state()) {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "timed out waiting for {what}; status: {}",
            harness.state().status
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    harness.step();
}

/// A studio with the bundled sample `name` open.
fn opened(settings: Settings, name: &str) -> Harness<'static, StudioApp> {
    let mut app = StudioApp::new(settings);
    app.open(sample(name));
    let mut harness = harness(app);
    step_until(&mut harness, &format!("the {name} to load"), |app| {
        app.shape.is_some()
    });
    harness
}

/// Synthesis settings small enough for a test on two cores, large enough to fit something.
fn small_runs(steps: usize) -> Settings {
    let mut settings = Settings::default();
    settings.synthesis.steps = steps;
    settings.synthesis.lines = 4;
    settings.synthesis.parts = 8;
    settings.synthesis.resolution = 32;
    settings.device = roap_engine::device::DeviceChoice::Cpu;
    settings
}

fn sample(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("tests run under cargo"))
        .join(format!("../samples/shapes/{name}.binvox"))
}

/// A box `part` of half-size ¼ centred at `x`.
fn part(x: f32) -> PartShape {
    PartShape {
        translation: vec![x, 0.0, 0.0],
        linear: vec![2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0],
        surface: vec![0.0; 6],
        warp: None,
        surface_index: None,
        warp_index: None,
    }
}

/// `l0 = union(p0, p1)` over two boxes: the smallest program with something to switch off.
fn fixture_program() -> GraphicsProgram {
    let ops = SketchConfig::ops();
    let union = ops.ops.iter().position(|o| o.name == "union").unwrap();
    let program = Program::new(
        ops,
        2,
        vec![Line {
            op: union,
            left: 0,
            right: 1,
        }],
    )
    .unwrap();
    GraphicsProgram {
        dim: 3,
        sharpness: 20.0,
        components: vec![ProgramComponent {
            kind: ComponentKind::Simple,
            program,
            parts: vec![part(-0.25), part(0.25)],
            flip: None,
            step: None,
            count: None,
            enabled: true,
        }],
    }
}

fn fixture_events(app: &StudioApp) {
    for step in 0..10 {
        app.post(Message::Train(TrainEvent::Step(StepReport {
            step,
            total_steps: 10,
            loss: 1.0 / (step + 1) as f64,
            fit_loss: 0.9 / (step + 1) as f64,
            temperature: 1.0 - 0.05 * step as f64,
            length_weight: 0.0,
            expected_length: 3.0,
        })));
        let sharp = step as f32 / 10.0;
        app.post(Message::Train(TrainEvent::Architecture(
            ArchitectureSnapshot {
                step,
                op_names: ["union", "intersection", "difference", "skip"]
                    .map(String::from)
                    .to_vec(),
                op: vec![vec![vec![
                    0.25 + 0.75 * sharp,
                    0.25 - 0.25 * sharp,
                    0.25 - 0.25 * sharp,
                    0.25 - 0.25 * sharp,
                ]]],
                left: vec![vec![vec![0.5 + 0.5 * sharp, 0.5 - 0.5 * sharp, 0.0]]],
                right: vec![vec![vec![0.5 - 0.5 * sharp, 0.5 + 0.5 * sharp, 0.0]]],
            },
        )));
    }
    let program = fixture_program();
    app.post(Message::Train(TrainEvent::Program {
        step: 10,
        text: program.to_string(),
    }));
    app.post(Message::Train(TrainEvent::Domain {
        step: 10,
        value: DomainValue::new(program),
    }));
    app.post(Message::Train(TrainEvent::Metrics(MetricsReport {
        step: 10,
        elapsed_seconds: 1.0,
        chamfer: Some(2.5),
        iou: Some(0.5),
        live_lines: 1,
    })));
}

#[test]
fn fixture_events_fill_the_panels_and_a_line_can_be_switched_off() {
    let mut harness = opened(Settings::default(), "table");
    fixture_events(harness.state());
    step_until(&mut harness, "the program's meshes", |app| {
        app.scene.parts.len() == 2
    });

    // The table is mirror-symmetric, and the controls say synthesis will use it.
    harness.get_by_label_contains("Symmetry: mirror plane");
    // The program panel counts the operators of its live lines...
    harness.get_by_label_contains("1 live lines (union 1 · intersection 0 · difference 0)");
    // ...and lists the line; hovering it highlights both boxes it reads.
    let line = harness.get_by_label_contains("l0 = union(p0, p1)");
    line.hover();
    harness.run_steps(2);
    assert_eq!(harness.state().highlighted_parts(), vec![0, 1]);

    // Switching the line off leaves `p0` alone: one part, and a smaller surface.
    let before = harness
        .state()
        .scene
        .reconstruction
        .as_ref()
        .unwrap()
        .vertices
        .len();
    harness.get_by_label_contains("l0 = union(p0, p1)").click();
    harness.run_steps(1);
    assert_eq!(harness.state().lines_off, vec![(0, 0)]);
    step_until(&mut harness, "the program without its line", |app| {
        app.scene.parts.len() == 1
    });
    let after = harness
        .state()
        .scene
        .reconstruction
        .as_ref()
        .unwrap()
        .vertices
        .len();
    assert!(
        after < before,
        "{after} vertices with the line off, {before} with it on"
    );

    // The heatmaps show the latest snapshot; scrubbing back shows the first.
    harness
        .get_by_role_and_label(Role::Button, "Architecture α")
        .click();
    harness.run_steps(2);
    assert_eq!(harness.state().tab, Tab::Architecture);
    harness.get_by_label("Operator per line");
    harness.get_by_label_contains("step 9");
    harness.get_by_role(Role::Slider).set_value_accesskit(0.0);
    harness.run_steps(2);
    harness.get_by_label_contains("step 0");

    harness
        .get_by_role_and_label(Role::Button, "Curves")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Chamfer of the discrete program");

    harness.get_by_role_and_label(Role::Button, "Parts").click();
    step_until(&mut harness, "the gallery", |app| {
        !app.errors.is_empty() || app.tab == Tab::Parts
    });
    harness.get_by_label_contains("parts used");
    assert!(
        harness.state().errors.is_empty(),
        "{:?}",
        harness.state().errors
    );
}

#[test]
fn choosing_a_crop_sets_the_engines_crop_and_the_viewports_clip() {
    let mut harness = opened(Settings::default(), "mug");

    harness.get_by_label("Half-plane").click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings.crop.mode, CropMode::HalfPlane);
    assert!(matches!(
        harness.state().settings.crop.crop(),
        roap_engine::data::Crop::HalfSpace { .. }
    ));
    harness.get_by_role_and_label(Role::Slider, "offset");

    harness.get_by_label("Octant").click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings.crop.mode, CropMode::Octant);
    harness.get_by_label("+x").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().settings.crop.octant_positive,
        [false, true, true]
    );
}

#[test]
fn clicking_synthesize_runs_a_synthesis_and_completion_uses_the_checkpoint() {
    let settings = small_runs(40);
    let mut harness = opened(settings, "table");

    harness.get_by_label("Synthesize").click();
    harness.run_steps(1);
    assert_eq!(harness.state().run.state, RunState::Running);
    step_until(&mut harness, "the synthesis to end", |app| {
        !app.run.state.is_active()
    });
    step_until(&mut harness, "the final meshes", |app| !app.busy());
    let app = harness.state();
    assert!(app.errors.is_empty(), "{:?}", app.errors);
    assert!(
        matches!(app.run.state, RunState::Ended(_)),
        "{:?}",
        app.run.state
    );
    assert_eq!(app.run.steps.len(), 40);
    assert!(app.run.snapshots.len() >= 2);
    let outcome = app.run.outcome.as_ref().unwrap();
    assert!(outcome.chamfer.is_some_and(f64::is_finite));
    assert!(
        app.scene
            .reconstruction
            .as_ref()
            .is_some_and(|m| !m.triangles.is_empty())
    );
    assert!(
        app.device_description
            .as_deref()
            .is_some_and(|d| d.contains("CPU"))
    );

    // Completion of a cropped input with the bundled pretrained policy: its guess first,
    // then a refinement that runs like a synthesis.
    harness.state_mut().settings.crop.refine_steps = 30;
    harness.get_by_label("Half-plane").click();
    harness.run_steps(1);
    harness.get_by_label("Complete").click();
    harness.run_steps(1);
    step_until(&mut harness, "the completion", |app| {
        app.completion.is_some() || !app.errors.is_empty()
    });
    let app = harness.state();
    assert!(app.errors.is_empty(), "{:?}", app.errors);
    let completion = app.completion.as_ref().unwrap();
    assert!(completion.chamfer_vs_full.is_some_and(f64::is_finite));
    assert!(completion.loaded_policy);
    assert_eq!(completion.refine_steps, 30);
    assert!(
        app.scene
            .completion
            .as_ref()
            .is_some_and(|m| !m.triangles.is_empty())
    );
    harness.get_by_label_contains("Guess: Chamfer ×1000 vs the whole shape");
    step_until(&mut harness, "the refinement", |app| !app.busy());
    let app = harness.state();
    assert!(app.errors.is_empty(), "{:?}", app.errors);
    assert!(
        matches!(app.run.state, RunState::Ended(_)),
        "{:?}",
        app.run.state
    );
    assert_eq!(app.run.steps.len(), 30);
    let refined = app.run.outcome.as_ref().unwrap();
    assert!(refined.chamfer_vs_full.is_some_and(f64::is_finite));
    harness.get_by_label_contains("Refined: Chamfer ×1000 vs the whole shape");

    // A second completion starts from the policy in memory.
    harness.state_mut().settings.crop.refine_steps = 0;
    harness.get_by_label("Complete").click();
    harness.run_steps(1);
    step_until(&mut harness, "the second completion", |app| !app.busy());
    let completion = harness.state().completion.as_ref().unwrap();
    assert!(!completion.loaded_policy);
    println!(
        "{}",
        serde_json::json!({"bench": "app_second_guess", "seconds": completion.seconds})
    );

    // Or fit the cropped input per shape: also judged against the whole shape.
    harness.get_by_label("Fit cropped input").click();
    harness.run_steps(1);
    step_until(&mut harness, "the cropped fit", |app| !app.busy());
    let outcome = harness.state().run.outcome.as_ref().unwrap();
    assert!(outcome.chamfer_vs_full.is_some_and(f64::is_finite));
    harness.get_by_label_contains("Cropped input: Chamfer ×1000 vs the whole shape");
}

#[test]
fn bad_files_show_a_one_line_error_and_keep_the_session() {
    let dir = std::env::temp_dir().join(format!("roap_app_bad_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut grey_png = Vec::new();
    image::GrayImage::from_fn(32, 32, |x, y| image::Luma([(4 * (x + y)) as u8]))
        .write_to(
            &mut std::io::Cursor::new(&mut grey_png),
            image::ImageFormat::Png,
        )
        .unwrap();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let files: [(&str, Vec<u8>); 5] = [
        ("empty.binvox", Vec::new()),
        (
            "truncated.binvox",
            b"#binvox 1\ndim 64 64 64\ngarbage".to_vec(),
        ),
        ("garbage.obj", garbage),
        (
            "huge.binvox",
            b"#binvox 1\ndim 4096 4096 4096\ndata\n".to_vec(),
        ),
        ("photo.png", grey_png),
    ];
    let mut paths: Vec<std::path::PathBuf> = files
        .iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    let folder = dir.join("a-folder.binvox");
    std::fs::create_dir_all(&folder).unwrap();
    paths.push(folder);

    let mut harness = opened(Settings::default(), "mug");
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let started = std::time::Instant::now();
        harness.state_mut().open(path);
        step_until(&mut harness, &format!("the error for {name}"), |app| {
            !app.errors.is_empty()
        });
        let errors = harness.state().errors.clone();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name}: slow"
        );
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert!(errors[0].contains(&name), "{name}: {errors:?}");
        assert!(
            !errors[0].contains('\n'),
            "{name}: not one line: {errors:?}"
        );
        eprintln!("{name}: {}", errors[0]);
        harness.get_by_label("Errors");
        // The mug is still open.
        assert_eq!(
            harness.state().shape.as_ref().map(|s| s.name.as_str()),
            Some("mug"),
            "{name}"
        );
        harness.get_by_label("Dismiss").click();
        harness.run_steps(2);
        assert!(harness.state().errors.is_empty());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exports_write_files_atomically_and_report_failures() {
    let dir = std::env::temp_dir().join(format!("roap_app_exports_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut harness = opened(Settings::default(), "table");
    fixture_events(harness.state());
    step_until(&mut harness, "the program's meshes", |app| {
        app.scene.parts.len() == 2
    });

    use roap_app::export::ExportKind;
    for (kind, name) in [
        (ExportKind::ProgramText, "p.txt"),
        (ExportKind::ProgramJson, "p.json"),
        (ExportKind::OpenScad, "p.scad"),
        (ExportKind::Mesh, "m.stl"),
        (ExportKind::Parts, "parts.ply"),
    ] {
        harness.state_mut().export_to(kind, dir.join(name));
        step_until(&mut harness, name, |app| {
            app.status.contains(name) || !app.errors.is_empty()
        });
        assert!(
            harness.state().errors.is_empty(),
            "{:?}",
            harness.state().errors
        );
    }
    let json = std::fs::read_to_string(dir.join("p.json")).unwrap();
    let back: GraphicsProgram = serde_json::from_str(&json).unwrap();
    assert_eq!(back.live_lines(), 1);
    let scad = std::fs::read_to_string(dir.join("p.scad")).unwrap();
    assert!(scad.contains("polyhedron("), "{scad}");
    let mesh = roap_engine::data::read_mesh(&dir.join("m.stl")).unwrap();
    assert!(!mesh.triangles.is_empty());
    // Into a folder that does not exist: an error in the UI, nothing written, no panic.
    harness
        .state_mut()
        .export_to(ExportKind::Mesh, dir.join("missing/m.obj"));
    step_until(&mut harness, "the failed export", |app| {
        !app.errors.is_empty()
    });
    assert!(!dir.join("missing").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn settings_survive_a_restart() {
    let mut settings = Settings::default();
    settings.synthesis.steps = 123;
    settings.crop.mode = CropMode::Octant;
    settings.remember_file("/tmp/a.binvox".into());
    let text = serde_json::to_string(&settings).unwrap();
    let back: Settings = serde_json::from_str(&text).unwrap();
    assert_eq!(back, settings);
}

#[test]
fn pause_holds_the_run_and_stop_keeps_what_it_found() {
    let settings = small_runs(5_000);
    let mut harness = opened(settings, "shelf");
    harness.get_by_label("Synthesize").click();
    step_until(&mut harness, "a few steps", |app| app.run.steps.len() >= 5);

    harness.get_by_label("Pause").click();
    harness.run_steps(1);
    assert_eq!(harness.state().run.state, RunState::Paused);
    // At most the step in flight finishes; then nothing moves.
    std::thread::sleep(Duration::from_millis(300));
    harness.run_steps(2);
    let paused_at = harness.state().run.steps.len();
    std::thread::sleep(Duration::from_millis(500));
    harness.run_steps(2);
    assert_eq!(harness.state().run.steps.len(), paused_at);

    harness.get_by_label("Resume").click();
    step_until(&mut harness, "steps after resuming", |app| {
        app.run.steps.len() > paused_at + 3
    });
    harness.get_by_label("Stop").click();
    step_until(&mut harness, "the run to stop", |app| {
        !app.run.state.is_active()
    });
    let app = harness.state();
    assert_eq!(
        app.run.state,
        RunState::Ended(roap_engine::graphics::StopReason::Cancelled)
    );
    assert!(app.run.steps.len() < 5_000);
    assert!(app.run.program.is_some(), "a stopped run keeps its program");
}

#[test]
fn a_run_whose_loss_turns_nan_says_so_and_the_app_stays_usable() {
    use roap_engine::graphics::StopReason;
    use roap_engine::train::Fault;
    let mut harness = opened(small_runs(80), "shelf");

    // Part parameters NaN from step 30: the run stops with the last good program.
    harness.state_mut().fault = Some(Fault::ParametersFrom(30));
    harness.get_by_label("Synthesize").click();
    step_until(&mut harness, "the poisoned run to end", |app| {
        matches!(app.run.state, RunState::Ended(_))
    });
    assert_eq!(
        harness.state().run.state,
        RunState::Ended(StopReason::NonFiniteLoss)
    );
    assert!(
        harness.state().status.contains("not a number"),
        "{}",
        harness.state().status
    );
    assert!(
        harness.state().run.program.is_some(),
        "the last good program is kept"
    );
    assert!(
        harness.state().errors.is_empty(),
        "{:?}",
        harness.state().errors
    );

    // NaN from the start: nothing to keep, an error, and the shape is still there.
    harness.state_mut().fault = Some(Fault::ParametersFrom(0));
    harness.get_by_label("Synthesize").click();
    step_until(&mut harness, "the error", |app| !app.errors.is_empty());
    assert!(
        harness.state().errors[0].contains("not a number"),
        "{:?}",
        harness.state().errors
    );
    assert!(harness.state().shape.is_some());
    harness.get_by_label("Dismiss").click();

    // Without the fault the next run finishes.
    harness.state_mut().fault = None;
    harness.get_by_label("Synthesize").click();
    step_until(&mut harness, "a clean run to end", |app| {
        matches!(app.run.state, RunState::Ended(_))
    });
    assert_eq!(
        harness.state().run.state,
        RunState::Ended(StopReason::Finished)
    );
}
