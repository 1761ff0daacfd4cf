//! The studio: owns the settings, the loaded shape, the run's view and the scene; drains job
//! messages on a time budget; lays out the panels and carries out their actions.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use egui::TextureHandle;
use roap_engine::device::{ChosenDevice, DeviceChoice};
use roap_engine::graphics::meshes::PartKey;
use roap_engine::train::RunControl;

use crate::document::{CompletionResult, LoadedShape, PartThumbnail, PolicyCache};
use crate::frame_stats::FrameStats;
use crate::jobs::{Jobs, Message};
use crate::panels::architecture::ArchitecturePanel;
use crate::panels::controls::{Sample, bundled_samples, controls_ui};
use crate::panels::crop::{CropStatus, crop_ui};
use crate::panels::parts::PartsPanel;
use crate::panels::program::HoveredLine;
use crate::run_view::{RunState, RunView};
use crate::script::Script;
use crate::settings::Settings;
use crate::viewport::SceneMeshes;
use crate::viewport::Viewport;

mod menus;
mod messages;
mod running;
mod scene;

/// The right panel's tabs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Program,
    Architecture,
    Plots,
    Parts,
}

impl Tab {
    const ALL: [Self; 4] = [Self::Program, Self::Architecture, Self::Plots, Self::Parts];

    fn label(self) -> &'static str {
        match self {
            Self::Program => "Program",
            Self::Architecture => "Architecture α",
            Self::Plots => "Curves",
            Self::Parts => "Parts",
        }
    }
}

pub struct StudioApp {
    pub settings: Settings,
    /// Whether settings are saved on exit (scripted runs leave them alone).
    pub persist: bool,
    jobs: Jobs,
    samples: Vec<Sample>,
    pub shape: Option<LoadedShape>,
    shape_path: Option<PathBuf>,
    loading: Option<PathBuf>,
    /// Which entry of an HDF5 file to open.
    pub hdf5_index: usize,
    pub run: RunView,
    control: Option<RunControl>,
    /// Chosen once per preference: probing wgpu adapters takes a while.
    device: Arc<std::sync::Mutex<Option<(DeviceChoice, ChosenDevice)>>>,
    pub device_description: Option<String>,
    pub lines_off: Vec<(usize, usize)>,
    hovered_line: HoveredLine,
    hovered_part: Option<PartKey>,
    pub scene: Arc<SceneMeshes>,
    scene_revision: u64,
    /// Keys of `scene.parts`, index for index.
    part_keys: Vec<PartKey>,
    gallery: Vec<PartThumbnail>,
    /// A geometry job is running / another is wanted when it returns.
    geometry_busy: bool,
    geometry_dirty: bool,
    reconstruction_image: Option<TextureHandle>,
    input_image: Option<TextureHandle>,
    pub completion: Option<CompletionResult>,
    completing: bool,
    /// The run under way refines a completion (the guess came first).
    refining: bool,
    /// How the last refinement ended: Chamfer ×1000 vs the whole shape, live lines.
    refined: Option<(Option<f64>, usize)>,
    /// The pretrained policy, kept after the first completion.
    policy: PolicyCache,
    viewport: Viewport,
    pub tab: Tab,
    architecture: ArchitecturePanel,
    parts_panel: PartsPanel,
    pub status: String,
    pub errors: Vec<String>,
    pub frames: FrameStats,
    pub script: Script,
    /// Set when a scripted run fails, so the process can exit non-zero.
    pub failed: Arc<AtomicBool>,
    last_screenshot: Option<Arc<egui::ColorImage>>,
    /// Where the next screenshot goes (scripted runs), instead of the export dialog.
    screenshot_path: Option<PathBuf>,
    /// A numerical fault the next syntheses inject (tests of the non-finite rule only).
    pub fault: Option<roap_engine::train::Fault>,
    /// Exports written so far (a scripted screenshot waits for its file).
    pub exports_saved: usize,
}

