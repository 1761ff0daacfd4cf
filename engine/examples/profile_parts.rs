//! Times the fused parts kernel alone: `cargo run --example profile_parts`.
//! Prints one JSON line per pass (median of 20 runs).

#![allow(clippy::print_stdout)] // An example reports on stdout.

use roap_engine::graphics::parts_kernel::{PartDims, PartOperands, backward, forward};

fn main() {
    let (parts, points, dim) = (128, 8192, 3);
    let mut seed = 1u32;
    let mut random = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f32 / (1u32 << 24) as f32
    };
    let xs: Vec<f32> = (0..points * dim).map(|_| random() - 0.5).collect();
    let translation: Vec<f32> = (0..parts * dim).map(|_| (random() - 0.5) * 0.6).collect();
    let linear: Vec<f32> = (0..parts)
        .flat_map(|_| (0..dim * dim).map(|i| if i % (dim + 1) == 0 { 5.0 } else { 0.0 }))
        .collect();
    let surfaces: Vec<f32> = (0..parts * 2 * dim).map(|_| random() * 2.0).collect();
    let warps: Vec<f32> = (0..parts * 11).map(|_| (random() - 0.5) * 0.4).collect();
    let ops = PartOperands {
        dims: PartDims {
            tasks: 1,
            parts,
            points,
            dim,
        },
        sharpness: 20.0,
        points: &xs,
        translation: &translation,
        linear: &linear,
        surfaces: &surfaces,
        warps: &warps,
    };
    let time = |f: &mut dyn FnMut()| {
        let mut runs: Vec<f64> = (0..20)
            .map(|_| {
                let start = std::time::Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    let mut output = Vec::new();
    let forward_ms = time(&mut || output = forward(&ops));
    let upstream = vec![1.0f32; output.len()];
    let backward_ms = time(&mut || {
        backward(&ops, &output, &upstream, true);
    });
    let near = output.iter().filter(|o| **o > 1e-6).count() as f64 / output.len() as f64;
    println!(
        "{{\"bench\":\"parts-kernel\",\"parts\":{parts},\"points\":{points},\"forward_ms\":{forward_ms:.2},\"backward_ms\":{backward_ms:.2},\"near_fraction\":{near:.3}}}"
    );
}
