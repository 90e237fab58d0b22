#!/usr/bin/env python3
"""Reference for scripts/bench-monitor.sh: what a pandas user writes to monitor
bias from merged data capture — read every JSON line, decode the CSV bodies,
threshold the scores, build a DataFrame and hand it to smclarify.

Usage: monitor_reference.py CONFIG CAPTURE_DIR OUT.json
"""
import json
import pathlib
import sys
import warnings

import pandas as pd

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        pd.set_option("future.infer_string", False)
    except Exception:
        pass

from smclarify.bias.report import FacetColumn, LabelColumn, StageType, bias_report  # noqa: E402

config = json.loads(pathlib.Path(sys.argv[1]).read_text())
features = [h for h in config["headers"] if h != config["label"]]
threshold = config.get("probability_threshold", 0.5)
rows, labels, predicted = [], [], []
for path in sorted(pathlib.Path(sys.argv[2]).rglob("*.jsonl")):
    with open(path) as f:
        for line in f:
            event = json.loads(line)
            capture = event["captureData"]
            rows.extend(r.split(",") for r in capture["endpointInput"]["data"].splitlines())
            predicted.extend(int(float(s) > threshold) for s in capture["endpointOutput"]["data"].splitlines())
            labels.extend(int(l) for l in event["groundTruthData"]["data"].splitlines())
df = pd.DataFrame(rows, columns=features)
df["age"] = df["age"].astype(int)
df["income"] = df["income"].astype(float)
df[config["label"]] = labels
df["predicted_label"] = predicted
facet = config["facet"][0]
label_values = config["label_values_or_threshold"]
report = {}
for stage, key, methods in [
    (StageType.PRE_TRAINING, "pre_training_bias_metrics", config["methods"]["pre_training_bias"]["methods"]),
    (StageType.POST_TRAINING, "post_training_bias_metrics", config["methods"]["post_training_bias"]["methods"]),
]:
    kwargs = {}
    if stage == StageType.POST_TRAINING:
        kwargs["predicted_label_column"] = LabelColumn("predicted_label", df["predicted_label"], label_values)
    report[key] = bias_report(
        df.drop(columns=[config["label"], "predicted_label"]),
        FacetColumn(facet["name_or_index"], facet["value_or_threshold"]),
        LabelColumn(config["label"], df[config["label"]], label_values),
        stage,
        metrics=methods if isinstance(methods, list) else ["all"],
        group_variable=df[config["group_variable"]],
        **kwargs,
    )
pathlib.Path(sys.argv[3]).write_text(json.dumps(report, default=str))
