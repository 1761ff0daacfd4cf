//! Per-shape synthesis (what the app's Synthesize button runs): fit a soft program's
//! architecture logits and parts to one shape's samples, then discretize, simplify and
//! re-evaluate the discrete program.

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use super::free_program::{FreeProgram, Initialization};
use super::parts::Retrieval;
use super::point_batches::PointBatches;
use super::polish::Polish;
use super::prune::{Scored, Scoring, prune};
use super::seeding::seed_parts;
use super::soft::{Draw, ProgramTensors};
use super::synth_config::SynthConfig;
use super::target::{Reconstruction, Symmetry, Target};
use super::{GraphicsProgram, SketchConfig};
use crate::relaxed::Relaxation;
pub use crate::train::StopReason;
use crate::train::{
    ArchitectureSnapshot, DomainValue, EventSink, Fault, MetricsReport, NonFiniteGuard, RunControl,
    Schedule, StepReport, TrainEvent, Verdict, adam, scalar,
};

/// Why [`synthesize`] could not run.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("the target shape is empty: nothing to fit")]
    EmptyTarget,
    #[error("the sketch is {sketch}D but the target is {target}D")]
    Dimension { sketch: usize, target: usize },
    #[error("invalid settings: {0}")]
    Config(String),
    #[error(
        "the loss was not a number from the first step on, so there is no program to keep \
         (check the input and the settings)"
    )]
    NonFinite,
    #[error(transparent)]
    Program(#[from] crate::dsl::DslError),
}

/// What [`synthesize`] found.
#[derive(Clone, Debug, Serialize)]
pub struct SynthOutcome {
    pub program: GraphicsProgram,
    /// Chamfer of the discrete program against the target: ×1000 by the BSP-Net
    /// convention in 3D, in pixels by the CSGNet convention in 2D.
    pub chamfer: Option<f64>,
    /// The same for the soft program the kept discrete program came from (its step's
    /// temperature, no noise, soft retrieval).
    pub soft_chamfer: Option<f64>,
    pub iou: Option<f64>,
    pub live_lines: usize,
    pub live_parts: usize,
    pub steps: usize,
    /// The step whose discrete program was kept (the best any report saw).
    pub chosen_step: usize,
    pub seconds: f64,
    pub final_loss: f64,
    pub stop: StopReason,
    /// Steps skipped because their loss was not a number (see [`crate::train::PATIENCE`]).
    pub skipped_steps: usize,
    /// Mean normalized entropy of α (see [`ArchitectureSnapshot::mean_normalized_entropy`])
    /// at the first step's temperature, without noise: how open the search starts.
    pub entropy_start: Option<f64>,
    /// The same at the last step's temperature: how sharp the program ends.
    pub entropy_end: Option<f64>,
    /// The mirror plane found in the input, and whether the flip-union started on.
    pub symmetry: Symmetry,
    /// The kept program rasterised like the target.
    #[serde(skip)]
    pub reconstruction: Option<Reconstruction>,
}

impl SynthOutcome {
    /// A sentence for the user when the program fits the input poorly (IoU under 0.75),
    /// with what to try; `None` when the fit is good or could not be scored.
    pub fn poor_fit_warning(&self) -> Option<String> {
        let iou = self.iou?;
        (iou < 0.75).then(|| {
            format!(
                "the program fits the shape poorly (IoU {iou:.2}): try more steps ({}), more \
                 restarts, or more lines and parts",
                self.steps.max(1) * 2
            )
        })
    }
}

/// Fits `target` with the soft program of `config.sketch`, reporting through `sink`, steered
/// by `control` (checked between steps: a cancelled run still returns what it found).
///
/// Any device: gradients are taken on its autodiff form.
///
/// # Errors
/// An empty target, a sketch of the wrong dimension, or settings that cannot run.
pub fn synthesize(
    target: &Target,
    config: &SynthConfig,
    device: &Device,
    sink: &mut dyn EventSink,
    control: &RunControl,
) -> Result<SynthOutcome, SynthError> {
    run(target, config, None, device, sink, control)
}

