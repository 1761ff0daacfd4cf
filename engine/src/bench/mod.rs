//! Benchmarks that print one JSON line per configuration (`roap bench ...`).

pub mod synth_suite;

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use serde::Serialize;

use crate::dsl::OpSet;
use crate::relaxed::{self, ArchitectureLogits};

/// Which implementation of the relaxed interpreter to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Implementation {
    /// [`relaxed::execute`]: the fused kernel on the CPU backend, stock ops elsewhere.
    Default,
    /// [`relaxed::execute_reference`]: burn's stock tensor ops everywhere.
    Reference,
}

#[derive(Clone, Copy, Debug)]
pub struct RelaxedExecConfig {
    pub tasks: usize,
    pub inputs: usize,
    pub lines: usize,
    pub points: usize,
    pub warmup: usize,
    pub iterations: usize,
    pub implementation: Implementation,
    pub seed: u64,
}

/// One result line.
#[derive(Clone, Debug, Serialize)]
pub struct RelaxedExecResult {
    pub bench: &'static str,
    pub device: &'static str,
    pub implementation: Implementation,
    pub tasks: usize,
    pub inputs: usize,
    pub lines: usize,
    pub points: usize,
    pub iterations: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

/// Forward + backward of the relaxed interpreter on the CSG workload: random input
/// fields in [0, 1] `[T, V, N]`; α = softmax of random logits over {union, intersection,
/// difference, skip} and over all earlier lines; loss = MSE of the output line against a
/// random 0/1 target; gradients with respect to the inputs and all three logit tensors.
///
/// `device` must have autodiff enabled.
pub fn relaxed_exec(
    config: &RelaxedExecConfig,
    device: &Device,
    device_name: &'static str,
) -> RelaxedExecResult {
    device.seed(config.seed);
    let ops = OpSet::csg();
    let (t, v, l, n) = (config.tasks, config.inputs, config.lines, config.points);
    let inputs = Tensor::<3>::random([t, v, n], Distribution::Uniform(0.0, 1.0), device);
    let target = Tensor::<2>::random([t, n], Distribution::Bernoulli(0.5), device);
    let logits = ArchitectureLogits::random(t, v, l, ops.len(), 1.0, device);
    let mut times_ms = Vec::with_capacity(config.iterations);
    for iteration in 0..config.warmup + config.iterations {
        let inputs = inputs.clone().require_grad();
        let logits = ArchitectureLogits {
            op_logits: logits.op_logits.clone().require_grad(),
            left_logits: logits.left_logits.clone().require_grad(),
            right_logits: logits.right_logits.clone().require_grad(),
            inputs: v,
        };
        let start = Instant::now();
        let arch = logits.probabilities();
        let output = match config.implementation {
            Implementation::Default => relaxed::execute(inputs.clone(), &arch, &ops),
            Implementation::Reference => relaxed::execute_reference(inputs.clone(), &arch, &ops),
        };
        let loss = (output - target.clone()).powi_scalar(2).mean();
        let grads = loss.backward();
        let all_present = inputs.grad(&grads).is_some()
            && logits.op_logits.grad(&grads).is_some()
            && logits.left_logits.grad(&grads).is_some()
            && logits.right_logits.grad(&grads).is_some();
        // Wait for every queued kernel (wgpu is asynchronous; the CPU backend is not).
        let _ = device.sync();
        let elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
        assert!(all_present, "benchmark lost a gradient");
        if iteration >= config.warmup {
            times_ms.push(elapsed_ms);
        }
    }
    times_ms.sort_by(f64::total_cmp);
    RelaxedExecResult {
        bench: "relaxed-exec",
        device: device_name,
        implementation: config.implementation,
        tasks: t,
        inputs: v,
        lines: l,
        points: n,
        iterations: config.iterations,
        median_ms: median(&times_ms),
        min_ms: times_ms.first().copied().unwrap_or(f64::NAN),
        max_ms: times_ms.last().copied().unwrap_or(f64::NAN),
    }
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        len if len % 2 == 1 => sorted[len / 2],
        len => 0.5 * (sorted[len / 2 - 1] + sorted[len / 2]),
    }
}
