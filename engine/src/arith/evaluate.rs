//! Test time (paper Table 1's columns): each task's program chosen by min-sampling and
//! refinement on held-out examples, then scored on test images and out-of-distribution
//! inputs; how each image class is read.

use burn::module::Module as _;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::batch::image_values;
use super::config::{Ablation, ArithConfig, ArithResults};
use super::images::{Dataset, ImageSet};
use super::loss::{program_loss, task_weight};
use super::model::ArithModel;
use super::refine::{RefineConfig, SearchTasks, gumbel_max_programs, refine};
use super::tasks::{DIGIT_SCALE, Example, Task, VARIABLES, formula, ops};
use super::train::TrainStats;
use crate::dsl::Program;
use crate::relaxed::ArchitectureLogits;

/// The discrete program chosen for each task (min-sampling at test): among the policy's
/// mode, `test_programs() − 1` Gumbel-max draws and the refinement's programs (from the
/// policy's logits, then polished from the best of those), the one with the lowest loss on
/// the task's train examples. Refinement searches on the first half of them and every
/// candidate is scored on the second: a long program that tracks the CNN's misreadings of the
/// images it was fitted to wins nothing on images it has not seen.
fn choose_programs(
    model: &ArithModel,
    config: &ArithConfig,
    tasks: &[Task],
    train_values: &[Vec<[f32; VARIABLES]>],
    device: &Device,
    autodiff_device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<Option<Program>> {
    let ids = Tensor::<1, Int>::from_data(
        TensorData::new((0..tasks.len() as i64).collect(), [tasks.len()]),
        device,
    );
    let Some(logits) = model.logits(ids) else {
        return vec![None; tasks.len()];
    };
    let policy_logits = logits.map(Tensor::detach);
    let mut candidates = policy_programs(&policy_logits, config);
    let split = HeldOutSplit::new(tasks, train_values);
    let (search_values, search_examples) = split.search_halves();
    let search = SearchTasks {
        values: &search_values,
        examples: &search_examples,
        weights: &split.weights,
    };
    let refine_config = config.test_refine();
    let total = refine_config.total_steps();
    // The relaxed search the method trained with, from `start`, on the first halves.
    let mut search_from =
        |start: &ArchitectureLogits, settings: &RefineConfig, seed: u64, steps_before: usize| {
            refine(
                start,
                &search,
                settings,
                |logits, temperature, k| config.draws(logits, temperature, k),
                config.seed ^ seed,
                autodiff_device,
                &mut |done, _| progress(steps_before + done, total),
            )
        };
    let refined = search_from(&policy_logits, &refine_config, 0x2ef1, 0);
    for (pool, more) in candidates.iter_mut().zip(refined) {
        pool.extend(more);
    }
    let best = split.best(candidates, config.length_penalty);
    // A second search near each task's best program; the best stays among the candidates.
    let polish = refine_config.polish();
    let Some(start) = best
        .iter()
        .map(Option::clone)
        .collect::<Option<Vec<Program>>>()
        .filter(|_| polish.steps > 0)
        .and_then(|programs| ArchitectureLogits::of_programs(&programs, device).ok())
    else {
        return best;
    };
    let polished = search_from(&start, &polish, 0x9d1c, refine_config.steps);
    let candidates = best
        .into_iter()
        .zip(polished)
        .map(|(best, mut more)| {
            more.extend(best);
            more
        })
        .collect();
    split.best(candidates, config.length_penalty)
}

/// The policy's own candidates for each task: its mode and `test_programs() − 1` Gumbel-max
/// draws from softmax(logits / the test temperature). The scale goes on the logits (a
/// temperature on the noisy argmax would not change which line wins).
fn policy_programs(policy_logits: &ArchitectureLogits, config: &ArithConfig) -> Vec<Vec<Program>> {
    let scale = 1.0 / config.test_temperature.max(1e-3);
    let logits = policy_logits.map(|t| t.mul_scalar(scale));
    let mut candidates: Vec<Vec<Program>> = match logits.probabilities().discretize(&ops()) {
        Ok(modes) => modes.into_iter().map(|p| vec![p]).collect(),
        Err(_) => vec![Vec::new(); logits.tasks()],
    };
    for (pool, drawn) in candidates
        .iter_mut()
        .zip(gumbel_max_programs(&logits, config.test_programs() - 1))
    {
        pool.extend(drawn);
    }
    candidates
}

/// Each task's train examples in two halves: the test-time search fits the first, every
/// candidate is scored on the second.
struct HeldOutSplit<'a> {
    tasks: &'a [Task],
    values: &'a [Vec<[f32; VARIABLES]>],
    halves: Vec<usize>,
    weights: Vec<f32>,
}

