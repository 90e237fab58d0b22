#!/usr/bin/env python3
"""Writes test-fixtures/sdk-configs/*.json: analysis configs for the German
credit data built by the SageMaker Python SDK's own clarify classes.

Why: users do not write analysis_config.json by hand; the SDK writes it. These
files are exactly what `SageMakerClarifyProcessor.run_*` would upload, so
openclarify's parser is tested against the SDK's real output (key spelling,
defaults such as `"report"`, `"use_logit": false`, `"top_k_features"`), not
against our reading of the docs.

SDK: sagemaker-core==2.27.0 (the v3 SDK's core package; `sagemaker.core.clarify`,
pinned in scripts/requirements-reference.txt). The configs come from
`_AnalysisConfigGenerator`, the class the processor itself calls, and are
checked with the SDK's `ANALYSIS_CONFIG_SCHEMA_V1_0` as the processor does before
uploading. Nothing contacts AWS: no Session is built, S3 URIs and the endpoint
name are placeholders that never reach the config files.

This SDK version always adds `methods.report` (`_add_methods(report=True)`; no
public flag turns it off), so there are no separate report variants: every file
has the report block.

It also writes smclarify's bias sections for the pre-training config to
test-fixtures/expected/german_pre.smclarify.json (shared/scripts/
smclarify_reference.py), which tests/sdk_configs.rs compares against.

Usage: scripts/gen-sdk-configs.py [--check]
  --check   regenerate the configs in memory and exit 1 if a committed file
            differs (writes nothing, does not run smclarify)
Run with the reference venv: `bash scripts/venv.sh && .venv/bin/python scripts/gen-sdk-configs.py`.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from sagemaker.core.clarify import (
    ANALYSIS_CONFIG_SCHEMA_V1_0,
    AsymmetricShapleyValueConfig,
    BiasConfig,
    DataConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    SHAPConfig,
    TimeSeriesDataConfig,
    TimeSeriesJSONDatasetFormat,
    TimeSeriesModelConfig,
    _AnalysisConfigGenerator as Gen,
)

SDK_PACKAGE, SDK_VERSION = "sagemaker-core", "2.27.0"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-fixtures" / "sdk-configs"
TS_OUT = ROOT / "test-fixtures" / "sdk-configs-time-series"
EXPECTED = ROOT / "test-fixtures" / "expected" / "german_pre.smclarify.json"
SHARED = Path(os.environ.get("SHARED", ROOT.parent / "shared"))
# Placeholders: the generator never copies these into the config.
S3 = "s3://openclarify-example-bucket/german"
ENDPOINT = "openclarify-german-endpoint"

with open(ROOT / "test-fixtures" / "german.csv", newline="") as f:
    HEADERS = next(csv.reader(f))
LABEL = "risk"
FEATURES = [h for h in HEADERS if h != LABEL]


def data_config():
    return DataConfig(
        s3_data_input_path=f"{S3}/german.csv",
        s3_output_path=f"{S3}/output",
        label=LABEL,
        headers=HEADERS,
        dataset_type="text/csv",
    )


# Same facets as the demo: sex (one group vs rest), age above a threshold,
# and job as the CDDL group variable.
BIAS = BiasConfig(
    label_values_or_threshold=[1],
    facet_name=["sex", "age"],
    facet_values_or_threshold=[["female"], [40]],
    group_name="job",
)

CSV_MODEL = ModelConfig(endpoint_name=ENDPOINT, content_type="text/csv", accept_type="text/csv")
CSV_PREDICTION = ModelPredictedLabelConfig(probability_threshold=0.5)

JSONLINES_MODEL = ModelConfig(
    endpoint_name=ENDPOINT,
    content_type="application/jsonlines",
    accept_type="application/jsonlines",
    content_template='{"features":$features}',
)
JSONLINES_PREDICTION = ModelPredictedLabelConfig(probability="score", probability_threshold=0.5)

# One baseline row in feature order: the most common category / a typical
# number for each feature of german.csv.
BASELINE_ROW = {
    "sex": "male", "job": 2, "housing": "own", "saving_accounts": "little",
    "checking_account": "not_known", "credit_amount": 2320, "duration": 18,
    "purpose": "car", "age": 33,
}
assert list(BASELINE_ROW) == FEATURES, "german.csv columns changed; update BASELINE_ROW"
SHAP = SHAPConfig(
    baseline=[list(BASELINE_ROW.values())],
    num_samples=100,
    agg_method="mean_abs",
    seed=1,
)
PDP = PDPConfig(features=["credit_amount", "duration"], grid_resolution=10)
# No baseline: Clarify computes one, here 10 k-prototypes centres (german
# credit has categorical features).
SHAP_CLUSTERS = SHAPConfig(num_clusters=10, num_samples=100, agg_method="mean_abs", seed=1)


def configs():
    """File name -> analysis config, each built the way the processor builds it."""
    return {
        "german_pre.json": Gen.bias_pre_training(data_config(), BIAS, methods="all"),
        "german_post.json": Gen.bias_post_training(
            data_config(), BIAS, CSV_PREDICTION, methods="all", model_config=CSV_MODEL),
        "german_bias.json": Gen.bias(data_config(), BIAS, CSV_MODEL, CSV_PREDICTION),
        "german_bias_jsonlines.json": Gen.bias(
            data_config(), BIAS, JSONLINES_MODEL, JSONLINES_PREDICTION),
        "german_shap.json": Gen.explainability(
            data_config(), CSV_MODEL, CSV_PREDICTION, [SHAP, PDP]),
        "german_bias_shap.json": Gen.bias_and_explainability(
            data_config(), CSV_MODEL, CSV_PREDICTION, [SHAP, PDP], BIAS),
        "german_shap_clusters.json": Gen.explainability(
            data_config(), CSV_MODEL, CSV_PREDICTION, [SHAP_CLUSTERS, PDP]),
        "german_shap_jsonlines.json": Gen.explainability(
            data_config(), JSONLINES_MODEL, JSONLINES_PREDICTION, [SHAP, PDP]),
    }


# Time series: test-fixtures/time-series/forecast.json, the demo forecaster's
# DeepAR records (demo-model --forecast), in the three dataset layouts.
TS_HEADERS = ["item_id", "timestamp", "target_value", "dyn_1", "dyn_2", "static_1"]
TS_MODEL = ModelConfig(
    endpoint_name=ENDPOINT,
    content_type="application/json",
    accept_type="application/json",
    content_template='{"instances": $records}',
    record_template='{"start": $start_time, "target": $target_time_series, '
    '"dynamic_feat": $related_time_series, "cat": $static_covariates}',
    time_series_model_config=TimeSeriesModelConfig(forecast="predictions[*].mean"),
)
TS_PATHS = {
    "timestamp_records": ("[].item_id", "[].timestamp", "[].target_value",
                          ["[].dyn_1", "[].dyn_2"], ["[].static_1"]),
    "item_records": ("[*].item_id", "[*].series[].timestamp", "[*].series[].target_value",
                     ["[*].series[].dyn_1", "[*].series[].dyn_2"], ["[*].static_1"]),
    "columns": ("item_id", "timestamp", "target_value", ["dyn_1", "dyn_2"], ["static_1"]),
}
TS_STATIC_BASELINE = {"seattle": [1], "17": [0], "sanjose": [2]}


def ts_data_config(layout):
    item_id, timestamp, target, related, static = TS_PATHS[layout]
    return DataConfig(
        s3_data_input_path=f"{S3}/forecast_{layout}.json",
        s3_output_path=f"{S3}/output",
        headers=TS_HEADERS,
        dataset_type="application/json",
        time_series_data_config=TimeSeriesDataConfig(
            target_time_series=target, item_id=item_id, timestamp=timestamp,
            related_time_series=related, static_covariates=static,
            dataset_format=TimeSeriesJSONDatasetFormat(layout)),
    )


def time_series_configs():
    """File name -> time-series analysis config (run by tests/time_series.rs)."""
    fine = AsymmetricShapleyValueConfig(
        direction="chronological", granularity="fine_grained", num_samples=5,
        baseline={"target_time_series": "zero", "related_time_series": "zero",
                  "static_covariates": TS_STATIC_BASELINE})
    timewise = AsymmetricShapleyValueConfig(
        direction="bidirectional", granularity="timewise",
        baseline={"target_time_series": "mean", "related_time_series": "mean",
                  "static_covariates": TS_STATIC_BASELINE})
    return {
        f"forecast_{layout}_{name}.json": Gen.explainability(
            ts_data_config(layout), TS_MODEL, None, asv)
        for layout in TS_PATHS
        for name, asv in [("fine_grained", fine), ("timewise", timewise)]
    }


def render(config):
    ANALYSIS_CONFIG_SCHEMA_V1_0.validate(config)  # as SageMakerClarifyProcessor._run does
    return json.dumps(config, indent=2) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a committed file differs")
    args = ap.parse_args()
    installed = version(SDK_PACKAGE)
    if installed != SDK_VERSION:
        sys.exit(f"{SDK_PACKAGE} {installed} installed, this script is pinned to {SDK_VERSION}; "
                 "run scripts/venv.sh")
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    TS_OUT.mkdir(parents=True, exist_ok=True)
    every = [(OUT / n, c) for n, c in configs().items()]
    every += [(TS_OUT / n, c) for n, c in time_series_configs().items()]
    for path, config in every:
        name, text = path.name, render(config)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if not args.check:
        subprocess.run([sys.executable, str(SHARED / "scripts" / "smclarify_reference.py"),
                        "--config", str(OUT / "german_pre.json"),
                        "--data", str(ROOT / "test-fixtures" / "german.csv"),
                        "--out", str(EXPECTED)], check=True)
        print(f"wrote {EXPECTED.relative_to(ROOT)}")
    if stale:
        sys.exit(f"differs from what {SDK_PACKAGE} {SDK_VERSION} generates: {', '.join(stale)}; "
                 "rerun scripts/gen-sdk-configs.py")
    if args.check:
        print(f"{len(every)} SDK configs match {SDK_PACKAGE} {SDK_VERSION}")


if __name__ == "__main__":
    main()
