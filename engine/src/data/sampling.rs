//! Training samples from a solid: query points with inside/outside labels, biased toward
//! the surface as IM-NET samples them.

use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

use super::VoxelGrid;

/// IM-NET and the paper train on 16384 points per shape.
pub const DEFAULT_SAMPLE_POINTS: usize = 16384;

/// Query points in the normalized frame `[-0.5, 0.5]³` with their occupancy labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointSamples {
    pub points: Vec<[f32; 3]>,
    /// 1.0 inside, 0.0 outside.
    pub labels: Vec<f32>,
}

/// `count` labelled points: half jittered around the surface (within about a voxel), half
/// uniform in the cube, labelled by the voxel they fall in. Deterministic for a `seed`.
/// A grid without surface gets uniform points only.
pub fn sample_points(grid: &VoxelGrid, count: usize, seed: u64) -> PointSamples {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let near = count / 2;
    let voxel = 1.0 / grid.resolution() as f32;
    let mut points = grid.surface_points(near, seed.wrapping_add(0x5eed));
    for p in &mut points {
        for c in p.iter_mut() {
            // Gaussian-ish jitter from the sum of two uniforms, about one voxel wide.
            let jitter = (rng.random::<f32>() + rng.random::<f32>() - 1.0) * voxel;
            *c = (*c + jitter).clamp(-0.5, 0.5 - f32::EPSILON);
        }
    }
    while points.len() < count {
        points.push([0; 3].map(|_| rng.random::<f32>() - 0.5));
    }
    let labels = points
        .iter()
        .map(|p| f32::from(u8::from(grid.occupied_at(*p))))
        .collect();
    PointSamples { points, labels }
}

impl VoxelGrid {
    /// Occupancy of the voxel containing `p` (normalized frame); outside the cube is empty.
    pub fn occupied_at(&self, p: [f32; 3]) -> bool {
        let r = self.resolution() as f32;
        let mut xyz = [0usize; 3];
        for axis in 0..3 {
            let c = ((p[axis] + 0.5) * r).floor();
            if c.is_nan() || c < 0.0 || c >= r {
                return false;
            }
            xyz[axis] = c as usize;
        }
        self.get(xyz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_labelled_biased_and_repeatable() {
        let ball = VoxelGrid::from_fn(32, |p| p.iter().map(|c| c * c).sum::<f32>() < 0.09);
        let samples = sample_points(&ball, DEFAULT_SAMPLE_POINTS, 7);
        assert_eq!(samples.points.len(), DEFAULT_SAMPLE_POINTS);
        assert_eq!(samples, sample_points(&ball, DEFAULT_SAMPLE_POINTS, 7));
        assert_ne!(samples, sample_points(&ball, DEFAULT_SAMPLE_POINTS, 8));
        for (p, label) in samples.points.iter().zip(&samples.labels) {
            assert!(p.iter().all(|c| (-0.5..0.5).contains(c)));
            assert_eq!(*label == 1.0, ball.occupied_at(*p));
        }
        // Near-surface half: radius within ~2 voxels of 0.3.
        let near = samples.points[..DEFAULT_SAMPLE_POINTS / 2]
            .iter()
            .filter(|p| (p.iter().map(|c| c * c).sum::<f32>().sqrt() - 0.3).abs() < 2.0 / 32.0)
            .count();
        assert!(near > DEFAULT_SAMPLE_POINTS / 2 * 9 / 10, "{near}");
        // Both labels occur in good numbers.
        let inside = samples.labels.iter().filter(|&&l| l == 1.0).count();
        assert!(inside > 3000 && inside < 13000, "{inside}");
    }
}
