//! Meshes of a discrete graphics program: its surface and one coloured mesh per live part.

use super::GraphicsProgram;
use crate::data::TriangleMesh;
use crate::export::{ColoredPart, isosurface_of_fn};

/// A palette of distinguishable part colours (cycled).
pub const PART_COLORS: [[f32; 3]; 10] = [
    [0.90, 0.37, 0.33],
    [0.30, 0.60, 0.87],
    [0.45, 0.75, 0.38],
    [0.95, 0.70, 0.25],
    [0.65, 0.45, 0.80],
    [0.25, 0.75, 0.75],
    [0.90, 0.50, 0.70],
    [0.60, 0.60, 0.35],
    [0.50, 0.55, 0.95],
    [0.85, 0.55, 0.40],
];

/// The ½-isosurface of a 3D program at `resolution³`, in the normalized frame.
pub fn program_surface(program: &GraphicsProgram, resolution: usize) -> TriangleMesh {
    isosurface_of_fn(resolution, |p| program.occupancy(&p))
}

/// One mesh per live part of every enabled component (with its mirror or repeats, as the
/// component places it), coloured from [`PART_COLORS`], in the normalized frame.
pub fn part_meshes(program: &GraphicsProgram, resolution: usize) -> Vec<ColoredPart> {
    let mut parts = Vec::new();
    for (c, component) in program.components.iter().enumerate() {
        if !component.enabled {
            continue;
        }
        let live = component.program.live();
        for (i, part) in component.parts.iter().enumerate() {
            if !live.get(i).copied().unwrap_or(false) {
                continue;
            }
            let mesh = isosurface_of_fn(resolution, |p| {
                component.part_occupancy(i, &p, program.sharpness)
            });
            parts.push(ColoredPart {
                name: format!("c{c}_p{i}_{}", part.describe().replace([' ', '#'], "")),
                color: PART_COLORS[parts.len() % PART_COLORS.len()],
                mesh,
            });
        }
    }
    parts
}
