//! Tuning aid: per-shape synthesis with settings from a JSON patch, printing the fit loss
//! every 25 steps and the metrics at every report.
//! `cargo run --example synth_probe -- SHAPE '{"steps": 300}'`

#![allow(clippy::print_stdout)] // An example reports on stdout.

use roap_engine::data::{read_shape, resample};
use roap_engine::graphics::{SynthConfig, Target, synthesize};
use roap_engine::train::{RunControl, TrainEvent};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let shape = args
        .get(1)
        .map_or("samples/shapes/chair.binvox", String::as_str);
    // `FILE.hdf5:INDEX` is image INDEX of a BSP-Net-style `pixels` dataset: a 2D run.
    let image = shape.split_once(".hdf5:").map(|(file, index)| {
        let dataset = roap_engine::data::read_u8_dataset(format!("{file}.hdf5").as_ref(), "pixels");
        (dataset, index.parse::<usize>().unwrap_or(0))
    });
    let defaults = if image.is_some() {
        SynthConfig::paper_2d()
    } else {
        SynthConfig::default()
    };
    let mut config = serde_json::to_value(defaults)?;
    if let Some(patch) = args.get(2) {
        let patch: serde_json::Value = serde_json::from_str(patch)?;
        merge(&mut config, &patch);
    }
    let config: SynthConfig = serde_json::from_value(config)?;
    let target = match image {
        Some((dataset, index)) => Target::Pixels(
            roap_engine::data::image_of_dataset(&dataset?, index)
                .ok_or_else(|| anyhow::anyhow!("no image {index}"))?,
        ),
        None => Target::Voxels(resample(&read_shape(shape.as_ref(), 64)?, 64)),
    };
    let device = burn::tensor::Device::flex().autodiff();
    let started = std::time::Instant::now();
    let mut sink = |event: TrainEvent| match event {
        TrainEvent::Step(s) if s.step % 25 == 0 => println!(
            "step {:4} {:6.1}s fit {:.4} E[len] {:5.1} T {:.3}",
            s.step,
            started.elapsed().as_secs_f64(),
            s.fit_loss,
            s.expected_length,
            s.temperature
        ),
        TrainEvent::Metrics(m) => println!(
            "  metrics step {} at {:.1}s: chamfer {:?} iou {:?} live {}",
            m.step, m.elapsed_seconds, m.chamfer, m.iou, m.live_lines
        ),
        _ => {}
    };
    let outcome = synthesize(&target, &config, &device, &mut sink, &RunControl::default())?;
    println!("{}", outcome.program);
    println!(
        "final: chamfer {:?} soft {:?} iou {:?} live lines {} parts {} in {:.1}s",
        outcome.chamfer,
        outcome.soft_chamfer,
        outcome.iou,
        outcome.live_lines,
        outcome.live_parts,
        outcome.seconds
    );
    Ok(())
}

fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}
