//! The differentiable program-length penalty (paper §3, "Regularizing program length").

use burn::tensor::Tensor;

use super::Architecture;
use crate::dsl::{OpSet, Semantics};

/// Expected program length under α, per task `[T]`, in time linear in the size of α.
///
/// One backward pass from the output line computes, for every line, its expected number of
/// uses `u` (the expected number of paths from the output to it: the probability that it is
/// reached, counting each route once):
/// `u(out) = 1`, `u(j) = Σ_{l > j} u(l) · (α^L_lj + P(op_l is binary) · α^R_lj)`.
/// The length is `Σ_l u(l) · (1 − α^O_l,skip)`. This is exactly the expected
/// [`Program::tree_size`](crate::dsl::Program::tree_size) — the number of non-skip lines of
/// the program written as an expression tree — because the choices of different lines are
/// independent. It equals the expected count of live non-skip lines when no value is used
/// twice and bounds it from above otherwise, so penalising it shortens programs.
pub fn expected_length(arch: &Architecture, ops: &OpSet) -> Tensor<1> {
    let [tasks, lines, op_count] = arch.op_probs.dims();
    let inputs = arch.inputs;
    let width = inputs + lines;
    let device = arch.op_probs.device();
    let mask = |pick: fn(Semantics) -> bool| {
        let column: Vec<f32> = ops
            .semantics()
            .into_iter()
            .map(|s| if pick(s) { 1.0 } else { 0.0 })
            .collect();
        Tensor::<1>::from_floats(column.as_slice(), &device).reshape([1, 1, op_count])
    };
    // [T, L]: probability that line l is binary / not a skip.
    let binary = (arch.op_probs.clone() * mask(|s| s.arity() == 2))
        .sum_dim(2)
        .squeeze_dim::<2>(2);
    let counted = (arch.op_probs.clone() * mask(|s| s != Semantics::Skip))
        .sum_dim(2)
        .squeeze_dim::<2>(2);
    let code_left = arch
        .left_probs
        .clone()
        .slice([0..tasks, 0..lines, inputs..width]);
    let code_right = arch
        .right_probs
        .clone()
        .slice([0..tasks, 0..lines, inputs..width]);
    // Expected uses of every code line, filled from the output backwards.
    let mut pending = Tensor::<2>::zeros([tasks, lines], &device);
    let mut length = Tensor::<1>::zeros([tasks], &device);
    for line in (0..lines).rev() {
        let uses = if line + 1 == lines {
            Tensor::<2>::ones([tasks, 1], &device)
        } else {
            pending.clone().slice([0..tasks, line..line + 1])
        }; // [T, 1]
        let counted_here = counted.clone().slice([0..tasks, line..line + 1]);
        length = length + (uses.clone() * counted_here).squeeze_dim::<1>(1);
        let binary_here = binary.clone().slice([0..tasks, line..line + 1]);
        let left = code_left
            .clone()
            .slice([0..tasks, line..line + 1, 0..lines])
            .squeeze_dim::<2>(1);
        let right = code_right
            .clone()
            .slice([0..tasks, line..line + 1, 0..lines])
            .squeeze_dim::<2>(1);
        pending = pending + uses * (left + right * binary_here);
    }
    length
}
