//! The arithmetic domain (paper §4.1, "CIFAR-MATH"): hidden equations over three images,
//! a CNN that must learn to read each image as a digit, and programs that combine the digits
//! — learned together from the equations' outputs alone. Fashion-MNIST by default (ten
//! clothing classes stand for the digits, a mapping the learner is never told); MNIST and
//! CIFAR-10 read too.

mod batch;
pub mod checkpoint;
pub mod config;
pub mod evaluate;
pub mod images;
mod loss;
pub mod model;
pub mod refine;
pub mod tasks;
pub mod train;

pub use config::{Ablation, ArithConfig, ArithError, ArithResults};
pub use evaluate::{ClassReading, Evaluation, TaskOutcome, evaluate};
pub use images::{Dataset, ImageSet, read_dataset};
pub use refine::RefineConfig;
pub use tasks::{Example, Task, TaskConfig, formula, generate};
pub use train::{TrainStats, train, train_and_evaluate_each_alone};
