//! Training and evaluating the arithmetic domain (paper §4.1, Table 1): one shared CNN, one
//! policy over all tasks, min-sampling, the length penalty from halfway; the ablations are
//! switches of the same loop.

use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng as _};

use super::batch::{digit_targets, example_values, targets};
use super::config::{Ablation, ArithConfig, ArithError, ArithResults};
use super::evaluate::{Evaluation, class_readings, evaluate, mean};
use super::images::Dataset;
use super::loss::{min_sampling_fit, reinforce_loss, task_weight};
use super::model::{ArithModel, DigitNet, FreeTaskLogits, ModelConfig, NeuralReasoner, TaskPolicy};
use super::tasks::{Example, Task, VARIABLES, ops};
use crate::train::{
    Batcher, EventSink, Fault, NonFiniteGuard, RunControl, Schedule, StepReport, StopReason,
    TrainEvent, Verdict, scalar,
};

pub(super) fn new_model(config: &ArithConfig, tasks: usize, device: &Device) -> ArithModel {
    let model_config = ModelConfig {
        lines: config.lines(),
        images_per_picture: if config.ablation == Ablation::Contiguous {
            VARIABLES
        } else {
            1
        },
        ..config.model.clone()
    };
    let op_count = ops().len();
    let digits = DigitNet::new(&model_config, device);
    match config.ablation {
        Ablation::NoProgram => ArithModel {
            digits,
            policy: None,
            free: None,
            neural: Some(NeuralReasoner::new(&model_config, tasks, device)),
        },
        Ablation::Supervised => ArithModel {
            digits,
            policy: None,
            free: None,
            neural: None,
        },
        Ablation::NoAmortized | Ablation::Terpret => ArithModel {
            digits,
            policy: None,
            free: Some(FreeTaskLogits::new(&model_config, tasks, op_count, device)),
            neural: None,
        },
        _ => ArithModel {
            digits,
            policy: Some(TaskPolicy::new(&model_config, tasks, op_count, device)),
            free: None,
            neural: None,
        },
    }
}

