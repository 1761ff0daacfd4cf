//! The arithmetic domain end to end on the bundled Fashion-MNIST subset: data, tasks, a
//! short training run of every method, Table 1's metrics, and a saved run that evaluates
//! the same when loaded.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use burn::tensor::Device;
use roap_engine::arith::checkpoint;
use roap_engine::arith::model::ArithModel;
use roap_engine::arith::{
    Ablation, ArithConfig, ArithError, Dataset, Evaluation, RefineConfig, Task, TaskConfig,
    TrainStats, evaluate, formula, generate, read_dataset, train, train_and_evaluate_each_alone,
};
use roap_engine::train::{RunControl, TrainEvent};

/// burn's CPU backend draws random numbers from one process-wide generator, so a test that
/// seeds it and expects the same draws again must not run beside another test that draws.
static DEVICE_RANDOMNESS: Mutex<()> = Mutex::new(());

fn device_randomness() -> MutexGuard<'static, ()> {
    // A test that panicked while holding the lock left nothing to repair.
    DEVICE_RANDOMNESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn subset() -> Dataset {
    read_dataset(
        &std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").expect("tests run under cargo"),
        )
        .join("../samples/fashion-mnist"),
    )
    .unwrap()
}

fn train_quietly(
    config: &ArithConfig,
    tasks: &[Task],
    data: &Dataset,
    device: &Device,
) -> Result<(ArithModel, TrainStats), ArithError> {
    train(
        config,
        tasks,
        data,
        device,
        &mut |_| {},
        &RunControl::default(),
    )
}

fn evaluate_quietly(
    model: &ArithModel,
    config: &ArithConfig,
    tasks: &[Task],
    data: &Dataset,
    stats: TrainStats,
    device: &Device,
) -> Evaluation {
    evaluate(model, config, tasks, data, stats, device, &mut |_, _| {})
}

fn small(ablation: Ablation, steps: usize) -> ArithConfig {
    ArithConfig {
        tasks: TaskConfig {
            tasks: 8,
            train_examples: 60,
            test_examples: 20,
            seed: 3,
        },
        steps,
        batch_tasks: 4,
        batch_examples: 8,
        eval_images: 200,
        eval_examples: 20,
        refine: RefineConfig {
            steps: 20,
            chains: 2,
            ..RefineConfig::default()
        },
        ablation,
        ..ArithConfig::quick()
    }
}

#[test]
fn the_bundled_subset_is_balanced_fashion_mnist() {
    let data = subset();
    assert_eq!((data.train.len(), data.test.len()), (3000, 1000));
    assert_eq!(
        (data.train.channels, data.train.height, data.train.width),
        (1, 28, 28)
    );
    for digit in 0..10u8 {
        assert_eq!(
            data.train.labels.iter().filter(|&&l| l == digit).count(),
            300
        );
    }
    // Pixels are in [0, 1] and not all blank.
    assert!(data.train.pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(data.train.pixels.iter().any(|&p| p > 0.5));
}

#[test]
fn training_lowers_the_loss_and_a_saved_run_evaluates_the_same() {
    let _alone = device_randomness();
    let data = subset();
    let config = small(Ablation::Full, 200);
    let tasks = generate(&config.tasks, &data.train, &data.test);
    assert_eq!(tasks.len(), 8);
    let device = Device::flex().autodiff();
    let mut fits = Vec::new();
    let (model, stats) = train(
        &config,
        &tasks,
        &data,
        &device,
        &mut |e| {
            if let TrainEvent::Step(s) = e {
                fits.push(s.fit_loss);
            }
        },
        &RunControl::default(),
    )
    .unwrap();
    assert_eq!(stats.steps, 200);
    let early: f64 = fits[..20].iter().sum::<f64>() / 20.0;
    let late: f64 = fits[fits.len() - 20..].iter().sum::<f64>() / 20.0;
    assert!(late < 0.85 * early, "fit went from {early} to {late}");

    let evaluation = evaluate_quietly(&model, &config, &tasks, &data, stats, &device);
    let results = evaluation.results.clone();
    assert_eq!(evaluation.tasks.len(), tasks.len());
    let correct = evaluation.tasks.iter().filter(|t| t.correct).count();
    assert_eq!(correct as f64 / tasks.len() as f64, results.program_acc);
    for (outcome, task) in evaluation.tasks.iter().zip(&tasks) {
        assert_eq!(outcome.equation, formula(&task.equation));
        assert!(
            outcome.program.is_some(),
            "the full method finds a program for every task"
        );
    }
    for accuracy in [
        results.program_acc,
        results.symbolic_acc,
        results.test_symbolic_acc,
    ] {
        assert!((0.0..=1.0).contains(&accuracy), "{results:?}");
    }
    assert!(
        results.loss.is_finite() && results.test_loss.is_finite() && results.ood_loss.is_finite()
    );

    let dir = std::env::temp_dir().join(format!("roap_arith_{}", std::process::id()));
    checkpoint::save(&dir, model, &config, &tasks).unwrap();
    let (loaded, loaded_config, loaded_tasks) = checkpoint::load(&dir, &device).unwrap();
    assert_eq!(loaded_config, config);
    assert_eq!(loaded_tasks, tasks);
    let again = evaluate_quietly(
        &loaded,
        &loaded_config,
        &loaded_tasks,
        &data,
        stats,
        &device,
    )
    .results;
    assert_eq!(again.symbolic_acc, results.symbolic_acc);
    assert_eq!(again.program_acc, results.program_acc);
    assert!((again.loss - results.loss).abs() < 1e-9);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn restarts_train_side_by_side_and_the_best_fit_goes_on() {
    let _alone = device_randomness();
    let data = subset();
    let config = ArithConfig {
        restarts: 3,
        restart_steps: 8,
        ..small(Ablation::Full, 12)
    };
    let tasks = generate(&config.tasks, &data.train, &data.test);
    let device = Device::flex().autodiff();
    let mut events = Vec::new();
    let (_, stats) = train(
        &config,
        &tasks,
        &data,
        &device,
        &mut |e| events.push(e),
        &RunControl::default(),
    )
    .unwrap();
    assert_eq!(
        stats.steps,
        3 * 8 + 4,
        "three starts of 8 steps, then 4 more"
    );
    assert_eq!(
        config.total_steps(),
        stats.steps,
        "what a progress bar expects"
    );
    let restarted = events
        .iter()
        .position(|e| matches!(e, TrainEvent::Restarted { .. }))
        .expect("the restarts are compared");
    let TrainEvent::Restarted { kept, losses } = &events[restarted] else {
        unreachable!()
    };
    let fits: Vec<f64> = events[..restarted]
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step(s) => Some(s.fit_loss),
            _ => None,
        })
        .collect();
    assert_eq!(
        fits.len(),
        3 * 8,
        "every start trained before the comparison"
    );
    // Each start is judged on the last third of its steps: steps 6 and 7.
    let judged: Vec<f64> = fits
        .chunks(8)
        .map(|start| (start[6] + start[7]) / 2.0)
        .collect();
    assert_eq!(losses.len(), 3);
    for (judged, reported) in judged.iter().zip(losses) {
        assert!((judged - reported).abs() < 1e-12, "{judged} vs {reported}");
    }
    assert!(
        losses[0] != losses[1],
        "the starts begin from their own initialisations"
    );
    let best = losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[*kept], best);
    let after: Vec<usize> = events[restarted..]
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step(s) => Some(s.step),
            _ => None,
        })
        .collect();
    assert_eq!(
        after,
        vec![8, 9, 10, 11],
        "the kept start goes on from step 8"
    );
}

