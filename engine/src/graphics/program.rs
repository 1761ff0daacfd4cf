//! The discrete graphics program a run ends with: per component a straight-line CSG program
//! over named parts, with every continuous parameter kept so it re-evaluates exactly.

use std::fmt;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ComponentKind;
use crate::data::VoxelGrid;
use crate::dsl::{Line, Program, Semantics};

/// Which argument of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// One discrete part: a quadric surface in an affinely placed frame, maybe warped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartShape {
    /// `t`: D values.
    pub translation: Vec<f32>,
    /// `A` (world → part frame), D×D row-major.
    pub linear: Vec<f32>,
    /// Quadric coefficients: D squares, then D absolute values.
    pub surface: Vec<f32>,
    /// Warp parameters (scale coefficients, shift coefficients, gate), if the family warps.
    #[serde(default)]
    pub warp: Option<Vec<f32>>,
    /// Which library entries the part retrieved, if it comes from a library.
    #[serde(default)]
    pub surface_index: Option<usize>,
    #[serde(default)]
    pub warp_index: Option<usize>,
}

impl PartShape {
    pub fn dim(&self) -> usize {
        self.translation.len()
    }

    pub fn signed_distance(&self, p: &[f32]) -> f32 {
        super::parts_kernel::signed_distance(
            p,
            &self.translation,
            &self.linear,
            &self.surface,
            self.warp.as_deref(),
        )
    }

    pub fn occupancy(&self, p: &[f32], sharpness: f64) -> f32 {
        crate::graphics::parts_kernel::part_occupancy(
            p,
            &self.translation,
            &self.linear,
            &self.surface,
            self.warp.as_deref(),
            sharpness as f32,
        )
    }

    /// A short human name: `circle`, `square`, `box`, `ellipsoid`, or `quadric #i`.
    pub fn describe(&self) -> String {
        let dim = self.dim();
        let squares = &self.surface[..dim];
        let linear = &self.surface[dim..];
        let flat = self.surface.iter().all(|c| c.abs() < 1e-3);
        let round =
            squares.iter().all(|c| (c - 4.0).abs() < 1e-3) && linear.iter().all(|c| c.abs() < 1e-3);
        match (self.surface_index, dim, flat, round) {
            (Some(i), ..) => {
                let warped = self
                    .warp
                    .as_ref()
                    .is_some_and(|w| w.last().is_some_and(|g| *g >= 0.0));
                let warp = match (warped, self.warp_index) {
                    (true, Some(w)) => format!(" warp #{w}"),
                    _ => String::new(),
                };
                format!("quadric #{i}{warp}")
            }
            (None, 2, true, _) => "square".into(),
            (None, 2, _, true) => "circle".into(),
            (None, _, true, _) => "box".into(),
            (None, _, _, true) => "ellipsoid".into(),
            _ => "quadric".into(),
        }
    }
}

/// One component: its kind, its straight-line program over its parts (part `i` is input
/// line `i`), and its transform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramComponent {
    pub kind: ComponentKind,
    pub program: Program,
    pub parts: Vec<PartShape>,
    /// Flip hyperplane `n·p + c = 0`: D + 1 values (flip-union).
    #[serde(default)]
    pub flip: Option<Vec<f32>>,
    /// For-loop step and count.
    #[serde(default)]
    pub step: Option<Vec<f32>>,
    #[serde(default)]
    pub count: Option<usize>,
    /// Whether the component's gate is on.
    pub enabled: bool,
}

impl ProgramComponent {
    /// The copies of `p` the component evaluates its program at.
    pub(super) fn copies(&self, p: &[f32]) -> Vec<[f32; 3]> {
        let dim = p.len().min(3);
        let mut point = [0.0f32; 3];
        point[..dim].copy_from_slice(&p[..dim]);
        match (&self.kind, &self.flip, &self.step) {
            (ComponentKind::FlipUnion, Some(flip), _) => {
                let normal = &flip[..dim];
                let norm2: f32 = normal.iter().map(|n| n * n).sum::<f32>() + 1.0e-6;
                let side: f32 = p.iter().zip(normal).map(|(a, b)| a * b).sum::<f32>() + flip[dim];
                let mut flipped = point;
                for (x, n) in flipped.iter_mut().zip(normal) {
                    *x -= 2.0 * side / norm2 * n;
                }
                vec![point, flipped]
            }
            (ComponentKind::ForLoop { .. }, _, Some(step)) => (0..self.count.unwrap_or(1).max(1))
                .map(|c| {
                    let mut moved = point;
                    for (x, d) in moved.iter_mut().zip(step) {
                        *x -= c as f32 * d;
                    }
                    moved
                })
                .collect(),
            _ => vec![point],
        }
    }

