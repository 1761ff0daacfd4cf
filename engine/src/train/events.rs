//! What a training run reports while it runs. The CLI renders it as a progress bar, tests
//! collect it, the app draws it; only plain `Send` data crosses, never a tensor.

use std::any::Any;
use std::sync::Arc;

use serde::Serialize;

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
    /// The same discrete program as its domain's value (graphics: a `GraphicsProgram`),
    /// for viewers that know the domain and evaluate it.
    Domain {
        step: usize,
        #[serde(skip_serializing)]
        value: DomainValue,
    },
    /// The policy's α: per component, per line, the operator and argument probabilities.
    Architecture(ArchitectureSnapshot),
    /// Quality of the current discrete program against the target.
    Metrics(MetricsReport),
    /// Restarts trained side by side to here; `kept` (an index into `losses`, each
    /// restart's recent fit) trains on, the rest are dropped.
    Restarted {
        kept: usize,
        losses: Vec<f64>,
    },
}

/// A domain's value carried by [`TrainEvent::Domain`]; training knows no domain, so it is
/// opaque here and read back by type.
#[derive(Clone)]
pub struct DomainValue(Arc<dyn Any + Send + Sync>);

impl DomainValue {
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        Self(Arc::new(value))
    }

    /// The value, if it is a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl std::fmt::Debug for DomainValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DomainValue(..)")
    }
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

impl ArchitectureSnapshot {
    /// Mean normalized entropy of every operator, left and right distribution: each row's
    /// entropy over the choices it has (operators; the inputs and earlier lines an argument
    /// may read) divided by the log of their number. 1 for uniform rows, 0 for one-hot
    /// ones; `None` for an empty snapshot.
    pub fn mean_normalized_entropy(&self) -> Option<f64> {
        let mut total = 0.0;
        let mut rows = 0usize;
        let mut add = |row: &[f32], choices: usize| {
            if choices < 2 {
                return;
            }
            let entropy: f64 = row[..choices.min(row.len())]
                .iter()
                .map(|&p| f64::from(p))
                .filter(|&p| p > 0.0)
                .map(|p| -p * p.ln())
                .sum();
            total += entropy / (choices as f64).ln();
            rows += 1;
        };
        for ((op, left), right) in self.op.iter().zip(&self.left).zip(&self.right) {
            let lines = op.len();
            for (line, row) in op.iter().enumerate() {
                add(row, row.len());
                // Line `line` reads the inputs and the lines before it.
                let inputs = left.get(line).map_or(0, |r| r.len().saturating_sub(lines));
                for arguments in [left, right] {
                    if let Some(row) = arguments.get(line) {
                        add(row, inputs + line);
                    }
                }
            }
        }
        (rows > 0).then(|| total / rows as f64)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_is_one_for_uniform_rows_and_zero_for_one_hot_rows() {
        // Two inputs, two lines: line 0 reads 2 choices, line 1 reads 3.
        let uniform = ArchitectureSnapshot {
            op: vec![vec![vec![0.25; 4]; 2]],
            left: vec![vec![
                vec![0.5, 0.5, 0.0, 0.0],
                vec![1.0 / 3.0; 3].into_iter().chain([0.0]).collect(),
            ]],
            ..ArchitectureSnapshot::default()
        };
        let uniform = ArchitectureSnapshot {
            right: uniform.left.clone(),
            ..uniform
        };
        let entropy = uniform.mean_normalized_entropy().unwrap();
        assert!((entropy - 1.0).abs() < 1e-6, "{entropy}");
        let one_hot = ArchitectureSnapshot {
            op: vec![vec![vec![1.0, 0.0, 0.0, 0.0]; 2]],
            left: vec![vec![vec![1.0, 0.0, 0.0, 0.0], vec![0.0, 0.0, 1.0, 0.0]]],
            right: vec![vec![vec![0.0, 1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0, 0.0]]],
            ..ArchitectureSnapshot::default()
        };
        assert!(one_hot.mean_normalized_entropy().unwrap().abs() < 1e-9);
        assert_eq!(
            ArchitectureSnapshot::default().mean_normalized_entropy(),
            None
        );
    }
}