impl<'a> HeldOutSplit<'a> {
    fn new(tasks: &'a [Task], values: &'a [Vec<[f32; VARIABLES]>]) -> Self {
        Self {
            tasks,
            values,
            halves: tasks.iter().map(|t| t.train.len() / 2).collect(),
            weights: tasks.iter().map(task_weight).collect(),
        }
    }

    /// The first halves (at least one example each): what the search fits.
    fn search_halves(&self) -> (Vec<Vec<[f32; VARIABLES]>>, Vec<Vec<Example>>) {
        self.tasks
            .iter()
            .zip(self.values)
            .zip(&self.halves)
            .map(|((t, v), &half)| (v[..half.max(1)].to_vec(), t.train[..half.max(1)].to_vec()))
            .unzip()
    }

    /// Each task's candidate with the lowest objective training minimised (the task's weighted
    /// fit plus λ per line) on the held-out half.
    fn best(&self, candidates: Vec<Vec<Program>>, length_penalty: f64) -> Vec<Option<Program>> {
        candidates
            .into_iter()
            .zip(self.values)
            .zip(&self.weights)
            .zip(self.tasks.iter().zip(&self.halves))
            .map(|(((programs, values), &weight), (task, &half))| {
                let (values, examples) = (&values[half..], &task.train[half..]);
                programs
                    .into_iter()
                    .map(|p| {
                        let loss = f64::from(weight) * program_loss(&p, values, examples)
                            + length_penalty * p.tree_size() as f64;
                        (loss, p)
                    })
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, p)| p)
            })
            .collect()
    }
}

/// What one task's program came out as.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskOutcome {
    /// The hidden equation, e.g. `(a + b) * c`.
    pub equation: String,
    /// The discovered program as a formula (`None` for the w/o-program ablation).
    pub program: Option<String>,
    /// Whether it computes the equation (Program-Acc counts these).
    pub correct: bool,
    /// Mean squared error on the task's scored train examples, with the trained CNN's
    /// readings: of the program found, and of the hidden equation. A wrong program that
    /// fits better than the equation is perception's fault; one that fits worse, search's.
    pub program_loss: Option<f64>,
    pub equation_loss: f64,
}

/// How the trained CNN reads the test images of one class: the symbol it grounded the
/// class to. Learning the right grounding means every class `c` reads as digit `c`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassReading {
    /// The class label (its digit).
    pub class: u8,
    pub images: usize,
    /// Mean reading, in digits (the CNN's output × 10).
    pub mean_reading: f64,
    /// The digit most of its images round to, and the share of them that do.
    pub usual_digit: i64,
    pub usual_share: f64,
    /// The share read as the class's own digit (its part of Test-Symbolic-Acc).
    pub correct_share: f64,
}

/// Table 1's row, every task's program, and how each test class is read.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub results: ArithResults,
    pub tasks: Vec<TaskOutcome>,
    pub grounding: Vec<ClassReading>,
    /// The CNN's readings of the first test images, which `grounding` sums up.
    pub test_readings: Vec<f32>,
}

/// Per class, how `readings` (CNN outputs, digit / 10) read it: reading `i` is of an
/// image labelled `labels[i % labels.len()]` (several CNNs' readings of the same images
/// pool).
pub(super) fn class_readings(readings: &[f32], labels: &[u8]) -> Vec<ClassReading> {
    let mut classes: Vec<u8> = labels[..readings.len().min(labels.len())].to_vec();
    classes.sort_unstable();
    classes.dedup();
    classes
        .into_iter()
        .map(|class| {
            let digits: Vec<f64> = readings
                .iter()
                .zip(labels.iter().cycle())
                .filter(|&(_, &l)| l == class)
                .map(|(&r, _)| f64::from(r / DIGIT_SCALE))
                .collect();
            let n = digits.len();
            let mut counts = std::collections::BTreeMap::<i64, usize>::new();
            for d in &digits {
                *counts.entry(d.round() as i64).or_default() += 1;
            }
            let (usual_digit, usual) = counts
                .iter()
                .max_by_key(|&(_, &count)| count)
                .map_or((0, 0), |(&d, &count)| (d, count));
            ClassReading {
                class,
                images: n,
                mean_reading: mean(digits.iter().copied()),
                usual_digit,
                usual_share: usual as f64 / n.max(1) as f64,
                correct_share: counts.get(&i64::from(class)).copied().unwrap_or(0) as f64
                    / n.max(1) as f64,
            }
        })
        .collect()
}

