//! Learned primitive parts (App. B.2 and C.1 of the paper), one code path for 2D and 3D.
//!
//! A part is a quadric surface `D(u) = max(θg·[u², |u|] − 1, max_a 2|u_a| − 1)` in its own
//! frame `u = A (p − t)`, optionally warped along its first axis by a quadratic function of
//! the others (App. C.1.1). `D` is 0 on the surface, negative inside and never leaves the
//! unit box `[-½, ½]^D`; the occupancy is `sigmoid(−sharpness · D)`.
//!
//! Where a part's surface and warp come from is the family's business: in 3D every part
//! softly retrieves both from a shared [`Library`] (App. C.1.2); in 2D parts are fixed
//! circles (`θg = [4, 4, 0, 0]`) and squares (`θg = 0`).

use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Coefficients of a quadric surface: `D` squares then `D` absolute values.
pub fn surface_width(dim: usize) -> usize {
    2 * dim
}

/// Warp features of the axes after the first: linear, square, pairwise products.
pub fn warp_features(dim: usize) -> usize {
    let others = dim - 1;
    2 * others + others * others.saturating_sub(1) / 2
}

/// Warp parameters: scale coefficients, shift coefficients, gate.
pub fn warp_width(dim: usize) -> usize {
    2 * warp_features(dim) + 1
}

/// The smallest warp scale: keeps the division of the warped axis finite.
pub const MIN_WARP_SCALE: f32 = 0.2;

/// How a family of parts gets its surfaces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PartFamily {
    /// Every part retrieves a warp and a surface from the shared library (3D, App. C.1.2).
    Library { warps: usize, surfaces: usize },
    /// Fixed shapes: `circles` circles, then `squares` squares (2D, App. B.2).
    CirclesSquares { circles: usize, squares: usize },
}

impl PartFamily {
    /// Parts of one component of this family; a library family uses `count` of them.
    pub fn fixed_count(&self) -> Option<usize> {
        match self {
            Self::Library { .. } => None,
            Self::CirclesSquares { circles, squares } => Some(circles.saturating_add(*squares)),
        }
    }

    /// The fixed surface coefficients of part `i`, if this family fixes them.
    pub fn fixed_surface(&self, i: usize, dim: usize) -> Option<Vec<f32>> {
        let Self::CirclesSquares { circles, .. } = self else {
            return None;
        };
        let mut theta = vec![0.0; surface_width(dim)];
        if i < *circles {
            theta[..dim].fill(4.0); // 4|u|² ≤ 1: a disc of radius ½
        }
        Some(theta)
    }
}

/// The shared shape library: `warps` warp transformations and `surfaces` quadric surfaces,
/// shared by every part of every task.
#[derive(Module, Debug)]
pub struct Library {
    pub warps: Param<Tensor<2>>,    // [W, warp_width]
    pub surfaces: Param<Tensor<2>>, // [S, surface_width]
}

impl Library {
    /// Random surfaces between a box (all 0) and an ellipsoid (all 4); small warps, half of
    /// them gated on.
    pub fn random(warps: usize, surfaces: usize, dim: usize, device: &Device) -> Self {
        let surfaces = Tensor::<2>::random(
            [surfaces, surface_width(dim)],
            Distribution::Uniform(0.0, 2.0),
            device,
        );
        let warps = Tensor::<2>::random(
            [warps, warp_width(dim)],
            Distribution::Normal(0.0, 0.2),
            device,
        );
        Self {
            warps: Param::from_tensor(warps),
            surfaces: Param::from_tensor(surfaces),
        }
    }
}

/// The per-instance parameters of one component's parts, for `T` tasks at once. Free
/// parameters (per-shape synthesis) and a policy network (amortized) both produce these.
#[derive(Clone, Debug)]
pub struct PartTensors {
    /// `t`: [T, P, D].
    pub translation: Tensor<3>,
    /// `A`, the map from the world into the part's frame: [T, P, D, D].
    pub linear: Tensor<4>,
    /// Retrieval queries into the library's warps and surfaces (library family only):
    /// [T, P, warp_width] and [T, P, surface_width].
    pub warp_query: Option<Tensor<3>>,
    pub surface_query: Option<Tensor<3>>,
}

/// How the library is read this step.
#[derive(Clone, Copy, Debug)]
pub enum Retrieval {
    /// Softmax at a temperature, optionally with Gumbel noise.
    Soft { temperature: f64, gumbel: bool },
    /// Argmax: the discrete part.
    Hard,
}

