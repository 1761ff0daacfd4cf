//! Cropping a voxel input to test completion (paper App. C.2): the 7/8 setting removes one
//! octant, the 1/2 setting a half-space. A crop is a value a user sets, shows and saves,
//! not only a random draw.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::VoxelGrid;

/// Which voxels a crop empties. Coordinates span `-1..1` over the grid (voxel centres at
/// `2 · (i + 0.5) / resolution − 1`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Crop {
    /// Nothing removed.
    None,
    /// One octant removed: the voxels whose coordinate has the given sign on every axis
    /// (`true` = positive).
    Octant { positive: [bool; 3] },
    /// A half-space removed: voxels with `normal · p > offset`. The paper draws
    /// `normal = (a, b, c)`, each `~ U(0, 1)`, and `offset = 0`.
    HalfSpace { normal: [f32; 3], offset: f32 },
}

impl Crop {
    /// The paper's 7/8 setting: a uniformly random octant.
    pub fn random_octant(rng: &mut impl Rng) -> Self {
        Self::Octant {
            positive: [rng.random(), rng.random(), rng.random()],
        }
    }

    /// The paper's 1/2 setting: `a, b, c ~ U(0, 1)`, voxels with `a x + b y + c z > 0` emptied.
    pub fn random_half_space(rng: &mut impl Rng) -> Self {
        Self::HalfSpace {
            normal: [rng.random(), rng.random(), rng.random()],
            offset: 0.0,
        }
    }

    /// A fixed plane for repeatable comparisons: the half with `x > 0` removed.
    pub fn fixed_plane() -> Self {
        Self::HalfSpace {
            normal: [1.0, 0.0, 0.0],
            offset: 0.0,
        }
    }

    /// Whether the crop removes the point `p` (in the crop's `-1..1` coordinates).
    pub fn removes(&self, p: [f32; 3]) -> bool {
        match *self {
            Self::None => false,
            Self::Octant { positive } => (0..3).all(|axis| (p[axis] > 0.0) == positive[axis]),
            Self::HalfSpace { normal, offset } => {
                normal[0] * p[0] + normal[1] * p[1] + normal[2] * p[2] > offset
            }
        }
    }

    /// A copy of `grid` with the cropped voxels emptied.
    pub fn apply(&self, grid: &VoxelGrid) -> VoxelGrid {
        let mut cropped = grid.clone();
        let r = grid.resolution();
        for x in 0..r {
            for y in 0..r {
                for z in 0..r {
                    let p = grid.normalized_centre([x, y, z]).map(|c| 2.0 * c);
                    if self.removes(p) {
                        cropped.set([x, y, z], false);
                    }
                }
            }
        }
        cropped
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    #[test]
    fn octant_removes_an_eighth_and_half_space_a_half() {
        let full = VoxelGrid::from_fn(16, |_| true);
        let octant = Crop::Octant {
            positive: [true, false, true],
        }
        .apply(&full);
        assert_eq!(octant.count(), 16 * 16 * 16 * 7 / 8);
        assert!(!octant.get([15, 0, 15]) && octant.get([0, 0, 15]));
        assert_eq!(Crop::fixed_plane().apply(&full).count(), 16 * 16 * 16 / 2);
        assert_eq!(Crop::None.apply(&full), full);
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        for _ in 0..10 {
            let crop = Crop::random_half_space(&mut rng);
            let kept = crop.apply(&full).count() as f64 / 4096.0;
            // A plane through the centre keeps about half (grid discretisation aside).
            assert!((kept - 0.5).abs() < 0.06, "{crop:?} kept {kept}");
        }
    }

    #[test]
    fn crops_serialize() {
        let crop = Crop::HalfSpace {
            normal: [0.25, 0.5, 1.0],
            offset: 0.0,
        };
        let json = serde_json::to_string(&crop).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"half_space","normal":[0.25,0.5,1.0],"offset":0.0}"#
        );
        assert_eq!(serde_json::from_str::<Crop>(&json).unwrap(), crop);
    }
}
