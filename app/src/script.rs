//! Scripted runs for tests, docs and reproducible screenshots:
//! `roap-studio --open FILE --synthesize --steps N --complete --screenshot OUT.png
//! --quit-when-done`. The script drives the same actions a user's clicks do, one stage per
//! frame: open, synthesize, complete, screenshot, each when the one before is done.

use std::path::PathBuf;

use crate::app::{StudioApp, Tab};
use crate::panels::Action;
use crate::run_view::RunState;
use crate::settings::CropMode;

/// What to do, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Script {
    pub open: Option<PathBuf>,
    pub synthesize: bool,
    pub steps: Option<usize>,
    pub crop: Option<CropMode>,
    pub complete: bool,
    pub screenshot: Option<PathBuf>,
    pub quit_when_done: bool,
    pub tab: Option<Tab>,
    pub stage: Stage,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    #[default]
    Start,
    Loading,
    /// Synthesizing.
    Working,
    /// Completing (the guess, then its refinement).
    Completing,
    /// Frames left to draw before the screenshot, so textures and meshes are on screen.
    Settling(u32),
    /// Waiting for the screenshot's file: done once more exports than this have been saved.
    Shooting {
        saved_before: usize,
    },
    Done,
}

impl Script {
    /// Whether a script is running (errors then fail the process).
    pub fn active(&self) -> bool {
        self.open.is_some() || self.synthesize || self.screenshot.is_some() || self.complete
    }
}

impl StudioApp {
    /// Advances the script by at most one stage.
    pub(crate) fn script_step(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        if !self.script.active() {
            return;
        }
        ctx.request_repaint();
        let script = self.script.clone();
        let next = match script.stage {
            Stage::Start => {
                if let Some(tab) = script.tab {
                    self.tab = tab;
                }
                if let Some(steps) = script.steps {
                    self.settings.synthesis.steps = steps;
                }
                if let Some(mode) = script.crop {
                    self.settings.crop.mode = mode;
                }
                // Without a file of its own the script works on what the window opened
                // (the last file or a bundled sample).
                if let Some(path) = script.open {
                    actions.push(Action::Open(path));
                }
                Stage::Loading
            }
            Stage::Loading if self.busy() => Stage::Loading,
            Stage::Loading if self.shape.is_none() => Stage::Settling(10),
            Stage::Loading if script.synthesize => {
                actions.push(Action::Synthesize);
                Stage::Working
            }
            Stage::Working
                if self.busy()
                    || self.run.state == RunState::Idle
                        && script.synthesize
                        && self.errors.is_empty() =>
            {
                Stage::Working
            }
            Stage::Loading | Stage::Working if script.complete => {
                actions.push(Action::Complete);
                Stage::Completing
            }
            Stage::Loading => Stage::Settling(20),
            Stage::Working | Stage::Completing if self.busy() => script.stage,
            Stage::Working | Stage::Completing => Stage::Settling(20),
            Stage::Settling(0) => match script.screenshot {
                Some(path) => {
                    self.request_screenshot(ctx, Some(path));
                    Stage::Shooting {
                        saved_before: self.exports_saved,
                    }
                }
                None => Stage::Done,
            },
            Stage::Settling(n) => Stage::Settling(n - 1),
            Stage::Shooting { saved_before }
                if self.exports_saved > saved_before || !self.errors.is_empty() =>
            {
                Stage::Done
            }
            shooting @ Stage::Shooting { .. } => shooting,
            Stage::Done => {
                if script.quit_when_done {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
                Stage::Done
            }
        };
        self.script.stage = next;
    }
}
