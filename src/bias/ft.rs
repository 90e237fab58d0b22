//! FT (Flip Test): the one bias metric that needs the rows themselves.
//!
//! smclarify fits scikit-learn's k-nearest-neighbours classifier on the
//! rows outside the sensitive group (features: every column but the facet,
//! label and predicted label; targets: the model's positive predictions) and
//! asks it about each sensitive row. [`FlipTestRows`] keeps each row's
//! numeric features plus its raw facet and prediction cells: memory is
//! rows × columns × 8 bytes. Neighbours are found by exact brute force
//! (Euclidean distance, ties broken by the lower row index), in parallel,
//! so memory stays linear in rows.

use super::column::{Selection, TypedColumn};
use super::state::Key;
use crate::dataset::value::{Cell, CellRef, ColumnKind, Value};
use crate::dataset::Chunk;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The rows FT needs, foldable chunk by chunk and mergeable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlipTestRows {
    /// Columns kept (all but label, predicted label and excluded ones).
    columns: Vec<usize>,
    /// For each kept column, the facet index when that column is a facet.
    facet_of_column: Vec<Option<usize>>,
    /// Per row: global index, numeric features (NaN if not a number).
    rows: Vec<(u64, Vec<f64>)>,
    /// Per row: raw facet cells (one per facet) and the raw prediction cell.
    keys: Vec<(Vec<Key>, Key)>,
    /// Per kept column: one cell of each kind seen (to tell numeric columns).
    kinds: Vec<Vec<Cell>>,
}

fn encode(cell: CellRef<'_>) -> Key {
    let mut buf = Vec::new();
    cell.encode_into(&mut buf);
    buf.into()
}

impl FlipTestRows {
    /// An empty store for rows of these `columns`; `facets` are the facet
    /// columns and `predicted` the prediction column.
    pub fn new(columns: Vec<usize>, facets: &[usize]) -> Self {
        let facet_of_column = columns
            .iter()
            .map(|c| facets.iter().position(|f| f == c))
            .collect();
        let kinds = columns.iter().map(|_| Vec::new()).collect();
        FlipTestRows {
            columns,
            facet_of_column,
            kinds,
            ..Default::default()
        }
    }

    /// Adds a chunk's rows.
    pub fn fold(&mut self, chunk: &Chunk, facets: &[usize], predicted: usize) {
        for row in 0..chunk.len() {
            let mut values = Vec::with_capacity(self.columns.len());
            for (i, &c) in self.columns.iter().enumerate() {
                let cell = chunk.cell(row, c);
                let owned = cell.to_owned();
                values.push(numeric(&owned));
                remember_kind(&mut self.kinds[i], owned);
            }
            self.rows.push((chunk.first_row + row as u64, values));
            let facet_keys = facets.iter().map(|&f| encode(chunk.cell(row, f))).collect();
            self.keys
                .push((facet_keys, encode(chunk.cell(row, predicted))));
        }
    }

    /// Appends another store's rows (rows are sorted by index when used).
    pub fn merge(mut self, other: FlipTestRows) -> FlipTestRows {
        if self.columns.is_empty() {
            return other;
        }
        self.rows.extend(other.rows);
        self.keys.extend(other.keys);
        for (mine, theirs) in self.kinds.iter_mut().zip(other.kinds) {
            for cell in theirs {
                remember_kind(mine, cell);
            }
        }
        self
    }

