//! End to end: relaxation + overparametrization + length penalty + min-sampling recover a
//! hidden program from examples, on the CPU backend.

use burn::tensor::Device;
use roap_engine::dsl::Program;
use roap_engine::train::{self, RecoverConfig, TrainEvent};

fn recover_sample(text: &str, config: &RecoverConfig) -> (train::RecoverOutcome, Vec<TrainEvent>) {
    let hidden: Program = text.parse().unwrap();
    let mut events = Vec::new();
    let mut sink = |event: TrainEvent| events.push(event);
    let outcome = train::recover(&hidden, config, &Device::flex().autodiff(), &mut sink).unwrap();
    (outcome, events)
}

#[test]
fn recovers_the_bundled_csg_program() {
    let config = RecoverConfig::default();
    let (outcome, events) = recover_sample(include_str!("../../samples/programs/csg_hidden.txt"), &config);
    assert!(outcome.equivalent, "found\n{}\ntest MSE {}", outcome.program, outcome.test_mse);
    assert!(outcome.length <= outcome.hidden_length + 1, "found program is bloated:\n{}", outcome.program);
    let steps: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step(report) => Some(report.clone()),
            TrainEvent::Program { .. } => None,
        })
        .collect();
    assert_eq!(steps.len(), config.steps);
    // The length penalty is off for the first half and on for the second.
    assert!(steps[..config.steps / 2].iter().all(|s| s.length_weight == 0.0));
    assert!(steps[config.steps / 2..].iter().all(|s| s.length_weight == config.length_penalty));
    let early: f64 = steps[..20].iter().map(|s| s.fit_loss).sum::<f64>() / 20.0;
    let late: f64 = steps[steps.len() - 20..].iter().map(|s| s.fit_loss).sum::<f64>() / 20.0;
    assert!(late < early * 0.1, "fit loss fell only from {early} to {late}");
}

#[test]
fn recovers_the_bundled_arithmetic_program() {
    let (outcome, _) = recover_sample(include_str!("../../samples/programs/arith_hidden.txt"), &RecoverConfig::default());
    assert!(outcome.equivalent, "found\n{}\ntest MSE {}", outcome.program, outcome.test_mse);
}
