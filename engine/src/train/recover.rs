//! Program recovery from input/output examples with free (per-task) architecture logits:
//! the engine's end-to-end check that relaxation, overparametrization, the length penalty
//! and min-sampling find a hidden program. Domains replace the free logits with an
//! amortised policy and the fixed inputs with learned neural parts.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use serde::Serialize;

use super::{EventSink, Schedule, StepReport, TemperatureSchedule, TrainEvent};
use crate::dsl::{DslError, Program};
use crate::relaxed::{self, ArchitectureLogits, Relaxation};

/// Settings of [`recover`].
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RecoverConfig {
    /// Code lines of the sketch (overparametrization: well above the hidden program's).
    pub lines: usize,
    pub steps: usize,
    /// Input points the loss sees each step.
    pub points: usize,
    pub learning_rate: f64,
    pub temperature: TemperatureSchedule,
    /// λ: weight of the expected length from halfway through training.
    pub length_penalty: f64,
    /// Min-sampling: architectures drawn per step; the lowest loss is optimised.
    pub samples: usize,
    /// Use Gumbel noise; `false` is the paper's "w/o gumbel-softmax" ablation.
    pub gumbel: bool,
    pub seed: u64,
}

impl Default for RecoverConfig {
    fn default() -> Self {
        Self {
            lines: 12,
            steps: 600,
            points: 512,
            learning_rate: 0.1,
            temperature: TemperatureSchedule::Exponential { start: 2.0, end: 0.2 },
            length_penalty: 1e-3,
            samples: 4,
            gumbel: true,
            seed: 0,
        }
    }
}

/// The free parameters: one set of architecture logits.
#[derive(Module, Debug)]
struct FreeLogits {
    op: Param<Tensor<3>>,
    left: Param<Tensor<3>>,
    right: Param<Tensor<3>>,
}

/// What [`recover`] found.
#[derive(Clone, Debug, Serialize)]
pub struct RecoverOutcome {
    /// The most likely program, simplified.
    #[serde(serialize_with = "as_text")]
    pub program: Program,
    /// Mean squared error of that discrete program against the hidden one on fresh points.
    pub test_mse: f64,
    /// Whether the two agree (within 1e-5) on every fresh point.
    pub equivalent: bool,
    /// Live non-skip lines of the found program.
    pub length: usize,
    pub hidden_length: usize,
    pub final_loss: f64,
}

fn as_text<S: serde::Serializer>(program: &Program, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&program.to_string())
}

/// Inputs uniform in [0, 1], one row per input line: `[V, N]` as a flat vector.
fn random_inputs(inputs: usize, points: usize, device: &Device) -> Vec<f32> {
    Tensor::<2>::random([inputs, points], Distribution::Uniform(0.0, 1.0), device)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

fn exact_outputs(program: &Program, inputs: &[f32], points: usize) -> Result<Vec<f32>, DslError> {
    let v = program.inputs();
    (0..points)
        .map(|n| {
            let point: Vec<f32> = (0..v).map(|i| inputs[i * points + n]).collect();
            program.eval(&point)
        })
        .collect()
}

/// Fits a soft program to examples of `hidden` and returns the discrete program it settles on.
///
/// `device` must have autodiff enabled.
///
/// # Errors
/// If the hidden program cannot be evaluated (it always can once parsed).
pub fn recover(
    hidden: &Program,
    config: &RecoverConfig,
    device: &Device,
    sink: &mut dyn EventSink,
) -> Result<RecoverOutcome, DslError> {
    device.seed(config.seed);
    let ops = hidden.ops().clone();
    let v = hidden.inputs();
    let (lines, points, k) = (config.lines.max(1), config.points.max(1), config.samples.max(1));
    let schedule = Schedule {
        total_steps: config.steps,
        temperature: config.temperature.clone(),
        length_penalty: config.length_penalty,
    };
    let init = ArchitectureLogits::random(1, v, lines, ops.len(), 0.1, device);
    let mut model = FreeLogits {
        op: Param::from_tensor(init.op_logits),
        left: Param::from_tensor(init.left_logits),
        right: Param::from_tensor(init.right_logits),
    };
    let mut optimizer = AdamConfig::new().with_epsilon(1e-5).init();
    let logits_of = |model: &FreeLogits| ArchitectureLogits {
        op_logits: model.op.val(),
        left_logits: model.left.val(),
        right_logits: model.right.val(),
        inputs: v,
    };
    let mut final_loss = f64::NAN;
    for step in 0..config.steps {
        let temperature = schedule.temperature(step);
        let relaxation = if config.gumbel {
            Relaxation::GumbelSoftmax { temperature }
        } else {
            Relaxation::Softmax { temperature }
        };
        let inputs = random_inputs(v, points, device);
        let targets = exact_outputs(hidden, &inputs, points)?;
        let inputs = Tensor::<3>::from_data(TensorData::new(inputs, [1, v, points]), device);
        let targets = Tensor::<2>::from_data(TensorData::new(targets, [1, points]), device);
        let logits = logits_of(&model);
        let arch = logits.relax_k(relaxation, k);
        let outputs = relaxed::execute(relaxed::repeat_tasks(inputs, k), &arch, &ops); // [k, N]
        let per_sample = (outputs - targets).powi_scalar(2).mean_dim(1).squeeze_dim::<1>(1); // [k]
        // Min-sampling: optimise the best draw.
        let fit = per_sample.min();
        let expected_length = relaxed::expected_length(&logits.probabilities(), &ops);
        let length_weight = schedule.length_weight(step);
        let loss = fit.clone() + expected_length.clone() * length_weight;
        let loss_value = scalar(&loss);
        final_loss = loss_value;
        sink.event(TrainEvent::Step(StepReport {
            step,
            total_steps: config.steps,
            loss: loss_value,
            fit_loss: scalar(&fit),
            temperature,
            length_weight,
            expected_length: scalar(&expected_length),
        }));
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.learning_rate, model, grads);
    }

    let found = logits_of(&model)
        .probabilities()
        .discretize(&ops)?
        .into_iter()
        .next()
        .ok_or_else(|| DslError::Invalid("no program was discretized".into()))?
        .simplify();
    sink.event(TrainEvent::Program {
        step: config.steps,
        text: found.to_string(),
    });
    let test_points = 4096;
    let inputs = random_inputs(v, test_points, device);
    let expected = exact_outputs(hidden, &inputs, test_points)?;
    let got = exact_outputs(&found, &inputs, test_points)?;
    let test_mse = expected
        .iter()
        .zip(&got)
        .map(|(e, g)| f64::from(e - g).powi(2))
        .sum::<f64>()
        / test_points as f64;
    let equivalent = expected.iter().zip(&got).all(|(e, g)| (e - g).abs() <= 1e-5);
    Ok(RecoverOutcome {
        length: found.length(),
        hidden_length: hidden.length(),
        program: found,
        test_mse,
        equivalent,
        final_loss,
    })
}

fn scalar(tensor: &Tensor<1>) -> f64 {
    tensor
        .to_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(f64::NAN)
}
