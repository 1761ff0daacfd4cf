//! Reconstruction metrics: pure functions, CPU data in and out.

use kiddo::{ImmutableKdTree, SquaredEuclidean};

use crate::data::{PixelGrid, VoxelGrid};

/// Surface points per shape for [`chamfer_x1000`], as BSP-Net evaluates.
pub const CHAMFER_POINTS: usize = 4096;

/// Intersection over union of two occupancy grids of one resolution; `None` if the
/// resolutions differ, 1 when both are empty.
pub fn iou(a: &VoxelGrid, b: &VoxelGrid) -> Option<f64> {
    if a.resolution() != b.resolution() {
        return None;
    }
    let (mut intersection, mut union) = (0usize, 0usize);
    for (&x, &y) in a.occupied().iter().zip(b.occupied()) {
        intersection += usize::from(x && y);
        union += usize::from(x || y);
    }
    Some(if union == 0 {
        1.0
    } else {
        intersection as f64 / union as f64
    })
}

/// Mean over `from` of `distance(squared distance to the nearest point of to)`.
fn mean_nearest<const K: usize>(
    from: &[[f32; K]],
    to: &ImmutableKdTree<f32, K>,
    distance: impl Fn(f64) -> f64,
) -> f64 {
    let total: f64 = from
        .iter()
        .map(|p| {
            let nearest = to.query(p).nearest_one::<SquaredEuclidean<f32>>().execute();
            distance(f64::from(nearest.distance))
        })
        .sum();
    total / from.len() as f64
}

/// Symmetric Chamfer distance between two point sets by the BSP-Net convention: squared
/// Euclidean nearest-neighbour distance, averaged in each direction, the two means summed,
/// reported ×1000. Points are expected in the normalized frame `[-0.5, 0.5]³`.
/// `None` if either set is empty.
pub fn chamfer_points_x1000(a: &[[f32; 3]], b: &[[f32; 3]]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let tree_a = ImmutableKdTree::new_from_slice(a).ok()?;
    let tree_b = ImmutableKdTree::new_from_slice(b).ok()?;
    let squared = |d: f64| d;
    Some(1000.0 * (mean_nearest(a, &tree_b, squared) + mean_nearest(b, &tree_a, squared)))
}

/// [`chamfer_points_x1000`] between [`CHAMFER_POINTS`] surface samples of each grid
/// (seeded, so repeatable), both expressed in `a`'s normalized frame (its cube mapped onto
/// `[-0.5, 0.5]³`), so grids of different resolutions or frames compare in model space.
/// `None` if either grid has no surface.
pub fn chamfer_x1000(a: &VoxelGrid, b: &VoxelGrid, seed: u64) -> Option<f64> {
    let in_frame_of_a = |grid: &VoxelGrid, seed: u64| -> Vec<[f32; 3]> {
        grid.surface_points(CHAMFER_POINTS, seed)
            .into_iter()
            .map(|p| {
                let mut q = [0.0; 3];
                for axis in 0..3 {
                    let model = (p[axis] + 0.5) * grid.scale + grid.translate[axis];
                    q[axis] = (model - a.translate[axis]) / a.scale - 0.5;
                }
                q
            })
            .collect()
    };
    chamfer_points_x1000(
        &in_frame_of_a(a, seed),
        &in_frame_of_a(b, seed.wrapping_add(1)),
    )
}

/// 2D Chamfer distance by the CSGNet / UCSGNet convention, in pixels: edge pixels of each
/// image (occupied with an empty 4-neighbour), the mean distance from each edge pixel of one
/// image to the nearest edge pixel of the other, averaged over the two directions. 16 when
/// either image has no edge (blank or full), as CSGNet scores 64×64 images. `None` if the
/// image sizes differ.
pub fn chamfer_2d(a: &PixelGrid, b: &PixelGrid) -> Option<f64> {
    if (a.width, a.height) != (b.width, b.height) {
        return None;
    }
    let (edges_a, edges_b) = (a.edges(), b.edges());
    if edges_a.is_empty() || edges_b.is_empty() {
        return Some(16.0);
    }
    let tree_a = ImmutableKdTree::new_from_slice(&edges_a).ok()?;
    let tree_b = ImmutableKdTree::new_from_slice(&edges_b).ok()?;
    Some(
        0.5 * (mean_nearest(&edges_a, &tree_b, f64::sqrt)
            + mean_nearest(&edges_b, &tree_a, f64::sqrt)),
    )
}

