//! Amortized training and completion — what makes ROAP ROAP: one policy trained across many
//! shapes (shared network and part library), then a new, possibly cropped, shape completed by
//! one forward pass plus min-sampling of discrete programs on its visible part.

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

use super::parts::Retrieval;
use super::policy::{Baseline, Policy, PolicyConfig, input_batch};
use super::soft::{Draw, ProgramTensors};
use super::{FitLoss, GraphicsProgram, Reconstruction, SynthConfig, Target};
use crate::data::Crop;
use crate::relaxed::Relaxation;
use crate::train::{
    Batcher, EventSink, Fault, NonFiniteGuard, RunControl, Schedule, StepReport, StopReason,
    TemperatureSchedule, TrainEvent, Verdict, scalar,
};

/// Settings of [`train`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub policy: PolicyConfig,
    pub steps: usize,
    /// Shapes per step.
    pub batch_shapes: usize,
    /// Labelled points per shape per step (of 8192 sampled once per shape).
    pub batch_points: usize,
    pub learning_rate: f64,
    pub temperature: TemperatureSchedule,
    pub length_penalty: f64,
    /// Min-sampling while training: the mode and `min_samples − 1` Gumbel draws per shape.
    pub min_samples: usize,
    /// `false`: plain softmax, the paper's "w/o gumbel-softmax" ablation.
    pub gumbel: bool,
    /// The balanced loss of App. B.1.3: each shape's loss is weighted by
    /// `1 − max(1 − cd/threshold, 0)`, `cd` its discrete program's Chamfer (the domain's
    /// unit: ×1000 in 3D, pixels in 2D), refreshed every `balance_every` steps, so shapes
    /// already fitted stop dominating. `None`: every shape weighs 1.
    pub balanced_threshold: Option<f64>,
    pub balance_every: usize,
    pub seed: u64,
    /// A numerical fault to inject (tests of the non-finite rule only).
    #[serde(skip)]
    pub fault: Option<Fault>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            policy: PolicyConfig::default(),
            steps: 1500,
            batch_shapes: 8,
            batch_points: 1024,
            learning_rate: 1e-3,
            temperature: TemperatureSchedule::Exponential {
                start: 1.0,
                end: 0.05,
            },
            length_penalty: 1e-4,
            min_samples: 2,
            gumbel: true,
            balanced_threshold: None,
            balance_every: 250,
            seed: 0,
            fault: None,
        }
    }
}

