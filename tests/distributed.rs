//! `plan`, `partial` and `merge` through the binary: German credit cut into
//! uneven shards (files, stdin with and without a header line, an empty
//! shard) and merged in a shuffled order gives the bytes `run` writes;
//! states from another config, plan or version are refused; a
//! multi-instance SageMaker job never computes on part of the data.

mod common;

use common::{demo_config, fixtures, openclarify, DemoModel};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The failure sentence of a command expected to fail.
fn failure(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn plan(config: &Path, data: &Path, plan: &Path) -> Output {
    openclarify(&[
        "plan",
        "--config",
        s(config),
        "--data",
        s(data),
        "--output",
        s(plan),
    ])
}

/// `partial` on a shard file, or on stdin when `stdin` holds the shard.
fn partial(
    config: &Path,
    plan: &Path,
    shard: &Shard,
    output: &str,
    model: Option<&DemoModel>,
) -> Output {
    let offset = shard.offset.to_string();
    let data = shard.file.as_deref().map_or("-", s);
    let mut args = vec![
        "partial",
        "--config",
        s(config),
        "--plan",
        s(plan),
        "--data",
        data,
        "--row-offset",
        &offset,
        "--header",
        shard.header,
        "--output",
        output,
    ];
    if let Some(model) = model {
        args.extend(["--endpoint-url", &model.url]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_openclarify"))
        .args(&args)
        .env("OPENCLARIFY_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if shard.file.is_none() {
        stdin.write_all(shard.text.as_bytes()).unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn merge(config: &Path, plan: &Path, partials: &[PathBuf], out: &Path) -> Output {
    let mut args = vec![
        "merge",
        "--config",
        s(config),
        "--plan",
        s(plan),
        "--partials",
    ];
    args.extend(partials.iter().map(|p| s(p)));
    args.extend(["--output", s(out)]);
    openclarify(&args)
}

/// One shard of the dataset: its lines, where it starts, how it is given.
struct Shard {
    text: String,
    offset: usize,
    /// The shard's file, or `None` to pipe it through stdin.
    file: Option<PathBuf>,
    header: &'static str,
}

/// German credit cut at uneven places: a file with the header, a file of
/// one row, stdin without a header, an empty file, and stdin with the
/// header line (declared with `--header yes`).
fn german_shards(dir: &Path) -> Vec<Shard> {
    let text = std::fs::read_to_string(fixtures().join("german.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let body = |range: std::ops::Range<usize>| -> String {
        rows[range].iter().map(|r| format!("{r}\n")).collect()
    };
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Some(path)
    };
    let first = format!("{header}\n{}", body(0..300));
    let last = format!("{header}\n{}", body(700..rows.len()));
    vec![
        Shard {
            file: file("a.csv", &first),
            text: first,
            offset: 0,
            header: "auto",
        },
        Shard {
            file: file("b.csv", &body(300..301)),
            text: body(300..301),
            offset: 300,
            header: "auto",
        },
        Shard {
            text: body(301..700),
            offset: 301,
            file: None,
            header: "auto",
        },
        Shard {
            file: file("empty.csv", ""),
            text: String::new(),
            offset: 700,
            header: "no",
        },
        Shard {
            text: last,
            offset: 700,
            file: None,
            header: "yes",
        },
    ]
}

#[test]
fn german_credit_in_uneven_shards_equals_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = DemoModel::start(&[]);
    // Every method: bias with the model's predictions, SHAP, PDP, reports.
    let config = fixtures().join("demo/analysis_config.json");
    let data = fixtures().join("german.csv");
    let single = dir.path().join("single");
    assert_ok(
        &common::run_job_with(&config, &data, &single, &["--endpoint-url", &model.url]),
        "run",
    );

    let plan_file = dir.path().join("job.plan");
    assert_ok(&plan(&config, &data, &plan_file), "plan");
    let mut states = Vec::new();
    for (i, shard) in german_shards(dir.path()).iter().enumerate() {
        // Odd shards print their state to stdout, as RDD.pipe collects it.
        let state = dir.path().join(format!("{i}.state"));
        let to_stdout = i % 2 == 1;
        let output = partial(
            &config,
            &plan_file,
            shard,
            if to_stdout { "-" } else { s(&state) },
            Some(&model),
        );
        assert_ok(&output, &format!("partial {i}"));
        if to_stdout {
            std::fs::write(&state, &output.stdout).unwrap();
        }
        states.push(state);
    }
    states.reverse();
    states.swap(0, 2);
    let merged = dir.path().join("merged");
    assert_ok(&merge(&config, &plan_file, &states, &merged), "merge");

    for file in [
        "analysis.json",
        "explanations_shap/out.csv",
        "explanations_shap/out_stderr.csv",
        "explanations_shap/baseline.csv",
    ] {
        let (a, b) = (single.join(file), merged.join(file));
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{file} differs between run and merge"
        );
    }
    for report in ["report.html", "report.ipynb", "report.pdf"] {
        assert!(merged.join(report).is_file(), "merge wrote no {report}");
    }
}

/// A bias-only job (no model) planned and computed on one shard.
struct BiasJob {
    dir: tempfile::TempDir,
    config: PathBuf,
    plan: PathBuf,
    state: PathBuf,
}

fn bias_job() -> BiasJob {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path(), &["pre_training_bias"]);
    let plan_file = dir.path().join("job.plan");
    let data = fixtures().join("german.csv");
    assert_ok(&plan(&config, &data, &plan_file), "plan");
    let state = dir.path().join("all.state");
    let shard = Shard {
        text: String::new(),
        offset: 0,
        file: Some(data),
        header: "auto",
    };
    assert_ok(
        &partial(&config, &plan_file, &shard, s(&state), None),
        "partial",
    );
    BiasJob {
        dir,
        config,
        plan: plan_file,
        state,
    }
}

#[test]
fn states_from_another_config_plan_or_version_are_refused() {
    let job = bias_job();
    let out = job.dir.path().join("out");
    assert_ok(
        &merge(
            &job.config,
            &job.plan,
            std::slice::from_ref(&job.state),
            &out,
        ),
        "merge",
    );

    // Another config: the plan names the config it was made from.
    let other_config = job.dir.path().join("other.json");
    let text = std::fs::read_to_string(&job.config).unwrap();
    std::fs::write(&other_config, text.replace("\"all\"", "[\"CI\"]")).unwrap();
    let refused = failure(&merge(
        &other_config,
        &job.plan,
        std::slice::from_ref(&job.state),
        &out,
    ));
    assert!(refused.contains("another analysis config"), "{refused}");

    // Another plan (from other data): the state names the plan it used.
    let other_plan = job.dir.path().join("other.plan");
    let fewer = job.dir.path().join("fewer.csv");
    let german = std::fs::read_to_string(fixtures().join("german.csv")).unwrap();
    let head: String = german.lines().take(200).map(|l| format!("{l}\n")).collect();
    std::fs::write(&fewer, head).unwrap();
    assert_ok(&plan(&job.config, &fewer, &other_plan), "other plan");
    let refused = failure(&merge(
        &job.config,
        &other_plan,
        std::slice::from_ref(&job.state),
        &out,
    ));
    assert!(refused.contains("another plan"), "{refused}");

    // Another openclarify version: the version follows the 12 header bytes.
    let mut bytes = std::fs::read(&job.state).unwrap();
    bytes[12] = b'9';
    let newer = job.dir.path().join("newer.state");
    std::fs::write(&newer, bytes).unwrap();
    let refused = failure(&merge(&job.config, &job.plan, &[newer], &out));
    assert!(refused.contains("written by openclarify 9"), "{refused}");

    // A plan given as a state, and a file that is neither.
    let refused = failure(&merge(
        &job.config,
        &job.plan,
        std::slice::from_ref(&job.plan),
        &out,
    ));
    assert!(refused.contains("is a plan, not a state"), "{refused}");
    let refused = failure(&merge(
        &job.config,
        &job.plan,
        std::slice::from_ref(&job.config),
        &out,
    ));
    assert!(refused.contains("is not a plan or state"), "{refused}");
}

/// `run` under a SageMaker resource config listing `hosts`, as `current`,
/// with inputs distributed as `distribution`.
fn run_on_host(current: &str, distribution: &str) -> (Output, bool) {
    let dir = tempfile::tempdir().unwrap();
    let sagemaker = dir.path().join("config");
    std::fs::create_dir(&sagemaker).unwrap();
    std::fs::write(
        sagemaker.join("resourceconfig.json"),
        format!(r#"{{"current_host":"{current}","hosts":["algo-1","algo-2"]}}"#),
    )
    .unwrap();
    std::fs::write(
        sagemaker.join("processingjobconfig.json"),
        format!(
            r#"{{"ProcessingInputs":[{{"InputName":"dataset","S3Input":{{"S3DataDistributionType":"{distribution}"}}}}]}}"#
        ),
    )
    .unwrap();
    let config = demo_config(dir.path(), &["pre_training_bias"]);
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_openclarify"))
        .args(["run", "--config", s(&config), "--data"])
        .arg(fixtures().join("german.csv"))
        .args(["--output", s(&out)])
        .env("OPENCLARIFY_SAGEMAKER_CONFIG", &sagemaker)
        .output()
        .unwrap();
    (output, out.join("analysis.json").is_file())
}

#[test]
fn a_multi_instance_job_computes_on_the_first_host_only() {
    let (first, wrote) = run_on_host("algo-1", "FullyReplicated");
    assert_ok(&first, "run on algo-1");
    assert!(wrote, "the first host computes the whole job");

    let (second, wrote) = run_on_host("algo-2", "FullyReplicated");
    assert_ok(&second, "run on algo-2");
    assert!(!wrote, "the other hosts write nothing");
    let log = String::from_utf8_lossy(&second.stderr);
    assert!(log.contains("algo-1") && log.contains("Spark"), "{log}");

    let (sharded, wrote) = run_on_host("algo-1", "ShardedByS3Key");
    let message = failure(&sharded);
    assert!(!wrote && message.contains("ShardedByS3Key"), "{message}");
}
