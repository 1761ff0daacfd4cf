//! Fast generalized winding numbers (Barill et al. 2018, "Fast Winding Numbers for Soups and
//! Clouds"): a bounding volume hierarchy over the triangles whose nodes carry a far-field
//! expansion of their triangles' solid angles. Near a node its triangles are summed exactly
//! (as [`TriangleMesh::winding_numbers`] does for all of them); far from it the node counts as
//! one dipole plus its order-1 and order-2 corrections. A query costs about `O(log n)` instead of `O(n)`.

use rayon::prelude::*;

use super::TriangleMesh;
use super::mesh::triangle_solid_angle;

/// Most triangles a leaf holds.
const LEAF_TRIANGLES: usize = 8;

/// Generalized winding numbers of one mesh, ready for many queries.
///
/// Built once in `O(n log n)` for `n` triangles. Triangles that refer past the vertices are
/// ignored (a [`TriangleMesh::validated`] mesh has none).
#[derive(Clone, Debug)]
pub struct FastWinding {
    /// Nodes depth first; the root (if any triangle exists) is node 0.
    nodes: Vec<Node>,
    /// Triangle corners, reordered so that every node's triangles are a contiguous range.
    triangles: Vec<[[f32; 3]; 3]>,
    /// Squared far-field threshold, `beta²`.
    beta_squared: f64,
}

/// One node of the hierarchy and the far-field expansion of its triangles' solid angles
/// about `centre`: moments of `n dA` (`n` the unit normal) over the triangles, up to second
/// order in the offset `x − centre`.
#[derive(Clone, Debug)]
struct Node {
    /// The node's triangles: `triangles[start..end]`.
    start: usize,
    end: usize,
    /// The right child; the left one directly follows its parent. `None` for leaves.
    right: Option<usize>,
    /// Area-weighted centroid of the triangles: where the expansion is taken.
    centre: [f64; 3],
    /// Largest distance from `centre` to a triangle corner: a ball around `centre` of this
    /// radius holds every triangle.
    radius: f64,
    /// `∫ n dA = Σ area · normal`: the dipole.
    normal_sum: [f64; 3],
    /// `∫ n ⊗ (x − centre) dA`, indexed `[normal axis][offset axis]`.
    normal_first_moment: [[f64; 3]; 3],
    /// `∫ n ⊗ (x − centre) ⊗ (x − centre) dA`, indexed `[normal axis][offset][offset]`
    /// (symmetric in the last two).
    normal_second_moment: [[[f64; 3]; 3]; 3],
}

impl FastWinding {
    /// [`FastWinding::new`]'s far-field threshold: a node is expanded instead of opened when
    /// the query point lies farther than `beta` times the node's radius from its centre.
    /// Barill et al.'s default; with the order-2 expansion, winding numbers then err by about
    /// 1e-3 (under 5e-3 at worst in the tests).
    pub const DEFAULT_BETA: f32 = 2.0;

    /// The hierarchy of `mesh` with [`FastWinding::DEFAULT_BETA`].
    pub fn new(mesh: &TriangleMesh) -> Self {
        Self::with_beta(mesh, Self::DEFAULT_BETA)
    }

    /// The hierarchy of `mesh`, expanding nodes farther than `beta` times their radius.
    /// Larger is slower and more accurate; an infinite `beta` sums every triangle exactly.
    pub fn with_beta(mesh: &TriangleMesh, beta: f32) -> Self {
        let corners: Vec<[[f32; 3]; 3]> = mesh
            .triangles
            .iter()
            .filter_map(|t| {
                let [a, b, c] = t.map(|i| mesh.vertices.get(i as usize).copied());
                Some([a?, b?, c?])
            })
            .collect();
        let centroids: Vec<[f32; 3]> = corners
            .iter()
            .map(|t| [0, 1, 2].map(|axis| (t[0][axis] + t[1][axis] + t[2][axis]) / 3.0))
            .collect();
        let mut order: Vec<usize> = (0..corners.len()).collect();
        let mut ranges = Vec::new();
        if !order.is_empty() {
            split(&mut order, 0, &centroids, &mut ranges);
        }
        let triangles: Vec<[[f32; 3]; 3]> = order
            .iter()
            .filter_map(|&i| corners.get(i).copied())
            .collect();
        let nodes = ranges
            .into_par_iter()
            .map(|(start, end, right)| {
                Node::expansion(
                    triangles.get(start..end).unwrap_or_default(),
                    start,
                    end,
                    right,
                )
            })
            .collect();
        let beta = f64::from(beta);
        Self {
            nodes,
            triangles,
            beta_squared: beta * beta,
        }
    }

