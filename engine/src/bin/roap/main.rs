//! `roap`: the ROAP engine from the command line.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use roap_engine::bench::{self, Implementation, RelaxedExecConfig};
use roap_engine::device::{self, DeviceChoice};
use roap_engine::dsl::Program;
use roap_engine::train::{self, RecoverConfig, TemperatureSchedule, TrainEvent};

/// ROAP: synthesize programs by relaxing them into differentiable soft programs.
///
/// Example: roap recover samples/programs/csg_hidden.txt
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Where tensors live: `auto` uses wgpu on a hardware GPU and the CPU backend otherwise.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    device: DeviceArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Auto,
    Cpu,
    Wgpu,
}

mod amortized;
mod arith;
mod synth;

#[derive(Subcommand)]
enum Command {
    /// Synthesize a CSG program of learned parts that reconstructs one shape (.binvox, a
    /// mesh, or a 2D image), e.g. `roap synth samples/shapes/chair.binvox --out out/chair`.
    /// Writes the program (text and JSON), its mesh, one mesh per part and metrics.json.
    Synth(synth::SynthArgs),
    /// Train an amortized policy (3D CNN encoder → every logit and part parameter, shared
    /// part library) across many shapes, e.g. `roap train procedural:40 --out ckpt`.
    Train(amortized::TrainArgs),
    /// Complete a (cropped) shape with a trained policy (by default the pretrained one that
    /// ships with roap): one forward pass plus min-sampling on the visible input (the guess),
    /// then per-shape synthesis that refines the guess on the visible input, e.g. `roap
    /// complete samples/shapes/table.binvox --crop half-plane --out out/table`.
    #[command(override_usage = "roap complete [OPTIONS] --out <OUT> [CHECKPOINT] <SHAPE>")]
    Complete(amortized::CompleteArgs),
    /// Evaluate a policy (and its baseline) on shapes: full input, octant crop, half-plane
    /// crop; prints a Markdown table in the shape of the paper's Table 3 and its JSON.
    Eval(amortized::EvalArgs),
    /// The arithmetic domain over images (CIFAR-MATH with Fashion-MNIST): train, evaluate,
    /// ablate, sweep (Table 1, Fig. 5).
    Arith {
        #[command(subcommand)]
        arith: arith::ArithCommand,
    },
    /// Find a program from input/output examples of a hidden one (a program text file,
    /// e.g. samples/programs/csg_hidden.txt) and report whether it is equivalent.
    Recover(RecoverArgs),
    /// Read a program file; print its canonical form, simplified form and length.
    Program {
        /// A program in the canonical text form.
        file: PathBuf,
    },
    /// Write a 3D program.json (from `roap synth`) as an OpenSCAD CSG tree, e.g.
    /// `roap export-scad out/mug/program.json --shape samples/shapes/mug.binvox`.
    ExportScad(ExportScadArgs),
    /// Inspect, convert, generate and pack shapes (.binvox, meshes).
    Data {
        #[command(subcommand)]
        data: DataCommand,
    },
    /// Compare two shapes: IoU, or Chamfer distance (3D shapes, or two PNG images in 2D).
    Metrics {
        #[command(subcommand)]
        metric: MetricCommand,
    },
    /// Time engine kernels; prints one JSON line per configuration.
    Bench {
        #[command(subcommand)]
        bench: BenchCommand,
    },
}

