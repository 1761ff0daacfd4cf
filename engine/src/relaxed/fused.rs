//! The relaxed interpreter as one fused CPU kernel with a hand-written backward pass.
//!
//! Same arithmetic as [`super::interpreter::execute_reference`], organised for the cache:
//! the value axis is cut into blocks of [`BLOCK_POINTS`] points, and each (task, block) runs
//! the whole dynamic program — one GEMM for the input lines' share of every left and right
//! argument, then the recurrence over code lines — on data that stays in L2. Blocks run in
//! parallel on rayon; gradients with respect to the weights are summed over blocks.
//!
//! # Shapes (row-major, `W = V + L`)
//! inputs `[T, V, N]` · op weights `[T, L, O]` · left/right weights `[T, L, W]` · output `[T, N]`.
//! Weights of line `c` at columns `>= V + c` are ignored (the causal mask).

use rayon::prelude::*;

use super::gemm::{MatRef, matmul};
use crate::dsl::Semantics;

/// Points per block: 128 input lines × 512 points × 4 bytes = 256 KiB, an L2-sized tile.
const BLOCK_POINTS: usize = 512;

/// Sizes of one interpreter call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub tasks: usize,
    pub inputs: usize,
    pub lines: usize,
    pub points: usize,
}

impl Dims {
    fn width(&self) -> usize {
        self.inputs + self.lines
    }

    fn blocks(&self) -> usize {
        self.points.div_ceil(BLOCK_POINTS)
    }

    /// Every (task, block) pair, task-major: the units of parallel work.
    fn units(&self) -> Vec<(usize, usize)> {
        (0..self.tasks)
            .flat_map(|t| (0..self.blocks()).map(move |b| (t, b)))
            .collect()
    }

    fn block_range(&self, block: usize) -> (usize, usize) {
        let start = block * BLOCK_POINTS;
        (start, (start + BLOCK_POINTS).min(self.points))
    }
}

/// Borrowed inputs of one call.
#[derive(Clone, Copy)]
pub struct Operands<'a> {
    pub dims: Dims,
    pub semantics: &'a [Semantics],
    pub inputs: &'a [f32],
    pub op_weights: &'a [f32],
    pub left_weights: &'a [f32],
    pub right_weights: &'a [f32],
}

/// What the forward pass keeps for the backward pass: per (task, block), the final left and
/// right arguments `[2L, n]` and the line values `[L, n]`.
#[derive(Debug, Default, Clone)]
pub struct Saved {
    blocks: Vec<BlockState>,
}

#[derive(Debug, Clone)]
struct BlockState {
    args: Vec<f32>,
    values: Vec<f32>,
}

/// Gradients of a scalar loss with respect to every operand, in the operands' shapes.
#[derive(Debug, Clone)]
pub struct Grads {
    pub inputs: Vec<f32>,
    pub op_weights: Vec<f32>,
    pub left_weights: Vec<f32>,
    pub right_weights: Vec<f32>,
}

impl Operands<'_> {
    fn check(&self) {
        let d = self.dims;
        let ops = self.semantics.len();
        assert_eq!(
            self.inputs.len(),
            d.tasks * d.inputs * d.points,
            "inputs shape"
        );
        assert_eq!(
            self.op_weights.len(),
            d.tasks * d.lines * ops,
            "op weights shape"
        );
        assert_eq!(
            self.left_weights.len(),
            d.tasks * d.lines * d.width(),
            "left shape"
        );
        assert_eq!(
            self.right_weights.len(),
            d.tasks * d.lines * d.width(),
            "right shape"
        );
    }

    /// `[2L, V]`: the input columns of the left weights stacked over those of the right.
    fn input_weights(&self, task: usize) -> Vec<f32> {
        let d = self.dims;
        let mut stacked = Vec::with_capacity(2 * d.lines * d.inputs);
        for side in [self.left_weights, self.right_weights] {
            for line in 0..d.lines {
                let row = (task * d.lines + line) * d.width();
                stacked.extend_from_slice(&side[row..row + d.inputs]);
            }
        }
        stacked
    }

    fn inputs_block(&self, task: usize, start: usize, end: usize) -> MatRef<'_> {
        let d = self.dims;
        let offset = task * d.inputs * d.points + start;
        MatRef {
            data: &self.inputs[offset..],
            rows: d.inputs,
            cols: end - start,
            row_stride: d.points,
            col_stride: 1,
        }
    }

    /// Weight of line `line`'s left (or right) argument on code line `arg_line`.
    fn code_weight(&self, side: &[f32], task: usize, line: usize, arg_line: usize) -> f32 {
        let d = self.dims;
        side[(task * d.lines + line) * d.width() + d.inputs + arg_line]
    }
}

