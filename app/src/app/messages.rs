//! Carrying out what happens: job messages (results, events, errors) and the panels'
//! actions.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use egui::TextureOptions;

use super::StudioApp;
use crate::export::ExportKind;
use crate::jobs::{Job, Message, Pick, SynthesisResult};
use crate::panels::Action;
use crate::run_view::{RunState, RunView};

impl StudioApp {
    /// Applies job messages for at most ~8 ms, so a burst never stalls a frame.
    pub(super) fn drain(&mut self, ctx: &egui::Context) {
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

    pub(super) fn error(&mut self, text: String) {
        tracing::error!("{text}");
        self.status = text.clone();
        self.errors.push(text);
        if self.script.active() {
            self.failed.store(true, Ordering::SeqCst);
        }
    }

    pub(super) fn act(&mut self, ctx: &egui::Context, action: Action) {
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
}
