//! Times the fused kernel's forward and backward passes alone (no burn), for profiling.
use std::time::Instant;

use roap_engine::dsl::OpSet;
use roap_engine::relaxed::fused::{self, Dims, Operands};

fn main() {
    let dims = Dims {
        tasks: 8,
        inputs: 128,
        lines: 20,
        points: 4096,
    };
    let width = dims.inputs + dims.lines;
    let semantics = OpSet::csg().semantics();
    let mut state = 1u32;
    let mut next = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32
    };
    let inputs: Vec<f32> = (0..dims.tasks * dims.inputs * dims.points)
        .map(|_| next())
        .collect();
    let op: Vec<f32> = (0..dims.tasks * dims.lines * 4).map(|_| 0.25).collect();
    let side: Vec<f32> = (0..dims.tasks * dims.lines * width)
        .map(|_| next() / width as f32)
        .collect();
    let operands = Operands {
        dims,
        semantics: &semantics,
        inputs: &inputs,
        op_weights: &op,
        left_weights: &side,
        right_weights: &side,
    };
    for _ in 0..5 {
        let start = Instant::now();
        let (output, saved) = fused::forward(&operands);
        let forward_ms = start.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let grads = fused::backward(&operands, &saved, &output);
        let backward_ms = start.elapsed().as_secs_f64() * 1e3;
        eprintln!(
            "forward {forward_ms:.2} ms, backward {backward_ms:.2} ms ({})",
            grads.inputs.len()
        );
    }
}
