#!/usr/bin/env python3
"""Writes a synthetic time-series dataset for the demo forecaster
(demo-model --forecast) in the timestamp_records layout, and its config.

ITEMS items of STEPS rows each, three related series over all rows, the
target null on the last HORIZON rows (the forecast horizon), one static
covariate; a fine_grained chronological config with NUM_SAMPLES orders.
Standard library only, deterministic.

Usage: scripts/gen-forecast-data.py ITEMS STEPS HORIZON NUM_SAMPLES OUT_DIR
"""
import json
import math
import sys
from pathlib import Path

items, steps, horizon, num_samples = (int(a) for a in sys.argv[1:5])
out = Path(sys.argv[5])
out.mkdir(parents=True, exist_ok=True)
rows = []
for i in range(items):
    for t in range(steps):
        rows.append({
            "item_id": f"item{i:05d}",
            "timestamp": f"2024-01-{1 + t // 24:02d} {t % 24:02d}:00:00",
            "target_value": None if t >= steps - horizon else round(20 + 10 * math.sin(0.3 * t + i), 4),
            "rts_1": round(math.cos(0.2 * t + i), 4),
            "rts_2": round(math.sin(0.1 * t * (i % 3 + 1)), 4),
            "rts_3": round((t % 7) / 7, 4),
            "static_1": i % 5,
        })
(out / "forecast.json").write_text(json.dumps(rows))
config = {
    "dataset_type": "application/json",
    "headers": ["item_id", "timestamp", "target_value", "rts_1", "rts_2", "rts_3", "static_1"],
    "time_series_data_config": {
        "dataset_format": "timestamp_records", "item_id": "[].item_id", "timestamp": "[].timestamp",
        "target_time_series": "[].target_value",
        "related_time_series": ["[].rts_1", "[].rts_2", "[].rts_3"],
        "static_covariates": ["[].static_1"]},
    "predictor": {
        "endpoint_name": "forecaster", "content_type": "application/json",
        "accept_type": "application/json", "content_template": "{\"instances\": $records}",
        "record_template": "{\"start\": $start_time, \"target\": $target_time_series, "
                           "\"dynamic_feat\": $related_time_series, \"cat\": $static_covariates}",
        "time_series_predictor_config": {"forecast": "predictions[*].mean"}},
    "methods": {"asymmetric_shapley_value": {
        "direction": "chronological", "granularity": "fine_grained", "num_samples": num_samples,
        "baseline": {"target_time_series": "zero", "related_time_series": "zero",
                     "static_covariates": {f"item{i:05d}": [0] for i in range(items)}}}},
}
(out / "analysis_config.json").write_text(json.dumps(config, indent=1))
