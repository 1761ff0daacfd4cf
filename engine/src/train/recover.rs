//! Program recovery from input/output examples with free (per-task) architecture logits:
//! the engine's end-to-end check that relaxation, overparametrization, the length penalty
//! and min-sampling find a hidden program. Domains replace the free logits with an
//! amortised policy and the fixed inputs with learned neural parts.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use serde::Serialize;

use super::{EventSink, Schedule, StepReport, TemperatureSchedule, TrainEvent, scalar};
use crate::dsl::{DslError, Program};
use crate::relaxed::{self, ArchitectureLogits, LogitParams, Relaxation};

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
    /// Independent searches run side by side as separate tasks of one batch; the best
    /// program over all of them is returned.
    pub restarts: usize,
    /// Min-sampling while training: architectures drawn per step; the lowest loss is optimised.
    pub samples: usize,
    /// Min-sampling at the end: discrete programs drawn from the final policy (besides its
    /// most likely one); the one with the lowest loss on the examples is returned.
    pub final_samples: usize,
    /// Use Gumbel noise; `false` is the paper's "w/o gumbel-softmax" ablation.
    pub gumbel: bool,
    pub seed: u64,
}

impl Default for RecoverConfig {
    fn default() -> Self {
        Self {
            lines: 20,
            steps: 1500,
            points: 512,
            learning_rate: 0.1,
            temperature: TemperatureSchedule::Exponential {
                start: 1.0,
                end: 0.05,
            },
            length_penalty: 1e-3,
            restarts: 4,
            samples: 4,
            final_samples: 64,
            gumbel: true,
            seed: 0,
        }
    }
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
/// Any device: gradients are taken on its autodiff form.
///
/// # Errors
/// If the hidden program cannot be evaluated (it always can once parsed).
pub fn recover(
    hidden: &Program,
    config: &RecoverConfig,
    device: &Device,
    sink: &mut dyn EventSink,
) -> Result<RecoverOutcome, DslError> {
    let device = &device.clone().autodiff();
    device.seed(config.seed);
    let ops = hidden.ops().clone();
    let v = hidden.inputs();
    let (lines, points) = (config.lines.max(1), config.points.max(1));
    let (restarts, k) = (config.restarts.max(1), config.samples.max(1));
    let schedule = Schedule {
        total_steps: config.steps,
        temperature: config.temperature.clone(),
        length_penalty: config.length_penalty,
    };
    let init = ArchitectureLogits::random(restarts, v, lines, ops.len(), 0.1, device);
    let mut model = LogitParams::new(init);
    let mut optimizer = crate::train::adam().init();
    let mut final_loss = f64::NAN;
    for step in 0..config.steps {
        let temperature = schedule.temperature(step);
        let relaxation = Relaxation::annealed(config.gumbel, temperature);
        let inputs = random_inputs(v, points, device);
        let targets = exact_outputs(hidden, &inputs, points)?;
        let inputs = Tensor::<3>::from_data(TensorData::new(inputs, [1, v, points]), device);
        let targets = Tensor::<2>::from_data(TensorData::new(targets, [1, points]), device);
        let logits = model.logits();
        let arch = logits.relax_k(relaxation, k);
        let inputs = relaxed::repeat_tasks(inputs, restarts * k);
        let outputs = relaxed::execute(inputs, &arch, &ops); // [R·k, N]
        let per_draw = (outputs - targets)
            .powi_scalar(2)
            .mean_dim(1)
            .reshape([restarts, k]);
        // Min-sampling: each restart optimises its best draw.
        let fit = per_draw.min_dim(1).squeeze_dim::<1>(1); // [R]
        let expected_length = relaxed::expected_length(&logits.probabilities(), &ops); // [R]
        let length_weight = schedule.length_weight(step);
        // Restarts are independent, so summing their losses optimises each on its own.
        let loss = (fit.clone() + expected_length.clone() * length_weight).sum();
        let loss_value = scalar(&loss);
        final_loss = loss_value;
        sink.event(TrainEvent::Step(StepReport {
            step,
            total_steps: config.steps,
            loss: loss_value,
            fit_loss: scalar(&fit.min()),
            temperature,
            length_weight,
            expected_length: scalar(&expected_length.mean()),
        }));
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.learning_rate, model, grads);
    }

    let found = min_sample(hidden, &model.logits(), config.final_samples, device)?;
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
    let equivalent = expected
        .iter()
        .zip(&got)
        .all(|(e, g)| (e - g).abs() <= 1e-5);
    Ok(RecoverOutcome {
        length: found.length(),
        hidden_length: hidden.length(),
        program: found,
        test_mse,
        equivalent,
        final_loss,
    })
}

/// The policy's most likely program and `samples` programs drawn from it (the Gumbel-max
/// trick gives exact categorical draws), each simplified; returns the one with the lowest
/// squared error on fresh examples, the shorter one on ties.
fn min_sample(
    hidden: &Program,
    logits: &ArchitectureLogits,
    samples: usize,
    device: &Device,
) -> Result<Program, DslError> {
    let ops = hidden.ops();
    // The most likely program of every restart, then draws from every restart.
    let mut candidates = logits.probabilities().discretize(ops)?;
    if samples > 0 {
        let draws = logits.relax_k(Relaxation::GumbelSoftmax { temperature: 1.0 }, samples);
        candidates.extend(draws.discretize(ops)?);
    }
    let points = 512;
    let inputs = random_inputs(hidden.inputs(), points, device);
    let targets = exact_outputs(hidden, &inputs, points)?;
    let mut best: Option<(f64, usize, Program)> = None;
    for candidate in candidates {
        let candidate = candidate.simplify();
        let outputs = exact_outputs(&candidate, &inputs, points)?;
        let error: f64 = targets
            .iter()
            .zip(&outputs)
            .map(|(t, o)| f64::from(t - o).powi(2))
            .sum::<f64>();
        let key = (error, candidate.length());
        if best.as_ref().is_none_or(|(e, l, _)| key < (*e, *l)) {
            best = Some((key.0, key.1, candidate));
        }
    }
    best.map(|(_, _, program)| program)
        .ok_or_else(|| DslError::Invalid("no program was discretized".into()))
}
