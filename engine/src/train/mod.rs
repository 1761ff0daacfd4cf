//! What every domain's training loop shares: the schedule, the event stream, pause/cancel,
//! and program recovery with free logits.

mod control;
mod events;
mod recover;
mod schedule;

pub use control::{RunControl, RunState};
pub use events::{ArchitectureSnapshot, EventSink, MetricsReport, StepReport, TrainEvent};
pub use recover::{RecoverConfig, RecoverOutcome, recover};
pub use schedule::{Phase, Schedule, TemperatureSchedule};
