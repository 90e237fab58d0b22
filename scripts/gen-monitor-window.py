#!/usr/bin/env python3
"""Writes two hours of synthetic endpoint data capture from german.csv, for
the Docker end-to-end monitoring check (scripts/docker-e2e.sh): hour 19 is
the baseline traffic, hour 20 has injected drift (women always refused, and
every feature but sex and age at the SHAP baseline's value, so attributions
drift too). Events hold two CSV records each; every event has ground truth
keyed by its eventId. Also writes the monitoring config (bias, pre and
post, and SHAP through the demo model).

Usage: gen-monitor-window.py GERMAN_CSV OUT_DIR
Writes OUT_DIR/capture/ep/AllTraffic/2024/01/19/HH/capture.jsonl,
OUT_DIR/ground-truth/2024/01/19/HH/truth.jsonl and OUT_DIR/analysis_config.json.
"""
import csv
import json
import pathlib
import sys

german, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
with german.open() as f:
    table = list(csv.reader(f))
headers, rows = table[0], table[1:]
# The SHAP baseline record: one row, so a feature equal to it everywhere
# gets exactly zero attribution.
baseline_row = ["male", "2", "own", "little", "little", "2000", "12", "car", "35"]


def score(features):
    """The captured model's answer: a fixed rule of amount and duration."""
    amount, duration = float(features[5]), float(features[6])
    return min(0.95, max(0.05, 0.9 - amount / 20000 - duration / 100))


def write_hour(hour, records, score_of):
    capture = out / f"capture/ep/AllTraffic/2024/01/19/{hour:02d}"
    truth = out / f"ground-truth/2024/01/19/{hour:02d}"
    capture.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    with (capture / "capture.jsonl").open("w") as c, (truth / "truth.jsonl").open("w") as t:
        for i in range(0, len(records), 2):
            pair = records[i:i + 2]
            event_id = f"ev-{hour}-{i // 2}"
            body = lambda lines: "".join(line + "\n" for line in lines)
            line = {
                "captureData": {
                    "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                      "data": body(",".join(f) for _, f in pair), "encoding": "CSV"},
                    "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                                       "data": body(f"{score_of(f)}" for _, f in pair), "encoding": "CSV"},
                },
                "eventMetadata": {"eventId": event_id,
                                  "inferenceTime": f"2024-01-19T{hour:02d}:{(i // 2) % 60:02d}:00Z"},
                "eventVersion": "0",
            }
            c.write(json.dumps(line) + "\n")
            t.write(json.dumps({"groundTruthData": {"data": body(l for l, _ in pair), "encoding": "CSV"},
                                "eventMetadata": {"eventId": event_id}, "eventVersion": "0"}) + "\n")


labelled = [(r[0], r[1:]) for r in rows]
write_hour(19, labelled[:300], score)
drifted = [(l, [c if k in (0, 8) else baseline_row[k] for k, c in enumerate(f)]) for l, f in labelled[300:600]]
write_hour(20, drifted, lambda f: 0.1 if f[0] == "female" else 0.9)
config = {
    "headers": headers,
    "label": headers[0],
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
    "group_variable": "job",
    "methods": {
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": "all"},
        "shap": {"baseline": [baseline_row], "num_samples": 64, "agg_method": "mean_abs", "seed": 7,
                 "save_local_shap_values": False},
    },
    "predictor": {"content_type": "text/csv", "accept_type": "text/csv"},
}
(out / "analysis_config.json").write_text(json.dumps(config))
