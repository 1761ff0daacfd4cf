//! What every domain's training loop shares: the schedule, the event stream, pause/cancel,
//! program recovery with free logits, the rule for a loss that is not a number, and the
//! files checkpoints are made of.

mod batcher;
pub mod checkpoint;
mod control;
mod events;
mod non_finite;
mod recover;
mod schedule;

pub use batcher::Batcher;
pub use control::{RunControl, RunState};
pub use events::{
    ArchitectureSnapshot, DomainValue, EventSink, MetricsReport, StepReport, TrainEvent,
};
pub use non_finite::{Fault, NonFiniteGuard, PATIENCE, StopReason, Verdict, parameters_finite};
pub use recover::{RecoverConfig, RecoverOutcome, recover};
pub use schedule::{Phase, Schedule, TemperatureSchedule};

/// The first value of a one-element tensor (a loss) as `f64`; NaN if it has none.
pub(crate) fn scalar(tensor: &burn::tensor::Tensor<1>) -> f64 {
    tensor
        .to_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(f64::NAN)
}

/// The optimizer every loop uses: Adam with ε = 1e-5, the setting every recorded result was
/// measured with.
pub fn adam() -> burn::optim::AdamConfig {
    burn::optim::AdamConfig::new().with_epsilon(1e-5)
}
