//! OpenSCAD export: a discrete 3D program as a CSG tree a CAD user can keep editing.
//!
//! Operators become `union()`, `intersection()` and `difference()`, a flip-union a
//! `mirror()`, a for-loop `translate()` copies. Each live part becomes a `polyhedron()`: the
//! ½-isosurface of its occupancy, meshed in the part's own frame (so thin parts keep their
//! detail) and written in the program's frame. The whole tree is clipped to the unit cube
//! the program lives in and placed in the input's model space.

use std::fmt::Write as _;

use super::{ComponentKind, GraphicsProgram, PartShape, ProgramComponent};
use crate::data::{TriangleMesh, VoxelGrid};
use crate::dsl::Semantics;
use crate::export::{ExportError, closed_isosurface_of_box, simplify_for_csg};

/// Samples per axis of each part's mesh (in its own frame).
pub const DEFAULT_PART_RESOLUTION: usize = 32;

/// The program as an OpenSCAD file. `frame` places it in a grid's model space (the input's,
/// as [`VoxelGrid::to_model_frame`] does); without one it stays in `[-½, ½]³`.
///
/// # Errors
/// [`ExportError::Empty`] for a program that is not 3D or has no enabled component.
pub fn to_openscad(
    program: &GraphicsProgram,
    frame: Option<&VoxelGrid>,
    part_resolution: usize,
) -> Result<String, ExportError> {
    if program.dim != 3 {
        return Err(ExportError::Empty(format!(
            "OpenSCAD export takes 3D programs; this one is {}D",
            program.dim
        )));
    }
    let enabled: Vec<(usize, &ProgramComponent)> = program
        .components
        .iter()
        .enumerate()
        .filter(|(_, c)| c.enabled)
        .collect();
    if enabled.is_empty() {
        return Err(ExportError::Empty(
            "the program has no enabled component".into(),
        ));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// roap program: {} live lines, {} parts. Part k is module c<component>_p<k>, line k\n\
         // module c<component>_l<k>, as in program.txt.",
        program.live_lines(),
        program.live_parts()
    );
    let (scale, translate) = frame.map_or((1.0, [-0.5; 3]), |f| (f.scale, f.translate));
    // Normalized p ↦ (p + ½)·scale + translate.
    let offset = translate.map(|t| 0.5 * scale + t);
    let _ = writeln!(
        out,
        "multmatrix([[{s}, 0, 0, {}], [0, {s}, 0, {}], [0, 0, {s}, {}], [0, 0, 0, 1]])\n\
         intersection() {{\n  cube(1, center = true); // the program's domain\n  union() {{",
        offset[0],
        offset[1],
        offset[2],
        s = scale
    );
    for (index, _) in &enabled {
        let _ = writeln!(out, "    c{index}();");
    }
    out.push_str("  }\n}\n");
    for (index, component) in enabled {
        write_component(
            &mut out,
            index,
            component,
            program.sharpness,
            part_resolution,
        );
    }
    Ok(out)
}

