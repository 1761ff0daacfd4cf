//! The amortized policy (paper §3, App. B.2, C.2): a CNN encodes the input (a voxel grid, or
//! an image as a one-voxel-deep volume); one linear head emits every architecture logit and
//! part parameter of the sketch. A 3D part library is a parameter of the policy, shared by
//! every task.

use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig3d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::Target;
use super::parts::{Library, PartTensors, surface_width, warp_width};
use super::soft::{ComponentTensors, ProgramTensors};
use super::{ComponentKind, PartFamily, SketchConfig};
use crate::relaxed::{ArchitectureLogits, chain_argument};

/// Shape of the policy network and the sketch it drives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyConfig {
    pub sketch: SketchConfig,
    /// Input grids are resampled to this resolution (a multiple of 8).
    pub input_resolution: usize,
    /// Channels of the three stride-2 convolutions.
    pub channels: [usize; 3],
    pub hidden: usize,
    /// Where the emitted logits start (see `soft::Initialization`).
    pub chain_bias: f64,
    pub union_bias: f64,
    /// Initial part width.
    pub part_size: f32,
    /// The head's output is scaled by this before it is added to the prior: small, so a
    /// fresh policy starts at the prior; large, so training moves α and parts faster.
    pub residual_scale: f64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            sketch: SketchConfig {
                lines: 16,
                parts: 48,
                family: PartFamily::Library {
                    warps: 128,
                    surfaces: 128,
                },
                ..SketchConfig::paper_3d()
            },
            input_resolution: 32,
            channels: [8, 16, 32],
            hidden: 256,
            chain_bias: 8.0,
            union_bias: 6.0,
            part_size: 0.2,
            residual_scale: 0.1,
        }
    }
}

impl PolicyConfig {
    /// The paper's 2D setting at a size this CPU trains: simple + two flip-unions + a
    /// for-loop over 16 circles and 16 squares, 64×64 images in.
    pub fn paper_2d() -> Self {
        Self {
            sketch: SketchConfig {
                lines: 12,
                ..SketchConfig::paper_2d()
            },
            input_resolution: 64,
            part_size: 0.25,
            ..Self::default()
        }
    }

    /// Whether a policy of these settings can be built, at a size a checkpoint may ask for:
    /// settings read from a file are checked before anything is allocated for them.
    ///
    /// # Errors
    /// The first setting out of bounds, in words.
    pub fn check(&self) -> Result<(), String> {
        let s = &self.sketch;
        use crate::train::checkpoint::within;
        within("sketch.dim", s.dim, 2, 3)?;
        within("components", s.components.len(), 1, 8)?;
        within("lines", s.lines, 1, 64)?;
        within("parts", s.part_count(), 1, 512)?;
        if let PartFamily::Library { warps, surfaces } = s.family {
            within("library warps", warps, 1, 1024)?;
            within("library surfaces", surfaces, 1, 1024)?;
        }
        for kind in &s.components {
            if let ComponentKind::ForLoop { max_count } = kind {
                within("for-loop max_count", *max_count, 1, 64)?;
            }
        }
        within("input_resolution", self.input_resolution, 8, 128)?;
        if !self.input_resolution.is_multiple_of(8) {
            return Err(format!(
                "input_resolution is {}, not a multiple of 8",
                self.input_resolution
            ));
        }
        for channels in self.channels {
            within("channels", channels, 1, 256)?;
        }
        within("hidden", self.hidden, 1, 4096)?;
        let head = self
            .widths()
            .iter()
            .sum::<usize>()
            .saturating_mul(self.hidden);
        within("head weights", head, 1, 1 << 26)?;
        let reals = [
            ("chain_bias", self.chain_bias),
            ("union_bias", self.union_bias),
            ("residual_scale", self.residual_scale),
            ("sharpness", s.sharpness),
            ("part_size", f64::from(self.part_size)),
        ];
        match reals.iter().find(|(_, v)| !v.is_finite()) {
            Some((what, value)) => Err(format!("{what} is {value}")),
            None => Ok(()),
        }
    }