/// [`synthesize`] warm-started from `start` (an amortized policy's output for `target`,
/// say) instead of seeded parts and prior logits: its α as logits, its parts, library and
/// transforms as parameters, one restart per task of `start`. The starting program is a
/// candidate like every later one, so the result never fits worse than the guess.
///
/// # Errors
/// As [`synthesize`], or a `start` whose shape is not `config.sketch`'s.
pub fn refine(
    target: &Target,
    start: &ProgramTensors,
    config: &SynthConfig,
    device: &Device,
    sink: &mut dyn EventSink,
    control: &RunControl,
) -> Result<SynthOutcome, SynthError> {
    let sketch = &config.sketch;
    let fits = start.components.len() == sketch.components.len()
        && start.components.iter().all(|c| {
            let [_, lines, _] = c.logits.op_logits.dims();
            lines == sketch.lines && c.parts.count() == sketch.part_count()
        });
    if !fits || start.tasks() == 0 {
        return Err(SynthError::Config(
            "the starting program does not fit the sketch".into(),
        ));
    }
    run(target, config, Some(start), device, sink, control)
}

fn run(
    target: &Target,
    config: &SynthConfig,
    start: Option<&ProgramTensors>,
    device: &Device,
    sink: &mut dyn EventSink,
    control: &RunControl,
) -> Result<SynthOutcome, SynthError> {
    let started = Instant::now();
    let device = &device.clone().autodiff();
    let _flushed = crate::relaxed::flush_subnormals();
    let sketch = &config.sketch;
    if sketch.dim != target.dim() {
        return Err(SynthError::Dimension {
            sketch: sketch.dim,
            target: target.dim(),
        });
    }
    if sketch.components.is_empty() || sketch.lines == 0 || sketch.part_count() == 0 {
        return Err(SynthError::Config(
            "a sketch needs at least one component, one line and one part".into(),
        ));
    }
    if target.is_empty() {
        return Err(SynthError::EmptyTarget);
    }
    device.seed(config.seed);
    let dim = sketch.dim;
    let mut batches = PointBatches::new(target, config, device);
    // A cold run searches for at least two thirds of its steps; a warm one starts from a
    // found program and may only polish it.
    let polish_steps = if start.is_some() {
        config.polish_steps.min(config.steps)
    } else {
        config.polish_steps.min(config.steps / 3)
    };
    let search_steps = config.steps - polish_steps;

    let symmetry = target.symmetry_seen(config.unseen);
    let (mut model, tasks) = match start {
        Some(start) => (FreeProgram::from_tensors(start, device), start.tasks()),
        None => {
            let seeds = seed_parts(
                target,
                sketch.part_count() * sketch.components.len(),
                config.seed,
            );
            let init = Initialization {
                centres: seeds.centres,
                sizes: seeds.sizes,
                cavity: seeds.cavity,
                flip_normal: symmetry.normal.clone(),
                // 2D flip planes learn their offset, so a mirror through the centre says little.
                symmetric: dim == 2 || symmetry.is_symmetric(),
                logit_scale: 0.1,
                chain_bias: config.chain_bias,
                union_bias: config.union_bias,
                gate: config.initial_gate,
            };
            let tasks = config.restarts.max(1);
            (FreeProgram::new(sketch, tasks, &init, device), tasks)
        }
    };
    let mut architecture_optimizer = adam().init();
    let mut shape_optimizer = adam().init();
    let schedule = Schedule {
        total_steps: search_steps,
        temperature: config.temperature.clone(),
        length_penalty: config.length_penalty,
    };
    let k = config.min_samples.max(1);
    let mut final_loss = f64::NAN;
    let mut stop = StopReason::Finished;
    let mut steps_run = 0;
    let mut guard = NonFiniteGuard::default();
    // Min-sampling over time: late steps at low temperature can flip an argmax for the
    // worse, so the run chooses among every discrete program the reports saw.
    let mut seen: Vec<Checkpoint> = Vec::new();
    let mut entropy_start = None;
    // The restart whose program the last report scored best: the one α snapshots show.
    let mut leader = 0;
    for step in 0..search_steps {
        if !control.checkpoint() {
            stop = StopReason::Cancelled;
            break;
        }
        let temperature = schedule.temperature(step);
        model.shapes = Fault::parameters(config.fault, step, model.shapes);
        let tensors = model.tensors(sketch);
        if step % config.snapshot_every.max(1) == 0 {
            let seen = snapshot(&tensors.detached(), step, temperature, leader);
            if step == 0 {
                entropy_start = seen.mean_normalized_entropy();
            }
            sink.event(TrainEvent::Architecture(seen));
        }
        if step % config.report_every.max(1) == 0 {
            let restarts = report(target, sketch, config, &model, step, started, sink)?;
            leader = restarts.first().map_or(0, |c| c.task);
            seen.extend(restarts);
        }
        let (batch_points, batch_labels) = batches.next(tasks);
        let relaxation = Relaxation::annealed(config.gumbel, temperature);
        let draw = Draw {
            relaxation,
            // The library is read noise-free: the architecture's draws are noise enough, and
            // parts that change shape at random every step fit nothing.
            retrieval: Retrieval::Soft {
                temperature,
                gumbel: false,
            },
            samples: k,
            include_mode: true,
        };
        let occupancy = tensors.evaluate(sketch, &batch_points, draw).occupancy; // [R·k, N]
        let per_draw = config.loss.per_row(occupancy, batch_labels); // [R·k, 1]
        // Min-sampling within each restart; restarts are independent, so their mean.
        let fit = per_draw.reshape([tasks, k]).min_dim(1).mean();
        let expected_length = tensors.expected_length(temperature); // [R]
        let length_weight = schedule.length_weight(step);
        let loss = fit.clone() + expected_length.clone().mean() * length_weight;
        let loss = Fault::loss(config.fault, step, loss);
        match guard.judge(&loss, &mut model) {
            Verdict::Update => {}
            Verdict::Skip => continue,
            Verdict::Stop | Verdict::NeverFinite => {
                // The guard put back the parameters of the last good step, if any.
                stop = StopReason::NonFiniteLoss;
                break;
            }
        }
        let loss_value = scalar(&loss);
        final_loss = loss_value;
        sink.event(TrainEvent::Step(StepReport {
            step,
            total_steps: config.steps,
            loss: loss_value,
            fit_loss: scalar(&fit),
            temperature,
            length_weight,
            expected_length: scalar(&expected_length.mean()),
        }));
        let mut grads = loss.backward();
        let architecture_grads = GradientsParams::from_module(&mut grads, &model.architecture);
        let shape_grads = GradientsParams::from_module(&mut grads, &model.shapes);
        model.architecture = architecture_optimizer.step(
            config.architecture_learning_rate,
            model.architecture,
            architecture_grads,
        );
        model.shapes = shape_optimizer.step(config.shape_learning_rate, model.shapes, shape_grads);
        steps_run = step + 1;
    }

    if stop == StopReason::NonFiniteLoss && seen.is_empty() {
        return Err(SynthError::NonFinite);
    }
    seen.extend(report(
        target, sketch, config, &model, steps_run, started, sink,
    )?);
    let chosen_index =
        choose(&seen, config.simplicity_tolerance, start.is_some()).ok_or(SynthError::NonFinite)?;
    let chosen = &seen[chosen_index];
    // α at the end, of the restart whose program is kept.
    let end = snapshot(
        &model.tensors(sketch).detached(),
        steps_run,
        schedule.temperature(steps_run.saturating_sub(1)),
        chosen.task,
    );
    let entropy_end = end.mean_normalized_entropy();
    sink.event(TrainEvent::Architecture(end));
    let mut chosen_step = chosen.step;
    let soft_chamfer = soft_chamfer(
        target,
        sketch,
        config,
        &chosen.model.tensors(sketch).detached(),
        chosen.task,
        schedule.temperature(chosen_step),
        device,
    );
    let chosen = seen.swap_remove(chosen_index);
    let mut skipped_steps = guard.skipped();
    let chosen = if stop == StopReason::Finished && polish_steps > 0 {
        let polish = Polish {
            target,
            config,
            first_step: steps_run,
            steps: polish_steps,
            started,
        };
        let (polished, ran, polish_stop) =
            polish.run(&chosen, &mut batches, sink, control, &mut skipped_steps)?;
        steps_run += ran;
        stop = polish_stop;
        chosen_step = polished.step;
        polished
    } else {
        chosen
    };
    // Shorter within half the simplicity tolerance of the program as polished (and within
    // the tolerance of the best program seen).
    let best = seen
        .iter()
        .map(Checkpoint::key)
        .fold(chosen.key(), f64::min);
    let bound = (best * (1.0 + config.simplicity_tolerance))
        .min(chosen.key() * (1.0 + config.simplicity_tolerance / 2.0));
    let chosen = chosen.pruned(target, config, bound);
    let Scored {
        program,
        score,
        reconstruction,
    } = chosen.fit;
    sink.event(TrainEvent::Program {
        step: steps_run,
        text: program.to_string(),
    });
    Ok(SynthOutcome {
        chosen_step,
        live_lines: program.live_lines(),
        live_parts: program.live_parts(),
        program,
        chamfer: score.chamfer,
        soft_chamfer,
        iou: score.iou,
        steps: steps_run,
        seconds: started.elapsed().as_secs_f64(),
        final_loss,
        stop,
        skipped_steps,
        entropy_start,
        entropy_end,
        symmetry,
        reconstruction: Some(reconstruction),
    })
}

