//! Minibatches of a target's labelled sample points, reshuffled every epoch, per task.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng as _;

use super::synth_config::SynthConfig;
use super::target::Target;
use crate::data::Crop;
use crate::train::Batcher;

/// Batches of the labelled sample pool (drawn once, IM-NET style), without replacement
/// within a pass.
pub(super) struct PointBatches {
    points: Tensor<2>, // [pool, D]
    labels: Tensor<1>, // [pool]
    batches: Batcher<i64>,
    rng: rand::rngs::StdRng,
}

impl PointBatches {
    /// Samples of `target`, none where `config.unseen` removed the input.
    pub(super) fn new(target: &Target, config: &SynthConfig, device: &Device) -> Self {
        let (mut points, mut labels) = target.samples(config.sample_points.max(1), config.seed);
        let dim = target.dim();
        if dim == 3 && config.unseen != Crop::None {
            // Crops span −1..1 over the grid, samples −½..½.
            let (kept_points, kept_labels): (Vec<&[f32]>, Vec<f32>) = points
                .chunks_exact(dim)
                .zip(&labels)
                .filter(|(p, _)| !config.unseen.removes([p[0] * 2.0, p[1] * 2.0, p[2] * 2.0]))
                .unzip();
            points = kept_points.concat();
            labels = kept_labels;
        }
        let pool = labels.len();
        Self {
            points: Tensor::from_data(TensorData::new(points, [pool, target.dim()]), device),
            labels: Tensor::from_data(TensorData::new(labels, [pool]), device),
            batches: Batcher::new(
                (0..pool as i64).collect(),
                config.batch_points.clamp(1, pool),
            ),
            rng: rand::rngs::StdRng::seed_from_u64(config.seed ^ 0xba7c4),
        }
    }

    /// The next batch for `tasks` tasks: points `[tasks, B, D]`, labels `[1, B]`.
    pub(super) fn next(&mut self, tasks: usize) -> (Tensor<3>, Tensor<2>) {
        let batch = self.batches.batch_size();
        let indices = self.batches.next(&mut self.rng).to_vec();
        let indices =
            Tensor::<1, Int>::from_data(TensorData::new(indices, [batch]), &self.labels.device());
        let points = self
            .points
            .clone()
            .select(0, indices.clone())
            .unsqueeze_dim::<3>(0)
            .repeat_dim(0, tasks);
        let labels = self.labels.clone().select(0, indices).unsqueeze_dim::<2>(0);
        (points, labels)
    }
}