    /// The component's occupancy at `p`.
    pub fn occupancy(&self, p: &[f32], sharpness: f64) -> f32 {
        self.occupancy_with(p, sharpness, &mut Vec::new())
    }

    /// [`Self::occupancy`] reusing `scratch` for the line values.
    pub fn occupancy_with(&self, p: &[f32], sharpness: f64, scratch: &mut Vec<f32>) -> f32 {
        if !self.enabled {
            return 0.0;
        }
        let dim = p.len().min(3);
        let mut best = 0.0f32;
        for q in self.copies(p) {
            scratch.clear();
            // After `compacted` every part is live; dead parts of other programs cost time only.
            scratch.extend(
                self.parts
                    .iter()
                    .map(|part| part.occupancy(&q[..dim], sharpness)),
            );
            best = best.max(self.run_lines(scratch));
        }
        best
    }

    /// Runs the program's lines over `scratch`, which holds the parts' values at one point:
    /// appends every line's value and returns the output's.
    pub(super) fn run_lines(&self, scratch: &mut Vec<f32>) -> f32 {
        for line in self.program.lines() {
            let semantics = self.program.ops().ops[line.op].semantics;
            scratch.push(semantics.apply(scratch[line.left], scratch[line.right]));
        }
        scratch.last().copied().unwrap_or(0.0)
    }

    /// Occupancy of part `part` alone, at every copy the component places it.
    pub fn part_occupancy(&self, part: usize, p: &[f32], sharpness: f64) -> f32 {
        let dim = p.len().min(3);
        self.parts.get(part).map_or(0.0, |shape| {
            self.copies(p)
                .iter()
                .map(|q| shape.occupancy(&q[..dim], sharpness))
                .fold(0.0, f32::max)
        })
    }

    /// Drops parts the program never reads and renumbers the rest in order.
    fn compact(mut self) -> Self {
        let program = self.program.simplify();
        let live = program.live();
        let inputs = program.inputs();
        let mut new_id = vec![0usize; live.len()];
        let mut parts = Vec::new();
        for i in 0..inputs {
            if live[i] {
                new_id[i] = parts.len();
                parts.push(self.parts[i].clone());
            }
        }
        let kept = parts.len().max(1);
        if parts.is_empty() {
            parts.push(self.parts[0].clone());
        }
        for (code, id) in (inputs..live.len()).enumerate() {
            new_id[id] = kept + code;
        }
        let lines: Vec<Line> = program
            .lines()
            .iter()
            .map(|l| Line {
                op: l.op,
                left: new_id[l.left],
                right: new_id[l.right],
            })
            .collect();
        if let Ok(compacted) = Program::new(program.ops().clone(), kept, lines) {
            self.program = compacted;
            self.parts = parts;
        } else {
            self.program = program;
        }
        self
    }
}

/// A discrete graphics program in the normalized frame `[-½, ½]^D`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphicsProgram {
    pub dim: usize,
    pub sharpness: f64,
    pub components: Vec<ProgramComponent>,
}

/// Most for-loop copies a program may ask for (the sketches use up to 8).
const MAX_COPIES: usize = 64;