/// Why training or completion could not run.
#[derive(Debug, thiserror::Error)]
pub enum AmortizedError {
    #[error("no training shapes")]
    NoShapes,
    #[error("every shape must be {0}D, as the policy's sketch")]
    Dimension(usize),
    #[error("the loss was not a number from the first step on: nothing was learned")]
    NonFinite,
    #[error("no discrete program could be drawn")]
    NoProgram,
    #[error(transparent)]
    Program(#[from] crate::dsl::DslError),
}

/// Trains a policy on `shapes`, reporting `Step` events; stops early (keeping what it has)
/// when `control` is cancelled. Any device: gradients are taken on its autodiff form.
///
/// # Errors
/// No shapes, or a loss that is never finite.
pub fn train(
    shapes: &[Target],
    config: &TrainConfig,
    device: &Device,
    sink: &mut dyn EventSink,
    control: &RunControl,
) -> Result<Trained<Policy>, AmortizedError> {
    let device = &device.clone().autodiff();
    let policy = Policy::new(&config.policy, device);
    let k = config.min_samples.max(1);
    let weights = std::cell::RefCell::new(vec![1.0f32; shapes.len()]);
    fit(
        policy,
        shapes,
        config,
        device,
        sink,
        control,
        |policy, batch| {
            let b = batch.labels.dims()[0];
            let n = batch.labels.dims()[1];
            if let Some(threshold) = config.balanced_threshold
                && batch.step % config.balance_every.max(1) == 0
            {
                *weights.borrow_mut() = balance_weights(policy, shapes, config, threshold, device);
            }
            let batch_weights: Vec<f32> = {
                let all = weights.borrow();
                batch.shapes.iter().map(|&s| all[s]).collect()
            };
            let tensors = policy.forward(&config.policy, batch.voxels);
            let relaxation = Relaxation::annealed(config.gumbel, batch.temperature);
            let draw = Draw {
                relaxation,
                retrieval: Retrieval::Soft {
                    temperature: batch.temperature,
                    gumbel: false,
                },
                samples: k,
                include_mode: true,
            };
            let occupancy = tensors
                .evaluate(&config.policy.sketch, &batch.points, draw)
                .occupancy; // [B·k, N]
            let labels = batch
                .labels
                .unsqueeze_dim::<3>(1)
                .expand([b, k, n])
                .reshape([b * k, n]);
            let per_draw = FitLoss::CrossEntropy
                .per_row(occupancy, labels)
                .reshape([b, k]);
            // Min-sampling per shape, then the balanced weights (all 1 unless enabled).
            let weight = Tensor::<2>::from_data(TensorData::new(batch_weights, [b, 1]), device);
            let fit = (per_draw.min_dim(1) * weight).mean();
            let length = tensors.expected_length(batch.temperature).mean();
            (fit, Some(length))
        },
    )
}

/// Trains the "w/o program" baseline on the same data and schedule.
///
/// # Errors
/// No shapes, or a loss that is never finite.
pub fn train_baseline(
    shapes: &[Target],
    config: &TrainConfig,
    device: &Device,
    sink: &mut dyn EventSink,
    control: &RunControl,
) -> Result<Trained<Baseline>, AmortizedError> {
    let baseline = Baseline::new(&config.policy, device);
    fit(
        baseline,
        shapes,
        config,
        device,
        sink,
        control,
        |baseline, batch| {
            let occupancy = baseline.occupancy(batch.voxels, batch.points);
            (
                FitLoss::CrossEntropy
                    .per_row(occupancy, batch.labels)
                    .mean(),
                None,
            )
        },
    )
}

/// One training step's data.
struct Batch {
    /// Indices of the batch's shapes.
    shapes: Vec<usize>,
    step: usize,
    voxels: Tensor<5>,
    points: Tensor<3>,
    labels: Tensor<2>,
    temperature: f64,
}

/// App. B.1.3's weights: `min(cd / threshold, 1)` per shape from its current discrete program.
fn balance_weights(
    policy: &Policy,
    shapes: &[Target],
    config: &TrainConfig,
    threshold: f64,
    device: &Device,
) -> Vec<f32> {
    shapes
        .iter()
        .map(|shape| {
            let input = input_batch(&[shape], config.policy.input_resolution, device);
            let tensors = policy.forward(&config.policy, input).detached();
            let Ok(program) = tensors.discretize(&config.policy.sketch, 0) else {
                return 1.0;
            };
            let (points, _) = shape.query_points(32);
            let reconstruction = shape.rasterise(32, &program.occupancies(&points));
            let cd = shape
                .score(&reconstruction, config.seed)
                .chamfer
                .unwrap_or(f64::INFINITY);
            balanced_weight(cd, threshold) as f32
        })
        .collect()
}

/// `1 − max(1 − cd/threshold, 0)`.
pub fn balanced_weight(cd: f64, threshold: f64) -> f64 {
    1.0 - (1.0 - cd / threshold.max(f64::MIN_POSITIVE)).max(0.0)
}

/// A trained model and how its training ended.
#[derive(Debug)]
pub struct Trained<M> {
    /// After a [`StopReason::NonFiniteLoss`] stop, the last parameters whose loss was finite.
    pub model: M,
    pub stop: StopReason,
    /// Steps run, skipped ones included.
    pub steps: usize,
    /// Steps skipped because their loss was not a number.
    pub skipped_steps: usize,
}

/// The training loop both models share: batches of shapes, their samples, Adam; the loss
/// closure returns the fit and (for programs) the expected length the schedule weighs.
fn fit<M: burn::module::Module>(
    mut model: M,
    shapes: &[Target],
    config: &TrainConfig,
    device: &Device,
    sink: &mut dyn EventSink,
    control: &RunControl,
    loss_of: impl Fn(&M, Batch) -> (Tensor<1>, Option<Tensor<1>>),
) -> Result<Trained<M>, AmortizedError> {
    if shapes.is_empty() {
        return Err(AmortizedError::NoShapes);
    }
    let _flushed = crate::relaxed::flush_subnormals();
    device.seed(config.seed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let pool = 8192;
    let dim = config.policy.sketch.dim;
    if shapes.iter().any(|s| s.dim() != dim) {
        return Err(AmortizedError::Dimension(dim));
    }
    let samples: Vec<(Vec<f32>, Vec<f32>)> = shapes
        .iter()
        .enumerate()
        .map(|(i, shape)| shape.samples(pool, config.seed.wrapping_add(i as u64)))
        .collect();
    let inputs: Vec<Tensor<5>> = shapes
        .iter()
        .map(|shape| input_batch(&[shape], config.policy.input_resolution, device))
        .collect();
    let mut optimizer = crate::train::adam().init();
    let schedule = Schedule {
        total_steps: config.steps,
        temperature: config.temperature.clone(),
        length_penalty: config.length_penalty,
    };
    let batch = config.batch_shapes.clamp(1, shapes.len());
    let n = config.batch_points.clamp(1, pool);
    let mut batches = Batcher::new((0..shapes.len()).collect::<Vec<usize>>(), batch);
    let mut guard = NonFiniteGuard::default();
    let (mut stop, mut steps) = (StopReason::Finished, 0);
    for step in 0..config.steps {
        if !control.checkpoint() {
            stop = StopReason::Cancelled;
            break;
        }
        steps = step + 1;
        model = Fault::parameters(config.fault, step, model);
        let chosen = batches.next(&mut rng);
        let mut points = Vec::with_capacity(batch * n * dim);
        let mut labels = Vec::with_capacity(batch * n);
        for &shape in chosen {
            let (p, l) = &samples[shape];
            for _ in 0..n {
                let i = rng.random_range(0..l.len());
                points.extend_from_slice(&p[i * dim..(i + 1) * dim]);
                labels.push(l[i]);
            }
        }
        let temperature = schedule.temperature(step);
        let data = Batch {
            shapes: chosen.to_vec(),
            step,
            voxels: Tensor::cat(chosen.iter().map(|&s| inputs[s].clone()).collect(), 0),
            points: Tensor::from_data(TensorData::new(points, [batch, n, dim]), device),
            labels: Tensor::from_data(TensorData::new(labels, [batch, n]), device),
            temperature,
        };
        let (fit, length) = loss_of(&model, data);
        let length_weight = schedule.length_weight(step);
        let expected_length = length.as_ref().map_or(0.0, scalar);
        let loss = match length {
            Some(length) => fit.clone() + length * length_weight,
            None => fit.clone(),
        };
        let loss = Fault::loss(config.fault, step, loss);
        match guard.judge(&loss, &mut model) {
            Verdict::Update => {}
            Verdict::Skip => continue,
            Verdict::Stop => {
                // The guard put back the last good parameters.
                stop = StopReason::NonFiniteLoss;
                break;
            }
            Verdict::NeverFinite => return Err(AmortizedError::NonFinite),
        }
        let value = scalar(&loss);
        sink.event(TrainEvent::Step(StepReport {
            step,
            total_steps: config.steps,
            loss: value,
            fit_loss: scalar(&fit),
            temperature,
            length_weight,
            expected_length,
        }));
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.learning_rate, model, grads);
    }
    Ok(Trained {
        model,
        stop,
        steps,
        skipped_steps: guard.skipped(),
    })
}

/// The baseline's completion of `input`, rasterised like it (3D: on a `resolution³` grid).
pub fn complete_baseline(
    baseline: &Baseline,
    config: &PolicyConfig,
    input: &Target,
    resolution: usize,
    device: &Device,
) -> Reconstruction {
    let _flushed = crate::relaxed::flush_subnormals();
    let voxels = input_batch(&[input], config.input_resolution, device);
    let target = input;
    let dim = target.dim();
    let (points, count) = target.query_points(resolution);
    let mut occupancy = Vec::with_capacity(count);
    for chunk in points.chunks(16384 * dim) {
        let n = chunk.len() / dim;
        let p = Tensor::<3>::from_data(TensorData::new(chunk.to_vec(), [1, n, dim]), device);
        occupancy.extend(super::soft::values(baseline.occupancy(voxels.clone(), p)));
    }
    target.rasterise(resolution, &occupancy)
}

/// What [`complete`] returns.
#[derive(Clone, Debug, Serialize)]
pub struct Completion {
    pub program: GraphicsProgram,
    /// Cross-entropy of the kept program on the visible samples.
    pub visible_loss: f64,
    /// Discrete programs weighed (the mode and the Gumbel draws).
    pub candidates: usize,
    pub seconds: f64,
    #[serde(skip)]
    pub reconstruction: Option<Reconstruction>,
    /// The policy's output (detached) with the draw that gave `program`: where
    /// [`super::refine`] starts.
    #[serde(skip)]
    pub start: Option<ProgramTensors>,
}

/// Steps of the refinement that follows a completion by default (`roap complete`, the app):
/// about 5 s on a 2-core CPU.
pub const DEFAULT_REFINE_STEPS: usize = 150;

/// Settings of the per-shape synthesis that refines a completion ([`super::refine`]): the
/// policy's sketch, `steps` steps of which a third polish, the region the crop removed
/// left free, and a temperature that starts where the policy's training ended, so α starts
/// as sharp as the policy emits it.
pub fn refinement(config: &TrainConfig, crop: Crop, steps: usize, seed: u64) -> SynthConfig {
    let start = config.temperature.temperature(1.0);
    let end = SynthConfig::default()
        .temperature
        .temperature(1.0)
        .min(start);
    SynthConfig {
        sketch: config.policy.sketch.clone(),
        steps,
        polish_steps: steps / 3,
        restarts: 1,
        temperature: TemperatureSchedule::Exponential { start, end },
        unseen: crop,
        // With a region unseen, a shorter program is not simpler where it matters: the lines
        // it drops may be the ones that complete the shape. The best fit of the seen region
        // is kept.
        simplicity_tolerance: if crop == Crop::None {
            SynthConfig::default().simplicity_tolerance
        } else {
            0.0
        },
        report_every: (steps / 8).max(10),
        snapshot_every: (steps / 40).max(5),
        seed,
        ..SynthConfig::default()
    }
}

/// How [`complete`] works on one input.
#[derive(Clone, Copy, Debug)]
pub struct CompleteOptions {
    /// What was removed from the input (its samples are not scored).
    pub crop: Crop,
    /// Discrete programs weighed: the mode and `samples − 1` draws.
    pub samples: usize,
    /// Resolution of the returned reconstruction.
    pub eval_resolution: usize,
    pub seed: u64,
}

/// Completes `input` (already cropped by `crop`, or not): one forward pass, then
/// min-sampling: the policy's most likely program and `samples − 1` programs drawn from it,
/// each scored on labelled points of the visible region only; the best is kept.
///
/// # Errors
/// Only if a drawn architecture is not a valid program (the causal mask prevents that).
pub fn complete(
    policy: &Policy,
    config: &PolicyConfig,
    input: &Target,
    options: &CompleteOptions,
    device: &Device,
) -> Result<Completion, AmortizedError> {
    let &CompleteOptions {
        crop,
        samples,
        eval_resolution,
        seed,
    } = options;
    let started = Instant::now();
    let _flushed = crate::relaxed::flush_subnormals();
    device.seed(seed);
    let voxels = input_batch(&[input], config.input_resolution, device);
    let tensors = policy.forward(config, voxels).detached();
    // Labelled points where the input is known: outside the cropped-away region (crops
    // are 3D; their coordinates span −1..1 over the grid).
    let dim = input.dim();
    let (points, labels) = input.samples(4096, seed);
    let kept: Vec<(&[f32], f32)> = points
        .chunks_exact(dim)
        .zip(labels)
        .filter(|(p, _)| dim != 3 || !crop.removes([p[0] * 2.0, p[1] * 2.0, p[2] * 2.0]))
        .collect();
    let mut best: Option<(f64, GraphicsProgram, ProgramTensors)> = None;
    let candidates = samples.max(1);
    for draw in 0..candidates {
        let tensors = if draw == 0 {
            tensors.clone()
        } else {
            with_gumbel_logits(&tensors)
        };
        let program = tensors.discretize(&config.sketch, 0)?;
        let points: Vec<f32> = kept.iter().flat_map(|(p, _)| p.iter().copied()).collect();
        let occupancy = program.occupancies(&points);
        let loss = kept
            .iter()
            .zip(&occupancy)
            .map(|((_, label), o)| {
                let o = f64::from(o.clamp(1e-6, 1.0 - 1e-6));
                -(f64::from(*label) * o.ln() + (1.0 - f64::from(*label)) * (1.0 - o).ln())
            })
            .sum::<f64>()
            / kept.len().max(1) as f64;
        if best.as_ref().is_none_or(|(b, ..)| loss < *b) {
            best = Some((loss, program, tensors));
        }
    }
    let (visible_loss, program, start) = best.ok_or(AmortizedError::NoProgram)?;
    let (points, _) = input.query_points(eval_resolution);
    let reconstruction = input.rasterise(eval_resolution, &program.occupancies(&points));
    Ok(Completion {
        program,
        visible_loss,
        candidates,
        seconds: started.elapsed().as_secs_f64(),
        reconstruction: Some(reconstruction),
        start: Some(start),
    })
}

/// The same policy output with Gumbel noise on every architecture logit: its argmax is an
/// exact draw from the policy (the Gumbel-max trick).
fn with_gumbel_logits(tensors: &ProgramTensors) -> ProgramTensors {
    let noisy = |t: &Tensor<3>| t.clone() + crate::relaxed::gumbel_noise(t.dims(), &t.device());
    let mut out = tensors.clone();
    for c in &mut out.components {
        c.logits.op_logits = noisy(&c.logits.op_logits);
        c.logits.left_logits = noisy(&c.logits.left_logits);
        c.logits.right_logits = noisy(&c.logits.right_logits);
    }
    out
}

/// Refines `completion` of `input` (cropped by `crop`) for `steps` steps of per-shape
/// synthesis that start from the policy's program ([`super::refine`]), with the settings of
/// [`refinement`]. Any device: gradients are taken on its autodiff form.
///
/// # Errors
/// A completion without its starting tensors, or what [`super::refine`] refuses.
#[allow(clippy::too_many_arguments)] // The refinement's whole context, passed once.
pub fn refine_completion(
    input: &Target,
    completion: &Completion,
    crop: Crop,
    config: &TrainConfig,
    steps: usize,
    seed: u64,
    device: &Device,
    sink: &mut dyn EventSink,
    control: &RunControl,
) -> Result<super::SynthOutcome, super::SynthError> {
    let device = &device.clone().autodiff();
    let start = completion.start.as_ref().ok_or_else(|| {
        super::SynthError::Config("the completion has no starting program".into())
    })?;
    let synth = refinement(config, crop, steps, seed);
    super::refine(input, start, &synth, device, sink, control)
}

/// A trained policy and the settings it was trained with, saved side by side:
/// `DIR/policy.bpk` (burn record) and `DIR/config.json`.
pub mod checkpoint {
    use std::path::Path;

