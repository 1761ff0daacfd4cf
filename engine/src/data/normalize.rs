//! Every 3D target in one frame, as IM-NET prepares ShapeNet: the occupied bounding box
//! centred in the grid and its longest side spanning the grid less a small margin.
//!
//! ShapeNet v2's `model_normalized.solid.binvox` starts its cube at the model's minimum
//! corner, so thin objects sit in one corner of the grid; fitted as stored, a flip-union's
//! plane through the origin cannot express their symmetry and most of the grid is wasted.

use super::VoxelGrid;

/// Empty voxels kept on every side of the normalized shape, at the target resolution: the
/// surface samples need room outside the shape, and parts need room to overshoot.
pub const NORMALIZE_MARGIN_VOXELS: f32 = 2.0;

impl VoxelGrid {
    /// The shape re-gridded at `resolution³` in the normalized frame: its occupied bounding
    /// box centred, its longest side spanning `resolution − 2·NORMALIZE_MARGIN_VOXELS`
    /// voxels. The result's `translate` and `scale` place the new cube in the input's model
    /// space, so meshes and programs map back to where the input lives.
    ///
    /// Downsampling keeps thin parts: a new voxel is occupied when any input voxel whose
    /// centre it contains is; when it contains no input centre (upsampling), it takes the
    /// input voxel under its own centre. An empty grid is returned resampled as it is, and
    /// a grid already normalized at `resolution` (within a voxel) as it is.
    pub fn normalized(&self, resolution: usize) -> Self {
        let resolution = resolution.max(1);
        let Some((lo, hi)) = self.occupied_bounds() else {
            return super::resample(self, resolution);
        };
        let source = self.resolution() as f32;
        let extent = (0..3)
            .map(|a| (hi[a] + 1 - lo[a]) as f32)
            .fold(0.0, f32::max);
        let span = (resolution as f32 - 2.0 * NORMALIZE_MARGIN_VOXELS).max(1.0);
        // Already normalized (a mesh voxelized into the normalized cube, or this function's
        // own output): resampling again could only blur it.
        let centred = (0..3).all(|a| (lo[a] + hi[a] + 1).abs_diff(self.resolution()) <= 1);
        if self.resolution() == resolution && centred && (extent - span).abs() <= 1.0 {
            return self.clone();
        }
        // The new cube's side and corner, in input voxels.
        let side = extent * resolution as f32 / span;
        let corner: [f32; 3] =
            std::array::from_fn(|a| (lo[a] + hi[a] + 1) as f32 / 2.0 - side / 2.0);
        let step = side / resolution as f32;
        // Input voxels whose centres lie in new voxel `j` along one axis (the same on every
        // axis up to the corner), or the one under its centre.
        let range = |axis: usize, j: usize| -> std::ops::Range<isize> {
            let start = corner[axis] + j as f32 * step;
            let end = start + step;
            let first = (start - 0.5).ceil() as isize;
            let last = (end - 0.5).ceil() as isize; // exclusive
            if first < last {
                first..last
            } else {
                let under = (start + step / 2.0).floor() as isize;
                under..under + 1
            }
        };
        let r = self.resolution() as isize;
        let ranges: Vec<Vec<std::ops::Range<usize>>> = (0..3)
            .map(|axis| {
                (0..resolution)
                    .map(|j| {
                        let range = range(axis, j);
                        range.start.clamp(0, r) as usize..range.end.clamp(0, r) as usize
                    })
                    .collect()
            })
            .collect();
        let mut grid = Self::empty(resolution);
        for x in 0..resolution {
            for y in 0..resolution {
                for z in 0..resolution {
                    let occupied = ranges[0][x].clone().any(|sx| {
                        ranges[1][y]
                            .clone()
                            .any(|sy| ranges[2][z].clone().any(|sz| self.get([sx, sy, sz])))
                    });
                    if occupied {
                        grid.set([x, y, z], true);
                    }
                }
            }
        }
        let voxel = self.scale / source;
        grid.translate = std::array::from_fn(|a| self.translate[a] + corner[a] * voxel);
        grid.scale = side * voxel;
        grid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid with the voxels of `boxes` (inclusive corners) occupied.
    fn boxes(resolution: usize, boxes: &[([usize; 3], [usize; 3])]) -> VoxelGrid {
        let mut grid = VoxelGrid::empty(resolution);
        for (lo, hi) in boxes {
            for x in lo[0]..=hi[0] {
                for y in lo[1]..=hi[1] {
                    for z in lo[2]..=hi[2] {
                        grid.set([x, y, z], true);
                    }
                }
            }
        }
        grid
    }

    #[test]
    fn a_corner_shape_is_centred_and_fills_the_grid() {
        // A 16 × 8 × 4 block in the corner of a 64³ grid.
        let mut input = boxes(64, &[([0, 0, 0], [15, 7, 3])]);
        input.translate = [10.0, 20.0, 30.0];
        input.scale = 64.0; // one model unit per voxel
        let grid = input.normalized(32);
        let (lo, hi) = grid.occupied_bounds().unwrap();
        // Longest side: 28 voxels of 32 (two of margin on each side), centred.
        assert_eq!((lo[0], hi[0]), (2, 29));
        assert_eq!((lo[1], hi[1]), (9, 22));
        assert_eq!((lo[2], hi[2]), (12, 18));
        // The frame maps back: the new grid's occupied box is the input's in model space.
        let model_lo = grid.model_centre(lo);
        let model_hi = grid.model_centre(hi);
        let voxel = grid.scale / 32.0;
        assert!(
            (model_lo[0] - voxel / 2.0 - 10.0).abs() < 1e-3,
            "{model_lo:?}"
        );
        assert!(
            (model_hi[0] + voxel / 2.0 - 26.0).abs() < 1e-3,
            "{model_hi:?}"
        );
        assert!(
            (model_lo[1] - voxel / 2.0 - 20.0).abs() < 1e-3,
            "{model_lo:?}"
        );
    }

    #[test]
    fn downsampling_keeps_one_voxel_thin_parts() {
        // A 128³ chair-like frame: a one-voxel-thin plate and a one-voxel-thin leg.
        let input = boxes(
            128,
            &[([0, 0, 60], [120, 120, 60]), ([5, 5, 0], [5, 5, 59])],
        );
        let grid = input.normalized(64);
        // Nearest-voxel resampling at half resolution would drop either every other layer
        // or the whole plate; pooling keeps the plate a closed sheet and the leg connected.
        let plate_layers: Vec<usize> = (0..64)
            .filter(|&z| (0..64).filter(|&x| grid.get([x, 32, z])).count() > 40)
            .collect();
        assert_eq!(plate_layers.len(), 1, "{plate_layers:?}");
        let (lo, _) = grid.occupied_bounds().unwrap();
        let leg: Vec<bool> = (lo[2]..plate_layers[0])
            .map(|z| (0..64).any(|x| (0..64).any(|y| grid.get([x, y, z]))))
            .collect();
        assert!(leg.iter().all(|&o| o), "{leg:?}");
    }

    #[test]
    fn upsampling_and_empty_grids() {
        let input = boxes(8, &[([2, 2, 2], [5, 5, 5])]);
        let grid = input.normalized(32);
        let (lo, hi) = grid.occupied_bounds().unwrap();
        assert_eq!((lo, hi), ([2; 3], [29; 3]));
        assert_eq!(grid.count(), 28usize.pow(3));
        let empty = VoxelGrid::empty(16).normalized(8);
        assert_eq!((empty.resolution(), empty.count()), (8, 0));
    }
}
