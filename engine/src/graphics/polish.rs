//! Polishing: with the architecture frozen at its discrete program, the parts alone are
//! fitted a little further, at a low learning rate.

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use super::parts::Retrieval;
use super::point_batches::PointBatches;
use super::soft::Draw;
use super::synth::{Checkpoint, SynthError, report};
use super::synth_config::SynthConfig;
use super::target::Target;
use crate::relaxed::Relaxation;
use crate::train::StopReason;
use crate::train::{
    EventSink, NonFiniteGuard, RunControl, StepReport, TrainEvent, Verdict, adam, scalar,
};

/// The temperature that freezes α at its mode while polishing: softmax at it is one-hot
/// unless two logits tie to within about 0.01.
const FROZEN_TEMPERATURE: f64 = 1e-3;

/// The last stage of a run: the kept program's architecture is frozen at its mode and its
/// library entries at their argmax, so the loss sees exactly the discrete program, and only
/// its parts, transforms and library entries move.
pub(super) struct Polish<'a> {
    pub(super) target: &'a Target,
    pub(super) config: &'a SynthConfig,
    /// The step number of its first step (after the search's).
    pub(super) first_step: usize,
    pub(super) steps: usize,
    pub(super) started: Instant,
}

impl Polish<'_> {
    /// The better of `chosen` and its polished self (by fit error, never longer), the steps
    /// run and how they ended.
    pub(super) fn run(
        &self,
        chosen: &Checkpoint,
        batches: &mut PointBatches,
        sink: &mut dyn EventSink,
        control: &RunControl,
        skipped: &mut usize,
    ) -> Result<(Checkpoint, usize, StopReason), SynthError> {
        let (config, sketch) = (self.config, &self.config.sketch);
        // The chosen restart alone: polishing the others would cost as much and give nothing.
        let mut model = chosen.model.task(chosen.task);
        let mut optimizer = adam().init();
        let draw = Draw {
            relaxation: Relaxation::Softmax {
                temperature: FROZEN_TEMPERATURE,
            },
            retrieval: Retrieval::Hard,
            samples: 1,
            include_mode: false,
        };
        let mut stop = StopReason::Finished;
        let mut ran = 0;
        let mut guard = NonFiniteGuard::default();
        for i in 0..self.steps {
            if !control.checkpoint() {
                stop = StopReason::Cancelled;
                break;
            }
            let mut tensors = model.tensors(sketch);
            for component in &mut tensors.components {
                component.logits = component.logits.map(Tensor::detach);
            }
            let (points, labels) = batches.next(1);
            let occupancy = tensors.evaluate(sketch, &points, draw).occupancy; // [1, N]
            let fit = config.loss.per_row(occupancy, labels).mean();
            match guard.judge(&fit, &mut model) {
                Verdict::Update => {}
                Verdict::Skip => continue,
                Verdict::Stop | Verdict::NeverFinite => {
                    // The polished program is scored below; the chosen one stays unless
                    // the polished one is finite and better.
                    stop = StopReason::NonFiniteLoss;
                    break;
                }
            }
            let value = scalar(&fit);
            sink.event(TrainEvent::Step(StepReport {
                step: self.first_step + i,
                total_steps: config.steps,
                loss: value,
                fit_loss: value,
                temperature: FROZEN_TEMPERATURE,
                length_weight: 0.0,
                expected_length: chosen.live_lines() as f64,
            }));
            let mut grads = fit.backward();
            let shape_grads = GradientsParams::from_module(&mut grads, &model.shapes);
            model.shapes = optimizer.step(config.polish_learning_rate, model.shapes, shape_grads);
            ran = i + 1;
        }
        *skipped += guard.skipped();
        if ran == 0 {
            return Ok((chosen.clone(), 0, stop));
        }
        let polished = report(
            self.target,
            sketch,
            config,
            &model,
            self.first_step + ran,
            self.started,
            sink,
        )?
        .pop();
        let better =
            polished.filter(|p| p.key() <= chosen.key() && p.live_lines() <= chosen.live_lines());
        Ok((better.unwrap_or_else(|| chosen.clone()), ran, stop))
    }
}
