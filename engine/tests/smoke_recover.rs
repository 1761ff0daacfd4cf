//! End to end: relaxation + overparametrization + length penalty + min-sampling recover a
//! hidden program from examples, on the CPU backend.
//!
//! Recovery is a stochastic search: on the bundled programs most seeds succeed with the
//! default settings, so each test asks for a majority of four fixed seeds.

#![allow(clippy::unwrap_used, clippy::needless_range_loop)] // Test helpers may panic on broken invariants.

use burn::tensor::Device;
use roap_engine::dsl::Program;
use roap_engine::train::{self, RecoverConfig, RecoverOutcome, TrainEvent};

/// The CPU backend's random generator is shared by the process: one run at a time keeps each
/// seed's run reproducible.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn recover_sample(text: &str, config: &RecoverConfig) -> (RecoverOutcome, Vec<TrainEvent>) {
    let _guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let hidden: Program = text.parse().unwrap();
    let mut events = Vec::new();
    let mut sink = |event: TrainEvent| events.push(event);
    let outcome = train::recover(&hidden, config, &Device::flex().autodiff(), &mut sink).unwrap();
    (outcome, events)
}

fn recovered_by_most_seeds(text: &str) -> Vec<(RecoverOutcome, Vec<TrainEvent>)> {
    let runs: Vec<_> = (0..4)
        .map(|seed| {
            recover_sample(
                text,
                &RecoverConfig {
                    seed,
                    ..RecoverConfig::default()
                },
            )
        })
        .collect();
    let found: Vec<String> = runs
        .iter()
        .map(|(o, _)| {
            format!(
                "equivalent {} (test MSE {:.2e}):\n{}",
                o.equivalent, o.test_mse, o.program
            )
        })
        .collect();
    let successes = runs.iter().filter(|(o, _)| o.equivalent).count();
    assert!(
        successes >= 3,
        "only {successes} of 4 seeds recovered the program:\n{}",
        found.join("\n")
    );
    for (outcome, _) in runs.iter().filter(|(o, _)| o.equivalent) {
        assert!(
            outcome.length <= outcome.hidden_length + 1,
            "an equivalent program is bloated:\n{}",
            outcome.program
        );
    }
    runs
}

#[test]
fn recovers_the_bundled_csg_program() {
    let runs = recovered_by_most_seeds(include_str!("../../samples/programs/csg_hidden.txt"));
    let config = RecoverConfig::default();
    let steps: Vec<_> = runs[0]
        .1
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step(report) => Some(report.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len(), config.steps);
    // The length penalty is off for the first half and on for the second.
    assert!(
        steps[..config.steps / 2]
            .iter()
            .all(|s| s.length_weight == 0.0)
    );
    assert!(
        steps[config.steps / 2..]
            .iter()
            .all(|s| s.length_weight == config.length_penalty)
    );
    let mean = |window: &[train::StepReport]| {
        window.iter().map(|s| s.fit_loss).sum::<f64>() / window.len() as f64
    };
    let (early, late) = (mean(&steps[..50]), mean(&steps[steps.len() - 50..]));
    assert!(
        late < early * 0.5,
        "fit loss fell only from {early} to {late}"
    );
}

#[test]
fn recovers_the_bundled_arithmetic_program() {
    recovered_by_most_seeds(include_str!("../../samples/programs/arith_hidden.txt"));
}
