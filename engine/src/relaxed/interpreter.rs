//! The differentiable interpreter (paper Fig. 9): a dynamic program over lines that
//! memoises each line's soft value,
//! `value(l) = Σ_o α^O_lo · F_o(Σ_a α^L_la · value(a), Σ_b α^R_lb · value(b))`.

use burn::tensor::Tensor;

use super::{Architecture, fused_op};
use crate::dsl::{OpSet, Semantics};

/// Runs the soft program of every task on its input lines and returns the output line.
///
/// # Shapes
/// `inputs [T, V, N]` (V input lines, N values each: examples or query points) → `[T, N]`.
///
/// On the CPU backend this is one fused kernel with a hand-written backward pass; elsewhere
/// (wgpu) it is [`execute_reference`]. Both compute the same function.
pub fn execute(inputs: Tensor<3>, arch: &Architecture, ops: &OpSet) -> Tensor<2> {
    if fused_op::is_available(&inputs) {
        fused_op::execute(inputs, arch, &ops.semantics())
    } else {
        execute_reference(inputs, arch, ops)
    }
}

/// [`execute`] written with burn's stock tensor ops; runs on any backend.
///
/// The input lines' share of every line's arguments is one batched matrix product for the
/// left and right sides together; only the code lines are a recurrence.
pub fn execute_reference(inputs: Tensor<3>, arch: &Architecture, ops: &OpSet) -> Tensor<2> {
    let [tasks, input_lines, points] = inputs.dims();
    let lines = arch.lines();
    let width = input_lines + lines;
    let input_weights = Tensor::cat(
        vec![
            arch.left_probs
                .clone()
                .slice([0..tasks, 0..lines, 0..input_lines]),
            arch.right_probs
                .clone()
                .slice([0..tasks, 0..lines, 0..input_lines]),
        ],
        1,
    ); // [T, 2L, V]
    let input_share = input_weights.matmul(inputs); // [T, 2L, N]
    let code_left = arch
        .left_probs
        .clone()
        .slice([0..tasks, 0..lines, input_lines..width]);
    let code_right = arch
        .right_probs
        .clone()
        .slice([0..tasks, 0..lines, input_lines..width]);
    let semantics = ops.semantics();
    let mut values: Vec<Tensor<3>> = Vec::with_capacity(lines); // each [T, 1, N]
    for line in 0..lines {
        let mut left = input_share
            .clone()
            .slice([0..tasks, line..line + 1, 0..points]);
        let mut right =
            input_share
                .clone()
                .slice([0..tasks, lines + line..lines + line + 1, 0..points]);
        if line > 0 {
            let earlier = Tensor::cat(values.clone(), 1); // [T, line, N]
            let wl = code_left.clone().slice([0..tasks, line..line + 1, 0..line]);
            let wr = code_right
                .clone()
                .slice([0..tasks, line..line + 1, 0..line]);
            left = left + wl.matmul(earlier.clone());
            right = right + wr.matmul(earlier);
        }
        let probs = arch
            .op_probs
            .clone()
            .slice([0..tasks, line..line + 1, 0..semantics.len()]);
        let mut value: Option<Tensor<3>> = None;
        for (o, &s) in semantics.iter().enumerate() {
            let p = probs.clone().slice([0..tasks, 0..1, o..o + 1]); // [T, 1, 1]
            let term = p * apply(s, left.clone(), right.clone());
            value = Some(match value {
                Some(v) => v + term,
                None => term,
            });
        }
        values.push(value.unwrap_or_else(|| left.zeros_like()));
    }
    let last = values
        .pop()
        .unwrap_or_else(|| Tensor::zeros([tasks, 1, points], &input_share.device()));
    last.squeeze_dim::<2>(1)
}

/// One operator on soft argument values, as tensors.
pub fn apply<const D: usize>(semantics: Semantics, a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    match semantics {
        Semantics::Add => a + b,
        Semantics::Sub => a - b,
        Semantics::Mul => a * b,
        Semantics::Max => a.max_pair(b),
        Semantics::Min => a.min_pair(b),
        Semantics::Difference => (a - b).clamp_min(0.0),
        Semantics::Skip => a,
    }
}
