//! Graphics programs (paper §4.2, App. B and C): CSG over learned primitive parts, in 2D and
//! 3D through one code path. [`SketchConfig`] says what a program may contain; [`soft`]
//! evaluates the relaxed program; [`GraphicsProgram`] is the discrete program a run ends
//! with; [`synthesize`] fits one shape.

pub mod amortized;
pub mod free_program;
pub mod meshes;
pub mod openscad;
pub mod parts;
pub mod parts_kernel;
mod parts_op;
mod point_batches;
pub mod policy;
mod polish;
mod program;
mod prune;
pub mod seeding;
pub mod sketch;
pub mod soft;
mod synth;
mod synth_config;
mod target;

pub use parts::PartFamily;
pub use program::{GraphicsProgram, PartShape, ProgramComponent, Side};
pub use sketch::{ComponentKind, SketchConfig};
pub use synth::{StopReason, SynthError, SynthOutcome, refine, synthesize};
pub use synth_config::{CHAIN_PRIOR, FitLoss, SynthConfig, UNION_PRIOR};
pub use target::{OpenOptions, Reconstruction, Score, Symmetry, Target, iou_2d};
