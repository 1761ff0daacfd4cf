//! The soft program architecture α (paper Fig. 2 and Eq. 3): for each task and code line,
//! a distribution over operators and over the earlier lines feeding its left and right
//! arguments.

use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData, activation::softmax};

use crate::dsl::{DslError, Line, OpSet, Program};

/// Unnormalised scores of α as a policy emits them.
///
/// # Shapes
/// `op_logits [T, L, O]`, `left_logits [T, L, V + L]`, `right_logits [T, L, V + L]`.
/// Entries of line `c` at columns `>= V + c` are ignored: the causal mask removes them.
#[derive(Clone, Debug)]
pub struct ArchitectureLogits {
    pub op_logits: Tensor<3>,
    pub left_logits: Tensor<3>,
    pub right_logits: Tensor<3>,
    /// Number of input lines `V`.
    pub inputs: usize,
}

impl ArchitectureLogits {
    /// The same logits with `f` applied to each of the three tensors.
    pub fn map(&self, f: impl Fn(Tensor<3>) -> Tensor<3>) -> Self {
        Self {
            op_logits: f(self.op_logits.clone()),
            left_logits: f(self.left_logits.clone()),
            right_logits: f(self.right_logits.clone()),
            inputs: self.inputs,
        }
    }
}

/// Architecture logits as trainable parameters: the free logits of a per-task search.
#[derive(Module, Debug)]
pub struct LogitParams {
    op: Param<Tensor<3>>,
    left: Param<Tensor<3>>,
    right: Param<Tensor<3>>,
    inputs: usize,
}

impl LogitParams {
    pub fn new(start: ArchitectureLogits) -> Self {
        Self {
            op: Param::from_tensor(start.op_logits),
            left: Param::from_tensor(start.left_logits),
            right: Param::from_tensor(start.right_logits),
            inputs: start.inputs,
        }
    }

    pub fn logits(&self) -> ArchitectureLogits {
        ArchitectureLogits {
            op_logits: self.op.val(),
            left_logits: self.left.val(),
            right_logits: self.right.val(),
            inputs: self.inputs,
        }
    }
}

/// α itself: rows that sum to one (relaxed one-hot vectors).
///
/// # Shapes
/// `op_probs [T, L, O]`, `left_probs [T, L, V + L]`, `right_probs [T, L, V + L]`, exactly
/// zero where the causal mask forbids a line.
#[derive(Clone, Debug)]
pub struct Architecture {
    pub op_probs: Tensor<3>,
    pub left_probs: Tensor<3>,
    pub right_probs: Tensor<3>,
    pub inputs: usize,
}

/// How logits become α.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relaxation {
    /// Gumbel-softmax (Jang et al. 2016): perturb with Gumbel noise, softmax at `temperature`.
    GumbelSoftmax { temperature: f64 },
    /// Gumbel-softmax whose forward value is the one-hot argmax; gradients pass through the
    /// soft sample (straight-through estimator).
    StraightThrough { temperature: f64 },
    /// Plain softmax at `temperature`, no noise: the paper's "w/o gumbel-softmax" ablation.
    Softmax { temperature: f64 },
}

impl Relaxation {
    /// What a training step relaxes through: Gumbel-softmax at `temperature`, or plain
    /// softmax where the Gumbel noise is switched off (the ablation).
    pub fn annealed(gumbel: bool, temperature: f64) -> Self {
        if gumbel {
            Self::GumbelSoftmax { temperature }
        } else {
            Self::Softmax { temperature }
        }
    }
}

/// `[L, V + L]`, true where code line `c` may not read column `j` (`j >= V + c`).
pub fn causal_mask(inputs: usize, lines: usize, device: &Device) -> Tensor<2, Bool> {
    let width = inputs + lines;
    let forbidden: Vec<bool> = (0..lines * width)
        .map(|at| at % width >= inputs + at / width)
        .collect();
    Tensor::<2, Bool>::from_data(TensorData::new(forbidden, [lines, width]), device)
}

impl ArchitectureLogits {
    /// Zero logits (uniform α) for `tasks` tasks of `inputs` input lines and `lines` code lines.
    pub fn uniform(tasks: usize, inputs: usize, lines: usize, ops: usize, device: &Device) -> Self {
        Self {
            op_logits: Tensor::zeros([tasks, lines, ops], device),
            left_logits: Tensor::zeros([tasks, lines, inputs + lines], device),
            right_logits: Tensor::zeros([tasks, lines, inputs + lines], device),
            inputs,
        }
    }

