//! Registers the fused parts kernel ([`super::parts_kernel`]) with burn as a backend
//! extension of the flex (CPU) backend, with its hand-written backward pass.

use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops},
};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension, tensor::FloatTensor};
use burn::tensor::{Tensor, TensorData};

use super::parts_kernel::{self, PartDims, PartOperands};
pub(super) use crate::relaxed::flex::is_available;
use crate::relaxed::flex::{
    FusedCall, FusedState, autodiff_op, contiguous_f32, register_gradients, slice_of,
};

#[backend_extension(Flex, Autodiff)]
pub trait PartsBackend: Backend {
    fn parts_occupancy(
        points: FloatTensor<Self>,
        translation: FloatTensor<Self>,
        linear: FloatTensor<Self>,
        surfaces: FloatTensor<Self>,
        warps: FloatTensor<Self>,
        sharpness: f32,
    ) -> FloatTensor<Self>;
}

/// `points [T, M, D]` → occupancies `[T, P, M]`; see [`super::parts::PartTensors::occupancy`].
pub fn occupancy(
    points: Tensor<3>,
    translation: Tensor<3>,
    linear: Tensor<4>,
    surfaces: Tensor<3>,
    warps: Tensor<3>,
    sharpness: f64,
) -> Tensor<3> {
    use burn::backend::Dispatch;
    let output = Dispatch::parts_occupancy(
        points.into_dispatch(),
        translation.into_dispatch(),
        linear.into_dispatch(),
        surfaces.into_dispatch(),
        warps.into_dispatch(),
        sharpness as f32,
    );
    Tensor::<3>::from_dispatch(output)
}

#[derive(Debug)]
struct Call {
    points: FlexTensor,
    translation: FlexTensor,
    linear: FlexTensor,
    surfaces: FlexTensor,
    warps: FlexTensor,
    sharpness: f32,
    dims: PartDims,
}

impl Call {
    fn new(
        points: FlexTensor,
        translation: FlexTensor,
        linear: FlexTensor,
        surfaces: FlexTensor,
        warps: FlexTensor,
        sharpness: f32,
    ) -> Self {
        let point_shape = points.layout().shape().clone();
        let part_shape = translation.layout().shape().clone();
        let dims = PartDims {
            tasks: point_shape[0],
            points: point_shape[1],
            dim: point_shape[2],
            parts: part_shape[1],
        };
        Self {
            points: contiguous_f32(points),
            translation: contiguous_f32(translation),
            linear: contiguous_f32(linear),
            surfaces: contiguous_f32(surfaces),
            warps: contiguous_f32(warps),
            sharpness,
            dims,
        }
    }

    fn operands(&self) -> PartOperands<'_> {
        PartOperands {
            dims: self.dims,
            sharpness: self.sharpness,
            points: slice_of(&self.points),
            translation: slice_of(&self.translation),
            linear: slice_of(&self.linear),
            surfaces: slice_of(&self.surfaces),
            warps: slice_of(&self.warps),
        }
    }

    fn output_tensor(&self, output: Vec<f32>) -> FlexTensor {
        let PartDims {
            tasks,
            parts,
            points,
            ..
        } = self.dims;
        FlexTensor::from_data(TensorData::new(output, [tasks, parts, points]))
    }
}

impl FusedCall for Call {
    /// The occupancies themselves: the backward pass reads them.
    type Saved = Vec<f32>;

    fn forward(&self) -> (FlexTensor, Vec<f32>) {
        let values = parts_kernel::forward(&self.operands());
        (self.output_tensor(values.clone()), values)
    }
}

impl PartsBackend for Flex {
    fn parts_occupancy(
        points: FlexTensor,
        translation: FlexTensor,
        linear: FlexTensor,
        surfaces: FlexTensor,
        warps: FlexTensor,
        sharpness: f32,
    ) -> FlexTensor {
        let call = Call::new(points, translation, linear, surfaces, warps, sharpness);
        call.output_tensor(parts_kernel::forward(&call.operands()))
    }
}

#[derive(Debug)]
struct PartsBackward;

impl Backward<Flex, 5> for PartsBackward {
    type State = FusedState<Call>;

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
        let FusedState { call, saved } = ops.state;
        let grad_output = contiguous_f32(grads.consume::<Flex>(&ops.node));
        let computed = parts_kernel::backward(
            &call.operands(),
            &saved,
            slice_of(&grad_output),
            ops.parents[0].is_some(),
        );
        register_gradients(
            grads,
            ops.parents.map(|p| p.map(|node| node.id)),
            [
                (computed.points, &call.points),
                (computed.translation, &call.translation),
                (computed.linear, &call.linear),
                (computed.surfaces, &call.surfaces),
                (computed.warps, &call.warps),
            ],
        );
    }
}

impl<C: CheckpointStrategy> PartsBackend for Autodiff<Flex, C> {
    fn parts_occupancy(
        points: FloatTensor<Self>,
        translation: FloatTensor<Self>,
        linear: FloatTensor<Self>,
        surfaces: FloatTensor<Self>,
        warps: FloatTensor<Self>,
        sharpness: f32,
    ) -> FloatTensor<Self> {
        let nodes = [
            points.node(),
            translation.node(),
            linear.node(),
            surfaces.node(),
            warps.node(),
        ];
        let call = Call::new(
            points.into_primitive(),
            translation.into_primitive(),
            linear.into_primitive(),
            surfaces.into_primitive(),
            warps.into_primitive(),
            sharpness,
        );
        autodiff_op::<C, _, _, 5>(PartsBackward, nodes, call)
    }
}
