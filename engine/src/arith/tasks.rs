//! CIFAR-MATH tasks (paper §4.1, App. A.1): hidden equations over three input variables
//! with one to three operators from {+, −, ×}; each task's examples are image triples whose
//! classes, read as digits and scaled by 1/10, go through the equation.

use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng as _};
use serde::{Deserialize, Serialize};

use super::images::ImageSet;
use crate::dsl::{Line, OpSet, Program, Semantics};

/// Input variables of every equation.
pub const VARIABLES: usize = 3;
/// Digits are scaled by this before the equation sees them (as the paper's code does).
pub const DIGIT_SCALE: f32 = 0.1;

/// One example: three images (indices into the train or test set) and the equation's value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub images: [u32; VARIABLES],
    pub output: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The hidden equation (over `add sub mul skip`, three inputs).
    pub equation: Program,
    /// Examples over the train images.
    pub train: Vec<Example>,
    /// Examples over the test images.
    pub test: Vec<Example>,
    /// The out-of-distribution task trains on digits 0–5 only; `ood` holds test examples
    /// with at least one digit 6–9 (empty for the other tasks).
    pub ood: Vec<Example>,
}

/// How many tasks, and examples each.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskConfig {
    pub tasks: usize,
    pub train_examples: usize,
    pub test_examples: usize,
    pub seed: u64,
}

/// The arithmetic operators in the order of the architecture's op axis.
pub fn ops() -> OpSet {
    OpSet::arithmetic()
}

/// A random expression tree with `operators` binary operators over the variables, written
/// as a straight-line program (post-order); no operator is one `skip` line reading a
/// variable.
fn random_equation(rng: &mut impl Rng, operators: usize) -> Program {
    fn build(rng: &mut impl Rng, operators: usize, lines: &mut Vec<Line>) -> usize {
        if operators == 0 {
            return rng.random_range(0..VARIABLES);
        }
        let left_share = rng.random_range(0..operators);
        let left = build(rng, left_share, lines);
        let right = build(rng, operators - 1 - left_share, lines);
        // add, sub, mul: the first three operators of `ops()`.
        let op = rng.random_range(0..3);
        lines.push(Line { op, left, right });
        VARIABLES + lines.len() - 1
    }
    let mut lines = Vec::new();
    if operators == 0 {
        // `skip`, the fourth operator of `ops()`.
        let variable = rng.random_range(0..VARIABLES);
        lines.push(Line {
            op: 3,
            left: variable,
            right: variable,
        });
    } else {
        build(rng, operators, &mut lines);
    }
    Program::new(ops(), VARIABLES, lines).unwrap_or_else(|_| {
        // Unreachable: every line reads earlier ids. A sum keeps the generator total.
        Program::new(
            ops(),
            VARIABLES,
            vec![Line {
                op: 0,
                left: 0,
                right: 1,
            }],
        )
        .unwrap_or_else(|_| unreachable!("x0 + x1 is a valid program"))
    })
}

/// A program over the arithmetic ops written as one expression over `a`, `b`, `c`, e.g.
/// `(a + b) * c`: shared lines are written out at every use, skips vanish.
pub fn formula(program: &Program) -> String {
    fn write(program: &Program, id: usize, top: bool) -> String {
        if id < VARIABLES {
            return ["a", "b", "c"][id].to_owned();
        }
        let line = &program.lines()[id - VARIABLES];
        let symbol = match program.ops().ops[line.op].semantics {
            Semantics::Add => "+",
            Semantics::Sub => "-",
            Semantics::Mul => "*",
            _ => return write(program, line.left, top),
        };
        let text = format!(
            "{} {symbol} {}",
            write(program, line.left, false),
            write(program, line.right, false)
        );
        if top { text } else { format!("({text})") }
    }
    write(program, program.output_id(), true)
}

/// The equation's value for digit labels.
pub fn evaluate(equation: &Program, digits: [u8; VARIABLES]) -> f32 {
    let inputs = digits.map(|d| f32::from(d) * DIGIT_SCALE);
    equation.eval(&inputs).unwrap_or(f32::NAN)
}

