//! Where per-shape synthesis starts its parts: on the shape, spread out, sized by the
//! shape's local thickness; and, where the shape has cavities (a mug's inside, a shelf's
//! compartments), some parts in them, so that `difference` has something to subtract.

use rand::SeedableRng as _;
use rand::seq::SliceRandom as _;

use super::Target;

/// Starting centres and widths of parts, in the normalized frame.
#[derive(Clone, Debug, Default)]
pub struct PartSeeds {
    pub centres: Vec<Vec<f32>>,
    /// Full width along each axis.
    pub sizes: Vec<Vec<f32>>,
    /// Whether the part sits in empty space the shape encloses.
    pub cavity: Vec<bool>,
}

/// The widest a seeded part starts, as a fraction of the frame: wider parts overlap so much
/// that every program looks alike at the start.
const MAX_START_SIZE: f32 = 0.5;
/// The narrowest a seeded part starts, in cells: thinner parts barely show in the samples.
const MIN_START_CELLS: usize = 2;
/// Farthest-point sampling runs over at most this many candidate cells.
const CANDIDATES: usize = 8192;

/// `count` part seeds for `target`: farthest-point samples of its cells, a quarter of them
/// in cavities when the shape encloses a real volume of empty space.
///
/// A seed's box spans, along each axis, the run of cells of its own kind through it, at most
/// [`MAX_START_SIZE`] wide: a plate gets its thickness, a leg its width. A solid part's run
/// also crosses cavities, so a cup's wall part spans the cup and a cavity part subtracted
/// from it leaves the wall: a two-line program the search can find by gradient, where
/// parts that never cover the cavity give `difference` nothing to remove.
pub fn seed_parts(target: &Target, count: usize, seed: u64) -> PartSeeds {
    let cells = Cells::of(target);
    let solid: Vec<usize> = (0..cells.len()).filter(|&i| cells.occupied[i]).collect();
    if solid.is_empty() || count == 0 {
        return PartSeeds::default();
    }
    let cavity_mask = cells.cavity_mask();
    let cavity: Vec<usize> = (0..cells.len()).filter(|&i| cavity_mask[i]).collect();
    // A cavity worth a part holds at least a twentieth of the shape's volume.
    let cavity_count = if cavity.len() * 20 >= solid.len() {
        count / 4
    } else {
        0
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    let solid_seeds = cells.farthest_points(solid, count - cavity_count, &mut rng);
    let cavity_seeds = cells.farthest_points(cavity, cavity_count, &mut rng);
    // Interleave, three solid to one cavity, so the first lines of a program meet both.
    let mut order = Vec::with_capacity(count);
    let (mut s, mut c) = (solid_seeds.into_iter(), cavity_seeds.into_iter());
    loop {
        let mut any = false;
        for _ in 0..3 {
            if let Some(i) = s.next() {
                order.push((i, false));
                any = true;
            }
        }
        if let Some(i) = c.next() {
            order.push((i, true));
            any = true;
        }
        if !any {
            break;
        }
    }
    let mut seeds = PartSeeds::default();
    for (cell, is_cavity) in order {
        let kind = |i: usize| {
            if is_cavity {
                cavity_mask[i]
            } else {
                cells.occupied[i] || cavity_mask[i]
            }
        };
        let (centre, size) = cells.box_around(cell, kind);
        seeds.centres.push(centre);
        seeds.sizes.push(size);
        seeds.cavity.push(is_cavity);
    }
    seeds
}

/// A target's cells as one flat grid: axis 0 is x, then y (and z); centres at
/// `(i + ½)·cell − ½`.
struct Cells {
    size: Vec<usize>,
    strides: Vec<usize>,
    occupied: Vec<bool>,
    cell: f32,
}

impl Cells {
    fn of(target: &Target) -> Self {
        match target {
            Target::Voxels(grid) => {
                let r = grid.resolution();
                Self {
                    size: vec![r; 3],
                    strides: vec![r * r, r, 1],
                    occupied: grid.occupied().to_vec(),
                    cell: 1.0 / r.max(1) as f32,
                }
            }
            Target::Pixels(image) => Self {
                // Pixels are row-major: x is the column.
                size: vec![image.width, image.height],
                strides: vec![1, image.width],
                occupied: image.occupied.clone(),
                cell: 1.0 / image.width.max(image.height).max(1) as f32,
            },
        }
    }

    fn len(&self) -> usize {
        self.occupied.len()
    }

    fn coordinates(&self, index: usize) -> Vec<usize> {
        self.size
            .iter()
            .zip(&self.strides)
            .map(|(&n, &stride)| (index / stride) % n)
            .collect()
    }

    fn centre(&self, index: usize) -> Vec<f32> {
        self.coordinates(index)
            .into_iter()
            .map(|i| (i as f32 + 0.5) * self.cell - 0.5)
            .collect()
    }

    /// Empty cells with the shape on both sides along every axis but at most one direction:
    /// inside a cup, a box or a ring.
    fn cavity_mask(&self) -> Vec<bool> {
        let mut blocked = vec![0u8; self.len()];
        for axis in 0..self.size.len() {
            let (n, stride) = (self.size[axis], self.strides[axis]);
            for start in (0..self.len()).filter(|&i| (i / stride) % n == 0) {
                let line = |k: usize| start + k * stride;
                let first = (0..n).find(|&k| self.occupied[line(k)]);
                let last = (0..n).rev().find(|&k| self.occupied[line(k)]);
                let (Some(first), Some(last)) = (first, last) else {
                    continue;
                };
                for k in 0..n {
                    let i = line(k);
                    blocked[i] += u8::from(k > first) + u8::from(k < last);
                }
            }
        }
        let needed = 2 * self.size.len() as u8 - 1;
        (0..self.len())
            .map(|i| !self.occupied[i] && blocked[i] >= needed)
            .collect()
    }

    /// `count` cells of `candidates`, each the farthest from those before it (the first at
    /// random).
    fn farthest_points(
        &self,
        mut candidates: Vec<usize>,
        count: usize,
        rng: &mut rand::rngs::StdRng,
    ) -> Vec<usize> {
        if candidates.is_empty() || count == 0 {
            return Vec::new();
        }
        candidates.shuffle(rng);
        candidates.truncate(CANDIDATES);
        let points: Vec<Vec<f32>> = candidates.iter().map(|&i| self.centre(i)).collect();
        let mut nearest = vec![f32::INFINITY; points.len()];
        let mut chosen = Vec::with_capacity(count);
        let mut next = 0;
        for _ in 0..count {
            chosen.push(candidates[next]);
            let p = &points[next];
            for (q, d) in points.iter().zip(&mut nearest) {
                let distance: f32 = p.iter().zip(q).map(|(a, b)| (a - b).powi(2)).sum();
                *d = d.min(distance);
            }
            // Once every candidate is taken, further parts repeat the spread from the start.
            next = nearest
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i);
            if nearest[next] == 0.0 {
                nearest.fill(f32::INFINITY);
            }
        }
        chosen
    }

    /// Centre and width of the box through `index` spanning its run of cells of `kind`
    /// along each axis.
    fn box_around(&self, index: usize, kind: impl Fn(usize) -> bool) -> (Vec<f32>, Vec<f32>) {
        let xyz = self.coordinates(index);
        let max_cells = ((MAX_START_SIZE / self.cell) as usize).max(MIN_START_CELLS);
        let mut centre = Vec::with_capacity(xyz.len());
        let mut size = Vec::with_capacity(xyz.len());
        for (axis, &at) in xyz.iter().enumerate() {
            let (n, stride) = (self.size[axis], self.strides[axis]);
            let base = index - at * stride;
            let same = |k: usize| kind(base + k * stride);
            let mut low = at;
            while low > 0 && same(low - 1) {
                low -= 1;
            }
            let mut high = at;
            while high + 1 < n && same(high + 1) {
                high += 1;
            }
            let run = high + 1 - low;
            let cells = run.clamp(MIN_START_CELLS, max_cells);
            // The box stays inside the run, as near the seed as it can.
            let half = cells as f32 / 2.0;
            let middle = if run <= max_cells {
                (low + high + 1) as f32 / 2.0
            } else {
                (at as f32 + 0.5).clamp(low as f32 + half, (high + 1) as f32 - half)
            };
            centre.push(middle * self.cell - 0.5);
            size.push(cells as f32 * self.cell);
        }
        (centre, size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::VoxelGrid;

    #[test]
    fn a_cup_gets_parts_in_its_walls_and_in_its_cavity() {
        // A cup: a thick-walled square tube on a base, open at the top (z high).
        let cup = VoxelGrid::from_fn(32, |[x, y, z]| {
            let wall = x.abs().max(y.abs());
            (-0.4..0.4).contains(&z) && wall < 0.35 && (wall > 0.25 || z < -0.3)
        });
        let seeds = seed_parts(&Target::Voxels(cup.clone()), 16, 0);
        assert_eq!(seeds.centres.len(), 16);
        assert_eq!(seeds.cavity.iter().filter(|&&c| c).count(), 4);
        let mut spanning = 0;
        for ((centre, size), cavity) in seeds.centres.iter().zip(&seeds.sizes).zip(&seeds.cavity) {
            let inside = cup.occupied_at([centre[0], centre[1], centre[2]]);
            let in_hull = centre[0].abs().max(centre[1].abs()) < 0.35 && centre[2].abs() < 0.4;
            if *cavity {
                assert!(!inside && in_hull, "{centre:?} {size:?}");
            } else {
                assert!(in_hull, "{centre:?} {size:?}");
            }
            assert!(
                size.iter().all(|&s| (2.0 / 32.0..=0.5 + 1e-6).contains(&s)),
                "{size:?}"
            );
            // Cavity parts fit inside the cup; wall parts span the cup across its cavity.
            if *cavity {
                assert!(size[0].max(size[1]) <= 0.5 + 1e-6, "{size:?}");
            } else {
                spanning += usize::from(size[0].max(size[1]) >= 0.5 - 1e-6);
            }
        }
        assert!(spanning >= 6, "{spanning} of 12 wall parts span the cup");
        // A solid ball has no cavity.
        let ball = VoxelGrid::from_fn(32, |p| p.iter().map(|c| c * c).sum::<f32>() < 0.1);
        let seeds = seed_parts(&Target::Voxels(ball), 8, 0);
        assert!(seeds.cavity.iter().all(|&c| !c));
    }
}