/// Discretizes and scores every restart, and emits the best one's program, metrics and
/// mesh. Returns every restart's checkpoint, the best first.
#[allow(clippy::too_many_arguments)] // One call site's worth of context.
pub(super) fn report(
    target: &Target,
    sketch: &SketchConfig,
    config: &SynthConfig,
    model: &FreeProgram,
    step: usize,
    started: Instant,
    sink: &mut dyn EventSink,
) -> Result<Vec<Checkpoint>, SynthError> {
    let tensors = model.tensors(sketch).detached();
    let mut checkpoints = Vec::with_capacity(tensors.tasks());
    for task in 0..tensors.tasks() {
        let program = tensors.discretize(sketch, task)?;
        if program.check().is_err() {
            // Non-finite parameters: nothing a user could keep (see the non-finite rule).
            continue;
        }
        checkpoints.push(Checkpoint {
            step,
            task,
            fit: scoring(target, config).score(program),
            model: model.clone(),
        });
    }
    checkpoints.sort_by(|a, b| a.key().total_cmp(&b.key()));
    let Some(best) = checkpoints.first() else {
        return Ok(checkpoints);
    };
    sink.event(TrainEvent::Program {
        step,
        text: best.fit.program.to_string(),
    });
    sink.event(TrainEvent::Domain {
        step,
        value: DomainValue::new(best.fit.program.clone()),
    });
    sink.event(TrainEvent::Metrics(MetricsReport {
        step,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        chamfer: best.fit.score.chamfer,
        iou: best.fit.score.iou,
        live_lines: best.live_lines(),
    }));
    Ok(checkpoints)
}