/// Initial part centres: `count` parts on `centres` (cycled), flattened `[P, D]`.
pub fn initial_placement(count: usize, dim: usize, centres: &[Vec<f32>]) -> Vec<f32> {
    (0..count)
        .flat_map(|i| {
            centres
                .get(i % centres.len().max(1))
                .cloned()
                .unwrap_or_else(|| vec![0.0; dim])
        })
        .collect()
}

impl PartTensors {
    pub fn tasks(&self) -> usize {
        self.translation.dims()[0]
    }

    /// Task `task` alone.
    pub fn task(&self, task: usize) -> Self {
        let one3 = |t: &Tensor<3>| {
            let [_, a, b] = t.dims();
            t.clone().slice([task..task + 1, 0..a, 0..b])
        };
        let [_, p, d, _] = self.linear.dims();
        Self {
            translation: one3(&self.translation),
            linear: self
                .linear
                .clone()
                .slice([task..task + 1, 0..p, 0..d, 0..d]),
            warp_query: self.warp_query.as_ref().map(one3),
            surface_query: self.surface_query.as_ref().map(one3),
        }
    }

    pub fn count(&self) -> usize {
        self.translation.dims()[1]
    }

    pub fn dim(&self) -> usize {
        self.translation.dims()[2]
    }

    /// Each part's surface coefficients `[T, P, 2D]` and warp `[T, P, warp_width]` (if any).
    pub fn shapes(
        &self,
        family: &PartFamily,
        library: Option<(&Tensor<2>, &Tensor<2>)>,
        retrieval: Retrieval,
    ) -> (Tensor<3>, Option<Tensor<3>>) {
        let device = self.translation.device();
        let (tasks, count, dim) = (self.tasks(), self.count(), self.dim());
        match (library, &self.warp_query, &self.surface_query) {
            (Some((warps, surfaces)), Some(wq), Some(sq)) => {
                let warps = retrieve(wq.clone(), warps.clone(), retrieval);
                let surfaces = retrieve(sq.clone(), surfaces.clone(), retrieval);
                (surfaces, Some(warps))
            }
            _ => {
                let theta: Vec<f32> = (0..count)
                    .flat_map(|i| {
                        family
                            .fixed_surface(i, dim)
                            .unwrap_or_else(|| vec![0.0; surface_width(dim)])
                    })
                    .collect();
                let surfaces: Tensor<3> = Tensor::<2>::from_data(
                    TensorData::new(theta, [count, surface_width(dim)]),
                    &device,
                )
                .unsqueeze_dim::<3>(0)
                .expand([tasks, count, surface_width(dim)]);
                (surfaces, None)
            }
        }
    }

    /// Occupancy of every part at every point: `points [T, N, D]` → `[T, P, N]`.
    ///
    /// On the CPU backend this is one fused kernel with a hand-written backward pass
    /// ([`super::parts_kernel`]); elsewhere (wgpu) it is [`Self::occupancy_reference`].
    pub fn occupancy(
        &self,
        points: Tensor<3>,
        surfaces: Tensor<3>,
        warps: Option<Tensor<3>>,
        sharpness: f64,
    ) -> Tensor<3> {
        if !super::parts_op::is_available(&points) {
            return self.occupancy_reference(points, &surfaces, warps.as_ref(), sharpness);
        }
        let warps = warps.unwrap_or_else(|| {
            // No warp: every gate off.
            let (tasks, count, dim) = (self.tasks(), self.count(), self.dim());
            Tensor::<3>::ones([tasks, count, warp_width(dim)], &points.device()) * (-1.0)
        });
        super::parts_op::occupancy(
            points,
            self.translation.clone(),
            self.linear.clone(),
            surfaces,
            warps,
            sharpness,
        )
    }

    /// [`Self::occupancy`] in burn's stock tensor ops; runs on any backend.
    pub fn occupancy_reference(
        &self,
        points: Tensor<3>,
        surfaces: &Tensor<3>,
        warps: Option<&Tensor<3>>,
        sharpness: f64,
    ) -> Tensor<3> {
        let distance = self.signed_distance(points, surfaces, warps);
        sigmoid(distance * (-sharpness))
    }

