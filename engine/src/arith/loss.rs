//! The training objective: min-sampling fit over relaxed programs, the score-function
//! estimator, and per-task weights.

use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;

use super::tasks::{Example, Task, VARIABLES};
use crate::dsl::Program;
use crate::relaxed::{
    Architecture, Relaxation, causal_mask, execute, expected_length, repeat_rows, repeat_tasks,
};

/// Min-sampling (paper §3): `k` relaxed programs per task (`draws`, task-major) run on its
/// examples; each task keeps its best draw's weighted squared error. Returns the mean of
/// those and the draws' mean expected length (for the length penalty).
///
/// # Shapes
/// `draws` of T · k programs, `values [T, V, N]`, `y [T, N]`, `weights [T]`.
pub(super) fn min_sampling_fit(
    draws: &Architecture,
    k: usize,
    values: Tensor<3>,
    y: Tensor<2>,
    weights: Tensor<1>,
    ops: &crate::dsl::OpSet,
) -> (Tensor<1>, Tensor<1>) {
    let tasks = y.dims()[0];
    let prediction = execute(repeat_tasks(values, k), draws, ops); // [T·k, N]
    let per_draw = (prediction - repeat_rows(y, k))
        .powi_scalar(2)
        .mean_dim(1)
        .reshape([tasks, k])
        * weights.unsqueeze_dim::<2>(1);
    let fit = per_draw.min_dim(1).mean();
    (fit, expected_length(draws, ops).mean())
}

/// Each task's squared error is divided by the spread of its outputs (plus a floor), so
/// that `a · b · c`, whose values are small, pulls on the CNN and the policy as hard as
/// `a + b` does. Plain MSE let products of three digits / 10 (variance ~0.015 against
/// ~0.17 for sums) be fitted by a constant.
pub(super) fn task_weight(task: &Task) -> f32 {
    let n = task.train.len().max(1) as f32;
    let mean = task.train.iter().map(|e| e.output).sum::<f32>() / n;
    let variance = task
        .train
        .iter()
        .map(|e| (e.output - mean).powi(2))
        .sum::<f32>()
        / n;
    1.0 / (variance + VARIANCE_FLOOR)
}

/// Keeps constant equations (`b − b`) from weighing without bound.
const VARIANCE_FLOOR: f32 = 0.01;

/// The score-function estimator: `k` discrete programs per task drawn from the policy
/// (Gumbel-max), run exactly; the policy moves along `(loss − mean loss) ∇ log p`, the CNN
/// along the sampled programs' loss. Returns the surrogate and the mean loss.
pub(super) fn reinforce_loss(
    logits: &crate::relaxed::ArchitectureLogits,
    values: Tensor<3>,
    y: Tensor<2>,
    weights: Tensor<1>,
    k: usize,
    ops: &crate::dsl::OpSet,
) -> (Tensor<1>, Tensor<1>) {
    let [tasks, lines, _] = logits.op_logits.dims();
    let device = logits.op_logits.device();
    // Straight-through at temperature 1: the forward value is a Gumbel-max sample.
    let sample = logits.relax_k(Relaxation::StraightThrough { temperature: 1.0 }, k);
    let one_hot = crate::relaxed::Architecture {
        op_probs: sample.op_probs.detach(),
        left_probs: sample.left_probs.detach(),
        right_probs: sample.right_probs.detach(),
        inputs: sample.inputs,
    };
    let prediction = execute(repeat_tasks(values, k), &one_hot, ops);
    let per_sample = (prediction - repeat_rows(y, k)).powi_scalar(2).mean_dim(1)
        * repeat_rows(weights.unsqueeze_dim::<2>(1), k); // [T·k, 1]
    let width = VARIABLES + lines;
    let mask = causal_mask(VARIABLES, lines, &device)
        .unsqueeze_dim::<3>(0)
        .expand([tasks * k, lines, width]);
    let log_p = |logits: Tensor<3>, chosen: Tensor<3>, masked: bool| {
        let logits = if masked {
            logits.mask_fill(mask.clone(), -1.0e9)
        } else {
            logits
        };
        (log_softmax(logits, 2) * chosen)
            .sum_dim(2)
            .sum_dim(1)
            .reshape([tasks * k])
    };
    let log_prob = log_p(
        repeat_tasks(logits.op_logits.clone(), k),
        one_hot.op_probs,
        false,
    ) + log_p(
        repeat_tasks(logits.left_logits.clone(), k),
        one_hot.left_probs,
        true,
    ) + log_p(
        repeat_tasks(logits.right_logits.clone(), k),
        one_hot.right_probs,
        true,
    );
    let losses = per_sample.clone().reshape([tasks, k]).detach();
    let advantage = (losses.clone() - losses.mean_dim(1)).reshape([tasks * k]);
    let surrogate = (advantage * log_prob).mean() + per_sample.clone().mean();
    (surrogate, per_sample.mean())
}

pub(super) fn program_loss(
    program: &Program,
    values: &[[f32; VARIABLES]],
    examples: &[Example],
) -> f64 {
    let total: f64 = values
        .iter()
        .zip(examples)
        .map(|(x, e)| {
            let p = program.eval(x).unwrap_or(f32::NAN);
            f64::from(p - e.output).powi(2)
        })
        .sum();
    let mean = total / values.len().max(1) as f64;
    if mean.is_finite() { mean } else { f64::MAX }
}