/// One component's modules: its parts, its lines, and `c<index>()`, its value with the
/// component's mirror or repeats.
fn write_component(
    out: &mut String,
    index: usize,
    component: &ProgramComponent,
    sharpness: f64,
    part_resolution: usize,
) {
    let program = &component.program;
    let inputs = program.inputs();
    let live = program.live();
    let name = |id: usize| {
        if id < inputs {
            format!("c{index}_p{id}")
        } else {
            format!("c{index}_l{}", id - inputs)
        }
    };
    let region = reaching_region(component);
    for (i, part) in component.parts.iter().enumerate() {
        if live.get(i).copied().unwrap_or(false) {
            let mesh = part_mesh(part, sharpness, part_resolution, region);
            let _ = writeln!(out, "\n// {}", part.describe());
            let _ = writeln!(out, "module {}() {}", name(i), polyhedron(&mesh));
        }
    }
    for (code, line) in program.lines().iter().enumerate() {
        let id = inputs + code;
        if !live.get(id).copied().unwrap_or(false) {
            continue;
        }
        let semantics = program.ops().ops[line.op].semantics;
        let (left, right) = (name(line.left), name(line.right));
        let body = match semantics {
            Semantics::Max => format!("union() {{ {left}(); {right}(); }}"),
            Semantics::Min => format!("intersection() {{ {left}(); {right}(); }}"),
            Semantics::Difference => format!("difference() {{ {left}(); {right}(); }}"),
            // Arithmetic operators have no CSG meaning; graphics programs never use them.
            _ => format!("{left}();"),
        };
        let _ = writeln!(out, "module {}() {body}", name(id));
    }
    // The last line's value is the component's (`ProgramComponent::occupancy`); without
    // lines, the last part's.
    let result = name((inputs + program.lines().len()).max(1) - 1);
    let body = match (&component.kind, &component.flip, &component.step) {
        (ComponentKind::FlipUnion, Some(flip), _) => {
            let (normal, c) = (&flip[..3], flip[3]);
            let norm2: f32 = normal.iter().map(|n| n * n).sum::<f32>() + 1.0e-6;
            // The plane n·p + c = 0 passes through −c·n/|n|²: mirror about it there.
            let through: [f32; 3] = [0, 1, 2].map(|a| -c * normal[a] / norm2);
            format!(
                "union() {{ {result}(); translate({}) mirror({}) translate({}) {result}(); }}",
                vector(&through),
                vector(normal),
                vector(&through.map(|t| -t))
            )
        }
        (ComponentKind::ForLoop { .. }, _, Some(step)) => format!(
            "for (i = [0 : {}]) translate(i * {}) {result}();",
            component.count.unwrap_or(1).max(1) - 1,
            vector(step)
        ),
        _ => format!("{result}();"),
    };
    let _ = writeln!(out, "module c{index}() {body}");
}

/// Samples per unit of the program's frame, at least, in each part's mesh: as fine as the
/// 64³ grid programs are scored at.
const WORLD_RESOLUTION: f32 = 64.0;
/// How far (in the program's frame) simplification may move a part's surface: a quarter of a
/// cell of the 64³ grid programs are scored at.
const SIMPLIFY_TOLERANCE: f32 = 0.25 / 64.0;
/// At most this many samples along any axis of a part's mesh.
const MAX_SAMPLES: usize = 160;

/// The part's ½-isosurface in the program's frame, meshed over its own frame `q = A(p − t)`
/// (so a thin part gets as many samples across as a thick one) where it can reach the
/// program's domain: the box `region` (min, max) of the program's frame.
fn part_mesh(
    part: &PartShape,
    sharpness: f64,
    resolution: usize,
    region: ([f32; 3], [f32; 3]),
) -> TriangleMesh {
    let a = &part.linear;
    let inverse = invert3(a);
    let t = &part.translation;
    let to_world = |q: [f32; 3]| -> [f32; 3] {
        [0, 1, 2].map(|row| t[row] + (0..3).map(|k| inverse[row * 3 + k] * q[k]).sum::<f32>())
    };
    let occupancy = |q: [f32; 3]| part.occupancy(&to_world(q), sharpness);
    let Some((mut lo, mut hi)) = occupied_box(occupancy) else {
        return TriangleMesh::default();
    };
    // Clip to the region's box seen from the part's frame (and one world sample around).
    let (region_lo, region_hi) = region;
    for axis in 0..3 {
        let row = &a[axis * 3..axis * 3 + 3];
        let centre: f32 = (0..3)
            .map(|b| row[b] * (0.5 * (region_lo[b] + region_hi[b]) - t[b]))
            .sum();
        let half: f32 = (0..3)
            .map(|b| row[b].abs() * (0.5 * (region_hi[b] - region_lo[b]) + 1.0 / WORLD_RESOLUTION))
            .sum();
        lo[axis] = lo[axis].max(centre - half);
        hi[axis] = hi[axis].min(centre + half);
        if lo[axis] >= hi[axis] {
            return TriangleMesh::default();
        }
    }
    let size = [0, 1, 2].map(|axis| hi[axis] - lo[axis]);
    // `resolution` samples per unit of the part's frame, and at least the world's.
    let samples = [0, 1, 2].map(|axis| {
        let world_length: f32 = (0..3)
            .map(|row| inverse[row * 3 + axis].powi(2))
            .sum::<f32>()
            .sqrt();
        let per_unit = (resolution as f32).max(world_length * WORLD_RESOLUTION);
        ((size[axis] * per_unit).ceil() as usize).clamp(4, MAX_SAMPLES)
    });
    let at = |c: [f32; 3]| [0, 1, 2].map(|axis| lo[axis] + (c[axis] + 0.5) * size[axis]);
    let mut mesh = closed_isosurface_of_box(samples, |c| occupancy(at(c)));
    for v in &mut mesh.vertices {
        *v = to_world(at(*v));
    }
    // CGAL's time grows with the facets it is given; flat and gently curved stretches need
    // few of them. Simplified faces are refitted to the surface (they cut chords inside a
    // convex part) and checked not to cross, which CGAL would not survive.
    simplify_for_csg(mesh, |p| part.occupancy(&p, sharpness), SIMPLIFY_TOLERANCE)
}

