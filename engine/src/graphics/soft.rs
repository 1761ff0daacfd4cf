//! The soft graphics program: every component's relaxed straight-line program run by the
//! differentiable interpreter over its parts' occupancies, under its flip-union or for-loop.
//! Works on plain tensors for `T` tasks, so free parameters (per-shape synthesis) and a
//! policy network (amortized inference) share it.

use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::parts::{Library, PartTensors, Retrieval, initial_placement, surface_width, warp_width};
use super::{
    ComponentKind, GraphicsProgram, PartFamily, PartShape, ProgramComponent, SketchConfig,
};
use crate::dsl::Semantics;
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

/// Free architecture logits of one component (per-shape synthesis).
#[derive(Module, Debug)]
pub struct FreeLogits {
    op_logits: Param<Tensor<3>>,
    left_logits: Param<Tensor<3>>,
    right_logits: Param<Tensor<3>>,
}

/// Free continuous parameters of one component: its parts and its transform.
#[derive(Module, Debug)]
pub struct FreeGeometry {
    translation: Param<Tensor<3>>,
    /// `A = diag(exp(−log_size)) (I + shear)`: sizes on a log scale, so Adam's steps
    /// resize a part by a factor, whatever its size.
    log_size: Param<Tensor<3>>,
    shear: Param<Tensor<4>>,
    warp_query: Option<Param<Tensor<3>>>,
    surface_query: Option<Param<Tensor<3>>>,
    flip: Option<Param<Tensor<2>>>,
    step: Option<Param<Tensor<2>>>,
    count_logits: Option<Param<Tensor<2>>>,
    gate: Option<Param<Tensor<2>>>,
}

/// The discrete choices' logits, optimised with their own step size.
#[derive(Module, Debug)]
pub struct FreeArchitecture {
    pub components: Vec<FreeLogits>,
}

/// The continuous parameters: parts, transforms and the shared library.
#[derive(Module, Debug)]
pub struct FreeShapes {
    pub components: Vec<FreeGeometry>,
    pub library: Option<Library>,
}

/// Where [`FreeProgram::new`] starts.
#[derive(Clone, Debug)]
pub struct Initialization {
    /// Part centres, cycled over the parts of every component in turn (e.g. seeded from
    /// the target shape: [`super::seeding`]).
    pub centres: Vec<Vec<f32>>,
    /// Initial part widths along each axis, cycled like `centres`.
    pub sizes: Vec<Vec<f32>>,
    /// Which parts start in a cavity of the shape, cycled like `centres`: the line the
    /// chain prior gives such a part leans to `difference` instead of union.
    pub cavity: Vec<bool>,
    /// Initial flip normal (unit, `D` values).
    pub flip_normal: Vec<f32>,
    /// Whether gated flip-union components start switched on: a shape without a mirror
    /// symmetry starts without one (the gate's gradient can still switch it on).
    pub symmetric: bool,
    /// Standard deviation of the initial architecture logits.
    pub logit_scale: f64,
    /// Added to the logits of "left argument = the previous line" and "right argument =
    /// part i", so training starts near the chain `l_i = op(l_{i−1}, p_i)` over distinct
    /// parts, which the length penalty prunes later, instead of from the shallow programs
    /// that uniform logits over many parts favour (their expected length is about 1).
    pub chain_bias: f64,
    /// Added to the logit of union (of difference on lines whose chained part is a cavity).
    pub union_bias: f64,
    /// Initial gate logit of gated components (on while ≥ 0). Gates are hard in the
    /// forward pass, so a component switched off stops learning. Measured on 8 BSP-Net
    /// images: starting at 0.5 most gated components switch off early and the mean Chamfer
    /// is 0.45 px; starting at 2 they survive but the mean is 0.67 px.
    pub gate: f64,
}

/// Free parameters of a whole program for `T` independent tasks (restarts), plus the library.
#[derive(Module, Debug)]
pub struct FreeProgram {
    pub architecture: FreeArchitecture,
    pub shapes: FreeShapes,
}

