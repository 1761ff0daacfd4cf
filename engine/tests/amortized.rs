//! Amortized synthesis end to end at toy scale: training lowers the loss, a checkpoint
//! reloads to the same policy, completion returns a program scored on the visible input,
//! and the baseline answers for every query point.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use burn::tensor::Device;
use roap_engine::data::{Crop, Furniture, generate};
use roap_engine::data::{PixelGrid, VoxelGrid};
use roap_engine::graphics::amortized::{
    self, CompleteOptions, TrainConfig, checkpoint, complete_baseline,
};
use roap_engine::graphics::policy::{PolicyConfig, input_batch};
use roap_engine::graphics::{
    GraphicsProgram, PartFamily, Reconstruction, SketchConfig, Target, refine,
};

fn voxels(target: &Target) -> &VoxelGrid {
    match target {
        Target::Voxels(grid) => grid,
        Target::Pixels(_) => panic!("a 3D target"),
    }
}
use roap_engine::train::{RunControl, TrainEvent};

fn tiny() -> TrainConfig {
    TrainConfig {
        policy: PolicyConfig {
            sketch: SketchConfig {
                lines: 4,
                parts: 8,
                family: PartFamily::Library {
                    warps: 8,
                    surfaces: 8,
                },
                ..SketchConfig::paper_3d()
            },
            input_resolution: 16,
            channels: [4, 4, 4],
            hidden: 32,
            ..PolicyConfig::default()
        },
        steps: 60,
        batch_shapes: 4,
        batch_points: 256,
        learning_rate: 3e-3,
        ..TrainConfig::default()
    }
}

#[test]
fn train_save_load_complete() {
    let shapes: Vec<_> = Furniture::ALL
        .iter()
        .map(|&k| Target::Voxels(generate(k, 0, 32)))
        .collect();
    let config = tiny();
    let device = Device::flex().autodiff();
    let mut losses = Vec::new();
    let mut sink = |e: TrainEvent| {
        if let TrainEvent::Step(s) = e {
            losses.push(s.fit_loss);
        }
    };
    let policy = amortized::train(&shapes, &config, &device, &mut sink, &RunControl::default())
        .unwrap()
        .model;
    assert_eq!(losses.len(), 60);
    let early: f64 = losses[..10].iter().sum::<f64>() / 10.0;
    let late: f64 = losses[50..].iter().sum::<f64>() / 10.0;
    assert!(late < early, "training loss went from {early} to {late}");

    let dir = std::env::temp_dir().join(format!("roap-ckpt-{}", std::process::id()));
    let cpu = Device::flex();
    let baseline = amortized::train_baseline(
        &shapes,
        &TrainConfig { steps: 5, ..tiny() },
        &device,
        &mut |_| {},
        &RunControl::default(),
    )
    .unwrap()
    .model;
    checkpoint::save(&dir, policy.clone(), Some(baseline), &config).unwrap();
    let (loaded, loaded_config) = checkpoint::load(&dir, &cpu).unwrap();
    assert_eq!(loaded_config, config);
    let input = input_batch(&[&shapes[0]], 16, &cpu);
    let a = policy
        .forward(&config.policy, input.clone())
        .discretize(&config.policy.sketch, 0)
        .unwrap();
    let b = loaded
        .forward(&config.policy, input)
        .discretize(&config.policy.sketch, 0)
        .unwrap();
    assert_eq!(a, b, "a reloaded checkpoint gives the same program");

    let crop = Crop::fixed_plane();
    let options = CompleteOptions {
        crop,
        samples: 4,
        eval_resolution: 24,
        seed: 1,
    };
    let completion = amortized::complete(
        &loaded,
        &config.policy,
        &Target::Voxels(crop.apply(voxels(&shapes[1]))),
        &options,
        &cpu,
    )
    .unwrap();
    assert_eq!(completion.candidates, 4);
    assert!(completion.visible_loss.is_finite());
    assert!(
        matches!(completion.reconstruction, Some(Reconstruction::Voxels(ref v)) if v.resolution() == 24)
    );

    // Refinement starts from the guess: its first program is the guess, and what it keeps
    // fits the visible part no worse than the guess (within the simplicity tolerance).
    let input = Target::Voxels(crop.apply(voxels(&shapes[1])));
    let start = completion.start.as_ref().unwrap();
    let mut refine_config = amortized::refinement(&config, crop, 30, 1);
    refine_config.eval_resolution = 24;
    let mut first = None;
    let outcome = refine(
        &input,
        start,
        &refine_config,
        &device,
        &mut |e| {
            if let TrainEvent::Domain { step: 0, value } = e {
                first = value.get::<GraphicsProgram>().map(ToString::to_string);
            }
        },
        &RunControl::default(),
    )
    .unwrap();
    assert_eq!(first.unwrap(), completion.program.to_string());
    let guess_error = match &completion.reconstruction {
        Some(Reconstruction::Voxels(v)) => input
            .score(&Reconstruction::Voxels(crop.apply(v)), 1)
            .error(),
        _ => unreachable!(),
    };
    let refined_error = roap_engine::graphics::Score {
        chamfer: outcome.chamfer,
        iou: outcome.iou,
    }
    .error();
    assert!(
        refined_error <= guess_error * (1.0 + refine_config.simplicity_tolerance) + 1e-9,
        "refined {refined_error} vs guess {guess_error}"
    );
    // A start that does not fit the sketch is refused.
    let mut other = refine_config.clone();
    other.sketch.lines += 1;
    assert!(
        refine(
            &input,
            start,
            &other,
            &device,
            &mut |_| {},
            &RunControl::default()
        )
        .is_err()
    );

    let baseline = checkpoint::load_baseline(&dir, &config, &cpu)
        .unwrap()
        .unwrap();
    let reconstruction = complete_baseline(&baseline, &config.policy, &shapes[1], 16, &cpu);
    assert!(matches!(reconstruction, Reconstruction::Voxels(ref v) if v.resolution() == 16));
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        checkpoint::load(&dir, &cpu).is_err(),
        "a missing checkpoint is an error"
    );
}

