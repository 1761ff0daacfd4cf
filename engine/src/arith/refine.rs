//! Test-time refinement: the amortized policy's logits for a task are where a short
//! per-task search starts, not its answer. With the CNN frozen, each task's logits are
//! optimised the way training optimised the policy (the method's relaxation, min-sampling,
//! the length penalty) on the task's own train examples, in several independent chains. The
//! paper's Table 2 reports test-time refinement beside methods that have it; here it adds
//! candidate programs that min-sampling at test weighs with the policy's own draws on
//! held-out train examples, so it only replaces the policy's best draw by a program that
//! scores better there.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

use super::loss::min_sampling_fit;
use super::tasks::{Example, VARIABLES, ops};
use crate::dsl::Program;
use crate::relaxed::{Architecture, ArchitectureLogits, LogitParams, Relaxation, repeat_tasks};
use crate::train::scalar;

/// How long and how widely to refine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefineConfig {
    /// Adam steps (0: no refinement).
    pub steps: usize,
    /// Independent chains per task, each from the same start with its own noise.
    pub chains: usize,
    /// Train examples per task and step.
    pub examples: usize,
    pub learning_rate: f64,
    /// Temperature of the relaxation at the first and the last step (geometric in between).
    pub temperature: [f64; 2],
    /// Min-sampling draws per chain and step (the chain's mode among them).
    pub samples: usize,
    /// λ of the length penalty, on throughout.
    pub length_penalty: f64,
    /// The chains start from the policy's logits times this: below 1 they start less sure
    /// of the policy's mode and explore around it.
    pub start_scale: f64,
    /// Gumbel-max draws from each chain's distribution at the end of each quarter, beside its
    /// mode: min-sampling over what the chain has learned, not only its most likely program.
    pub draws: usize,
    /// The draws are from softmax(logits / this): above 1 they stray further from the mode.
    pub draw_temperature: f64,
    /// Adam steps of a second search, started from each task's best program after the
    /// first (0: none): it looks near that program for one that fits better.
    pub polish_steps: usize,
    /// That search starts from the best program's one-hot α times this.
    pub polish_start_scale: f64,
}

impl RefineConfig {
    /// Steps of both searches, as progress counts them.
    pub fn total_steps(&self) -> usize {
        self.steps + self.polish().steps
    }

    /// The second search: the first's settings from the best programs' α. It polishes what
    /// the first found, so without a first search there is none.
    pub fn polish(&self) -> Self {
        Self {
            steps: if self.steps == 0 {
                0
            } else {
                self.polish_steps
            },
            start_scale: self.polish_start_scale,
            ..self.clone()
        }
    }
}

impl Default for RefineConfig {
    fn default() -> Self {
        Self {
            steps: 600,
            chains: 16,
            examples: 64,
            learning_rate: 0.1,
            temperature: [1.0, 0.1],
            samples: 3,
            length_penalty: 1e-4,
            start_scale: 0.03,
            draws: 16,
            draw_temperature: 3.0,
            polish_steps: 300,
            polish_start_scale: 3.0,
        }
    }
}

/// What each task's search fits: `values[t]` are the CNN's readings of `examples[t]`,
/// `weights[t]` the task's loss weight.
pub struct SearchTasks<'a> {
    pub values: &'a [Vec<[f32; VARIABLES]>],
    pub examples: &'a [Vec<Example>],
    pub weights: &'a [f32],
}

