//! `roap synth`: per-shape synthesis from the command line.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng as _;
use roap_engine::data::{Crop, PixelGrid, VoxelGrid};
use roap_engine::device::{self, DeviceChoice};
use roap_engine::export::{MeshFormat, write_mesh, write_parts};
use roap_engine::graphics::meshes::{part_meshes, program_surface};
use roap_engine::graphics::{
    GraphicsProgram, OpenOptions, Reconstruction, SynthConfig, SynthOutcome, Target, synthesize,
};
use roap_engine::train::{EventSink, RunControl, TemperatureSchedule, TrainEvent};

use super::{write_atomically, write_program};

#[derive(Args)]
pub struct SynthArgs {
    /// The shape: .binvox, or a mesh (.obj .off .stl .ply) voxelized at --res, for a 3D
    /// program; a .png image, or an image of an HDF5 file (.hdf5/.h5, see --index and
    /// --key), for a 2D one.
    shape: PathBuf,
    /// Which image of an HDF5 file.
    #[arg(long, default_value_t = 0)]
    index: usize,
    /// The HDF5 dataset: IM-NET's voxels, BSP-Net's pixels, CSGNet's train_images,
    /// val_images or test_images [default: voxels when the file has them, else pixels].
    #[arg(long)]
    key: Option<String>,
    /// Folder for program.txt, program.json, program.scad (3D), mesh.obj, parts/ and
    /// metrics.json.
    #[arg(long)]
    out: PathBuf,
    /// Grid resolution the shape is fitted at (binvox files are resampled to it).
    #[arg(long, default_value_t = 64)]
    res: usize,
    /// Remove part of the input first, to test completion.
    #[arg(long, value_enum, default_value = "none")]
    crop: CropArg,
    /// Seed of the random octant or half-plane.
    #[arg(long, default_value_t = 0)]
    crop_seed: u64,
    /// Optimisation steps: the search (the length penalty switches on halfway through it),
    /// then up to 400 of them polish the kept program's parts [default: 1200].
    #[arg(long)]
    steps: Option<usize>,
    /// Code lines of each component's program [default: 20].
    #[arg(long)]
    lines: Option<usize>,
    /// Parts each component chooses from (3D) [default: 128; 2D: 16 circles + 16 squares].
    #[arg(long)]
    parts: Option<usize>,
    /// Labelled points each step's loss sees [default: 4096].
    #[arg(long)]
    batch_points: Option<usize>,
    /// Adam's step size for the architecture logits [default: 0.02].
    #[arg(long)]
    architecture_lr: Option<f64>,
    /// Adam's step size for the parts, their placement and the library [default: 0.02].
    #[arg(long)]
    shape_lr: Option<f64>,
    /// Gumbel-softmax temperature at the first and the last step, geometric in between
    /// [default: 1 0.02].
    #[arg(long, num_args = 2, value_names = ["START", "END"])]
    temperature: Option<Vec<f64>>,
    /// λ, the length-penalty weight applied from halfway through training [default: 1e-4].
    #[arg(long)]
    length_penalty: Option<f64>,
    /// Min-sampling while training: the policy's mode plus this many − 1 Gumbel draws per
    /// step; the best is optimised [default: 2].
    #[arg(long)]
    samples: Option<usize>,
    /// Plain softmax instead of Gumbel-softmax (the paper's ablation).
    #[arg(long)]
    no_gumbel: bool,
    /// Independent starts trained side by side; the best program is kept [default: 2].
    #[arg(long)]
    restarts: Option<usize>,
    /// Logit prior towards the chain l_i = op(l_{i−1}, p_i) [default: 3.5].
    #[arg(long)]
    chain_prior: Option<f64>,
    /// Logit prior towards union [default: 1.5].
    #[arg(long)]
    union_prior: Option<f64>,
    /// Resolution of the exported meshes.
    #[arg(long, default_value_t = 64)]
    mesh_res: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CropArg {
    None,
    /// A random octant removed (the paper's 7/8 input).
    Octant,
    /// A random half-space removed (the paper's 1/2 input).
    HalfPlane,
    /// The half with x > 0 removed.
    FixedPlane,
}

impl SynthArgs {
    fn config(&self, dim: usize) -> SynthConfig {
        let mut config = SynthConfig {
            seed: self.seed,
            gumbel: !self.no_gumbel,
            ..SynthConfig::for_dim(dim)
        };
        let set = |slot: &mut usize, value: Option<usize>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut config.steps, self.steps);
        set(&mut config.sketch.lines, self.lines);
        set(&mut config.sketch.parts, self.parts);
        set(&mut config.batch_points, self.batch_points);
        set(&mut config.min_samples, self.samples);
        set(&mut config.restarts, self.restarts);
        if let Some(prior) = self.chain_prior {
            config.chain_bias = prior;
        }
        if let Some(prior) = self.union_prior {
            config.union_bias = prior;
        }
        if let Some(lr) = self.architecture_lr {
            config.architecture_learning_rate = lr;
        }
        if let Some(lr) = self.shape_lr {
            config.shape_learning_rate = lr;
        }
        if let Some(l) = self.length_penalty {
            config.length_penalty = l;
        }
        if let Some(t) = &self.temperature {
            config.temperature = TemperatureSchedule::Exponential {
                start: t.first().copied().unwrap_or(1.0),
                end: t.get(1).copied().unwrap_or(0.02),
            };
        }
        config
    }

