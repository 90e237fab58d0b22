//! Pre- and post-training bias metrics, as smclarify computes them.
//!
//! Rows are folded into a mergeable [`CountState`] (see [`state`]); once all
//! rows are in, [`section`] types the columns as pandas would, selects the
//! sensitive group and positive labels as smclarify does ([`column`]), and
//! computes each requested metric from counts ([`metrics`]). FT, the one
//! metric that needs rows, gets them from [`ft`]. Which metrics exist, and
//! what each is computed from, is [`crate::metric_registry`]'s table.
//!
//! [`run`] drives bias for a job: folding the dataset's rows (asking the
//! model for predicted labels when needed) and building the sections.

pub mod column;
pub mod empty;
pub mod ft;
pub mod groups;
pub mod metrics;
pub mod run;
pub mod state;
#[cfg(test)]
mod vectors;

use crate::config::ConfigValue;
use crate::dataset::value::Value;
use crate::error::{JobError, Result};
pub use crate::metric_registry::Stage;
use crate::metric_registry::{self, Computation};
use column::{DataType, Selection, TypedColumn};
use metrics::{Counts, Cube, Outcome};
use serde_json::{json, Map, Value as Json};
pub use state::{Columns, CountState};

/// A metric of the registry; sections only ever name registered ones.
fn registered(name: &str) -> &'static metric_registry::Metric {
    metric_registry::find(name).expect("registered metric")
}

/// The formula of each metric computed from counts.
fn count_metric(name: &str) -> Option<fn(&Counts) -> Outcome> {
    Some(match name {
        "CI" => metrics::ci,
        "DPL" => metrics::dpl_labels,
        "KL" => metrics::kl,
        "JS" => metrics::js,
        "LP" => metrics::lp,
        "TVD" => metrics::tvd,
        "KS" => metrics::ks,
        "CDDL" => metrics::cddl,
        "DPPL" => metrics::dppl,
        "DI" => metrics::di,
        "DCA" => metrics::dca,
        "DCR" => metrics::dcr,
        "RD" => metrics::rd,
        "SD" => metrics::sd,
        "DAR" => metrics::dar,
        "DRR" => metrics::drr,
        "AD" => metrics::ad,
        "CDDPL" => metrics::cddpl,
        "TE" => metrics::te,
        "GE" => metrics::ge,
        _ => return None,
    })
}

/// The metrics to run for a stage, sorted by name as smclarify sorts them.
pub fn metric_list(stage: Stage, selected: Option<Vec<String>>) -> Vec<&'static str> {
    let registry = metric_registry::names(stage);
    let mut list: Vec<&'static str> = match selected {
        None => registry,
        Some(names) => registry
            .into_iter()
            .filter(|m| names.iter().any(|n| n == m))
            .collect(),
    };
    list.sort_unstable();
    list
}

/// What a bias section needs besides the counts.
pub struct SectionSpec<'a> {
    /// Pre- or post-training.
    pub stage: Stage,
    /// Metrics to compute, sorted.
    pub metrics: Vec<&'static str>,
    /// Label column name.
    pub label_name: &'a str,
    /// `label_values_or_threshold`.
    pub label_values: &'a [ConfigValue],
    /// Facet column names and configured values, in config order.
    pub facets: Vec<(String, Option<Vec<ConfigValue>>)>,
    /// Whether a group variable is configured.
    pub has_group: bool,
    /// Rows for FT (post-training only).
    pub flip_test: Option<&'a ft::FlipTestRows>,
}

/// The label column typed from the counts of one facet's state (each
/// facet state counts every row).
fn label_column(facet: &state::FacetState, zero: &[state::Key]) -> TypedColumn {
    TypedColumn::new(facet.joint.iter().map(|(k, n)| (&k[1], *n)), &zero[0])
}

/// Facet `k`'s column, typed.
fn facet_column(facet: &state::FacetState, k: usize, zero: &[state::Key]) -> TypedColumn {
    TypedColumn::new(
        facet.joint.iter().map(|(key, n)| (&key[0], *n)),
        &zero[2 + k],
    )
}

/// How one column of the bias analysis reads, for `openclarify check`.
#[derive(Debug)]
pub struct Resolved {
    /// `label` or `facet[k]`.
    pub role: String,
    /// Categorical or continuous, as smclarify decides it on these rows.
    pub data_type: DataType,
    /// Distinct values seen.
    pub distinct: usize,
    /// Each value list or threshold as smclarify prints it, with the rows
    /// it selects, or why it selects nothing.
    pub groups: Vec<(String, std::result::Result<u64, String>)>,
}