    /// FT for facet `facet` with the sensitive group `selection`; the
    /// predictions are positive per `is_positive` on the raw prediction key.
    pub fn flip_test(
        &self,
        facet: usize,
        facet_col: &TypedColumn,
        selection: &Selection,
        is_positive: &dyn Fn(&Key) -> bool,
    ) -> Result<f64, String> {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by_key(|&i| self.rows[i].0);
        let sensitive: Vec<bool> = order
            .iter()
            .map(|&i| selection.contains(facet_col.value(&self.keys[i].0[facet])))
            .collect();
        if !sensitive.iter().any(|s| *s) {
            return Err("Facet set is empty".into());
        }
        if sensitive.iter().all(|s| *s) {
            return Err("Negated Facet set is empty".into());
        }
        let used: Vec<usize> = (0..self.columns.len())
            .filter(|&i| self.facet_of_column[i] != Some(facet))
            .collect();
        if used.iter().any(|&i| {
            !matches!(
                ColumnKind::infer(&self.kinds[i]),
                ColumnKind::Int | ColumnKind::Float | ColumnKind::Bool
            )
        }) {
            return Err("FlipTest does not support non-numeric columns".into());
        }
        let features = |i: usize| -> Vec<f64> { used.iter().map(|&c| self.rows[i].1[c]).collect() };
        let (mut train, mut train_y, mut query, mut query_y) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (pos, &i) in order.iter().enumerate() {
            let positive = is_positive(&self.keys[i].1);
            if sensitive[pos] {
                query.push(features(i));
                query_y.push(positive);
            } else {
                train.push(features(i));
                train_y.push(positive);
            }
        }
        if train
            .iter()
            .chain(&query)
            .any(|r| r.iter().any(|v| v.is_nan()))
        {
            return Err("Input X contains NaN.".into());
        }
        let k = if train.len() > 9 { 5 } else { 1 };
        let knn: Vec<bool> = query
            .par_iter()
            .map(|q| majority(&train, &train_y, q, k))
            .collect();
        let flips_pos = query_y
            .iter()
            .zip(&knn)
            .filter(|(m, n)| **m && !**n)
            .count() as f64;
        let flips_neg = query_y
            .iter()
            .zip(&knn)
            .filter(|(m, n)| !**m && **n)
            .count() as f64;
        Ok((flips_pos - flips_neg) / query.len() as f64)
    }
}

/// The majority label of the `k` nearest training rows.
fn majority(train: &[Vec<f64>], labels: &[bool], q: &[f64], k: usize) -> bool {
    let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    for (i, row) in train.iter().enumerate() {
        let d: f64 = row.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
        if best.len() < k || d < best[best.len() - 1].0 {
            let at = best.partition_point(|(bd, _)| *bd <= d);
            best.insert(at, (d, i));
            best.truncate(k);
        }
    }
    let positives = best.iter().filter(|(_, i)| labels[*i]).count();
    positives * 2 > best.len()
}

fn numeric(cell: &Cell) -> f64 {
    match cell {
        Cell::Int(i) => *i as f64,
        Cell::Float(f) => *f,
        Cell::Bool(b) => f64::from(u8::from(*b)),
        Cell::Text(_) => match (
            ColumnKind::Float.value_of(cell),
            ColumnKind::Bool.value_of(cell),
        ) {
            (Value::Float(f), _) => f,
            (_, Value::Bool(b)) => f64::from(u8::from(b)),
            _ => f64::NAN,
        },
        _ => f64::NAN,
    }
}

/// Keeps one representative cell per single-cell column kind, enough for
/// [`ColumnKind::infer`] to type the whole column.
fn remember_kind(reps: &mut Vec<Cell>, cell: Cell) {
    let kind = ColumnKind::infer(std::slice::from_ref(&cell));
    let missing = matches!(cell, Cell::Missing)
        || matches!(&cell, Cell::Text(_) if ColumnKind::Float.value_of(&cell).is_missing());
    let known = reps.iter().any(|r| {
        let r_missing = matches!(r, Cell::Missing)
            || matches!(r, Cell::Text(_) if ColumnKind::Float.value_of(r).is_missing());
        ColumnKind::infer(std::slice::from_ref(r)) == kind && r_missing == missing
    });
    if !known {
        reps.push(cell);
    }
}

#[cfg(test)]
mod tests {
    use super::majority;

    #[test]
    fn nearest_neighbours_vote() {
        let train = vec![vec![0.0], vec![1.0], vec![2.0], vec![10.0], vec![11.0]];
        let labels = [true, true, false, false, false];
        assert!(majority(&train, &labels, &[0.4], 1));
        assert!(!majority(&train, &labels, &[9.0], 5));
        assert!(majority(&train, &labels, &[0.5], 3));
    }
}