/// How discrete programs are scored in this run.
fn scoring<'a>(target: &'a Target, config: &SynthConfig) -> Scoring<'a> {
    Scoring {
        target,
        unseen: config.unseen,
        resolution: config.eval_resolution,
        seed: config.seed,
    }
}

/// The shortest program (fewest live lines) whose fit error is within `tolerance` of the best
/// one's; among equally short ones the better fitting, then the later. Unless `warm`, the
/// starting program (step 0) is only a fallback: it is the seeding's guess, not a found
/// program, and a run that hands it back looks like one that never ran. A warm start's
/// program is a real guess (a policy's) and competes like the rest.
fn choose(seen: &[Checkpoint], tolerance: f64, warm: bool) -> Option<usize> {
    let found = !warm && seen.iter().any(|c| c.step > 0);
    let eligible = || {
        seen.iter()
            .enumerate()
            .filter(move |(_, c)| !found || c.step > 0)
    };
    let best = eligible()
        .map(|(_, c)| c.key())
        .fold(f64::INFINITY, f64::min);
    let bound = best * (1.0 + tolerance.max(0.0));
    eligible()
        .filter(|(_, c)| c.key() <= bound)
        .min_by(|(_, a), (_, b)| {
            a.live_lines()
                .cmp(&b.live_lines())
                .then(a.key().total_cmp(&b.key()))
                .then(b.step.cmp(&a.step))
        })
        .map(|(i, _)| i)
}

