//! Isosurfaces through fast-surface-nets, and the three mesh formats.

use std::io::Write;

use fast_surface_nets::ndshape::{RuntimeShape, Shape as _};
use fast_surface_nets::{SurfaceNetsBuffer, surface_nets};

use super::ExportError;
use crate::data::{TriangleMesh, VoxelGrid};

/// A mesh file format, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshFormat {
    Obj,
    Stl,
    Ply,
}

impl MeshFormat {
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "obj" => Some(Self::Obj),
            "stl" => Some(Self::Stl),
            "ply" => Some(Self::Ply),
            _ => None,
        }
    }
}

/// A mesh with a name and an RGB colour (components in 0..=1), e.g. one program part.
#[derive(Clone, Debug)]
pub struct ColoredPart {
    pub name: String,
    pub color: [f32; 3],
    pub mesh: TriangleMesh,
}

/// The ½-isosurface of `occupancy` sampled at `resolution³` points of the normalized cube
/// `[-0.5, 0.5]³` (sample `i` at `(i + 0.5) / resolution − 0.5`). Vertices come out in that
/// normalized frame. Occupancy is expected in [0, 1], 1 inside.
pub fn isosurface_of_fn(resolution: usize, occupancy: impl Fn([f32; 3]) -> f32) -> TriangleMesh {
    isosurface_of_box([resolution; 3], occupancy)
}

/// [`isosurface_of_fn`] with its own number of samples along each axis (sample `i` of axis
/// `a` at `(i + 0.5) / samples[a] − 0.5`), for boxes much longer one way than another.
pub fn isosurface_of_box(samples: [usize; 3], occupancy: impl Fn([f32; 3]) -> f32) -> TriangleMesh {
    let r = samples.map(|n| n.max(1));
    // One layer of outside samples around the grid closes the surface at the border.
    let padded = r.map(|n| n + 2);
    let shape = RuntimeShape::<u32, 3>::new(padded.map(|n| n as u32));
    let mut field = vec![1.0f32; padded.iter().product()];
    for x in 0..r[0] {
        for y in 0..r[1] {
            for z in 0..r[2] {
                let p = [0, 1, 2].map(|a| ([x, y, z][a] as f32 + 0.5) / r[a] as f32 - 0.5);
                // Negative inside, as surface nets expects of a signed distance.
                let at = shape.linearize([x as u32 + 1, y as u32 + 1, z as u32 + 1]) as usize;
                field[at] = 0.5 - occupancy(p);
            }
        }
    }
    let mut buffer = SurfaceNetsBuffer::default();
    surface_nets(
        &field,
        &shape,
        [0; 3],
        padded.map(|n| n as u32 - 1),
        &mut buffer,
    );
    // Sample k of the padded array sits at normalized (k − 1 + 0.5) / r − 0.5.
    let vertices = buffer
        .positions
        .iter()
        .map(|p| [0, 1, 2].map(|a| (p[a] - 0.5) / r[a] as f32 - 0.5))
        .collect();
    let triangles = buffer
        .indices
        .chunks_exact(3)
        .map(|t| [t[0], t[1], t[2]])
        .collect();
    TriangleMesh {
        vertices,
        triangles,
    }
}

/// The surface of an occupancy grid, in the grid's model-space frame.
pub fn isosurface_of_grid(grid: &VoxelGrid) -> TriangleMesh {
    let r = grid.resolution();
    let mut mesh = isosurface_of_fn(r, |p| {
        let xyz = p.map(|c| (((c + 0.5) * r as f32).floor() as usize).min(r - 1));
        f32::from(u8::from(grid.get(xyz)))
    });
    grid.to_model_frame(&mut mesh);
    mesh
}

/// Writes one mesh.
///
/// # Errors
/// [`ExportError::Empty`] for a mesh without triangles; I/O errors from `out`.
pub fn write_mesh(
    out: &mut impl Write,
    mesh: &TriangleMesh,
    format: MeshFormat,
) -> Result<(), ExportError> {
    let part = ColoredPart {
        name: "shape".into(),
        color: [0.8, 0.8, 0.8],
        mesh: mesh.clone(),
    };
    write_parts(out, std::slice::from_ref(&part), format)
}