    fn crop(&self) -> Crop {
        self.crop.crop(self.crop_seed)
    }
}

impl CropArg {
    pub fn crop(self, seed: u64) -> Crop {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        match self {
            Self::None => Crop::None,
            Self::Octant => Crop::random_octant(&mut rng),
            Self::HalfPlane => Crop::random_half_space(&mut rng),
            Self::FixedPlane => Crop::fixed_plane(),
        }
    }
}

pub fn run_synth(args: &SynthArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    let loaded = Target::open(
        &args.shape,
        &OpenOptions {
            resolution: args.res,
            index: args.index,
            key: args.key.clone(),
        },
    )?;
    let crop = args.crop();
    let (target, full) = match &loaded {
        Target::Voxels(full) => (Target::Voxels(crop.apply(full)), Some(full)),
        Target::Pixels(image) => {
            anyhow::ensure!(
                matches!(crop, Crop::None),
                "--crop applies to 3D shapes only"
            );
            (Target::Pixels(image.clone()), None)
        }
    };
    let chosen = device::choose(choice)?;
    eprintln!("device: {}", chosen.description);
    // What the crop removed is unknown, not empty: neither fitted nor scored, so the program
    // may complete it. On the ShapeNet biplane's half-plane crop, Chamfer ×1000 against the
    // whole shape: 6.3 (300 steps) and 14.1 (1200) so, 20.7 and 20.2 fitting it as empty.
    let mut config = args.config(target.dim());
    config.unseen = crop;
    let mut progress = Progress::new(config.steps);
    let device = chosen.device.clone().autodiff();
    let outcome = synthesize(
        &target,
        &config,
        &device,
        &mut progress,
        &RunControl::default(),
    )?;
    progress.bar.finish_and_clear();
    let metrics = write_outcome(
        &Written {
            out: &args.out,
            mesh_res: args.mesh_res,
            shape: &args.shape,
            crop,
            full,
            device: &chosen.description,
        },
        &target,
        &config,
        &outcome,
    )?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", outcome.program)?;
    writeln!(out, "{}", serde_json::to_string(&metrics)?)?;
    Ok(())
}

/// A progress bar for a synthesis run, with the last reported Chamfer.
pub struct Progress {
    pub bar: ProgressBar,
    chamfer: String,
}

impl Progress {
    pub fn new(steps: usize) -> Self {
        let bar = ProgressBar::new(steps as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self {
            bar,
            chamfer: "-".into(),
        }
    }
}

impl EventSink for Progress {
    fn event(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Step(report) => {
                self.bar.set_position(report.step as u64 + 1);
                self.bar.set_message(format!(
                    "loss {:.4}  E[len] {:.1}  T {:.3}  chamfer {}",
                    report.fit_loss, report.expected_length, report.temperature, self.chamfer
                ));
            }
            TrainEvent::Metrics(m) => {
                self.chamfer = m.chamfer.map_or("-".into(), |c| format!("{c:.3}"));
                tracing::info!(step = m.step, seconds = m.elapsed_seconds, chamfer = ?m.chamfer, iou = ?m.iou, live_lines = m.live_lines, "metrics");
            }
            _ => {}
        }
    }
}

/// Where a synthesis result goes and what it was made from.
pub struct Written<'a> {
    pub out: &'a Path,
    pub mesh_res: usize,
    pub shape: &'a Path,
    pub crop: Crop,
    /// The whole 3D shape (before the crop).
    pub full: Option<&'a VoxelGrid>,
    pub device: &'a str,
}

