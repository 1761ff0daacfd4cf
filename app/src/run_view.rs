//! What the UI knows about the current synthesis: the histories it plots, the α snapshots
//! it scrubs through, the latest discrete program. Built from `TrainEvent`s only, never
//! persisted.

use roap_engine::graphics::{GraphicsProgram, StopReason, SynthOutcome};
use roap_engine::train::{ArchitectureSnapshot, MetricsReport, StepReport, TrainEvent};

#[derive(Clone, Debug, Default, PartialEq)]
pub enum RunState {
    #[default]
    Idle,
    Running,
    Paused,
    Ended(StopReason),
    Failed(String),
}

impl RunState {
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }
}

/// Most snapshots kept; beyond it every other one is dropped, so memory stays bounded on
/// long runs while the history still spans the whole run.
const MAX_SNAPSHOTS: usize = 400;

#[derive(Default)]
pub struct RunView {
    pub state: RunState,
    pub total_steps: usize,
    pub steps: Vec<StepReport>,
    pub metrics: Vec<MetricsReport>,
    pub snapshots: Vec<ArchitectureSnapshot>,
    /// The latest discrete program as text (simplified).
    pub program_text: String,
    /// The latest discrete program as the sketch produced it: every part and line, dead or
    /// live, so part and line numbers stay those of the sketch (the α heatmaps' numbers).
    pub program: Option<GraphicsProgram>,
    pub outcome: Option<OutcomeSummary>,
}

/// The numbers a finished run is judged by.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeSummary {
    pub chamfer: Option<f64>,
    pub iou: Option<f64>,
    pub live_lines: usize,
    pub live_parts: usize,
    pub steps: usize,
    pub kept_step: usize,
    pub seconds: f64,
    pub stop: StopReason,
    /// For a run on a cropped input: Chamfer ×1000 against the whole shape.
    pub chamfer_vs_full: Option<f64>,
    /// Said when the program fits the input poorly.
    pub warning: Option<String>,
}

impl RunView {
    pub fn started(total_steps: usize) -> Self {
        Self {
            state: RunState::Running,
            total_steps,
            ..Self::default()
        }
    }

    /// Folds one event in. Returns whether the discrete program changed.
    pub fn apply(&mut self, event: TrainEvent) -> bool {
        match event {
            TrainEvent::Step(report) => {
                self.total_steps = report.total_steps;
                self.steps.push(report);
            }
            TrainEvent::Program { text, .. } => self.program_text = text,
            TrainEvent::Domain { value, .. } => {
                if let Some(program) = value.get::<GraphicsProgram>() {
                    self.program = Some(program.clone());
                    return true;
                }
            }
            TrainEvent::Architecture(snapshot) => {
                if self.snapshots.len() >= MAX_SNAPSHOTS {
                    let mut keep = false;
                    self.snapshots.retain(|_| {
                        keep = !keep;
                        keep
                    });
                }
                self.snapshots.push(snapshot);
            }
            TrainEvent::Metrics(report) => self.metrics.push(report),
            // Meshes are recomputed from the program (so lines can be switched off).
            // Only the arithmetic domain restarts, and the studio does not run it.
            TrainEvent::Restarted { .. } => {}
        }
        false
    }

    /// The run ended with `outcome`: its kept program becomes the current one.
    pub fn finish(&mut self, outcome: SynthOutcome, chamfer_vs_full: Option<f64>) {
        self.state = RunState::Ended(outcome.stop);
        self.outcome = Some(OutcomeSummary {
            chamfer: outcome.chamfer,
            iou: outcome.iou,
            live_lines: outcome.live_lines,
            live_parts: outcome.live_parts,
            steps: outcome.steps,
            kept_step: outcome.chosen_step,
            seconds: outcome.seconds,
            stop: outcome.stop,
            chamfer_vs_full,
            warning: outcome.poor_fit_warning(),
        });
        self.program_text = outcome.program.to_string();
        self.program = Some(outcome.program);
    }

    pub fn progress(&self) -> f32 {
        let done = self.steps.last().map_or(0, |s| s.step + 1);
        done as f32 / self.total_steps.max(1) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(step: usize) -> TrainEvent {
        TrainEvent::Architecture(ArchitectureSnapshot {
            step,
            ..ArchitectureSnapshot::default()
        })
    }

    #[test]
    fn snapshot_history_stays_bounded_and_spans_the_run() {
        let mut view = RunView::started(10_000);
        for step in 0..2_000 {
            view.apply(snapshot(step));
        }
        assert!(view.snapshots.len() <= MAX_SNAPSHOTS);
        assert_eq!(view.snapshots.first().map(|s| s.step), Some(0));
        assert_eq!(view.snapshots.last().map(|s| s.step), Some(1_999));
        assert!(view.snapshots.windows(2).all(|w| w[0].step < w[1].step));
    }
}