    use burn::tensor::Device;

    use super::{Baseline, Policy, TrainConfig};
    use crate::train::checkpoint::{
        CheckpointError, create_dir, load_module, parse_json, read_file, save_module, write_json,
    };

    /// Writes `config.json`, `policy.bpk` and, if given, `baseline.bpk`, each atomically.
    ///
    /// # Errors
    /// If the folder or a file cannot be written.
    pub fn save(
        dir: &Path,
        policy: Policy,
        baseline: Option<Baseline>,
        config: &TrainConfig,
    ) -> Result<(), CheckpointError> {
        create_dir(dir)?;
        write_json(&dir.join("config.json"), config)?;
        save_module(policy, &dir.join("policy.bpk"))?;
        if let Some(baseline) = baseline {
            save_module(baseline, &dir.join("baseline.bpk"))?;
        }
        Ok(())
    }

    /// The baseline saved beside a policy, if there is one.
    ///
    /// # Errors
    /// A malformed file.
    pub fn load_baseline(
        dir: &Path,
        config: &TrainConfig,
        device: &Device,
    ) -> Result<Option<Baseline>, CheckpointError> {
        let path = dir.join("baseline.bpk");
        if !path.exists() {
            return Ok(None);
        }
        let bytes = read_file(&path)?;
        load_module(Baseline::new(&config.policy, device), &path, bytes).map(Some)
    }

