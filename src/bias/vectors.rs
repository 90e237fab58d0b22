//! smclarify's own numbers, replayed: the 125 cases of
//! `test-fixtures/metric_vectors.json` (each computed by smclarify 0.5) must
//! come out identical to 1e-9 relative, error strings included.

use super::column::{Selection, TypedColumn};
use super::ft::FlipTestRows;
use super::metrics::{self, Counts, Cube};
use super::state::{Columns, CountState, Key};
use super::{metric_list, section, SectionSpec, Stage};
use crate::config::ConfigValue;
use crate::dataset::test_cells_chunk;
use crate::dataset::value::{Cell, CellRef, Value};
use serde_json::Value as Json;

fn flags(inputs: &Json, key: &str, n: usize) -> Vec<usize> {
    match inputs.get(key) {
        Some(Json::Array(v)) => v
            .iter()
            .map(|b| b.as_bool().expect("boolean input") as usize)
            .collect(),
        _ => vec![0; n],
    }
}

fn counts(inputs: &Json) -> Counts {
    let n = inputs["facet"]
        .as_array()
        .or(inputs["positive_label"].as_array())
        .map_or(0, Vec::len);
    let (d, y, p) = (
        flags(inputs, "facet", n),
        flags(inputs, "positive_label", n),
        flags(inputs, "positive_predicted", n),
    );
    let mut all: Cube = Default::default();
    for i in 0..n {
        all[d[i]][y[i]][p[i]] += 1;
    }
    let groups = inputs
        .get("group_variable")
        .filter(|g| !g.is_null())
        .map(|g| {
            let g: Vec<String> = g
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.to_string())
                .collect();
            let mut unique = g.clone();
            unique.sort();
            unique.dedup();
            let mut cubes = vec![Cube::default(); unique.len()];
            for i in 0..n {
                let k = unique.iter().position(|u| *u == g[i]).unwrap();
                cubes[k][d[i]][y[i]][p[i]] += 1;
            }
            Ok(cubes)
        });
    Counts { all, groups }
}

/// KL/JS/LP/TVD/KS take the raw label: count rows per label value per group.
fn divergence(inputs: &Json, f: metrics::Divergence) -> metrics::Outcome {
    let labels: Vec<String> = inputs["label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let d = flags(inputs, "facet", labels.len());
    let mut values = labels.clone();
    values.sort();
    values.dedup();
    let per = |group: usize| {
        values
            .iter()
            .map(|v| {
                (0..labels.len())
                    .filter(|&i| d[i] == group && labels[i] == *v)
                    .count() as u64
            })
            .collect::<Vec<_>>()
    };
    f(&per(0), &per(1))
}

fn cell(v: &Json) -> Cell {
    match v {
        Json::Bool(b) => Cell::Bool(*b),
        Json::Number(n) if n.is_i64() => Cell::Int(n.as_i64().unwrap()),
        Json::Number(n) => Cell::Float(n.as_f64().unwrap()),
        Json::String(s) => Cell::Str(s.as_str().into()),
        _ => Cell::Missing,
    }
}

fn key(c: CellRef<'_>) -> Key {
    let mut buf = Vec::new();
    c.encode_into(&mut buf);
    buf.into()
}

fn flip_test(inputs: &Json) -> metrics::Outcome {
    let df = inputs["df"].as_array().unwrap();
    let width = df[0].as_array().unwrap().len();
    let d = flags(inputs, "facet", df.len());
    let p = flags(inputs, "positive_predicted", df.len());
    let rows: Vec<Vec<Cell>> = df
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row: Vec<Cell> = r.as_array().unwrap().iter().map(cell).collect();
            row.push(Cell::Bool(d[i] == 1));
            row.push(Cell::Int(p[i] as i64));
            row
        })
        .collect();
    let mut store = FlipTestRows::new((0..width).collect(), &[width]);
    store.fold(&test_cells_chunk(rows, 0), &[width], width + 1);
    let facet_keys = [key(CellRef::Bool(true)), key(CellRef::Bool(false))];
    let facet_col = TypedColumn::new(facet_keys.iter().map(|k| (k, 1)), &facet_keys[0]);
    let positive = key(CellRef::Int(1));
    store.flip_test(
        0,
        &facet_col,
        &Selection::Values(vec![Value::Bool(true)]),
        &|k: &Key| *k == positive,
    )
}

fn config_values(v: &Json) -> Option<Vec<ConfigValue>> {
    v.as_array().map(|a| {
        a.iter()
            .map(|x| serde_json::from_value(x.clone()).unwrap())
            .collect()
    })
}

fn bias_report(inputs: &Json) -> Json {
    let columns: Vec<&str> = inputs["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let col = |k: &str| {
        inputs[k]
            .as_str()
            .and_then(|name| columns.iter().position(|c| *c == name))
    };
    let rows: Vec<Vec<Cell>> = inputs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(cell).collect())
        .collect();
    let stage = if inputs["stage"] == "post_training" {
        Stage::PostTraining
    } else {
        Stage::PreTraining
    };
    let cols = Columns {
        label: col("label").unwrap(),
        predicted: col("predicted_label"),
        group: col("group_variable"),
        facets: vec![col("facet").unwrap()],
    };
    let chunk = test_cells_chunk(rows, 0);
    let state = CountState::new(1).merge(CountState::from_chunk(&chunk, &cols));
    let keep: Vec<usize> = (0..columns.len())
        .filter(|c| *c != cols.label && Some(*c) != cols.predicted)
        .collect();
    let mut ft = FlipTestRows::new(keep, &cols.facets);
    ft.fold(&chunk, &cols.facets, cols.predicted.unwrap());
    let label_values = config_values(&inputs["label_values"]).unwrap();
    let spec = SectionSpec {
        stage,
        metrics: metric_list(
            stage,
            serde_json::from_value::<crate::config::MetricNames>(inputs["methods"].clone())
                .unwrap()
                .selected(),
        ),
        label_name: "label",
        label_values: &label_values,
        facets: vec![("facet".into(), config_values(&inputs["facet_values"]))],
        has_group: cols.group.is_some(),
        flip_test: Some(&ft),
    };
    section(&state, &spec).unwrap()["facets"]["facet"].clone()
}

fn close(got: &Json, want: &Json) -> bool {
    match (got, want) {
        (Json::Number(a), Json::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
        }
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(x, y))
        }
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| close(v, w)))
        }
        _ => got == want,
    }
}

fn outcome_json(o: metrics::Outcome) -> Json {
    match o {
        Ok(v) => super::number(v),
        Err(e) => serde_json::json!({ "error": e }),
    }
}

#[test]
fn every_smclarify_vector_matches() {
    let doc: Json =
        serde_json::from_str(include_str!("../../test-fixtures/metric_vectors.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 125);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let inputs = &case["inputs"];
        let metric = case["metric"].as_str().unwrap();
        let got = match metric {
            "bias_report" => bias_report(inputs),
            "FT" => outcome_json(flip_test(inputs)),
            "KL" => outcome_json(divergence(inputs, metrics::kl_counts)),
            "JS" => outcome_json(divergence(inputs, metrics::js_counts)),
            "LP" => outcome_json(divergence(inputs, metrics::lp_counts)),
            "TVD" => outcome_json(divergence(inputs, metrics::tvd_counts)),
            "KS" => outcome_json(divergence(inputs, metrics::ks_counts)),
            name => outcome_json(super::count_metric(name).expect("registered")(&counts(
                inputs,
            ))),
        };
        if !close(&got, &case["expected"]) {
            failures.push(format!(
                "case {i} {metric}: got {got}, want {}",
                case["expected"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