    /// `D` of every part at every point: `[T, N, D]` → `[T, P, N]`.
    pub fn signed_distance(
        &self,
        points: Tensor<3>,
        surfaces: &Tensor<3>,
        warps: Option<&Tensor<3>>,
    ) -> Tensor<3> {
        let (tasks, count, dim) = (self.tasks(), self.count(), self.dim());
        let n = points.dims()[1];
        // u = (p − t) Aᵀ, all parts at once: [T, P, N, D].
        let offset = points.unsqueeze_dim::<4>(1).expand([tasks, count, n, dim])
            - self.translation.clone().unsqueeze_dim::<4>(2);
        let local = offset.matmul(self.linear.clone().swap_dims(2, 3));
        let mut axes: Vec<Tensor<3>> = (0..dim)
            .map(|a| {
                local
                    .clone()
                    .slice([0..tasks, 0..count, 0..n, a..a + 1])
                    .squeeze_dim::<3>(3)
            })
            .collect();
        if let Some(warps) = warps {
            axes[0] = warp_first_axis(&axes, warps);
        }
        let mut quadric: Option<Tensor<3>> = None;
        let mut walls: Option<Tensor<3>> = None;
        for (a, u) in axes.iter().enumerate() {
            let magnitude = u.clone().abs();
            let term = u.clone().powi_scalar(2) * column(surfaces, a)
                + magnitude.clone() * column(surfaces, dim + a);
            quadric = Some(match quadric {
                None => term,
                Some(q) => q + term,
            });
            let wall = magnitude * 2.0 - 1.0;
            walls = Some(match walls {
                None => wall,
                Some(w) => w.max_pair(wall),
            });
        }
        match (quadric, walls) {
            (Some(q), Some(w)) => (q - 1.0).max_pair(w),
            _ => Tensor::zeros([tasks, count, n], &self.translation.device()),
        }
    }
}

/// Column `c` of `[T, P, w]` parameters as `[T, P, 1]`, to broadcast over points.
fn column(t: &Tensor<3>, c: usize) -> Tensor<3> {
    let [tasks, count, _] = t.dims();
    t.clone().slice([0..tasks, 0..count, c..c + 1])
}

/// Soft (or hard) retrieval `α = softmax(Θ q)`, `θ = αᵀ Θ`: `[T, P, w]` queries into a
/// `[K, w]` table → `[T, P, w]` parameters.
fn retrieve(queries: Tensor<3>, table: Tensor<2>, retrieval: Retrieval) -> Tensor<3> {
    let [tasks, count, width] = queries.dims();
    let scores = queries
        .reshape([tasks * count, width])
        .matmul(table.clone().transpose()); // [T·P, K]
    let weights = match retrieval {
        Retrieval::Soft {
            temperature,
            gumbel,
        } => {
            let scores = if gumbel {
                let noise = crate::relaxed::gumbel_noise(scores.dims(), &scores.device());
                scores + noise
            } else {
                scores
            };
            softmax(scores / temperature, 1)
        }
        Retrieval::Hard => {
            let k = scores.dims()[1];
            scores.argmax(1).squeeze_dim::<1>(1).one_hot::<2>(k).float()
        }
    };
    weights.matmul(table).reshape([tasks, count, width])
}

/// `u₀ ← (u₀ − t(u')) / s(u')` with `s, t` quadratic in the other axes and switched on by a
/// hard gate whose gradient is the sigmoid's (straight-through).
fn warp_first_axis(axes: &[Tensor<3>], warps: &Tensor<3>) -> Tensor<3> {
    let features = warp_feature_tensors(&axes[1..]);
    let f = features.len();
    let coefficient = |c: usize| column(warps, c);
    let soft_gate = sigmoid(coefficient(2 * f));
    let hard_gate = coefficient(2 * f).greater_equal_elem(0.0).float();
    let gate = hard_gate - soft_gate.clone().detach() + soft_gate;
    let mut scale: Option<Tensor<3>> = None;
    let mut shift: Option<Tensor<3>> = None;
    for (j, feature) in features.iter().enumerate() {
        let s = feature.clone() * coefficient(j);
        let t = feature.clone() * coefficient(f + j);
        scale = Some(scale.map_or(s.clone(), |acc| acc + s));
        shift = Some(shift.map_or(t.clone(), |acc| acc + t));
    }
    match (scale, shift) {
        (Some(scale), Some(shift)) => {
            let scale = (scale * gate.clone() + 1.0).clamp_min(MIN_WARP_SCALE);
            (axes[0].clone() - shift * gate) / scale
        }
        _ => axes[0].clone(),
    }
}

/// Linear terms, squares, then pairwise products of `others`.
fn warp_feature_tensors(others: &[Tensor<3>]) -> Vec<Tensor<3>> {
    let mut features: Vec<Tensor<3>> = others.to_vec();
    features.extend(others.iter().map(|u| u.clone().powi_scalar(2)));
    for i in 0..others.len() {
        for j in i + 1..others.len() {
            features.push(others[i].clone() * others[j].clone());
        }
    }
    features
}