    fn layout(&self) -> Layout {
        let s = &self.sketch;
        Layout {
            lines: s.lines,
            parts: s.part_count(),
            dim: s.dim,
            ops: SketchConfig::ops().len(),
            library: matches!(s.family, PartFamily::Library { .. }),
        }
    }

    /// Numbers the head emits for each component, in order.
    fn widths(&self) -> Vec<usize> {
        let layout = self.layout();
        self.sketch
            .components
            .iter()
            .enumerate()
            .map(|(index, kind)| layout.width(kind, self.sketch.gates && index > 0))
            .collect()
    }
}

/// How the head's output splits into one component's tensors.
#[derive(Clone, Copy, Debug)]
struct Layout {
    lines: usize,
    parts: usize,
    dim: usize,
    ops: usize,
    library: bool,
}

impl Layout {
    fn width(self, kind: &ComponentKind, gated: bool) -> usize {
        let Self {
            lines: l,
            parts: p,
            dim: d,
            ops,
            library,
        } = self;
        let queries = if library {
            warp_width(d) + surface_width(d)
        } else {
            0
        };
        let transform = match kind {
            ComponentKind::Simple => 0,
            ComponentKind::FlipUnion => d + 1,
            ComponentKind::ForLoop { max_count } => d + (*max_count).max(1),
        };
        l * ops + 2 * l * (p + l) + p * (d + d + d * d + queries) + transform + usize::from(gated)
    }
}

/// A CNN: three stride-2 convolutions and a linear layer, `[B, 1, Z, R, R]` → `[B, hidden]`.
/// 3D inputs are `R³` volumes; 2D images are volumes one voxel deep (`Z = 1`) seen through
/// `1×4×4` kernels — a 2D CNN on the same code path. The policy and the "w/o program"
/// baseline share it.
#[derive(Module, Debug)]
pub struct Encoder {
    convs: Vec<Conv3d>,
    hidden: Linear,
}

impl Encoder {
    pub fn new(config: &PolicyConfig, device: &Device) -> Self {
        let [c1, c2, c3] = config.channels;
        let planar = config.sketch.dim == 2;
        let conv = |i: usize, o: usize| {
            let (kernel, stride, padding) = if planar {
                ([1, 4, 4], [1, 2, 2], PaddingConfig3d::Explicit(0, 1, 1))
            } else {
                ([4, 4, 4], [2, 2, 2], PaddingConfig3d::Explicit(1, 1, 1))
            };
            Conv3dConfig::new([i, o], kernel)
                .with_stride(stride)
                .with_padding(padding)
                .init(device)
        };
        let cells = (config.input_resolution / 8)
            .max(1)
            .pow(config.sketch.dim as u32);
        Self {
            convs: vec![conv(1, c1), conv(c1, c2), conv(c2, c3)],
            hidden: LinearConfig::new(c3 * cells, config.hidden).init(device),
        }
    }

    pub fn forward(&self, voxels: Tensor<5>) -> Tensor<2> {
        let mut x = voxels;
        for conv in &self.convs {
            x = relu(conv.forward(x));
        }
        relu(self.hidden.forward(x.flatten::<2>(1, 4)))
    }
}

#[derive(Module, Debug)]
pub struct Policy {
    encoder: Encoder,
    head: Linear,
    /// The shared part library (3D sketches; 2D parts are circles and squares).
    pub library: Option<Library>,
}

impl Policy {
    pub fn new(config: &PolicyConfig, device: &Device) -> Self {
        let total: usize = config.widths().iter().sum();
        // In this order: burn's generator draws the encoder, the head, then the library.
        let encoder = Encoder::new(config, device);
        let head = LinearConfig::new(config.hidden, total).init(device);
        let library = match config.sketch.family {
            PartFamily::Library { warps, surfaces } => {
                Some(Library::random(warps, surfaces, config.sketch.dim, device))
            }
            PartFamily::CirclesSquares { .. } => None,
        };
        Self {
            encoder,
            head,
            library,
        }
    }