/// A discrete program seen at a report, with the soft program it came from.
#[derive(Clone)]
pub(super) struct Checkpoint {
    pub(super) step: usize,
    /// The restart it came from.
    pub(super) task: usize,
    /// The discrete program, scored.
    pub(super) fit: Scored,
    /// The parameters of every restart at that report.
    pub(super) model: FreeProgram,
}

impl Checkpoint {
    /// Lower is better: [`super::Score::error`].
    pub(super) fn key(&self) -> f64 {
        self.fit.key()
    }

    pub(super) fn live_lines(&self) -> usize {
        self.fit.program.live_lines()
    }

    /// The program with the lines it can do without removed while its fit error stays
    /// within `bound` ([`prune`]).
    pub(super) fn pruned(self, target: &Target, config: &SynthConfig, bound: f64) -> Self {
        match prune(&scoring(target, config), &self.fit, bound) {
            Some(fit) => Self { fit, ..self },
            None => self,
        }
    }
}

/// α of restart `task` as plain numbers: the noise-free softmax at `temperature`, the relaxation
/// the interpreter runs at that step.
fn snapshot(
    tensors: &ProgramTensors,
    step: usize,
    temperature: f64,
    task: usize,
) -> ArchitectureSnapshot {
    let mut snapshot = ArchitectureSnapshot {
        step,
        op_names: SketchConfig::ops()
            .ops
            .iter()
            .map(|o| o.name.clone())
            .collect(),
        ..ArchitectureSnapshot::default()
    };
    for c in &tensors.components {
        let probs = c.logits.relax(Relaxation::Softmax {
            temperature: temperature.max(1e-6),
        });
        let rows = |t: Tensor<3>| -> Vec<Vec<f32>> {
            let [_, lines, width] = t.dims();
            let flat = super::soft::values(t.slice([task..task + 1, 0..lines, 0..width]));
            flat.chunks(width.max(1)).map(<[f32]>::to_vec).collect()
        };
        snapshot.op.push(rows(probs.op_probs));
        snapshot.left.push(rows(probs.left_probs));
        snapshot.right.push(rows(probs.right_probs));
    }
    snapshot
}

/// Chamfer of the soft program (softmax at its step's temperature, without noise: the mode
/// min-sampling trained) against the target: the other side of the soft-versus-discrete gap.
fn soft_chamfer(
    target: &Target,
    sketch: &SketchConfig,
    config: &SynthConfig,
    tensors: &ProgramTensors,
    task: usize,
    temperature: f64,
    device: &Device,
) -> Option<f64> {
    let temperature = temperature.max(1e-6);
    let draw = Draw {
        relaxation: Relaxation::Softmax { temperature },
        retrieval: Retrieval::Soft {
            temperature,
            gumbel: false,
        },
        samples: 1,
        include_mode: false,
    };
    let dim = sketch.dim;
    let (points, _) = target.query_points(config.eval_resolution);
    let mut occupancy = Vec::with_capacity(points.len() / dim);
    for chunk in points.chunks(8192 * dim) {
        let n = chunk.len() / dim;
        let points = Tensor::<3>::from_data(TensorData::new(chunk.to_vec(), [1, n, dim]), device)
            .repeat_dim(0, tensors.tasks());
        let values = tensors.evaluate(sketch, &points, draw).occupancy; // [R, n]
        occupancy.extend(super::soft::values(values.slice([task..task + 1, 0..n])));
    }
    let soft = target.rasterise(config.eval_resolution, &occupancy);
    scoring(target, config).judge(&soft).chamfer
}