/// Table 1's metrics for a trained model. `progress` hears the test-time search's
/// `(steps done, steps)`: it takes minutes at the full preset. The same model scores the
/// same when nothing else in the process draws burn random numbers meanwhile (the CPU
/// backend's generator is process-wide).
pub fn evaluate(
    model: &ArithModel,
    config: &ArithConfig,
    tasks: &[Task],
    data: &Dataset,
    stats: TrainStats,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Evaluation {
    // Inference without autodiff: forward passes on an autodiff device keep their graph
    // until a backward that never comes (16 GB for one evaluation of the full preset).
    let autodiff_device = device;
    let device = &device.clone().without_autodiff();
    let model = &model.valid();
    // The test-time draws of min-sampling are seeded: the same model scores the same.
    device.seed(config.seed ^ 0xe7a1);
    let limit = config.eval_examples.max(1);
    let values_of = |set: &ImageSet, examples: &[Example]| -> Vec<[f32; VARIABLES]> {
        let indices: Vec<u32> = examples.iter().flat_map(|e| e.images).collect();
        image_values(&model.digits, set, &indices, device)
            .chunks_exact(VARIABLES)
            .map(|c| [c[0], c[1], c[2]])
            .collect()
    };
    let train_examples: Vec<Vec<Example>> = tasks
        .iter()
        .map(|t| t.train.iter().take(limit).copied().collect())
        .collect();
    let train_values: Vec<Vec<[f32; VARIABLES]>> = train_examples
        .iter()
        .map(|e| values_of(&data.train, e))
        .collect();
    let test_values: Vec<Vec<[f32; VARIABLES]>> = tasks
        .iter()
        .map(|t| values_of(&data.test, &t.test))
        .collect();
    let scored_tasks: Vec<Task> = tasks
        .iter()
        .zip(&train_examples)
        .map(|(t, train)| Task {
            train: train.clone(),
            ..t.clone()
        })
        .collect();

    let (outcomes, loss, test_loss, ood_loss) = if let Some(neural) = &model.neural {
        let predict = |task: usize, values: &[[f32; VARIABLES]]| -> Vec<f32> {
            let n = values.len();
            let flat: Vec<f32> = (0..VARIABLES)
                .flat_map(|v| values.iter().map(move |x| x[v]))
                .collect();
            let input = Tensor::<3>::from_data(TensorData::new(flat, [1, VARIABLES, n]), device);
            let id = Tensor::<1, Int>::from_data(TensorData::new(vec![task as i64], [1]), device);
            neural
                .forward(id, input)
                .detach()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap_or_default()
        };
        let mse = |p: Vec<f32>, examples: &[Example]| -> f64 {
            p.iter()
                .zip(examples)
                .map(|(p, e)| f64::from(p - e.output).powi(2))
                .sum::<f64>()
                / examples.len().max(1) as f64
        };
        let loss =
            mean((0..tasks.len()).map(|t| mse(predict(t, &train_values[t]), &train_examples[t])));
        let test_loss =
            mean((0..tasks.len()).map(|t| mse(predict(t, &test_values[t]), &tasks[t].test)));
        let ood = tasks
            .first()
            .map(|t| mse(predict(0, &values_of(&data.test, &t.ood)), &t.ood))
            .unwrap_or(f64::NAN);
        let outcomes: Vec<TaskOutcome> = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| TaskOutcome {
                equation: formula(&t.equation),
                program: None,
                correct: false,
                program_loss: None,
                equation_loss: program_loss(&t.equation, &train_values[i], &train_examples[i]),
            })
            .collect();
        (outcomes, loss, test_loss, ood)
    } else {
        let programs = if config.ablation == Ablation::Supervised {
            tasks.iter().map(|t| Some(t.equation.clone())).collect()
        } else {
            choose_programs(
                model,
                config,
                &scored_tasks,
                &train_values,
                device,
                autodiff_device,
                progress,
            )
        };
        let outcomes = programs
            .iter()
            .zip(tasks)
            .enumerate()
            .map(|(i, (p, task))| TaskOutcome {
                equation: formula(&task.equation),
                program: p.as_ref().map(formula),
                correct: p.as_ref().is_some_and(|p| computes(p, task, &data.test)),
                program_loss: p
                    .as_ref()
                    .map(|p| program_loss(p, &train_values[i], &train_examples[i])),
                equation_loss: program_loss(&task.equation, &train_values[i], &train_examples[i]),
            })
            .collect();
        let loss_on = |values: &[Vec<[f32; VARIABLES]>],
                       examples: &dyn Fn(usize) -> Vec<Example>| {
            mean(programs.iter().enumerate().map(|(t, p)| {
                p.as_ref()
                    .map_or(f64::NAN, |p| program_loss(p, &values[t], &examples(t)))
            }))
        };
        let loss = loss_on(&train_values, &|t| train_examples[t].clone());
        let test_loss = loss_on(&test_values, &|t| tasks[t].test.clone());
        let ood = match (programs.first(), tasks.first()) {
            (Some(Some(p)), Some(task)) => {
                program_loss(p, &values_of(&data.test, &task.ood), &task.ood)
            }
            _ => f64::NAN,
        };
        (outcomes, loss, test_loss, ood)
    };
    let correct = outcomes.iter().filter(|o| o.correct).count();

    let readings = |set: &ImageSet| -> Vec<f32> {
        // Whole pictures: for the contiguous CNN, images 0–2, 3–5, … side by side.
        let per_picture = model.digits.images_per_picture();
        let n = config.eval_images.min(set.len()) / per_picture * per_picture;
        let indices: Vec<u32> = (0..n as u32).collect();
        image_values(&model.digits, set, &indices, device)
    };
    let symbolic_acc = |values: &[f32], labels: &[u8]| -> f64 {
        let right = values
            .iter()
            .zip(labels)
            .filter(|(v, label)| (*v / DIGIT_SCALE).round() as i64 == i64::from(**label))
            .count();
        right as f64 / values.len().max(1) as f64
    };
    let train_readings = readings(&data.train);
    let test_readings = readings(&data.test);
    let results = ArithResults {
        program_acc: correct as f64 / tasks.len().max(1) as f64,
        symbolic_acc: symbolic_acc(&train_readings, &data.train.labels),
        test_symbolic_acc: symbolic_acc(&test_readings, &data.test.labels),
        loss,
        test_loss,
        ood_loss,
        ..ArithResults::describing(config, tasks.len(), stats)
    };
    Evaluation {
        results,
        tasks: outcomes,
        grounding: class_readings(&test_readings, &data.test.labels),
        test_readings,
    }
}

