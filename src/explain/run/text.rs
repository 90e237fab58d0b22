//! Text columns in Kernel SHAP (`methods.shap.text_config`): which features
//! hold text, each row's players (the units of its text cells and its
//! tabular features), records rendered from coalitions of them, the
//! per-unit aggregates of `global_top_shap_text`, and
//! `explanations_shap/out.jsonl`.
//!
//! A text row has its own players, so it gets its own explainer over the
//! baseline seen as players: a unit's baseline value is the baseline row's
//! string for that column (the replacement of an absent unit), a tabular
//! feature's is its baseline value. The row's expected value is the mean
//! answer for its records with every player absent (its text kept apart
//! from the units, each unit replaced), so each row's values add up to
//! its prediction minus that.

use super::rows::{cell_text, text_cell, Features, Records};
use super::shap::LocalRow;
use crate::config::{TextConfig, TextGranularity};
use crate::dataset::value::{Cell, ColumnKind};
use crate::error::{JobError, Result};
use crate::explain::text::{render, segment, Unit};
use crate::explain::{AggregationMethod, GlobalShapState, RowExplanation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::path::Path;

/// The kind of an explained feature, as `out.jsonl` names it (`data_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum DataType {
    /// Text cut into units.
    FreeText,
    /// Numbers.
    Numerical,
    /// Booleans (and other non-text categories).
    Categorical,
}

impl DataType {
    /// The word `out.jsonl` uses.
    fn name(self) -> &'static str {
        match self {
            DataType::FreeText => "free_text",
            DataType::Numerical => "numerical",
            DataType::Categorical => "categorical",
        }
    }
}

/// What text explanations fix before any shard is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TextPlan {
    granularity: TextGranularity,
    /// `max_top_tokens`.
    max_top_tokens: usize,
    /// Each explained feature's kind: a column pandas reads as strings
    /// (`object`) is text, numbers are numerical, booleans categorical.
    data_types: Vec<DataType>,
    /// Whether cells are CSV text (so made-up cells are too).
    csv: bool,
}

impl TextPlan {
    /// Decides which features are text from every row of the dataset.
    /// Fails when none is: `text_config` needs a text column.
    pub(super) fn new(
        config: &TextConfig,
        features: &Features,
        records: &Records,
    ) -> Result<TextPlan> {
        let data_types: Vec<DataType> = features
            .explained
            .iter()
            .map(|&f| match records.kind(f) {
                ColumnKind::Object => DataType::FreeText,
                ColumnKind::Int | ColumnKind::Float => DataType::Numerical,
                ColumnKind::Bool => DataType::Categorical,
            })
            .collect();
        if !data_types.contains(&DataType::FreeText) {
            let kinds: Vec<String> = features
                .explained
                .iter()
                .zip(&data_types)
                .map(|(&f, kind)| format!("{} ({})", features.names[f], kind.name()))
                .collect();
            return Err(JobError::client(format!(
                "methods.shap.text_config: no feature holds text ({}); text_config explains string columns unit by unit, so point headers/features at the text column or remove text_config.",
                kinds.join(", ")
            )));
        }
        Ok(TextPlan {
            granularity: config.granularity().unwrap_or(TextGranularity::Token),
            max_top_tokens: config.max_top_tokens(),
            data_types,
            csv: features.csv,
        })
    }

    /// Replaces the text cells of a computed baseline by the empty string:
    /// without a configured baseline an absent unit is dropped, as the
    /// Developer Guide's NLP page says.
    pub(super) fn empty_text_baseline(&self, features: &Features, baseline: &mut [Vec<Cell>]) {
        for row in baseline {
            for (&f, kind) in features.explained.iter().zip(&self.data_types) {
                if *kind == DataType::FreeText {
                    row[f] = self.cell("");
                }
            }
        }
    }

    /// The players of a row, from its explained cells.
    pub(super) fn players(&self, explained_cells: &[Cell]) -> RowPlayers {
        let features = explained_cells
            .iter()
            .zip(&self.data_types)
            .map(|(cell, kind)| {
                (*kind == DataType::FreeText).then(|| {
                    let text = text_of(cell);
                    let units = segment(&text, self.granularity);
                    TextCell { text, units }
                })
            })
            .collect();
        RowPlayers {
            features,
            csv: self.csv,
        }
    }

    /// `text` as a cell of the dataset's kind.
    fn cell(&self, text: &str) -> Cell {
        make_cell(self.csv, text)
    }

    /// The text features, as positions among the explained ones.
    fn text_features(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.data_types.len()).filter(|&i| self.data_types[i] == DataType::FreeText)
    }
}

/// `text` as CSV text (`csv`) or as a string cell.
fn make_cell(csv: bool, text: &str) -> Cell {
    match csv {
        true => text_cell(text),
        false => Cell::Str(text.into()),
    }
}