    /// # Errors
    /// A missing or malformed file, or a record that does not fit the configured policy.
    pub fn load(dir: &Path, device: &Device) -> Result<(Policy, TrainConfig), CheckpointError> {
        let (config_path, policy_path) = (dir.join("config.json"), dir.join("policy.bpk"));
        let config = read_file(&config_path)?;
        let policy = read_file(&policy_path)?;
        from_bytes(dir, &config, policy, device)
    }

    /// The pretrained completion policy that ships with roap ([`crate::bundled::CHECKPOINT`],
    /// found or written by [`crate::bundled::locate`]), and the folder it was read from.
    ///
    /// # Errors
    /// As [`load`], or if the folder cannot be found nor written.
    pub fn load_bundled(
        device: &Device,
    ) -> Result<(Policy, TrainConfig, std::path::PathBuf), CheckpointError> {
        let dir = crate::bundled::locate(crate::bundled::CHECKPOINT).map_err(|source| {
            CheckpointError::Io {
                path: std::path::PathBuf::from(crate::bundled::CHECKPOINT),
                source,
            }
        })?;
        let (policy, config) = load(&dir, device)?;
        Ok((policy, config, dir))
    }

    /// [`load`] from the bytes of `DIR/config.json` and `DIR/policy.bpk`.
    ///
    /// # Errors
    /// Malformed settings, settings out of bounds, or a record that does not fit them.
    pub fn from_bytes(
        dir: &Path,
        config: &[u8],
        policy: Vec<u8>,
        device: &Device,
    ) -> Result<(Policy, TrainConfig), CheckpointError> {
        let config_path = dir.join("config.json");
        let config: TrainConfig = parse_json(&config_path, config)?;
        config
            .policy
            .check()
            .map_err(|message| CheckpointError::Invalid {
                path: config_path,
                message,
            })?;
        let path = dir.join("policy.bpk");
        let policy = load_module(Policy::new(&config.policy, device), &path, policy)?;
        Ok((policy, config))
    }
}