/// Writes program.json, program.txt, metrics.json and the meshes (or, in 2D, the
/// reconstruction image) of `outcome`; returns the metrics.
pub fn write_outcome(
    written: &Written<'_>,
    target: &Target,
    config: &SynthConfig,
    outcome: &SynthOutcome,
) -> anyhow::Result<serde_json::Value> {
    let out = written.out;
    std::fs::create_dir_all(out.join("parts"))
        .with_context(|| format!("creating {}", out.display()))?;
    if let Some(warning) = outcome.poor_fit_warning() {
        eprintln!("warning: {warning}");
    }
    if outcome.stop == roap_engine::graphics::StopReason::NonFiniteLoss {
        eprintln!(
            "warning: stopped after {} steps because the loss stayed not a number; kept the \
             program of the last good step",
            outcome.steps
        );
    } else if outcome.skipped_steps > 0 {
        eprintln!(
            "note: skipped {} steps whose loss was not a number",
            outcome.skipped_steps
        );
    }
    let program = &outcome.program;
    write_program(out, program)?;
    // Completion quality: against the full shape when the input was cropped.
    let against_full = match (written.crop, written.full, &outcome.reconstruction) {
        (Crop::None, ..) => None,
        (_, Some(full), Some(reconstruction)) => reconstruction.chamfer_vs_full(full, config.seed),
        _ => None,
    };
    let (chamfer_key, soft_key) = if target.dim() == 3 {
        ("chamfer_x1000", "soft_chamfer_x1000")
    } else {
        ("chamfer_2d_px", "soft_chamfer_2d_px")
    };
    let mut metrics = serde_json::json!({
        "shape": written.shape.display().to_string(),
        "crop": written.crop,
        "device": written.device,
        "chamfer_vs_full_x1000": against_full,
        "iou": outcome.iou,
        "live_lines": outcome.live_lines,
        "live_parts": outcome.live_parts,
        "steps": outcome.steps,
        "kept_step": outcome.chosen_step,
        "seconds": outcome.seconds,
        "final_loss": outcome.final_loss,
        "stop": outcome.stop,
        "skipped_steps": outcome.skipped_steps,
        "config": config,
    });
    metrics[chamfer_key] = serde_json::json!(outcome.chamfer);
    metrics[soft_key] = serde_json::json!(outcome.soft_chamfer);
    let text = serde_json::to_string_pretty(&metrics)?;
    write_atomically(&out.join("metrics.json"), text.as_bytes())?;
    match (written.full, &outcome.reconstruction) {
        (Some(full), _) => write_meshes(out, written.mesh_res, program, full)?,
        (None, Some(Reconstruction::Pixels(pixels))) => {
            write_atomically(&out.join("reconstruction.png"), &png_of(pixels)?)?;
        }
        _ => {}
    }
    Ok(metrics)
}

/// The program's surface and one mesh per live part, in the shape's model space.
fn write_meshes(
    out: &Path,
    mesh_res: usize,
    program: &GraphicsProgram,
    full: &VoxelGrid,
) -> anyhow::Result<()> {
    let to_model = |mesh: &mut roap_engine::data::TriangleMesh| full.to_model_frame(mesh);
    let scad = roap_engine::graphics::openscad::to_openscad(
        program,
        Some(full),
        roap_engine::graphics::openscad::DEFAULT_PART_RESOLUTION,
    )?;
    write_atomically(&out.join("program.scad"), scad.as_bytes())?;
    let mut surface = program_surface(program, mesh_res);
    to_model(&mut surface);
    write_file(&out.join("mesh.obj"), |file| {
        write_mesh(file, &surface, MeshFormat::Obj)
    })?;
    // A live part can lie outside the unit cube (it then adds nothing): it has no mesh.
    let mut parts: Vec<_> = part_meshes(program, mesh_res)
        .into_iter()
        .map(|(_, part)| part)
        .filter(|p| !p.mesh.triangles.is_empty())
        .collect();
    for part in &mut parts {
        to_model(&mut part.mesh);
        let path = out.join("parts").join(format!("{}.ply", part.name));
        write_file(&path, |file| {
            write_parts(file, std::slice::from_ref(part), MeshFormat::Ply)
        })?;
    }
    if !parts.is_empty() {
        write_file(&out.join("parts").join("all_parts.ply"), |file| {
            write_parts(file, &parts, MeshFormat::Ply)
        })?;
    }
    Ok(())
}

