//! Triangle meshes: reading OBJ, OFF and STL, and the generalized winding number that
//! decides inside from outside even for meshes that are not watertight.

use std::io::{BufReader, Cursor};

use rayon::prelude::*;

use super::DataError;

/// Meshes beyond these sizes are refused rather than exhausting memory.
const MAX_VERTICES: usize = 20_000_000;
const MAX_TRIANGLES: usize = 40_000_000;

/// An indexed triangle mesh in model space.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TriangleMesh {
    pub vertices: Vec<[f32; 3]>,
    pub triangles: Vec<[u32; 3]>,
}

fn malformed(format: &'static str, message: impl Into<String>) -> DataError {
    DataError::Malformed {
        format,
        message: message.into(),
    }
}

impl TriangleMesh {
    /// Checks sizes, finiteness and indices.
    ///
    /// # Errors
    /// [`DataError::TooLarge`] or [`DataError::Malformed`] (naming `format`).
    pub fn validated(self, format: &'static str) -> Result<Self, DataError> {
        if self.vertices.len() > MAX_VERTICES {
            return Err(DataError::TooLarge {
                what: "vertex count",
                got: self.vertices.len(),
                limit: MAX_VERTICES,
            });
        }
        if self.triangles.len() > MAX_TRIANGLES {
            return Err(DataError::TooLarge {
                what: "triangle count",
                got: self.triangles.len(),
                limit: MAX_TRIANGLES,
            });
        }
        if self.triangles.is_empty() {
            return Err(malformed(format, "no triangles"));
        }
        if self.vertices.iter().flatten().any(|c| !c.is_finite()) {
            return Err(malformed(format, "a vertex coordinate is not finite"));
        }
        let count = self.vertices.len();
        if self
            .triangles
            .iter()
            .flatten()
            .any(|&i| i as usize >= count)
        {
            return Err(malformed(
                format,
                format!("a face refers past the {count} vertices"),
            ));
        }
        Ok(self)
    }

    /// Axis-aligned bounds `(min, max)` of the vertices the triangles use.
    pub fn bounds(&self) -> ([f32; 3], [f32; 3]) {
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        for &index in self.triangles.iter().flatten() {
            let v = self.vertices[index as usize];
            for axis in 0..3 {
                lo[axis] = lo[axis].min(v[axis]);
                hi[axis] = hi[axis].max(v[axis]);
            }
        }
        (lo, hi)
    }

    /// Volume the triangles enclose, positive when they wind counter-clockwise seen from
    /// outside (for a closed mesh).
    pub fn signed_volume(&self) -> f64 {
        self.triangles
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|i| self.vertices[i as usize].map(f64::from));
                let cross = [
                    b[1] * c[2] - b[2] * c[1],
                    b[2] * c[0] - b[0] * c[2],
                    b[0] * c[1] - b[1] * c[0],
                ];
                (a[0] * cross[0] + a[1] * cross[1] + a[2] * cross[2]) / 6.0
            })
            .sum()
    }

    /// The cube that IM-NET normalises into `[-0.5, 0.5]³`: centred on the bounding box,
    /// with the box's longest side as its edge. Returns `(corner, edge)`.
    pub fn normalizing_cube(&self) -> ([f32; 3], f32) {
        let (lo, hi) = self.bounds();
        let edge = (0..3)
            .map(|a| hi[a] - lo[a])
            .fold(0.0f32, f32::max)
            .max(f32::MIN_POSITIVE);
        let corner = [0, 1, 2].map(|a| 0.5 * (lo[a] + hi[a]) - 0.5 * edge);
        (corner, edge)
    }

    /// Generalized winding number at `points` (Jacobson et al. 2013): the solid angle the
    /// surface subtends, over 4π. ≈1 inside, ≈0 outside, and in between near holes, so
    /// thresholding at ½ gives a sensible solid for meshes that are not watertight.
    pub fn winding_numbers(&self, points: &[[f32; 3]]) -> Vec<f32> {
        // Triangle corners as structure-of-arrays for a tight inner loop.
        let corners: Vec<[[f32; 3]; 3]> = self
            .triangles
            .iter()
            .map(|t| t.map(|i| self.vertices[i as usize]))
            .collect();
        points
            .par_iter()
            .map(|p| {
                let mut solid_angle = 0.0f64;
                for tri in &corners {
                    solid_angle += f64::from(triangle_solid_angle(p, tri));
                }
                (solid_angle / (4.0 * std::f64::consts::PI)) as f32
            })
            .collect()
    }
}