/// Writes several parts into one file: one group per part in OBJ, per-vertex colours in PLY;
/// STL has neither, so the parts are simply concatenated.
///
/// # Errors
/// [`ExportError::Empty`] when no part has triangles; I/O errors from `out`.
pub fn write_parts(
    out: &mut impl Write,
    parts: &[ColoredPart],
    format: MeshFormat,
) -> Result<(), ExportError> {
    if parts.iter().all(|p| p.mesh.triangles.is_empty()) {
        return Err(ExportError::Empty("every part's mesh is empty".into()));
    }
    match format {
        MeshFormat::Obj => write_obj(out, parts),
        MeshFormat::Stl => write_stl(out, parts),
        MeshFormat::Ply => write_ply(out, parts),
    }
}

fn write_obj(out: &mut impl Write, parts: &[ColoredPart]) -> Result<(), ExportError> {
    writeln!(out, "# roap studio export")?;
    let mut offset = 1;
    for part in parts {
        writeln!(out, "g {}", part.name.replace(char::is_whitespace, "_"))?;
        for v in &part.mesh.vertices {
            // OBJ's common extension: a colour after the position.
            let [r, g, b] = part.color;
            writeln!(out, "v {} {} {} {r} {g} {b}", v[0], v[1], v[2])?;
        }
        write_faces(out, &part.mesh, offset, "f")?;
        offset += part.mesh.vertices.len() as u32;
    }
    Ok(())
}

/// One text line per triangle, `prefix i j k`, with indices shifted by `offset` (OBJ counts
/// from 1, PLY from 0, and both number the vertices of all parts in one sequence).
fn write_faces(
    out: &mut impl Write,
    mesh: &TriangleMesh,
    offset: u32,
    prefix: &str,
) -> Result<(), ExportError> {
    for t in &mesh.triangles {
        writeln!(
            out,
            "{prefix} {} {} {}",
            t[0] + offset,
            t[1] + offset,
            t[2] + offset
        )?;
    }
    Ok(())
}

fn write_stl(out: &mut impl Write, parts: &[ColoredPart]) -> Result<(), ExportError> {
    let triangles: Vec<stl_io::Triangle> = parts
        .iter()
        .flat_map(|part| {
            part.mesh.triangles.iter().map(|t| {
                let [a, b, c] = t.map(|i| part.mesh.vertices[i as usize]);
                let (u, v) = (
                    [0, 1, 2].map(|k| b[k] - a[k]),
                    [0, 1, 2].map(|k| c[k] - a[k]),
                );
                let n = [
                    u[1] * v[2] - u[2] * v[1],
                    u[2] * v[0] - u[0] * v[2],
                    u[0] * v[1] - u[1] * v[0],
                ];
                let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
                    .sqrt()
                    .max(f32::MIN_POSITIVE);
                stl_io::Triangle {
                    normal: stl_io::Normal::new(n.map(|c| c / length)),
                    vertices: [a, b, c].map(stl_io::Vertex::new),
                }
            })
        })
        .collect();
    stl_io::write_stl(out, triangles.iter())?;
    Ok(())
}