    /// Generalized winding number at `p`: ≈1 inside a closed, outward-facing surface,
    /// ≈0 outside, in between near holes.
    pub fn winding_number(&self, p: [f32; 3]) -> f32 {
        self.winding_number_with(&mut Vec::with_capacity(64), p)
    }

    /// [`FastWinding::winding_number`] at every point, in parallel.
    pub fn winding_numbers(&self, points: &[[f32; 3]]) -> Vec<f32> {
        points
            .par_iter()
            .with_min_len(64)
            .map_init(
                || Vec::with_capacity(64),
                |stack, &p| self.winding_number_with(stack, p),
            )
            .collect()
    }

    /// The winding number at `p`, with `stack` as scratch space for the traversal.
    fn winding_number_with(&self, stack: &mut Vec<usize>, p: [f32; 3]) -> f32 {
        let q = p.map(f64::from);
        let mut solid_angle = 0.0f64;
        stack.clear();
        if !self.nodes.is_empty() {
            stack.push(0);
        }
        while let Some(at) = stack.pop() {
            let Some(node) = self.nodes.get(at) else {
                continue;
            };
            let r = [0, 1, 2].map(|axis| node.centre[axis] - q[axis]);
            let distance_squared = dot(r, r);
            if distance_squared > self.beta_squared * node.radius * node.radius {
                solid_angle += node.far_solid_angle(r, distance_squared);
                continue;
            }
            match node.right {
                Some(right) => {
                    stack.push(right);
                    stack.push(at + 1);
                }
                None => {
                    for triangle in self.triangles.get(node.start..node.end).unwrap_or_default() {
                        solid_angle += f64::from(triangle_solid_angle(&p, triangle));
                    }
                }
            }
        }
        (solid_angle / (4.0 * std::f64::consts::PI)) as f32
    }
}

/// Splits `order[..]` (triangle ids, the node's triangles starting at `offset` in the final
/// order) at the median centroid along the longest axis of the centroids' bounds, depth
/// first, appending `(start, end, right child)` per node to `ranges`. Returns the node's id.
fn split(
    order: &mut [usize],
    offset: usize,
    centroids: &[[f32; 3]],
    ranges: &mut Vec<(usize, usize, Option<usize>)>,
) -> usize {
    let id = ranges.len();
    let end = offset + order.len();
    ranges.push((offset, end, None));
    if order.len() <= LEAF_TRIANGLES {
        return id;
    }
    let centroid = |i: usize| centroids.get(i).copied().unwrap_or_default();
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for &i in order.iter() {
        let c = centroid(i);
        for axis in 0..3 {
            lo[axis] = lo[axis].min(c[axis]);
            hi[axis] = hi[axis].max(c[axis]);
        }
    }
    let axis = (0..3)
        .max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])))
        .unwrap_or(0);
    let middle = order.len() / 2;
    order.select_nth_unstable_by(middle, |&a, &b| {
        centroid(a)[axis].total_cmp(&centroid(b)[axis])
    });
    let (left, right) = order.split_at_mut(middle);
    split(left, offset, centroids, ranges);
    let right_id = split(right, offset + middle, centroids, ranges);
    if let Some(range) = ranges.get_mut(id) {
        range.2 = Some(right_id);
    }
    id
}

