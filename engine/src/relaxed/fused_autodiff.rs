//! The adapter the fused CPU kernels share to become ops of burn's autodiff backend with a
//! hand-written backward pass: the interpreter ([`super::fused_op`]) and the parts'
//! occupancy (`graphics::parts_op`).

use std::sync::Arc;

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, tensor::FloatTensor};

use super::fused_op::flex_tensor;

/// One call of a fused kernel on contiguous flex operands.
pub(crate) trait FusedCall: std::fmt::Debug + Send + Sync + 'static {
    /// What the forward pass keeps for the backward pass.
    type Saved: std::fmt::Debug + Send + Sync + 'static;

    fn forward(&self) -> (FlexTensor, Self::Saved);
}

/// What a backward pass receives: the call and what its forward pass kept.
#[derive(Debug)]
pub(crate) struct FusedState<K: FusedCall> {
    pub call: Arc<K>,
    pub saved: Arc<K::Saved>,
}

impl<K: FusedCall> Clone for FusedState<K> {
    fn clone(&self) -> Self {
        Self {
            call: Arc::clone(&self.call),
            saved: Arc::clone(&self.saved),
        }
    }
}

/// `call` as an op of the autodiff backend whose parents are `nodes`: the forward pass, and
/// the state `backward` needs when a parent tracks gradients.
pub(crate) fn autodiff_op<C, B, K, const N: usize>(
    backward: B,
    nodes: [NodeGuard; N],
    call: K,
) -> FloatTensor<Autodiff<Flex, C>>
where
    C: CheckpointStrategy,
    K: FusedCall,
    B: Backward<Flex, N, State = FusedState<K>>,
{
    match backward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (output, saved) = call.forward();
            let state = FusedState {
                call: Arc::new(call),
                saved: Arc::new(saved),
            };
            prep.finish(state, output)
        }
        OpsKind::UnTracked(prep) => prep.finish(call.forward().0),
    }
}

/// Registers the gradient of each parent that tracks one (`parents`, in operand order),
/// shaped like its operand.
pub(crate) fn register_gradients<const N: usize>(
    grads: &mut Gradients,
    parents: [Option<NodeId>; N],
    computed: [(Vec<f32>, &FlexTensor); N],
) {
    for (parent, (values, like)) in parents.into_iter().zip(computed) {
        if let Some(id) = parent {
            grads.register::<Flex>(id, flex_tensor(values, like));
        }
    }
}