/// Runs the soft program; returns the output line `[T, N]` and what backward needs.
pub fn forward(operands: &Operands<'_>) -> (Vec<f32>, Saved) {
    operands.check();
    let d = operands.dims;
    let stacked: Vec<Vec<f32>> = (0..d.tasks).map(|t| operands.input_weights(t)).collect();
    let units = d.units();
    let blocks: Vec<BlockState> = units
        .par_iter()
        .map(|&(task, block)| {
            let _flushed = super::gemm::flush_subnormals();
            forward_block(operands, &stacked[task], task, block)
        })
        .collect();
    let mut output = vec![0.0; d.tasks * d.points];
    for (&(task, block), state) in units.iter().zip(&blocks) {
        let (start, end) = d.block_range(block);
        let n = end - start;
        let last = &state.values[(d.lines - 1) * n..d.lines * n];
        output[task * d.points + start..task * d.points + end].copy_from_slice(last);
    }
    (output, Saved { blocks })
}

/// Runs `body` compiled for AVX2 + FMA when the CPU has them, else for the baseline target.
/// The per-point loops are plain Rust; this only lets the compiler use wider vectors.
macro_rules! dispatch_simd {
    ($avx2:ident, $generic:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $avx2($($arg: $ty),*) -> $ret {
            $generic($($arg),*)
        }

        #[allow(unsafe_code)]
        fn dispatch($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                return unsafe { $avx2($($arg),*) };
            }
            $generic($($arg),*)
        }
    };
}