#[derive(Args)]
struct RecoverArgs {
    /// The hidden program, in the canonical text form.
    file: PathBuf,
    /// Code lines of the sketch (overparametrize: several times the hidden program's).
    #[arg(long, default_value_t = 20)]
    lines: usize,
    /// Optimisation steps; the length penalty switches on at half of them.
    #[arg(long, default_value_t = 1500)]
    steps: usize,
    /// Input points per step.
    #[arg(long, default_value_t = 512)]
    points: usize,
    /// Adam's learning rate on the architecture logits.
    #[arg(long, default_value_t = 0.1)]
    learning_rate: f64,
    /// λ, the length-penalty weight applied from halfway through training.
    #[arg(long, default_value_t = 1e-3)]
    length_penalty: f64,
    /// Independent searches run side by side in one batch; the best program wins.
    #[arg(long, default_value_t = 4)]
    restarts: usize,
    /// Min-sampling while training: architectures drawn per step, the best one optimised.
    #[arg(long, default_value_t = 4)]
    samples: usize,
    /// Min-sampling at the end: programs drawn from the final policy; the best is kept.
    #[arg(long, default_value_t = 64)]
    final_samples: usize,
    /// Gumbel-softmax temperature at the first and the last step (geometric in between).
    #[arg(long, num_args = 2, value_names = ["START", "END"], default_values_t = [1.0, 0.05])]
    temperature: Vec<f64>,
    /// Plain softmax instead of Gumbel-softmax (the paper's ablation).
    #[arg(long)]
    no_gumbel: bool,
    /// Seed of every random draw (examples, initial logits, Gumbel noise).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the outcome as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Resolution, occupancy, model-space frame and occupied bounds of a shape, as JSON.
    Show {
        /// A .binvox file, or a mesh (.obj .off .stl) to voxelize.
        shape: PathBuf,
        /// Resolution meshes are voxelized at.
        #[arg(long, default_value_t = roap_engine::data::DEFAULT_RESOLUTION)]
        res: usize,
    },
    /// Voxelize a mesh (.obj .off .stl) into a solid grid, normalised into the unit cube
    /// (generalized winding numbers: meshes with holes still give solids).
    Voxelize {
        mesh: PathBuf,
        #[arg(long, default_value_t = roap_engine::data::DEFAULT_RESOLUTION)]
        res: usize,
        /// Output .binvox file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Pack a folder of shapes (.binvox .obj .off .stl .ply) into one training set in
    /// IM-NET's HDF5 layout (voxels, points_RES, values_RES), plus OUT.json naming the shapes.
    Pack {
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = roap_engine::data::DEFAULT_RESOLUTION)]
        res: usize,
        /// Labelled points per shape, half near the surface.
        #[arg(long, default_value_t = roap_engine::data::DEFAULT_SAMPLE_POINTS)]
        points: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Generate a furniture-like solid (chair, table, lamp, shelf, mug, bench, stool,
    /// cabinet, desk, bottle, frame, sofa) from a seed.
    Procedural {
        /// chair, table, lamp, shelf or mug.
        kind: String,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value_t = roap_engine::data::DEFAULT_RESOLUTION)]
        res: usize,
        /// Output .binvox file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a shape's surface as a mesh (surface nets); the format follows --out's
    /// extension: .obj, .stl or .ply.
    Mesh {
        /// A .binvox file, or a mesh (.obj .off .stl .ply) to voxelize first.
        shape: PathBuf,
        #[arg(long, default_value_t = roap_engine::data::DEFAULT_RESOLUTION)]
        res: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum MetricCommand {
    /// Symmetric Chamfer distance ×1000 (BSP-Net convention: 4096 surface points per shape
    /// in the [-0.5, 0.5]³ frame, squared nearest-neighbour distances, two means summed).
    /// Two .png images give the 2D Chamfer in pixels (CSGNet convention) instead.
    Chamfer {
        a: PathBuf,
        b: PathBuf,
        /// Seed of the surface sampling.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Resolution meshes are voxelized at.
        #[arg(long, default_value_t = roap_engine::data::DEFAULT_RESOLUTION)]
        res: usize,
    },
    /// Intersection over union of the two occupancy grids.
    Iou {
        a: PathBuf,
        b: PathBuf,
        /// Resolution meshes are voxelized at.
        #[arg(long, default_value_t = roap_engine::data::DEFAULT_RESOLUTION)]
        res: usize,
    },
}

#[derive(clap::Args)]
struct RelaxedExecArgs {
    #[arg(long, default_value_t = 8)]
    tasks: usize,
    #[arg(long, default_value_t = 128)]
    inputs: usize,
    /// Code lines; a comma-separated list runs one configuration each.
    #[arg(long, value_delimiter = ',', default_values_t = [10, 20, 30, 60])]
    lines: Vec<usize>,
    #[arg(long, default_value_t = 4096)]
    points: usize,
    #[arg(long, default_value_t = 20)]
    iterations: usize,
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Time burn's stock tensor ops instead of the fused CPU kernel.
    #[arg(long)]
    reference: bool,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Forward + backward of the relaxed interpreter on random CSG programs.
    RelaxedExec(RelaxedExecArgs),
    /// Per-shape synthesis with the default settings over a suite of real and hard shapes:
    /// one JSON line per shape, then a summary line; --out also keeps a Markdown table and
    /// every program.
    SynthSuite(synth::SuiteArgs),
}

fn main() -> std::process::ExitCode {
    // One clear line per error (with its causes), never a backtrace dump.
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,wgpu_hal=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let choice = match cli.device {
        DeviceArg::Auto => DeviceChoice::Auto,
        DeviceArg::Cpu => DeviceChoice::Cpu,
        DeviceArg::Wgpu => DeviceChoice::Wgpu,
    };
    match cli.command {
        Command::Program { file } => show_program(&file),
        Command::Recover(args) => run_recover(&args, choice),
        Command::Synth(args) => synth::run_synth(&args, choice),
        Command::Train(args) => amortized::run_train(&args, choice),
        Command::Complete(args) => amortized::run_complete(&args, choice),
        Command::Eval(args) => amortized::run_eval(&args, choice),
        Command::Arith { arith } => arith::run(&arith, choice),
        Command::Bench { bench } => run_bench(&bench, choice),
        Command::ExportScad(args) => run_export_scad(&args),
        Command::Data { data } => run_data(&data),
        Command::Metrics { metric } => run_metric(&metric),
    }
}

fn read_program(file: &PathBuf) -> anyhow::Result<Program> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    text.parse::<Program>()
        .with_context(|| format!("parsing {}", file.display()))
}

fn show_program(file: &PathBuf) -> anyhow::Result<()> {
    let program = read_program(file)?;
    let simplified = program.simplify();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# canonical ({} live non-skip lines)",
        program.length()
    )?;
    write!(out, "{program}")?;
    writeln!(out, "# simplified ({} lines)", simplified.lines().len())?;
    write!(out, "{simplified}")?;
    Ok(())
}

