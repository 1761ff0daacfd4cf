//! The 3D viewport on its own: a binvox shape as input, its surface as a stand-in
//! reconstruction, and three height bands of it as stand-in parts.
//!
//! ```sh
//! cargo run --example viewport_demo -- [SHAPE.binvox] [--screenshot OUT.png] [--overlay]
//!     [--style voxels|surface|hidden] [--crop OFFSET] [--octant] [--parts] [--highlight INDEX]
//!     [--frames N] [--light]
//! ```
//! `--screenshot` saves the window after `--frames` frames (default 10) and quits; the
//! log reports the mean frame interval under continuous repaint.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, bail};
use roap_app::viewport::{
    ClipRegion, InputStyle, SceneMeshes, SceneView, Viewport, normalized_isosurface,
    surface_voxel_centres,
};
use roap_engine::data::{VoxelGrid, read_shape};
use roap_engine::export::ColoredPart;

const DEFAULT_SHAPE: &str = "samples/shapes/chair.binvox";
const RESOLUTION: usize = 64;
/// Frames before this are start-up noise (shader compiles, first uploads).
const WARM_UP_FRAMES: usize = 10;

struct Options {
    shape: PathBuf,
    screenshot: Option<PathBuf>,
    frames: usize,
    light_theme: bool,
    view: SceneView,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        shape: PathBuf::from(DEFAULT_SHAPE),
        screenshot: None,
        frames: WARM_UP_FRAMES,
        light_theme: false,
        view: SceneView::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--screenshot" => options.screenshot = Some(PathBuf::from(value()?)),
            "--frames" => options.frames = value()?.parse().context("--frames")?,
            "--light" => options.light_theme = true,
            "--overlay" => options.view.side_by_side = false,
            "--side-by-side" => options.view.side_by_side = true,
            "--parts" => options.view.show_parts = true,
            "--style" => {
                options.view.input_style = match value()?.as_str() {
                    "voxels" => InputStyle::Voxels,
                    "surface" => InputStyle::Surface,
                    "hidden" => InputStyle::Hidden,
                    other => bail!("unknown --style {other:?}"),
                }
            }
            "--crop" => {
                options.view.crop = Some(ClipRegion::HalfSpace {
                    normal: [1.0, 0.0, 0.0],
                    offset: value()?.parse().context("--crop")?,
                });
            }
            "--octant" => {
                options.view.crop = Some(ClipRegion::Octant {
                    positive: [true, false, true],
                });
            }
            "--highlight" => {
                options.view.show_parts = true;
                options.view.highlighted_parts = vec![value()?.parse().context("--highlight")?];
            }
            path if !path.starts_with("--") => options.shape = PathBuf::from(path),
            other => bail!("unknown option {other:?}"),
        }
    }
    Ok(options)
}

/// The demo scene: the shape as input and reconstruction, and its lower, middle and upper
/// thirds (by occupied height) as parts.
fn demo_scene(grid: &VoxelGrid) -> SceneMeshes {
    let surface = normalized_isosurface(grid);
    let resolution = grid.resolution();
    let (low, high) = grid
        .occupied_bounds()
        .map_or((0, resolution), |(low, high)| (low[1], high[1] + 1));
    let third = (high - low).div_ceil(3).max(1);
    let colors = [[0.90, 0.35, 0.35], [0.35, 0.62, 0.92], [0.95, 0.78, 0.30]];
    let names = ["lower third", "middle third", "upper third"];
    let parts = (0..3)
        .zip(colors)
        .zip(names)
        .map(|((band, color), name)| {
            let band_start = low + band * third;
            let mut part = grid.clone();
            for x in 0..resolution {
                for y in 0..resolution {
                    for z in 0..resolution {
                        let in_band = (band_start..band_start + third).contains(&y);
                        part.set([x, y, z], in_band && grid.get([x, y, z]));
                    }
                }
            }
            ColoredPart {
                name: name.to_owned(),
                color,
                mesh: normalized_isosurface(&part),
            }
        })
        .collect();
    SceneMeshes {
        revision: 1,
        input_surface: Some(surface.clone()),
        input_voxels: surface_voxel_centres(grid),
        voxel_size: 1.0 / resolution as f32,
        reconstruction: Some(surface),
        completion: None,
        parts,
    }
}

struct DemoApp {
    viewport: Viewport,
    meshes: Arc<SceneMeshes>,
    view: SceneView,
    screenshot_path: Option<PathBuf>,
    screenshot_after_frames: usize,
    screenshot: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
    frame_count: usize,
    frame_times: Vec<Instant>,
}

impl eframe::App for DemoApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_count += 1;
        self.frame_times.push(Instant::now());
        egui::Panel::right("controls")
            .resizable(false)
            .show(ui, |ui| self.controls_ui(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            self.viewport.ui(ui, &self.meshes, &self.view);
        });
        // Continuous repaint, so the log can report frame times.
        ui.ctx().request_repaint();
        self.screenshot_step(ui.ctx());
    }

    /// Each run starts from its command line, not from the last run's theme and panels.
    fn persist_egui_memory(&self) -> bool {
        false
    }
}