impl Node {
    /// The expansion of `triangles` (the node's, `start..end` of the reordered ones).
    fn expansion(
        triangles: &[[[f32; 3]; 3]],
        start: usize,
        end: usize,
        right: Option<usize>,
    ) -> Self {
        let corners: Vec<[[f64; 3]; 3]> = triangles
            .iter()
            .map(|t| t.map(|v| v.map(f64::from)))
            .collect();
        // (centroid, area · unit normal) per triangle.
        let centred: Vec<([f64; 3], [f64; 3])> = corners
            .iter()
            .map(|[a, b, c]| {
                let centroid = [0, 1, 2].map(|axis| (a[axis] + b[axis] + c[axis]) / 3.0);
                let ab = [0, 1, 2].map(|axis| b[axis] - a[axis]);
                let ac = [0, 1, 2].map(|axis| c[axis] - a[axis]);
                (centroid, cross(ab, ac).map(|x| 0.5 * x))
            })
            .collect();
        let mut area = 0.0;
        let mut weighted = [0.0; 3];
        let mut mean = [0.0; 3];
        let mut normal_sum = [0.0; 3];
        for (centroid, normal) in &centred {
            let a = dot(*normal, *normal).sqrt();
            area += a;
            for axis in 0..3 {
                weighted[axis] += a * centroid[axis];
                mean[axis] += centroid[axis];
                normal_sum[axis] += normal[axis];
            }
        }
        // Degenerate (zero-area) nodes contribute nothing; any centre will do.
        let centre = if area > 0.0 {
            weighted.map(|x| x / area)
        } else {
            mean.map(|x| x / centred.len().max(1) as f64)
        };
        let mut normal_first_moment = [[0.0; 3]; 3];
        let mut normal_second_moment = [[[0.0; 3]; 3]; 3];
        for (t, (centroid, normal)) in corners.iter().zip(&centred) {
            // Over a triangle of area A, ∫ d dA = A · (centroid − centre) and
            // ∫ d dᵀ dA = A/12 · (Σ dᵢ dᵢᵀ + s sᵀ), with dᵢ its corners less `centre` and
            // s = Σ dᵢ; A cancels against the unit normal's 1/A here.
            let offset = [0, 1, 2].map(|axis| centroid[axis] - centre[axis]);
            let d = t.map(|v| [0, 1, 2].map(|axis| v[axis] - centre[axis]));
            let s = [0, 1, 2].map(|axis| 3.0 * offset[axis]);
            for (j, n) in normal.iter().enumerate() {
                for k in 0..3 {
                    normal_first_moment[j][k] += n * offset[k];
                    for l in 0..3 {
                        let corners_kl: f64 = d.iter().map(|di| di[k] * di[l]).sum();
                        normal_second_moment[j][k][l] += n * (corners_kl + s[k] * s[l]) / 12.0;
                    }
                }
            }
        }
        let radius = corners
            .iter()
            .flatten()
            .map(|v| {
                let d = [0, 1, 2].map(|axis| v[axis] - centre[axis]);
                dot(d, d)
            })
            .fold(0.0, f64::max)
            .sqrt();
        Self {
            start,
            end,
            right,
            centre,
            radius,
            normal_sum,
            normal_first_moment,
            normal_second_moment,
        }
    }

    /// Solid angle of the node's triangles seen from `q`, with `r = centre − q`: the
    /// integral `∫ n · K(x − q) dA` with `K(y) = y / |y|³`, `K(r + d)` Taylor-expanded to
    /// second order in `d = x − centre`.
    fn far_solid_angle(&self, r: [f64; 3], distance_squared: f64) -> f64 {
        let inverse = distance_squared.sqrt().recip();
        let inverse_squared = inverse * inverse;
        let inverse_cubed = inverse_squared * inverse;
        let inverse_fifth = inverse_cubed * inverse_squared;
        // Order 0: n · K(r).
        let dipole = dot(self.normal_sum, r) * inverse_cubed;
        // Order 1: ∂ₖKⱼ = δⱼₖ/|r|³ − 3 rⱼ rₖ/|r|⁵.
        let m = &self.normal_first_moment;
        let trace = m[0][0] + m[1][1] + m[2][2];
        let r_m_r: f64 = m.iter().zip(r).map(|(row, rj)| rj * dot(*row, r)).sum();
        let first = trace * inverse_cubed - 3.0 * r_m_r * inverse_fifth;
        // Order 2: ½ ∂ₖ∂ₗKⱼ with ∂ₖ∂ₗKⱼ = −3 (δⱼₖ rₗ + δⱼₗ rₖ + δₖₗ rⱼ)/|r|⁵ + 15 rⱼ rₖ rₗ/|r|⁷;
        // the last two offset axes are symmetric, so δⱼₖ and δⱼₗ give the same sum.
        let t = &self.normal_second_moment;
        let mut contracted = 0.0; // Σ Tⱼₖₗ (2 δⱼₖ rₗ + δₖₗ rⱼ)
        let mut r_t_r_r = 0.0; // Σ Tⱼₖₗ rⱼ rₖ rₗ
        for (j, tj) in t.iter().enumerate() {
            contracted += 2.0 * dot(tj[j], r) + r[j] * (tj[0][0] + tj[1][1] + tj[2][2]);
            let r_tj_r: f64 = tj.iter().zip(r).map(|(row, rk)| rk * dot(*row, r)).sum();
            r_t_r_r += r[j] * r_tj_r;
        }
        let second = 0.5
            * (-3.0 * contracted * inverse_fifth
                + 15.0 * r_t_r_r * inverse_fifth * inverse_squared);
        dipole + first + second
    }
}

fn dot(u: [f64; 3], v: [f64; 3]) -> f64 {
    u[0] * v[0] + u[1] * v[1] + u[2] * v[2]
}