/// The box, in the part's frame, around the part's inside, padded by one scan cell; `None`
/// if the scan finds no inside. Off the first axis a part lies within |q| ≤ ½ (its walls);
/// along the first its warp may shift and stretch it, so that axis is scanned wider.
fn occupied_box(occupancy: impl Fn([f32; 3]) -> f32) -> Option<([f32; 3], [f32; 3])> {
    const FIRST_AXIS: f32 = 8.0;
    const ALONG: usize = 512;
    const ACROSS: usize = 16;
    let along = 2.0 * FIRST_AXIS / ALONG as f32;
    let across = 1.0 / ACROSS as f32;
    let mut bounds: Option<([f32; 3], [f32; 3])> = None;
    for i in 0..ALONG {
        for j in 0..=ACROSS {
            for k in 0..=ACROSS {
                let q = [
                    (i as f32 + 0.5) * along - FIRST_AXIS,
                    j as f32 * across - 0.5,
                    k as f32 * across - 0.5,
                ];
                if occupancy(q) <= 0.5 {
                    continue;
                }
                let (lo, hi) = bounds.get_or_insert((q, q));
                for axis in 0..3 {
                    lo[axis] = lo[axis].min(q[axis]);
                    hi[axis] = hi[axis].max(q[axis]);
                }
            }
        }
    }
    let pad = [along, across, across].map(|c| 2.0 * c);
    bounds.map(|(lo, hi)| {
        (
            [0, 1, 2].map(|axis| lo[axis] - pad[axis]),
            [0, 1, 2].map(|axis| hi[axis] + pad[axis]),
        )
    })
}

/// The box (min, max) of the program's frame where a part of `component` can lie and still
/// show in the unit cube, through the component's mirror or repeats.
fn reaching_region(component: &ProgramComponent) -> ([f32; 3], [f32; 3]) {
    let (mut lo, mut hi) = ([-0.5f32; 3], [0.5f32; 3]);
    let corners =
        (0..8).map(|c| [0, 1, 2].map(|axis| if c >> axis & 1 == 1 { 0.5f32 } else { -0.5 }));
    match (&component.kind, &component.flip, &component.step) {
        (ComponentKind::FlipUnion, Some(flip), _) => {
            // The cube's mirror image: a part there is mirrored into the cube.
            let normal = &flip[..3];
            let norm2: f32 = normal.iter().map(|n| n * n).sum::<f32>() + 1.0e-6;
            for corner in corners {
                let side: f32 = (0..3).map(|b| corner[b] * normal[b]).sum::<f32>() + flip[3];
                for axis in 0..3 {
                    let mirrored = corner[axis] - 2.0 * side / norm2 * normal[axis];
                    lo[axis] = lo[axis].min(mirrored);
                    hi[axis] = hi[axis].max(mirrored);
                }
            }
        }
        (ComponentKind::ForLoop { .. }, _, Some(step)) => {
            // Copy c moves a part by c·step: parts up to (count − 1)·step away show.
            let last = component.count.unwrap_or(1).saturating_sub(1) as f32;
            for axis in 0..3 {
                let shift = -last * step[axis];
                lo[axis] += shift.min(0.0);
                hi[axis] += shift.max(0.0);
            }
        }
        _ => {}
    }
    (lo, hi)
}

