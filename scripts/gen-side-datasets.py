#!/usr/bin/env python3
"""Writes the side-dataset cases of test-fixtures/awkward/ (facet_dataset_uri,
predicted_label_dataset_uri, joinsource_name_or_index) from german.csv.

Each case's main dataset lacks the `sex` column, which a facet file holds; the
predicted labels (a fixed rule: duration <= 24 months) come from a predicted
label file. `joined.csv` is the table the join must give, in the main
dataset's row order: smclarify runs on it (scripts/gen-awkward-expected.sh,
through each case's reference_data and reference_args). Side files of the
joined cases are shuffled, so a join by position would give other numbers.

Usage: scripts/gen-side-datasets.py   (then scripts/gen-awkward-expected.sh)
"""
import csv
import json
import os
import random

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "test-fixtures")


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")


def main():
    with open(os.path.join(FIXTURES, "german.csv"), newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    sex = header.index("sex")
    duration = header.index("duration")
    main_header = [h for i, h in enumerate(header) if i != sex]
    main_rows = [[v for i, v in enumerate(r) if i != sex] for r in body]
    sexes = [r[sex] for r in body]
    predicted = ["1" if int(r[duration]) <= 24 else "0" for r in body]
    ids = [f"id-{i:04d}" for i in range(len(body))]
    rng = random.Random(23)

    def config(case_methods, **side):
        c = {
            "dataset_type": "text/csv",
            "label": "risk",
            "label_values_or_threshold": [1],
            "facet": [
                {"name_or_index": "sex", "value_or_threshold": ["female"]},
                {"name_or_index": "age", "value_or_threshold": [40]},
            ],
            "group_variable": "job",
            "methods": case_methods,
        }
        c.update(side)
        return c

    def case(name, description, files, cfg, expect):
        d = os.path.join(FIXTURES, "awkward", name)
        os.makedirs(d, exist_ok=True)
        for file, (h, r) in files.items():
            write_csv(os.path.join(d, file), h, r)
        write_json(os.path.join(d, "analysis_config.json"), cfg)
        write_json(os.path.join(d, "expect.json"), {"description": description, **expect})

    all_methods = {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}
    joined_header = main_header + ["sex"]
    joined_rows = [m + [s] for m, s in zip(main_rows, sexes)]
    case(
        "side_datasets_by_position",
        "The facet column and the predicted labels in side files, joined by row position.",
        {
            "data.csv": (main_header, main_rows),
            "facets.csv": (["sex"], [[s] for s in sexes]),
            "predicted.csv": (["predicted_label"], [[p] for p in predicted]),
            "joined.csv": (joined_header, joined_rows),
        },
        config(all_methods, facet_dataset_uri="facets.csv", predicted_label_dataset_uri="predicted.csv"),
        {"data": "data.csv", "outcome": "matches smclarify", "reference_data": "joined.csv",
         "reference_args": ["--predicted", "predicted.csv"]},
    )

    # Joined on `id`: the join column is not a feature, so FT (which reads
    # every other column) is left out; the rest of the metrics are all there.
    post = [m for m in ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "GE"]]
    joined_methods = {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": post}}
    facet_order = list(range(len(body)))
    rng.shuffle(facet_order)
    predicted_order = list(range(len(body)))
    rng.shuffle(predicted_order)
    main_with_id = [[i] + m for i, m in zip(ids, main_rows)]
    facet_file = [[ids[i], sexes[i]] for i in facet_order]
    predicted_file = [[ids[i], predicted[i]] for i in predicted_order]
    joined_cfg = config(
        joined_methods,
        facet_dataset_uri="facets.csv",
        predicted_label_dataset_uri="predicted.csv",
        joinsource_name_or_index="id",
    )
    case(
        "side_datasets_joined_on_id",
        "Side files in another row order, joined on joinsource_name_or_index.",
        {
            "data.csv": (["id"] + main_header, main_with_id),
            "facets.csv": (["id", "sex"], facet_file),
            "predicted.csv": (["id", "predicted_label"], predicted_file),
            "joined.csv": (["id"] + joined_header, [[i] + r for i, r in zip(ids, joined_rows)]),
            "reference_predicted.csv": (["predicted_label"], [[p] for p in predicted]),
        },
        joined_cfg,
        {"data": "data.csv", "outcome": "matches smclarify", "reference_data": "joined.csv",
         "reference_args": ["--predicted", "reference_predicted.csv"]},
    )

    case(
        "side_dataset_fewer_rows",
        "A facet file one row short of the dataset, joined by position.",
        {
            "data.csv": (main_header, main_rows),
            "facets.csv": (["sex"], [[s] for s in sexes[:-1]]),
        },
        config({"pre_training_bias": {"methods": "all"}}, facet_dataset_uri="facets.csv"),
        {"data": "data.csv", "outcome": "fails",
         "message": "facet_dataset_uri has 999 rows but the dataset has 1000"},
    )

    case(
        "side_dataset_join_key_missing",
        "A facet file without the row of one join key.",
        {
            "data.csv": (["id"] + main_header, main_with_id),
            "facets.csv": (["id", "sex"], [r for r in facet_file if r[0] != "id-0500"]),
        },
        config({"pre_training_bias": {"methods": "all"}}, facet_dataset_uri="facets.csv",
               joinsource_name_or_index="id"),
        {"data": "data.csv", "outcome": "fails",
         "message": "facet_dataset_uri: no row has join key \"id-0500\" of dataset row 500"},
    )


if __name__ == "__main__":
    main()