impl GraphicsProgram {
    /// Reads a `program.json` and [`check`](Self::check)s it.
    ///
    /// # Errors
    /// Text that is not a program.json, or a program that does not hold together.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let program: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        program.check()?;
        Ok(program)
    }

    /// Whether every index and size in the program agrees with the others, so that
    /// evaluating or exporting it cannot go out of bounds (a program read from a file may
    /// have been edited by hand).
    ///
    /// # Errors
    /// The first inconsistency, in words.
    pub fn check(&self) -> Result<(), String> {
        let d = self.dim;
        if !(2..=3).contains(&d) {
            return Err(format!("dim is {d}, not 2 or 3"));
        }
        if !(self.sharpness.is_finite() && self.sharpness > 0.0) {
            return Err(format!("sharpness is {}", self.sharpness));
        }
        let warp_width = super::parts::warp_width(d);
        for (c, component) in self.components.iter().enumerate() {
            let inputs = component.program.inputs();
            if component.parts.len() < inputs.max(1) {
                return Err(format!(
                    "component {c} reads {inputs} parts but has {}",
                    component.parts.len()
                ));
            }
            for (i, part) in component.parts.iter().enumerate() {
                let sizes = [
                    ("translation", part.translation.len(), d),
                    ("linear", part.linear.len(), d * d),
                    ("surface", part.surface.len(), 2 * d),
                    (
                        "warp",
                        part.warp.as_ref().map_or(warp_width, Vec::len),
                        warp_width,
                    ),
                ];
                if let Some((what, got, want)) = sizes.iter().find(|(_, got, want)| got != want) {
                    return Err(format!(
                        "component {c} part {i}: {what} has {got} values, not {want}"
                    ));
                }
                let values = [&part.translation, &part.linear, &part.surface]
                    .into_iter()
                    .chain(part.warp.as_ref());
                if values.flatten().any(|v| !v.is_finite()) {
                    return Err(format!("component {c} part {i} has a non-finite value"));
                }
            }
            let too_short =
                |v: &Option<Vec<f32>>, n: usize| v.as_ref().is_some_and(|v| v.len() < n);
            if too_short(&component.flip, d + 1) || too_short(&component.step, d) {
                return Err(format!("component {c}: its flip or step is too short"));
            }
            if component.count.unwrap_or(1) > MAX_COPIES {
                return Err(format!(
                    "component {c} repeats {} times, above {MAX_COPIES}",
                    component.count.unwrap_or(1)
                ));
            }
        }
        Ok(())
    }

    /// Simplifies every component's program and keeps only the parts it reads.
    pub fn compacted(mut self) -> Self {
        self.components = self
            .components
            .into_iter()
            .map(ProgramComponent::compact)
            .collect();
        self
    }

    /// Occupancy in [0, 1] at `p` (D values).
    pub fn occupancy(&self, p: &[f32]) -> f32 {
        self.occupancy_with(p, &mut Vec::new())
    }

    /// [`Self::occupancy`] reusing `scratch`.
    pub fn occupancy_with(&self, p: &[f32], scratch: &mut Vec<f32>) -> f32 {
        self.components
            .iter()
            .map(|c| c.occupancy_with(p, self.sharpness, scratch))
            .fold(0.0, f32::max)
    }

    /// The program with code lines `(component, line)` switched off: each becomes a skip
    /// that passes its left argument through (how the app lets a user remove a line).
    /// Lines of an op set without a skip, and lines that do not exist, are left alone.
    pub fn with_lines_off(&self, off: &[(usize, usize)]) -> Self {
        off.iter()
            .fold(self.clone(), |program, &(component, line)| {
                program.with_line_passing(component, line, Side::Left)
            })
    }

    /// The program with code line `line` of `component` replaced by a skip that passes
    /// its `side` argument through. Lines of an op set without a skip, and lines that do
    /// not exist, are left alone.
    pub fn with_line_passing(&self, component: usize, line: usize, side: Side) -> Self {
        let mut program = self.clone();
        let Some(edited) = program.components.get_mut(component) else {
            return program;
        };
        let ops = edited.program.ops().clone();
        let Some(skip) = ops.ops.iter().position(|o| o.semantics == Semantics::Skip) else {
            return program;
        };
        let mut lines = edited.program.lines().to_vec();
        let Some(target) = lines.get_mut(line) else {
            return program;
        };
        let kept = match side {
            Side::Left => target.left,
            Side::Right => target.right,
        };
        *target = Line {
            op: skip,
            left: kept,
            right: kept,
        };
        if let Ok(program_lines) = Program::new(ops, edited.program.inputs(), lines) {
            edited.program = program_lines;
        }
        program
    }

    /// Live non-skip lines over all enabled components (the paper's program length).
    pub fn live_lines(&self) -> usize {
        self.components
            .iter()
            .filter(|c| c.enabled)
            .map(|c| c.program.length())
            .sum()
    }

    /// How many live non-skip lines of enabled components use each operator, by name
    /// (every operator of the set appears, skip excepted).
    pub fn operator_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for component in &self.components {
            let program = &component.program;
            for op in &program.ops().ops {
                if op.semantics != Semantics::Skip {
                    counts.entry(op.name.clone()).or_insert(0);
                }
            }
            if !component.enabled {
                continue;
            }
            let live = program.live();
            for (code_id, line) in program.lines().iter().enumerate() {
                let op = &program.ops().ops[line.op];
                if live[program.inputs() + code_id] && op.semantics != Semantics::Skip {
                    *counts.entry(op.name.clone()).or_insert(0) += 1;
                }
            }
        }
        counts
    }

    /// Parts read by enabled components.
    pub fn live_parts(&self) -> usize {
        self.components
            .iter()
            .filter(|c| c.enabled)
            .map(|c| {
                let live = c.program.live();
                (0..c.program.inputs()).filter(|&i| live[i]).count()
            })
            .sum()
    }

    /// Occupancies at many points (`dim` values each, flattened), in parallel.
    pub fn occupancies(&self, points: &[f32]) -> Vec<f32> {
        points
            .par_chunks(self.dim.max(1))
            .map_init(Vec::new, |scratch, p| self.occupancy_with(p, scratch))
            .collect()
    }

    /// The program sampled at voxel centres of a `resolution³` grid placed like `frame`
    /// (3D programs only).
    pub fn voxelize(&self, resolution: usize, frame: &VoxelGrid) -> VoxelGrid {
        let r = resolution.max(1);
        let mut grid = VoxelGrid::empty(r);
        let inside: Vec<bool> = (0..r * r * r)
            .into_par_iter()
            .map_init(Vec::new, |scratch, i| {
                let xyz = [i / (r * r), (i / r) % r, i % r];
                let p = grid.normalized_centre(xyz);
                self.occupancy_with(&p, scratch) > 0.5
            })
            .collect();
        for (i, value) in inside.into_iter().enumerate() {
            if value {
                grid.set([i / (r * r), (i / r) % r, i % r], true);
            }
        }
        grid.translate = frame.translate;
        grid.scale = frame.scale;
        grid
    }
}

