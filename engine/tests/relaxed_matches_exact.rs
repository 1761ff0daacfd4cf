//! The relaxed interpreter against the exact one, its gradients, and the expected length
//! against brute-force enumeration. All on the CPU backend.

#![allow(clippy::unwrap_used, clippy::needless_range_loop)] // Test helpers may panic on broken invariants.

use burn::tensor::{Device, Tensor, TensorData};
use proptest::prelude::*;
use rand::SeedableRng as _;
use roap_engine::dsl::{Line, OpSet, Program};
use roap_engine::relaxed::{self, Architecture, ArchitectureLogits, Relaxation};

fn cpu() -> Device {
    Device::flex()
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Random inputs `[1, V, N]` and their values per point.
fn random_inputs(
    rng: &mut rand::rngs::StdRng,
    inputs: usize,
    points: usize,
    low: f32,
    high: f32,
) -> Vec<f32> {
    use rand::Rng as _;
    (0..inputs * points)
        .map(|_| rng.random_range(low..high))
        .collect()
}

fn exact_outputs(program: &Program, inputs: &[f32], points: usize) -> Vec<f32> {
    (0..points)
        .map(|n| {
            let point: Vec<f32> = (0..program.inputs())
                .map(|i| inputs[i * points + n])
                .collect();
            program.eval(&point).unwrap()
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[f32], tolerance: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(g.is_finite(), "{what}[{i}] = {g} is not finite");
        assert!(
            (g - w).abs() <= tolerance * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// At one-hot α the soft program is the discrete program, on the fused kernel and on
    /// burn's stock ops alike.
    #[test]
    fn one_hot_relaxed_equals_exact(
        seed: u64,
        arithmetic: bool,
        inputs in 1usize..6,
        lines in 1usize..12,
        points in 1usize..700,
    ) {
        let (ops, low, high, lines) = if arithmetic {
            (OpSet::arithmetic(), -1.0, 1.0, lines.min(6))
        } else {
            (OpSet::csg(), 0.0, 1.0, lines)
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let program = Program::random(&mut rng, &ops, inputs, lines);
        let data = random_inputs(&mut rng, inputs, points, low, high);
        let want = exact_outputs(&program, &data, points);
        let device = cpu();
        let arch = Architecture::one_hot(&program, &device);
        let tensor = Tensor::<3>::from_data(TensorData::new(data, [1, inputs, points]), &device);
        let fused = values(relaxed::execute(tensor.clone(), &arch, &ops));
        let reference = values(relaxed::execute_reference(tensor, &arch, &ops));
        assert_close(&fused, &want, 1e-5, "fused");
        assert_close(&reference, &want, 1e-5, "reference");
        prop_assert_eq!(arch.discretize(&ops).unwrap(), vec![program]);
    }
}

/// Logits made from programs' one-hot α have those programs as their modes, one row each;
/// programs of different shapes are refused.
#[test]
fn logits_of_programs_have_those_programs_as_modes() {
    let ops = OpSet::arithmetic();
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let programs: Vec<Program> = (0..5)
        .map(|_| Program::random(&mut rng, &ops, 3, 7))
        .collect();
    let device = cpu();
    let logits = ArchitectureLogits::of_programs(&programs, &device).unwrap();
    assert_eq!(logits.probabilities().discretize(&ops).unwrap(), programs);
    let shorter = Program::random(&mut rng, &ops, 3, 6);
    assert!(ArchitectureLogits::of_programs(&[programs[0].clone(), shorter], &device).is_err());
    assert!(ArchitectureLogits::of_programs(&[], &device).is_err());
}

struct Gradients {
    output: Vec<f32>,
    inputs: Vec<f32>,
    op: Vec<f32>,
    left: Vec<f32>,
    right: Vec<f32>,
}

/// Loss = mean((output - target)²) over a soft, random α; gradients w.r.t. inputs and logits.
fn gradients(
    reference: bool,
    ops: &OpSet,
    tasks: usize,
    inputs: usize,
    lines: usize,
    points: usize,
) -> Gradients {
    // Drawn from a local RNG, not burn's process-wide one: tests of this binary run in
    // parallel, and fused and reference must see the same data.
    let device = cpu().autodiff();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut uniform = |dims: Vec<usize>, low: f32, high: f32| {
        let count = dims.iter().product();
        Tensor::<3>::from_data(
            TensorData::new(random_inputs(&mut rng, 1, count, low, high), dims),
            &device,
        )
    };
    let x = uniform(vec![tasks, inputs, points], 0.0, 1.0).require_grad();
    let target: Tensor<2> = uniform(vec![tasks, 1, points], 0.0, 1.0)
        .greater_elem(0.5)
        .float()
        .reshape([tasks, points]);
    let width = inputs + lines;
    let logits = ArchitectureLogits {
        op_logits: uniform(vec![tasks, lines, ops.len()], -1.5, 1.5),
        left_logits: uniform(vec![tasks, lines, width], -1.5, 1.5),
        right_logits: uniform(vec![tasks, lines, width], -1.5, 1.5),
        inputs,
    };
    let logits = ArchitectureLogits {
        op_logits: logits.op_logits.require_grad(),
        left_logits: logits.left_logits.require_grad(),
        right_logits: logits.right_logits.require_grad(),
        inputs,
    };
    let arch = logits.probabilities();
    let output = if reference {
        relaxed::execute_reference(x.clone(), &arch, ops)
    } else {
        relaxed::execute(x.clone(), &arch, ops)
    };
    let loss = (output.clone() - target).powi_scalar(2).mean();
    let grads = loss.backward();
    Gradients {
        output: values(output),
        inputs: values(x.grad(&grads).expect("input gradient")),
        op: values(logits.op_logits.grad(&grads).expect("op gradient")),
        left: values(logits.left_logits.grad(&grads).expect("left gradient")),
        right: values(logits.right_logits.grad(&grads).expect("right gradient")),
    }
}

#[test]
fn fused_gradients_match_stock_ops_and_are_finite() {
    for (ops, tasks, inputs, lines, points) in [
        (OpSet::csg(), 3, 5, 7, 1100),
        (OpSet::arithmetic(), 2, 3, 5, 300),
        (OpSet::csg(), 1, 1, 1, 1),
    ] {
        let fused = gradients(false, &ops, tasks, inputs, lines, points);
        let reference = gradients(true, &ops, tasks, inputs, lines, points);
        assert_close(&fused.output, &reference.output, 1e-5, "output");
        assert_close(&fused.inputs, &reference.inputs, 1e-4, "d inputs");
        assert_close(&fused.op, &reference.op, 1e-4, "d op logits");
        assert_close(&fused.left, &reference.left, 1e-4, "d left logits");
        assert_close(&fused.right, &reference.right, 1e-4, "d right logits");
        // Gradients reach α: some entry of each is non-zero (a one-choice sketch has none:
        // its only valid argument has probability 1 whatever its logit).
        if inputs + lines < 3 {
            continue;
        }
        for (name, g) in [
            ("inputs", &fused.inputs),
            ("op", &fused.op),
            ("left", &fused.left),
        ] {
            assert!(g.iter().any(|v| *v != 0.0), "no gradient reached {name}");
        }
    }
}

#[test]
fn relaxations_give_masked_rows_that_sum_to_one() {
    let device = cpu();
    let logits = ArchitectureLogits::random(2, 3, 4, 4, 2.0, &device);
    for relaxation in [
        Relaxation::GumbelSoftmax { temperature: 0.5 },
        Relaxation::StraightThrough { temperature: 0.5 },
        Relaxation::Softmax { temperature: 1.0 },
    ] {
        let arch = logits.relax_k(relaxation, 3);
        assert_eq!(arch.tasks(), 6);
        let left = values(arch.left_probs.clone());
        let width = 3 + 4;
        for (row, probs) in left.chunks(width).enumerate() {
            let line = row % 4;
            let sum: f32 = probs.iter().sum();
            assert!(
                (sum - 1.0).abs() < 1e-5,
                "{relaxation:?}: row sums to {sum}"
            );
            assert!(
                probs[3 + line..].iter().all(|p| *p == 0.0),
                "{relaxation:?}: mask leaked at line {line}"
            );
        }
        if matches!(relaxation, Relaxation::StraightThrough { .. }) {
            assert!(
                left.iter().all(|p| *p == 0.0 || *p == 1.0),
                "straight-through is not one-hot"
            );
        }
        // Every draw discretizes to a valid program.
        assert_eq!(arch.discretize(&OpSet::csg()).unwrap().len(), 6);
    }
}

/// Every discrete program of a tiny sketch, weighted by its probability under α: the
/// expected tree size must match `expected_length`, and it bounds the expected live length.
#[test]
fn expected_length_matches_brute_force_enumeration() {
    let device = cpu();
    for (ops, seed) in [
        (OpSet::csg(), 1u64),
        (OpSet::arithmetic(), 2),
        (OpSet::csg(), 3),
    ] {
        device.seed(seed);
        let (inputs, lines) = (2, 3);
        let arch =
            ArchitectureLogits::random(2, inputs, lines, ops.len(), 1.5, &device).probabilities();
        let expected = values(relaxed::expected_length(&arch, &ops));
        let width = inputs + lines;
        let op = values(arch.op_probs.clone());
        let left = values(arch.left_probs.clone());
        let right = values(arch.right_probs.clone());
        for task in 0..2 {
            // All (op, left, right) choices per line.
            let choices: Vec<Vec<(Line, f64)>> = (0..lines)
                .map(|c| {
                    let mut line_choices = Vec::new();
                    for o in 0..ops.len() {
                        for l in 0..inputs + c {
                            for r in 0..inputs + c {
                                let at = task * lines + c;
                                let p = f64::from(op[at * ops.len() + o])
                                    * f64::from(left[at * width + l])
                                    * f64::from(right[at * width + r]);
                                line_choices.push((
                                    Line {
                                        op: o,
                                        left: l,
                                        right: r,
                                    },
                                    p,
                                ));
                            }
                        }
                    }
                    line_choices
                })
                .collect();
            let (mut tree, mut live, mut total_p) = (0.0f64, 0.0f64, 0.0f64);
            let mut index = vec![0usize; lines];
            'outer: loop {
                let p: f64 = (0..lines).map(|c| choices[c][index[c]].1).product();
                let raw: Vec<Line> = (0..lines).map(|c| choices[c][index[c]].0).collect();
                // Program::new normalises a unary line's right argument; its probability
                // still sums over every right choice, as the enumeration does.
                let program = Program::new(ops.clone(), inputs, raw).unwrap();
                tree += p * program.tree_size() as f64;
                live += p * program.length() as f64;
                total_p += p;
                for c in 0..lines {
                    index[c] += 1;
                    if index[c] < choices[c].len() {
                        continue 'outer;
                    }
                    index[c] = 0;
                }
                break;
            }
            assert!(
                (total_p - 1.0).abs() < 1e-5,
                "probabilities sum to {total_p}"
            );
            let got = f64::from(expected[task]);
            assert!(
                (got - tree).abs() < 1e-5,
                "{ops:?}: expected_length {got} vs brute force {tree}"
            );
            assert!(
                live <= tree + 1e-9,
                "live length {live} exceeds tree size {tree}"
            );
        }
    }
}

#[test]
fn expected_length_is_exact_at_one_hot() {
    let device = cpu();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..20 {
        let program = Program::random(&mut rng, &OpSet::csg(), 3, 9);
        let arch = Architecture::one_hot(&program, &device);
        let got = values(relaxed::expected_length(&arch, &OpSet::csg()))[0];
        assert_eq!(got, program.tree_size() as f32);
    }
}

/// wgpu where an adapter exists (the stock-op path), compared with the CPU kernel.
#[test]
fn wgpu_path_matches_cpu_where_an_adapter_exists() {
    let chosen = match roap_engine::device::choose(roap_engine::device::DeviceChoice::Wgpu) {
        Ok(chosen) => chosen,
        Err(err) => {
            eprintln!("skipped: no wgpu adapter here ({err})");
            return;
        }
    };
    eprintln!("wgpu adapter: {}", chosen.description);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let ops = OpSet::csg();
    let program = Program::random(&mut rng, &ops, 4, 10);
    let data = random_inputs(&mut rng, 4, 257, 0.0, 1.0);
    let want = exact_outputs(&program, &data, 257);
    let arch = Architecture::one_hot(&program, &chosen.device);
    let tensor = Tensor::<3>::from_data(TensorData::new(data, [1, 4, 257]), &chosen.device);
    let got = values(relaxed::execute(tensor, &arch, &ops));
    assert_close(&got, &want, 1e-5, "wgpu");
}
