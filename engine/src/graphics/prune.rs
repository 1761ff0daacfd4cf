//! Greedy simplification of a discrete program: the search's programs keep lines whose
//! parts barely change the shape (a part buried inside another, a cut that misses), so
//! lines are removed one at a time, the cheapest first, while the fit stays within a bound.

use rayon::prelude::*;

use super::GraphicsProgram;
use super::program::Side;
use super::target::{Reconstruction, Score, Target};
use crate::data::Crop;

/// How discrete programs are scored against a target.
#[derive(Clone, Copy)]
pub(super) struct Scoring<'a> {
    pub target: &'a Target,
    /// The region the input does not show (3D): a program's voxels there are not scored,
    /// so it is free to complete the shape.
    pub unseen: Crop,
    pub resolution: usize,
    pub seed: u64,
}

impl Scoring<'_> {
    pub fn score(&self, program: GraphicsProgram) -> Scored {
        let (points, _) = self.target.query_points(self.resolution);
        let occupancy = program.occupancies(&points);
        self.of(program, &occupancy)
    }

    /// `program`, whose occupancy at the target's query points is `occupancy`.
    fn of(&self, program: GraphicsProgram, occupancy: &[f32]) -> Scored {
        let reconstruction = self.target.rasterise(self.resolution, occupancy);
        Scored {
            score: self.judge(&reconstruction),
            program,
            reconstruction,
        }
    }

    /// The score of `reconstruction` on the region seen.
    pub fn judge(&self, reconstruction: &Reconstruction) -> Score {
        match (reconstruction, self.unseen) {
            (Reconstruction::Voxels(voxels), crop) if crop != Crop::None => self
                .target
                .score(&Reconstruction::Voxels(crop.apply(voxels)), self.seed),
            _ => self.target.score(reconstruction, self.seed),
        }
    }
}

/// A discrete program with its score (of the region seen) and its whole rasterisation.
#[derive(Clone)]
pub(super) struct Scored {
    pub program: GraphicsProgram,
    pub score: Score,
    pub reconstruction: Reconstruction,
}

impl Scored {
    /// Lower is better: [`super::Score::error`].
    pub fn key(&self) -> f64 {
        self.score.error()
    }
}

/// Removes lines from `start` (each becomes a skip passing one of its arguments through) or
/// switches off whole components while the fit error ([`super::Score::error`]) stays within `bound`:
/// first every removal that leaves the rasterisation exactly as it is (parts buried in
/// others, cuts that miss), then one at a time the removal whose error is lowest. Where the
/// scoring leaves a region unseen only the first kind goes: a line that completes the
/// unseen region costs nothing on the seen one, so the second kind would remove it. Returns
/// `None` when nothing goes.
pub(super) fn prune(scoring: &Scoring<'_>, start: &Scored, bound: f64) -> Option<Scored> {
    let (points, _) = scoring.target.query_points(scoring.resolution);
    let parts = PartValues::new(&start.program, &points);
    // Edits keep line and part numbers (nothing is compacted until the end), so every
    // candidate reads the same part values.
    let mut program = start.program.clone();
    let mut inside = parts.inside(&program);
    for candidate in removals(&start.program) {
        let edited = candidate.apply(&program);
        if edited.live_lines() < program.live_lines() {
            let edited_inside = parts.inside(&edited);
            if edited_inside == inside {
                (program, inside) = (edited, edited_inside);
            }
        }
    }
    let mut kept = (program.live_lines() < start.program.live_lines()).then(|| Scored {
        program: program.clone(),
        score: start.score,
        reconstruction: start.reconstruction.clone(),
    });
    let score = |edited: GraphicsProgram| {
        let occupancy = parts.occupancies(&edited);
        scoring.of(edited, &occupancy)
    };
    // With a region unseen, only the exact no-ops above (see the doc comment).
    if scoring.unseen == Crop::None {
        loop {
            let best = removals(&program)
                .into_iter()
                .map(|candidate| candidate.apply(&program))
                .filter(|edited| edited.live_lines() < program.live_lines())
                .map(score)
                .min_by(|a, b| a.key().total_cmp(&b.key()));
            match best {
                Some(best) if best.key() <= bound => {
                    program = best.program.clone();
                    kept = Some(best);
                }
                _ => break,
            }
        }
    }
    // Compacting keeps every value, so the score stands.
    kept.map(|k| Scored {
        program: k.program.compacted(),
        ..k
    })
}

/// One way to make a program shorter.
#[derive(Clone, Copy)]
enum Removal {
    Line {
        component: usize,
        line: usize,
        side: Side,
    },
    Component(usize),
}

impl Removal {
    fn apply(self, program: &GraphicsProgram) -> GraphicsProgram {
        match self {
            Self::Line {
                component,
                line,
                side,
            } => program.with_line_passing(component, line, side),
            Self::Component(c) => {
                let mut off = program.clone();
                off.components[c].enabled = false;
                off
            }
        }
    }
}

/// Every removal worth trying on `program`: each live line passing either argument, and
/// each enabled component while another stays on; the last lines first (in a chain they
/// were added last).
fn removals(program: &GraphicsProgram) -> Vec<Removal> {
    let enabled = program.components.iter().filter(|c| c.enabled).count();
    let mut out = Vec::new();
    for (component, c) in program.components.iter().enumerate() {
        if !c.enabled {
            continue;
        }
        if enabled > 1 {
            out.push(Removal::Component(component));
        }
        let live = c.program.live();
        for line in (0..c.program.lines().len()).rev() {
            if live[c.program.inputs() + line] {
                for side in [Side::Left, Side::Right] {
                    out.push(Removal::Line {
                        component,
                        line,
                        side,
                    });
                }
            }
        }
    }
    out
}