/// A cell's text: a missing cell is the empty text (no units).
fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Missing => String::new(),
        Cell::Text(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Cell::Str(text) => text.to_string(),
        other => cell_text(other),
    }
}

/// A player cell's text (cells this module made are UTF-8).
fn player_text(cell: &Cell) -> &str {
    match cell {
        Cell::Text(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
        Cell::Str(text) => text,
        _ => "",
    }
}

/// A text cell and its units.
#[derive(Debug, Clone)]
struct TextCell {
    text: String,
    units: Vec<Unit>,
}

/// One row's players: for each explained feature, one player (tabular) or
/// one per unit of its text.
#[derive(Debug, Clone)]
pub(super) struct RowPlayers {
    features: Vec<Option<TextCell>>,
    csv: bool,
}

impl RowPlayers {
    /// How many players the row has.
    pub(super) fn count(&self) -> usize {
        self.features
            .iter()
            .map(|f| f.as_ref().map_or(1, |t| t.units.len()))
            .sum()
    }

    /// The players' values for `explained_cells`: a tabular feature's
    /// cell, each unit's text.
    pub(super) fn cells(&self, explained_cells: &[Cell]) -> Vec<Cell> {
        self.spread(explained_cells, |_, text, unit| {
            make_cell(self.csv, &text.text[unit.bytes.clone()])
        })
    }

    /// The players' values in a baseline row: each unit takes the row's
    /// string for its column.
    pub(super) fn baseline(&self, explained_baseline: &[Cell]) -> Vec<Cell> {
        self.spread(explained_baseline, |cell, _, _| {
            make_cell(self.csv, &text_of(cell))
        })
    }

    /// The explained cells of the record in which player `p` holds its
    /// value in the row (`row`, as [`RowPlayers::cells`] gave them) where
    /// `keep[p]`, else its value in a baseline row (`background`, as
    /// [`RowPlayers::baseline`] gave them): each text cell is rendered with
    /// the absent units replaced.
    pub(super) fn record(&self, row: &[Cell], background: &[Cell], keep: &[bool]) -> Vec<Cell> {
        let value = |p: usize| match keep[p] {
            true => &row[p],
            false => &background[p],
        };
        let mut at = 0;
        self.features
            .iter()
            .map(|feature| match feature {
                None => {
                    at += 1;
                    value(at - 1).clone()
                }
                Some(text) => {
                    let first = at;
                    at += text.units.len();
                    let rendered = render(&text.text, &text.units, |i| match keep[first + i] {
                        true => &text.text[text.units[i].bytes.clone()],
                        false => player_text(&background[first + i]),
                    });
                    make_cell(self.csv, &rendered)
                }
            })
            .collect()
    }

    /// Per-feature values: a text feature's value is the sum of its units'
    /// (and its error the root of their squared errors' sum, as if they
    /// were independent).
    pub(super) fn by_feature(&self, explained: &RowExplanation) -> RowExplanation {
        let owners: Vec<usize> = self.owners().collect();
        let fold = |per_player: &[Vec<f64>], squares: bool| -> Vec<Vec<f64>> {
            per_player
                .iter()
                .map(|values| {
                    let mut sums = vec![0.0; self.features.len()];
                    for (&owner, &v) in owners.iter().zip(values) {
                        sums[owner] += if squares { v * v } else { v };
                    }
                    if squares {
                        sums.iter_mut().for_each(|s| *s = s.sqrt());
                    }
                    sums
                })
                .collect()
        };
        RowExplanation {
            values: fold(&explained.values, false),
            stderr: fold(&explained.stderr, true),
        }
    }

    /// Each text feature's units as (`partial_text`, `start_idx`); empty
    /// for a tabular feature.
    pub(super) fn descriptions(&self) -> Vec<Vec<(String, u64)>> {
        self.features
            .iter()
            .map(|feature| {
                feature.as_ref().map_or_else(Vec::new, |text| {
                    text.units
                        .iter()
                        .map(|u| (text.text[u.bytes.clone()].to_string(), u.start_idx as u64))
                        .collect()
                })
            })
            .collect()
    }

    /// The explained feature each player belongs to, in player order.
    fn owners(&self) -> impl Iterator<Item = usize> + '_ {
        self.features.iter().enumerate().flat_map(|(f, feature)| {
            std::iter::repeat_n(f, feature.as_ref().map_or(1, |t| t.units.len()))
        })
    }

    /// One cell per player: a tabular feature's cell from `cells`; a
    /// unit's from `unit_cell`, given its feature's cell in `cells`.
    fn spread(
        &self,
        cells: &[Cell],
        unit_cell: impl Fn(&Cell, &TextCell, &Unit) -> Cell,
    ) -> Vec<Cell> {
        let mut players = Vec::with_capacity(self.count());
        for (feature, cell) in self.features.iter().zip(cells) {
            match feature {
                None => players.push(cell.clone()),
                Some(text) => players.extend(text.units.iter().map(|u| unit_cell(cell, text, u))),
            }
        }
        players
    }
}

