//! The relaxed program space: soft architectures α, their sampling, the differentiable
//! interpreter and the differentiable program length.

mod architecture;
pub mod fused;
mod fused_autodiff;
mod fused_op;
/// Flex-tensor plumbing the CPU kernels' burn registrations share.
pub(crate) mod flex {
    pub(crate) use super::fused_autodiff::{
        FusedCall, FusedState, autodiff_op, register_gradients,
    };
    pub(crate) use super::fused_op::{contiguous_f32, is_available, slice_of};
}
mod gemm;
mod interpreter;
mod length;

pub use architecture::{
    Architecture, ArchitectureLogits, LogitParams, Relaxation, causal_mask, chain_argument,
    gumbel_noise, repeat_rows, repeat_tasks,
};
pub use gemm::{FlushSubnormals, flush_subnormals};
pub use interpreter::{apply, execute, execute_reference};
pub use length::expected_length;
