//! The studio: owns the settings, the loaded shape, the run's view and the scene; drains job
//! messages on a time budget; lays out the panels and carries out their actions.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use egui::{TextureHandle, TextureOptions};
use roap_engine::data::VoxelGrid;
use roap_engine::device::{self, ChosenDevice, DeviceChoice};
use roap_engine::graphics::amortized::refinement;
use roap_engine::graphics::meshes::PartKey;
use roap_engine::graphics::{
    OpenOptions, Reconstruction, SynthConfig, SynthError, SynthOutcome, Target, refine, synthesize,
};
use roap_engine::train::RunControl;

use crate::document::{
    CompletionResult, LoadedShape, PartThumbnail, PolicyCache, complete_with_checkpoint,
    load_shape, parts_under, program_geometry,
};
use crate::export::{ExportData, ExportKind, export};
use crate::frame_stats::FrameStats;
use crate::jobs::{Job, Jobs, Message, Pick, SynthesisResult};
use crate::panels::Action;
use crate::panels::architecture::ArchitecturePanel;
use crate::panels::controls::{Sample, bundled_samples, controls_ui};
use crate::panels::crop::{CropStatus, crop_ui};
use crate::panels::parts::PartsPanel;
use crate::panels::plots::plots_ui;
use crate::panels::program::{HoveredLine, program_ui};
use crate::run_view::{RunState, RunView};
use crate::script::Script;
use crate::settings::{CropMode, Settings};
use crate::viewport::Viewport;
use crate::viewport::{SceneMeshes, SceneView};

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

    /// Applies job messages for at most ~8 ms, so a burst never stalls a frame.
    fn drain(&mut self, ctx: &egui::Context) {
        let started = Instant::now();
        while let Some(message) = self.jobs.try_recv() {
            self.handle(ctx, message);
            if started.elapsed() > Duration::from_millis(8) {
                ctx.request_repaint();
                break;
            }
        }
    }

    fn handle(&mut self, ctx: &egui::Context, message: Message) {
        match message {
            Message::Loaded { path, result } => {
                if self.loading.as_ref() == Some(&path) {
                    self.loading = None;
                }
                match result {
                    Ok(shape) => {
                        self.status = format!("opened {}", path.display());
                        self.settings.remember_file(path.clone());
                        self.shape_path = Some(path);
                        self.set_shape(*shape);
                    }
                    Err(err) => self.error(format!("cannot open {}: {err}", path.display())),
                }
            }
            Message::Device(description) => self.device_description = Some(description),
            Message::Train(event) => {
                if self.run.apply(event) {
                    self.request_geometry();
                }
            }
            Message::SynthesisEnded(result) => {
                self.control = None;
                match result {
                    Ok(result) => {
                        let SynthesisResult {
                            outcome,
                            chamfer_vs_full,
                        } = *result;
                        let how = match outcome.stop {
                            roap_engine::graphics::StopReason::Finished => "finished",
                            roap_engine::graphics::StopReason::Cancelled => "stopped",
                            roap_engine::graphics::StopReason::NonFiniteLoss => {
                                "stopped (the loss stayed not a number; kept the program of the \
                                 last good step)"
                            }
                        };
                        self.status = if self.refining {
                            let chamfer =
                                |c: Option<f64>| c.map_or("–".into(), |c| format!("{c:.3}"));
                            // The refined program is what the viewport shows from now on.
                            self.settings.view.show_completion = false;
                            self.refined = Some((chamfer_vs_full, outcome.live_lines));
                            format!(
                                "completion refined ({how}) in {:.1} s: Chamfer ×1000 vs the whole shape {} (the guess: {})",
                                outcome.seconds,
                                chamfer(chamfer_vs_full),
                                chamfer(self.completion.as_ref().and_then(|c| c.chamfer_vs_full)),
                            )
                        } else {
                            format!(
                                "synthesis {how} after {} steps in {:.1} s",
                                outcome.steps, outcome.seconds
                            )
                        };
                        self.refining = false;
                        self.run.finish(outcome, chamfer_vs_full);
                        self.request_geometry();
                    }
                    Err(err) => {
                        self.refining = false;
                        self.run.state = RunState::Failed(err.clone());
                        self.error(format!("synthesis failed: {err}"));
                    }
                }
            }
            Message::Geometry(geometry) => {
                self.geometry_busy = false;
                if geometry.revision == self.scene_revision {
                    self.reconstruction_image = geometry.image.map(|image| {
                        ctx.load_texture("reconstruction", image, TextureOptions::NEAREST)
                    });
                    self.part_keys = geometry.parts.iter().map(|(k, _)| *k).collect();
                    self.gallery = geometry.gallery;
                    let mut scene = self.scene_base();
                    scene.reconstruction = geometry.surface;
                    scene.parts = geometry.parts.into_iter().map(|(_, p)| p).collect();
                    self.scene = Arc::new(scene);
                }
                if self.geometry_dirty {
                    self.geometry_dirty = false;
                    self.start_geometry();
                }
            }
            Message::Completed(result) => {
                self.completing = false;
                match result {
                    Ok(completion) => {
                        let guess = format!(
                            "the policy's guess in {:.0} ms: Chamfer ×1000 vs the whole shape {}",
                            completion.seconds * 1000.0,
                            completion
                                .chamfer_vs_full
                                .map_or("–".into(), |c| format!("{c:.3}"))
                        );
                        if completion.refine_steps > 0 {
                            self.status = format!("{guess}; refining…");
                            self.run = RunView::started(completion.refine_steps);
                            self.lines_off.clear();
                            self.refining = true;
                        } else {
                            self.status = guess;
                            self.control = None;
                        }
                        let mut scene = self.next_scene();
                        scene.completion = Some(completion.surface.clone());
                        self.scene = Arc::new(scene);
                        self.completion = Some(*completion);
                        self.settings.view.show_completion = true;
                    }
                    Err(err) => {
                        self.control = None;
                        self.error(format!("completion failed: {err}"));
                    }
                }
            }
            Message::Picked { purpose, path } => match (purpose, path) {
                (_, None) => self.status = "no file chosen".into(),
                (Pick::Open, Some(path)) => self.open(path),
                (Pick::Checkpoint, Some(path)) => {
                    self.status = format!("checkpoint {}", path.display());
                    self.settings.checkpoint = Some(path);
                }
                (Pick::Export(kind), Some(path)) => self.export_to(kind, path),
            },
            Message::Exported(result) => match result {
                Ok(line) => {
                    self.status = line;
                    self.exports_saved += 1;
                }
                Err(err) => self.error(err),
            },
            Message::Failed { job, error } => {
                match job {
                    Job::Load => self.loading = None,
                    Job::Geometry => self.geometry_busy = false,
                    Job::Complete => {
                        self.completing = false;
                        // A refinement that panicked: the run is over.
                        if self.run.state.is_active() {
                            self.run.state = RunState::Failed(error.clone());
                        }
                        self.refining = false;
                        self.control = None;
                    }
                    Job::Other => {}
                }
                self.error(error);
            }
            Message::Screenshot(image) => {
                self.last_screenshot = Some(image);
                if let Some(path) = self.screenshot_path.take() {
                    self.export_to(ExportKind::Screenshot, path);
                }
            }
        }
    }

    fn error(&mut self, text: String) {
        tracing::error!("{text}");
        self.status = text.clone();
        self.errors.push(text);
        if self.script.active() {
            self.failed.store(true, Ordering::SeqCst);
        }
    }

    fn act(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::PickFile => self.pick(Pick::Open, None),
            Action::Open(path) => self.open(path),
            Action::Synthesize => self.synthesize(false),
            Action::FitCrop => self.synthesize(true),
            Action::Pause => {
                if let Some(control) = &self.control {
                    control.pause();
                    self.run.state = RunState::Paused;
                }
            }
            Action::Resume => {
                if let Some(control) = &self.control {
                    control.resume();
                    self.run.state = RunState::Running;
                }
            }
            Action::Stop => {
                if let Some(control) = &self.control {
                    control.cancel();
                    self.status = "stopping…".into();
                }
            }
            Action::Complete => self.complete(),
            Action::PickCheckpoint => self.pick(Pick::Checkpoint, None),
            Action::Export(ExportKind::Screenshot) => {
                // Capture the window as it is now, before a dialog covers it.
                self.request_screenshot(ctx, None);
                self.pick(
                    Pick::Export(ExportKind::Screenshot),
                    Some(ExportKind::Screenshot),
                );
            }
            Action::Export(kind) => self.pick(Pick::Export(kind), Some(kind)),
            Action::LinesChanged => self.request_geometry(),
            Action::ResetView => self.viewport.camera.reset(),
        }
    }

    /// Opens a shape file in a job (meshes take seconds to voxelize).
    pub fn open(&mut self, path: PathBuf) {
        let options = OpenOptions {
            resolution: self.settings.synthesis.resolution.clamp(8, 256),
            index: self.hdf5_index,
            key: None,
        };
        self.status = format!("opening {}…", path.display());
        self.loading = Some(path.clone());
        self.jobs.spawn(
            "load",
            move |out| {
                let result = load_shape(&path, &options).map(Box::new);
                out.send(Message::Loaded { path, result });
            },
            |error| Message::Failed {
                job: Job::Load,
                error,
            },
        );
    }

    fn set_shape(&mut self, shape: LoadedShape) {
        if let Some(control) = &self.control {
            control.cancel();
        }
        self.input_image = None;
        self.reconstruction_image = None;
        self.run = RunView::default();
        self.lines_off.clear();
        self.completion = None;
        self.gallery.clear();
        self.part_keys.clear();
        self.shape = Some(shape);
        self.scene = Arc::new(self.scene_base());
        self.viewport.camera.reset();
    }

    /// A new scene revision holding the input only.
    fn scene_base(&mut self) -> SceneMeshes {
        self.scene_revision += 1;
        let mut scene = SceneMeshes {
            revision: self.scene_revision,
            ..SceneMeshes::default()
        };
        if let Some(shape) = &self.shape {
            scene.input_surface = shape.surface.clone();
            scene.input_voxels = shape.surface_voxels.clone();
            scene.voxel_size = shape.voxel_size;
        }
        scene
    }

    /// A new scene revision with the current program geometry and completion kept.
    fn next_scene(&mut self) -> SceneMeshes {
        let mut scene = self.scene_base();
        scene.reconstruction = self.scene.reconstruction.clone();
        scene.parts = self.scene.parts.clone();
        scene.completion = self.scene.completion.clone();
        scene
    }

    /// The checkpoint the user chose; `None` for the pretrained one that ships with roap.
    fn checkpoint(&self) -> Option<PathBuf> {
        self.settings.checkpoint.clone()
    }

    /// The engine's config for the current shape.
    pub fn synth_config(&self) -> Option<SynthConfig> {
        let shape = self.shape.as_ref()?;
        let mut config = self.settings.synthesis.config(shape.target.dim());
        config.fault = self.fault;
        Some(config)
    }

    /// Starts a synthesis of the shape (cropped when `cropped` or a crop is set).
    fn synthesize(&mut self, cropped: bool) {
        if self.run.state.is_active() {
            return;
        }
        let (Some(shape), Some(config)) = (&self.shape, self.synth_config()) else {
            self.error("open a shape first".into());
            return;
        };
        let crop = self.settings.crop.crop();
        // A cropped run is a completion: it is also judged against the whole shape.
        let (target, full) = match &shape.target {
            Target::Voxels(grid) if cropped || self.settings.crop.mode != CropMode::None => {
                (Target::Voxels(crop.apply(grid)), Some(grid.clone()))
            }
            other => (other.clone(), None),
        };
        // What the crop removed is unknown, not empty: the program may complete it.
        let mut config = config;
        if full.is_some() {
            config.unseen = crop;
        }
        let control = RunControl::default();
        self.control = Some(control.clone());
        self.run = RunView::started(config.steps);
        self.lines_off.clear();
        self.status = "synthesizing…".into();
        let preference = self.settings.device;
        let devices = self.device.clone();
        let outcome_seed = config.seed;
        self.jobs.spawn(
            "synthesis",
            move |out| {
                let chosen = match chosen_device(&devices, preference) {
                    Ok(chosen) => chosen,
                    Err(err) => {
                        out.send(Message::SynthesisEnded(Err(err)));
                        return;
                    }
                };
                out.send(Message::Device(chosen.description.clone()));
                let device = chosen.device.autodiff();
                let mut sink = |event| out.send(Message::Train(event));
                let run = move || synthesize(&target, &config, &device, &mut sink, &control);
                out.send(synthesis_ended(
                    on_training_pool(run),
                    full.as_ref(),
                    outcome_seed,
                ));
            },
            |err| Message::SynthesisEnded(Err(err)),
        );
    }

    /// The policy's guess at once, then (unless its steps are 0) a refinement that streams
    /// like a synthesis run, starting from the guess.
    fn complete(&mut self) {
        if self.completing || self.run.state.is_active() {
            return;
        }
        let Some(Target::Voxels(full)) = self.shape.as_ref().map(|s| &s.target) else {
            self.error("completion needs a 3D shape".into());
            return;
        };
        let started = Instant::now();
        let full = full.clone();
        let crop = self.settings.crop.crop();
        let refine_steps = self.settings.crop.refine_steps;
        let checkpoint = self.checkpoint();
        let preference = self.settings.device;
        let devices = self.device.clone();
        let cache = self.policy.clone();
        self.refined = None;
        let control = RunControl::default();
        self.control = Some(control.clone());
        self.completing = true;
        self.status = "completing…".into();
        self.jobs.spawn(
            "complete",
            move |out| {
                let chosen = match chosen_device(&devices, preference) {
                    Ok(chosen) => chosen,
                    Err(err) => {
                        out.send(Message::Completed(Err(err)));
                        return;
                    }
                };
                out.send(Message::Device(chosen.description.clone()));
                let (mut guess, start) = match complete_with_checkpoint(
                    &cache,
                    checkpoint.as_deref(),
                    &full,
                    crop,
                    &chosen,
                    started,
                ) {
                    Ok(done) => done,
                    Err(err) => {
                        out.send(Message::Completed(Err(err)));
                        return;
                    }
                };
                let start = start.filter(|_| refine_steps > 0);
                guess.refine_steps = if start.is_some() { refine_steps } else { 0 };
                out.send(Message::Completed(Ok(Box::new(guess))));
                let Some((start, trained)) = start else {
                    return;
                };
                let config = refinement(&trained, crop, refine_steps, 0);
                let target = Target::Voxels(crop.apply(&full));
                let device = chosen.device.autodiff();
                let mut sink = |event| out.send(Message::Train(event));
                let run = move || refine(&target, &start, &config, &device, &mut sink, &control);
                out.send(synthesis_ended(on_training_pool(run), Some(&full), 0));
            },
            |error| Message::Failed {
                job: Job::Complete,
                error,
            },
        );
    }

    fn request_geometry(&mut self) {
        if self.geometry_busy {
            self.geometry_dirty = true;
        } else {
            self.start_geometry();
        }
    }

    fn start_geometry(&mut self) {
        let (Some(program), Some(shape)) = (self.run.program.clone(), &self.shape) else {
            return;
        };
        let target = match &shape.target {
            // Meshing needs only the dimension of a 3D target, not its voxels.
            Target::Voxels(_) => Target::Voxels(roap_engine::data::VoxelGrid::empty(1)),
            pixels => pixels.clone(),
        };
        // The scene revision the result will belong to; anything older is dropped.
        self.scene = Arc::new(self.next_scene());
        let revision = self.scene_revision;
        let lines_off = self.lines_off.clone();
        self.geometry_busy = true;
        self.jobs.spawn(
            "geometry",
            move |out| {
                let geometry = program_geometry(revision, &program, &lines_off, &target);
                out.send(Message::Geometry(Box::new(geometry)));
            },
            |error| Message::Failed {
                job: Job::Geometry,
                error,
            },
        );
    }

    fn pick(&self, purpose: Pick, export: Option<ExportKind>) {
        let shape = self
            .shape
            .as_ref()
            .map_or("roap", |s| s.name.as_str())
            .to_owned();
        self.jobs.spawn(
            "file dialog",
            move |out| {
                let dialog = rfd::FileDialog::new();
                let path = match (purpose, export) {
                    (Pick::Open, _) => dialog
                        .add_filter(
                            "Shapes",
                            &["binvox", "obj", "off", "stl", "ply", "png", "hdf5", "h5"],
                        )
                        .pick_file(),
                    (Pick::Checkpoint, _) => dialog.pick_folder(),
                    (Pick::Export(_), Some(kind)) => {
                        let mut dialog = dialog.set_file_name(kind.default_file_name(&shape));
                        for (name, extensions) in kind.filters() {
                            dialog = dialog.add_filter(*name, extensions);
                        }
                        dialog.save_file()
                    }
                    (Pick::Export(_), None) => None,
                };
                out.send(Message::Picked { purpose, path });
            },
            |error| Message::Failed {
                job: Job::Other,
                error,
            },
        );
    }

    /// Writes `kind` to `path` in a job; the result shows in the status bar.
    pub fn export_to(&mut self, kind: ExportKind, path: PathBuf) {
        let data = ExportData {
            program: self
                .run
                .program
                .as_ref()
                .map(|p| p.with_lines_off(&self.lines_off).compacted()),
            surface: self.scene.reconstruction.clone(),
            parts: self.scene.parts.clone(),
            frame: match self.shape.as_ref().map(|s| &s.target) {
                Some(Target::Voxels(grid)) => Some(grid.clone()),
                _ => None,
            },
            screenshot: self.last_screenshot.clone(),
        };
        self.jobs.spawn(
            "export",
            move |out| out.send(Message::Exported(export(kind, &path, &data))),
            |error| Message::Failed {
                job: Job::Other,
                error,
            },
        );
    }

    pub fn request_screenshot(&mut self, ctx: &egui::Context, path: Option<PathBuf>) {
        self.screenshot_path = path;
        let outbox = self.jobs.outbox();
        ctx.request_screenshot(move |image| outbox.send(Message::Screenshot(image)));
    }

    fn input_shortcuts(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        let (open, quit, dropped) = ctx.input(|i| {
            (
                i.modifiers.command && i.key_pressed(egui::Key::O),
                i.modifiers.command && i.key_pressed(egui::Key::Q),
                i.raw
                    .dropped_files
                    .iter()
                    .map(|f| f.path().to_path_buf())
                    .find(|p| !p.as_os_str().is_empty()),
            )
        });
        if open {
            actions.push(Action::PickFile);
        }
        if quit {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if let Some(path) = dropped {
            actions.push(Action::Open(path));
        }
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open…").clicked() {
                    actions.push(Action::PickFile);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.settings.recent_files.is_empty() {
                        ui.label("nothing yet");
                    }
                    for path in &self.settings.recent_files {
                        if ui.button(path.display().to_string()).clicked() {
                            actions.push(Action::Open(path.clone()));
                        }
                    }
                });
                ui.horizontal(|ui| {
                    ui.label("HDF5 entry");
                    ui.add(egui::DragValue::new(&mut self.hdf5_index));
                });
                ui.separator();
                ui.menu_button("Export", |ui| {
                    for kind in ExportKind::ALL {
                        if ui.button(kind.label()).clicked() {
                            actions.push(Action::Export(kind));
                        }
                    }
                });
                ui.separator();
                if ui.button("Quit (Ctrl+Q)").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| {
                let view = &mut self.settings.view;
                ui.label("Input");
                use crate::viewport::InputStyle;
                ui.radio_value(&mut view.input_style, InputStyle::Voxels, "Voxels");
                ui.radio_value(&mut view.input_style, InputStyle::Surface, "Surface");
                ui.radio_value(&mut view.input_style, InputStyle::Hidden, "Hidden");
                ui.separator();
                ui.checkbox(&mut view.show_reconstruction, "Program surface");
                ui.checkbox(&mut view.show_parts, "Program parts");
                ui.checkbox(&mut view.show_completion, "Completion");
                ui.checkbox(&mut view.side_by_side, "Side by side");
                ui.separator();
                if ui.button("Reset view").clicked() {
                    actions.push(Action::ResetView);
                }
            });
        });
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(&self.status);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if let Some(fps) = self.frames.recent_fps() {
                    ui.label(format!("{fps:.0} fps"));
                }
                let device = self
                    .device_description
                    .as_deref()
                    .unwrap_or("device chosen at the first run");
                ui.label(device);
                if self.busy() {
                    ui.spinner();
                }
            });
        });
    }

    fn inspector_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        ui.horizontal(|ui| {
            for tab in Tab::ALL {
                ui.selectable_value(&mut self.tab, tab, tab.label());
            }
        });
        ui.separator();
        self.hovered_part = None;
        match self.tab {
            Tab::Program => program_ui(
                ui,
                self.run.program.as_ref(),
                &self.run.program_text,
                &mut self.lines_off,
                &mut self.hovered_line,
                actions,
            ),
            Tab::Architecture => self.architecture.ui(ui, &self.run),
            Tab::Plots => plots_ui(ui, &self.run),
            Tab::Parts => {
                self.hovered_part = self.parts_panel.ui(ui, &self.gallery, self.scene.revision);
            }
        }
        if self.tab != Tab::Program {
            self.hovered_line = None;
        }
    }

    /// Indices into the scene's parts to emphasise: those under the hovered line, or the
    /// hovered gallery part.
    pub fn highlighted_parts(&self) -> Vec<usize> {
        let keys: Vec<PartKey> = match (self.hovered_line, self.hovered_part, &self.run.program) {
            (Some((c, line)), _, Some(program)) => program
                .components
                .get(c)
                .map(|component| {
                    parts_under(&component.program, line)
                        .into_iter()
                        .map(|part| PartKey { component: c, part })
                        .collect()
                })
                .unwrap_or_default(),
            (None, Some(key), _) => vec![key],
            _ => Vec::new(),
        };
        self.part_keys
            .iter()
            .enumerate()
            .filter(|(_, k)| keys.contains(k))
            .map(|(i, _)| i)
            .collect()
    }

    fn central_ui(&mut self, ui: &mut egui::Ui) {
        let Some(shape) = &self.shape else {
            ui.centered_and_justified(|ui| {
                let text = if let Some(path) = &self.loading {
                    format!("Opening {}…", path.display())
                } else {
                    "Open a shape (File → Open, Ctrl+O, drop a file here) or pick a sample on the left.".into()
                };
                ui.label(text);
            });
            return;
        };
        if let Some(image) = &shape.image {
            // 2D: the image and the program's rendering side by side.
            let input = self
                .input_image
                .get_or_insert_with(|| {
                    ui.ctx()
                        .load_texture("input", image.clone(), TextureOptions::NEAREST)
                })
                .clone();
            let side = (ui.available_width() / 2.0 - 16.0)
                .min(ui.available_height() - 40.0)
                .max(64.0);
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.label("Input");
                    ui.image((input.id(), egui::vec2(side, side)));
                });
                ui.vertical(|ui| {
                    ui.label("Program");
                    if let Some(reconstruction) = &self.reconstruction_image {
                        ui.image((reconstruction.id(), egui::vec2(side, side)));
                    }
                });
            });
            return;
        }
        let view = SceneView {
            input_style: self.settings.view.input_style,
            show_reconstruction: self.settings.view.show_reconstruction,
            show_parts: self.settings.view.show_parts
                || self.hovered_line.is_some()
                || self.hovered_part.is_some(),
            show_completion: self.settings.view.show_completion,
            side_by_side: self.settings.view.side_by_side,
            highlighted_parts: self.highlighted_parts(),
            crop: self.settings.crop.clip_region(),
        };
        let moving_plane = self.settings.crop.mode == CropMode::HalfPlane
            && ui.ctx().input(|i| i.modifiers.command);
        let camera = self.viewport.camera.clone();
        let response = self.viewport.ui(ui, &self.scene, &view);
        if moving_plane && response.dragged() {
            // Ctrl+drag moves the crop plane instead of orbiting.
            self.viewport.camera = camera;
            let delta = response.drag_delta().y;
            self.settings.crop.offset =
                (self.settings.crop.offset - delta * 0.003).clamp(-0.5, 0.5);
        }
        self.camera_persist();
    }

    fn camera_persist(&mut self) {
        self.settings.camera = self.viewport.camera.clone();
    }

    fn errors_ui(&mut self, ctx: &egui::Context) {
        if self.errors.is_empty() {
            return;
        }
        let mut open = true;
        egui::Window::new("Errors")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                for error in &self.errors {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                if ui.button("Dismiss").clicked() {
                    self.errors.clear();
                }
            });
        if !open {
            self.errors.clear();
        }
    }
}