#[test]
fn every_ablation_trains_and_evaluates() {
    let _alone = device_randomness();
    let data = subset();
    let device = Device::flex().autodiff();
    for ablation in Ablation::ALL {
        let config = small(ablation, 6);
        let tasks = generate(&config.tasks, &data.train, &data.test);
        if ablation == Ablation::Terpret {
            let evaluation = train_and_evaluate_each_alone(
                &config,
                &tasks,
                &data,
                &device,
                &RunControl::default(),
                &mut |_, _| {},
            )
            .unwrap();
            assert_eq!(evaluation.results.method, ablation.label());
            assert_eq!(evaluation.tasks.len(), tasks.len());
            // Each task alone for its share: 6 steps of 4 tasks over 8 tasks is 3 steps.
            assert_eq!(evaluation.results.steps, 3 * tasks.len());
            // Every task's CNN read the same 200 test images.
            let read: usize = evaluation.grounding.iter().map(|c| c.images).sum();
            assert_eq!(read, 200 * tasks.len());
            assert!(evaluation.results.test_loss.is_finite());
            continue;
        }
        let (model, stats) = train_quietly(&config, &tasks, &data, &device).unwrap();
        assert_eq!(stats.steps, 6, "{ablation:?}");
        assert!(stats.skipped_steps < 6, "{ablation:?}: every step skipped");
        let results = evaluate_quietly(&model, &config, &tasks, &data, stats, &device).results;
        assert_eq!(results.method, ablation.label());
        if ablation == Ablation::NoGumbel {
            assert_eq!(
                results.test_samples, 1,
                "without noise, the mode alone is drawn"
            );
        }
        if ablation == Ablation::NoProgram {
            assert_eq!(results.program_acc, 0.0, "no program, no Program-Acc");
        }
        if ablation == Ablation::Supervised {
            assert_eq!(
                results.program_acc, 1.0,
                "the reference is given the equations"
            );
        }
        assert!(results.test_loss.is_finite(), "{ablation:?}: {results:?}");
    }
}

#[test]
fn images_of_the_wrong_kind_are_a_clear_error() {
    let data = subset();
    let mut config = small(Ablation::Full, 2);
    config.model.image_channels = 3;
    let tasks = generate(&config.tasks, &data.train, &data.test);
    let device = Device::flex().autodiff();
    let err = train_quietly(&config, &tasks, &data, &device)
        .err()
        .unwrap();
    assert!(err.to_string().contains("channels"), "{err}");
    assert!(read_dataset(Path::new("/nonexistent")).is_err());
}