/// Every part's occupancy at every query point and every copy its component places it
/// at, computed once: a candidate differs only in its lines, which are cheap to run.
struct PartValues {
    points: usize,
    /// Per component: `[point][copy][part]`, flattened.
    values: Vec<Vec<f32>>,
    copies: Vec<usize>,
}

impl PartValues {
    fn new(program: &GraphicsProgram, points: &[f32]) -> Self {
        let dim = program.dim.max(1);
        let mut values = Vec::new();
        let mut copies = Vec::new();
        for c in &program.components {
            let per_point: Vec<Vec<f32>> = points
                .par_chunks(dim)
                .map(|p| {
                    c.copies(p)
                        .iter()
                        .flat_map(|q| {
                            c.parts
                                .iter()
                                .map(|part| part.occupancy(&q[..dim], program.sharpness))
                        })
                        .collect()
                })
                .collect();
            copies.push(
                per_point
                    .first()
                    .map_or(1, |v| v.len() / c.parts.len().max(1)),
            );
            values.push(per_point.concat());
        }
        Self {
            points: points.len() / dim,
            values,
            copies,
        }
    }

    /// `program`'s occupancy at every point; `program` has the parts this was built from.
    fn occupancies(&self, program: &GraphicsProgram) -> Vec<f32> {
        (0..self.points)
            .into_par_iter()
            .map_init(Vec::new, |scratch, i| {
                let mut best = 0.0f32;
                for (c, component) in program.components.iter().enumerate() {
                    if !component.enabled {
                        continue;
                    }
                    let parts = component.parts.len();
                    let copies = self.copies[c];
                    let row = &self.values[c][i * copies * parts..(i + 1) * copies * parts];
                    for copy in row.chunks(parts.max(1)) {
                        scratch.clear();
                        scratch.extend_from_slice(copy);
                        best = best.max(component.run_lines(scratch));
                    }
                }
                best
            })
            .collect()
    }

    /// Which points `program` occupies.
    fn inside(&self, program: &GraphicsProgram) -> Vec<bool> {
        self.occupancies(program).iter().map(|&o| o > 0.5).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::VoxelGrid;
    use crate::dsl::{Line, OpSet, Program};
    use crate::graphics::{ComponentKind, PartShape, ProgramComponent};

    fn sphere(centre: [f32; 3], radius: f32) -> PartShape {
        let s = 0.5 / radius;
        PartShape {
            translation: centre.to_vec(),
            linear: vec![s, 0.0, 0.0, 0.0, s, 0.0, 0.0, 0.0, s],
            surface: vec![4.0, 4.0, 4.0, 0.0, 0.0, 0.0],
            warp: None,
            surface_index: None,
            warp_index: None,
        }
    }

    /// union(union(big, inside-big), far): the middle line changes nothing.
    fn program() -> GraphicsProgram {
        let ops = OpSet::csg();
        let union = ops.ops.iter().position(|o| o.name == "union").unwrap();
        let lines = vec![
            Line {
                op: union,
                left: 0,
                right: 1,
            },
            Line {
                op: union,
                left: 3,
                right: 2,
            },
        ];
        GraphicsProgram {
            dim: 3,
            sharpness: 20.0,
            components: vec![ProgramComponent {
                kind: ComponentKind::Simple,
                program: Program::new(ops, 3, lines).unwrap(),
                parts: vec![
                    sphere([-0.2, 0.0, 0.0], 0.2),
                    sphere([-0.2, 0.0, 0.0], 0.1),
                    sphere([0.25, 0.0, 0.0], 0.15),
                ],
                flip: None,
                step: None,
                count: None,
                enabled: true,
            }],
        }
    }

    #[test]
    fn removes_a_line_that_changes_nothing_and_keeps_the_rest() {
        let truth = program();
        let frame = VoxelGrid::empty(32);
        let target = Target::Voxels(truth.voxelize(32, &frame));
        let scoring = Scoring {
            target: &target,
            unseen: Crop::None,
            resolution: 32,
            seed: 0,
        };
        let start = scoring.score(truth.clone());
        assert_eq!(start.program.live_lines(), 2);
        let pruned =
            prune(&scoring, &start, start.key() * 1.1 + 1e-9).expect("the buried part's line goes");
        assert_eq!(pruned.program.live_lines(), 1, "{}", pruned.program);
        assert_eq!(pruned.program.live_parts(), 2);
        assert!(pruned.key() <= start.key() * 1.1 + 1e-9);
        // Removing the far sphere's line would cost fit: a tight bound keeps it.
        assert!(prune(&scoring, &pruned, pruned.key() * 1.1 + 1e-9).is_none());
    }

    #[test]
    fn where_the_input_is_unseen_only_exact_removals_go() {
        // The far sphere sits where the crop removed the input (x > 0): removing its line
        // costs nothing on what is seen, but it is the program's completion of the shape.
        let truth = program();
        let frame = VoxelGrid::empty(32);
        let crop = Crop::fixed_plane();
        let target = Target::Voxels(crop.apply(&truth.voxelize(32, &frame)));
        let scoring = Scoring {
            target: &target,
            unseen: crop,
            resolution: 32,
            seed: 0,
        };
        let start = scoring.score(truth.clone());
        let pruned = prune(&scoring, &start, f64::INFINITY).expect("the buried line goes");
        assert_eq!(pruned.program.live_lines(), 1, "{}", pruned.program);
        assert_eq!(pruned.program.live_parts(), 2, "{}", pruned.program);
    }
}
