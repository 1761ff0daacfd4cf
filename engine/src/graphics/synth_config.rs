//! What a per-shape synthesis runs with: the sketch, the schedule, the priors, the loss.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::SketchConfig;
use crate::data::Crop;
use crate::train::{Fault, TemperatureSchedule};

/// Default [`SynthConfig::chain_bias`]: a prior towards the chain `l_i = op(l_{i−1}, p_i)`
/// soft enough that α starts genuinely uncertain (the chained argument has p ≈ 0.5 among
/// ~40 choices; mean normalized entropy ≈ 0.8 over 32 parts and 20 lines), strong enough
/// that the first programs are deep rather than the one-part programs uniform logits favour.
pub const CHAIN_PRIOR: f64 = 3.5;

/// Default [`SynthConfig::union_bias`]: union (difference on lines whose chained part sits
/// in a cavity) is likelier than the other operators at the start (p ≈ 0.6). Weaker priors
/// let early steps, before the parts have moved, turn lines into skips for good: on the
/// biplane, the chair and the mug, 0.7 kept 3–4 lines and IoU 0.71–0.73.
pub const UNION_PRIOR: f64 = 1.5;

/// Settings of [`synthesize`]; the defaults are `roap synth`'s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthConfig {
    pub sketch: SketchConfig,
    pub steps: usize,
    /// Labelled points drawn from the shape once (IM-NET style, biased to the surface).
    pub sample_points: usize,
    /// Of those, the points each step's loss sees.
    pub batch_points: usize,
    /// Adam step size of the architecture logits.
    pub architecture_learning_rate: f64,
    /// Adam step size of the parts, transforms and library.
    pub shape_learning_rate: f64,
    pub temperature: TemperatureSchedule,
    /// λ: weight of the expected program length from halfway through training.
    pub length_penalty: f64,
    /// How occupancies are compared with the labels.
    pub loss: FitLoss,
    /// Min-sampling while training: architectures drawn per step, the best one optimised.
    pub min_samples: usize,
    /// Independent starts trained side by side as tasks of one batch (as `recover` runs its
    /// restarts); the best discrete program any of them reaches is kept.
    pub restarts: usize,
    /// Of the discrete programs the reports saw, the shortest whose fit error
    /// ([`super::Score::error`]) is within this fraction of the best one is kept: a user wants the
    /// simplest program that fits. After polishing, lines go while the error stays within
    /// half this fraction ([`super::prune`]).
    pub simplicity_tolerance: f64,
    /// After the search: steps that fit the kept program's parts with its architecture
    /// frozen, so the parts fit the discrete program the user gets rather than the soft
    /// mixture they were trained under. Part of `steps`, at most a third of them.
    pub polish_steps: usize,
    /// Adam step size while polishing: smaller than the search's, because a fresh Adam
    /// moves every parameter by about its step size at once, which undoes a fitted part
    /// (measured on the suite: at 0.02 polish made 3 of 5 programs worse, at 0.005 none).
    pub polish_learning_rate: f64,
    /// `false`: plain softmax, the "w/o gumbel-softmax" ablation.
    pub gumbel: bool,
    /// See [`Initialization::chain_bias`].
    pub chain_bias: f64,
    /// See [`Initialization::union_bias`].
    pub union_bias: f64,
    /// See [`Initialization::gate`].
    pub initial_gate: f64,
    /// Every this many steps: the discrete program and its metrics are reported.
    pub report_every: usize,
    /// Every this many steps: α is reported (cheap; viewers keep a history of it).
    pub snapshot_every: usize,
    /// Resolution at which the discrete program is voxelized for metrics and meshes.
    pub eval_resolution: usize,
    /// The region the input does not show (3D completion): no samples are fitted there and
    /// no voxels scored there, so the program is free to complete the shape.
    pub unseen: Crop,
    pub seed: u64,
    /// A numerical fault to inject (tests of the non-finite rule only).
    #[serde(skip)]
    pub fault: Option<Fault>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            sketch: SketchConfig::synthesis_3d(),
            steps: 1200,
            sample_points: crate::data::DEFAULT_SAMPLE_POINTS,
            batch_points: 4096,
            // Slower than the parts, so operators are chosen after the parts have settled.
            architecture_learning_rate: 0.02,
            shape_learning_rate: 0.02,
            temperature: TemperatureSchedule::Exponential {
                start: 1.0,
                end: 0.02,
            },
            length_penalty: 1e-4,
            loss: FitLoss::CrossEntropy,
            min_samples: 2,
            restarts: 2,
            simplicity_tolerance: 0.1,
            polish_steps: 400,
            polish_learning_rate: 0.005,
            gumbel: true,
            chain_bias: CHAIN_PRIOR,
            union_bias: UNION_PRIOR,
            initial_gate: 0.5,
            report_every: 100,
            snapshot_every: 20,
            eval_resolution: 64,
            unseen: Crop::None,
            seed: 0,
            fault: None,
        }
    }
}

impl SynthConfig {
    /// The defaults for a target of dimension `dim`: [`Self::paper_2d`] for images, the
    /// 3D defaults otherwise. What the CLI's and the app's settings start from.
    pub fn for_dim(dim: usize) -> Self {
        if dim == 2 {
            Self::paper_2d()
        } else {
            Self::default()
        }
    }

    /// The paper's 2D setting (App. B.2): a simple, two symmetry and one repeated component,
    /// 20 lines each over 16 circles and 16 squares, fitted to a 64×64 image.
    ///
    /// The priors lean harder on the chain than in 3D: with 3D's, early steps turn most of
    /// the four components' lines into skips before the parts have moved (images 0, 3 and
    /// 6 of BSP-Net's set: 1.42 / 0.81 / 0.80 px; with these 0.52 / 0.50 / 0.18 px), and α
    /// still starts uncertain (mean normalized entropy 0.56).
    pub fn paper_2d() -> Self {
        Self {
            sketch: SketchConfig::paper_2d(),
            chain_bias: 4.25,
            union_bias: 2.25,
            ..Self::default()
        }
    }
}

/// The per-point fit term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FitLoss {
    /// Squared error, as IM-NET trains. Its gradient vanishes where a part is confidently
    /// wrong (a saturated sigmoid), so misplaced parts barely move.
    SquaredError,
    /// Binary cross-entropy: the gradient on a part's logit is `o − y`, never vanishing
    /// where the part is wrong.
    CrossEntropy,
}

impl FitLoss {
    /// Mean over points: `occupancy [R, N]`, `labels [1, N]` → `[R, 1]`.
    pub fn per_row(self, occupancy: Tensor<2>, labels: Tensor<2>) -> Tensor<2> {
        match self {
            Self::SquaredError => (occupancy - labels).powi_scalar(2).mean_dim(1),
            Self::CrossEntropy => {
                let o = occupancy.clamp(1.0e-6, 1.0 - 1.0e-6);
                let inside = labels.clone() * o.clone().log();
                let outside = (labels.neg() + 1.0) * (o.neg() + 1.0).log();
                (inside + outside).neg().mean_dim(1)
            }
        }
    }
}