impl FreeProgram {
    pub fn new(
        sketch: &SketchConfig,
        tasks: usize,
        init: &Initialization,
        device: &Device,
    ) -> Self {
        let dim = sketch.dim;
        let parts = sketch.part_count();
        let op_set = SketchConfig::ops();
        let ops = op_set.len();
        let op_index = |semantics: Semantics| {
            op_set
                .ops
                .iter()
                .position(|o| o.semantics == semantics)
                .unwrap_or(0)
        };
        let (union, difference) = (op_index(Semantics::Max), op_index(Semantics::Difference));
        let (logits, geometry): (Vec<FreeLogits>, Vec<FreeGeometry>) = sketch
            .components
            .iter()
            .enumerate()
            .map(|(index, kind)| {
                // Components start on different seeds (so they do not all fit the same
                // spot): component `index` takes the lists' entries from `index · parts` on.
                let seeds = |list_len: usize| -> Vec<usize> {
                    (0..parts)
                        .map(|i| (index * parts + i) % list_len.max(1))
                        .collect()
                };
                // Line i's chained part is part i (cycled), so its cavity flag picks the
                // operator the line leans to.
                let cavity: Vec<bool> = seeds(init.cavity.len())
                    .into_iter()
                    .map(|i| init.cavity.get(i).copied().unwrap_or(false))
                    .collect();
                let preferred_ops: Vec<usize> = (0..sketch.lines)
                    .map(|line| {
                        if cavity[line % parts] {
                            difference
                        } else {
                            union
                        }
                    })
                    .collect();
                let logits = ArchitectureLogits::random(
                    tasks,
                    parts,
                    sketch.lines,
                    ops,
                    init.logit_scale,
                    device,
                )
                .with_bias(init.chain_bias, init.union_bias, &preferred_ops);
                let centres: Vec<Vec<f32>> = seeds(init.centres.len())
                    .into_iter()
                    .filter_map(|i| init.centres.get(i).cloned())
                    .collect();
                let translation = initial_placement(parts, dim, &centres);
                let log_size: Vec<f32> = seeds(init.sizes.len())
                    .into_iter()
                    .flat_map(|i| {
                        let size = init.sizes.get(i);
                        (0..dim).map(move |a| {
                            size.and_then(|s| s.get(a))
                                .copied()
                                .unwrap_or(0.2)
                                .max(1e-3)
                                .ln()
                        })
                    })
                    .collect();
                let per_task = |data: Vec<f32>| -> Vec<f32> {
                    (0..tasks).flat_map(|_| data.iter().copied()).collect()
                };
                let library = matches!(sketch.family, PartFamily::Library { .. });
                let query = |width: usize| {
                    library.then(|| {
                        Param::from_tensor(Tensor::<3>::random(
                            [tasks, parts, width],
                            Distribution::Normal(0.0, 1.0),
                            device,
                        ))
                    })
                };
                let mut normal = init.flip_normal.clone();
                normal.resize(dim, 0.0);
                normal.push(0.0); // offset
                let flip = matches!(kind, ComponentKind::FlipUnion).then(|| {
                    Param::from_tensor(Tensor::<2>::from_data(
                        TensorData::new(per_task(normal.clone()), [tasks, dim + 1]),
                        device,
                    ))
                });
                let (step, count_logits) = match kind {
                    ComponentKind::ForLoop { max_count } => {
                        let mut d = vec![0.0f32; dim];
                        d[0] = 0.25;
                        (
                            Some(Param::from_tensor(Tensor::<2>::from_data(
                                TensorData::new(per_task(d), [tasks, dim]),
                                device,
                            ))),
                            Some(Param::from_tensor(Tensor::<2>::zeros(
                                [tasks, (*max_count).max(1)],
                                device,
                            ))),
                        )
                    }
                    _ => (None, None),
                };
                let gate_logit = if matches!(kind, ComponentKind::FlipUnion) && !init.symmetric {
                    -init.gate
                } else {
                    init.gate
                };
                let gate = (sketch.gates && index > 0).then(|| {
                    Param::from_tensor(Tensor::<2>::ones([tasks, 1], device) * gate_logit)
                });
                let free_logits = FreeLogits {
                    op_logits: Param::from_tensor(logits.op_logits),
                    left_logits: Param::from_tensor(logits.left_logits),
                    right_logits: Param::from_tensor(logits.right_logits),
                };
                let free_geometry = FreeGeometry {
                    translation: Param::from_tensor(Tensor::<3>::from_data(
                        TensorData::new(per_task(translation), [tasks, parts, dim]),
                        device,
                    )),
                    log_size: Param::from_tensor(Tensor::<3>::from_data(
                        TensorData::new(per_task(log_size), [tasks, parts, dim]),
                        device,
                    )),
                    shear: Param::from_tensor(Tensor::<4>::zeros([tasks, parts, dim, dim], device)),
                    warp_query: query(warp_width(dim)),
                    surface_query: query(surface_width(dim)),
                    flip,
                    step,
                    count_logits,
                    gate,
                };
                (free_logits, free_geometry)
            })
            .unzip();
        let library = match sketch.family {
            PartFamily::Library { warps, surfaces } => {
                Some(Library::random(warps, surfaces, dim, device))
            }
            PartFamily::CirclesSquares { .. } => None,
        };
        Self {
            architecture: FreeArchitecture { components: logits },
            shapes: FreeShapes {
                components: geometry,
                library,
            },
        }
    }