/// Whether `program` computes the task's equation on the ground-truth digits of its test
/// examples (allclose).
fn computes(program: &Program, task: &Task, test: &ImageSet) -> bool {
    task.test.iter().all(|e| {
        let x = e
            .images
            .map(|i| f32::from(test.labels[i as usize]) * DIGIT_SCALE);
        let want = task.equation.eval(&x).unwrap_or(f32::NAN);
        let got = program.eval(&x).unwrap_or(f32::NAN);
        (got - want).abs() <= 1e-4 + 1e-3 * want.abs()
    })
}

pub(super) fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    sum / count.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::class_readings;

    #[test]
    fn class_readings_name_the_digit_each_class_is_read_as() {
        // Class 1 reads as 1 (twice), class 2 as 5 (a wrong grounding), class 0 split.
        let readings = [0.0, 0.31, 0.1, 0.12, 0.5, 0.46];
        let labels = [0, 0, 1, 1, 2, 2];
        let classes = class_readings(&readings, &labels);
        assert_eq!(
            classes.iter().map(|c| c.class).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let [zero, one, two] = [&classes[0], &classes[1], &classes[2]];
        assert_eq!(
            (one.usual_digit, one.usual_share, one.correct_share),
            (1, 1.0, 1.0)
        );
        assert!((one.mean_reading - 1.1).abs() < 1e-5);
        assert_eq!((two.usual_digit, two.correct_share), (5, 0.0));
        assert_eq!(
            (zero.images, zero.usual_share, zero.correct_share),
            (2, 0.5, 0.5)
        );
    }
}
