//! Closed isosurfaces for CSG kernels. Surface nets (the viewer's meshes) can join two sheets
//! at one vertex, which OpenSCAD's CGAL rejects ("mesh is not closed") and then drops the
//! part. Marching tetrahedra over a conforming split of the grid cannot: every edge of the
//! result joins exactly two triangles.

use std::collections::HashMap;

use crate::data::TriangleMesh;

/// The ½-isosurface of `occupancy` over the samples of [`super::isosurface_of_box`] (sample
/// `i` of axis `a` at `(i + 0.5) / samples[a] − 0.5`), closed at the box's border, as a
/// closed oriented 2-manifold: triangles wind counter-clockwise seen from outside. Each
/// vertex is placed where `occupancy` crosses ½ along its grid edge (by bisection), so a
/// coarse grid still puts the surface where it is, not halfway between samples.
pub fn closed_isosurface_of_box(
    samples: [usize; 3],
    occupancy: impl Fn([f32; 3]) -> f32,
) -> TriangleMesh {
    let r = samples.map(|n| n.max(1));
    // One layer of outside samples around the grid closes the surface at the border.
    let padded = r.map(|n| n + 2);
    let id = |c: [usize; 3]| (c[0] * padded[1] + c[1]) * padded[2] + c[2];
    let position = |c: [usize; 3]| [0, 1, 2].map(|a| (c[a] as f32 - 0.5) / r[a] as f32 - 0.5);
    // Positive inside; never exactly zero, so no vertex lies on a sample and no triangle
    // is degenerate.
    let mut value = vec![-0.5f32; padded.iter().product()];
    for x in 1..=r[0] {
        for y in 1..=r[1] {
            for z in 1..=r[2] {
                let v = occupancy(position([x, y, z])) - 0.5;
                value[id([x, y, z])] = if v == 0.0 { f32::EPSILON } else { v };
            }
        }
    }
    let mut mesh = TriangleMesh::default();
    let mut on_edge: HashMap<(usize, usize), u32> = HashMap::new();
    // Per vertex: its edge's ends, inside one first, if both are samples (not padding).
    let mut edges: Vec<Option<([f32; 3], [f32; 3])>> = Vec::new();
    let sampled = |c: [usize; 3]| (0..3).all(|a| (1..=r[a]).contains(&c[a]));
    for x in 0..padded[0] - 1 {
        for y in 0..padded[1] - 1 {
            for z in 0..padded[2] - 1 {
                let corner = |bits: [usize; 3]| [x + bits[0], y + bits[1], z + bits[2]];
                for tetrahedron in KUHN {
                    let corners = tetrahedron.map(corner);
                    let ids = corners.map(id);
                    let inside = ids.map(|i| value[i] > 0.0);
                    let count = inside.iter().filter(|&&b| b).count();
                    if count == 0 || count == 4 {
                        continue;
                    }
                    let mut vertex = |a: usize, b: usize| -> u32 {
                        let key = (ids[a].min(ids[b]), ids[a].max(ids[b]));
                        *on_edge.entry(key).or_insert_with(|| {
                            let (va, vb) = (value[ids[a]], value[ids[b]]);
                            // Kept off the samples, so vertices of different edges
                            // never coincide (CGAL merges points closer than ~1e-8).
                            let t = (va / (va - vb)).clamp(0.02, 0.98);
                            let (pa, pb) = (position(corners[a]), position(corners[b]));
                            mesh.vertices
                                .push([0, 1, 2].map(|k| pa[k] + t * (pb[k] - pa[k])));
                            let both = sampled(corners[a]) && sampled(corners[b]);
                            edges.push(both.then_some(if va > 0.0 { (pa, pb) } else { (pb, pa) }));
                            (mesh.vertices.len() - 1) as u32
                        })
                    };
                    let (ins, outs): (Vec<usize>, Vec<usize>) = (0..4).partition(|&k| inside[k]);
                    let triangles: Vec<[u32; 3]> = match (ins.as_slice(), outs.as_slice()) {
                        (&[a], &[b, c, d]) | (&[b, c, d], &[a]) => {
                            vec![[vertex(a, b), vertex(a, c), vertex(a, d)]]
                        }
                        (&[a, b], &[c, d]) => {
                            let (ac, ad, bd, bc) =
                                (vertex(a, c), vertex(a, d), vertex(b, d), vertex(b, c));
                            vec![[ac, ad, bd], [ac, bd, bc]]
                        }
                        _ => Vec::new(),
                    };
                    // Wind each triangle so its normal points from the inside corners out.
                    let mean = |set: &[usize]| {
                        let n = set.len() as f32;
                        [0, 1, 2]
                            .map(|k| set.iter().map(|&i| position(corners[i])[k]).sum::<f32>() / n)
                    };
                    let (centre_in, centre_out) = (mean(&ins), mean(&outs));
                    let outward = [0, 1, 2].map(|k| centre_out[k] - centre_in[k]);
                    for t in triangles {
                        let [p0, p1, p2] = t.map(|v| mesh.vertices[v as usize]);
                        let normal = cross(sub(p1, p0), sub(p2, p0));
                        let facing: f32 = (0..3).map(|k| normal[k] * outward[k]).sum();
                        mesh.triangles
                            .push(if facing < 0.0 { [t[0], t[2], t[1]] } else { t });
                    }
                }
            }
        }
    }
    for (vertex, edge) in mesh.vertices.iter_mut().zip(edges) {
        if let Some((inside, outside)) = edge {
            *vertex = crossing(inside, outside, &occupancy);
        }
    }
    mesh
}

