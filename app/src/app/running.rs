//! The running work: a synthesis or a completion on a worker thread, on its own thread
//! pool, with the device the user chose.

use std::path::PathBuf;
use std::time::Instant;

use roap_engine::data::VoxelGrid;
use roap_engine::device::{self, ChosenDevice, DeviceChoice};
use roap_engine::graphics::amortized::refinement;
use roap_engine::graphics::{SynthConfig, SynthError, SynthOutcome, Target, refine, synthesize};
use roap_engine::train::RunControl;

use super::StudioApp;
use crate::document::complete_with_checkpoint;
use crate::jobs::{Job, Message, SynthesisResult};
use crate::run_view::RunView;
use crate::settings::CropMode;

impl StudioApp {
    /// The checkpoint the user chose; `None` for the pretrained one that ships with roap.
    pub(super) fn checkpoint(&self) -> Option<PathBuf> {
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
    pub(super) fn synthesize(&mut self, cropped: bool) {
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
    pub(super) fn complete(&mut self) {
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
}

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
                (Some(full), Some(reconstruction)) => reconstruction.chamfer_vs_full(full, seed),
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

/// A thread pool with one core fewer than the machine (at least one thread).
fn training_pool() -> Option<rayon::ThreadPool> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(cores.saturating_sub(1).max(1))
        .thread_name(|i| format!("training-{i}"))
        .build()
        .ok()
}

/// The device for `preference`, chosen once and reused.
pub(super) fn chosen_device(
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