    /// Logits that are the one-hot α of `programs`, one row each: a search started from them
    /// (times a scale) starts at those programs.
    ///
    /// # Errors
    /// If the programs differ in inputs, lines or operators, or there are none.
    pub fn of_programs(programs: &[Program], device: &Device) -> Result<Self, DslError> {
        let Some(first) = programs.first() else {
            return Err(DslError::Invalid("no programs".into()));
        };
        let shape = |p: &Program| (p.inputs(), p.lines().len(), p.ops().len());
        if programs.iter().any(|p| shape(p) != shape(first)) {
            return Err(DslError::Invalid(
                "programs of different shapes cannot share one α".into(),
            ));
        }
        let rows: Vec<Architecture> = programs
            .iter()
            .map(|p| Architecture::one_hot(p, device))
            .collect();
        let cat = |part: fn(&Architecture) -> &Tensor<3>| {
            Tensor::cat(rows.iter().map(|a| part(a).clone()).collect(), 0)
        };
        Ok(Self {
            op_logits: cat(|a| &a.op_probs),
            left_logits: cat(|a| &a.left_probs),
            right_logits: cat(|a| &a.right_probs),
            inputs: first.inputs(),
        })
    }

    /// Logits drawn from a standard normal, scaled by `scale`.
    pub fn random(
        tasks: usize,
        inputs: usize,
        lines: usize,
        ops: usize,
        scale: f64,
        device: &Device,
    ) -> Self {
        let normal = Distribution::Normal(0.0, scale);
        Self {
            op_logits: Tensor::random([tasks, lines, ops], normal, device),
            left_logits: Tensor::random([tasks, lines, inputs + lines], normal, device),
            right_logits: Tensor::random([tasks, lines, inputs + lines], normal, device),
            inputs,
        }
    }

    pub fn tasks(&self) -> usize {
        self.op_logits.dims()[0]
    }

    pub fn lines(&self) -> usize {
        self.op_logits.dims()[1]
    }

    pub fn ops(&self) -> usize {
        self.op_logits.dims()[2]
    }

    /// α by softmax at temperature 1, without noise: the policy's own probabilities.
    pub fn probabilities(&self) -> Architecture {
        self.relax(Relaxation::Softmax { temperature: 1.0 })
    }

    /// Draws α (one sample per task) the way `relaxation` says.
    pub fn relax(&self, relaxation: Relaxation) -> Architecture {
        let device = self.op_logits.device();
        let [tasks, lines, _] = self.op_logits.dims();
        let mask = causal_mask(self.inputs, lines, &device)
            .unsqueeze_dim::<3>(0)
            .expand([tasks, lines, self.inputs + lines]);
        // A large finite value rather than -inf keeps softmax's backward free of NaN.
        let masked = |logits: &Tensor<3>| logits.clone().mask_fill(mask.clone(), -1.0e9);
        Architecture {
            op_probs: relax_rows(self.op_logits.clone(), relaxation),
            left_probs: relax_rows(masked(&self.left_logits), relaxation),
            right_probs: relax_rows(masked(&self.right_logits), relaxation),
            inputs: self.inputs,
        }
    }

    /// `k` independent draws per task, task-major (draw `s` of task `t` is task `t·k + s`),
    /// for min-sampling. Pair with [`repeat_tasks`] on the inputs.
    pub fn relax_k(&self, relaxation: Relaxation, k: usize) -> Architecture {
        let repeated = Self {
            op_logits: repeat_tasks(self.op_logits.clone(), k),
            left_logits: repeat_tasks(self.left_logits.clone(), k),
            right_logits: repeat_tasks(self.right_logits.clone(), k),
            inputs: self.inputs,
        };
        repeated.relax(relaxation)
    }
}

impl ArchitectureLogits {
    /// Like [`Self::relax_k`], but draw 0 of every task is the noise-free softmax at the
    /// relaxation's temperature: min-sampling then always weighs the policy's own mode
    /// against `k − 1` noisy draws, so a run never trains on noise alone.
    pub fn relax_k_with_mode(&self, relaxation: Relaxation, k: usize) -> Architecture {
        let temperature = match relaxation {
            Relaxation::Softmax { temperature }
            | Relaxation::GumbelSoftmax { temperature }
            | Relaxation::StraightThrough { temperature } => temperature,
        };
        let mode = self.relax(Relaxation::Softmax { temperature });
        if k <= 1 {
            return mode;
        }
        let draws = self.relax_k(relaxation, k - 1);
        let tasks = self.tasks();
        let merge = |mode: Tensor<3>, draws: Tensor<3>| {
            let [_, rows, cols] = mode.dims();
            Tensor::cat(
                vec![
                    mode.unsqueeze_dim::<4>(1),
                    draws.reshape([tasks, k - 1, rows, cols]),
                ],
                1,
            )
            .reshape([tasks * k, rows, cols])
        };
        Architecture {
            op_probs: merge(mode.op_probs, draws.op_probs),
            left_probs: merge(mode.left_probs, draws.left_probs),
            right_probs: merge(mode.right_probs, draws.right_probs),
            inputs: self.inputs,
        }
    }
}

/// The chain `l_i = op(l_{i−1}, p_i)` that the priors of synthesis and of the policy lean
/// towards: the column (among `inputs` inputs, then the lines) that code line `line` of
/// `lines` reads on the left (`left`) or the right. Line 0 starts from input `lines % inputs`,
/// so the chain's inputs do not begin where its right arguments do.
pub fn chain_argument(left: bool, line: usize, inputs: usize, lines: usize) -> usize {
    match (left, line) {
        (true, 0) => lines % inputs,
        (true, _) => inputs + line - 1,
        (false, _) => line % inputs,
    }
}

