//! What a training run reports while it runs. The CLI renders it as a progress bar, tests
//! collect it, the app draws it; only plain `Send` data crosses, never a tensor.

use serde::Serialize;

use crate::data::TriangleMesh;
use crate::graphics::GraphicsProgram;

/// One event of a run.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    Step(StepReport),
    /// The current most likely discrete program, simplified, in its text form.
    Program {
        step: usize,
        text: String,
    },
    /// The same discrete graphics program as a value, for viewers that evaluate it.
    GraphicsProgram {
        step: usize,
        #[serde(skip_serializing)]
        program: Box<GraphicsProgram>,
    },
    /// The policy's α: per component, per line, the operator and argument probabilities.
    Architecture(ArchitectureSnapshot),
    /// Quality of the current discrete program against the target.
    Metrics(MetricsReport),
    /// The current discrete program's surface, in the target's normalized frame.
    Mesh {
        step: usize,
        #[serde(skip_serializing)]
        mesh: TriangleMesh,
    },
    /// Restarts trained side by side to here; `kept` (an index into `losses`, each
    /// restart's recent fit) trains on, the rest are dropped.
    Restarted {
        kept: usize,
        losses: Vec<f64>,
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

/// α of one moment of a run: `op[c][l][o]`, `left[c][l][a]`, `right[c][l][a]` for component
/// `c`, code line `l`, operator `o`, argument line `a` (inputs first).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ArchitectureSnapshot {
    pub step: usize,
    pub op_names: Vec<String>,
    pub op: Vec<Vec<Vec<f32>>>,
    pub left: Vec<Vec<Vec<f32>>>,
    pub right: Vec<Vec<Vec<f32>>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricsReport {
    pub step: usize,
    pub elapsed_seconds: f64,
    /// ×1000 by the BSP-Net convention in 3D; pixels by the CSGNet convention in 2D.
    pub chamfer: Option<f64>,
    pub iou: Option<f64>,
    pub live_lines: usize,
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