/// Signed solid angle of a triangle seen from `p` (Van Oosterom and Strackee 1983).
#[inline]
pub(super) fn triangle_solid_angle(p: &[f32; 3], tri: &[[f32; 3]; 3]) -> f32 {
    let sub = |v: [f32; 3]| [v[0] - p[0], v[1] - p[1], v[2] - p[2]];
    let (a, b, c) = (sub(tri[0]), sub(tri[1]), sub(tri[2]));
    let dot = |u: [f32; 3], v: [f32; 3]| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    let norm = |u: [f32; 3]| dot(u, u).sqrt();
    let cross = [
        b[1] * c[2] - b[2] * c[1],
        b[2] * c[0] - b[0] * c[2],
        b[0] * c[1] - b[1] * c[0],
    ];
    let (la, lb, lc) = (norm(a), norm(b), norm(c));
    let numerator = dot(a, cross);
    let denominator = la * lb * lc + dot(a, b) * lc + dot(b, c) * la + dot(c, a) * lb;
    2.0 * numerator.atan2(denominator)
}

/// Reads OBJ text (polygons are triangulated; materials are ignored).
///
/// # Errors
/// [`DataError::Malformed`] if tobj rejects the file or the mesh is invalid.
pub fn read_obj(bytes: &[u8]) -> Result<TriangleMesh, DataError> {
    let options = tobj::LoadOptions {
        triangulate: true,
        single_index: true,
        ..Default::default()
    };
    let mut reader = BufReader::new(Cursor::new(bytes));
    let (models, _) = tobj::load_obj_buf(&mut reader, &options, |_| Ok(Default::default()))
        .map_err(|err| malformed("OBJ", err.to_string()))?;
    let mut mesh = TriangleMesh::default();
    for model in models {
        let offset = u32::try_from(mesh.vertices.len())
            .map_err(|_| malformed("OBJ", "too many vertices"))?;
        mesh.vertices.extend(
            model
                .mesh
                .positions
                .chunks_exact(3)
                .map(|p| [p[0], p[1], p[2]]),
        );
        mesh.triangles.extend(
            model
                .mesh
                .indices
                .chunks_exact(3)
                .map(|t| [t[0] + offset, t[1] + offset, t[2] + offset]),
        );
    }
    mesh.validated("OBJ")
}

/// Reads STL, ASCII or binary.
///
/// # Errors
/// [`DataError::Malformed`] if stl_io rejects the file or the mesh is invalid.
pub fn read_stl(bytes: &[u8]) -> Result<TriangleMesh, DataError> {
    let indexed = stl_io::read_stl(&mut Cursor::new(bytes))
        .map_err(|err| malformed("STL", err.to_string()))?;
    let triangles = indexed
        .faces
        .iter()
        .map(|face| {
            let [a, b, c] = face.vertices;
            let index = |i: usize| u32::try_from(i).map_err(|_| malformed("STL", "index overflow"));
            Ok([index(a)?, index(b)?, index(c)?])
        })
        .collect::<Result<Vec<_>, DataError>>()?;
    TriangleMesh {
        vertices: indexed.vertices.iter().map(|v| v.0).collect(),
        triangles,
    }
    .validated("STL")
}