/// A thread pool with one core fewer than the machine (at least one thread).
/// Runs `run` on [`training_pool`]: one core stays with the UI (and the GL rasterizer, in
/// software on machines without a GPU), so the window keeps its frame rate.
fn on_training_pool<T: Send>(run: impl FnOnce() -> T + Send) -> T {
    match training_pool() {
        Some(pool) => pool.install(run),
        None => run(),
    }
}

/// The message a finished synthesis or refinement sends; a run on a cropped input is also
/// scored against `full`, the whole shape.
fn synthesis_ended(
    result: Result<SynthOutcome, SynthError>,
    full: Option<&VoxelGrid>,
    seed: u64,
) -> Message {
    let result = result
        .map(|outcome| {
            let chamfer_vs_full = match (full, &outcome.reconstruction) {
                (Some(full), Some(Reconstruction::Voxels(voxels))) => {
                    roap_engine::metrics::chamfer_x1000(full, voxels, seed)
                }
                _ => None,
            };
            Box::new(SynthesisResult {
                outcome,
                chamfer_vs_full,
            })
        })
        .map_err(|err| format!("{err:#}"));
    Message::SynthesisEnded(result)
}

fn training_pool() -> Option<rayon::ThreadPool> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(cores.saturating_sub(1).max(1))
        .thread_name(|i| format!("training-{i}"))
        .build()
        .ok()
}

/// The device for `preference`, chosen once and reused.
fn chosen_device(
    cache: &std::sync::Mutex<Option<(DeviceChoice, ChosenDevice)>>,
    preference: DeviceChoice,
) -> Result<ChosenDevice, String> {
    let mut cache = cache
        .lock()
        .map_err(|_| "device cache poisoned".to_owned())?;
    if let Some((choice, chosen)) = cache.as_ref()
        && *choice == preference
    {
        return Ok(chosen.clone());
    }
    let chosen = device::choose(preference).map_err(|err| format!("{err:#}"))?;
    *cache = Some((preference, chosen.clone()));
    Ok(chosen)
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