/// How the label and each facet of `spec` read on the rows in `state`:
/// their type and the rows each configured value or threshold selects.
pub fn resolution(state: &CountState, spec: &SectionSpec) -> Result<Vec<Resolved>> {
    let (Some(first), Some(zero)) = (state.facets.first(), state.row_zero.as_ref()) else {
        return Err(JobError::client("Dataset is empty: no rows were read."));
    };
    let selected = |col: &TypedColumn, sel: &Selection| -> u64 {
        col.counts
            .iter()
            .filter(|(v, _)| sel.contains(v))
            .map(|(_, n)| n)
            .sum()
    };
    let label_col = label_column(first, zero);
    let label_type = label_col.data_type(Some(spec.label_values));
    let label_group = match label_type {
        DataType::Categorical => column::categorical(&label_col, spec.label_values)
            .map(|sel| (join_values(spec.label_values), sel)),
        DataType::Continuous => {
            column::continuous(&label_col, spec.label_values, None).map(|(sel, text)| (text, sel))
        }
    };
    let mut out = vec![Resolved {
        role: "label".into(),
        data_type: label_type,
        distinct: label_col.counts.len(),
        groups: vec![match label_group {
            Ok((text, sel)) => (text, Ok(selected(&label_col, &sel))),
            Err(e) => (join_values(spec.label_values), Err(e)),
        }],
    }];
    for (k, (_, values)) in spec.facets.iter().enumerate() {
        let facet = &state.facets[k];
        let col = facet_column(facet, k, zero);
        let values = values.as_deref().filter(|v| !v.is_empty());
        let groups = match facet_groups(facet, &col, values) {
            Ok(groups) => groups
                .into_iter()
                .map(|g| {
                    (
                        g.value_or_threshold,
                        g.selection.map(|s| selected(&col, &s)),
                    )
                })
                .collect(),
            Err(e) => vec![(values.map(join_values).unwrap_or_default(), Err(e))],
        };
        out.push(Resolved {
            role: format!("facet[{k}]"),
            data_type: col.data_type(values),
            distinct: col.counts.len(),
            groups,
        });
    }
    Ok(out)
}

/// One facet value's selection, as smclarify reports it.
struct FacetGroup {
    value_or_threshold: String,
    selection: std::result::Result<Selection, String>,
}

/// Builds one `*_training_bias_metrics` section of `analysis.json`.
pub fn section(state: &CountState, spec: &SectionSpec) -> Result<Json> {
    section_with_groups(state, spec).map(|(section, _)| section)
}

