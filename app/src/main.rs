//! `roap-studio`: the window, or a scripted run of it.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use clap::{Parser, ValueEnum};
use roap_app::app::{StudioApp, Tab};
use roap_app::script::Script;
use roap_app::settings::{CropMode, Settings};

/// roap studio: synthesize programs for shapes, watch them sharpen, crop and complete, export.
///
/// With no arguments it opens the window on the bundled samples. The flags script a run,
/// for tests, docs and reproducible screenshots.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Open this shape at start (binvox, OBJ, OFF, STL, PLY, PNG, HDF5).
    #[arg(long)]
    open: Option<PathBuf>,
    /// Start a synthesis once the shape is open.
    #[arg(long)]
    synthesize: bool,
    /// Synthesis steps (overrides the saved setting for this run).
    #[arg(long)]
    steps: Option<usize>,
    /// Crop the input before synthesizing or completing.
    #[arg(long, value_enum)]
    crop: Option<CropArg>,
    /// Complete the (cropped) input with the pretrained policy once it is open.
    #[arg(long)]
    complete: bool,
    /// Save a PNG of the window once the scripted work is done.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Close the window when the scripted work (and screenshot) is done.
    #[arg(long)]
    quit_when_done: bool,
    /// Write frame-time statistics of the frames drawn while training (JSON) on exit.
    #[arg(long)]
    frame_times: Option<PathBuf>,
    /// Which inspector tab to show.
    #[arg(long, value_enum)]
    tab: Option<TabArg>,
    /// Window size in points.
    #[arg(long, num_args = 2, value_names = ["WIDTH", "HEIGHT"], default_values_t = [1440.0, 900.0])]
    size: Vec<f32>,
}

#[derive(Clone, Copy, ValueEnum)]
enum CropArg {
    Octant,
    HalfPlane,
}

#[derive(Clone, Copy, ValueEnum)]
enum TabArg {
    Program,
    Architecture,
    Curves,
    Parts,
}

fn main() -> eframe::Result {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wgpu_core=warn,wgpu_hal=warn,naga=warn".into()),
        )
        .init();
    let args = Args::parse();
    let script = Script {
        open: args.open.clone(),
        synthesize: args.synthesize,
        steps: args.steps,
        crop: args.crop.map(|c| match c {
            CropArg::Octant => CropMode::Octant,
            CropArg::HalfPlane => CropMode::HalfPlane,
        }),
        complete: args.complete,
        screenshot: args.screenshot.clone(),
        quit_when_done: args.quit_when_done,
        tab: args.tab.map(|t| match t {
            TabArg::Program => Tab::Program,
            TabArg::Architecture => Tab::Architecture,
            TabArg::Curves => Tab::Plots,
            TabArg::Parts => Tab::Parts,
        }),
        ..Script::default()
    };
    let script_state = script
        .active()
        .then(|| std::env::temp_dir().join(format!("roap_studio_script_{}", std::process::id())));
    let [width, height] = [
        args.size.first().copied().unwrap_or(1440.0),
        args.size.get(1).copied().unwrap_or(900.0),
    ];
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        depth_buffer: 24,
        // A scripted run gets the size it asks for and leaves the user's window, panels and
        // settings alone: it keeps its state in a file of its own.
        persist_window: !script.active(),
        persistence_path: script_state.clone(),
        viewport: egui::ViewportBuilder::default()
            .with_title("roap studio")
            .with_inner_size([width, height])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failed_in_app = failed.clone();
    let frame_times = args.frame_times.clone();
    let result = eframe::run_native(
        "roap studio",
        options,
        Box::new(move |cc| {
            let scripted = script.active();
            // A scripted run starts from defaults and leaves the user's settings alone.
            let settings = match cc.storage {
                Some(storage) if !scripted => {
                    eframe::get_value(storage, Settings::STORAGE_KEY).unwrap_or_default()
                }
                _ => Settings::default(),
            };
            let mut app = StudioApp::new(settings);
            app.persist = !scripted;
            app.failed = failed_in_app;
            app.frames.report_path = frame_times;
            app.script = script;
            if app.shape.is_none() && app.script.open.is_none() {
                // Open on the last file (a user's run) or a bundled sample, so the first
                // thing a user sees, or a script works on, is a shape.
                let recent = app
                    .settings
                    .recent_files
                    .first()
                    .cloned()
                    .filter(|p| !scripted && p.exists());
                if let Some(path) = recent.or_else(roap_app::panels::controls::first_sample) {
                    app.open(path);
                }
            }
            Ok(Box::new(app))
        }),
    );
    if let Some(path) = &script_state {
        // Best effort: a leftover folder in the temp folder harms nothing.
        let _ = std::fs::remove_dir_all(path);
    }
    if failed.load(Ordering::SeqCst) {
        std::process::exit(1);
    }
    result
}