/// A black-and-white PNG of an image.
fn png_of(pixels: &PixelGrid) -> anyhow::Result<Vec<u8>> {
    let image = image::GrayImage::from_fn(pixels.width as u32, pixels.height as u32, |c, r| {
        image::Luma([if pixels.get(r as isize, c as isize) {
            255
        } else {
            0
        }])
    });
    let mut bytes = Vec::new();
    image.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )?;
    Ok(bytes)
}

fn write_file(
    path: &Path,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), roap_engine::export::ExportError>,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    write(&mut bytes).with_context(|| format!("encoding {}", path.display()))?;
    write_atomically(path, &bytes)
}

#[derive(Args)]
pub struct SuiteArgs {
    /// Folder for suite.md (the Markdown table), suite.jsonl and every program.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run images 0–7 of images2d/bsp2d_complex_elements.hdf5 (2D) instead of the 3D shapes.
    #[arg(long)]
    images: bool,
    /// The shared test data (shapenet/, binvox/, meshes/, images2d/).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// The bundled sample shapes.
    #[arg(long, default_value = "samples/shapes")]
    samples: PathBuf,
    /// Only the shapes with these names (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Optimisation steps [default: synth's].
    #[arg(long)]
    steps: Option<usize>,
    /// Settings as JSON merged over synth's defaults, e.g. '{"restarts": 3}' (for
    /// experiments; the suite's point is the defaults).
    #[arg(long)]
    config: Option<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run_suite(args: &SuiteArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    use roap_engine::bench::synth_suite as suite;
    let (mut shapes, missing) = if args.images {
        let file = args.data.join("images2d/bsp2d_complex_elements.hdf5");
        anyhow::ensure!(file.is_file(), "{} not found", file.display());
        (suite::shapes_2d(&file, 0..8), Vec::new())
    } else {
        suite::shapes_3d(&args.data, &args.samples)
    };
    for line in &missing {
        eprintln!("skipped {line}");
    }
    if !args.only.is_empty() {
        shapes.retain(|s| args.only.contains(&s.name));
    }
    anyhow::ensure!(!shapes.is_empty(), "no suite shape found");
    let chosen = device::choose(choice)?;
    eprintln!("device: {}", chosen.description);
    let device = chosen.device.clone().autodiff();
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out.join("programs"))
            .with_context(|| format!("creating {}", out.display()))?;
    }
    let mut rows = Vec::new();
    let mut jsonl = String::new();
    for shape in &shapes {
        let target = suite::open(shape, roap_engine::data::DEFAULT_RESOLUTION)
            .with_context(|| format!("opening {}", shape.name))?;
        let mut config = SynthConfig::for_dim(target.dim());
        config.seed = args.seed;
        if let Some(steps) = args.steps {
            config.steps = steps;
        }
        if let Some(overrides) = &args.config {
            config = merged(&config, overrides)?;
        }
        let row = suite::run_shape(&shape.name, &target, &config, &device)
            .with_context(|| format!("synthesizing {}", shape.name))?;
        let line = serde_json::to_string(&row)?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        jsonl.push_str(&line);
        jsonl.push('\n');
        if let Some(out) = &args.out {
            let path = out.join("programs").join(format!("{}.txt", shape.name));
            write_atomically(&path, row.program.as_bytes())?;
        }
        rows.push(row);
    }
    let summary = if args.images {
        serde_json::to_string(&suite::summarize_images(&rows))?
    } else {
        serde_json::to_string(&suite::summarize(&rows))?
    };
    writeln!(std::io::stdout().lock(), "{summary}")?;
    jsonl.push_str(&summary);
    jsonl.push('\n');
    if let Some(out) = &args.out {
        let mut table = suite::markdown(&rows);
        table.push_str(&format!("\n`{summary}`\n"));
        for line in &missing {
            table.push_str(&format!("\nskipped {line}\n"));
        }
        write_atomically(&out.join("suite.md"), table.as_bytes())?;
        write_atomically(&out.join("suite.jsonl"), jsonl.as_bytes())?;
    }
    Ok(())
}

/// `config` with the fields of the JSON object `overrides` replaced (nested objects merge).
fn merged(config: &SynthConfig, overrides: &str) -> anyhow::Result<SynthConfig> {
    fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
        match (base, over) {
            (serde_json::Value::Object(base), serde_json::Value::Object(over)) => {
                for (key, value) in over {
                    merge(base.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
            (base, over) => *base = over,
        }
    }
    let mut value = serde_json::to_value(config)?;
    merge(
        &mut value,
        serde_json::from_str(overrides).context("--config is not JSON")?,
    );
    serde_json::from_value(value).context("--config names settings synth does not have")
}
