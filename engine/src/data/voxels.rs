//! A cubic occupancy grid and where it sits in model space.

use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

/// `resolution³` occupancy values, x-major: voxel `(x, y, z)` is at
/// `(x · resolution + y) · resolution + z`.
///
/// Voxel `i` along an axis covers model-space `[i, i + 1] / resolution · scale + translate`
/// (the binvox convention). [`VoxelGrid::normalized_centre`] gives the frame metrics use:
/// the grid's cube mapped onto `[-0.5, 0.5]³`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VoxelGrid {
    resolution: usize,
    occupied: Vec<bool>,
    /// Model-space corner of voxel (0, 0, 0).
    pub translate: [f32; 3],
    /// Model-space edge length of the whole grid.
    pub scale: f32,
}

impl VoxelGrid {
    /// An empty grid spanning `[-0.5, 0.5]³`.
    pub fn empty(resolution: usize) -> Self {
        Self {
            resolution,
            occupied: vec![false; resolution.pow(3)],
            translate: [-0.5; 3],
            scale: 1.0,
        }
    }

    /// A grid whose voxel `(x, y, z)` is occupied when `inside(normalized centre)` holds.
    pub fn from_fn(resolution: usize, inside: impl Fn([f32; 3]) -> bool) -> Self {
        let mut grid = Self::empty(resolution);
        for x in 0..resolution {
            for y in 0..resolution {
                for z in 0..resolution {
                    let centre = grid.normalized_centre([x, y, z]);
                    grid.set([x, y, z], inside(centre));
                }
            }
        }
        grid
    }

    pub fn resolution(&self) -> usize {
        self.resolution
    }

    pub fn index(&self, [x, y, z]: [usize; 3]) -> usize {
        (x * self.resolution + y) * self.resolution + z
    }

    /// Occupancy of voxel `xyz`; outside the grid counts as empty.
    pub fn get(&self, [x, y, z]: [usize; 3]) -> bool {
        let r = self.resolution;
        x < r && y < r && z < r && self.occupied[self.index([x, y, z])]
    }

    /// Sets voxel `xyz`; ignores coordinates outside the grid.
    pub fn set(&mut self, xyz: [usize; 3], value: bool) {
        let r = self.resolution;
        if xyz.iter().all(|&c| c < r) {
            let index = self.index(xyz);
            self.occupied[index] = value;
        }
    }

    pub fn occupied(&self) -> &[bool] {
        &self.occupied
    }

    pub fn count(&self) -> usize {
        self.occupied.iter().filter(|&&o| o).count()
    }

    /// Centre of voxel `xyz` in the normalized frame `[-0.5, 0.5]³`.
    pub fn normalized_centre(&self, [x, y, z]: [usize; 3]) -> [f32; 3] {
        let r = self.resolution as f32;
        [x, y, z].map(|i| (i as f32 + 0.5) / r - 0.5)
    }

    /// Centre of voxel `xyz` in model space (binvox: `(i + 0.5) / D · scale + translate`).
    /// Moves a mesh from this grid's model space into the normalized frame `[-½, ½]³`
    /// (the inverse of [`Self::to_model_frame`]).
    pub fn to_normalized_frame(&self, mesh: &mut super::TriangleMesh) {
        for v in &mut mesh.vertices {
            for (c, t) in v.iter_mut().zip(self.translate) {
                *c = (*c - t) / self.scale - 0.5;
            }
        }
    }

    /// Moves a mesh from the normalized frame `[-½, ½]³` into this grid's model space
    /// (where its binvox file or source mesh lives).
    pub fn to_model_frame(&self, mesh: &mut super::TriangleMesh) {
        for v in &mut mesh.vertices {
            for (c, t) in v.iter_mut().zip(self.translate) {
                *c = (*c + 0.5) * self.scale + t;
            }
        }
    }

    pub fn model_centre(&self, xyz: [usize; 3]) -> [f32; 3] {
        let r = self.resolution as f32;
        let mut centre = [0.0; 3];
        for axis in 0..3 {
            centre[axis] = (xyz[axis] as f32 + 0.5) / r * self.scale + self.translate[axis];
        }
        centre
    }

    /// Bounds `(min, max)` of the occupied voxels in voxel coordinates, `None` if empty.
    pub fn occupied_bounds(&self) -> Option<([usize; 3], [usize; 3])> {
        let r = self.resolution;
        let mut bounds: Option<([usize; 3], [usize; 3])> = None;
        for x in 0..r {
            for y in 0..r {
                for z in 0..r {
                    if self.get([x, y, z]) {
                        let (lo, hi) = bounds.get_or_insert(([x, y, z], [x, y, z]));
                        for (axis, c) in [x, y, z].into_iter().enumerate() {
                            lo[axis] = lo[axis].min(c);
                            hi[axis] = hi[axis].max(c);
                        }
                    }
                }
            }
        }
        bounds
    }

    /// `count` points spread uniformly over the boundary faces between occupied and empty
    /// voxels, in the normalized frame. Deterministic for a given `seed`; empty if the
    /// grid has no boundary.
    pub fn surface_points(&self, count: usize, seed: u64) -> Vec<[f32; 3]> {
        let r = self.resolution;
        // Every boundary face: (voxel, axis, +1 or -1 side).
        let mut faces: Vec<([usize; 3], usize, bool)> = Vec::new();
        for x in 0..r {
            for y in 0..r {
                for z in 0..r {
                    if !self.get([x, y, z]) {
                        continue;
                    }
                    for axis in 0..3 {
                        let mut above = [x, y, z];
                        above[axis] += 1;
                        if !self.get(above) {
                            faces.push(([x, y, z], axis, true));
                        }
                        let below_empty = [x, y, z][axis] == 0 || {
                            let mut below = [x, y, z];
                            below[axis] -= 1;
                            !self.get(below)
                        };
                        if below_empty {
                            faces.push(([x, y, z], axis, false));
                        }
                    }
                }
            }
        }
        if faces.is_empty() {
            return Vec::new();
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let size = 1.0 / r as f32;
        (0..count)
            .map(|_| {
                let (voxel, axis, upper) = faces[rng.random_range(0..faces.len())];
                let mut point = [0.0f32; 3];
                for a in 0..3 {
                    let low = voxel[a] as f32 * size - 0.5;
                    point[a] = if a == axis {
                        low + if upper { size } else { 0.0 }
                    } else {
                        low + rng.random::<f32>() * size
                    };
                }
                point
            })
            .collect()
    }
}