    /// The soft programs of a batch of inputs `[B, 1, Z, R, R]` (occupancy 0/1; see
    /// [`input_batch`]).
    pub fn forward(&self, config: &PolicyConfig, voxels: Tensor<5>) -> ProgramTensors {
        let batch = voxels.dims()[0];
        let hidden = self.encoder.forward(voxels);
        // Small residuals on top of a fixed prior (chain program, parts spread over the cube).
        let out = self.head.forward(hidden) * config.residual_scale;
        let layout = config.layout();
        let device = out.device();
        let mut start = 0;
        let components = config
            .sketch
            .components
            .iter()
            .zip(config.widths())
            .enumerate()
            .map(|(index, (kind, width))| {
                let gated = config.sketch.gates && index > 0;
                let raw = out.clone().slice([0..batch, start..start + width])
                    + prior(config, layout, kind, gated, width, &device).unsqueeze_dim::<2>(0);
                start += width;
                component(config, layout, kind, gated, &raw)
            })
            .collect();
        ProgramTensors {
            components,
            library: self
                .library
                .as_ref()
                .filter(|_| layout.library)
                .map(|l| (l.warps.val(), l.surfaces.val())),
        }
    }
}

/// The paper's "w/o program" baseline: the same encoder with an occupancy-network MLP
/// decoder (IM-NET style: latent code and point in, occupancy out).
#[derive(Module, Debug)]
pub struct Baseline {
    encoder: Encoder,
    decoder: Vec<Linear>,
}

impl Baseline {
    pub fn new(config: &PolicyConfig, device: &Device) -> Self {
        let h = config.hidden;
        Self {
            encoder: Encoder::new(config, device),
            decoder: vec![
                LinearConfig::new(h + config.sketch.dim, 256).init(device),
                LinearConfig::new(256, 256).init(device),
                LinearConfig::new(256, 1).init(device),
            ],
        }
    }

    /// Occupancy `[B, N]` of `points [B, N, D]` given the inputs `[B, 1, Z, R, R]`.
    pub fn occupancy(&self, voxels: Tensor<5>, points: Tensor<3>) -> Tensor<2> {
        let [batch, n, _] = points.dims();
        let latent = self.encoder.forward(voxels);
        let h = latent.dims()[1];
        let latent = latent.unsqueeze_dim::<3>(1).expand([batch, n, h]);
        let mut x = Tensor::cat(vec![latent, points], 2);
        let last = self.decoder.len().saturating_sub(1);
        for (i, layer) in self.decoder.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = relu(x);
            }
        }
        burn::tensor::activation::sigmoid(x.reshape([batch, n]))
    }
}

/// Inputs at the policy's resolution as a `[B, 1, Z, R, R]` batch: voxel grids resampled to
/// `R³`; images resampled (nearest pixel) to `R²`, one voxel deep.
pub fn input_batch(targets: &[&Target], resolution: usize, device: &Device) -> Tensor<5> {
    let r = resolution.max(1);
    let depth = if targets.first().is_some_and(|t| t.dim() == 2) {
        1
    } else {
        r
    };
    let values: Vec<f32> = targets
        .iter()
        .flat_map(|target| match target {
            Target::Voxels(grid) => crate::data::resample(grid, r)
                .occupied()
                .iter()
                .map(|&v| f32::from(u8::from(v)))
                .collect::<Vec<_>>(),
            Target::Pixels(image) => (0..r * r)
                .map(|i| {
                    let (row, column) = (i / r, i % r);
                    let at = |k: usize, n: usize| (k * n / r) as isize;
                    f32::from(u8::from(
                        image.get(at(row, image.height), at(column, image.width)),
                    ))
                })
                .collect(),
        })
        .collect();
    Tensor::from_data(
        TensorData::new(values, [targets.len(), 1, depth, r, r]),
        device,
    )
}

