//! Command-line interface: `run`, `check`, `plan`, `partial`, `merge`,
//! `compare`, `monitor`, `join-ground-truth`, `monitor-history`, `demo`, `demo-model`, and how
//! errors become exit codes.

use crate::distributed::{self, HeaderMode};
use crate::error::JobError;
use crate::{check, demo, demo_model, job, layout, monitor, predictor};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// A fast, drop-in reimplementation of the SageMaker Clarify processing container.
#[derive(Debug, Parser)]
#[command(
    name = "openclarify",
    version,
    arg_required_else_help = true,
    after_help = "Examples:\n  openclarify demo                       # bundled example, results in ./openclarify-demo\n  openclarify check --config analysis_config.json --data data.csv --endpoint-url http://localhost:8080\n                                         # is config, data and model ready? (seconds, one request)\n  openclarify run                        # inside a processing container (/opt/ml/processing/...)\n  openclarify run --config analysis_config.json --data data.csv --output out/"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "OPENCLARIFY_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for CloudWatch and log pipelines).
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Clarify processing job (the container's entrypoint).
    #[command(
        after_help = "Example:\n  openclarify run --config analysis_config.json --data german.csv --output out/"
    )]
    Run(RunArgs),
    /// Check config, dataset and model without running the job: prints how
    /// each column and the model's answer are read, and a verdict per method.
    #[command(
        after_help = "Examples:\n  openclarify demo-model --port 8080 &\n  openclarify check --config test-fixtures/demo/analysis_config.json --data test-fixtures/german.csv \\\n                    --endpoint-url http://localhost:8080\n  openclarify check --config analysis_config.json --show-config    # the config with defaults filled in\n\nExit code 0 when every configured method is ready, 1 otherwise."
    )]
    Check(CheckArgs),
    /// Distributed runs, step 1: one pass over the whole dataset for what
    /// every shard must agree on (the columns and how a shard is read, the
    /// SHAP baseline, PDP grids).
    #[command(
        after_help = "Example:\n  openclarify plan --config analysis_config.json --data german.csv --output job.plan"
    )]
    Plan(PlanArgs),
    /// Distributed runs, step 2: every requested analysis's state for one
    /// shard of the dataset.
    #[command(
        after_help = "Examples:\n  openclarify partial --config analysis_config.json --plan job.plan --data part-00001.csv --row-offset 500 --output 1.state\n  cat part-00001.csv | openclarify partial --config analysis_config.json --plan job.plan --data - --row-offset 500 --output -\n\nWith many shards at once, divide --concurrency among them so the endpoint is not overrun."
    )]
    Partial(PartialArgs),
    /// Distributed runs, step 3: merge shard states into analysis.json,
    /// explanations_shap/out.csv and the reports, as `run` writes them.
    #[command(
        after_help = "Example:\n  openclarify merge --config analysis_config.json --plan job.plan --partials *.state --output out/"
    )]
    Merge(MergeArgs),
    /// Check an analysis.json against a baseline analysis.json (bias and
    /// feature-attribution drift) and write constraint_violations.json.
    #[command(
        after_help = "Example:\n  openclarify compare --baseline baseline/analysis.json --current out/analysis.json --output out/\n\nExit code 0 with or without violations; with --fail-on-violation, 1 when there are."
    )]
    Compare(monitor::args::CompareArgs),
    /// A monitoring execution: bias and feature attributions of captured
    /// traffic in a time window, checked against a baseline (as Model
    /// Monitor runs Clarify). Every flag also reads Model Monitor's
    /// environment; `run` with dataset_source set runs this.
    #[command(
        after_help = "Example:\n  openclarify monitor --config analysis_config.json --captured capture/ --ground-truth ground-truth/ \\\n      --baseline-constraints baseline/analysis.json --start-time 2024-01-19T19:00:00Z --end-time 2024-01-19T20:00:00Z --output out/"
    )]
    // Boxed: its many Model Monitor settings would make every command as large.
    Monitor(Box<monitor::args::MonitorArgs>),
    /// Merge captured data with ground truth (Model Monitor's merge job,
    /// offline): merged JSON Lines to inspect or monitor again.
    #[command(
        after_help = "Example:\n  openclarify join-ground-truth --captured capture/ --ground-truth ground-truth/ --output merged/"
    )]
    JoinGroundTruth(monitor::args::JoinArgs),
    /// Drift over time: one chart per metric (and nDCG per label) across
    /// a series of monitoring outputs, the baseline as a reference line.
    #[command(
        after_help = "Example:\n  openclarify monitor-history --baseline baseline/analysis.json --runs out/2024/01/19/* --output history/"
    )]
    MonitorHistory(monitor::args::HistoryArgs),
    /// Run the bundled example (German credit) with no setup.
    #[command(after_help = "Example:\n  openclarify demo --output /tmp/demo")]
    Demo {
        /// Where to write the example's inputs and results.
        #[arg(long, default_value = "openclarify-demo")]
        output: PathBuf,
    },
    /// Serve a demo model (German credit) over SageMaker's /invocations contract.
    #[command(
        after_help = "Example:\n  openclarify demo-model --port 8080 &\n  curl -H 'Content-Type: text/csv' --data 'male,2,own,little,little,1169,6,radio/TV,67' localhost:8080/invocations"
    )]
    DemoModel(demo_model::DemoModelOptions),
}

