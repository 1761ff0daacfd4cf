//! The fused CPU kernel of the parts' occupancy computes the same values and gradients as
//! the stock-op reference, in 2D and 3D, with warps on and off.

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use roap_engine::graphics::parts::{PartTensors, surface_width, warp_width};

fn random<const D: usize>(shape: [usize; D], low: f64, high: f64, device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Uniform(low, high), device).require_grad()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

fn assert_close(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    assert!(!a.is_empty(), "{what}: empty");
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            x.is_finite() && (x - y).abs() <= tolerance * scale,
            "{what}[{i}]: fused {x} vs reference {y} (scale {scale})"
        );
    }
}

fn check(dim: usize, warped: bool) {
    let device = Device::flex().autodiff();
    device.seed(7 + dim as u64 + u64::from(warped));
    let (tasks, parts, points) = (2, 5, 300);
    let xs = random([tasks, points, dim], -0.5, 0.5, &device);
    let translation = random([tasks, parts, dim], -0.2, 0.2, &device);
    // A near 3·identity plus noise, so parts are about a third of the cube.
    let eye: Vec<f32> = (0..tasks * parts)
        .flat_map(|_| (0..dim * dim).map(|i| if i % (dim + 1) == 0 { 3.0 } else { 0.0 }))
        .collect();
    let linear = (Tensor::<4>::from_data(TensorData::new(eye, [tasks, parts, dim, dim]), &device)
        + Tensor::random(
            [tasks, parts, dim, dim],
            Distribution::Uniform(-0.5, 0.5),
            &device,
        ))
    .detach()
    .require_grad();
    let surfaces = random([tasks, parts, surface_width(dim)], 0.0, 3.0, &device);
    let warps = warped.then(|| random([tasks, parts, warp_width(dim)], -0.6, 0.6, &device));
    let weights = Tensor::<3>::random(
        [tasks, parts, points],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let parts_of = || PartTensors {
        translation: translation.clone(),
        linear: linear.clone(),
        warp_query: None,
        surface_query: None,
    };
    let sharpness = 8.0;
    let fused = parts_of().occupancy(xs.clone(), surfaces.clone(), warps.clone(), sharpness);
    let reference =
        parts_of().occupancy_reference(xs.clone(), &surfaces, warps.as_ref(), sharpness);
    assert_close(
        &values(fused.clone()),
        &values(reference.clone()),
        1e-5,
        "occupancy",
    );
    let fused_grads = (fused * weights.clone()).sum().backward();
    let reference_grads = (reference * weights).sum().backward();
    let grad_of = |t: &Tensor<3>, g| values(t.grad(g).expect("a gradient"));
    for (name, t) in [
        ("points", &xs),
        ("translation", &translation),
        ("surfaces", &surfaces),
    ] {
        assert_close(
            &grad_of(t, &fused_grads),
            &grad_of(t, &reference_grads),
            2e-3,
            name,
        );
    }
    assert_close(
        &values(linear.grad(&fused_grads).expect("a gradient")),
        &values(linear.grad(&reference_grads).expect("a gradient")),
        2e-3,
        "linear",
    );
    if let Some(w) = &warps {
        assert_close(
            &grad_of(w, &fused_grads),
            &grad_of(w, &reference_grads),
            2e-3,
            "warps",
        );
    }
}

#[test]
fn fused_parts_match_reference_3d_warped() {
    check(3, true);
}

#[test]
fn fused_parts_match_reference_3d_plain() {
    check(3, false);
}

#[test]
fn fused_parts_match_reference_2d() {
    check(2, false);
}