/// Reads OFF (`OFF`, counts, vertices, then faces as `n i0 … i(n-1)`, fan-triangulated).
///
/// # Errors
/// [`DataError::Malformed`] for a bad header, counts, numbers or indices.
pub fn read_off(bytes: &[u8]) -> Result<TriangleMesh, DataError> {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("OFF", "not text"))?;
    // Tokens outside comments; OFF allows `OFF` on its own line or glued to the counts.
    let mut tokens = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace);
    match tokens.next() {
        Some("OFF") => {}
        Some(other) if other.starts_with("OFF") => {
            return Err(malformed("OFF", format!("unsupported variant {other:?}")));
        }
        _ => return Err(malformed("OFF", "missing `OFF` header")),
    }
    let mut number = |what: &str| -> Result<usize, DataError> {
        tokens
            .next()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| malformed("OFF", format!("expected {what}")))
    };
    let (vertex_count, face_count, _edges) = (
        number("vertex count")?,
        number("face count")?,
        number("edge count")?,
    );
    if vertex_count > MAX_VERTICES || face_count > MAX_TRIANGLES {
        return Err(DataError::TooLarge {
            what: "OFF element count",
            got: vertex_count.max(face_count),
            limit: MAX_TRIANGLES,
        });
    }
    let float = |tokens: &mut dyn Iterator<Item = &str>| -> Result<f32, DataError> {
        tokens
            .next()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| malformed("OFF", "expected a coordinate"))
    };
    let mut vertices = Vec::with_capacity(vertex_count);
    for _ in 0..vertex_count {
        vertices.push([
            float(&mut tokens)?,
            float(&mut tokens)?,
            float(&mut tokens)?,
        ]);
    }
    let mut triangles = Vec::with_capacity(face_count);
    for _ in 0..face_count {
        let mut index = || -> Result<u32, DataError> {
            tokens
                .next()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| malformed("OFF", "expected a vertex index"))
        };
        let sides = index()? as usize;
        if sides < 3 {
            return Err(malformed("OFF", format!("a face with {sides} sides")));
        }
        let polygon = (0..sides)
            .map(|_| index())
            .collect::<Result<Vec<u32>, _>>()?;
        for k in 1..sides - 1 {
            triangles.push([polygon[0], polygon[k], polygon[k + 1]]);
        }
    }
    TriangleMesh {
        vertices,
        triangles,
    }
    .validated("OFF")
}

/// Reads PLY (ASCII or binary): `vertex` x/y/z and `face` index lists, fan-triangulated.
///
/// # Errors
/// [`DataError::Malformed`] if the parser rejects the file or the mesh is invalid.
pub fn read_ply(bytes: &[u8]) -> Result<TriangleMesh, DataError> {
    use ply_rs_bw::parser::Parser;
    use ply_rs_bw::ply::{DefaultElement, Property};
    let ply = Parser::<DefaultElement>::new()
        .read_ply(&mut Cursor::new(bytes))
        .map_err(|err| malformed("PLY", err.to_string()))?;
    let scalar = |p: &Property| -> Option<f32> {
        match *p {
            Property::Float(v) => Some(v),
            Property::Double(v) => Some(v as f32),
            Property::Int(v) => Some(v as f32),
            Property::UInt(v) => Some(v as f32),
            Property::Short(v) => Some(f32::from(v)),
            Property::UShort(v) => Some(f32::from(v)),
            Property::Char(v) => Some(f32::from(v)),
            Property::UChar(v) => Some(f32::from(v)),
            _ => None,
        }
    };
    let list = |p: &Property| -> Option<Vec<u32>> {
        match p {
            Property::ListInt(v) => v.iter().map(|&i| u32::try_from(i).ok()).collect(),
            Property::ListUInt(v) => Some(v.clone()),
            Property::ListShort(v) => v.iter().map(|&i| u32::try_from(i).ok()).collect(),
            Property::ListUShort(v) => Some(v.iter().map(|&i| u32::from(i)).collect()),
            Property::ListChar(v) => v.iter().map(|&i| u32::try_from(i).ok()).collect(),
            Property::ListUChar(v) => Some(v.iter().map(|&i| u32::from(i)).collect()),
            _ => None,
        }
    };
    let empty = Vec::new();
    let vertices = ply
        .payload
        .get("vertex")
        .unwrap_or(&empty)
        .iter()
        .map(|v| {
            let coordinate = |name: &str| v.get(name).and_then(scalar);
            match (coordinate("x"), coordinate("y"), coordinate("z")) {
                (Some(x), Some(y), Some(z)) => Ok([x, y, z]),
                _ => Err(malformed("PLY", "a vertex lacks numeric x, y or z")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut triangles = Vec::new();
    for face in ply.payload.get("face").unwrap_or(&empty) {
        let indices = face
            .get("vertex_indices")
            .or_else(|| face.get("vertex_index"))
            .and_then(list)
            .ok_or_else(|| malformed("PLY", "a face lacks a vertex_indices list"))?;
        if indices.len() < 3 {
            return Err(malformed(
                "PLY",
                format!("a face with {} sides", indices.len()),
            ));
        }
        for k in 1..indices.len() - 1 {
            triangles.push([indices[0], indices[k], indices[k + 1]]);
        }
    }
    TriangleMesh {
        vertices,
        triangles,
    }
    .validated("PLY")
}
