//! `roap arith`: the arithmetic domain (paper §4.1, Table 1, Fig. 5) from the command line.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use burn::tensor::Device;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use roap_engine::arith::checkpoint;
use roap_engine::arith::model::{ArithModel, DigitReading};
use roap_engine::arith::{
    Ablation, ArithConfig, ArithResults, ClassReading, Dataset, Evaluation, Task, TaskOutcome,
    TrainStats, evaluate, generate, read_dataset, train, train_and_evaluate_each_alone,
};
use roap_engine::device::{self, DeviceChoice};
use roap_engine::train::{RunControl, TemperatureSchedule, TrainEvent};

use super::write_atomically;

#[derive(Subcommand)]
pub enum ArithCommand {
    /// Train and evaluate one method or several (Table 1), e.g.
    /// `roap arith run --preset quick --ablation full,no-program --out out/arith`.
    Run(Box<RunArgs>),
    /// Evaluate a saved run again: `roap arith eval out/arith/full`.
    Eval {
        /// A folder written by `run` (one per method).
        run: PathBuf,
        /// Folder for this evaluation's programs.md and grounding.md; the run's own are
        /// kept [default: RUN/eval].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        test: TestArgs,
    },
    /// Symbol grounding against the number of tasks and examples per task (Fig. 5):
    /// Symbolic-Acc of the full method for every pair.
    Sweep(SweepArgs),
}