fn write_ply(out: &mut impl Write, parts: &[ColoredPart]) -> Result<(), ExportError> {
    let vertex_count: usize = parts.iter().map(|p| p.mesh.vertices.len()).sum();
    let face_count: usize = parts.iter().map(|p| p.mesh.triangles.len()).sum();
    write!(
        out,
        "ply\nformat ascii 1.0\ncomment roap studio export\nelement vertex {vertex_count}\n\
         property float x\nproperty float y\nproperty float z\n\
         property uchar red\nproperty uchar green\nproperty uchar blue\n\
         element face {face_count}\nproperty list uchar int vertex_indices\nend_header\n"
    )?;
    for part in parts {
        let [r, g, b] = part
            .color
            .map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8);
        for v in &part.mesh.vertices {
            writeln!(out, "{} {} {} {r} {g} {b}", v[0], v[1], v[2])?;
        }
    }
    let mut offset = 0;
    for part in parts {
        write_faces(out, &part.mesh, offset, "3")?;
        offset += part.mesh.vertices.len() as u32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_obj, read_ply, read_stl, voxelize};

    fn ball(p: [f32; 3]) -> f32 {
        f32::from(u8::from(p.iter().map(|c| c * c).sum::<f32>() < 0.09))
    }

    #[test]
    fn exported_meshes_read_back_and_enclose_the_shape() {
        let mesh = isosurface_of_fn(24, ball);
        assert!(mesh.triangles.len() > 500);
        // Outward faces: the winding number is ≈1 at the centre and ≈0 outside.
        let w = mesh.winding_numbers(&[[0.0; 3], [0.45, 0.45, 0.45]]);
        assert!((w[0] - 1.0).abs() < 0.01 && w[1].abs() < 0.01, "{w:?}");
        let radius: f32 = mesh
            .vertices
            .iter()
            .map(|v| v.iter().map(|c| c * c).sum::<f32>().sqrt())
            .sum::<f32>()
            / mesh.vertices.len() as f32;
        assert!((radius - 0.3).abs() < 0.03, "mean radius {radius}");
        for format in [MeshFormat::Obj, MeshFormat::Stl, MeshFormat::Ply] {
            let mut bytes = Vec::new();
            write_mesh(&mut bytes, &mesh, format).unwrap();
            let back = match format {
                MeshFormat::Obj => read_obj(&bytes),
                MeshFormat::Stl => read_stl(&bytes),
                MeshFormat::Ply => read_ply(&bytes),
            }
            .unwrap();
            assert_eq!(back.triangles.len(), mesh.triangles.len(), "{format:?}");
            // Same solid after a round trip through the file.
            let (a, b) = (voxelize(&mesh, 16).unwrap(), voxelize(&back, 16).unwrap());
            assert_eq!(crate::metrics::iou(&a, &b), Some(1.0), "{format:?}");
        }
    }

    #[test]
    fn parts_keep_groups_and_colours() {
        let a = isosurface_of_fn(12, ball);
        let mut b = a.clone();
        for v in &mut b.vertices {
            v[0] += 2.0;
        }
        let parts = [
            ColoredPart {
                name: "left part".into(),
                color: [1.0, 0.0, 0.0],
                mesh: a.clone(),
            },
            ColoredPart {
                name: "right".into(),
                color: [0.0, 0.0, 1.0],
                mesh: b,
            },
        ];
        let mut obj = Vec::new();
        write_parts(&mut obj, &parts, MeshFormat::Obj).unwrap();
        let text = String::from_utf8(obj.clone()).unwrap();
        assert!(text.contains("g left_part\n") && text.contains("g right\n"));
        assert_eq!(
            read_obj(&obj).unwrap().triangles.len(),
            2 * a.triangles.len()
        );
        let mut ply = Vec::new();
        write_parts(&mut ply, &parts, MeshFormat::Ply).unwrap();
        let text = String::from_utf8(ply).unwrap();
        assert!(text.contains(" 255 0 0\n") && text.contains(" 0 0 255\n"));
        assert!(write_mesh(&mut Vec::new(), &TriangleMesh::default(), MeshFormat::Stl).is_err());
    }

    #[test]
    fn grid_surface_lands_in_model_space() {
        // An asymmetric box: x in [-0.25, 0.25], y in [0, 0.25], z in [-0.25, 0.0].
        let mut grid = VoxelGrid::from_fn(16, |p| {
            p[0].abs() < 0.25 && (0.0..0.25).contains(&p[1]) && (-0.25..0.0).contains(&p[2])
        });
        grid.translate = [10.0, 0.0, 0.0];
        grid.scale = 2.0;
        let mesh = isosurface_of_grid(&grid);
        let (lo, hi) = mesh.bounds();
        // Model = (normalized + 0.5) · 2 + translate: x in [10.5, 11.5], y in [1.0, 1.5],
        // z in [0.5, 1.0]; surface nets place vertices within half a voxel (0.0625).
        for (axis, low, high) in [(0, 10.5, 11.5), (1, 1.0, 1.5), (2, 0.5, 1.0)] {
            let (got_low, got_high) = (lo[axis], hi[axis]);
            assert!(
                (got_low - low).abs() < 0.07 && (got_high - high).abs() < 0.07,
                "{lo:?} {hi:?}"
            );
        }
    }
}
