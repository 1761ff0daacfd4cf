//! Graphics programs (paper §4.2, App. B and C): CSG over learned primitive parts, in 2D and
//! 3D through one code path. [`SketchConfig`] says what a program may contain; [`soft`]
//! evaluates the relaxed program; [`GraphicsProgram`] is the discrete program a run ends
//! with; [`synthesize`] fits one shape.

pub mod amortized;
pub mod meshes;
pub mod openscad;
pub mod parts;
pub mod parts_kernel;
mod parts_op;
pub mod policy;
mod program;
mod prune;
pub mod seeding;
pub mod sketch;
pub mod soft;
mod synth;
mod target;

pub use parts::PartFamily;
pub use program::{GraphicsProgram, PartShape, ProgramComponent, Side};
pub use sketch::{ComponentKind, SketchConfig};
pub use synth::{FitLoss, StopReason, SynthConfig, SynthError, SynthOutcome, refine, synthesize};
pub use target::{OpenOptions, Reconstruction, Score, Symmetry, Target, iou_2d};
