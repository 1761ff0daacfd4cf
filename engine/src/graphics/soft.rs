//! The soft graphics program: every component's relaxed straight-line program run by the
//! differentiable interpreter over its parts' occupancies, under its flip-union or for-loop.
//! Works on plain tensors for `T` tasks, so free parameters (per-shape synthesis) and a
//! policy network (amortized inference) share it.

use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Tensor};

use super::free_program::identities;
use super::parts::{PartTensors, Retrieval, surface_width, warp_width};
use super::{ComponentKind, GraphicsProgram, PartShape, ProgramComponent, SketchConfig};
use crate::relaxed::{self, Architecture, ArchitectureLogits, Relaxation, repeat_rows};

/// One component's parameters for `T` tasks.
#[derive(Clone, Debug)]
pub struct ComponentTensors {
    pub logits: ArchitectureLogits,
    pub parts: PartTensors,
    /// Flip hyperplane `n·p + c = 0` as `[T, D + 1]` (flip-union only).
    pub flip: Option<Tensor<2>>,
    /// For-loop step `d`: [T, D].
    pub step: Option<Tensor<2>>,
    /// For-loop count logits (count 1..=C): [T, C].
    pub count_logits: Option<Tensor<2>>,
    /// On/off gate, on where ≥ 0: [T, 1].
    pub gate: Option<Tensor<2>>,
}

/// A whole soft program for `T` tasks.
#[derive(Clone, Debug)]
pub struct ProgramTensors {
    pub components: Vec<ComponentTensors>,
    /// The shared library's warps and surfaces, if the family has one.
    pub library: Option<(Tensor<2>, Tensor<2>)>,
}

/// How one evaluation draws the discrete choices.
#[derive(Clone, Copy, Debug)]
pub struct Draw {
    pub relaxation: Relaxation,
    pub retrieval: Retrieval,
    /// Architectures drawn per task (min-sampling); outputs are task-major.
    pub samples: usize,
    /// Whether draw 0 of each task is the noise-free mode (see
    /// [`ArchitectureLogits::relax_k_with_mode`]).
    pub include_mode: bool,
}

/// What an evaluation returns.
pub struct Evaluation {
    /// `[T·k, N]` occupancies, task-major.
    pub occupancy: Tensor<2>,
}

impl ProgramTensors {
    pub fn tasks(&self) -> usize {
        self.components.first().map_or(0, |c| c.logits.tasks())
    }

    /// Expected program length of the noise-free program at `temperature` (the mode that
    /// min-sampling always weighs), summed over components: `[T]`.
    pub fn expected_length(&self, temperature: f64) -> Tensor<1> {
        let ops = SketchConfig::ops();
        let lengths: Vec<Tensor<1>> = self
            .components
            .iter()
            .map(|c| {
                let alpha = c.logits.relax(Relaxation::Softmax { temperature });
                relaxed::expected_length(&alpha, &ops)
            })
            .collect();
        // No components means no tasks (`Self::tasks`): an empty `[0]`.
        lengths
            .into_iter()
            .reduce(|a, b| a + b)
            .unwrap_or_else(|| Tensor::zeros([0], &Device::flex()))
    }

    /// Occupancy of the soft program at `points [T, N, D]`.
    pub fn evaluate(&self, sketch: &SketchConfig, points: &Tensor<3>, draw: Draw) -> Evaluation {
        let ops = SketchConfig::ops();
        let k = draw.samples.max(1);
        let [tasks, n, dim] = points.dims();
        let mut total: Option<Tensor<2>> = None;
        for (kind, component) in sketch.components.iter().zip(&self.components) {
            let copies = component_points(kind, component, points.clone());
            let m = copies.len();
            let all = Tensor::cat(copies, 1); // [T, m·N, D]
            let (surfaces, warps) = component.parts.shapes(
                &sketch.family,
                self.library.as_ref().map(|(w, s)| (w, s)),
                draw.retrieval,
            );
            let inputs = component
                .parts
                .occupancy(all, surfaces, warps, sketch.sharpness); // [T, P, m·N]
            let inputs = relaxed::repeat_tasks(inputs, k);
            let arch: Architecture = if draw.include_mode {
                component.logits.relax_k_with_mode(draw.relaxation, k)
            } else {
                component.logits.relax_k(draw.relaxation, k)
            };
            let values = relaxed::execute(inputs, &arch, &ops).reshape([tasks * k, m, n]);
            let mut value = combine(kind, component, &values, k);
            if let Some(gate) = &component.gate {
                value = value * repeat_rows(straight_through_step(gate.clone()), k);
            }
            total = Some(match total {
                None => value,
                Some(t) => t.max_pair(value),
            });
        }
        let _ = dim;
        Evaluation {
            // A sketch without components draws nothing.
            occupancy: total.unwrap_or_else(|| Tensor::zeros([tasks * k, n], &points.device())),
        }
    }
}