#[cfg(test)]
mod tests {
    use rand::{Rng as _, SeedableRng as _};

    use super::*;

    fn sphere_points(centre: [f32; 3], radius: f32, count: usize, seed: u64) -> Vec<[f32; 3]> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..count)
            .map(|_| {
                // Uniform on the sphere: z uniform in [-1, 1], angle uniform (Archimedes).
                let z: f32 = rng.random_range(-1.0..1.0);
                let angle: f32 = rng.random_range(0.0..std::f32::consts::TAU);
                let ring = (1.0 - z * z).sqrt();
                [
                    centre[0] + radius * ring * angle.cos(),
                    centre[1] + radius * ring * angle.sin(),
                    centre[2] + radius * z,
                ]
            })
            .collect()
    }

    #[test]
    fn a_shape_against_itself_is_perfect() {
        let ball = VoxelGrid::from_fn(32, |p| p.iter().map(|c| c * c).sum::<f32>() < 0.16);
        assert_eq!(iou(&ball, &ball), Some(1.0));
        let points = ball.surface_points(CHAMFER_POINTS, 3);
        assert_eq!(chamfer_points_x1000(&points, &points), Some(0.0));
        // Two different samplings of one surface differ by the sampling floor: 4096 points on
        // this ball's area (≈ 2.0) lie ≈ 0.02 apart, so each direction's mean squared gap is
        // ≈ 1e-4 to 2e-4, i.e. ≈ 0.2–0.4 ×1000 for the sum.
        let chamfer = chamfer_x1000(&ball, &ball, 0).unwrap();
        assert!(chamfer > 0.0 && chamfer < 0.8, "{chamfer}");
    }

    #[test]
    fn chamfer_2d_of_shifted_squares_and_blanks() {
        let square = |offset: usize| {
            PixelGrid::from_fn(64, 64, move |r, c| {
                (20..40).contains(&r) && (20 + offset..40 + offset).contains(&c)
            })
        };
        assert_eq!(chamfer_2d(&square(0), &square(0)), Some(0.0));
        // Shifting by 3 columns: the left and right edges sit 3 px from their partners,
        // top and bottom rows mostly on each other's lines (0 px) except the ends.
        let shifted = chamfer_2d(&square(0), &square(3)).unwrap();
        assert!(shifted > 0.5 && shifted < 3.0, "{shifted}");
        let blank = PixelGrid::from_fn(64, 64, |_, _| false);
        assert_eq!(chamfer_2d(&blank, &square(0)), Some(16.0));
        let full = PixelGrid::from_fn(64, 64, |_, _| true);
        assert_eq!(chamfer_2d(&square(0), &full), Some(16.0));
        assert_eq!(
            chamfer_2d(&blank, &PixelGrid::from_fn(32, 32, |_, _| false)),
            None
        );
    }

    #[test]
    fn iou_of_half_overlapping_boxes() {
        let left = VoxelGrid::from_fn(16, |p| p[0] < 0.0);
        let middle = VoxelGrid::from_fn(16, |p| p[0].abs() < 0.25);
        // left: 8 slabs, middle: 8 slabs, overlap 4 slabs, union 12.
        assert_eq!(iou(&left, &middle), Some(4.0 / 12.0));
        assert_eq!(iou(&left, &VoxelGrid::empty(8)), None);
    }

    /// Two spheres of radius r with centres d apart: a point on one at polar cosine u (uniform
    /// in [-1, 1]) lies sqrt(r² + d² − 2rdu) from the other centre, so the one-way mean
    /// squared distance is E[(sqrt(r² + d² − 2rdu) − r)²], which we integrate numerically.
    #[test]
    fn offset_spheres_match_the_analytic_value() {
        let (r, d) = (0.3f64, 0.1f64);
        let steps = 100_000;
        let one_way: f64 = (0..steps)
            .map(|i| {
                let u = -1.0 + 2.0 * (i as f64 + 0.5) / steps as f64;
                ((r * r + d * d - 2.0 * r * d * u).sqrt() - r).powi(2)
            })
            .sum::<f64>()
            / steps as f64;
        let analytic = 2.0 * one_way * 1000.0;
        let a = sphere_points([0.0; 3], r as f32, 20_000, 1);
        let b = sphere_points([d as f32, 0.0, 0.0], r as f32, 20_000, 2);
        let measured = chamfer_points_x1000(&a, &b).unwrap();
        assert!(
            (measured - analytic).abs() < 0.05 * analytic,
            "measured {measured}, analytic {analytic}"
        );
    }
}
