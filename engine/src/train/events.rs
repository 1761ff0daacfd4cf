//! What a training run reports while it runs. The CLI renders it as a progress bar, tests
//! collect it, the app draws it; only plain `Send` data crosses, never a tensor.

use serde::Serialize;

/// One event of a run.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    Step(StepReport),
    /// The current most likely discrete program, simplified, in canonical text form.
    Program {
        step: usize,
        text: String,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub step: usize,
    pub total_steps: usize,
    /// The objective minimised this step (fit + weighted length, summed over restarts).
    pub loss: f64,
    /// The fit term alone, of the best draw of the best restart.
    pub fit_loss: f64,
    pub temperature: f64,
    pub length_weight: f64,
    /// Expected program length under the policy's α, averaged over restarts
    /// (see `relaxed::expected_length`).
    pub expected_length: f64,
}

/// Receives a run's events.
pub trait EventSink {
    fn event(&mut self, event: TrainEvent);
}

impl<F: FnMut(TrainEvent)> EventSink for F {
    fn event(&mut self, event: TrainEvent) {
        self(event);
    }
}
