//! One block of explained rows: their synthetic records go to the model
//! together, identical records once, and with `target_stderr` a row's
//! sampling goes on in rounds only while some value's standard error is
//! above the target.
//!
//! Rounds: a row's plan holds its full budget of random draws
//! (`num_samples` stays the cap). Without a target every draw is sent at
//! once. With one, the first round sends the enumerated coalitions and the
//! first eighth of the draws (at least [`MIN_DRAWS_BEFORE_STOPPING`]); each
//! later round doubles the draws in use, for the rows still above the
//! target. The draws are the plan's, in order, so a row that never stops
//! gets exactly the values it gets without a target.

use super::model::Model;
use super::rows::{Features, Records};
use super::shap::{pick, with_explained, ModelRecords};
use super::text::RowPlayers;
use super::unique::UniqueRecords;
use crate::dataset::value::Cell;
use crate::error::Result;
use crate::explain::{KernelShap, RowExplanation, RowPlan};
use std::borrow::Cow;
use std::ops::Range;

/// Draws a row makes before its standard errors may stop it: fewer give
/// too noisy an estimate of the error to trust.
const MIN_DRAWS_BEFORE_STOPPING: usize = 16;

/// What explaining a block needs, shared by its rows.
pub(super) struct Block<'a> {
    pub(super) explainer: &'a KernelShap<Cell>,
    pub(super) features: &'a Features,
    /// With `text_config`, each record's players.
    pub(super) players: Option<&'a [RowPlayers]>,
    pub(super) records: &'a Records,
    pub(super) model: &'a Model,
    /// The model's answers for the baseline rows, per output (rows
    /// explaining every feature).
    pub(super) baseline_outputs: &'a [Vec<f64>],
    /// `methods.shap.target_stderr`.
    pub(super) target_stderr: Option<f64>,
}

/// A row being explained: its plan and the model's answers so far.
struct RowWork<'a> {
    /// Index into the block's records.
    row: usize,
    /// The block's explainer, or one over the row's own players (text).
    explainer: Cow<'a, KernelShap<Cell>>,
    /// The players' values in the row.
    cells: Vec<Cell>,
    plan: RowPlan,
    /// Synthetic records of the full plan.
    planned_records: usize,
    prediction: Vec<f64>,
    /// Per output, the answers for the row's baseline rows.
    baseline_outputs: Vec<Vec<f64>>,
    /// Per output, the answers for the coalitions in use.
    synthetic: Vec<Vec<f64>>,
    explained: Option<RowExplanation>,
}

impl<'a> Block<'a> {
    /// Explains `rows`; returns each row's values and errors, in row order,
    /// and the block's model record counts.
    pub(super) async fn explain(
        &self,
        rows: Range<usize>,
    ) -> Result<(Vec<RowExplanation>, ModelRecords)> {
        let baseline_rows = self.explainer.baseline().len();
        let head_records = 1 + self.own_background() as usize * baseline_rows;
        let mut counts = ModelRecords::default();
        let mut work: Vec<RowWork<'a>> = rows
            .map(|row| {
                let cells = pick(&self.records.rows[row], &self.features.explained);
                let (explainer, cells) = match self.players {
                    Some(players) => {
                        let players = &players[row];
                        let baseline = self.explainer.baseline().iter();
                        let baseline = baseline.map(|b| players.baseline(b)).collect();
                        (
                            Cow::Owned(self.explainer.with_baseline(baseline)),
                            players.cells(&cells),
                        )
                    }
                    None => (Cow::Borrowed(self.explainer), cells),
                };
                // Seeds are keyed to the row's index in the whole dataset, so
                // a shard explains its rows exactly as a single pass would.
                let mut plan = explainer.plan(&cells, self.records.first_row + row as u64);
                let planned_records = plan.records_in_use();
                counts.budgeted += (head_records + planned_records) as u64;
                if self.target_stderr.is_some() {
                    plan.use_draws(first_checkpoint(plan.num_draws()));
                }
                RowWork {
                    row,
                    explainer,
                    cells,
                    plan,
                    planned_records,
                    prediction: Vec::new(),
                    baseline_outputs: Vec::new(),
                    synthetic: Vec::new(),
                    explained: None,
                }
            })
            .collect();
        // (row in `work`, coalitions already answered) for this round.
        let mut pending: Vec<(usize, Option<usize>)> = (0..work.len()).map(|w| (w, None)).collect();
        while !pending.is_empty() {
            counts.add(self.round(&mut work, &pending).await?);
            pending = work
                .iter_mut()
                .enumerate()
                .filter_map(|(w, row)| {
                    let answered = row.plan.records_in_use();
                    self.continues(row).then_some((w, Some(answered)))
                })
                .collect();
        }
        for row in &work {
            let used = row.plan.records_in_use();
            counts.saved_by_target_stderr += (row.planned_records - used) as u64;
        }
        let explained = work.into_iter().filter_map(|row| row.explained).collect();
        Ok((explained, counts))
    }

