//! Fewer triangles for CSG kernels. OpenSCAD's CGAL takes time in the facets it is given,
//! and fails its assertions (then drops the part) on a polyhedron that cuts through itself.
//! So a mesh is simplified, refitted to its surface, and checked before it is used.

use super::closed_surface::{cross, sub};
use super::is_closed_and_oriented;
use crate::data::TriangleMesh;

/// How far the fitted faces are moved toward the surface, as a share of the offset measured
/// at their centroids: a face that cuts a chord under a curved surface meets it at its
/// corners, so moving it by its full centroid offset would overshoot (measured on the
/// sample mug's parts: 0.75–1.0 balance lost and gained voxels best).
const FIT_SHARE: f32 = 0.85;

/// `mesh`, an isosurface of `occupancy` (inside above ½) in the mesh's own units, with as
/// few triangles as a surface error of about `tolerance` allows, as a closed oriented
/// 2-manifold that does not intersect itself. The faces are refitted to the surface
/// ([`fit_to_surface`]); while that gives an invalid mesh the tolerance is halved (three
/// times at most), then the same with [`Triangles::Regular`]. Failing that, the first valid
/// mesh without the fit, or `mesh` as it was.
/// `mesh` must be closed, oriented and free of self-intersections itself (as
/// [`super::closed_isosurface_of_box`] makes it).
pub fn simplify_for_csg(
    mesh: TriangleMesh,
    occupancy: impl Fn([f32; 3]) -> f32,
    tolerance: f32,
) -> TriangleMesh {
    let valid = |m: &TriangleMesh| is_closed_and_oriented(m) && !self_intersects(m);
    let mut fallback = None;
    let attempts = [Triangles::Fewest, Triangles::Regular]
        .into_iter()
        .flat_map(|shape| (0..4).map(move |halvings| (shape, halvings)));
    for (shape, halvings) in attempts {
        let tolerance = tolerance / (1 << halvings) as f32;
        let simplified = simplify_closed(&mesh, tolerance, shape);
        if simplified.triangles.len() == mesh.triangles.len() {
            // Not closed at this tolerance; a smaller one may be.
            continue;
        }
        let mut fitted = simplified.clone();
        fit_to_surface(&mut fitted, &occupancy, 2.0 * tolerance);
        if valid(&fitted) {
            return fitted;
        }
        if fallback.is_none() && valid(&simplified) {
            fallback = Some(simplified);
        }
    }
    fallback.unwrap_or(mesh)
}

/// What simplification favours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Triangles {
    /// As few as the tolerance allows.
    Fewest,
    /// More, of regular sizes and shapes: slower to render, but it closes some surfaces that
    /// [`Triangles::Fewest`] pinches into a non-manifold edge.
    Regular,
}

/// `mesh` with fewer triangles (meshoptimizer's edge collapses), its surface moved by at
/// most about `tolerance` (in its own units); `mesh` itself where the simplified mesh would
/// not be a closed oriented 2-manifold.
pub fn simplify_closed(mesh: &TriangleMesh, tolerance: f32, shape: Triangles) -> TriangleMesh {
    let options = match shape {
        Triangles::Fewest => meshopt::SimplifyOptions::ErrorAbsolute,
        Triangles::Regular => {
            meshopt::SimplifyOptions::ErrorAbsolute | meshopt::SimplifyOptions::Regularize
        }
    };
    if mesh.triangles.is_empty() {
        return mesh.clone();
    }
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();
    let positions: Vec<f32> = mesh.vertices.iter().flatten().copied().collect();
    let bytes: Vec<u8> = positions.iter().flat_map(|v| v.to_le_bytes()).collect();
    let Ok(adapter) = meshopt::VertexDataAdapter::new(&bytes, 12, 0) else {
        return mesh.clone();
    };
    let kept = meshopt::simplify(&indices, &adapter, 0, tolerance, options, None);
    // Only the vertices the kept triangles use, renumbered in order.
    let mut renumbered = vec![u32::MAX; mesh.vertices.len()];
    let mut simplified = TriangleMesh::default();
    for &i in &kept {
        if renumbered[i as usize] == u32::MAX {
            renumbered[i as usize] = simplified.vertices.len() as u32;
            simplified.vertices.push(mesh.vertices[i as usize]);
        }
    }
    simplified.triangles = kept
        .chunks_exact(3)
        .map(|t| [0, 1, 2].map(|k| renumbered[t[k] as usize]))
        .collect();
    if is_closed_and_oriented(&simplified) {
        simplified
    } else {
        mesh.clone()
    }
}

