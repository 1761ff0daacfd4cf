//! The relaxed program space: soft architectures α, their sampling, the differentiable
//! interpreter and the differentiable program length.

mod architecture;
pub mod fused;
mod fused_op;
mod gemm;
mod interpreter;
mod length;

pub use architecture::{Architecture, ArchitectureLogits, Relaxation, causal_mask, repeat_tasks};
pub use gemm::flush_subnormals;
pub use interpreter::{apply, execute, execute_reference};
pub use length::expected_length;