/// What `run` and `check` read: config, data and model.
#[derive(Debug, clap::Args)]
pub struct Inputs {
    /// The analysis config [default: /opt/ml/processing/input/config/analysis_config.json]
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The dataset file or folder [default: /opt/ml/processing/input/data]
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The model.
    #[command(flatten)]
    pub model: predictor::ModelAccess,
}

impl Inputs {
    fn config(&self) -> PathBuf {
        self.config.clone().unwrap_or_else(layout::default_config)
    }

    fn data(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(layout::default_data)
    }
}

/// Arguments of `run`; each defaults to the processing layout.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Config, data and model.
    #[command(flatten)]
    pub inputs: Inputs,
    /// Where results go [default: /opt/ml/processing/output]
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Where to write the failure reason [default: /opt/ml/output/message
    /// when no path above is given]
    #[arg(long)]
    pub failure_file: Option<PathBuf>,
    /// Also write the predicted labels obtained from the model to this CSV.
    #[arg(long)]
    pub save_predictions: Option<PathBuf>,
}

impl RunArgs {
    fn paths(&self) -> job::JobPaths {
        job::JobPaths {
            config: self.inputs.config(),
            data: self.inputs.data(),
            output: self.output.clone().unwrap_or_else(layout::default_output),
        }
    }

    fn options(&self) -> job::JobOptions {
        job::JobOptions {
            model: self.inputs.model.clone(),
            save_predictions: self.save_predictions.clone(),
        }
    }

    /// The failure file: explicit, or the platform's when running with the
    /// layout defaults (a laptop run with explicit paths writes none).
    fn failure_file(&self) -> Option<PathBuf> {
        let defaults =
            self.inputs.config.is_none() && self.inputs.data.is_none() && self.output.is_none();
        self.failure_file
            .clone()
            .or_else(|| defaults.then(layout::default_failure_file))
    }
}

/// Arguments of `check`; paths default to the processing layout.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Config, data and model, as for `run` (only the request timeout of
    /// the model settings matters: one request, no retries).
    #[command(flatten)]
    pub inputs: Inputs,
    /// Only print the effective config (every default filled in) and exit.
    #[arg(long)]
    pub show_config: bool,
}

impl CheckArgs {
    fn options(&self) -> check::CheckOptions {
        check::CheckOptions {
            config: self.inputs.config(),
            data: self.inputs.data(),
            model: self.inputs.model.clone(),
        }
    }
}

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The analysis config.
    #[arg(long)]
    pub config: PathBuf,
    /// The whole dataset (file or folder), as `run` would read it.
    #[arg(long)]
    pub data: PathBuf,
    /// The plan file to write.
    #[arg(long)]
    pub output: PathBuf,
    /// Where to write the failure reason.
    #[arg(long)]
    pub failure_file: Option<PathBuf>,
}

/// Arguments of `partial`.
#[derive(Debug, clap::Args)]
pub struct PartialArgs {
    /// The analysis config (the same file `plan` read).
    #[arg(long)]
    pub config: PathBuf,
    /// The plan written by `openclarify plan`.
    #[arg(long)]
    pub plan: PathBuf,
    /// The shard: a file, a folder of part files, or `-` for stdin.
    #[arg(long)]
    pub data: PathBuf,
    /// Index of the shard's first data row in the whole dataset; keeps SHAP
    /// seeds and row order global.
    #[arg(long, default_value_t = 0)]
    pub row_offset: u64,
    /// Whether the shard's first line is a header (CSV). `auto` treats a
    /// first line equal to the dataset's column names, as the plan records
    /// them, as a header.
    #[arg(long, value_enum, default_value_t = HeaderMode::Auto)]
    pub header: HeaderMode,
    /// The state file to write; `-` writes it to stdout as one base64 line
    /// (what Spark's RDD.pipe collects).
    #[arg(long)]
    pub output: PathBuf,
    /// Where to write the failure reason.
    #[arg(long)]
    pub failure_file: Option<PathBuf>,
    /// The model, as for `run`; with many shards at once, divide
    /// --concurrency among them.
    #[command(flatten)]
    pub model: predictor::ModelAccess,
}

