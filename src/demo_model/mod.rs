//! `openclarify demo-model`: a small model server to point Clarify at.
//!
//! It speaks SageMaker's bring-your-own-container inference contract
//! (`GET /ping`, `POST /invocations` with CSV, JSON Lines or JSON bodies), so
//! the predictor side of a job can be run and tested without AWS. The model
//! is a logistic regression trained at start-up, by default on the bundled
//! German credit data (or, with `--reviews`, a bag-of-words review model
//! for text explanations), and fault switches make it slow, failing or
//! miscounting on purpose.
//!
//! # Layout
//! - `model`: encoding raw values and scoring records ([`Model`]).
//! - `training`: fitting the model to a CSV table, or a fixed synthetic one.
//! - `formats`: reading request bodies and writing responses.
//! - `server`: the HTTP routes ([`serve`]).
//! - `faults`: the misbehaviour switches ([`Faults`]).
//! - `forecaster`: a deterministic forecaster for time-series explanations
//!   (`--forecast`).
//! - `vision`: a deterministic image classifier and object detector for
//!   image explanations (`--vision`).

mod faults;
mod forecaster;
mod formats;
mod model;
mod server;
#[cfg(test)]
mod tests;
mod training;
mod vision;

pub use faults::Faults;
pub use forecaster::Forecaster;
pub use model::{Encoding, Feature, Model, Prediction, RawValue};
pub use server::serve;
pub use vision::{Vision, CLASSES as VISION_CLASSES};

/// The German credit data set the demo model trains on, and `openclarify demo` analyses.
pub const GERMAN_CSV: &str = include_str!("../../test-fixtures/german.csv");

/// The word weights of the `--reviews` model (`word,weight` lines).
pub const REVIEW_LEXICON: &str = include_str!("../../test-fixtures/text/lexicon.csv");

use anyhow::Context;
use axum::http::StatusCode;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What model to serve, where, and how badly to behave.
///
/// It is also the `demo-model` subcommand's arguments; in code,
/// `DemoModelOptions::default()` is the bundled German credit model, and
/// `DemoModelOptions::parse_from(["demo-model", "--synthetic", "3"])` reads
/// any other combination as the command line would.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "demo-model",
    after_help = "Examples:\n  openclarify demo-model                          # German credit model on port 8080\n  openclarify demo-model --synthetic 5 --fail-every 3 --fail-status 503\n  curl -H 'Content-Type: text/csv' --data-binary 'male,2,own,little,little,1169,6,radio/TV,67' localhost:8080/invocations"
)]
pub struct DemoModelOptions {
    /// The port to listen on (SageMaker's model containers use 8080).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub host: IpAddr,
    /// Train on this CSV file (with a header row) instead of the bundled German credit data.
    #[arg(long, requires = "label", conflicts_with = "synthetic")]
    pub train: Option<PathBuf>,
    /// The label column of the --train file.
    #[arg(long, requires = "train")]
    pub label: Option<String>,
    /// The label value that counts as positive in the --train file.
    #[arg(long, default_value = "1", requires = "train")]
    pub positive_label: String,
    /// Serve a fixed model over this many numeric features (weights 1, -1/2, 1/3, ...).
    #[arg(long, value_name = "N")]
    pub synthetic: Option<NonZeroU64>,
    /// Serve the text demo's review model: features `review` (a bag of words
    /// weighted by test-fixtures/text/lexicon.csv) and `verified`.
    #[arg(long, conflicts_with_all = ["synthetic", "train"])]
    pub reviews: bool,
    /// Fail every Nth invocation with --fail-status.
    #[arg(long, value_name = "N")]
    pub fail_every: Option<NonZeroU64>,
    /// Make each failure last K consecutive invocations (a 429 burst), the last K of every --fail-every.
    #[arg(long, value_name = "K", default_value = "1", requires = "fail_every")]
    pub fail_burst: NonZeroU64,
    /// The HTTP status of injected failures, e.g. 500, 429 or 503.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(400..=599))]
    pub fail_status: u16,
    /// Wait this many milliseconds before answering an invocation.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay_ms: u64,
    /// Delay only every Nth invocation (default: all of them).
    #[arg(long, value_name = "N", default_value = "1")]
    pub delay_every: NonZeroU64,
    /// Leave the last prediction out of every Nth invocation's answer.
    #[arg(long, value_name = "N")]
    pub drop_last_line_every: Option<NonZeroU64>,
    /// Send half of every Nth invocation's answer, then drop the connection.
    #[arg(long, value_name = "N")]
    pub reset_every: Option<NonZeroU64>,
    /// Serve a forecaster for time-series explanations instead (DeepAR's
    /// JSON records: start, target, dynamic_feat, cat).
    #[arg(long, value_enum, conflicts_with_all = ["train", "synthetic", "reviews"])]
    pub forecast: Option<Forecaster>,
    /// Serve an image model instead: `classifier` scores red, green, blue
    /// from the mean colour; `detector` boxes the bright region of each
    /// quadrant. Bodies are image/jpeg, image/png or application/x-npy.
    #[arg(long, value_enum, conflicts_with_all = ["train", "synthetic", "reviews", "forecast"])]
    pub vision: Option<Vision>,
}