/// `polyhedron(points, faces)`, faces wound as OpenSCAD wants them: clockwise seen from
/// outside.
fn polyhedron(mesh: &TriangleMesh) -> String {
    if mesh.triangles.is_empty() {
        // A part wholly outside space it is sampled in: nothing, as in the program.
        return "{}".into();
    }
    // The mesher winds faces counter-clockwise seen from outside, but the part's frame may
    // mirror (det A < 0). The signed volume says which way the mesh turned out.
    let outward = mesh.signed_volume() > 0.0;
    let mut text = String::from("polyhedron(points = [");
    for (i, v) in mesh.vertices.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(text, "{sep}[{},{},{}]", v[0], v[1], v[2]);
    }
    text.push_str("], faces = [");
    for (i, t) in mesh.triangles.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let [a, b, c] = if outward { [t[0], t[2], t[1]] } else { *t };
        let _ = write!(text, "{sep}[{a},{b},{c}]");
    }
    text.push_str("]);");
    text
}

/// Inverse of a row-major 3×3 matrix (a part's `A` is well conditioned: it is
/// `diag(1/size)(I + shear)`); a singular one gives the identity.
fn invert3(m: &[f32]) -> [f32; 9] {
    let m: Vec<f64> = m.iter().map(|&v| f64::from(v)).collect();
    let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
        + m[2] * (m[3] * m[7] - m[4] * m[6]);
    if det.abs() < 1e-12 {
        return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    }
    let cofactors = [
        m[4] * m[8] - m[5] * m[7],
        m[2] * m[7] - m[1] * m[8],
        m[1] * m[5] - m[2] * m[4],
        m[5] * m[6] - m[3] * m[8],
        m[0] * m[8] - m[2] * m[6],
        m[2] * m[3] - m[0] * m[5],
        m[3] * m[7] - m[4] * m[6],
        m[1] * m[6] - m[0] * m[7],
        m[0] * m[4] - m[1] * m[3],
    ];
    cofactors.map(|c| (c / det) as f32)
}

fn vector(values: &[f32]) -> String {
    let parts: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_the_matrix() {
        let m = [2.0, 0.5, 0.0, 0.1, 3.0, -0.2, 0.0, 0.3, 0.5];
        let inv = invert3(&m);
        for row in 0..3 {
            for col in 0..3 {
                let v: f32 = (0..3).map(|k| m[row * 3 + k] * inv[k * 3 + col]).sum();
                let expected = if row == col { 1.0 } else { 0.0 };
                assert!((v - expected).abs() < 1e-5, "{row},{col}: {v}");
            }
        }
    }

    /// Every part's mesh covers what the part's occupancy does (winding numbers at 64³).
    /// Slow (~6 min in the dev profile): run with `--ignored`.
    #[test]
    #[ignore = "slow: winding numbers of every part mesh at 64³"]
    fn part_meshes_match_their_parts() {
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it");
        let path = std::path::PathBuf::from(manifest).join("../samples/programs/mug.program.json");
        let program: GraphicsProgram =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let r = 64;
        let points: Vec<[f32; 3]> = (0..r * r * r)
            .map(|i| [i / (r * r), (i / r) % r, i % r].map(|c| (c as f32 + 0.5) / r as f32 - 0.5))
            .collect();
        for (c, component) in program.components.iter().enumerate() {
            let live = component.program.live();
            for (i, part) in component.parts.iter().enumerate() {
                if !live[i] {
                    continue;
                }
                let mesh = part_mesh(part, program.sharpness, 24, ([-0.5; 3], [0.5; 3]));
                let inside = mesh.winding_numbers(&points);
                let (mut both, mut either) = (0, 0);
                for (p, w) in points.iter().zip(inside) {
                    let (a, b) = (part.occupancy(p, program.sharpness) > 0.5, w > 0.5);
                    both += usize::from(a && b);
                    either += usize::from(a || b);
                }
                let iou = both as f64 / either.max(1) as f64;
                // A part of a few voxels may be off by one or two of them.
                assert!(
                    either - both <= 2 || iou > 0.95,
                    "c{c} p{i} ({}): IoU {iou}",
                    part.describe()
                );
            }
        }
    }

    #[test]
    fn a_2d_program_is_refused() {
        let program = GraphicsProgram {
            dim: 2,
            sharpness: 75.0,
            components: Vec::new(),
        };
        assert!(to_openscad(&program, None, 8).is_err());
    }
}