    /// Whether rows have their own background records, whose mean answer
    /// is their expected value: when some features are not explained, and
    /// with text, where every unit is replaced but the rest of the text stays.
    fn own_background(&self) -> bool {
        self.features.is_subset() || self.players.is_some()
    }

    /// The records for `row`'s plan from number `first` on; with `first`
    /// `None`, the row's own background first (every player absent, once
    /// per baseline row) when it has one.
    /// Text rows are rendered straight from the coalitions' masks rather
    /// than through a cell per unit.
    fn records(&self, full: &[Cell], row: &RowWork, first: Option<usize>) -> Vec<Vec<Cell>> {
        let explained = &self.features.explained;
        let baseline = row.explainer.baseline();
        let with_background = first.is_none() && self.own_background();
        let first = first.unwrap_or(0);
        match self.players {
            Some(players) => {
                let players = &players[row.row];
                let absent = vec![false; row.cells.len()];
                let background = baseline
                    .iter()
                    .filter(|_| with_background)
                    .map(|b| players.record(&row.cells, b, &absent));
                let synthetic = row
                    .plan
                    .records_from(first)
                    .map(|(mask, b)| players.record(&row.cells, &baseline[b], &mask));
                background
                    .chain(synthetic)
                    .map(|cells| with_explained(full, explained, cells))
                    .collect()
            }
            None => {
                let background = baseline.iter().filter(|_| with_background).cloned();
                let synthetic = row
                    .explainer
                    .synthetic_rows_from(&row.cells, &row.plan, first);
                background
                    .chain(synthetic)
                    .map(|cells| with_explained(full, explained, cells))
                    .collect()
            }
        }
    }

    /// Whether `row`'s sampling goes on; if so, takes in the next draws.
    fn continues(&self, row: &mut RowWork) -> bool {
        let (Some(target), Some(explained)) = (self.target_stderr, &row.explained) else {
            return false;
        };
        let (used, all) = (row.plan.draws_in_use(), row.plan.num_draws());
        // NaN (an error that cannot be estimated yet) is not below the target.
        let below = explained.stderr.iter().flatten().all(|e| *e < target);
        if below || used == all {
            return false;
        }
        row.plan
            .use_draws((2 * used).max(MIN_DRAWS_BEFORE_STOPPING));
        true
    }

    /// One model call for the `pending` rows: the explained row and its own
    /// background the first time (`None`), then the coalitions in use after
    /// those already answered; and a solve of each.
    async fn round(
        &self,
        work: &mut [RowWork<'a>],
        pending: &[(usize, Option<usize>)],
    ) -> Result<ModelRecords> {
        let baseline_rows = self.explainer.baseline().len();
        let mut block = Vec::new();
        let mut starts = Vec::with_capacity(pending.len());
        for &(w, answered) in pending {
            let row = &work[w];
            let full = &self.records.rows[row.row];
            starts.push(block.len());
            if answered.is_none() {
                block.push(full.clone());
            }
            block.extend(self.records(full, row, answered));
        }
        let built = block.len();
        let unique = UniqueRecords::new(block);
        let describe = |i: usize| {
            let at = starts.partition_point(|&s| s <= i) - 1;
            let (w, answered) = pending[at];
            let global = self.records.first_row + work[w].row as u64;
            match answered.is_none() && i == starts[at] {
                true => format!("dataset row {global}"),
                false => format!("a synthetic record of dataset row {global}"),
            }
        };
        let scores = self
            .model
            .scores(&unique.records, |u| describe(unique.original(u)))
            .await?;
        let sent = unique.records.len();
        let scores = unique.spread(scores);
        for (&(w, answered), &start) in pending.iter().zip(&starts) {
            let row = &mut work[w];
            let mut at = start;
            if answered.is_none() {
                row.prediction = scores.iter().map(|s| s[at]).collect();
                at += 1;
                row.baseline_outputs = match self.own_background() {
                    true => {
                        let background = scores
                            .iter()
                            .map(|s| s[at..at + baseline_rows].to_vec())
                            .collect();
                        at += baseline_rows;
                        background
                    }
                    false => self.baseline_outputs.to_vec(),
                };
                row.synthetic = vec![Vec::new(); scores.len()];
            }
            let new = row.plan.records_in_use() - answered.unwrap_or(0);
            for (answers, s) in row.synthetic.iter_mut().zip(&scores) {
                answers.extend_from_slice(&s[at..at + new]);
            }
            row.explained = Some(row.explainer.solve(
                &row.plan,
                &row.synthetic,
                &row.prediction,
                &row.baseline_outputs,
            ));
        }
        tracing::info!(
            rows = pending.len(),
            records = built,
            sent,
            "rows explained"
        );
        Ok(ModelRecords {
            duplicates_reused: (built - sent) as u64,
            sent: sent as u64,
            ..ModelRecords::default()
        })
    }
}

/// The draws of a row's first round when a target may stop it early.
fn first_checkpoint(draws: usize) -> usize {
    draws.min(MIN_DRAWS_BEFORE_STOPPING.max(draws.div_ceil(8)))
}