fn forward_block(
    operands: &Operands<'_>,
    stacked: &[f32],
    task: usize,
    block: usize,
) -> BlockState {
    dispatch_simd!(forward_block_avx2, forward_block_generic,
        (operands: &Operands<'_>, stacked: &[f32], task: usize, block: usize) -> BlockState);
    dispatch(operands, stacked, task, block)
}

#[inline(always)]
fn forward_block_generic(
    operands: &Operands<'_>,
    stacked: &[f32],
    task: usize,
    block: usize,
) -> BlockState {
    let d = operands.dims;
    let (start, end) = d.block_range(block);
    let n = end - start;
    let lines = d.lines;
    let ops = operands.semantics.len();
    // Input lines' share of every argument: one GEMM [2L, V] · [V, n].
    let mut args = vec![0.0; 2 * lines * n];
    matmul(
        &mut args,
        MatRef::row_major(stacked, 2 * lines, d.inputs),
        operands.inputs_block(task, start, end),
        false,
    );
    let mut values = vec![0.0; lines * n];
    for line in 0..lines {
        let (done, rest) = values.split_at_mut(line * n);
        let (left_args, right_args) = args.split_at_mut(lines * n);
        let left = &mut left_args[line * n..(line + 1) * n];
        let right = &mut right_args[line * n..(line + 1) * n];
        for arg_line in 0..line {
            let earlier = &done[arg_line * n..(arg_line + 1) * n];
            let wl = operands.code_weight(operands.left_weights, task, line, arg_line);
            let wr = operands.code_weight(operands.right_weights, task, line, arg_line);
            add_scaled_pair(left, wl, right, wr, earlier);
        }
        let out = &mut rest[..n];
        let probs = &operands.op_weights[(task * lines + line) * ops..][..ops];
        for (&semantics, &p) in operands.semantics.iter().zip(probs) {
            if p != 0.0 {
                accumulate_op(semantics, p, left, right, out);
            }
        }
    }
    BlockState { args, values }
}

/// Backpropagates `grad_output` (`[T, N]`) through the call that produced `saved`.
pub fn backward(operands: &Operands<'_>, saved: &Saved, grad_output: &[f32]) -> Grads {
    operands.check();
    let d = operands.dims;
    let ops = operands.semantics.len();
    assert_eq!(grad_output.len(), d.tasks * d.points, "grad shape");
    assert_eq!(saved.blocks.len(), d.tasks * d.blocks(), "saved state");
    let stacked: Vec<Vec<f32>> = (0..d.tasks).map(|t| operands.input_weights(t)).collect();
    let units = d.units();
    let partials: Vec<BlockGrads> = units
        .par_iter()
        .zip(&saved.blocks)
        .map(|(&(task, block), state)| {
            let _flushed = super::gemm::flush_subnormals();
            backward_block(operands, &stacked[task], task, block, state, grad_output)
        })
        .collect();

    let mut grads = Grads {
        inputs: vec![0.0; operands.inputs.len()],
        op_weights: vec![0.0; operands.op_weights.len()],
        left_weights: vec![0.0; operands.left_weights.len()],
        right_weights: vec![0.0; operands.right_weights.len()],
    };
    let width = d.width();
    for (&(task, _), part) in units.iter().zip(&partials) {
        add_into(
            &mut grads.op_weights[task * d.lines * ops..][..d.lines * ops],
            &part.op_weights,
        );
        add_into(
            &mut grads.left_weights[task * d.lines * width..][..d.lines * width],
            &part.left_weights,
        );
        add_into(
            &mut grads.right_weights[task * d.lines * width..][..d.lines * width],
            &part.right_weights,
        );
    }
    // Scatter the per-block input gradients back into [T, V, N], one (task, input line) row
    // per rayon job.
    let blocks = d.blocks();
    grads
        .inputs
        .par_chunks_mut(d.points)
        .enumerate()
        .for_each(|(row, dst)| {
            let (task, input) = (row / d.inputs, row % d.inputs);
            for block in 0..blocks {
                let (start, end) = d.block_range(block);
                let n = end - start;
                let src = &partials[task * blocks + block].inputs[input * n..(input + 1) * n];
                dst[start..end].copy_from_slice(src);
            }
        });
    grads
}

struct BlockGrads {
    inputs: Vec<f32>,
    op_weights: Vec<f32>,
    left_weights: Vec<f32>,
    right_weights: Vec<f32>,
}

fn backward_block(
    operands: &Operands<'_>,
    stacked: &[f32],
    task: usize,
    block: usize,
    state: &BlockState,
    grad_output: &[f32],
) -> BlockGrads {
    dispatch_simd!(backward_block_avx2, backward_block_generic,
        (operands: &Operands<'_>, stacked: &[f32], task: usize, block: usize, state: &BlockState, grad_output: &[f32]) -> BlockGrads);
    dispatch(operands, stacked, task, block, state, grad_output)
}

#[inline(always)]
fn backward_block_generic(
    operands: &Operands<'_>,
    stacked: &[f32],
    task: usize,
    block: usize,
    state: &BlockState,
    grad_output: &[f32],
) -> BlockGrads {
    let d = operands.dims;
    let (start, end) = d.block_range(block);
    let n = end - start;
    let lines = d.lines;
    let ops = operands.semantics.len();
    let width = d.width();
    let mut grad_values = vec![0.0; lines * n];
    grad_values[(lines - 1) * n..]
        .copy_from_slice(&grad_output[task * d.points + start..task * d.points + end]);
    let mut grad_args = vec![0.0; 2 * lines * n];
    let mut op_grads = vec![0.0; lines * ops];
    let mut left_grads = vec![0.0; lines * width];
    let mut right_grads = vec![0.0; lines * width];
    let (left_args, right_args) = state.args.split_at(lines * n);
    for line in (0..lines).rev() {
        let (earlier_grads, rest) = grad_values.split_at_mut(line * n);
        let grad = &rest[..n];
        let left = &left_args[line * n..(line + 1) * n];
        let right = &right_args[line * n..(line + 1) * n];
        let (grad_left_all, grad_right_all) = grad_args.split_at_mut(lines * n);
        let grad_left = &mut grad_left_all[line * n..(line + 1) * n];
        let grad_right = &mut grad_right_all[line * n..(line + 1) * n];
        let probs = &operands.op_weights[(task * lines + line) * ops..][..ops];
        for (o, (&semantics, &p)) in operands.semantics.iter().zip(probs).enumerate() {
            op_grads[line * ops + o] =
                backprop_op(semantics, p, left, right, grad, grad_left, grad_right);
        }
        for arg_line in 0..line {
            let value = &state.values[arg_line * n..(arg_line + 1) * n];
            let wl = operands.code_weight(operands.left_weights, task, line, arg_line);
            let wr = operands.code_weight(operands.right_weights, task, line, arg_line);
            let earlier = &mut earlier_grads[arg_line * n..(arg_line + 1) * n];
            let (dl, dr) = backprop_argument(grad_left, wl, grad_right, wr, value, earlier);
            left_grads[line * width + d.inputs + arg_line] = dl;
            right_grads[line * width + d.inputs + arg_line] = dr;
        }
    }
    // Input lines: d inputs = stackedᵀ · d args  ([V, 2L] · [2L, n]),
    //              d stacked = d args · inputsᵀ ([2L, n] · [n, V]).
    let mut input_grads = vec![0.0; d.inputs * n];
    matmul(
        &mut input_grads,
        MatRef::row_major(stacked, 2 * lines, d.inputs).transposed(),
        MatRef::row_major(&grad_args, 2 * lines, n),
        false,
    );
    let mut stacked_grads = vec![0.0; 2 * lines * d.inputs];
    matmul(
        &mut stacked_grads,
        MatRef::row_major(&grad_args, 2 * lines, n),
        operands.inputs_block(task, start, end).transposed(),
        false,
    );
    for line in 0..lines {
        let left_row = &stacked_grads[line * d.inputs..(line + 1) * d.inputs];
        let right_row = &stacked_grads[(lines + line) * d.inputs..(lines + line + 1) * d.inputs];
        left_grads[line * width..line * width + d.inputs].copy_from_slice(left_row);
        right_grads[line * width..line * width + d.inputs].copy_from_slice(right_row);
    }
    BlockGrads {
        inputs: input_grads,
        op_weights: op_grads,
        left_weights: left_grads,
        right_weights: right_grads,
    }
}

/// `left += wl · earlier; right += wr · earlier` in one pass over `earlier`.
#[inline(always)]
fn add_scaled_pair(left: &mut [f32], wl: f32, right: &mut [f32], wr: f32, earlier: &[f32]) {
    let n = earlier.len();
    let (left, right) = (&mut left[..n], &mut right[..n]);
    for i in 0..n {
        left[i] += wl * earlier[i];
        right[i] += wr * earlier[i];
    }
}

/// Backward of `add_scaled_pair` for one earlier line, in one pass: returns
/// `(Σ grad_left · value, Σ grad_right · value)` (the weights' gradients) and adds
/// `wl · grad_left + wr · grad_right` into that line's gradient.
#[inline(always)]
fn backprop_argument(
    grad_left: &[f32],
    wl: f32,
    grad_right: &[f32],
    wr: f32,
    value: &[f32],
    grad_value: &mut [f32],
) -> (f32, f32) {
    // Lanes of independent partial sums, so the reductions vectorise.
    const LANES: usize = 16;
    let n = value.len();
    let (grad_left, grad_right, grad_value) =
        (&grad_left[..n], &grad_right[..n], &mut grad_value[..n]);
    let (mut acc_left, mut acc_right) = ([0.0f32; LANES], [0.0f32; LANES]);
    // Fixed-size chunks let the compiler drop bounds checks and vectorise.
    let chunks = grad_left
        .chunks_exact(LANES)
        .zip(grad_right.chunks_exact(LANES))
        .zip(value.chunks_exact(LANES))
        .zip(grad_value.chunks_exact_mut(LANES));
    for (((gl, gr), v), gv) in chunks {
        for lane in 0..LANES {
            acc_left[lane] += gl[lane] * v[lane];
            acc_right[lane] += gr[lane] * v[lane];
            gv[lane] += wl * gl[lane] + wr * gr[lane];
        }
    }
    let full = n - n % LANES;
    let (mut tail_left, mut tail_right) = (0.0, 0.0);
    for i in full..n {
        tail_left += grad_left[i] * value[i];
        tail_right += grad_right[i] * value[i];
        grad_value[i] += wl * grad_left[i] + wr * grad_right[i];
    }
    (
        acc_left.iter().sum::<f32>() + tail_left,
        acc_right.iter().sum::<f32>() + tail_right,
    )
}

fn add_into(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// Calls `run` with a closure evaluating `semantics`, one monomorphised copy per variant, so
/// the per-point loops see a constant operator and vectorise.
macro_rules! with_semantics {
    ($semantics:expr, |$f:ident| $run:expr) => {
        with_semantics!(@arms $semantics, $f, $run, Add Sub Mul Max Min Difference Skip)
    };
    (@arms $semantics:expr, $f:ident, $run:expr, $($variant:ident)*) => {
        match $semantics {
            $(Semantics::$variant => {
                let $f = |a: f32, b: f32| {
                    (Semantics::$variant.apply(a, b), Semantics::$variant.partials(a, b))
                };
                $run
            })*
        }
    };
}

/// `out += p · op(left, right)`.
#[inline(always)]
fn accumulate_op(semantics: Semantics, p: f32, left: &[f32], right: &[f32], out: &mut [f32]) {
    with_semantics!(semantics, |op| {
        for ((a, b), y) in left.iter().zip(right).zip(out.iter_mut()) {
            *y += p * op(*a, *b).0;
        }
    });
}

/// Adds `p · ∂op/∂left · grad` into `grad_left` (same for right) and returns
/// `Σ grad · op(left, right)`, the gradient of this operator's weight.
#[inline(always)]
fn backprop_op(
    semantics: Semantics,
    p: f32,
    left: &[f32],
    right: &[f32],
    grad: &[f32],
    grad_left: &mut [f32],
    grad_right: &mut [f32],
) -> f32 {
    with_semantics!(semantics, |op| backprop_with(
        op, p, left, right, grad, grad_left, grad_right
    ))
}

#[inline(always)]
fn backprop_with(
    op: impl Fn(f32, f32) -> (f32, (f32, f32)),
    p: f32,
    left: &[f32],
    right: &[f32],
    grad: &[f32],
    grad_left: &mut [f32],
    grad_right: &mut [f32],
) -> f32 {
    let n = left.len();
    let (left, right, grad) = (&left[..n], &right[..n], &grad[..n]);
    let (grad_left, grad_right) = (&mut grad_left[..n], &mut grad_right[..n]);
    // Two simple loops vectorise where one combined loop does not.
    for i in 0..n {
        let (_, (da, db)) = op(left[i], right[i]);
        let pg = p * grad[i];
        grad_left[i] += da * pg;
        grad_right[i] += db * pg;
    }
    // Lanes of independent partial sums, so the reduction vectorises.
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let chunks = left
        .chunks_exact(LANES)
        .zip(right.chunks_exact(LANES))
        .zip(grad.chunks_exact(LANES));
    for ((a, b), g) in chunks {
        for lane in 0..LANES {
            acc[lane] += g[lane] * op(a[lane], b[lane]).0;
        }
    }
    let full = n - n % LANES;
    let tail: f32 = (full..n).map(|i| grad[i] * op(left[i], right[i]).0).sum();
    acc.iter().sum::<f32>() + tail
}