/// The constant each component's raw output is added to: the chain program's logit biases,
/// parts spread over the cube at the initial size, the flip plane x = 0, a for-loop step
/// along x, gates on.
fn prior(
    config: &PolicyConfig,
    layout: Layout,
    kind: &ComponentKind,
    gated: bool,
    total: usize,
    device: &Device,
) -> Tensor<1> {
    let Layout {
        lines,
        parts,
        dim,
        ops,
        library,
    } = layout;
    let width = parts + lines;
    let mut values = Vec::with_capacity(total);
    for _ in 0..lines {
        for o in 0..ops {
            values.push(if o == 0 {
                config.union_bias as f32
            } else {
                0.0
            });
        }
    }
    for side in 0..2 {
        for line in 0..lines {
            let chosen = chain_argument(side == 0, line, parts, lines);
            for a in 0..width {
                values.push(if a == chosen {
                    config.chain_bias as f32
                } else {
                    0.0
                });
            }
        }
    }
    // A Halton sequence: every prefix (the parts the chain reads first) is spread out.
    for p in 0..parts {
        for a in 0..dim {
            values.push((halton(p + 1, [2, 3, 5, 7][a % 4]) - 0.5) * 0.7);
        }
    }
    values.extend(std::iter::repeat_n(
        config.part_size.max(1e-3).ln(),
        parts * dim,
    ));
    values.extend(std::iter::repeat_n(0.0, parts * dim * dim)); // shear
    if library {
        values.extend(std::iter::repeat_n(
            0.0,
            parts * (warp_width(dim) + surface_width(dim)),
        ));
    }
    match kind {
        ComponentKind::Simple => {}
        ComponentKind::FlipUnion => {
            let mut flip = vec![0.0f32; dim + 1];
            flip[0] = 1.0;
            values.extend(flip);
        }
        ComponentKind::ForLoop { max_count } => {
            let mut step = vec![0.0f32; dim];
            step[0] = 0.25;
            values.extend(step);
            values.extend(std::iter::repeat_n(0.0, (*max_count).max(1)));
        }
    }
    if gated {
        values.push(0.5);
    }
    Tensor::from_data(TensorData::new(values, [total]), device)
}

/// Element `index` of the van der Corput sequence in `base`, in (0, 1).
fn halton(mut index: usize, base: usize) -> f32 {
    let (mut value, mut scale) = (0.0f32, 1.0f32);
    while index > 0 {
        scale /= base as f32;
        value += scale * (index % base) as f32;
        index /= base;
    }
    value
}

/// One component's tensors from its slice `[B, width]` of the head.
fn component(
    config: &PolicyConfig,
    layout: Layout,
    kind: &ComponentKind,
    gated: bool,
    raw: &Tensor<2>,
) -> ComponentTensors {
    let Layout {
        lines,
        parts,
        dim,
        ops,
        library,
    } = layout;
    let batch = raw.dims()[0];
    let mut at = 0;
    let mut take = |n: usize| {
        let piece = raw.clone().slice([0..batch, at..at + n]);
        at += n;
        piece
    };
    let width = parts + lines;
    let op_logits = take(lines * ops).reshape([batch, lines, ops]);
    let left_logits = take(lines * width).reshape([batch, lines, width]);
    let right_logits = take(lines * width).reshape([batch, lines, width]);
    let translation = take(parts * dim).reshape([batch, parts, dim]);
    let log_size = take(parts * dim).reshape([batch, parts, dim]);
    let shear = take(parts * dim * dim).reshape([batch, parts, dim, dim]);
    let (warp_query, surface_query) = if library {
        (
            Some(take(parts * warp_width(dim)).reshape([batch, parts, warp_width(dim)])),
            Some(take(parts * surface_width(dim)).reshape([batch, parts, surface_width(dim)])),
        )
    } else {
        (None, None)
    };
    let (mut flip, mut step, mut count_logits) = (None, None, None);
    match kind {
        ComponentKind::Simple => {}
        ComponentKind::FlipUnion => {
            let raw_flip = take(dim + 1);
            flip = Some(if config.sketch.flip_through_origin {
                let normal = raw_flip.slice([0..batch, 0..dim]);
                let device = normal.device();
                Tensor::cat(vec![normal, Tensor::zeros([batch, 1], &device)], 1)
            } else {
                raw_flip
            });
        }
        ComponentKind::ForLoop { max_count } => {
            step = Some(take(dim));
            count_logits = Some(take((*max_count).max(1)));
        }
    }
    let gate = gated.then(|| take(1));
    ComponentTensors {
        logits: ArchitectureLogits {
            op_logits,
            left_logits,
            right_logits,
            inputs: parts,
        },
        parts: PartTensors {
            translation,
            linear: super::soft::linear_map(log_size, shear),
            warp_query,
            surface_query,
        },
        flip,
        step,
        count_logits,
        gate,
    }
}