#[derive(Args)]
pub struct DataArgs {
    /// A folder with MNIST-style IDX files (Fashion-MNIST, MNIST) or CIFAR-10 binary
    /// batches [default: /usr/share/datasets/fashion-mnist, else the bundled subset in
    /// samples/fashion-mnist].
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Min-sampling at test time.
#[derive(Args)]
pub struct TestArgs {
    /// Programs drawn per task (the mode among them); the best on the train examples is
    /// the task's program [default: 1024, or what the run used].
    #[arg(long)]
    test_samples: Option<usize>,
    /// Temperature of the draws [default: 3, or what the run used].
    #[arg(long)]
    test_temperature: Option<f64>,
    /// Train examples per task that programs are scored on: half for the refinement's
    /// search, half held out to choose among candidates [default: 200, or what the run used].
    #[arg(long)]
    scored_examples: Option<usize>,
    /// Test-time refinement: Adam steps of a per-task search from the policy's logits, the
    /// CNN frozen; its programs join the draws; 0 turns it off [default: 600, or what the
    /// run used].
    #[arg(long)]
    refine_steps: Option<usize>,
    /// Independent chains of that search per task [default: 16, or what the run used].
    #[arg(long)]
    refine_chains: Option<usize>,
    /// Train examples per chain and step of that search [default: 64, or what the run used].
    #[arg(long)]
    refine_examples: Option<usize>,
    /// The chains start from the policy's logits times this; 0 starts from uniform
    /// [default: 0.03, or what the run used].
    #[arg(long)]
    refine_start_scale: Option<f64>,
    /// Programs drawn from each chain beside its mode at the end of each quarter of the
    /// search; 0 keeps only the modes [default: 16, or what the run used].
    #[arg(long)]
    refine_draws: Option<usize>,
    /// Temperature of those draws [default: 3, or what the run used].
    #[arg(long)]
    refine_draw_temperature: Option<f64>,
    /// Adam steps of a second search from each task's best program after the first; 0 turns
    /// it off [default: 300, or what the run used].
    #[arg(long)]
    refine_polish_steps: Option<usize>,
    /// That search starts from the best program's one-hot α times this [default: 3, or
    /// what the run used].
    #[arg(long)]
    refine_polish_start_scale: Option<f64>,
}

impl TestArgs {
    fn apply(&self, config: &mut ArithConfig) {
        config.test_samples = self.test_samples.unwrap_or(config.test_samples);
        config.test_temperature = self.test_temperature.unwrap_or(config.test_temperature);
        config.eval_examples = self.scored_examples.unwrap_or(config.eval_examples);
        let refine = &mut config.refine;
        refine.steps = self.refine_steps.unwrap_or(refine.steps);
        refine.chains = self.refine_chains.unwrap_or(refine.chains);
        refine.examples = self.refine_examples.unwrap_or(refine.examples);
        refine.start_scale = self.refine_start_scale.unwrap_or(refine.start_scale);
        refine.draws = self.refine_draws.unwrap_or(refine.draws);
        refine.draw_temperature = self
            .refine_draw_temperature
            .unwrap_or(refine.draw_temperature);
        refine.polish_steps = self.refine_polish_steps.unwrap_or(refine.polish_steps);
        refine.polish_start_scale = self
            .refine_polish_start_scale
            .unwrap_or(refine.polish_start_scale);
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Preset {
    /// A few minutes on two CPU cores.
    Quick,
    /// The reported scale (well under an hour per method on two cores).
    Full,
}

/// `DigitReading` on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum Reading {
    ExpectedDigit,
    Scalar,
    LearnedValues,
}

#[derive(Args)]
pub struct RunArgs {
    #[arg(long, value_enum, default_value = "quick")]
    preset: Preset,
    /// Methods, comma separated: full, contiguous (the CNN reads an example's three images as
    /// one picture), no-program, no-amortized, terpret (each task alone, its own CNN),
    /// no-gumbel, max-lines-10, reinforce, supervised (a reference: the CNN on the digit
    /// labels); or `all`.
    #[arg(long, default_value = "full", value_delimiter = ',')]
    ablation: Vec<String>,
    #[command(flatten)]
    data: DataArgs,
    /// Folder for results.md, results.json and one checkpoint folder per method.
    #[arg(long)]
    out: PathBuf,
    /// Override the preset's steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Override the preset's number of tasks.
    #[arg(long)]
    tasks: Option<usize>,
    /// Override the preset's training examples per task.
    #[arg(long)]
    examples: Option<usize>,
    /// Override Adam's step size.
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Data augmentation: move every training image by up to this many pixels each way, at
    /// random [default: the preset's].
    #[arg(long)]
    shift: Option<usize>,
    /// Start this many models from their own initialisations and keep the one that fits
    /// best after `--restart-steps` steps [default: the preset's].
    #[arg(long)]
    restarts: Option<usize>,
    /// Steps each restart trains before the best is chosen [default: the preset's].
    #[arg(long)]
    restart_steps: Option<usize>,
    /// Keep the step size constant instead of decaying it along a cosine.
    #[arg(long)]
    constant_learning_rate: bool,
    /// Override λ, the program-length penalty switched on halfway through training (and
    /// weighed against the fit when min-sampling chooses each task's program at test).
    #[arg(long)]
    length_penalty: Option<f64>,
    /// Override the CNN's width (channels of its residual blocks).
    #[arg(long)]
    channels: Option<usize>,
    /// Override the width of the CNN's hidden layer before its reading.
    #[arg(long)]
    head_width: Option<usize>,
    /// How the CNN reads an image: the expected digit of ten softmax scores (bounded, the
    /// default), one free scalar (the paper's CNN), or the expected value of ten learned
    /// numbers.
    #[arg(long, value_enum)]
    reading: Option<Reading>,
    /// Override the min-sampling draws per task and step.
    #[arg(long)]
    samples: Option<usize>,
    /// Whether min-sampling weighs the policy's noise-free mode against the draws (true) or
    /// draws every sample (false), instead of the preset's choice.
    #[arg(long)]
    mode_among_samples: Option<bool>,
    /// Gumbel-softmax temperature at the first and last step, geometric in between,
    /// instead of the preset's schedule.
    #[arg(long, num_args = 2, value_names = ["START", "END"])]
    temperature: Option<Vec<f64>>,
    /// App. A.1's temperature schedule instead: 1, then 3 from three quarters of training.
    #[arg(long, conflicts_with = "temperature")]
    paper_temperature: bool,
    #[command(flatten)]
    test: TestArgs,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args)]
pub struct SweepArgs {
    #[arg(long, value_delimiter = ',', default_value = "4,16,64")]
    tasks: Vec<usize>,
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    examples: Vec<usize>,
    /// Steps of each run.
    #[arg(long, default_value_t = 800)]
    steps: usize,
    #[command(flatten)]
    data: DataArgs,
    #[arg(long)]
    out: PathBuf,
}

fn dataset(args: &DataArgs) -> anyhow::Result<Dataset> {
    let folder = match &args.data {
        Some(folder) => folder.clone(),
        None => {
            // Debian's dataset-fashion-mnist package, else the sample that ships with roap.
            let system = Path::new("/usr/share/datasets/fashion-mnist");
            if system.exists() {
                system.to_owned()
            } else {
                roap_engine::bundled::locate(roap_engine::bundled::FASHION_MNIST)?
            }
        }
    };
    let data = read_dataset(&folder)?;
    eprintln!(
        "data: {} ({} train, {} test images of {}×{}×{})",
        folder.display(),
        data.train.len(),
        data.test.len(),
        data.train.channels,
        data.train.height,
        data.train.width
    );
    Ok(data)
}

fn progress_bar(steps: usize, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(prefix.to_owned());
    bar
}

/// `evaluate`, with a bar for its test-time search (minutes at the full preset).
fn evaluate_showing_progress(
    model: &ArithModel,
    config: &ArithConfig,
    tasks: &[Task],
    data: &Dataset,
    stats: TrainStats,
    device: &Device,
) -> Evaluation {
    let bar = progress_bar(
        config.refine.total_steps(),
        &format!("{} test-time search", config.ablation.name()),
    );
    let evaluation = evaluate(model, config, tasks, data, stats, device, &mut |done, _| {
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    evaluation
}

fn run_one(
    config: &ArithConfig,
    data: &Dataset,
    out: &Path,
    choice: DeviceChoice,
) -> anyhow::Result<ArithResults> {
    let chosen = device::choose(choice)?;
    let tasks = generate(&config.tasks, &data.train, &data.test);
    let device = chosen.device.clone().autodiff();
    let folder = out.join(config.ablation.name());
    if config.ablation == Ablation::Terpret {
        // A model per task: nothing to save for `eval`; the results are written.
        let bar = progress_bar(tasks.len(), "terpret: tasks trained alone");
        let evaluation = train_and_evaluate_each_alone(
            config,
            &tasks,
            data,
            &device,
            &RunControl::default(),
            &mut |done, _| bar.set_position(done as u64),
        )?;
        bar.finish_and_clear();
        write_evaluation(&folder, &evaluation)?;
        return Ok(evaluation.results);
    }
    let bar = progress_bar(config.total_steps(), config.ablation.name());
    // `start` counts restarts: each begins again at step 0.
    let mut curve = String::from("start,step,loss,fit_loss,expected_length,temperature\n");
    let (mut start, mut last_step) = (0, 0);
    let mut sink = |event: TrainEvent| {
        if let TrainEvent::Restarted { kept, losses } = &event {
            bar.suspend(|| tracing::info!(kept, ?losses, "restarts compared"));
            start = *kept;
        }
        if let TrainEvent::Step(report) = event {
            if report.step < last_step {
                start += 1;
            }
            last_step = report.step;
            curve.push_str(&format!(
                "{start},{},{},{},{},{}\n",
                report.step,
                report.loss,
                report.fit_loss,
                report.expected_length,
                report.temperature
            ));
            if report.step % 100 == 0 {
                bar.suspend(|| {
                    tracing::info!(
                        step = report.step,
                        fit = report.fit_loss,
                        expected_length = report.expected_length,
                        temperature = report.temperature,
                        "training"
                    );
                });
            }
            bar.inc(1);
            bar.set_message(format!(
                "fit {:.5}  E[len] {:.1}  T {:.1}",
                report.fit_loss, report.expected_length, report.temperature
            ));
        }
    };
    let (model, stats) = train(
        config,
        &tasks,
        data,
        &device,
        &mut sink,
        &RunControl::default(),
    )?;
    bar.finish_and_clear();
    if stats.stop == roap_engine::train::StopReason::NonFiniteLoss {
        eprintln!(
            "{}: training stopped after {} steps because the loss stayed not a number; \
             keeping the last parameters whose loss was finite",
            config.ablation.label(),
            stats.steps
        );
    }
    // Saved before the (minutes-long) evaluation, so an interrupted one loses no training.
    checkpoint::save(&folder, model.clone(), config, &tasks)?;
    write_atomically(&folder.join("training.csv"), curve.as_bytes())?;
    let evaluation = evaluate_showing_progress(&model, config, &tasks, data, stats, &device);
    write_evaluation(&folder, &evaluation)?;
    Ok(evaluation.results)
}

pub fn run(command: &ArithCommand, choice: DeviceChoice) -> anyhow::Result<()> {
    match command {
        ArithCommand::Run(args) => run_methods(args, choice),
        ArithCommand::Eval {
            run,
            out,
            data,
            test,
        } => {
            let data = dataset(data)?;
            let chosen = device::choose(choice)?;
            let device = chosen.device.clone().autodiff();
            let (model, mut config, tasks) = checkpoint::load(run, &device)?;
            test.apply(&mut config);
            let stats = TrainStats {
                steps: config.steps,
                ..Default::default()
            };
            let evaluation =
                evaluate_showing_progress(&model, &config, &tasks, &data, stats, &device);
            write_evaluation(
                &out.clone().unwrap_or_else(|| run.join("eval")),
                &evaluation,
            )?;
            print_results(&[evaluation.results])
        }
        ArithCommand::Sweep(args) => sweep(args, choice),
    }
}

fn run_methods(args: &RunArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    // Names first: a typo is reported before the dataset is read.
    let methods: Vec<Ablation> = if args.ablation.iter().any(|a| a == "all") {
        Ablation::ALL.to_vec()
    } else {
        args.ablation
            .iter()
            .map(|name| {
                Ablation::from_name(name).with_context(|| {
                    format!(
                        "unknown method {name:?}; known: {}, all",
                        Ablation::ALL.map(Ablation::name).join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let data = dataset(&args.data)?;
    let mut base = match args.preset {
        Preset::Quick => ArithConfig::quick(),
        Preset::Full => ArithConfig::full(),
    };
    base.seed = args.seed;
    base.tasks.seed = args.seed;
    base.model.image_channels = data.train.channels;
    base.model.image_size = [data.train.height, data.train.width];
    if let Some(steps) = args.steps {
        base.steps = steps;
    }
    if let Some(tasks) = args.tasks {
        base.tasks.tasks = tasks;
    }
    if let Some(examples) = args.examples {
        base.tasks.train_examples = examples;
    }
    if let Some(lr) = args.learning_rate {
        base.learning_rate = lr;
    }
    if let Some(lambda) = args.length_penalty {
        base.length_penalty = lambda;
    }
    args.test.apply(&mut base);
    if args.constant_learning_rate {
        base.cosine_decay = false;
    }
    if let Some(channels) = args.channels {
        base.model.channels = channels;
    }
    if let Some(shift) = args.shift {
        base.shift = shift;
    }
    if let Some(restarts) = args.restarts {
        base.restarts = restarts;
    }
    if let Some(steps) = args.restart_steps {
        base.restart_steps = steps;
    }
    if let Some(width) = args.head_width {
        base.model.head_width = width;
    }
    if let Some(reading) = args.reading {
        base.model.reading = match reading {
            Reading::ExpectedDigit => DigitReading::ExpectedDigit,
            Reading::Scalar => DigitReading::Scalar,
            Reading::LearnedValues => DigitReading::LearnedValues,
        };
    }
    if let Some(samples) = args.samples {
        base.samples = samples;
    }
    if let Some(mode) = args.mode_among_samples {
        base.mode_among_samples = mode;
    }
    // clap gives `--temperature` exactly two values and refuses it beside `--paper-temperature`.
    if let Some(&[start, end]) = args.temperature.as_deref() {
        base.temperature = TemperatureSchedule::Exponential { start, end };
    }
    if args.paper_temperature {
        base.temperature = TemperatureSchedule::paper_arithmetic();
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut rows = Vec::new();
    for method in methods {
        let config = ArithConfig {
            ablation: method,
            ..base.clone()
        };
        let results = run_one(&config, &data, &args.out, choice)?;
        eprintln!("{}", serde_json::to_string(&results)?);
        rows.push(results);
        // Written after every method, so a long run leaves what it finished.
        write_results(&args.out, &rows)?;
    }
    print_results(&rows)
}

fn markdown(rows: &[ArithResults]) -> String {
    let mut text = String::from(
        "| method | Program-Acc | Symbolic-Acc | Test-Symbolic-Acc | Loss | Test-Loss | OOD-Loss |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        // Program-Acc means nothing without a program, or with the equation given.
        let program_acc = match r.ablation {
            Some(Ablation::NoProgram) => "—".to_owned(),
            Some(Ablation::Supervised) => "(given)".to_owned(),
            _ => format!("{:.1}%", 100.0 * r.program_acc),
        };
        text.push_str(&format!(
            "| {} | {program_acc} | {:.1}% | {:.1}% | {:.2e} | {:.2e} | {:.2e} |\n",
            r.method,
            100.0 * r.symbolic_acc,
            100.0 * r.test_symbolic_acc,
            r.loss,
            r.test_loss,
            r.ood_loss
        ));
    }
    if let Some(r) = rows.first() {
        let refinement = if r.refine_steps == 0 {
            "no refinement".to_owned()
        } else {
            let polish = if r.refine_polish_steps == 0 {
                String::new()
            } else {
                format!(
                    ", then {} steps from the best program",
                    r.refine_polish_steps
                )
            };
            format!(
                "{} chains of {} refinement steps (each chain's mode and {} draws at each \
                 quarter){polish}",
                r.refine_chains, r.refine_steps, r.refine_draws
            )
        };
        let draws = rows
            .iter()
            .map(|r| r.test_samples.saturating_sub(1))
            .max()
            .unwrap_or(0);
        text.push_str(&format!(
            "\nAt test, per task: the policy's mode, {draws} draws and {refinement}; the best on \
             held-out train examples is the task's program.\n",
        ));
        if rows
            .iter()
            .any(|r| r.test_samples.saturating_sub(1) != draws)
        {
            text.push_str("w/o gumbel-softmax has no draws: only its mode and the refinement.\n");
        }
    }
    text
}

/// A method's folder (made if missing) gets `programs.md` and `grounding.md`.
fn write_evaluation(folder: &Path, evaluation: &Evaluation) -> anyhow::Result<()> {
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    write_programs(folder, &evaluation.tasks)?;
    write_grounding(folder, &evaluation.grounding)
}

/// `grounding.md`: the symbol the CNN learned for each class of test image.
fn write_grounding(folder: &Path, classes: &[ClassReading]) -> anyhow::Result<()> {
    let mut text = String::from(
        "How the trained CNN reads each class of test image (the right grounding reads class c as digit c).\n\n\
         | class | images | mean reading | read as (share) | read as its own digit |\n\
         |---|---|---|---|---|\n",
    );
    for c in classes {
        text.push_str(&format!(
            "| {} | {} | {:.2} | {} ({:.0}%) | {:.0}% |\n",
            c.class,
            c.images,
            c.mean_reading,
            c.usual_digit,
            100.0 * c.usual_share,
            100.0 * c.correct_share,
        ));
    }
    write_atomically(&folder.join("grounding.md"), text.as_bytes())
}

/// `programs.md`: every task's hidden equation beside the program found for it, and how
/// well each fits the task's train examples as the trained CNN reads them.
fn write_programs(folder: &Path, outcomes: &[TaskOutcome]) -> anyhow::Result<()> {
    let mut text = String::from(
        "| task | hidden equation | program found | computes it | loss of program | loss of equation |\n\
         |---|---|---|---|---|---|\n",
    );
    for (i, o) in outcomes.iter().enumerate() {
        text.push_str(&format!(
            "| {i} | `{}` | {} | {} | {} | {:.2e} |\n",
            o.equation,
            o.program
                .as_ref()
                .map_or("—".to_owned(), |p| format!("`{p}`")),
            if o.correct { "yes" } else { "no" },
            o.program_loss
                .map_or("—".to_owned(), |l| format!("{l:.2e}")),
            o.equation_loss,
        ));
    }
    write_atomically(&folder.join("programs.md"), text.as_bytes())
}

fn write_results(out: &Path, rows: &[ArithResults]) -> anyhow::Result<()> {
    write_atomically(&out.join("results.md"), markdown(rows).as_bytes())?;
    write_atomically(
        &out.join("results.json"),
        serde_json::to_string_pretty(rows)?.as_bytes(),
    )
}

fn print_results(rows: &[ArithResults]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", markdown(rows))?;
    let json = match rows {
        [one] => serde_json::to_string(one)?,
        many => serde_json::to_string(&serde_json::json!({ "rows": many }))?,
    };
    writeln!(stdout, "{json}")?;
    Ok(())
}

fn sweep(args: &SweepArgs, choice: DeviceChoice) -> anyhow::Result<()> {
    let data = dataset(&args.data)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut cells = Vec::new();
    for &tasks in &args.tasks {
        for &examples in &args.examples {
            let mut config = ArithConfig::quick();
            config.model.image_channels = data.train.channels;
            config.model.image_size = [data.train.height, data.train.width];
            config.steps = args.steps;
            config.tasks.tasks = tasks;
            config.tasks.train_examples = examples;
            let out = args.out.join(format!("tasks{tasks}_examples{examples}"));
            let results = run_one(&config, &data, &out, choice)?;
            eprintln!(
                "tasks {tasks} examples {examples}: {}",
                serde_json::to_string(&results)?
            );
            cells.push(serde_json::json!({
                "tasks": tasks,
                "examples_per_task": examples,
                "symbolic_acc": results.symbolic_acc,
                "test_symbolic_acc": results.test_symbolic_acc,
                "program_acc": results.program_acc,
            }));
        }
    }
    let mut table = String::from("| tasks \\ examples per task |");
    for e in &args.examples {
        table.push_str(&format!(" {e} |"));
    }
    table.push_str(&format!("\n|---|{}\n", "---|".repeat(args.examples.len())));
    for (i, t) in args.tasks.iter().enumerate() {
        table.push_str(&format!("| {t} |"));
        for j in 0..args.examples.len() {
            let cell = &cells[i * args.examples.len() + j];
            table.push_str(&format!(
                " {:.1}% |",
                100.0 * cell["symbolic_acc"].as_f64().unwrap_or(f64::NAN)
            ));
        }
        table.push('\n');
    }
    write_atomically(&args.out.join("sweep.md"), table.as_bytes())?;
    let json = serde_json::to_string(&serde_json::json!({ "cells": cells }))?;
    write_atomically(&args.out.join("sweep.json"), json.as_bytes())?;
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{table}")?;
    writeln!(stdout, "{json}")?;
    Ok(())
}