fn cross(u: [f64; 3], v: [f64; 3]) -> [f64; 3] {
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

#[cfg(test)]
mod tests {
    use rand::{Rng as _, SeedableRng as _};

    use super::*;

    /// A closed torus (major radius 1, minor 0.4) of `2 · around · across` outward-facing
    /// triangles, tilted so no face lines up with an axis.
    fn torus(around: u32, across: u32) -> TriangleMesh {
        let mut mesh = TriangleMesh::default();
        for i in 0..around {
            for j in 0..across {
                let u = i as f32 / around as f32 * std::f32::consts::TAU;
                let v = j as f32 / across as f32 * std::f32::consts::TAU;
                let ring = 1.0 + 0.4 * v.cos();
                let [x, y, z] = [ring * u.cos(), ring * u.sin(), 0.4 * v.sin()];
                mesh.vertices
                    .push([x, 0.8 * y + 0.6 * z, -0.6 * y + 0.8 * z]);
                let at = |i: u32, j: u32| (i % around) * across + j % across;
                mesh.triangles
                    .push([at(i, j), at(i + 1, j), at(i + 1, j + 1)]);
                mesh.triangles
                    .push([at(i, j), at(i + 1, j + 1), at(i, j + 1)]);
            }
        }
        mesh
    }

    /// Random points in the box around `mesh`, a tenth of them next to its corners.
    fn points_around(mesh: &TriangleMesh, count: usize, seed: u64) -> Vec<[f32; 3]> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let (lo, hi) = mesh.bounds();
        (0..count)
            .map(|i| {
                if i % 10 == 0 {
                    let v = mesh.vertices[rng.random_range(0..mesh.vertices.len())];
                    v.map(|c| c + rng.random_range(-0.02..0.02))
                } else {
                    [0, 1, 2].map(|a| {
                        let margin = 0.3 * (hi[a] - lo[a]);
                        rng.random_range(lo[a] - margin..hi[a] + margin)
                    })
                }
            })
            .collect()
    }

    fn largest_difference(mesh: &TriangleMesh, fast: &FastWinding, points: &[[f32; 3]]) -> f32 {
        let exact = mesh.winding_numbers(points);
        let fast = fast.winding_numbers(points);
        assert_eq!(fast.len(), points.len());
        let largest = exact
            .iter()
            .zip(&fast)
            .map(|(e, f)| (e - f).abs())
            .fold(0.0, f32::max);
        eprintln!(
            "largest |fast − exact| over {} points: {largest:e}",
            points.len()
        );
        largest
    }

    #[test]
    fn fast_winding_numbers_match_the_exact_sum_for_a_closed_mesh() {
        let mesh = torus(64, 32);
        let fast = FastWinding::new(&mesh);
        let points = points_around(&mesh, 4000, 1);
        let error = largest_difference(&mesh, &fast, &points);
        assert!(error < 1e-2, "largest difference {error}");
        // Inside the tube and in the hole.
        assert!((fast.winding_number([1.0, 0.0, 0.0]) - 1.0).abs() < 1e-2);
        assert!(fast.winding_number([0.0, 0.0, 0.0]).abs() < 1e-2);
        // Opening every node sums each triangle, as the exact path does.
        let exhaustive = FastWinding::with_beta(&mesh, f32::INFINITY);
        let error = largest_difference(&mesh, &exhaustive, &points);
        assert!(error < 1e-5, "largest difference {error}");
    }

    #[test]
    fn fast_winding_numbers_match_the_exact_sum_for_an_open_mesh() {
        let mut mesh = torus(48, 24);
        // Cut two holes: the winding number is fractional around them.
        let count = mesh.triangles.len();
        mesh.triangles.drain(count / 3..count / 3 + 60);
        mesh.triangles.truncate(count - 200);
        let fast = FastWinding::new(&mesh);
        let points = points_around(&mesh, 4000, 2);
        let exact = mesh.winding_numbers(&points);
        assert!(
            exact.iter().any(|w| (0.2..0.8).contains(w)),
            "the holes should leave fractional winding numbers"
        );
        let error = largest_difference(&mesh, &fast, &points);
        assert!(error < 1e-2, "largest difference {error}");
    }

    #[test]
    fn an_empty_mesh_winds_nowhere() {
        let fast = FastWinding::new(&TriangleMesh::default());
        assert_eq!(
            fast.winding_numbers(&[[0.0; 3], [1.0, 2.0, 3.0]]),
            vec![0.0; 2]
        );
        // A face referring past the vertices is ignored.
        let broken = TriangleMesh {
            vertices: vec![[0.0; 3]; 3],
            triangles: vec![[0, 1, 7]],
        };
        assert_eq!(FastWinding::new(&broken).winding_number([0.0; 3]), 0.0);
    }
}
