//! A soft program's free parameters for per-shape synthesis: architecture logits (with the
//! chain prior they start from) and the parts' geometry, initialised from seeded parts or
//! warm-started from a policy's output.

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::parts::{Library, PartTensors, initial_placement, surface_width, warp_width};
use super::soft::{ComponentTensors, ProgramTensors, linear_map};
use super::{ComponentKind, PartFamily, SketchConfig};
use crate::dsl::Semantics;
use crate::relaxed::{ArchitectureLogits, LogitParams, chain_argument};

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
    /// Each component's architecture logits, free.
    pub components: Vec<LogitParams>,
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
        let (logits, geometry): (Vec<LogitParams>, Vec<FreeGeometry>) = sketch
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
                let free_logits = LogitParams::new(logits);
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
                let logits =
                    LogitParams::new(c.logits.map(|t| Tensor::from_data(t.to_data(), device)));
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
                    .map(|l| LogitParams::new(l.logits().map(|t| t.narrow(0, task, 1).detach())))
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
        let components = self
            .architecture
            .components
            .iter()
            .zip(&self.shapes.components)
            .map(|(l, c)| ComponentTensors {
                logits: l.logits(),
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
            left[line * width + chain_argument(true, line, inputs, lines)] = chain as f32;
            right[line * width + chain_argument(false, line, inputs, lines)] = chain as f32;
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
pub(super) fn identities([tasks, parts, dim]: [usize; 3], device: &Device) -> Tensor<4> {
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
