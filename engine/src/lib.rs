//! ROAP engine — *Regularize, Overparametrize, Amortize, for Programs*: neurosymbolic
//! program synthesis by gradient descent over soft straight-line programs.
//!
//! - [`dsl`]: discrete straight-line programs, their exact evaluator, text form and simplifier.
//! - [`relaxed`]: the soft architecture α, Gumbel-softmax, the differentiable interpreter
//!   (a dynamic program over lines, Fig. 9 of the paper) and the expected program length.
//! - [`train`]: what every training loop shares: schedules, events, cancellation, the
//!   non-finite rule, checkpoint files; and `recover`, programs from input/output examples.
//! - [`graphics`]: 2D and 3D CSG programs over learned parts (paper §4.2): per-shape
//!   [`synthesize`], the amortized policy ([`graphics::amortized`]), OpenSCAD export.
//! - [`arith`]: arithmetic over images (paper §4.1, CIFAR-MATH with Fashion-MNIST).
//! - [`data`]: shapes in (voxel grids, binvox, meshes, voxelization, crops, samples);
//!   [`metrics`]: IoU and Chamfer distance; [`export`]: meshes out, written atomically.
//! - [`device`]: choosing the burn device once, at the edge; [`bundled`]: the samples and
//!   the pretrained policy that ship with roap; [`bench`]: benchmarks.
//!
//! Embedding it: synthesize a program for a bundled sample on the CPU backend, watching
//! its steps (`Step` events). Any device will do; the engine takes gradients on its autodiff form, seeds
//! burn's generator from the config's `seed`, and leaves the thread's float flags as it
//! found them.
//!
//! ```
//! use roap_engine::{Device, OpenOptions, RunControl, SynthConfig, Target, TrainEvent};
//!
//! let shapes = roap_engine::bundled::locate(roap_engine::bundled::SHAPES)?;
//! let target = Target::open(&shapes.join("chair.binvox"), &OpenOptions::default())?;
//! let config = SynthConfig { steps: 40, restarts: 1, polish_steps: 0, ..SynthConfig::default() };
//! let mut steps = 0;
//! let mut sink = |event: TrainEvent| {
//!     if let TrainEvent::Step(_) = event {
//!         steps += 1;
//!     }
//! };
//! let outcome =
//!     roap_engine::synthesize(&target, &config, &Device::flex(), &mut sink, &RunControl::default())?;
//! assert_eq!(outcome.steps, 40);
//! assert!(steps > 0);
//! println!("{} lines:\n{}", outcome.live_lines, outcome.program);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Programs themselves are plain values:
//!
//! ```
//! use roap_engine::dsl::Program;
//! let program: Program = "ops union=max skip=skip\ninputs 2\nl2 = union(l0, l1)\n".parse()?;
//! assert_eq!(program.eval(&[0.25, 0.75])?, 0.75);
//! # Ok::<(), roap_engine::dsl::DslError>(())
//! ```

pub mod arith;
pub mod bench;
pub mod bundled;
pub mod data;
pub mod device;
pub mod dsl;
pub mod export;
pub mod graphics;
pub mod metrics;
pub mod relaxed;
pub mod train;

pub use burn::tensor::Device;
pub use graphics::amortized::{CompleteOptions, Completion, complete};
pub use graphics::{
    GraphicsProgram, OpenOptions, SynthConfig, SynthError, SynthOutcome, Target, refine, synthesize,
};
pub use train::{EventSink, RunControl, StopReason, TrainEvent};
