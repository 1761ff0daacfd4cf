//! One rule, shared by every training loop, for a loss that is not a number.
//!
//! A step whose loss is NaN or ±∞, or whose parameters are, is **skipped**: no update, and
//! the step is counted. Gumbel noise or an overflowing product can do that once in a while,
//! and the next draw is fine; non-finite parameters are put back to the last good ones
//! first (a NaN need not show in the loss: `max` and `clamp` can hide it). After
//! [`PATIENCE`] skipped steps in a row the run **stops**: it keeps the last parameters whose
//! loss was finite, and its outcome says it stopped for this reason
//! ([`StopReason::NonFiniteLoss`]).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Skipped steps in a row after which a run stops.
pub const PATIENCE: usize = 20;

/// How a run ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    #[default]
    Finished,
    Cancelled,
    /// The loss was not a number for [`PATIENCE`] steps in a row; the run kept the last
    /// parameters whose loss was finite.
    NonFiniteLoss,
}

/// What to do with a step, given its loss and parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Finite: report it and update.
    Update,
    /// Not finite: no update (and the parameters are the last good ones if theirs were not
    /// finite); go on.
    Skip,
    /// Not finite too often: stop; the parameters are the last good ones.
    Stop,
    /// Not finite too often, and never finite before: there is nothing to keep.
    NeverFinite,
}

/// Applies the rule above, step by step, keeping the last good parameters of a model.
#[derive(Clone, Debug)]
pub struct NonFiniteGuard<M> {
    in_a_row: usize,
    skipped: usize,
    last_good: Option<M>,
}

impl<M> Default for NonFiniteGuard<M> {
    fn default() -> Self {
        Self {
            in_a_row: 0,
            skipped: 0,
            last_good: None,
        }
    }
}

impl<M: Module> NonFiniteGuard<M> {
    /// The verdict on a step of `model` whose loss is `loss`, before its update; puts
    /// `model` back to its last good parameters where the rule says so. A step that is not
    /// updated still has its backward pass run (its gradients dropped): burn would otherwise
    /// join the next step's graph to this unconsumed one through the shared parameters.
    pub fn judge(&mut self, loss: &Tensor<1>, model: &mut M) -> Verdict {
        let parameters = parameters_finite(model);
        if super::scalar(loss).is_finite() && parameters {
            self.in_a_row = 0;
            self.last_good = Some(model.clone());
            return Verdict::Update;
        }
        drop(loss.clone().backward());
        self.in_a_row += 1;
        self.skipped += 1;
        let stop = self.in_a_row >= PATIENCE;
        if (stop || !parameters)
            && let Some(good) = &self.last_good
        {
            *model = good.clone();
        }
        match (stop, self.last_good.is_some()) {
            (false, _) => Verdict::Skip,
            (true, true) => Verdict::Stop,
            (true, false) => Verdict::NeverFinite,
        }
    }

    /// Steps skipped so far.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

/// Whether every float parameter of `module` is finite (one reduction, one read).
pub fn parameters_finite<M: Module>(module: &M) -> bool {
    struct Sum(Option<Tensor<1>>);
    impl ModuleVisitor for Sum {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            // 0·x is 0 for every finite x and NaN for NaN and ±∞.
            let zero = param.val().detach().mul_scalar(0.0).sum();
            self.0 = Some(match self.0.take() {
                Some(sum) => sum + zero,
                None => zero,
            });
        }
    }
    let mut sum = Sum(None);
    module.visit(&mut sum);
    sum.0.is_none_or(|sum| super::scalar(&sum).is_finite())
}

/// A numerical fault to inject, so tests can check the rule in every loop (never set in
/// normal use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// The loss of this step only is NaN.
    LossAt(usize),
    /// At this step and every later one the model's parameters (part parameters, the CNN's
    /// weights and so its output) are NaN, as after an update that overflowed, again and
    /// again.
    ParametersFrom(usize),
}

impl Fault {
    /// `loss` poisoned if this is the faulty step.
    pub fn loss(fault: Option<Self>, step: usize, loss: Tensor<1>) -> Tensor<1> {
        match fault {
            Some(Self::LossAt(at)) if at == step => loss.mul_scalar(f32::NAN),
            _ => loss,
        }
    }

    /// `module` with every float parameter NaN from the step the fault starts at.
    pub fn parameters<M: Module>(fault: Option<Self>, step: usize, module: M) -> M {
        match fault {
            Some(Self::ParametersFrom(at)) if step >= at => module.map(&mut Poison),
            _ => module,
        }
    }
}

struct Poison;

impl ModuleMapper for Poison {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // A fresh leaf, as an optimizer step leaves it (a product of the old value would be
        // a graph node, which burn consumes at the next backward pass).
        param.map(|t| {
            let poisoned = Tensor::full(t.shape(), f32::NAN, &t.device());
            poisoned.set_require_grad(t.is_require_grad())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(value: f64) -> Tensor<1> {
        let device = burn::tensor::Device::flex().autodiff();
        Tensor::<1>::from_floats([value as f32], &device).require_grad()
    }

    #[test]
    fn the_guard_skips_restores_then_stops_and_a_finite_step_resets_it() {
        let device = burn::tensor::Device::flex();
        let good = burn::nn::LinearConfig::new(3, 2).init(&device);
        let mut model = good.clone();
        let mut guard = NonFiniteGuard::default();
        // Nothing good yet: twenty bad steps and there is nothing to keep.
        for _ in 1..PATIENCE {
            assert_eq!(guard.judge(&loss(f64::NAN), &mut model), Verdict::Skip);
        }
        assert_eq!(
            guard.judge(&loss(f64::NAN), &mut model),
            Verdict::NeverFinite
        );

        let mut guard = NonFiniteGuard::default();
        assert_eq!(guard.judge(&loss(1.0), &mut model), Verdict::Update);
        for _ in 1..PATIENCE {
            assert_eq!(guard.judge(&loss(f64::INFINITY), &mut model), Verdict::Skip);
        }
        assert_eq!(guard.judge(&loss(0.5), &mut model), Verdict::Update);
        // Poisoned parameters with a finite loss: skipped, and put back at once.
        let mut poisoned = Fault::parameters(Some(Fault::ParametersFrom(0)), 0, model.clone());
        assert_eq!(guard.judge(&loss(0.5), &mut poisoned), Verdict::Skip);
        assert!(parameters_finite(&poisoned));
        for _ in 2..PATIENCE {
            assert_eq!(guard.judge(&loss(f64::NAN), &mut model), Verdict::Skip);
        }
        assert_eq!(guard.judge(&loss(f64::NAN), &mut model), Verdict::Stop);
        assert!(parameters_finite(&model));
        assert_eq!(guard.skipped(), 2 * PATIENCE - 1);
    }

    #[test]
    fn poisoned_parameters_are_seen() {
        let device = burn::tensor::Device::flex();
        let linear = burn::nn::LinearConfig::new(3, 2).init(&device);
        assert!(parameters_finite(&linear));
        let poisoned = Fault::parameters(Some(Fault::ParametersFrom(2)), 3, linear);
        assert!(!parameters_finite(&poisoned));
    }
}