impl DemoApp {
    fn controls_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Viewport demo");
        ui.label("Input");
        ui.radio_value(&mut self.view.input_style, InputStyle::Voxels, "voxels");
        ui.radio_value(&mut self.view.input_style, InputStyle::Surface, "surface");
        ui.radio_value(&mut self.view.input_style, InputStyle::Hidden, "hidden");
        ui.separator();
        ui.checkbox(&mut self.view.show_reconstruction, "reconstruction");
        ui.checkbox(&mut self.view.show_parts, "parts");
        ui.checkbox(&mut self.view.show_completion, "completion");
        ui.checkbox(&mut self.view.side_by_side, "side by side");
        let mut highlight_first = self.view.highlighted_parts.contains(&0);
        if ui
            .checkbox(&mut highlight_first, "highlight part 0")
            .changed()
        {
            self.view.highlighted_parts = if highlight_first { vec![0] } else { Vec::new() };
        }
        ui.separator();
        let mut crop = self.view.crop.is_some();
        if ui.checkbox(&mut crop, "crop x > offset").changed() {
            self.view.crop = crop.then_some(ClipRegion::HalfSpace {
                normal: [1.0, 0.0, 0.0],
                offset: 0.0,
            });
        }
        match &mut self.view.crop {
            Some(ClipRegion::HalfSpace { offset, .. }) => {
                ui.add(egui::Slider::new(offset, -0.5..=0.5).text("offset"));
            }
            Some(ClipRegion::Octant { .. }) => {
                ui.label("octant crop: +x, -y, +z");
            }
            None => {}
        }
        ui.separator();
        if ui.button("reset camera").clicked() {
            self.viewport.camera.reset();
        }
        if let Some(mean_secs) = self.mean_frame_interval_secs() {
            ui.label(format!("{:.1} ms / frame", 1000.0 * mean_secs));
        }
    }

    /// Mean interval over the frames after warm-up, once there are some.
    fn mean_frame_interval_secs(&self) -> Option<f64> {
        let measured = self.frame_times.get(WARM_UP_FRAMES..)?;
        let (first, last) = (measured.first()?, measured.last()?);
        let intervals = measured.len().checked_sub(1).filter(|&n| n > 0)?;
        Some(last.duration_since(*first).as_secs_f64() / intervals as f64)
    }

    fn screenshot_step(&mut self, ctx: &egui::Context) {
        let Some(path) = self.screenshot_path.clone() else {
            return;
        };
        if self.frame_count == self.screenshot_after_frames {
            if let Some(mean_secs) = self.mean_frame_interval_secs() {
                tracing::info!(
                    "mean frame interval over {} frames: {:.1} ms",
                    self.frame_times.len() - WARM_UP_FRAMES - 1,
                    1000.0 * mean_secs
                );
            }
            let slot = Arc::clone(&self.screenshot);
            ctx.request_screenshot(move |image| {
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some(image);
                }
            });
        }
        let taken = self.screenshot.lock().ok().and_then(|mut slot| slot.take());
        if let Some(image) = taken {
            match save_png(&image, &path) {
                Ok(()) => tracing::info!("saved screenshot to {}", path.display()),
                Err(err) => tracing::error!("{err:#}"),
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

fn save_png(image: &egui::ColorImage, path: &std::path::Path) -> anyhow::Result<()> {
    let [width, height] = image.size;
    let bytes = image
        .pixels
        .iter()
        .flat_map(|pixel| pixel.to_array())
        .collect();
    let buffer = image::RgbaImage::from_raw(width as u32, height as u32, bytes)
        .context("screenshot size does not match its pixels")?;
    buffer
        .save(path)
        .with_context(|| format!("writing {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let options = parse_options()?;
    let grid = read_shape(&options.shape, RESOLUTION)
        .with_context(|| format!("reading {}", options.shape.display()))?;
    let meshes = Arc::new(demo_scene(&grid));
    tracing::info!(
        "{} surface voxels, {} surface triangles",
        meshes.input_voxels.len(),
        meshes
            .input_surface
            .as_ref()
            .map_or(0, |m| m.triangles.len())
    );
    let native_options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        depth_buffer: 24,
        viewport: egui::ViewportBuilder::default().with_inner_size([1100.0, 650.0]),
        ..Default::default()
    };
    let light_theme = options.light_theme;
    let app = DemoApp {
        viewport: Viewport::new(),
        meshes,
        view: options.view,
        screenshot_path: options.screenshot,
        screenshot_after_frames: options.frames.max(1),
        screenshot: Arc::new(Mutex::new(None)),
        frame_count: 0,
        frame_times: Vec::new(),
    };
    eframe::run_native(
        "roap viewport demo",
        native_options,
        Box::new(move |cc| {
            let theme = if light_theme {
                egui::Theme::Light
            } else {
                egui::Theme::Dark
            };
            cc.egui_ctx.set_theme(theme);
            Ok(Box::new(app))
        }),
    )
    .map_err(|err| anyhow::anyhow!("{err}"))
}