impl Default for DemoModelOptions {
    /// The command line's defaults: the German credit model on port 8080, no faults.
    fn default() -> DemoModelOptions {
        clap::Parser::parse_from(["demo-model"])
    }
}

impl DemoModelOptions {
    /// The fault switches these options ask for.
    pub fn faults(&self) -> Faults {
        Faults {
            fail_every: self.fail_every,
            fail_burst: self.fail_burst,
            fail_status: StatusCode::from_u16(self.fail_status)
                .expect("the command line only accepts statuses 400 to 599"),
            delay: Duration::from_millis(self.delay_ms),
            delay_every: self.delay_every,
            drop_last_line_every: self.drop_last_line_every,
            reset_every: self.reset_every,
        }
    }
}

/// Trains (or builds) the model the options ask for.
pub fn load_model(options: &DemoModelOptions) -> anyhow::Result<Model> {
    if options.reviews {
        return Ok(training::reviews());
    }
    if let Some(feature_count) = options.synthetic {
        let feature_count =
            usize::try_from(feature_count.get()).context("--synthetic is too large")?;
        return Ok(training::synthetic(feature_count));
    }
    let Some(path) = &options.train else {
        return Ok(training::german());
    };
    let label = options.label.as_deref().context("--train needs --label")?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    training::fit_csv(&text, label, &options.positive_label)
        .with_context(|| format!("cannot train on {}", path.display()))
}

/// Starts the model the options ask for on `127.0.0.1` and a free port,
/// for tests and in-process demos; `host` and `port` are ignored. The server
/// runs until its task is aborted or the runtime stops.
pub async fn spawn_local(
    options: &DemoModelOptions,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<anyhow::Result<()>>)> {
    let model = Arc::new(load_model(options)?);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(serve(
        listener,
        model,
        options.forecast,
        options.vision,
        options.faults(),
        std::future::pending(),
    ));
    Ok((address, server))
}

/// Runs the server in the foreground until ctrl-c or SIGTERM, so that it
/// stops cleanly as a container's main process.
pub fn run(options: &DemoModelOptions) -> anyhow::Result<()> {
    let model = Arc::new(load_model(options)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((options.host, options.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", options.host, options.port))?;
        tracing::info!(
            features = model.features().len(),
            "demo model listening on http://{}/invocations",
            listener.local_addr()?
        );
        serve(
            listener,
            model,
            options.forecast,
            options.vision,
            options.faults(),
            termination()?,
        )
        .await?;
        tracing::info!("demo model stopped");
        Ok(())
    })
}

/// Completes on ctrl-c or, on Unix, SIGTERM (what `docker stop` sends).
/// The SIGTERM handler is installed before serving starts, so a stop
/// right after start-up is not missed.
fn termination() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupt = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
        tracing::info!("shutting down");
    })
}