impl StudioApp {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            persist: true,
            jobs: Jobs::default(),
            samples: bundled_samples(),
            shape: None,
            shape_path: None,
            loading: None,
            hdf5_index: 0,
            run: RunView::default(),
            control: None,
            device: Arc::default(),
            device_description: None,
            lines_off: Vec::new(),
            hovered_line: None,
            hovered_part: None,
            scene: Arc::new(SceneMeshes::default()),
            scene_revision: 0,
            part_keys: Vec::new(),
            gallery: Vec::new(),
            geometry_busy: false,
            geometry_dirty: false,
            reconstruction_image: None,
            input_image: None,
            completion: None,
            completing: false,
            refining: false,
            refined: None,
            policy: PolicyCache::default(),
            viewport: Viewport::new(),
            tab: Tab::default(),
            architecture: ArchitecturePanel::default(),
            parts_panel: PartsPanel::default(),
            status: "Open a shape or pick a sample, then click Synthesize.".into(),
            errors: Vec::new(),
            frames: FrameStats::default(),
            script: Script::default(),
            failed: Arc::default(),
            last_screenshot: None,
            screenshot_path: None,
            fault: None,
            exports_saved: 0,
        }
    }

    /// Whether background work is still going on (scripts wait for it).
    pub fn busy(&self) -> bool {
        self.loading.is_some()
            || self.run.state.is_active()
            || self.geometry_busy
            || self.geometry_dirty
            || self.completing
    }

    /// Queues a message as a job would (tests feed fixture events this way).
    pub fn post(&self, message: Message) {
        self.jobs.post(message);
    }

    /// The whole window: drains messages, lays out panels, carries out actions.
    pub fn ui_root(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.jobs.set_context(&ctx);
        self.frames
            .tick(Instant::now(), self.run.state == RunState::Running);
        self.drain(&ctx);
        let mut actions = Vec::new();
        self.script_step(&ctx, &mut actions);
        self.input_shortcuts(&ctx, &mut actions);

        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui, &mut actions));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        // Bounded sizes: wide content (plots, long program lines) must not eat the viewport.
        egui::Panel::left("controls")
            .default_size(280.0)
            .size_range(220.0..=380.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    controls_ui(
                        ui,
                        &mut self.settings,
                        &self.run,
                        self.shape.as_ref(),
                        &self.samples,
                        &mut actions,
                    );
                    ui.separator();
                    let status = CropStatus {
                        is_3d: self.shape.as_ref().is_none_or(|s| s.target.dim() == 3),
                        busy: self.completing || self.run.state.is_active() || self.shape.is_none(),
                        completion: self.completion.as_ref(),
                        refined: self.refined,
                        checkpoint: self.checkpoint().map_or_else(
                            || "the bundled one".to_owned(),
                            |p| p.display().to_string(),
                        ),
                    };
                    crop_ui(ui, &mut self.settings.crop, &status, &mut actions);
                });
            });
        egui::Panel::right("inspector")
            .default_size(440.0)
            .size_range(300.0..=640.0)
            .show(ui, |ui| self.inspector_ui(ui, &mut actions));
        // No fill: the viewport covers the centre, and every pixel costs on a software GPU.
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE)
            .show(ui, |ui| self.central_ui(ui));
        self.errors_ui(&ctx);

        for action in actions {
            self.act(&ctx, action);
        }
        if self.run.state == RunState::Running {
            // Keep animating (progress, curves) and measuring frame times while training.
            ctx.request_repaint();
        } else if self.busy() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        if let Some(seconds) = frame.info().cpu_usage {
            self.frames
                .record_work(seconds * 1000.0, self.run.state == RunState::Running);
        }
        self.ui_root(ui);
    }

    fn persist_egui_memory(&self) -> bool {
        self.persist
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            eframe::set_value(storage, Settings::STORAGE_KEY, &self.settings);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Some(control) = &self.control {
            control.cancel();
        }
        self.frames.write_report();
    }
}