fn vector(values: &[f32]) -> String {
    let parts: Vec<String> = values.iter().map(|v| format!("{}", round3(*v))).collect();
    format!("({})", parts.join(", "))
}

fn round3(v: f32) -> f32 {
    let r = (v * 1000.0).round() / 1000.0;
    if r == 0.0 { 0.0 } else { r }
}

impl fmt::Display for GraphicsProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "# roap graphics program: {}D, {} live lines, {} parts",
            self.dim,
            self.live_lines(),
            self.live_parts()
        )?;
        for (index, c) in self.components.iter().enumerate() {
            let transform = match (&c.kind, &c.flip, &c.step) {
                (ComponentKind::FlipUnion, Some(flip), _) => {
                    let d = flip.len() - 1;
                    format!(
                        " over plane n = {}, c = {}",
                        vector(&flip[..d]),
                        round3(flip[d])
                    )
                }
                (ComponentKind::ForLoop { .. }, _, Some(step)) => {
                    format!(" × {} step {}", c.count.unwrap_or(1), vector(step))
                }
                _ => String::new(),
            };
            let state = if c.enabled { "" } else { " (off)" };
            writeln!(f, "component {index}: {}{transform}{state}", c.kind.name())?;
            let live = c.program.live();
            let inputs = c.program.inputs();
            for (i, part) in c.parts.iter().enumerate() {
                if live.get(i).copied().unwrap_or(false) {
                    writeln!(
                        f,
                        "  p{i} = {} at {} A = {}",
                        part.describe(),
                        vector(&part.translation),
                        vector(&part.linear)
                    )?;
                }
            }
            let name = |id: usize| {
                if id < inputs {
                    format!("p{id}")
                } else {
                    format!("l{}", id - inputs)
                }
            };
            for (code, line) in c.program.lines().iter().enumerate() {
                let op = &c.program.ops().ops[line.op];
                if op.semantics.arity() == 1 {
                    writeln!(f, "  l{code} = {}({})", op.name, name(line.left))?;
                } else {
                    writeln!(
                        f,
                        "  l{code} = {}({}, {})",
                        op.name,
                        name(line.left),
                        name(line.right)
                    )?;
                }
            }
        }
        Ok(())
    }
}