/// Builds one section, and the counts of each facet group it compared (for
/// the report; `analysis.json` keeps Clarify's keys only).
pub fn section_with_groups(
    state: &CountState,
    spec: &SectionSpec,
) -> Result<(Json, Vec<groups::GroupCounts>)> {
    let first = state
        .facets
        .first()
        .ok_or_else(|| JobError::algorithm("bias section without facets"))?;
    let zero = state
        .row_zero
        .as_ref()
        .ok_or_else(|| JobError::client("Dataset is empty: no rows were read."))?;
    let label_col = label_column(first, zero);
    let label_type = label_col.data_type(Some(spec.label_values));
    let (label_sel, label_text) = match label_type {
        DataType::Categorical => {
            let sel = column::categorical(&label_col, spec.label_values).map_err(label_error)?;
            (sel, join_values(spec.label_values))
        }
        DataType::Continuous => {
            column::continuous(&label_col, spec.label_values, None).map_err(label_error)?
        }
    };
    let predicted = match spec.stage {
        Stage::PreTraining => None,
        Stage::PostTraining => Some(predicted_selection(
            state, spec, &label_col, label_type, zero,
        )?),
    };
    let mut facets = Map::new();
    let mut compared = Vec::new();
    for (k, (name, values)) in spec.facets.iter().enumerate() {
        let facet = &state.facets[k];
        let col = facet_column(facet, k, zero);
        let groups = facet_groups(facet, &col, values.as_deref()).map_err(|e| {
            JobError::client(format!(
                "{e} (facet[{k}] {name:?}). Give a numeric value_or_threshold for this facet."
            ))
        })?;
        let group_values = group_values(state, k, spec.has_group);
        let mut reports = Vec::new();
        for g in groups {
            let mut cube = None;
            let metrics = match &g.selection {
                Ok(sel) => {
                    let counts = counts(
                        facet,
                        &col,
                        sel,
                        &label_col,
                        &label_sel,
                        predicted.as_ref(),
                        group_values.as_ref(),
                    );
                    cube = Some(counts.all);
                    let positive = |key: &state::Key| {
                        predicted
                            .as_ref()
                            .is_some_and(|p| p.selection.contains(p.col.value(key)))
                    };
                    metric_entries(&spec.metrics, |m| match registered(m).computation {
                        Computation::FlipTest => spec.flip_test.map_or_else(
                            || Err("FlipTest needs the dataset rows".into()),
                            |rows| rows.flip_test(k, &col, sel, &positive),
                        ),
                        Computation::Counts => count_metric(m).expect("registered metric")(&counts),
                    })
                }
                Err(e) => metric_entries(&spec.metrics, |_| Err(e.clone())),
            };
            if let Some(cube) = cube {
                compared.push(groups::GroupCounts {
                    facet: name.clone(),
                    value_or_threshold: g.value_or_threshold.clone(),
                    cube,
                    has_predictions: predicted.is_some(),
                });
            }
            reports.push(json!({"value_or_threshold": g.value_or_threshold, "metrics": metrics}));
        }
        facets
            .entry(name.clone())
            .or_insert_with(|| Json::Array(Vec::new()))
            .as_array_mut()
            .expect("array")
            .extend(reports);
    }
    let section =
        json!({"label": spec.label_name, "facets": facets, "label_value_or_threshold": label_text});
    Ok((section, compared))
}

fn label_error(e: String) -> JobError {
    JobError::client(format!("{e} (label_values_or_threshold)"))
}