/// The checkpoint bundled in assets/ loads and completes a cropped bundled sample: amortized
/// completion works on a fresh clone.
#[test]
fn bundled_checkpoint_completes_a_cropped_sample() {
    let root = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("tests run under cargo"),
    )
    .join("..");
    let device = Device::flex();
    let (policy, config) =
        checkpoint::load(&root.join("assets/checkpoints/procedural"), &device).unwrap();
    let full =
        roap_engine::data::read_shape(&root.join("samples/shapes/table.binvox"), 64).unwrap();
    let crop = Crop::fixed_plane();
    let options = CompleteOptions {
        crop,
        samples: 8,
        eval_resolution: 64,
        seed: 0,
    };
    let completion = amortized::complete(
        &policy,
        &config.policy,
        &Target::Voxels(crop.apply(&full)),
        &options,
        &device,
    )
    .unwrap();
    let Some(Reconstruction::Voxels(reconstruction)) = &completion.reconstruction else {
        panic!("a 3D completion");
    };
    let chamfer = roap_engine::metrics::chamfer_x1000(&full, reconstruction, 0).unwrap();
    // An untrained policy scores in the hundreds here (its parts sit on a fixed lattice).
    assert!(chamfer < 40.0, "Chamfer ×1000 of the completion: {chamfer}");
    assert!(completion.program.live_lines() >= 1);
}

/// The 2D sketch (simple, two flip-unions, a for-loop, gates) through the same amortized path:
/// images in, one-voxel-deep convolutions, 2D programs out.
#[test]
fn two_dimensional_policy_trains_and_completes() {
    let images: Vec<Target> = (0..4)
        .map(|i| {
            Target::Pixels(PixelGrid::from_fn(32, 32, |r, c| {
                let (r, c) = (r as i32 - 16, c as i32 - 16 + i);
                r.abs() < 8 && c.abs() < 5 || r * r + (c - 6) * (c - 6) < 30
            }))
        })
        .collect();
    let mut config = TrainConfig {
        policy: PolicyConfig::paper_2d(),
        steps: 40,
        batch_shapes: 2,
        batch_points: 256,
        learning_rate: 3e-3,
        // A fixed temperature: 40 steps are too few to anneal without the loss following it.
        temperature: roap_engine::train::TemperatureSchedule::Constant { temperature: 1.0 },
        ..TrainConfig::default()
    };
    config.policy.sketch.lines = 4;
    // The balanced loss of App. B.1.3, refreshed often so the test exercises it.
    config.balanced_threshold = Some(0.95);
    config.balance_every = 10;
    config.policy.input_resolution = 32;
    config.policy.channels = [4, 4, 4];
    config.policy.hidden = 32;
    let device = Device::flex().autodiff();
    let mut losses = Vec::new();
    let policy = amortized::train(
        &images,
        &config,
        &device,
        &mut |e: TrainEvent| {
            if let TrainEvent::Step(s) = e {
                losses.push(s.fit_loss);
            }
        },
        &RunControl::default(),
    )
    .unwrap()
    .model;
    assert!(losses.iter().all(|l| l.is_finite()));
    let early: f64 = losses[..8].iter().sum::<f64>() / 8.0;
    let late: f64 = losses[32..].iter().sum::<f64>() / 8.0;
    assert!(
        late < early,
        "2D training loss went from {early} to {late}: {losses:?}"
    );
    let options = CompleteOptions {
        crop: Crop::None,
        samples: 3,
        eval_resolution: 32,
        seed: 0,
    };
    let completion = amortized::complete(
        &policy,
        &config.policy,
        &images[0],
        &options,
        &Device::flex(),
    )
    .unwrap();
    assert_eq!(completion.program.dim, 2);
    assert_eq!(completion.program.components.len(), 4);
    assert!(
        matches!(completion.reconstruction, Some(Reconstruction::Pixels(ref p)) if p.width == 32)
    );
    let mismatched = amortized::train(
        &[Target::Voxels(generate(Furniture::Mug, 0, 16))],
        &config,
        &device,
        &mut |_| {},
        &RunControl::default(),
    );
    assert!(
        mismatched.is_err(),
        "a 3D shape for a 2D policy is an error"
    );
}

#[test]
fn balanced_weight_follows_the_paper() {
    use roap_engine::graphics::amortized::balanced_weight;
    assert!((balanced_weight(0.0, 0.95) - 0.0).abs() < 1e-12);
    assert!((balanced_weight(0.475, 0.95) - 0.5).abs() < 1e-12);
    assert!((balanced_weight(0.95, 0.95) - 1.0).abs() < 1e-12);
    assert!((balanced_weight(3.0, 0.95) - 1.0).abs() < 1e-12);
}