fn recover_config(args: &RecoverArgs) -> RecoverConfig {
    RecoverConfig {
        lines: args.lines,
        steps: args.steps,
        points: args.points,
        learning_rate: args.learning_rate,
        temperature: TemperatureSchedule::Exponential {
            start: args.temperature.first().copied().unwrap_or(1.0),
            end: args.temperature.get(1).copied().unwrap_or(0.05),
        },
        length_penalty: args.length_penalty,
        restarts: args.restarts,
        samples: args.samples,
        final_samples: args.final_samples,
        gumbel: !args.no_gumbel,
        seed: args.seed,
    }
}

fn run_recover(args: &RecoverArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    let hidden = read_program(&args.file)?;
    let chosen = device::choose(choice)?;
    eprintln!("device: {}", chosen.description);
    let config = recover_config(args);
    let bar = ProgressBar::new(config.steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut sink = |event: TrainEvent| {
        if let TrainEvent::Step(report) = event {
            bar.set_position(report.step as u64 + 1);
            bar.set_message(format!(
                "loss {:.5}  E[length] {:.2}  T {:.3}",
                report.fit_loss, report.expected_length, report.temperature
            ));
        }
    };
    let device = chosen.device.clone().autodiff();
    let outcome = train::recover(&hidden, &config, &device, &mut sink)?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    writeln!(out, "# hidden program ({} lines)", hidden.length())?;
    write!(out, "{hidden}")?;
    writeln!(
        out,
        "# found program ({} lines, test MSE {:.3e}, {})",
        outcome.length,
        outcome.test_mse,
        if outcome.equivalent {
            "equivalent"
        } else {
            "NOT equivalent"
        }
    )?;
    write!(out, "{}", outcome.program)?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&outcome)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn run_data(command: &DataCommand) -> anyhow::Result<()> {
    let (shape, res) = match command {
        DataCommand::Show { shape, res } => (shape, *res),
        DataCommand::Voxelize { mesh, res, out } => {
            let started = std::time::Instant::now();
            let bar = ProgressBar::new(100).with_message("voxelizing");
            bar.set_style(
                ProgressStyle::with_template("{msg} {bar:40} {percent}% (eta {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let grid = roap_engine::data::voxelize_with_progress(
                &roap_engine::data::read_mesh(mesh)?,
                *res,
                &|done| bar.set_position((done * 100.0) as u64),
            )?;
            bar.finish_and_clear();
            write_atomically(out, &roap_engine::data::write_binvox(&grid))?;
            eprintln!(
                "voxelized {} at {res}³ in {:.1} s: {} voxels inside, written to {}",
                mesh.display(),
                started.elapsed().as_secs_f64(),
                grid.count(),
                out.display()
            );
            return Ok(());
        }
        DataCommand::Pack {
            dir,
            out,
            res,
            points,
            seed,
        } => {
            return pack(dir, out, *res, *points, *seed);
        }
        DataCommand::Procedural {
            kind,
            seed,
            res,
            out,
        } => {
            use roap_engine::data::{Furniture, generate, write_binvox};
            let kind = Furniture::from_name(kind).with_context(|| {
                let kinds: Vec<&str> = Furniture::ALL.iter().map(|k| k.name()).collect();
                format!("unknown kind {kind:?} ({})", kinds.join(", "))
            })?;
            anyhow::ensure!(
                (1..=roap_engine::data::MAX_VOXELIZE_RESOLUTION).contains(res),
                "resolution must be 1..={}",
                roap_engine::data::MAX_VOXELIZE_RESOLUTION
            );
            write_atomically(out, &write_binvox(&generate(kind, *seed, *res)))?;
            return Ok(());
        }
        DataCommand::Mesh { shape, res, out } => {
            use roap_engine::export::{MeshFormat, isosurface_of_grid, write_mesh};
            let format = MeshFormat::from_path(out).with_context(|| {
                format!(
                    "unknown mesh extension (use .obj, .stl or .ply): {}",
                    out.display()
                )
            })?;
            let mesh = isosurface_of_grid(&roap_engine::data::read_shape(shape, *res)?);
            let mut bytes = Vec::new();
            write_mesh(&mut bytes, &mesh, format)?;
            write_atomically(out, &bytes)?;
            eprintln!(
                "wrote {} triangles to {}",
                mesh.triangles.len(),
                out.display()
            );
            return Ok(());
        }
    };
    let grid = roap_engine::data::read_shape(shape, res)?;
    let resolution = grid.resolution();
    let bounds = grid.occupied_bounds();
    let summary = serde_json::json!({
        "file": shape.display().to_string(),
        "resolution": resolution,
        "occupied": grid.count(),
        "occupancy": grid.count() as f64 / (resolution.pow(3)) as f64,
        "translate": grid.translate,
        "scale": grid.scale,
        "occupied_bounds_voxels": bounds.map(|(lo, hi)| [lo, hi]),
    });
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&summary)?
    )?;
    Ok(())
}