/// The copies of the query points a component evaluates its sub-program at.
fn component_points(
    kind: &ComponentKind,
    component: &ComponentTensors,
    points: Tensor<3>,
) -> Vec<Tensor<3>> {
    let [tasks, _, dim] = points.dims();
    match (kind, &component.flip, &component.step) {
        (ComponentKind::FlipUnion, Some(flip), _) => {
            let normal = flip.clone().slice([0..tasks, 0..dim]); // [T, D]
            let offset = flip.clone().slice([0..tasks, dim..dim + 1]); // [T, 1]
            let norm2 = normal.clone().powi_scalar(2).sum_dim(1) + 1.0e-6; // [T, 1]
            let side = points.clone().matmul(normal.clone().unsqueeze_dim::<3>(2))
                + offset.unsqueeze_dim::<3>(2); // [T, N, 1]
            let scale = side * 2.0 / norm2.unsqueeze_dim::<3>(2);
            let flipped = points.clone() - scale * normal.unsqueeze_dim::<3>(1);
            vec![points, flipped]
        }
        (ComponentKind::ForLoop { max_count }, _, Some(step)) => (0..(*max_count).max(1))
            .map(|c| points.clone() - step.clone().unsqueeze_dim::<3>(1) * (c as f64))
            .collect(),
        _ => vec![points],
    }
}

/// Merges a component's copies `[T·k, m, N]` into its value `[T·k, N]`.
fn combine(
    kind: &ComponentKind,
    component: &ComponentTensors,
    values: &Tensor<3>,
    k: usize,
) -> Tensor<2> {
    let [rows, m, n] = values.dims();
    let copy = |c: usize| {
        values
            .clone()
            .slice([0..rows, c..c + 1, 0..n])
            .squeeze_dim::<2>(1)
    };
    match (kind, &component.count_logits) {
        (ComponentKind::ForLoop { .. }, Some(count_logits)) => {
            // Σ_C π_C · max_{c < C} z(p − c·d).
            let weights = repeat_rows(softmax(count_logits.clone(), 1), k); // [T·k, C]
            let mut running = copy(0);
            let mut total = running.clone() * weights.clone().slice([0..rows, 0..1]);
            for c in 1..m {
                running = running.max_pair(copy(c));
                total = total + running.clone() * weights.clone().slice([0..rows, c..c + 1]);
            }
            total
        }
        _ => (1..m).fold(copy(0), |acc, c| acc.max_pair(copy(c))),
    }
}

/// `1(x ≥ 0)` forward, the sigmoid's gradient backward.
fn straight_through_step(x: Tensor<2>) -> Tensor<2> {
    let soft = sigmoid(x.clone());
    x.greater_equal_elem(0.0).float() - soft.clone().detach() + soft
}

/// `A = diag(exp(−log_size)) (I + shear)`: `[T, P, D]`, `[T, P, D, D]` → `[T, P, D, D]`.
pub(super) fn linear_map(log_size: Tensor<3>, shear: Tensor<4>) -> Tensor<4> {
    let [tasks, parts, dim] = log_size.dims();
    let identity = identities([tasks, parts, dim], &log_size.device());
    let inverse_size = log_size.neg().exp().unsqueeze_dim::<4>(3); // rows scaled
    (identity + shear) * inverse_size
}

/// The tensor's values, row-major.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