/// Where `occupancy` crosses ½ between a point inside and one outside, to 1/1024 of their
/// distance, kept 2 % away from both ends (see above).
fn crossing(inside: [f32; 3], outside: [f32; 3], occupancy: impl Fn([f32; 3]) -> f32) -> [f32; 3] {
    let at = |t: f32| [0, 1, 2].map(|k| inside[k] + t * (outside[k] - inside[k]));
    let (mut lo, mut hi) = (0.0f32, 1.0f32);
    for _ in 0..10 {
        let mid = 0.5 * (lo + hi);
        if occupancy(at(mid)) > 0.5 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at((0.5 * (lo + hi)).clamp(0.02, 0.98))
}

/// Whether every undirected edge joins exactly two triangles, once in each direction.
pub fn is_closed_and_oriented(mesh: &TriangleMesh) -> bool {
    let mut directed: HashMap<(u32, u32), usize> = HashMap::new();
    for t in &mesh.triangles {
        if t[0] == t[1] || t[1] == t[2] || t[0] == t[2] {
            return false;
        }
        for k in 0..3 {
            *directed.entry((t[k], t[(k + 1) % 3])).or_default() += 1;
        }
    }
    directed
        .iter()
        .all(|(&(a, b), &n)| n == 1 && directed.get(&(b, a)) == Some(&1))
}

/// The six tetrahedra of a cube around its diagonal from corner (0,0,0) to (1,1,1), one per
/// order of the axes: the same split in every cube, so neighbours share their faces' splits.
const KUHN: [[[usize; 3]; 4]; 6] = [
    [[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]],
    [[0, 0, 0], [1, 0, 0], [1, 0, 1], [1, 1, 1]],
    [[0, 0, 0], [0, 1, 0], [1, 1, 0], [1, 1, 1]],
    [[0, 0, 0], [0, 1, 0], [0, 1, 1], [1, 1, 1]],
    [[0, 0, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1]],
    [[0, 0, 0], [0, 0, 1], [0, 1, 1], [1, 1, 1]],
];

pub(super) fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(super) fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_touching_balls_and_a_ring_give_closed_outward_surfaces() {
        // Two balls meeting at a point (surface nets joins them at one vertex) and a torus
        // (a hole), both running into the box's border.
        let balls = |p: [f32; 3]| {
            let d = |c: f32| ((p[0] - c).powi(2) + p[1].powi(2) + p[2].powi(2)).sqrt();
            if d(-0.2) < 0.2 || d(0.2) < 0.2 {
                1.0
            } else {
                0.0
            }
        };
        let torus = |p: [f32; 3]| {
            let ring = ((p[0] * p[0] + p[1] * p[1]).sqrt() - 0.3).hypot(p[2]);
            if ring < 0.12 { 1.0 } else { 0.0 }
        };
        let slab = |p: [f32; 3]| if p[2].abs() < 0.1 { 1.0 } else { 0.0 };
        for (name, f) in [
            ("balls", &balls as &dyn Fn([f32; 3]) -> f32),
            ("torus", &torus),
            ("slab", &slab),
        ] {
            let mesh = closed_isosurface_of_box([24, 20, 17], f);
            assert!(!mesh.triangles.is_empty(), "{name}");
            assert!(is_closed_and_oriented(&mesh), "{name}");
            assert!(mesh.signed_volume() > 0.0, "{name} winds inward");
        }
        // The balls' volume is close to theirs.
        let mesh = closed_isosurface_of_box([48; 3], balls);
        let expected = 2.0 * 4.0 / 3.0 * std::f64::consts::PI * 0.2f64.powi(3);
        let volume = mesh.signed_volume();
        assert!(
            (volume / expected - 1.0).abs() < 0.1,
            "{volume} vs {expected}"
        );
    }
}