    /// Free parameters on `device` that start where `tensors` are (a policy's output, say):
    /// α's logits, the parts' placements and library queries, the shared library, the
    /// transforms and gates, every task of them. The inverse of [`Self::tensors`] up to
    /// rounding (each part's linear map is split into row sizes and a shear).
    pub fn from_tensors(tensors: &ProgramTensors, device: &Device) -> Self {
        fn param<const D: usize>(t: &Tensor<D>, device: &Device) -> Param<Tensor<D>> {
            Param::from_tensor(Tensor::from_data(t.to_data(), device))
        }
        fn params<const D: usize>(
            t: &Option<Tensor<D>>,
            device: &Device,
        ) -> Option<Param<Tensor<D>>> {
            t.as_ref().map(|t| param(t, device))
        }
        let (logits, geometry) = tensors
            .components
            .iter()
            .map(|c| {
                let logits = FreeLogits {
                    op_logits: param(&c.logits.op_logits, device),
                    left_logits: param(&c.logits.left_logits, device),
                    right_logits: param(&c.logits.right_logits, device),
                };
                let (log_size, shear) =
                    split_linear(Tensor::<4>::from_data(c.parts.linear.to_data(), device));
                let geometry = FreeGeometry {
                    translation: param(&c.parts.translation, device),
                    log_size: Param::from_tensor(log_size),
                    shear: Param::from_tensor(shear),
                    warp_query: params(&c.parts.warp_query, device),
                    surface_query: params(&c.parts.surface_query, device),
                    flip: params(&c.flip, device),
                    step: params(&c.step, device),
                    count_logits: params(&c.count_logits, device),
                    gate: params(&c.gate, device),
                };
                (logits, geometry)
            })
            .unzip();
        Self {
            architecture: FreeArchitecture { components: logits },
            shapes: FreeShapes {
                components: geometry,
                library: tensors.library.as_ref().map(|(warps, surfaces)| Library {
                    warps: param(warps, device),
                    surfaces: param(surfaces, device),
                }),
            },
        }
    }

    /// Restart `task` alone, as fresh parameters (a one-task program) sharing nothing with
    /// `self`: a stage that works on one restart pays for one.
    pub fn task(&self, task: usize) -> FreeProgram {
        fn row<const D: usize>(p: &Param<Tensor<D>>, task: usize) -> Param<Tensor<D>> {
            Param::from_tensor(p.val().narrow(0, task, 1).detach())
        }
        fn rows<const D: usize>(
            p: &Option<Param<Tensor<D>>>,
            task: usize,
        ) -> Option<Param<Tensor<D>>> {
            p.as_ref().map(|p| row(p, task))
        }
        let fresh = |p: &Param<Tensor<2>>| Param::from_tensor(p.val().detach());
        FreeProgram {
            architecture: FreeArchitecture {
                components: self
                    .architecture
                    .components
                    .iter()
                    .map(|l| FreeLogits {
                        op_logits: row(&l.op_logits, task),
                        left_logits: row(&l.left_logits, task),
                        right_logits: row(&l.right_logits, task),
                    })
                    .collect(),
            },
            shapes: FreeShapes {
                components: self
                    .shapes
                    .components
                    .iter()
                    .map(|c| FreeGeometry {
                        translation: row(&c.translation, task),
                        log_size: row(&c.log_size, task),
                        shear: row(&c.shear, task),
                        warp_query: rows(&c.warp_query, task),
                        surface_query: rows(&c.surface_query, task),
                        flip: rows(&c.flip, task),
                        step: rows(&c.step, task),
                        count_logits: rows(&c.count_logits, task),
                        gate: rows(&c.gate, task),
                    })
                    .collect(),
                library: self.shapes.library.as_ref().map(|l| Library {
                    warps: fresh(&l.warps),
                    surfaces: fresh(&l.surfaces),
                }),
            },
        }
    }

