//! Registers the fused CPU kernel ([`super::fused`]) with burn as a backend extension of the
//! flex backend, with its hand-written backward pass on the autodiff graph.

use std::sync::Arc;

use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::flex::FlexTensor;
use burn::backend::{
    Autodiff, Backend, DispatchDevice, Flex, backend_extension, tensor::FloatTensor,
};
use burn::tensor::{DType, Tensor, TensorData};

use super::{Architecture, fused};
use crate::dsl::Semantics;

#[backend_extension(Flex, Autodiff)]
pub trait RelaxedInterpreterBackend: Backend {
    fn relaxed_execute(
        inputs: FloatTensor<Self>,
        op_probs: FloatTensor<Self>,
        left_probs: FloatTensor<Self>,
        right_probs: FloatTensor<Self>,
        semantics: Vec<Semantics>,
    ) -> FloatTensor<Self>;
}

/// True when `tensor` lives on the flex (CPU) backend, where the fused kernels (this one and
/// the parts' occupancy) run.
pub fn is_available(tensor: &Tensor<3>) -> bool {
    matches!(
        tensor.device().inner().as_dispatch(),
        DispatchDevice::Flex(_)
    )
}

/// The fused interpreter on burn tensors; see [`super::execute`].
pub fn execute(inputs: Tensor<3>, arch: &Architecture, semantics: &[Semantics]) -> Tensor<2> {
    use burn::backend::Dispatch;
    let output = Dispatch::relaxed_execute(
        inputs.into_dispatch(),
        arch.op_probs.clone().into_dispatch(),
        arch.left_probs.clone().into_dispatch(),
        arch.right_probs.clone().into_dispatch(),
        semantics.to_vec(),
    );
    Tensor::<2>::from_dispatch(output)
}

/// The operands as contiguous f32 flex tensors, plus the sizes the kernel needs.
#[derive(Debug)]
struct Call {
    inputs: FlexTensor,
    op_probs: FlexTensor,
    left_probs: FlexTensor,
    right_probs: FlexTensor,
    semantics: Vec<Semantics>,
    dims: fused::Dims,
}

/// `tensor` as a contiguous f32 flex tensor (kernels read plain slices).
pub(crate) fn contiguous_f32(tensor: FlexTensor) -> FlexTensor {
    let tensor = if tensor.dtype() == DType::F32 {
        tensor
    } else {
        FlexTensor::from_data(tensor.into_data().convert::<f32>())
    };
    if tensor.as_slice::<f32>().is_some() {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

pub(crate) fn slice_of(tensor: &FlexTensor) -> &[f32] {
    // `contiguous_f32` made every operand a contiguous f32 tensor.
    tensor.as_slice::<f32>().unwrap_or(&[])
}

impl Call {
    fn new(
        inputs: FlexTensor,
        op_probs: FlexTensor,
        left_probs: FlexTensor,
        right_probs: FlexTensor,
        semantics: Vec<Semantics>,
    ) -> Self {
        let shape = inputs.layout().shape().clone();
        let lines = op_probs.layout().shape()[1];
        let dims = fused::Dims {
            tasks: shape[0],
            inputs: shape[1],
            lines,
            points: shape[2],
        };
        Self {
            inputs: contiguous_f32(inputs),
            op_probs: contiguous_f32(op_probs),
            left_probs: contiguous_f32(left_probs),
            right_probs: contiguous_f32(right_probs),
            semantics,
            dims,
        }
    }

    fn operands(&self) -> fused::Operands<'_> {
        fused::Operands {
            dims: self.dims,
            semantics: &self.semantics,
            inputs: slice_of(&self.inputs),
            op_weights: slice_of(&self.op_probs),
            left_weights: slice_of(&self.left_probs),
            right_weights: slice_of(&self.right_probs),
        }
    }

    fn output_tensor(&self, output: Vec<f32>) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(output, [self.dims.tasks, self.dims.points]))
    }
}

/// `values` shaped like `like`.
pub(crate) fn flex_tensor(values: Vec<f32>, like: &FlexTensor) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, like.layout().shape().clone()))
}

impl RelaxedInterpreterBackend for Flex {
    fn relaxed_execute(
        inputs: FlexTensor,
        op_probs: FlexTensor,
        left_probs: FlexTensor,
        right_probs: FlexTensor,
        semantics: Vec<Semantics>,
    ) -> FlexTensor {
        let call = Call::new(inputs, op_probs, left_probs, right_probs, semantics);
        let (output, _) = fused::forward(&call.operands());
        call.output_tensor(output)
    }
}

#[derive(Debug)]
struct RelaxedBackward;

#[derive(Debug, Clone)]
struct RelaxedState {
    call: Arc<Call>,
    saved: Arc<fused::Saved>,
}

impl Backward<Flex, 4> for RelaxedBackward {
    type State = RelaxedState;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let state = ops.state;
        let grad_output = contiguous_f32(grads.consume::<Flex>(&ops.node));
        let computed =
            fused::backward(&state.call.operands(), &state.saved, slice_of(&grad_output));
        let [inputs, op_probs, left_probs, right_probs] = ops.parents;
        let call = &state.call;
        for (parent, values, like) in [
            (inputs, computed.inputs, &call.inputs),
            (op_probs, computed.op_weights, &call.op_probs),
            (left_probs, computed.left_weights, &call.left_probs),
            (right_probs, computed.right_weights, &call.right_probs),
        ] {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, flex_tensor(values, like));
            }
        }
    }
}

impl<C: CheckpointStrategy> RelaxedInterpreterBackend for Autodiff<Flex, C> {
    fn relaxed_execute(
        inputs: FloatTensor<Self>,
        op_probs: FloatTensor<Self>,
        left_probs: FloatTensor<Self>,
        right_probs: FloatTensor<Self>,
        semantics: Vec<Semantics>,
    ) -> FloatTensor<Self> {
        let nodes = [
            inputs.node(),
            op_probs.node(),
            left_probs.node(),
            right_probs.node(),
        ];
        let call = Call::new(
            inputs.into_primitive(),
            op_probs.into_primitive(),
            left_probs.into_primitive(),
            right_probs.into_primitive(),
            semantics,
        );
        match RelaxedBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (output, saved) = fused::forward(&call.operands());
                let output = call.output_tensor(output);
                let state = RelaxedState {
                    call: Arc::new(call),
                    saved: Arc::new(saved),
                };
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => {
                let (output, _) = fused::forward(&call.operands());
                prep.finish(call.output_tensor(output))
            }
        }
    }
}