fn run_metric(command: &MetricCommand) -> anyhow::Result<()> {
    use roap_engine::{data::read_shape, metrics};
    if let MetricCommand::Chamfer { a, b, .. } = command {
        let is_png = |p: &PathBuf| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if is_png(a) && is_png(b) {
            let read = |p: &PathBuf| -> anyhow::Result<roap_engine::data::PixelGrid> {
                let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                roap_engine::data::read_png(&bytes)
                    .with_context(|| format!("decoding {}", p.display()))
            };
            let chamfer =
                metrics::chamfer_2d(&read(a)?, &read(b)?).context("the images differ in size")?;
            writeln!(
                std::io::stdout().lock(),
                "{}",
                serde_json::json!({ "chamfer_2d_pixels": chamfer })
            )?;
            return Ok(());
        }
    }
    let (a, b) = match command {
        MetricCommand::Chamfer { a, b, res, .. } | MetricCommand::Iou { a, b, res } => {
            (read_shape(a, *res)?, read_shape(b, *res)?)
        }
    };
    let value = match command {
        MetricCommand::Chamfer { seed, .. } => serde_json::json!({
            "chamfer_x1000": metrics::chamfer_x1000(&a, &b, *seed)
                .context("a shape has no surface to sample")?,
        }),
        MetricCommand::Iou { .. } => serde_json::json!({
            "iou": metrics::iou(&a, &b).with_context(|| format!(
                "resolutions differ: {} vs {}",
                a.resolution(),
                b.resolution()
            ))?,
        }),
    };
    writeln!(std::io::stdout().lock(), "{value}")?;
    Ok(())
}

fn pack(
    dir: &std::path::Path,
    out: &std::path::Path,
    res: usize,
    points: usize,
    seed: u64,
) -> anyhow::Result<()> {
    const SHAPES: [&str; 5] = ["binvox", "obj", "off", "stl", "ply"];
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| SHAPES.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "no shape files (.binvox .obj .off .stl .ply) in {}",
        dir.display()
    );
    let bar = ProgressBar::new(files.len() as u64 * 2);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("reading");
    let mut grids = Vec::with_capacity(files.len());
    for file in &files {
        grids.push(roap_engine::data::read_shape(file, res)?);
        bar.inc(1);
    }
    bar.set_message("sampling");
    let partial = out.with_extension("partial.hdf5");
    roap_engine::data::write_training_set(&partial, &grids, res, points, seed, &|_| bar.inc(1))?;
    std::fs::rename(&partial, out).with_context(|| format!("renaming onto {}", out.display()))?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let sidecar =
        serde_json::json!({ "shapes": names, "resolution": res, "points": points, "seed": seed });
    write_atomically(
        &out.with_extension("json"),
        serde_json::to_string_pretty(&sidecar)?.as_bytes(),
    )?;
    bar.finish_and_clear();
    eprintln!("packed {} shapes into {}", files.len(), out.display());
    Ok(())
}

