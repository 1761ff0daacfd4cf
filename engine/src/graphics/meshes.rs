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

/// Which part of which component a mesh shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartKey {
    pub component: usize,
    pub part: usize,
}

/// One mesh per live part of every enabled component (with its mirror or repeats, as the
/// component places it), coloured from [`PART_COLORS`], in the normalized frame.
pub fn part_meshes(program: &GraphicsProgram, resolution: usize) -> Vec<(PartKey, ColoredPart)> {
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
            let colored = ColoredPart {
                name: format!("c{c}_p{i}_{}", part.describe().replace([' ', '#'], "")),
                color: PART_COLORS[parts.len() % PART_COLORS.len()],
                mesh,
            };
            parts.push((
                PartKey {
                    component: c,
                    part: i,
                },
                colored,
            ));
        }
    }
    parts
}

/// The library's quadric surfaces as a gallery: entry `i` is a unit part (no warp) meshed at
/// `resolution³` and placed on a square lattice in the normalized frame, coloured from
/// [`PART_COLORS`]. `surfaces` holds 6 coefficients per entry (3D).
pub fn library_meshes(surfaces: &[f32], resolution: usize) -> Vec<ColoredPart> {
    let width = super::parts::surface_width(3);
    let count = surfaces.len() / width;
    let side = (count as f64).sqrt().ceil().max(1.0) as usize;
    let cell = 1.0 / side as f32;
    surfaces
        .chunks_exact(width)
        .enumerate()
        .map(|(i, surface)| {
            let centre = [
                (i % side) as f32 * cell + cell / 2.0 - 0.5,
                0.0,
                (i / side) as f32 * cell + cell / 2.0 - 0.5,
            ];
            // Each entry on its own small grid (the unit part fills 90 % of it), then moved
            // into its cell.
            let linear = [
                1.0 / 0.9,
                0.0,
                0.0,
                0.0,
                1.0 / 0.9,
                0.0,
                0.0,
                0.0,
                1.0 / 0.9,
            ];
            let mut mesh = isosurface_of_fn(resolution, |p| {
                crate::graphics::parts_kernel::part_occupancy(
                    &p, &[0.0; 3], &linear, surface, None, 20.0,
                )
            });
            for v in &mut mesh.vertices {
                for (c, o) in v.iter_mut().zip(centre) {
                    *c = *c * 0.9 * cell + o;
                }
            }
            ColoredPart {
                name: format!("surface_{i}"),
                color: PART_COLORS[i % PART_COLORS.len()],
                mesh,
            }
        })
        .collect()
}
