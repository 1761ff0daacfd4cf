//! ROAP engine — *Regularize, Overparametrize, Amortize, for Programs*.
//!
//! - [`dsl`]: discrete straight-line programs, their exact evaluator, text form and simplifier.
//! - [`relaxed`]: the soft architecture α, Gumbel-softmax, the differentiable interpreter
//!   (a dynamic program over lines, Fig. 9 of the paper) and the expected program length.
//! - [`train`]: the temperature and length-penalty schedules domains share.
//! - [`device`]: choosing the burn device once, at the edge.
//! - [`data`]: shapes in (voxel grids, binvox, meshes, voxelization, crops, samples);
//!   [`metrics`]: IoU and Chamfer distance; [`export`]: isosurface meshes out.
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