/// Per text feature, the aggregate of every unit text's values over its
/// occurrences (for `global_top_shap_text`), mergeable like
/// [`GlobalShapState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TopUnits {
    method: AggregationMethod,
    num_outputs: usize,
    /// One map per text feature, by unit text.
    columns: Vec<BTreeMap<String, GlobalShapState>>,
}

impl TopUnits {
    /// Empty aggregates for the text features of `plan`.
    pub(super) fn new(plan: &TextPlan, method: AggregationMethod, num_outputs: usize) -> TopUnits {
        TopUnits {
            method,
            num_outputs,
            columns: vec![BTreeMap::new(); plan.text_features().count()],
        }
    }

    /// Adds every unit of one explained row.
    pub(super) fn add_row(&mut self, players: &RowPlayers, explained: &RowExplanation) {
        let mut player = 0;
        let mut column = 0;
        for feature in &players.features {
            let Some(text) = feature else {
                player += 1;
                continue;
            };
            for unit in &text.units {
                let value: Vec<Vec<f64>> =
                    explained.values.iter().map(|v| vec![v[player]]).collect();
                let stderr: Vec<Vec<f64>> =
                    explained.stderr.iter().map(|v| vec![v[player]]).collect();
                self.columns[column]
                    .entry(text.text[unit.bytes.clone()].to_string())
                    .or_insert_with(|| GlobalShapState::new(self.method, self.num_outputs, 1))
                    .add_row(&value, &stderr);
                player += 1;
            }
            column += 1;
        }
    }

    /// Adds another shard's aggregates.
    pub(super) fn merge(&mut self, other: TopUnits) {
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            for (unit, state) in theirs {
                match mine.get_mut(&unit) {
                    Some(existing) => existing.merge(state),
                    None => {
                        mine.insert(unit, state);
                    }
                }
            }
        }
    }

    /// `global_top_shap_text` for output `output`: per text column, its
    /// top `max_top_tokens` unit texts by aggregate, highest first (ties
    /// in unit text order).
    pub(super) fn section(&self, plan: &TextPlan, features: &Features, output: usize) -> Json {
        let mut section = Map::new();
        for (column, f) in self.columns.iter().zip(plan.text_features()) {
            let mut ranked: Vec<(&String, f64)> = column
                .iter()
                .map(|(unit, state)| (unit, state.global_values()[output][0]))
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            let top: Map<String, Json> = ranked
                .into_iter()
                .take(plan.max_top_tokens)
                .map(|(unit, value)| (unit.clone(), Json::from(value)))
                .collect();
            section.insert(
                features.names[features.explained[f]].clone(),
                Json::Object(top),
            );
        }
        Json::Object(section)
    }
}

/// Writes `explanations_shap/out.jsonl`: one object per row in dataset
/// order, `explanations` holding each explained feature with its
/// `data_type` and `attributions` (a text feature's units with their
/// `description`), then `join_source_value` when a joinsource is set.
pub(super) fn write_local_values(
    plan: &TextPlan,
    features: &Features,
    mut rows: Vec<LocalRow>,
    output: &Path,
) -> Result<()> {
    rows.sort_unstable_by_key(|r| r.row);
    let mut text = String::new();
    for row in &rows {
        let players: usize = row
            .units
            .iter()
            .zip(&plan.data_types)
            .map(|(units, kind)| match kind {
                DataType::FreeText => units.len(),
                _ => 1,
            })
            .sum();
        let outputs = row.values.len().checked_div(players).unwrap_or(0);
        let attribution = |player: usize| -> Json {
            (0..outputs)
                .map(|k| Json::from(row.values[k * players + player]))
                .collect()
        };
        let mut player = 0;
        let mut explanations = Vec::new();
        for ((&f, kind), units) in features
            .explained
            .iter()
            .zip(&plan.data_types)
            .zip(&row.units)
        {
            let attributions: Vec<Json> = match kind {
                DataType::FreeText => units
                    .iter()
                    .map(|(partial_text, start_idx)| {
                        player += 1;
                        json!({
                            "attribution": attribution(player - 1),
                            "description": {"partial_text": partial_text, "start_idx": start_idx},
                        })
                    })
                    .collect(),
                _ => {
                    player += 1;
                    vec![json!({"attribution": attribution(player - 1)})]
                }
            };
            explanations.push(json!({
                "attributions": attributions,
                "data_type": kind.name(),
                "feature_name": features.names[f],
            }));
        }
        let mut line = Map::new();
        line.insert("explanations".into(), Json::Array(explanations));
        if let Some(id) = &row.id {
            line.insert("join_source_value".into(), Json::from(id.as_str()));
        }
        text.push_str(&Json::Object(line).to_string());
        text.push('\n');
    }
    crate::layout::write_atomic(
        &output.join(crate::layout::LOCAL_SHAP_TEXT_FILE),
        text.as_bytes(),
    )
}
