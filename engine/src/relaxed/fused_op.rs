//! Registers the fused CPU kernel ([`super::fused`]) with burn as a backend extension of the
//! flex backend, with its hand-written backward pass on the autodiff graph.

use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops},
};
use burn::backend::flex::FlexTensor;
use burn::backend::{
    Autodiff, Backend, DispatchDevice, Flex, backend_extension, tensor::FloatTensor,
};
use burn::tensor::{DType, Tensor, TensorData};

use super::fused_autodiff::{FusedCall, FusedState, autodiff_op, register_gradients};
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

impl FusedCall for Call {
    type Saved = fused::Saved;

    fn forward(&self) -> (FlexTensor, fused::Saved) {
        let (output, saved) = fused::forward(&self.operands());
        (self.output_tensor(output), saved)
    }
}

impl RelaxedInterpreterBackend for Flex {
    fn relaxed_execute(
        inputs: FlexTensor,
        op_probs: FlexTensor,
        left_probs: FlexTensor,
        right_probs: FlexTensor,
        semantics: Vec<Semantics>,
    ) -> FlexTensor {
        Call::new(inputs, op_probs, left_probs, right_probs, semantics)
            .forward()
            .0
    }
}

#[derive(Debug)]
struct RelaxedBackward;

impl Backward<Flex, 4> for RelaxedBackward {
    type State = FusedState<Call>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let FusedState { call, saved } = ops.state;
        let grad_output = contiguous_f32(grads.consume::<Flex>(&ops.node));
        let computed = fused::backward(&call.operands(), &saved, slice_of(&grad_output));
        register_gradients(
            grads,
            ops.parents.map(|p| p.map(|node| node.id)),
            [
                (computed.inputs, &call.inputs),
                (computed.op_weights, &call.op_probs),
                (computed.left_weights, &call.left_probs),
                (computed.right_weights, &call.right_probs),
            ],
        );
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
        autodiff_op::<C, _, _, 4>(RelaxedBackward, nodes, call)
    }
}