/// Moves the vertices of a simplified isosurface so that its faces straddle the surface
/// instead of cutting chords under it. Simplification keeps vertices on the surface, so on a
/// convex part every face lies inside and the part shrinks (the sample mug lost 3–6 % IoU
/// that way). Each face's offset to the surface is found at its centroid, by bisection along
/// its normal within `reach`; each vertex moves along the area-weighted mean of its faces'
/// offsets, times [`FIT_SHARE`].
pub fn fit_to_surface(mesh: &mut TriangleMesh, occupancy: impl Fn([f32; 3]) -> f32, reach: f32) {
    let outward = if mesh.signed_volume() > 0.0 {
        1.0
    } else {
        -1.0
    };
    let mut shift = vec![[0.0f32; 3]; mesh.vertices.len()];
    let mut weight = vec![0.0f32; mesh.vertices.len()];
    // A vertex moves less than a quarter of the lowest height of its triangles, so none of
    // them flips.
    let mut limit = vec![f32::INFINITY; mesh.vertices.len()];
    for t in &mesh.triangles {
        let [a, b, c] = t.map(|i| mesh.vertices[i as usize]);
        let length = |d: [f32; 3]| d.iter().map(|x| x * x).sum::<f32>().sqrt();
        let longest = length(sub(b, a))
            .max(length(sub(c, b)))
            .max(length(sub(a, c)));
        let height = length(cross(sub(b, a), sub(c, a))) / longest.max(f32::MIN_POSITIVE);
        for &i in t {
            limit[i as usize] = limit[i as usize].min(0.25 * height);
        }
    }
    for t in &mesh.triangles {
        let [a, b, c] = t.map(|i| mesh.vertices[i as usize]);
        let normal = cross(sub(b, a), sub(c, a));
        let twice_area = normal.iter().map(|x| x * x).sum::<f32>().sqrt();
        if twice_area <= 0.0 {
            continue;
        }
        let normal = normal.map(|x| outward * x / twice_area);
        let centroid = [0, 1, 2].map(|k| (a[k] + b[k] + c[k]) / 3.0);
        let at = |s: f32| occupancy([0, 1, 2].map(|k| centroid[k] + s * normal[k]));
        let (mut inside, mut outside) = (-reach, reach);
        if at(inside) <= 0.5 || at(outside) > 0.5 {
            // The surface is not within reach along this face's normal: leave it.
            continue;
        }
        for _ in 0..20 {
            let mid = 0.5 * (inside + outside);
            if at(mid) > 0.5 {
                inside = mid;
            } else {
                outside = mid;
            }
        }
        let offset = 0.5 * (inside + outside);
        for &i in t {
            let i = i as usize;
            for k in 0..3 {
                shift[i][k] += twice_area * offset * normal[k];
            }
            weight[i] += twice_area;
        }
    }
    for (((v, s), w), limit) in mesh
        .vertices
        .iter_mut()
        .zip(&shift)
        .zip(&weight)
        .zip(&limit)
    {
        if *w > 0.0 {
            let step = s.map(|x| FIT_SHARE * x / w);
            let length = step.iter().map(|x| x * x).sum::<f32>().sqrt();
            let scale = if length > *limit { limit / length } else { 1.0 };
            for k in 0..3 {
                v[k] += scale * step[k];
            }
        }
    }
}

/// Whether two triangles of `mesh` cross each other: an edge of one passes through the
/// other's interior. Triangles that share an edge are adjacent, not crossing; for two that
/// share one corner only the edges away from it are tested. Candidate pairs come from a
/// sweep over their bounding boxes along x.
pub fn self_intersects(mesh: &TriangleMesh) -> bool {
    let corners: Vec<[[f32; 3]; 3]> = mesh
        .triangles
        .iter()
        .map(|t| t.map(|i| mesh.vertices[i as usize]))
        .collect();
    let boxes: Vec<([f32; 3], [f32; 3])> = corners
        .iter()
        .map(|c| {
            let lo = [0, 1, 2].map(|k| c[0][k].min(c[1][k]).min(c[2][k]));
            let hi = [0, 1, 2].map(|k| c[0][k].max(c[1][k]).max(c[2][k]));
            (lo, hi)
        })
        .collect();
    let mut order: Vec<usize> = (0..corners.len()).collect();
    order.sort_by(|&a, &b| boxes[a].0[0].total_cmp(&boxes[b].0[0]));
    for (n, &i) in order.iter().enumerate() {
        for &j in &order[n + 1..] {
            if boxes[j].0[0] > boxes[i].1[0] {
                break;
            }
            let overlap =
                (1..3).all(|k| boxes[j].0[k] <= boxes[i].1[k] && boxes[i].0[k] <= boxes[j].1[k]);
            if overlap
                && triangles_cross(mesh.triangles[i], corners[i], mesh.triangles[j], corners[j])
            {
                return true;
            }
        }
    }
    false
}