/// Arguments of `merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The analysis config (the same file `plan` read).
    #[arg(long)]
    pub config: PathBuf,
    /// The plan written by `openclarify plan`.
    #[arg(long)]
    pub plan: PathBuf,
    /// The states written by `openclarify partial`, in any order (binary
    /// files, or the base64 lines `--output -` printed).
    #[arg(long, num_args = 1.., required = true)]
    pub partials: Vec<PathBuf>,
    /// Where results go (analysis.json, explanations_shap/, reports).
    #[arg(long)]
    pub output: PathBuf,
    /// Where to write the failure reason.
    #[arg(long)]
    pub failure_file: Option<PathBuf>,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPENCLARIFY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::progress::Stderr)
        // Colour codes only for a terminal: in `docker logs`, CloudWatch or a
        // redirected file they are noise that breaks grep.
        .with_ansi(terminal);
    // A bar is for a person watching; a JSON log is for a machine.
    crate::progress::draw_bars(terminal && matches!(format, LogFormat::Text));
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Parses arguments, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    if let Err(e) = watch_signals(&cli.command) {
        return finish(Err(e), None);
    }
    match cli.command {
        Command::Run(args) => {
            let failure_file = args.failure_file();
            finish(run_here(&args), failure_file)
        }
        Command::Check(args) => {
            let options = args.options();
            let checked = match args.show_config {
                true => check::show_config(&options),
                false => check::run(&options),
            };
            match checked {
                Ok(true) => ExitCode::SUCCESS,
                // The report on stdout already says what to change.
                Ok(false) => ExitCode::from(1),
                Err(e) => finish(Err(e), None),
            }
        }
        Command::Plan(args) => finish(
            distributed::plan(&distributed::PlanPaths {
                config: args.config,
                data: args.data,
                output: args.output,
            }),
            args.failure_file,
        ),
        Command::Partial(args) => finish(
            distributed::partial(
                &distributed::PartialPaths {
                    config: args.config,
                    plan: args.plan,
                    data: args.data,
                    output: args.output,
                },
                &distributed::PartialOptions {
                    row_offset: args.row_offset,
                    header: args.header,
                    job: job::JobOptions {
                        model: args.model.clone(),
                        save_predictions: None,
                    },
                },
            ),
            args.failure_file,
        ),
        Command::Merge(args) => finish(
            distributed::merge(&distributed::MergePaths {
                config: args.config,
                plan: args.plan,
                partials: args.partials,
                output: args.output,
            }),
            args.failure_file,
        ),
        Command::Compare(args) => match monitor::compare_command(&args) {
            Ok(true) if args.fail_on_violation => finish(Err(monitor::check_failed()), None),
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => finish(Err(e), None),
        },
        Command::Monitor(args) => match monitor::monitor_command(&args) {
            Ok(true) if args.fail_on_violation => finish(Err(monitor::check_failed()), None),
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => finish(Err(e), None),
        },
        Command::JoinGroundTruth(args) => finish(monitor::join_command(&args), None),
        Command::MonitorHistory(args) => finish(
            monitor::history::write(
                &args.baseline,
                &args.runs,
                &args.output,
                args.ndcg_threshold,
            )
            .map(|path| eprintln!("wrote {}", path.display())),
            None,
        ),
        Command::Demo { output } => finish(demo::run(&output), None),
        Command::DemoModel(options) => finish(
            demo_model::run(&options).map_err(|e| JobError::client(format!("{e:#}"))),
            None,
        ),
    }
}

/// Makes SIGTERM and SIGINT end every job-running command cleanly, with
/// the command's failure file ([`crate::signals`]). The demo model stops
/// on them by itself.
fn watch_signals(command: &Command) -> Result<(), JobError> {
    let failure_file = match command {
        Command::Run(args) => args.failure_file(),
        Command::Plan(args) => args.failure_file.clone(),
        Command::Partial(args) => args.failure_file.clone(),
        Command::Merge(args) => args.failure_file.clone(),
        // monitor calls the model for SHAP, so it stops cleanly too; it
        // has no failure file of its own (errors go to stderr).
        Command::Check(_) | Command::Demo { .. } | Command::Monitor(_) => None,
        Command::Compare(_) | Command::JoinGroundTruth(_) | Command::MonitorHistory(_) => None,
        Command::DemoModel(_) => return Ok(()),
    };
    crate::signals::install(failure_file)
}

/// `run`, on this instance when it is the one that computes
/// ([`layout::computes_here`]). With Model Monitor's `dataset_source` in the environment, `run` is a
/// monitoring execution configured by that environment, so the image works
/// as a monitoring container unchanged.
fn run_here(args: &RunArgs) -> Result<(), JobError> {
    if std::env::var_os("dataset_source").is_some() {
        let from_env = <monitor::args::MonitorFromEnv as Parser>::try_parse_from(["openclarify"])
            .map_err(|e| JobError::client(format!("Model Monitor environment: {e}")))?;
        return monitor::monitor_command(&from_env.args).map(|_| ());
    }
    if !layout::computes_here()? {
        return Ok(());
    }
    let summary = job::run(&args.paths(), &args.options())?;
    tracing::info!(
        rows = summary.rows,
        seconds = summary.elapsed.as_secs_f64(),
        "wrote {}",
        summary.analysis.display()
    );
    Ok(())
}

fn finish(outcome: Result<(), JobError>, failure_file: Option<PathBuf>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("{e}");
            if let Some(path) = failure_file {
                layout::write_failure(&path, &e);
            }
            ExitCode::from(1)
        }
    }
}