/// Candidate programs from refining `start` (one row per task, any device): every chain's
/// mode and `draws` programs drawn from it at the end of each quarter of the search.
/// `draws(logits, temperature, k)` gives min-sampling's k relaxed programs per row the way
/// the method trained (so that an ablation stays one at test); `progress` hears
/// `(steps done, steps)`.
pub fn refine(
    start: &ArchitectureLogits,
    search: &SearchTasks<'_>,
    config: &RefineConfig,
    draws: impl Fn(&ArchitectureLogits, f64, usize) -> Architecture,
    seed: u64,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<Vec<Program>> {
    let SearchTasks {
        values,
        examples,
        weights,
    } = *search;
    let tasks = start.tasks();
    let mut candidates = vec![Vec::new(); tasks];
    if config.steps == 0 || tasks == 0 || examples.iter().any(Vec::is_empty) {
        return candidates;
    }
    let device = &device.clone().autodiff();
    // Seeded here: the Gumbel draws of the search make the same candidates every time.
    device.seed(seed);
    let ops = ops();
    let chains = config.chains.max(1);
    let rows = tasks * chains;
    let k = config.samples.max(1);
    let n = config.examples.max(1);
    // One row per chain: `[tasks · chains, lines, …]`.
    let mut logits = LogitParams::new(start.map(|t| {
        repeat_tasks(
            Tensor::<3>::from_data(t.into_data(), device).mul_scalar(config.start_scale),
            chains,
        )
    }));
    let mut optimizer = crate::train::adam().init();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let row_weights = Tensor::<1>::from_data(
        TensorData::new((0..rows).map(|r| weights[r / chains]).collect(), [rows]),
        device,
    );
    let [first, last] = config.temperature;
    let checkpoints = [1, 2, 3, 4].map(|q| q * config.steps / 4);
    let mut learned_at_checkpoints = Vec::with_capacity(checkpoints.len());
    for step in 0..config.steps {
        // Each chain sees its own minibatch of its task's examples.
        let mut inputs = Vec::with_capacity(rows * VARIABLES * n);
        let mut targets = Vec::with_capacity(rows * n);
        let mut picked = Vec::with_capacity(n);
        for r in 0..rows {
            let t = r / chains;
            picked.clear();
            picked.extend((0..n).map(|_| rng.random_range(0..examples[t].len())));
            let task_values = &values[t];
            // Variable-major, as `[rows, VARIABLES, n]` lays them out.
            inputs.extend(
                (0..VARIABLES).flat_map(|v| picked.iter().map(move |&i| task_values[i][v])),
            );
            targets.extend(picked.iter().map(|&i| examples[t][i].output));
        }
        let x = Tensor::<3>::from_data(TensorData::new(inputs, [rows, VARIABLES, n]), device);
        let y = Tensor::<2>::from_data(TensorData::new(targets, [rows, n]), device);
        let fraction = step as f64 / (config.steps.max(2) - 1) as f64;
        let temperature = first * (last / first).powf(fraction);
        let (fit, length) = min_sampling_fit(
            &draws(&logits.logits(), temperature, k),
            k,
            x,
            y,
            row_weights.clone(),
            &ops,
        );
        let loss = fit + length * config.length_penalty;
        if scalar(&loss).is_finite() {
            let grads = GradientsParams::from_grads(loss.backward(), &logits);
            logits = optimizer.step(config.learning_rate, logits, grads);
        }
        if checkpoints.contains(&(step + 1)) {
            let learned = logits.logits().map(Tensor::detach);
            if let Ok(modes) = learned.probabilities().discretize(&ops) {
                for (r, program) in modes.into_iter().enumerate() {
                    candidates[r / chains].push(program);
                }
            }
            learned_at_checkpoints.push(learned);
        }
        progress(step + 1, config.steps);
    }
    // Drawn after the search, so that the draws leave its random stream as it was.
    let scale = 1.0 / config.draw_temperature.max(1e-3);
    for learned in learned_at_checkpoints {
        let drawn = gumbel_max_programs(&learned.map(|t| t.mul_scalar(scale)), config.draws);
        for (r, programs) in drawn.into_iter().enumerate() {
            candidates[r / chains].extend(programs);
        }
    }
    candidates
}

/// `draws` discrete programs per row of `logits`, each a Gumbel-max draw from softmax(logits).
pub(super) fn gumbel_max_programs(logits: &ArchitectureLogits, draws: usize) -> Vec<Vec<Program>> {
    let rows = logits.tasks();
    let mut programs = vec![Vec::with_capacity(draws); rows];
    // In rounds, so that a thousand draws for a hundred rows do not hold all their one-hot
    // architectures at once.
    let per_round = (ARCHITECTURES_PER_ROUND / rows.max(1)).max(1);
    let ops = ops();
    let mut left = draws;
    while left > 0 {
        let round = left.min(per_round);
        left -= round;
        let drawn = logits
            .relax_k(Relaxation::StraightThrough { temperature: 1.0 }, round)
            .discretize(&ops);
        if let Ok(drawn) = drawn {
            for (i, p) in drawn.into_iter().enumerate() {
                programs[i / round].push(p);
            }
        }
    }
    programs
}

const ARCHITECTURES_PER_ROUND: usize = 3200;

#[cfg(test)]
mod tests {
    use rand::Rng as _;

    use super::*;
    use crate::dsl::Line;

    /// Draws follow the logits: a sharp distribution gives its mode every time, a flat one
    /// many programs.
    #[test]
    fn gumbel_max_draws_follow_the_logits() {
        let device = Device::flex();
        device.seed(5);
        let ops = ops();
        let program = Program::new(
            ops.clone(),
            VARIABLES,
            vec![
                Line {
                    op: 2,
                    left: 0,
                    right: 1,
                },
                Line {
                    op: 0,
                    left: 3,
                    right: 2,
                },
            ],
        )
        .unwrap();
        let one_hot = Architecture::one_hot(&program, &device);
        let sharp = ArchitectureLogits {
            op_logits: one_hot.op_probs.mul_scalar(50.0),
            left_logits: one_hot.left_probs.mul_scalar(50.0),
            right_logits: one_hot.right_probs.mul_scalar(50.0),
            inputs: VARIABLES,
        };
        let drawn = gumbel_max_programs(&sharp, 40);
        assert_eq!(drawn.len(), 1);
        assert_eq!(drawn[0].len(), 40);
        assert!(drawn[0].iter().all(|p| *p == program));

        let flat = ArchitectureLogits::uniform(2, VARIABLES, 2, ops.len(), &device);
        let drawn = gumbel_max_programs(&flat, 40);
        assert_eq!(drawn.iter().map(Vec::len).collect::<Vec<_>>(), [40, 40]);
        let distinct = drawn[0].iter().filter(|p| **p != drawn[0][0]).count();
        assert!(
            distinct > 20,
            "{distinct} of 40 draws differ from the first"
        );
    }

    /// From uniform logits and exact readings, the search alone finds small equations.
    #[test]
    fn refinement_finds_equations_from_exact_readings() {
        let device = Device::flex();
        device.seed(7);
        let equations: [fn([f32; 3]) -> f32; 3] = [
            |[a, b, c]| a * b + c,
            |[a, b, c]| (a - b) * c,
            |[a, b, _]| a * a - b,
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let values: Vec<Vec<[f32; VARIABLES]>> = equations
            .iter()
            .map(|_| {
                (0..64)
                    .map(|_| std::array::from_fn(|_| f32::from(rng.random_range(0..10u8)) / 10.0))
                    .collect()
            })
            .collect();
        let examples: Vec<Vec<Example>> = equations
            .iter()
            .zip(&values)
            .map(|(f, xs)| {
                xs.iter()
                    .map(|&x| Example {
                        images: [0; VARIABLES],
                        output: f(x),
                    })
                    .collect()
            })
            .collect();
        let config = RefineConfig {
            steps: 300,
            chains: 8,
            ..RefineConfig::default()
        };
        let start =
            ArchitectureLogits::uniform(equations.len(), VARIABLES, 12, ops().len(), &device);
        let search = SearchTasks {
            values: &values,
            examples: &examples,
            weights: &[1.0; 3],
        };
        let draws = |logits: &ArchitectureLogits, temperature, k| {
            logits.relax_k_with_mode(Relaxation::GumbelSoftmax { temperature }, k)
        };
        let mut done = 0;
        let candidates = refine(
            &start,
            &search,
            &config,
            draws,
            3,
            &device,
            &mut |step, _| done = step,
        );
        assert_eq!(done, config.steps, "progress hears the last step");
        for ((pool, xs), f) in candidates.iter().zip(&values).zip(equations) {
            assert_eq!(
                pool.len(),
                4 * config.chains * (1 + config.draws),
                "a mode and its draws per chain and quarter"
            );
            let found = pool.iter().any(|p| {
                xs.iter()
                    .all(|x| (p.eval(x).unwrap_or(f32::NAN) - f(*x)).abs() < 1e-4)
            });
            assert!(found, "no chain found the equation");
        }
    }
}
