#!/usr/bin/env python3
"""Writes synthetic data capture for monitoring benchmarks: RECORDS records in
events of 4 (CSV bodies: sex,age,income,region -> one score per line), inside
the hour 2024-01-19T19, already merged with CSV ground truth (what the Clarify
job of a Model Monitor execution reads), plus the monitoring config.

Usage: gen-capture.py RECORDS OUT_DIR
Writes OUT_DIR/capture/ep/AllTraffic/2024/01/19/19/part-NNNNN.jsonl and
OUT_DIR/monitor_config.json.
"""
import json
import pathlib
import random
import sys

records, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
per_event, per_file = 4, 200_000
rng = random.Random(16)
capture = out / "capture/ep/AllTraffic/2024/01/19/19"
capture.mkdir(parents=True, exist_ok=True)
regions = ["north", "south", "east", "west", "centre"]
events = (records + per_event - 1) // per_event
handle = None
for e in range(events):
    if e * per_event % per_file == 0:
        if handle:
            handle.close()
        handle = open(capture / f"part-{e * per_event // per_file:05d}.jsonl", "w")
    n = min(per_event, records - e * per_event)
    rows, scores, labels = [], [], []
    for _ in range(n):
        sex = "F" if rng.random() < 0.4 else "M"
        age = rng.randint(18, 80)
        income = round(rng.lognormvariate(10, 0.5), 2)
        region = rng.choice(regions)
        score = min(1.0, max(0.0, rng.gauss(0.45 if sex == "F" else 0.55, 0.2)))
        label = int(rng.random() < (0.4 if sex == "F" else 0.5))
        rows.append(f"{sex},{age},{income},{region}")
        scores.append(f"{score:.6f}")
        labels.append(str(label))
    minute, second = divmod(e % 3600, 60)
    line = {
        "eventVersion": "0",
        "groundTruthData": {"data": "\n".join(labels) + "\n", "encoding": "CSV"},
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                              "data": "\n".join(rows) + "\n", "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                               "data": "\n".join(scores) + "\n", "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": f"ev-{e}", "inferenceTime": f"2024-01-19T19:{minute:02d}:{second:02d}Z"},
    }
    handle.write(json.dumps(line) + "\n")
handle.close()
post = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "GE"]
config = {
    "headers": ["label", "sex", "age", "income", "region"],
    "label": "label",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}],
    "group_variable": "region",
    "probability_threshold": 0.5,
    "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": post}},
}
(out / "monitor_config.json").write_text(json.dumps(config))