fn join_values(values: &[ConfigValue]) -> String {
    values
        .iter()
        .map(ConfigValue::py_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// The predicted-label column, its selection and the label-dtype cast.
struct Predicted {
    col: TypedColumn,
    selection: Selection,
}

fn predicted_selection(
    state: &CountState,
    spec: &SectionSpec,
    label_col: &TypedColumn,
    label_type: DataType,
    zero: &[state::Key],
) -> Result<Predicted> {
    let first = &state.facets[0];
    let col = TypedColumn::new(first.joint.iter().map(|(k, n)| (&k[2], *n)), &zero[1]);
    if col.data_type(Some(spec.label_values)) != label_type {
        return Err(JobError::client(
            "Predicted Label Column series datatype is not the same as Label Column series. Make the model's predicted labels the same kind (categories or numbers) as the label column.",
        ));
    }
    let selection = match label_type {
        DataType::Categorical => {
            column::categorical(&col, spec.label_values).map_err(label_error)?
        }
        DataType::Continuous => {
            column::continuous(label_col, spec.label_values, column::column_max(&col))
                .map_err(label_error)?
                .0
        }
    };
    let any_positive = col
        .counts
        .iter()
        .any(|(v, n)| *n > 0 && selection.contains(v));
    if !any_positive {
        // Sorted: the counts' order depends on how shards were merged.
        let mut counted: Vec<(&Value, &u64)> = col.counts.iter().collect();
        counted.sort_unstable_by_key(|(v, _)| v.py_str());
        let seen: Vec<String> = counted
            .iter()
            .take(10)
            .map(|(v, n)| format!("{}: {n}", v.py_str()))
            .collect();
        return Err(JobError::client(format!(
            "No Label values are present in the predicted Label Column,Positive Predicted Index Series contains all False values. Predicted labels seen (value: rows): [{}]; positive label values: [{}]. Check predictor.label / probability / probability_threshold.",
            seen.join(", "),
            join_values(spec.label_values)
        )));
    }
    Ok(Predicted { col, selection })
}

fn facet_groups(
    facet: &state::FacetState,
    col: &TypedColumn,
    values: Option<&[ConfigValue]>,
) -> std::result::Result<Vec<FacetGroup>, String> {
    let values = values.filter(|v| !v.is_empty());
    match (col.data_type(values), values) {
        (DataType::Categorical, Some(v)) => Ok(vec![FacetGroup {
            value_or_threshold: join_values(v),
            selection: column::categorical(col, v),
        }]),
        (DataType::Categorical, None) => {
            // One-vs-rest, in order of first appearance (`Series.unique()`).
            let mut firsts: Vec<(u64, &Value)> = Vec::new();
            for (key, row) in &facet.first_seen {
                let v = col.value(key);
                match firsts.iter_mut().find(|(_, seen)| *seen == v) {
                    Some(entry) => entry.0 = entry.0.min(*row),
                    None => firsts.push((*row, v)),
                }
            }
            firsts.sort_by_key(|(row, _)| *row);
            Ok(firsts
                .into_iter()
                .map(|(_, v)| FacetGroup {
                    value_or_threshold: v.py_str(),
                    selection: Ok(if v.is_missing() {
                        Selection::Nothing
                    } else {
                        Selection::Values(vec![v.clone()])
                    }),
                })
                .collect())
        }
        (DataType::Continuous, v) => {
            let (sel, text) = column::continuous(col, v.unwrap_or(&[]), None)?;
            Ok(vec![FacetGroup {
                value_or_threshold: text,
                selection: Ok(sel),
            }])
        }
    }
}

/// The group variable: its typed values, and their `np.unique` order (or
/// the error numpy raises when it cannot sort them).
struct Groups {
    col: TypedColumn,
    index: std::result::Result<rustc_hash::FxHashMap<Value, usize>, String>,
}

fn group_values(state: &CountState, facet: usize, has_group: bool) -> Option<Groups> {
    if !has_group {
        return None;
    }
    let keys = state.facets[facet].joint.iter().map(|(k, n)| (&k[3], *n));
    let zero: state::Key = Box::new([b'N']);
    let col = TypedColumn::new(keys, &zero);
    let mut values: Vec<Value> = col
        .counts
        .keys()
        .filter(|v| !v.is_missing())
        .cloned()
        .collect();
    let has_missing = col.counts.keys().any(Value::is_missing);
    let index = if has_missing && values.iter().any(|v| matches!(v, Value::Str(_))) {
        Err("'<' not supported between instances of 'float' and 'str'".to_string())
    } else {
        values.sort();
        Ok(values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (v, i))
            .collect())
    };
    Some(Groups { col, index })
}

fn counts(
    facet: &state::FacetState,
    col: &TypedColumn,
    facet_sel: &Selection,
    label_col: &TypedColumn,
    label_sel: &Selection,
    predicted: Option<&Predicted>,
    groups: Option<&Groups>,
) -> Counts {
    let mut all: Cube = Default::default();
    let sorted = groups.and_then(|g| g.index.as_ref().ok());
    let mut per_group: Vec<Cube> = vec![Default::default(); sorted.map_or(0, |s| s.len())];
    for (key, n) in &facet.joint {
        let d = facet_sel.contains(col.value(&key[0])) as usize;
        let y = label_sel.contains(label_col.value(&key[1])) as usize;
        let p = predicted.is_some_and(|p| p.selection.contains(p.col.value(&key[2]))) as usize;
        all[d][y][p] += n;
        // Rows whose group is missing match no group (NaN == NaN is false).
        if let (Some(g), Some(index)) = (groups, sorted) {
            if let Some(i) = index.get(g.col.value(&key[3])) {
                per_group[*i][d][y][p] += n;
            }
        }
    }
    let groups = groups.map(|g| g.index.as_ref().map(|_| per_group).map_err(Clone::clone));
    Counts { all, groups }
}

fn metric_entries(names: &[&'static str], mut compute: impl FnMut(&str) -> Outcome) -> Vec<Json> {
    names
        .iter()
        .map(|name| {
            let mut entry = Map::new();
            entry.insert("name".into(), Json::from(*name));
            let description = metric_registry::find(name).map_or("", |m| m.description);
            entry.insert("description".into(), Json::from(description));
            match compute(name) {
                Ok(v) => {
                    entry.insert("value".into(), number(v));
                }
                Err(e) => {
                    entry.insert("value".into(), Json::Null);
                    entry.insert("error".into(), Json::from(e));
                }
            }
            Json::Object(entry)
        })
        .collect()
}

/// A metric value in Clarify's encoding: ±∞ as the strings `"Infinity"` /
/// `"-Infinity"`, NaN as `null` (the only valid JSON for it).
pub fn number(v: f64) -> Json {
    if v == f64::INFINITY {
        Json::from("Infinity")
    } else if v == f64::NEG_INFINITY {
        Json::from("-Infinity")
    } else {
        serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number)
    }
}
