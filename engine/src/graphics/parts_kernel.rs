//! The parts' occupancy on the CPU as one fused pass per part, with its hand-written
//! backward pass: the same function as [`super::parts::PartTensors::occupancy`] in stock
//! burn ops, without materialising a dozen `[T, P, N]` intermediates per step.
//!
//! Per task `t`, part `p`, point `m`: `u = A (x − t)`; if the warp's gate is on,
//! `u₀ ← (u₀ − sh) / max(s, ε)` with `s = 1 + ws·φ(u'), sh = wt·φ(u')`;
//! `D = max(θ·[u², |u|] − 1, max_a 2|u_a| − 1)`; `o = sigmoid(−k D)`.

use rayon::prelude::*;

use super::parts::{MIN_WARP_SCALE, surface_width, warp_features, warp_width};

/// Sizes of one call.
#[derive(Clone, Copy, Debug)]
pub struct PartDims {
    pub tasks: usize,
    pub parts: usize,
    pub points: usize,
    pub dim: usize,
}

/// Row-major operands: points `[T, M, D]`, translation `[T, P, D]`, linear `[T, P, D, D]`,
/// surfaces `[T, P, 2D]`, warps `[T, P, warp_width]` (gate < 0 everywhere for no warp).
#[derive(Clone, Copy, Debug)]
pub struct PartOperands<'a> {
    pub dims: PartDims,
    pub sharpness: f32,
    pub points: &'a [f32],
    pub translation: &'a [f32],
    pub linear: &'a [f32],
    pub surfaces: &'a [f32],
    pub warps: &'a [f32],
}

/// Gradients of every operand (points only when asked for).
#[derive(Debug, Default)]
pub struct PartGrads {
    pub points: Vec<f32>,
    pub translation: Vec<f32>,
    pub linear: Vec<f32>,
    pub surfaces: Vec<f32>,
    pub warps: Vec<f32>,
}

/// One part's parameters, sliced out of the operands.
struct Part<'a> {
    translation: &'a [f32],
    linear: &'a [f32],
    surface: &'a [f32],
    warp: &'a [f32],
}

/// Warp parameters with the gate off: no warp.
const NO_WARP: [f32; 2 * MAX_FEATURES + 1] = [-1.0; 2 * MAX_FEATURES + 1];

impl<'a> Part<'a> {
    /// A part from its parameters; `warp = None` for none.
    fn new(
        translation: &'a [f32],
        linear: &'a [f32],
        surface: &'a [f32],
        warp: Option<&'a [f32]>,
        dim: usize,
    ) -> Self {
        Self {
            translation,
            linear,
            surface,
            warp: warp.unwrap_or(&NO_WARP[..warp_width(dim)]),
        }
    }
}

impl PartOperands<'_> {
    fn part(&self, t: usize, p: usize) -> Part<'_> {
        let d = self.dims.dim;
        let i = t * self.dims.parts + p;
        let (sw, ww) = (surface_width(d), warp_width(d));
        Part {
            translation: &self.translation[i * d..(i + 1) * d],
            linear: &self.linear[i * d * d..(i + 1) * d * d],
            surface: &self.surfaces[i * sw..(i + 1) * sw],
            warp: &self.warps[i * ww..(i + 1) * ww],
        }
    }

    fn point(&self, t: usize, m: usize) -> &[f32] {
        let d = self.dims.dim;
        let i = t * self.dims.points + m;
        &self.points[i * d..(i + 1) * d]
    }
}

/// What the forward pass of one (part, point) pair leaves for its backward pass.
struct Trace {
    /// `x − t`.
    offset: [f32; 3],
    /// `u` before the warp.
    local: [f32; 3],
    /// `u` after the warp.
    warped: [f32; 3],
    features: [f32; MAX_FEATURES],
    scale_raw: f32,
    scale: f32,
    scale_sum: f32,
    shift_sum: f32,
    quadric: f32,
    walls: f32,
    wall_axis: usize,
    distance: f32,
}

const MAX_DIM: usize = 3;
/// `warp_features(MAX_DIM)`.
const MAX_FEATURES: usize = 5;