/// Trains on `tasks` (their `train` examples over `data.train`). Any device: gradients are taken on its autodiff form.
/// Terpret trains each task alone through `train_and_evaluate_each_alone`; here it trains
/// whatever tasks it is given with one CNN, as no-amortized does.
///
/// With `restarts` above one, that many models start from their own initialisations and
/// train `restart_steps` steps on the same batches; the one whose fit loss was lowest over
/// the last third of those steps goes on, the others are dropped. The shared CNN can settle
/// early in a grounding that reads some classes one digit low, which the programs then
/// compensate; a start that did fits worse by then. (Same batches: the comparison is
/// paired. Judging by a quick test-time search instead, the policy's mode and 63 draws on
/// 100 examples per task, once kept a start that fell into that basin.)
///
/// # Errors
/// No tasks, or images the model cannot take.
pub fn train(
    config: &ArithConfig,
    tasks: &[Task],
    data: &Dataset,
    device: &Device,
    sink: &mut dyn EventSink,
    control: &RunControl,
) -> Result<(ArithModel, TrainStats), ArithError> {
    let device = &device.clone().autodiff();
    if tasks.is_empty() || tasks.iter().any(|t| t.train.is_empty()) {
        return Err(ArithError::NoTasks);
    }
    let got = [data.train.channels, data.train.height, data.train.width];
    let [height, width] = config.model.image_size;
    let expected = [config.model.image_channels, height, width];
    if got != expected {
        return Err(ArithError::ImageShape { got, expected });
    }
    let _flushed = crate::relaxed::flush_subnormals();
    let started = Instant::now();
    let context = Context {
        config,
        tasks,
        data,
        device,
        schedule: Schedule {
            total_steps: config.steps,
            temperature: config.temperature.clone(),
            length_penalty: config.length_penalty,
        },
        task_weights: tasks.iter().map(task_weight).collect(),
        batch: config.batch_tasks.clamp(1, tasks.len()),
    };
    let mut stats = TrainStats::default();
    let restart_steps = config.judged_steps();
    let starts = config.restarts.max(1);
    let mut chosen: Option<(usize, f64, Learner)> = None;
    let mut losses = Vec::new();
    for restart in 0..starts {
        let seed = config
            .seed
            .wrapping_add((restart as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let (learner, fits) = train_steps(
            Learner::new(&context, seed),
            &context,
            0..restart_steps,
            &mut stats,
            sink,
            control,
        );
        if starts == 1 {
            chosen = Some((restart, 0.0, learner));
            break;
        }
        let recent: Vec<f64> = fits
            .into_iter()
            .filter(|(step, _)| 3 * step >= 2 * restart_steps)
            .map(|(_, fit)| fit)
            .collect();
        // A start with no finite step to judge it by is never kept over one that has.
        let loss = if recent.is_empty() {
            f64::INFINITY
        } else {
            mean(recent.into_iter())
        };
        losses.push(loss);
        if chosen.as_ref().is_none_or(|(_, best, _)| loss < *best) {
            chosen = Some((restart, loss, learner));
        }
    }
    let Some((kept, _, learner)) = chosen else {
        unreachable!("at least one restart runs")
    };
    if losses.len() > 1 {
        sink.event(TrainEvent::Restarted { kept, losses });
    }
    let range = restart_steps..config.steps;
    stats.stop = StopReason::Finished;
    let (learner, _) = train_steps(learner, &context, range, &mut stats, sink, control);
    stats.seconds = started.elapsed().as_secs_f64();
    Ok((learner.model, stats))
}

/// Trains `learner` through `steps` (until cancelled, or stopped by the non-finite rule),
/// reporting each step; returns it with the fit loss of every step that was not skipped.
fn train_steps(
    mut learner: Learner,
    context: &Context<'_>,
    steps: std::ops::Range<usize>,
    stats: &mut TrainStats,
    sink: &mut dyn EventSink,
    control: &RunControl,
) -> (Learner, Vec<(usize, f64)>) {
    let mut fits = Vec::with_capacity(steps.len());
    for step in steps {
        if !control.checkpoint() {
            stats.stop = StopReason::Cancelled;
            break;
        }
        let report;
        (learner, report) = learner.step(context, step, stats);
        match report {
            Ok(report) => {
                fits.push((step, report.fit_loss));
                sink.event(TrainEvent::Step(report));
            }
            Err(Verdict::Stop | Verdict::NeverFinite) => {
                stats.stop = StopReason::NonFiniteLoss;
                break;
            }
            Err(_) => {}
        }
    }
    (learner, fits)
}

/// What every step of a run reads.
struct Context<'a> {
    config: &'a ArithConfig,
    tasks: &'a [Task],
    data: &'a Dataset,
    device: &'a Device,
    schedule: Schedule,
    task_weights: Vec<f32>,
    /// Tasks per step.
    batch: usize,
}

/// One model in training, with its optimizer and its stream of batches.
struct Learner {
    model: ArithModel,
    /// The non-finite rule, with the parameters of the last good step.
    guard: NonFiniteGuard<ArithModel>,
    optimizer: ModuleOptimizer,
    rng: rand::rngs::StdRng,
    batches: Batcher<usize>,
}

impl Learner {
    /// A fresh model from `seed`; its batches follow the run's seed, so restarts see the same
    /// ones.
    fn new(context: &Context<'_>, seed: u64) -> Self {
        let config = context.config;
        context.device.seed(seed);
        let order: Vec<usize> = (0..context.tasks.len()).collect();
        Self {
            batches: Batcher::new(order, context.batch),
            model: new_model(config, context.tasks.len(), context.device),
            guard: NonFiniteGuard::default(),
            optimizer: crate::train::adam().init(),
            rng: rand::rngs::StdRng::seed_from_u64(config.seed ^ 0xa21),
        }
    }

    /// One step on a fresh batch, or the non-finite rule's verdict on it: skipped, or the
    /// run stops (and the model is back at its last good parameters).
    fn step(
        mut self,
        context: &Context<'_>,
        step: usize,
        stats: &mut TrainStats,
    ) -> (Self, Result<StepReport, Verdict>) {
        let Context {
            config,
            tasks,
            data,
            device,
            batch,
            ..
        } = *context;
        stats.steps += 1;
        let chosen = self.batches.next(&mut self.rng).to_vec();
        let examples: Vec<Vec<Example>> = chosen
            .iter()
            .map(|&t| {
                let pool = &tasks[t].train;
                (0..config.batch_examples)
                    .map(|_| pool[self.rng.random_range(0..pool.len())])
                    .collect()
            })
            .collect();
        self.model = Fault::parameters(config.fault, step, self.model);
        let model = &self.model;
        let values = example_values(
            &model.digits,
            &data.train,
            &examples,
            config.shift,
            &mut self.rng,
            device,
        );
        let y = targets(&examples, device);
        let weights = Tensor::<1>::from_data(
            TensorData::new(
                chosen.iter().map(|&t| context.task_weights[t]).collect(),
                [batch],
            ),
            device,
        );
        let task_ids = Tensor::<1, Int>::from_data(
            TensorData::new(chosen.iter().map(|&t| t as i64).collect(), [batch]),
            device,
        );
        let temperature = context.schedule.temperature(step);
        let length_weight = context.schedule.length_weight(step);
        let ops = ops();
        let (loss, fit, length) = match (&model.neural, model.logits(task_ids.clone())) {
            (Some(neural), _) => {
                let prediction = neural.forward(task_ids, values);
                let fit =
                    ((prediction - y).powi_scalar(2).mean_dim(1).reshape([batch]) * weights).mean();
                (fit.clone(), fit, None)
            }
            (None, Some(logits)) if config.ablation == Ablation::Reinforce => {
                let k = config.samples.max(2);
                let (surrogate, fit) = reinforce_loss(&logits, values, y, weights, k, &ops);
                (surrogate, fit, None)
            }
            (None, Some(logits)) => {
                let k = config.samples.max(1);
                let draws = config.draws(&logits, temperature, k);
                let (fit, length) = min_sampling_fit(&draws, k, values, y, weights, &ops);
                (
                    fit.clone() + length.clone() * length_weight,
                    fit,
                    Some(length),
                )
            }
            (None, None) => {
                // The reference: every image's own digit is the target.
                let fit = (values - digit_targets(&examples, &data.train, device))
                    .powi_scalar(2)
                    .mean();
                (fit.clone(), fit, None)
            }
        };
        let loss = Fault::loss(config.fault, step, loss);
        // Products of long chains can overflow early on: such a step is skipped.
        match self.guard.judge(&loss, &mut self.model) {
            Verdict::Update => {}
            verdict => {
                stats.skipped_steps += 1;
                return (self, Err(verdict));
            }
        }
        let value = scalar(&loss);
        let report = StepReport {
            step,
            total_steps: config.steps,
            loss: value,
            fit_loss: scalar(&fit),
            temperature,
            length_weight,
            expected_length: length.as_ref().map_or(0.0, scalar),
        };
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let decay = if config.cosine_decay {
            0.5 * (1.0 + (std::f64::consts::PI * step as f64 / config.steps as f64).cos())
        } else {
            1.0
        };
        self.model = self
            .optimizer
            .step(config.learning_rate * decay, self.model, grads);
        (self, Ok(report))
    }
}

/// Terpret, Table 1's baseline without multitasking: every task trained alone, with its
/// own CNN and free logits, for its share of the steps (a multitask run visits each task
/// `steps · batch_tasks / tasks` times), then evaluated alone. The row averages the tasks;
/// OOD-Loss is the out-of-distribution task's. `progress` hears `(tasks done, tasks)`;
/// the models are not kept.
///
/// # Errors
/// As `train`.
pub fn train_and_evaluate_each_alone(
    config: &ArithConfig,
    tasks: &[Task],
    data: &Dataset,
    device: &Device,
    control: &RunControl,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Evaluation, ArithError> {
    if tasks.is_empty() {
        return Err(ArithError::NoTasks);
    }
    let steps = (config.steps * config.batch_tasks.clamp(1, tasks.len()) / tasks.len()).max(1);
    let per_task = ArithConfig {
        steps,
        // The restarts keep their share of the run.
        restart_steps: config.restart_steps * steps / config.steps.max(1),
        batch_tasks: 1,
        ..config.clone()
    };
    let mut evaluations = Vec::with_capacity(tasks.len());
    let mut stats = TrainStats::default();
    for (i, task) in tasks.iter().enumerate() {
        if !control.checkpoint() {
            break;
        }
        let alone = ArithConfig {
            seed: config.seed.wrapping_add(i as u64),
            ..per_task.clone()
        };
        let one = std::slice::from_ref(task);
        let (model, task_stats) = train(&alone, one, data, device, &mut |_| {}, control)?;
        stats.steps += task_stats.steps;
        stats.skipped_steps += task_stats.skipped_steps;
        stats.seconds += task_stats.seconds;
        evaluations.push(evaluate(
            &model,
            &alone,
            one,
            data,
            task_stats,
            device,
            &mut |_, _| {},
        ));
        progress(i + 1, tasks.len());
    }
    let average =
        |field: fn(&ArithResults) -> f64| mean(evaluations.iter().map(|e| field(&e.results)));
    let test_readings: Vec<f32> = evaluations
        .iter()
        .flat_map(|e| e.test_readings.iter().copied())
        .collect();
    let images = evaluations.first().map_or(0, |e| e.test_readings.len());
    let results = ArithResults {
        program_acc: average(|r| r.program_acc),
        symbolic_acc: average(|r| r.symbolic_acc),
        test_symbolic_acc: average(|r| r.test_symbolic_acc),
        loss: average(|r| r.loss),
        test_loss: average(|r| r.test_loss),
        ood_loss: evaluations.first().map_or(f64::NAN, |e| e.results.ood_loss),
        ..ArithResults::describing(config, tasks.len(), stats)
    };
    Ok(Evaluation {
        results,
        tasks: evaluations.iter().flat_map(|e| e.tasks.clone()).collect(),
        grounding: class_readings(&test_readings, &data.test.labels[..images]),
        test_readings,
    })
}

/// How a training run went.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrainStats {
    /// Steps run (skipped ones and every restart's included).
    pub steps: usize,
    pub skipped_steps: usize,
    pub seconds: f64,
    pub stop: StopReason,
}
