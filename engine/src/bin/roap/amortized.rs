//! `roap train`, `roap complete`, `roap eval`: amortized synthesis from the command line.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng as _;
use roap_engine::data::{
    Crop, Furniture, VoxelGrid, generate_varied, image_of_dataset, read_shape, read_u8_dataset,
    read_voxel_dataset,
};
use roap_engine::device::{self, DeviceChoice};
use roap_engine::export::{MeshFormat, write_mesh};
use roap_engine::graphics::amortized::{self, CompleteOptions, TrainConfig, checkpoint};
use roap_engine::graphics::policy::PolicyConfig;
use roap_engine::graphics::{Target, meshes::program_surface};
use roap_engine::train::{RunControl, TemperatureSchedule, TrainEvent};

use super::synth::{Progress, Written, write_outcome};
use super::{write_atomically, write_program};

/// Shapes for training or evaluation.
#[derive(Args)]
pub struct DataArg {
    /// A folder of shapes (.binvox .obj .off .stl .ply), an IM-NET HDF5 file (`voxels`),
    /// `procedural:COUNT[:SEED]` for COUNT generated shapes of every furniture kind (turned,
    /// stretched and normalized: seeds from SEED on), or
    /// `images:FILE.hdf5[:COUNT[:FIRST]]` for COUNT 2D images of a `pixels` dataset
    /// (BSP-Net layout) from index FIRST.
    data: String,
}

fn load_targets(data: &str, resolution: usize) -> anyhow::Result<Vec<Target>> {
    if let Some(spec) = data.strip_prefix("images:") {
        let mut fields = spec.split(':');
        let file = fields.next().unwrap_or_default();
        let count: usize = fields
            .next()
            .unwrap_or("100")
            .parse()
            .context("images:FILE:COUNT")?;
        let first: usize = fields
            .next()
            .unwrap_or("0")
            .parse()
            .context("images:FILE:COUNT:FIRST")?;
        let dataset = read_u8_dataset(Path::new(file), "pixels")?;
        let images: Vec<Target> = (first..first + count)
            .map_while(|i| image_of_dataset(&dataset, i).map(Target::Pixels))
            .collect();
        anyhow::ensure!(!images.is_empty(), "{file}: no images from index {first}");
        return Ok(images);
    }
    Ok(load_shapes(data, resolution)?
        .into_iter()
        .map(Target::Voxels)
        .collect())
}

fn load_shapes(data: &str, resolution: usize) -> anyhow::Result<Vec<VoxelGrid>> {
    if let Some(spec) = data.strip_prefix("procedural:") {
        let mut fields = spec.split(':');
        let count: u64 = fields
            .next()
            .unwrap_or("4")
            .parse()
            .context("procedural:COUNT")?;
        let seed: u64 = fields
            .next()
            .unwrap_or("0")
            .parse()
            .context("procedural:COUNT:SEED")?;
        return Ok((0..count)
            .flat_map(|i| Furniture::ALL.map(|kind| generate_varied(kind, seed + i, resolution)))
            .collect());
    }
    let path = Path::new(data);
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    ["binvox", "obj", "off", "stl", "ply"]
                        .contains(&e.to_ascii_lowercase().as_str())
                })
            })
            .collect();
        files.sort();
        anyhow::ensure!(!files.is_empty(), "{}: no shape files", path.display());
        return files
            .iter()
            .map(|f| Ok(read_shape(f, resolution)?.normalized(resolution)))
            .collect();
    }
    Ok(read_voxel_dataset(path, "voxels")?
        .iter()
        .map(|g| g.normalized(resolution))
        .collect())
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArg,
    /// Checkpoint folder: policy.bpk (burn record) and config.json.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1500)]
    steps: usize,
    /// Shapes per step.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Skip the "w/o program" baseline (same encoder, occupancy MLP decoder) that
    /// `roap eval` compares against; it is trained after the policy, on the same data.
    #[arg(long)]
    no_baseline: bool,
    /// Training steps of the baseline (default: --steps).
    #[arg(long)]
    baseline_steps: Option<usize>,
    /// Code lines of the sketch (the paper's "max lines" ablation) [default: 16].
    #[arg(long)]
    lines: Option<usize>,
    /// Plain softmax instead of Gumbel-softmax (the paper's "w/o gumbel-softmax" ablation).
    #[arg(long)]
    no_gumbel: bool,
    /// The balanced loss (App. B.1.3) with this Chamfer threshold (the paper: 0.95, 2D
    /// pixels): shapes already fitted better than it weigh less.
    #[arg(long)]
    balanced: Option<f64>,
    /// Gumbel-softmax temperature: START END, decayed exponentially [default: 1 0.05].
    #[arg(long, num_args = 2, value_names = ["START", "END"])]
    temperature: Option<Vec<f64>>,
    /// Logit prior of the policy towards the chain l_i = op(l_{i−1}, p_i) [default: 8].
    #[arg(long)]
    chain_prior: Option<f64>,
    /// Logit prior of the policy towards union [default: 6].
    #[arg(long)]
    union_prior: Option<f64>,
    /// Scale of the head's output on top of the prior [default: 0.1].
    #[arg(long)]
    residual_scale: Option<f64>,
}

