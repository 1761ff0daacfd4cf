//! The non-finite rule (`roap_engine::train::PATIENCE`) in every training loop: a NaN loss
//! is skipped and the run goes on; parameters that turn NaN (a part, the CNN and so its
//! output) stop the run after `PATIENCE` skipped steps, with the last good parameters kept
//! and the stop reported.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use roap_engine::arith::{
    Ablation, ArithConfig, RefineConfig, TaskConfig, generate, read_dataset, train,
};
use roap_engine::data::{Furniture, generate as generate_shape};
use roap_engine::graphics::amortized::{self, TrainConfig};
use roap_engine::graphics::policy::PolicyConfig;
use roap_engine::graphics::{
    PartFamily, SketchConfig, SynthConfig, SynthError, Target, synthesize,
};
use roap_engine::train::{Fault, PATIENCE, RunControl, StopReason};

/// Whether every float parameter of `module` is finite.
fn all_finite<M: Module>(module: &M) -> bool {
    struct Finite(bool);
    impl ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param
                .val()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap();
            self.0 &= values.iter().all(|v| v.is_finite());
        }
    }
    let mut visitor = Finite(true);
    module.visit(&mut visitor);
    visitor.0
}

fn synth_config(fault: Option<Fault>) -> SynthConfig {
    SynthConfig {
        sketch: SketchConfig {
            lines: 4,
            parts: 8,
            family: PartFamily::Library {
                warps: 8,
                surfaces: 8,
            },
            ..SketchConfig::paper_3d()
        },
        steps: 60,
        polish_steps: 0,
        sample_points: 2048,
        batch_points: 512,
        report_every: 10,
        eval_resolution: 24,
        fault,
        ..SynthConfig::default()
    }
}

#[test]
fn per_shape_synthesis_skips_a_nan_loss_and_stops_on_nan_parts() {
    let target = Target::Voxels(generate_shape(Furniture::Table, 1, 24));
    let device = Device::flex().autodiff();
    let run = |fault| {
        synthesize(
            &target,
            &synth_config(fault),
            &device,
            &mut |_| {},
            &RunControl::default(),
        )
    };

    let once = run(Some(Fault::LossAt(7))).unwrap();
    assert_eq!(once.stop, StopReason::Finished);
    assert_eq!(once.skipped_steps, 1);

    // Part parameters NaN from step 25: 20 skipped steps, then a stop with the program of
    // the last good parameters.
    let poisoned = run(Some(Fault::ParametersFrom(25))).unwrap();
    assert_eq!(poisoned.stop, StopReason::NonFiniteLoss);
    assert_eq!(poisoned.skipped_steps, PATIENCE);
    assert!(
        poisoned.program.check().is_ok(),
        "{:?}",
        poisoned.program.check()
    );
    assert!(poisoned.chamfer.is_some_and(f64::is_finite));
    assert!(poisoned.iou.is_some_and(|iou| iou > 0.0));

    // NaN from the very start: nothing to keep, and an error that says why.
    let err = run(Some(Fault::ParametersFrom(0))).unwrap_err();
    assert!(matches!(err, SynthError::NonFinite), "{err}");
    assert!(err.to_string().contains("not a number"), "{err}");
}

#[test]
fn amortized_training_keeps_the_last_good_policy() {
    let shapes: Vec<Target> = (0..4)
        .map(|seed| Target::Voxels(generate_shape(Furniture::ALL[seed as usize], seed, 16)))
        .collect();
    let config = |fault| TrainConfig {
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
            hidden: 16,
            ..PolicyConfig::default()
        },
        steps: 40,
        batch_shapes: 2,
        batch_points: 128,
        fault,
        ..TrainConfig::default()
    };
    let device = Device::flex().autodiff();
    let train = |fault| {
        amortized::train(
            &shapes,
            &config(fault),
            &device,
            &mut |_| {},
            &RunControl::default(),
        )
    };

    let once = train(Some(Fault::LossAt(3))).unwrap();
    assert_eq!(
        (once.stop, once.skipped_steps, once.steps),
        (StopReason::Finished, 1, 40)
    );

    // The CNN's weights, and so its output, NaN from step 5.
    let poisoned = train(Some(Fault::ParametersFrom(5))).unwrap();
    assert_eq!(poisoned.stop, StopReason::NonFiniteLoss);
    assert_eq!(poisoned.steps, 5 + PATIENCE);
    assert!(all_finite(&poisoned.model), "the last good policy is kept");

    assert!(train(Some(Fault::ParametersFrom(0))).is_err());
}

#[test]
fn arithmetic_training_keeps_the_last_good_model() {
    let data = read_dataset(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/fashion-mnist"),
    )
    .unwrap();
    let config = |fault| ArithConfig {
        tasks: TaskConfig {
            tasks: 4,
            train_examples: 40,
            test_examples: 10,
            seed: 3,
        },
        steps: 30,
        batch_tasks: 2,
        batch_examples: 4,
        refine: RefineConfig {
            steps: 5,
            chains: 1,
            ..RefineConfig::default()
        },
        ablation: Ablation::Full,
        fault,
        ..ArithConfig::quick()
    };
    let tasks = generate(&config(None).tasks, &data.train, &data.test);
    let device = Device::flex().autodiff();
    let run = |fault| {
        train(
            &config(fault),
            &tasks,
            &data,
            &device,
            &mut |_| {},
            &RunControl::default(),
        )
        .unwrap()
    };

    let (_, once) = run(Some(Fault::LossAt(2)));
    assert_eq!((once.stop, once.skipped_steps), (StopReason::Finished, 1));

    // The CNN's weights NaN from step 4 (and so every digit it reads).
    let (model, poisoned) = run(Some(Fault::ParametersFrom(4)));
    assert_eq!(poisoned.stop, StopReason::NonFiniteLoss);
    assert_eq!(poisoned.skipped_steps, PATIENCE);
    assert_eq!(poisoned.steps, 4 + PATIENCE);
    assert!(all_finite(&model), "the last good model is kept");
}