#[allow(clippy::needless_range_loop)] // axis loops read several arrays at one index
fn trace(part: &Part<'_>, x: &[f32], dim: usize) -> Trace {
    let mut offset = [0.0; MAX_DIM];
    for b in 0..dim {
        offset[b] = x[b] - part.translation[b];
    }
    let mut local = [0.0; MAX_DIM];
    for a in 0..dim {
        local[a] = (0..dim).map(|b| part.linear[a * dim + b] * offset[b]).sum();
    }
    let f = warp_features(dim);
    let features = feature_values(&local[1..dim]);
    let gate = if part.warp[2 * f] >= 0.0 { 1.0 } else { 0.0 };
    let scale_sum: f32 = (0..f).map(|j| part.warp[j] * features[j]).sum();
    let shift_sum: f32 = (0..f).map(|j| part.warp[f + j] * features[j]).sum();
    let scale_raw = gate * scale_sum + 1.0;
    let scale = scale_raw.max(MIN_WARP_SCALE);
    let shift = gate * shift_sum;
    let mut warped = local;
    warped[0] = (local[0] - shift) / scale;
    let mut quadric = -1.0;
    let mut walls = f32::NEG_INFINITY;
    let mut wall_axis = 0;
    for a in 0..dim {
        let u = warped[a];
        quadric += part.surface[a] * u * u + part.surface[dim + a] * u.abs();
        let wall = 2.0 * u.abs() - 1.0;
        if wall > walls {
            walls = wall;
            wall_axis = a;
        }
    }
    Trace {
        offset,
        local,
        warped,
        features,
        scale_raw,
        scale,
        scale_sum,
        shift_sum,
        quadric,
        walls,
        wall_axis,
        distance: quadric.max(walls),
    }
}

/// `D` of one part at `x`; `warp = None` for none. The exact evaluator's entry point.
pub fn signed_distance(
    x: &[f32],
    translation: &[f32],
    linear: &[f32],
    surface: &[f32],
    warp: Option<&[f32]>,
) -> f32 {
    let dim = x.len().min(MAX_DIM);
    trace(&Part::new(translation, linear, surface, warp, dim), x, dim).distance
}