impl ProgramTensors {
    /// The most likely discrete program of task `task`: argmax lines, argmax library entries,
    /// hard gates, the most likely loop count; then simplified, keeping only live parts.
    ///
    /// # Errors
    /// If an argmax architecture is not a valid program (it always is: the mask is causal).
    pub fn discretize(
        &self,
        sketch: &SketchConfig,
        task: usize,
    ) -> Result<GraphicsProgram, crate::dsl::DslError> {
        let ops = SketchConfig::ops();
        let dim = sketch.dim;
        let mut components = Vec::new();
        for (kind, c) in sketch.components.iter().zip(&self.components) {
            let row = |t: &Tensor<2>| {
                let w = t.dims()[1];
                values(t.clone().slice([task..task + 1, 0..w]))
            };
            let logits = ArchitectureLogits {
                op_logits: task_slice3(&c.logits.op_logits, task),
                left_logits: task_slice3(&c.logits.left_logits, task),
                right_logits: task_slice3(&c.logits.right_logits, task),
                inputs: c.logits.inputs,
            };
            let program = logits
                .probabilities()
                .discretize(&ops)?
                .into_iter()
                .next()
                .ok_or_else(|| crate::dsl::DslError::Invalid("no program".into()))?;
            let parts = c.parts.task(task);
            let (surfaces, warps) = parts.shapes(
                &sketch.family,
                self.library.as_ref().map(|(w, s)| (w, s)),
                Retrieval::Hard,
            );
            let indices =
                |query: &Option<Tensor<3>>, table: Option<&Tensor<2>>| -> Vec<Option<usize>> {
                    match (query, table) {
                        (Some(q), Some(table)) => {
                            let [_, count, width] = q.dims();
                            let scores = q
                                .clone()
                                .reshape([count, width])
                                .matmul(table.clone().transpose());
                            values(scores.argmax(1).float())
                                .into_iter()
                                .map(|i| Some(i as usize))
                                .collect()
                        }
                        _ => vec![None; parts.count()],
                    }
                };
            let surface_index = indices(&parts.surface_query, self.library.as_ref().map(|l| &l.1));
            let warp_index = indices(&parts.warp_query, self.library.as_ref().map(|l| &l.0));
            let count = parts.count();
            let translation = values(parts.translation.clone());
            let linear = values(parts.linear.clone());
            let surfaces = values(surfaces);
            let warps = warps.map(values);
            let (sw, ww) = (surface_width(dim), warp_width(dim));
            let shapes = (0..count)
                .map(|i| PartShape {
                    translation: translation[i * dim..(i + 1) * dim].to_vec(),
                    linear: linear[i * dim * dim..(i + 1) * dim * dim].to_vec(),
                    surface: surfaces[i * sw..(i + 1) * sw].to_vec(),
                    warp: warps.as_ref().map(|w| w[i * ww..(i + 1) * ww].to_vec()),
                    surface_index: surface_index[i],
                    warp_index: warp_index[i],
                })
                .collect();
            let count_choice = c.count_logits.as_ref().map(|l| {
                let r = row(l);
                1 + r
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i)
            });
            components.push(ProgramComponent {
                kind: kind.clone(),
                program,
                parts: shapes,
                flip: c.flip.as_ref().map(row),
                step: c.step.as_ref().map(row),
                count: count_choice,
                enabled: c.gate.as_ref().is_none_or(|g| row(g)[0] >= 0.0),
            });
        }
        Ok(GraphicsProgram {
            dim,
            sharpness: sketch.sharpness,
            components,
        }
        .compacted())
    }

    /// A copy without autodiff history, for evaluation.
    pub fn detached(&self) -> Self {
        let d3 = |t: &Tensor<3>| t.clone().detach();
        Self {
            components: self
                .components
                .iter()
                .map(|c| ComponentTensors {
                    logits: ArchitectureLogits {
                        op_logits: d3(&c.logits.op_logits),
                        left_logits: d3(&c.logits.left_logits),
                        right_logits: d3(&c.logits.right_logits),
                        inputs: c.logits.inputs,
                    },
                    parts: PartTensors {
                        translation: d3(&c.parts.translation),
                        linear: c.parts.linear.clone().detach(),
                        warp_query: c.parts.warp_query.as_ref().map(d3),
                        surface_query: c.parts.surface_query.as_ref().map(d3),
                    },
                    flip: c.flip.clone().map(Tensor::detach),
                    step: c.step.clone().map(Tensor::detach),
                    count_logits: c.count_logits.clone().map(Tensor::detach),
                    gate: c.gate.clone().map(Tensor::detach),
                })
                .collect(),
            library: self
                .library
                .as_ref()
                .map(|(w, s)| (w.clone().detach(), s.clone().detach())),
        }
    }
}

fn task_slice3(t: &Tensor<3>, task: usize) -> Tensor<3> {
    let [_, a, b] = t.dims();
    t.clone().slice([task..task + 1, 0..a, 0..b])
}