/// `program.txt` (text form) and `program.json` (re-evaluates exactly) in `out`.
fn write_program(
    out: &std::path::Path,
    program: &roap_engine::graphics::GraphicsProgram,
) -> anyhow::Result<()> {
    write_atomically(&out.join("program.txt"), program.to_string().as_bytes())?;
    write_atomically(
        &out.join("program.json"),
        serde_json::to_string_pretty(program)?.as_bytes(),
    )
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so a
/// failure never leaves a half-written file.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    roap_engine::export::write_atomically(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}

#[derive(clap::Args)]
struct ExportScadArgs {
    /// A program.json written by `roap synth`.
    program: PathBuf,
    /// The shape the program was synthesized from: the .scad is placed in its model space
    /// (the frame of mesh.obj). Without it, the program's normalized frame [-½, ½]³.
    #[arg(long)]
    shape: Option<PathBuf>,
    /// Grid resolution the shape was synthesized at (`roap synth --res`).
    #[arg(long, default_value_t = 64)]
    res: usize,
    /// Samples per axis of each part's mesh, in the part's own frame.
    #[arg(long, default_value_t = roap_engine::graphics::openscad::DEFAULT_PART_RESOLUTION)]
    part_res: usize,
    /// Where to write [default: program.scad beside the program].
    #[arg(long)]
    out: Option<PathBuf>,
}

fn run_export_scad(args: &ExportScadArgs) -> anyhow::Result<()> {
    use roap_engine::graphics::{GraphicsProgram, OpenOptions, Target, openscad};
    let text = std::fs::read_to_string(&args.program)
        .with_context(|| format!("reading {}", args.program.display()))?;
    let program = GraphicsProgram::from_json(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a usable program.json: {e}",
            args.program.display()
        )
    })?;
    let frame = match &args.shape {
        None => None,
        Some(shape) => {
            let options = OpenOptions {
                resolution: args.res,
                ..OpenOptions::default()
            };
            match Target::open(shape, &options)? {
                Target::Voxels(grid) => Some(grid),
                Target::Pixels(_) => anyhow::bail!("--shape must be a 3D shape"),
            }
        }
    };
    let scad = openscad::to_openscad(&program, frame.as_ref(), args.part_res.clamp(4, 256))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.program.with_extension("scad"));
    write_atomically(&out, scad.as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn run_bench(bench: &BenchCommand, choice: DeviceChoice) -> anyhow::Result<()> {
    match bench {
        BenchCommand::SynthSuite(args) => synth::run_suite(args, choice),
        BenchCommand::RelaxedExec(args) => run_relaxed_exec(args, choice),
    }
}

fn run_relaxed_exec(args: &RelaxedExecArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    let RelaxedExecArgs {
        tasks,
        inputs,
        lines,
        points,
        iterations,
        warmup,
        reference,
    } = args;
    let chosen = device::choose(choice)?;
    eprintln!("device: {}", chosen.description);
    let device = chosen.device.clone().autodiff();
    let mut out = std::io::stdout().lock();
    for &line_count in lines {
        let config = RelaxedExecConfig {
            tasks: *tasks,
            inputs: *inputs,
            lines: line_count,
            points: *points,
            warmup: *warmup,
            iterations: (*iterations).max(1),
            implementation: if *reference {
                Implementation::Reference
            } else {
                Implementation::Default
            },
            seed: 0,
        };
        let result = bench::relaxed_exec(&config, &device, chosen.kind.name());
        writeln!(out, "{}", serde_json::to_string(&result)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recover_flags_default_to_the_library_defaults() {
        let cli = Cli::try_parse_from(["roap", "recover", "x.txt"]).unwrap();
        let Command::Recover(args) = cli.command else {
            panic!("parsed the wrong command");
        };
        let from_flags = serde_json::to_value(recover_config(&args)).unwrap();
        let library = serde_json::to_value(RecoverConfig::default()).unwrap();
        assert_eq!(from_flags, library);
    }
}