    /// The current parameters as plain tensors (tracked for autodiff).
    pub fn tensors(&self, sketch: &SketchConfig) -> ProgramTensors {
        let parts = sketch.part_count();
        let components = self
            .architecture
            .components
            .iter()
            .zip(&self.shapes.components)
            .map(|(l, c)| ComponentTensors {
                logits: ArchitectureLogits {
                    op_logits: l.op_logits.val(),
                    left_logits: l.left_logits.val(),
                    right_logits: l.right_logits.val(),
                    inputs: parts,
                },
                parts: PartTensors {
                    translation: c.translation.val(),
                    linear: linear_map(c.log_size.val(), c.shear.val()),
                    warp_query: c.warp_query.as_ref().map(Param::val),
                    surface_query: c.surface_query.as_ref().map(Param::val),
                },
                flip: c.flip.as_ref().map(|f| through_origin(f.val(), sketch)),
                step: c.step.as_ref().map(Param::val),
                count_logits: c.count_logits.as_ref().map(Param::val),
                gate: c.gate.as_ref().map(Param::val),
            })
            .collect();
        ProgramTensors {
            components,
            library: self
                .shapes
                .library
                .as_ref()
                .map(|l| (l.warps.val(), l.surfaces.val())),
        }
    }
}

impl ArchitectureLogits {
    /// `chain` on the arguments of the chain `l_i = op(l_{i−1}, p_i)` (line 0 reads two
    /// parts), `op_bias` on operator `preferred_ops[i]` of line i.
    fn with_bias(mut self, chain: f64, op_bias: f64, preferred_ops: &[usize]) -> Self {
        let [tasks, lines, width] = self.left_logits.dims();
        let inputs = self.inputs;
        let mut left = vec![0.0f32; lines * width];
        let mut right = vec![0.0f32; lines * width];
        for line in 0..lines {
            let previous = if line == 0 {
                lines % inputs
            } else {
                inputs + line - 1
            };
            left[line * width + previous] = chain as f32;
            right[line * width + line % inputs] = chain as f32;
        }
        let device = self.left_logits.device();
        let expand = |bias: Vec<f32>| {
            Tensor::<2>::from_data(TensorData::new(bias, [lines, width]), &device)
                .unsqueeze_dim::<3>(0)
                .expand([tasks, lines, width])
        };
        self.left_logits = self.left_logits + expand(left);
        self.right_logits = self.right_logits + expand(right);
        let ops = self.op_logits.dims()[2];
        let mut op = vec![0.0f32; lines * ops];
        for (line, &preferred) in preferred_ops.iter().enumerate().take(lines) {
            op[line * ops + preferred.min(ops - 1)] = op_bias as f32;
        }
        let op = Tensor::<2>::from_data(TensorData::new(op, [lines, ops]), &device)
            .unsqueeze_dim::<3>(0)
            .expand([tasks, lines, ops]);
        self.op_logits = self.op_logits + op;
        self
    }
}

/// `A = diag(exp(−log_size)) (I + shear)`: `[T, P, D]`, `[T, P, D, D]` → `[T, P, D, D]`.
pub(super) fn linear_map(log_size: Tensor<3>, shear: Tensor<4>) -> Tensor<4> {
    let [tasks, parts, dim] = log_size.dims();
    let identity = identities([tasks, parts, dim], &log_size.device());
    let inverse_size = log_size.neg().exp().unsqueeze_dim::<4>(3); // rows scaled
    (identity + shear) * inverse_size
}

/// The inverse of [`linear_map`]: each row's length is its size⁻¹, the rest is shear.
fn split_linear(linear: Tensor<4>) -> (Tensor<3>, Tensor<4>) {
    let [tasks, parts, dim, _] = linear.dims();
    let identity = identities([tasks, parts, dim], &linear.device());
    let row_length = linear
        .clone()
        .powi_scalar(2)
        .sum_dim(3)
        .sqrt()
        .clamp_min(1e-6);
    let shear = linear / row_length.clone() - identity;
    (row_length.log().neg().reshape([tasks, parts, dim]), shear)
}

/// `[tasks, parts, dim, dim]` identity matrices.
fn identities([tasks, parts, dim]: [usize; 3], device: &Device) -> Tensor<4> {
    let eye: Vec<f32> = (0..dim * dim)
        .map(|i| if i % (dim + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    Tensor::<2>::from_data(TensorData::new(eye, [dim, dim]), device)
        .reshape([1, 1, dim, dim])
        .expand([tasks, parts, dim, dim])
}

/// Zeroes the flip offset where the sketch wants planes through the origin.
fn through_origin(flip: Tensor<2>, sketch: &SketchConfig) -> Tensor<2> {
    if !sketch.flip_through_origin {
        return flip;
    }
    let [tasks, width] = flip.dims();
    let mut mask = vec![1.0f32; width];
    mask[width - 1] = 0.0;
    let device = flip.device();
    flip * Tensor::<1>::from_data(TensorData::new(mask, [width]), &device)
        .unsqueeze_dim::<2>(0)
        .expand([tasks, width])
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
