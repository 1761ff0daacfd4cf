//! What every domain's training loop shares: the schedule, the event stream, and program
//! recovery with free logits.

mod events;
mod recover;
mod schedule;

pub use events::{EventSink, StepReport, TrainEvent};
pub use recover::{RecoverConfig, RecoverOutcome, recover};
pub use schedule::{Phase, Schedule, TemperatureSchedule};