/// Occupancy of one part at `x`, skipping the warp and quadric where an unwarped axis
/// already puts `x` far out (see [`FAR`]).
pub fn part_occupancy(
    x: &[f32],
    translation: &[f32],
    linear: &[f32],
    surface: &[f32],
    warp: Option<&[f32]>,
    sharpness: f32,
) -> f32 {
    let dim = x.len().min(MAX_DIM);
    occupancy(
        &Part::new(translation, linear, surface, warp, dim),
        x,
        dim,
        sharpness,
    )
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Beyond this `k·D` the occupancy is below `2e-9`: [`forward`] skips the warp and the
/// quadric (an axis wall after the warp-free axes already puts the point out), and
/// [`backward`] skips pairs whose sigmoid slope `o(1 − o)` is below [`FLAT_SLOPE`].
const FAR: f32 = 20.0;
const FLAT_SLOPE: f32 = 1.0e-7;

/// Occupancy of one pair; the early exit of [`FAR`].
fn occupancy(part: &Part<'_>, x: &[f32], dim: usize, k: f32) -> f32 {
    // Axes after the first are never warped: their walls bound D from below.
    let mut wall = f32::NEG_INFINITY;
    for a in 1..dim {
        let u: f32 = (0..dim)
            .map(|b| part.linear[a * dim + b] * (x[b] - part.translation[b]))
            .sum();
        wall = wall.max(2.0 * u.abs() - 1.0);
    }
    if k * wall > FAR {
        return 0.0;
    }
    sigmoid(-k * trace(part, x, dim).distance)
}

/// One part against every point of its task: the far test runs branch-free over all points
/// first (it vectorises), then only the near points get the full trace.
#[allow(clippy::needless_range_loop)] // axis loops read several arrays at one index
fn forward_row<const D: usize>(part: &Part<'_>, points: &[f32], k: f32, out: &mut [f32]) {
    let mut rows = [[0.0f32; D]; D];
    let mut offsets = [0.0f32; D];
    for a in 0..D {
        for b in 0..D {
            rows[a][b] = part.linear[a * D + b];
            offsets[a] += rows[a][b] * part.translation[b];
        }
    }
    let limit = (FAR / k + 1.0) * 0.5; // |u_a| beyond this is far
    for (o, x) in out.iter_mut().zip(points.chunks_exact(D)) {
        let mut far = false;
        for a in 1..D {
            let u: f32 = (0..D).map(|b| rows[a][b] * x[b]).sum::<f32>() - offsets[a];
            far |= u.abs() > limit;
        }
        *o = if far { 0.0 } else { 1.0 };
    }
    for (o, x) in out.iter_mut().zip(points.chunks_exact(D)) {
        if *o != 0.0 {
            *o = sigmoid(-k * trace(part, x, D).distance);
        }
    }
}

/// Occupancies `[T, P, M]`.
pub fn forward(ops: &PartOperands<'_>) -> Vec<f32> {
    let PartDims {
        tasks,
        parts,
        points,
        dim,
    } = ops.dims;
    let mut output = vec![0.0f32; tasks * parts * points];
    output
        .par_chunks_mut(points.max(1))
        .enumerate()
        .for_each(|(row, out)| {
            let _flushed = crate::relaxed::flush_subnormals();
            let (t, p) = (row / parts, row % parts);
            let part = ops.part(t, p);
            let xs = &ops.points[t * points * dim..(t + 1) * points * dim];
            match dim {
                3 => forward_row::<3>(&part, xs, ops.sharpness, out),
                2 => forward_row::<2>(&part, xs, ops.sharpness, out),
                _ => {
                    for (m, o) in out.iter_mut().enumerate() {
                        *o = occupancy(&part, ops.point(t, m), dim, ops.sharpness);
                    }
                }
            }
        });
    output
}

/// Gradients of a loss whose gradient with respect to the output is `grad_output [T, P, M]`;
/// `output` is what [`forward`] returned.
pub fn backward(
    ops: &PartOperands<'_>,
    output: &[f32],
    grad_output: &[f32],
    want_points: bool,
) -> PartGrads {
    let PartDims {
        tasks,
        parts,
        points,
        dim,
    } = ops.dims;
    let (sw, ww, f) = (surface_width(dim), warp_width(dim), warp_features(dim));
    let k = ops.sharpness;
    // Per (task, part): its parameter gradients, and (if wanted) its share of the points'.
    let rows: Vec<(Vec<f32>, Vec<f32>)> = (0..tasks * parts)
        .into_par_iter()
        .map(|row| {
            let _flushed = crate::relaxed::flush_subnormals();
            let (t, p) = (row / parts, row % parts);
            let part = ops.part(t, p);
            let mut params = vec![0.0f32; dim + dim * dim + sw + ww];
            let mut point_grads = if want_points {
                vec![0.0f32; points * dim]
            } else {
                Vec::new()
            };
            let (g_translation, rest) = params.split_at_mut(dim);
            let (g_linear, rest) = rest.split_at_mut(dim * dim);
            let (g_surface, g_warp) = rest.split_at_mut(sw);
            let gate_logit = part.warp[2 * f];
            let gate = if gate_logit >= 0.0 { 1.0 } else { 0.0 };
            let gate_slope = sigmoid(gate_logit) * (1.0 - sigmoid(gate_logit));
            for m in 0..points {
                let upstream = grad_output[row * points + m];
                let o = output[row * points + m];
                let slope = o * (1.0 - o);
                if upstream == 0.0 || slope < FLAT_SLOPE {
                    continue;
                }
                let tr = trace(&part, ops.point(t, m), dim);
                let g_distance = upstream * slope * (-k);
                // D = max(quadric, walls).
                let mut g_warped = [0.0f32; MAX_DIM];
                if tr.quadric >= tr.walls {
                    for a in 0..dim {
                        let u = tr.warped[a];
                        g_surface[a] += g_distance * u * u;
                        g_surface[dim + a] += g_distance * u.abs();
                        g_warped[a] += g_distance
                            * (2.0 * part.surface[a] * u + part.surface[dim + a] * sign(u));
                    }
                } else {
                    let a = tr.wall_axis;
                    g_warped[a] += g_distance * 2.0 * sign(tr.warped[a]);
                }
                // The warp of axis 0.
                let mut g_local = g_warped;
                let g_u0 = g_warped[0];
                g_local[0] = g_u0 / tr.scale;
                let g_scale = if tr.scale_raw > MIN_WARP_SCALE {
                    -g_u0 * tr.warped[0] / tr.scale
                } else {
                    0.0
                };
                let g_shift = -g_u0 / tr.scale;
                let (g_scale_sum, g_shift_sum) = (g_scale * gate, g_shift * gate);
                g_warp[2 * f] += (g_scale * tr.scale_sum + g_shift * tr.shift_sum) * gate_slope;
                let mut g_features = [0.0f32; MAX_FEATURES];
                for j in 0..f {
                    g_warp[j] += g_scale_sum * tr.features[j];
                    g_warp[f + j] += g_shift_sum * tr.features[j];
                    g_features[j] = g_scale_sum * part.warp[j] + g_shift_sum * part.warp[f + j];
                }
                feature_backward(&tr.local[1..dim], &g_features[..f], &mut g_local[1..dim]);
                // u = A (x − t).
                for a in 0..dim {
                    for b in 0..dim {
                        g_linear[a * dim + b] += g_local[a] * tr.offset[b];
                    }
                }
                for b in 0..dim {
                    let g_offset: f32 = (0..dim)
                        .map(|a| part.linear[a * dim + b] * g_local[a])
                        .sum();
                    g_translation[b] -= g_offset;
                    if want_points {
                        point_grads[m * dim + b] += g_offset;
                    }
                }
            }
            (params, point_grads)
        })
        .collect();
    let mut grads = PartGrads {
        points: vec![0.0; if want_points { tasks * points * dim } else { 0 }],
        translation: Vec::with_capacity(tasks * parts * dim),
        linear: Vec::with_capacity(tasks * parts * dim * dim),
        surfaces: Vec::with_capacity(tasks * parts * sw),
        warps: Vec::with_capacity(tasks * parts * ww),
    };
    for (row, (params, point_grads)) in rows.iter().enumerate() {
        grads.translation.extend_from_slice(&params[..dim]);
        grads
            .linear
            .extend_from_slice(&params[dim..dim + dim * dim]);
        grads
            .surfaces
            .extend_from_slice(&params[dim + dim * dim..dim + dim * dim + sw]);
        grads
            .warps
            .extend_from_slice(&params[dim + dim * dim + sw..]);
        if want_points {
            let t = row / parts;
            let target = &mut grads.points[t * points * dim..(t + 1) * points * dim];
            for (g, v) in target.iter_mut().zip(point_grads) {
                *g += v;
            }
        }
    }
    grads
}

/// Sign with `sign(0) = 0`, as the derivative of `|u|` that burn's `abs` uses.
fn sign(u: f32) -> f32 {
    if u > 0.0 {
        1.0
    } else if u < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The warp features: linear terms, squares,
/// pairwise products.
fn feature_values(others: &[f32]) -> [f32; MAX_FEATURES] {
    let n = others.len();
    let mut features = [0.0; MAX_FEATURES];
    for i in 0..n {
        features[i] = others[i];
        features[n + i] = others[i] * others[i];
    }
    let mut j = 2 * n;
    for a in 0..n {
        for b in a + 1..n {
            features[j] = others[a] * others[b];
            j += 1;
        }
    }
    features
}

/// Back through [`feature_values`]: linear terms, squares, pairwise products.
fn feature_backward(others: &[f32], g_features: &[f32], g_others: &mut [f32]) {
    let n = others.len();
    for i in 0..n {
        g_others[i] += g_features[i] + g_features[n + i] * 2.0 * others[i];
    }
    let mut j = 2 * n;
    for a in 0..n {
        for b in a + 1..n {
            g_others[a] += g_features[j] * others[b];
            g_others[b] += g_features[j] * others[a];
            j += 1;
        }
    }
}