/// Equations that compute different functions (compared on fixed random points), with 0–3
/// operators ("up to 3", App. A.1: the three bare variables are tasks too); task 0 is the
/// out-of-distribution task.
pub fn generate(config: &TaskConfig, train: &ImageSet, test: &ImageSet) -> Vec<Task> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let probes: Vec<[f32; VARIABLES]> = (0..16)
        .map(|_| std::array::from_fn(|_| rng.random_range(0.0..1.0)))
        .collect();
    let signature = |p: &Program| -> Vec<i64> {
        probes
            .iter()
            .map(|x| (p.eval(x).unwrap_or(f32::NAN) * 1e4).round() as i64)
            .collect()
    };
    let mut seen = std::collections::HashSet::new();
    let mut equations = Vec::new();
    let mut attempts = 0;
    while equations.len() < config.tasks && attempts < config.tasks * 200 {
        attempts += 1;
        let operators = rng.random_range(0..=3);
        let equation = random_equation(&mut rng, operators);
        if seen.insert(signature(&equation)) {
            equations.push(equation);
        }
    }
    let by_label = |set: &ImageSet, allowed: &dyn Fn(u8) -> bool| -> Vec<u32> {
        (0..set.len() as u32)
            .filter(|&i| allowed(set.labels[i as usize]))
            .collect()
    };
    let train_all = by_label(train, &|_| true);
    let train_small = by_label(train, &|d| d <= 5);
    let test_all = by_label(test, &|_| true);
    let examples = |rng: &mut rand::rngs::StdRng,
                    set: &ImageSet,
                    pool: &[u32],
                    equation: &Program,
                    count: usize,
                    keep: &dyn Fn([u8; VARIABLES]) -> bool| {
        let mut out = Vec::with_capacity(count);
        let mut tries = 0;
        while out.len() < count && tries < count * 100 && !pool.is_empty() {
            tries += 1;
            let images: [u32; VARIABLES] = std::array::from_fn(|_| *pool.choose(rng).unwrap_or(&0));
            let digits = images.map(|i| set.labels[i as usize]);
            if keep(digits) {
                out.push(Example {
                    images,
                    output: evaluate(equation, digits),
                });
            }
        }
        out
    };
    equations
        .into_iter()
        .enumerate()
        .map(|(t, equation)| {
            let ood_task = t == 0;
            let pool = if ood_task { &train_small } else { &train_all };
            let train_examples = examples(
                &mut rng,
                train,
                pool,
                &equation,
                config.train_examples,
                &|_| true,
            );
            let test_examples = examples(
                &mut rng,
                test,
                &test_all,
                &equation,
                config.test_examples,
                &|_| true,
            );
            let ood = if ood_task {
                examples(
                    &mut rng,
                    test,
                    &test_all,
                    &equation,
                    config.test_examples,
                    &|d| d.iter().any(|&x| x >= 6),
                )
            } else {
                Vec::new()
            };
            Task {
                equation,
                train: train_examples,
                test: test_examples,
                ood,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_read_like_the_equation() {
        let program: Program = "ops add=add sub=sub mul=mul skip=skip\ninputs 3\nl3 = add(l0, l1)\nl4 = skip(l3)\nl5 = mul(l4, l2)\nl6 = sub(l5, l0)\n"
            .parse()
            .unwrap();
        assert_eq!(formula(&program), "((a + b) * c) - a");
        let bare: Program = "ops add=add sub=sub mul=mul skip=skip\ninputs 3\nl3 = skip(l1)\n"
            .parse()
            .unwrap();
        assert_eq!(formula(&bare), "b");
    }

    fn digits_set(count: usize) -> ImageSet {
        ImageSet {
            channels: 1,
            height: 1,
            width: 1,
            pixels: vec![0.0; count],
            labels: (0..count).map(|i| (i % 10) as u8).collect(),
        }
    }

    #[test]
    fn tasks_are_distinct_equations_with_consistent_examples() {
        let set = digits_set(100);
        let config = TaskConfig {
            tasks: 40,
            train_examples: 30,
            test_examples: 10,
            seed: 1,
        };
        let tasks = generate(&config, &set, &set);
        assert_eq!(tasks.len(), 40);
        for task in &tasks {
            assert!(task.equation.length() <= 3, "{}", task.equation);
            assert_eq!(task.train.len(), 30);
            for e in task.train.iter().chain(&task.test) {
                let digits = e.images.map(|i| set.labels[i as usize]);
                assert_eq!(e.output, evaluate(&task.equation, digits));
            }
        }
        // Task 0 trains on small digits and tests on large ones.
        assert!(
            tasks[0]
                .train
                .iter()
                .all(|e| e.images.iter().all(|&i| set.labels[i as usize] <= 5))
        );
        assert!(!tasks[0].ood.is_empty());
        assert!(
            tasks[0]
                .ood
                .iter()
                .all(|e| e.images.iter().any(|&i| set.labels[i as usize] >= 6))
        );
        assert!(tasks[1..].iter().all(|t| t.ood.is_empty()));
    }
}