pub fn run_train(args: &TrainArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    let shapes = load_targets(&args.data.data, 64)?;
    let chosen = device::choose(choice)?;
    eprintln!(
        "device: {}; {} training shapes",
        chosen.description,
        shapes.len()
    );
    let two_d = shapes.first().is_some_and(|s| s.dim() == 2);
    let mut config = TrainConfig {
        policy: if two_d {
            PolicyConfig::paper_2d()
        } else {
            PolicyConfig::default()
        },
        steps: args.steps,
        batch_shapes: args.batch,
        learning_rate: args.learning_rate,
        gumbel: !args.no_gumbel,
        balanced_threshold: args.balanced,
        seed: args.seed,
        ..TrainConfig::default()
    };
    if let Some(lines) = args.lines {
        config.policy.sketch.lines = lines.max(1);
    }
    if let Some(prior) = args.chain_prior {
        config.policy.chain_bias = prior;
    }
    if let Some(prior) = args.union_prior {
        config.policy.union_bias = prior;
    }
    if let Some(scale) = args.residual_scale {
        config.policy.residual_scale = scale;
    }
    if let Some(t) = &args.temperature {
        config.temperature = TemperatureSchedule::Exponential {
            start: t.first().copied().unwrap_or(1.0),
            end: t.get(1).copied().unwrap_or(0.05),
        };
    }
    let bar = ProgressBar::new(config.steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {elapsed}/{eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("policy");
    let mut sink = |event: TrainEvent| {
        if let TrainEvent::Step(s) = event {
            bar.set_position(s.step as u64 + 1);
            bar.set_message(format!(
                "loss {:.4}  E[len] {:.1}  T {:.3}",
                s.fit_loss, s.expected_length, s.temperature
            ));
            if s.step % 100 == 0 {
                tracing::info!(step = s.step, loss = s.fit_loss, "train");
            }
        }
    };
    let device = chosen.device.clone().autodiff();
    let started = std::time::Instant::now();
    let trained = amortized::train(&shapes, &config, &device, &mut sink, &RunControl::default())?;
    say_how_it_ended("policy", &trained);
    let policy = trained.model;
    let policy_seconds = started.elapsed().as_secs_f64();
    let baseline = if args.no_baseline {
        None
    } else {
        let baseline_config = TrainConfig {
            steps: args.baseline_steps.unwrap_or(config.steps),
            ..config.clone()
        };
        bar.reset();
        bar.set_length(baseline_config.steps as u64);
        bar.set_prefix("baseline");
        let trained = amortized::train_baseline(
            &shapes,
            &baseline_config,
            &device,
            &mut sink,
            &RunControl::default(),
        )?;
        say_how_it_ended("baseline", &trained);
        Some(trained.model)
    };
    bar.finish_and_clear();
    eprintln!("policy trained in {policy_seconds:.0} s");
    // The learned shared library, one small mesh per surface, for people to look at.
    let gallery: Vec<_> = match &policy.library {
        Some(library) if !two_d => {
            let surfaces = roap_engine::graphics::soft::values(library.surfaces.val());
            roap_engine::graphics::meshes::library_meshes(&surfaces, 16)
                .into_iter()
                .filter(|p| !p.mesh.triangles.is_empty())
                .collect()
        }
        _ => Vec::new(),
    };
    checkpoint::save(&args.out, policy, baseline, &config)?;
    if !gallery.is_empty() {
        let mut bytes = Vec::new();
        roap_engine::export::write_parts(&mut bytes, &gallery, MeshFormat::Ply)?;
        write_atomically(&args.out.join("library.ply"), &bytes)?;
    }
    eprintln!(
        "trained on {} shapes for {} steps in {:.0} s; wrote {}",
        shapes.len(),
        config.steps,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

#[derive(Args)]
pub struct CompleteArgs {
    /// `[CHECKPOINT] SHAPE`: a checkpoint folder written by `roap train` (without one, the
    /// pretrained policy that ships with roap), and the shape to complete (.binvox or a mesh).
    #[arg(num_args = 1..=2, required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// What to remove from the input first.
    #[arg(long, value_enum, default_value = "half-plane")]
    crop: super::synth::CropArg,
    #[arg(long, default_value_t = 0)]
    crop_seed: u64,
    /// Min-sampling: discrete programs weighed on the visible input (the mode + draws).
    #[arg(long, default_value_t = 8)]
    samples: usize,
    /// Steps of per-shape synthesis on the visible input that start from the policy's
    /// program (a third of them polish its parts); 0 keeps the policy's guess as it is.
    #[arg(long, default_value_t = amortized::DEFAULT_REFINE_STEPS)]
    refine_steps: usize,
    /// Resolution of the exported meshes.
    #[arg(long, default_value_t = 64)]
    mesh_res: usize,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run_complete(args: &CompleteArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    let chosen = device::choose(choice)?;
    let (policy, config) = match args.paths.as_slice() {
        [checkpoint, _] => checkpoint::load(checkpoint, &chosen.device)?,
        _ => {
            let (policy, config, dir) = checkpoint::load_bundled(&chosen.device)?;
            eprintln!("checkpoint: {} (bundled)", dir.display());
            (policy, config)
        }
    };
    let Some(shape) = args.paths.last() else {
        anyhow::bail!("no shape to complete");
    };
    anyhow::ensure!(
        config.policy.sketch.dim == 3,
        "this checkpoint is a 2D policy; `complete` takes 3D shapes (use `eval` for images)"
    );
    // In the frame the policy was trained in (and synthesis fits in).
    let full = read_shape(shape, 64)?.normalized(64);
    let crop = args.crop.crop(args.crop_seed);
    let input = Target::Voxels(crop.apply(&full));
    let options = CompleteOptions {
        crop,
        samples: args.samples,
        eval_resolution: 64,
        seed: args.seed,
    };
    let completion =
        amortized::complete(&policy, &config.policy, &input, &options, &chosen.device)?;
    let guess_vs_full = completion
        .reconstruction
        .as_ref()
        .and_then(|r| r.chamfer_vs_full(&full, args.seed));
    let guess = serde_json::json!({
        "chamfer_vs_full_x1000": guess_vs_full,
        "visible_loss": completion.visible_loss,
        "candidates": completion.candidates,
        "live_lines": completion.program.live_lines(),
        "seconds": completion.seconds,
    });
    eprintln!(
        "policy's guess: {} lines, Chamfer ×1000 against the whole shape {} ({:.2} s)",
        completion.program.live_lines(),
        guess_vs_full.map_or("-".into(), |c| format!("{c:.3}")),
        completion.seconds
    );
    let written = Written {
        out: &args.out,
        mesh_res: args.mesh_res,
        shape,
        crop,
        full: Some(&full),
        device: &chosen.description,
    };
    let (program, mut metrics) = match (&completion.start, args.refine_steps) {
        (Some(_), steps) if steps > 0 => {
            let synth = amortized::refinement(&config, crop, steps, args.seed);
            let mut progress = Progress::new(synth.steps);
            let device = chosen.device.clone().autodiff();
            let outcome = amortized::refine_completion(
                &input,
                &completion,
                crop,
                &config,
                steps,
                args.seed,
                &device,
                &mut progress,
                &RunControl::default(),
            )?;
            progress.bar.finish_and_clear();
            let metrics = write_outcome(&written, &input, &synth, &outcome)?;
            (outcome.program, metrics)
        }
        _ => {
            std::fs::create_dir_all(&args.out)
                .with_context(|| format!("creating {}", args.out.display()))?;
            let program = completion.program.clone();
            write_program(&args.out, &program)?;
            let mut surface = program_surface(&program, args.mesh_res);
            full.to_model_frame(&mut surface);
            if !surface.triangles.is_empty() {
                let mut bytes = Vec::new();
                write_mesh(&mut bytes, &surface, MeshFormat::Obj)?;
                write_atomically(&args.out.join("mesh.obj"), &bytes)?;
            }
            let metrics = serde_json::json!({
                "shape": shape.display().to_string(),
                "crop": crop,
                "device": chosen.description,
                "chamfer_vs_full_x1000": guess_vs_full,
                "live_lines": program.live_lines(),
                "seconds": completion.seconds,
            });
            (program, metrics)
        }
    };
    metrics["guess"] = guess;
    write_atomically(
        &args.out.join("metrics.json"),
        serde_json::to_string_pretty(&metrics)?.as_bytes(),
    )?;
    let mut out = std::io::stdout().lock();
    write!(out, "{program}")?;
    writeln!(out, "{}", serde_json::to_string(&metrics)?)?;
    Ok(())
}

#[derive(Args)]
pub struct EvalArgs {
    checkpoint: PathBuf,
    #[command(flatten)]
    data: DataArg,
    #[arg(long, default_value_t = 8)]
    samples: usize,
    /// Also refine every completion for this many steps (3D; rows "+ refinement").
    #[arg(long, default_value_t = 0)]
    refine_steps: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The row label of a policy: the full method, or which ablation it is.
fn method_name(config: &TrainConfig) -> String {
    let default = TrainConfig {
        policy: if config.policy.sketch.dim == 2 {
            PolicyConfig::paper_2d()
        } else {
            PolicyConfig::default()
        },
        ..TrainConfig::default()
    };
    let mut changes = Vec::new();
    if config.policy.sketch.lines != default.policy.sketch.lines {
        changes.push(format!("max lines = {}", config.policy.sketch.lines));
    }
    if !config.gumbel {
        changes.push("w/o gumbel-softmax".to_owned());
    }
    if changes.is_empty() {
        "ROAP (amortized, min-sampling)".to_owned()
    } else {
        format!("ROAP, {}", changes.join(", "))
    }
}

/// Table 3's shape: mean Chamfer ×1000 of the completion against the full shape, for the
/// full input, a random octant removed and a random half-plane removed.
pub fn run_eval(args: &EvalArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    let chosen = device::choose(choice)?;
    let (policy, config) = checkpoint::load(&args.checkpoint, &chosen.device)?;
    let baseline = checkpoint::load_baseline(&args.checkpoint, &config, &chosen.device)
        .map_err(anyhow::Error::msg)?;
    let shapes = load_targets(&args.data.data, 64)?;
    let dim = config.policy.sketch.dim;
    anyhow::ensure!(
        shapes.iter().all(|s| s.dim() == dim),
        "this checkpoint is a {dim}D policy; the data is not"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let none = || shapes.iter().map(|_| Crop::None).collect::<Vec<_>>();
    // Crops are 3D: images are evaluated on the full input only.
    let settings = if dim == 3 {
        vec![
            ("full input", none()),
            (
                "crop-octant (7/8)",
                shapes
                    .iter()
                    .map(|_| Crop::random_octant(&mut rng))
                    .collect(),
            ),
            (
                "crop-plane (1/2)",
                shapes
                    .iter()
                    .map(|_| Crop::random_half_space(&mut rng))
                    .collect(),
            ),
        ]
    } else {
        vec![("full input", none())]
    };
    let key = if dim == 3 {
        "chamfer_x1000"
    } else {
        "chamfer_2d_px"
    };
    // An empty reconstruction has no surface: score it as CSGNet scores blank images (16 px)
    // or, in 3D, as far worse than anything seen.
    let worst = if dim == 3 { 1000.0 } else { 16.0 };
    let mut rows = Vec::new();
    for (setting, crops) in settings {
        let mut chamfers = Vec::new();
        let mut baseline_chamfers = Vec::new();
        let mut refined_chamfers = Vec::new();
        let mut seconds = Vec::new();
        let mut baseline_seconds = Vec::new();
        let mut refined_seconds = Vec::new();
        for (shape, crop) in shapes.iter().zip(crops) {
            let input = match shape {
                Target::Voxels(grid) => Target::Voxels(crop.apply(grid)),
                image @ Target::Pixels(_) => image.clone(),
            };
            let options = CompleteOptions {
                crop,
                samples: args.samples,
                eval_resolution: 64,
                seed: args.seed,
            };
            let completion =
                amortized::complete(&policy, &config.policy, &input, &options, &chosen.device)?;
            if let Some(reconstruction) = &completion.reconstruction {
                chamfers.push(
                    shape
                        .score(reconstruction, args.seed)
                        .chamfer
                        .unwrap_or(worst),
                );
            }
            seconds.push(completion.seconds);
            if args.refine_steps > 0 && dim == 3 {
                let outcome = amortized::refine_completion(
                    &input,
                    &completion,
                    crop,
                    &config,
                    args.refine_steps,
                    args.seed,
                    &chosen.device.clone().autodiff(),
                    &mut |_| {},
                    &RunControl::default(),
                )?;
                if let Some(reconstruction) = &outcome.reconstruction {
                    let chamfer = shape
                        .score(reconstruction, args.seed)
                        .chamfer
                        .unwrap_or(worst);
                    tracing::info!(setting, chamfer, seconds = outcome.seconds, "refined");
                    refined_chamfers.push(chamfer);
                }
                refined_seconds.push(completion.seconds + outcome.seconds);
            }
            if let Some(baseline) = &baseline {
                let started = std::time::Instant::now();
                let reconstruction = amortized::complete_baseline(
                    baseline,
                    &config.policy,
                    &input,
                    64,
                    &chosen.device,
                );
                baseline_seconds.push(started.elapsed().as_secs_f64());
                baseline_chamfers.push(
                    shape
                        .score(&reconstruction, args.seed)
                        .chamfer
                        .unwrap_or(worst),
                );
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let mut row = serde_json::json!({
            "setting": setting,
            "method": method_name(&config),
            "shapes": shapes.len(),
            "seconds_per_shape": mean(&seconds),
        });
        row[key] = serde_json::json!(mean(&chamfers));
        rows.push(row);
        if !refined_chamfers.is_empty() {
            let mut row = serde_json::json!({
                "setting": setting,
                "method": format!("{} + refinement ({} steps)", method_name(&config), args.refine_steps),
                "shapes": shapes.len(),
                "seconds_per_shape": mean(&refined_seconds),
            });
            row[key] = serde_json::json!(mean(&refined_chamfers));
            rows.push(row);
        }
        if baseline.is_some() {
            let mut row = serde_json::json!({
                "setting": setting,
                "method": "w/o program (occupancy MLP decoder)",
                "shapes": shapes.len(),
                "seconds_per_shape": mean(&baseline_seconds),
            });
            row[key] = serde_json::json!(mean(&baseline_chamfers));
            rows.push(row);
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "| setting | method | shapes | Chamfer {} | s / shape |",
        if dim == 3 { "×1000" } else { "(px)" }
    )?;
    writeln!(out, "|---|---|---|---|---|")?;
    for row in &rows {
        writeln!(
            out,
            "| {} | {} | {} | {:.3} | {:.3} |",
            row["setting"].as_str().unwrap_or(""),
            row["method"].as_str().unwrap_or(""),
            row["shapes"],
            row[key].as_f64().unwrap_or(f64::NAN),
            row["seconds_per_shape"].as_f64().unwrap_or(f64::NAN),
        )?;
    }
    writeln!(out, "{}", serde_json::to_string(&rows)?)?;
    Ok(())
}

/// Tells the user about skipped steps and a non-finite stop (the non-finite rule).
fn say_how_it_ended<M>(what: &str, trained: &amortized::Trained<M>) {
    if trained.skipped_steps > 0 {
        eprintln!(
            "{what}: skipped {} steps whose loss was not a number",
            trained.skipped_steps
        );
    }
    if trained.stop == roap_engine::train::StopReason::NonFiniteLoss {
        eprintln!(
            "{what}: stopped at step {} because the loss stayed not a number; saving the last \
             parameters whose loss was finite",
            trained.steps
        );
    }
}