/// Whether an edge of either triangle, not through a corner they share, passes through the
/// other's interior.
fn triangles_cross(a: [u32; 3], pa: [[f32; 3]; 3], b: [u32; 3], pb: [[f32; 3]; 3]) -> bool {
    let shared = a.iter().filter(|v| b.contains(v)).count();
    if shared >= 2 {
        return false;
    }
    let edges_through =
        |ids: [u32; 3], points: [[f32; 3]; 3], other: [[f32; 3]; 3], other_ids: [u32; 3]| {
            (0..3).any(|k| {
                let (u, v) = (ids[k], ids[(k + 1) % 3]);
                !other_ids.contains(&u)
                    && !other_ids.contains(&v)
                    && segment_crosses_triangle(points[k], points[(k + 1) % 3], other)
            })
        };
    edges_through(a, pa, pb, b) || edges_through(b, pb, pa, a)
}

/// Whether the segment `p q` passes strictly through the triangle's interior (signed volumes
/// in f64; touching counts as not crossing).
fn segment_crosses_triangle(p: [f32; 3], q: [f32; 3], triangle: [[f32; 3]; 3]) -> bool {
    let wide = |v: [f32; 3]| v.map(f64::from);
    let [a, b, c] = triangle.map(wide);
    let (p, q) = (wide(p), wide(q));
    let volume = |w: [f64; 3], x: [f64; 3], y: [f64; 3], z: [f64; 3]| {
        let (u, v, t) = (
            [0, 1, 2].map(|k| x[k] - w[k]),
            [0, 1, 2].map(|k| y[k] - w[k]),
            [0, 1, 2].map(|k| z[k] - w[k]),
        );
        u[0] * (v[1] * t[2] - v[2] * t[1])
            + u[1] * (v[2] * t[0] - v[0] * t[2])
            + u[2] * (v[0] * t[1] - v[1] * t[0])
    };
    let (sp, sq) = (volume(a, b, c, p), volume(a, b, c, q));
    if sp * sq >= 0.0 {
        return false;
    }
    let sides = [volume(p, q, a, b), volume(p, q, b, c), volume(p, q, c, a)];
    sides.iter().all(|&s| s > 0.0) || sides.iter().all(|&s| s < 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::closed_isosurface_of_box;

    fn balls(p: [f32; 3]) -> f32 {
        let d = |c: f32| ((p[0] - c).powi(2) + p[1].powi(2) + p[2].powi(2)).sqrt();
        if d(-0.2) < 0.2 || d(0.2) < 0.2 {
            1.0
        } else {
            0.0
        }
    }

    /// A smooth ball of radius 0.3, for the fit (its occupancy has a gradient).
    fn ball(p: [f32; 3]) -> f32 {
        let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        1.0 / (1.0 + (40.0 * (r - 0.3)).exp())
    }

    #[test]
    fn simplification_keeps_the_surface_closed_and_the_volume() {
        let mesh = closed_isosurface_of_box([48; 3], balls);
        let volume = mesh.signed_volume();
        let fewer = simplify_closed(&mesh, 0.005, Triangles::Fewest);
        assert!(
            fewer.triangles.len() * 3 < mesh.triangles.len(),
            "{} triangles",
            fewer.triangles.len()
        );
        assert!(is_closed_and_oriented(&fewer));
        let kept = fewer.signed_volume();
        assert!((kept / volume - 1.0).abs() < 0.05, "{kept} vs {volume}");
    }

    #[test]
    fn fitting_undoes_the_shrinking_of_a_coarse_convex_mesh() {
        let exact = 4.0 / 3.0 * std::f64::consts::PI * 0.3f64.powi(3);
        let coarse = simplify_closed(
            &closed_isosurface_of_box([40; 3], ball),
            0.02,
            Triangles::Fewest,
        );
        let before = coarse.signed_volume();
        let mut fitted = coarse.clone();
        fit_to_surface(&mut fitted, ball, 0.04);
        let after = fitted.signed_volume();
        // The chords lie inside the ball; the fitted faces straddle its surface.
        assert!(before < exact * 0.98, "{before} vs {exact}");
        assert!(
            (after - exact).abs() < 0.5 * (before - exact).abs(),
            "fitted {after}, simplified {before}, exact {exact}"
        );
        assert!(!self_intersects(&fitted));
        let csg = simplify_for_csg(closed_isosurface_of_box([40; 3], ball), ball, 0.02);
        assert!(is_closed_and_oriented(&csg) && !self_intersects(&csg));
    }

    #[test]
    fn a_mesh_through_itself_is_caught() {
        let mesh = closed_isosurface_of_box([16; 3], ball);
        assert!(!self_intersects(&mesh), "marching tetrahedra never cross");
        // The same closed surface twice, the copy moved by a third of the ball: the two
        // shells cross each other.
        let mut doubled = mesh.clone();
        let offset = mesh.vertices.len() as u32;
        doubled
            .vertices
            .extend(mesh.vertices.iter().map(|v| [v[0] + 0.2, v[1], v[2]]));
        doubled
            .triangles
            .extend(mesh.triangles.iter().map(|t| t.map(|i| i + offset)));
        assert!(self_intersects(&doubled));
        // Moved far apart they do not.
        for v in &mut doubled.vertices[offset as usize..] {
            v[0] += 1.0;
        }
        assert!(!self_intersects(&doubled));
    }
}