/// `[T, N]` → `[T·k, N]`, each row repeated `k` times (task-major, like [`repeat_tasks`]).
pub fn repeat_rows(t: Tensor<2>, k: usize) -> Tensor<2> {
    let [tasks, n] = t.dims();
    repeat_tasks(t.unsqueeze_dim::<3>(1), k).reshape([tasks * k, n])
}

/// Repeats each task `k` times along dim 0, task-major.
pub fn repeat_tasks(tensor: Tensor<3>, k: usize) -> Tensor<3> {
    let [tasks, rows, cols] = tensor.dims();
    if k <= 1 {
        return tensor;
    }
    // A concatenation of contiguous copies: a plain memory copy on the CPU backend, where
    // reshaping an expanded (strided) view copied element by element.
    let one = tensor.unsqueeze_dim::<4>(1);
    Tensor::cat(vec![one; k], 1).reshape([tasks * k, rows, cols])
}

fn relax_rows(logits: Tensor<3>, relaxation: Relaxation) -> Tensor<3> {
    match relaxation {
        Relaxation::Softmax { temperature } => softmax(logits / temperature, 2),
        Relaxation::GumbelSoftmax { temperature } => {
            let noise = gumbel_noise(logits.dims(), &logits.device());
            softmax((logits + noise) / temperature, 2)
        }
        Relaxation::StraightThrough { temperature } => {
            let noise = gumbel_noise(logits.dims(), &logits.device());
            let soft = softmax((logits + noise) / temperature, 2);
            let classes = soft.dims()[2];
            let hard = soft
                .clone()
                .argmax(2)
                .squeeze_dim::<2>(2)
                .one_hot::<3>(classes)
                .float();
            hard - soft.clone().detach() + soft
        }
    }
}

/// Standard Gumbel noise `-ln(-ln U)`, `U ~ Uniform(0, 1)` kept away from 0 and 1.
pub fn gumbel_noise<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    let uniform = Tensor::<D>::random(shape, Distribution::Uniform(1.0e-10, 1.0 - 1.0e-7), device);
    uniform.log().neg().log().neg().detach()
}

impl Architecture {
    pub fn tasks(&self) -> usize {
        self.op_probs.dims()[0]
    }

    pub fn lines(&self) -> usize {
        self.op_probs.dims()[1]
    }

    /// The most likely discrete program of each task (argmax of every row).
    ///
    /// # Errors
    /// If `ops` has a different number of operators than α.
    pub fn discretize(&self, ops: &OpSet) -> Result<Vec<Program>, DslError> {
        if ops.len() != self.op_probs.dims()[2] {
            return Err(DslError::Invalid(format!(
                "α has {} operators, the op set {}",
                self.op_probs.dims()[2],
                ops.len()
            )));
        }
        let argmax = |t: &Tensor<3>| -> Vec<usize> {
            let ids: Tensor<2, Int> = t.clone().argmax(2).squeeze_dim(2);
            ids.into_data()
                .convert::<i64>()
                .try_into_vec::<i64>()
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.max(0) as usize)
                .collect()
        };
        let (op_ids, left_ids, right_ids) = (
            argmax(&self.op_probs),
            argmax(&self.left_probs),
            argmax(&self.right_probs),
        );
        let lines = self.lines();
        (0..self.tasks())
            .map(|task| {
                let code = (0..lines)
                    .map(|c| {
                        let at = task * lines + c;
                        Line {
                            op: op_ids.get(at).copied().unwrap_or(0),
                            left: left_ids.get(at).copied().unwrap_or(0),
                            right: right_ids.get(at).copied().unwrap_or(0),
                        }
                    })
                    .collect();
                Program::new(ops.clone(), self.inputs, code)
            })
            .collect()
    }

    /// α of a discrete program: one-hot rows (for tests and for re-running a program softly).
    pub fn one_hot(program: &Program, device: &Device) -> Self {
        let inputs = program.inputs();
        let lines = program.lines().len();
        let ops = program.ops().len();
        let width = inputs + lines;
        let mut op = vec![0.0f32; lines * ops];
        let mut left = vec![0.0f32; lines * width];
        let mut right = vec![0.0f32; lines * width];
        for (c, line) in program.lines().iter().enumerate() {
            op[c * ops + line.op] = 1.0;
            left[c * width + line.left] = 1.0;
            right[c * width + line.right] = 1.0;
        }
        let tensor = |data: Vec<f32>, cols: usize| {
            Tensor::<3>::from_data(TensorData::new(data, [1, lines, cols]), device)
        };
        Self {
            op_probs: tensor(op, ops),
            left_probs: tensor(left, width),
            right_probs: tensor(right, width),
            inputs,
        }
    }
}
