//! The mergeable state every bias metric is computed from.
//!
//! For each facet, [`CountState`] counts rows per distinct combination of raw
//! (facet, label, predicted label, group) cells, and remembers where each
//! facet value first appeared and what row 0 held. Counts add, first
//! appearances take the minimum, so shards can be folded anywhere (threads,
//! processes, machines) and merged in any order with identical results.
//! Memory grows with the number of distinct combinations, not with rows.

use crate::dataset::value::CellRef;
use crate::dataset::Chunk;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Encoded raw cell (see [`CellRef::encode_into`]).
pub type Key = Box<[u8]>;

/// Which columns the bias state reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// Label column.
    pub label: usize,
    /// Predicted-label column, for post-training bias.
    pub predicted: Option<usize>,
    /// Group variable column.
    pub group: Option<usize>,
    /// One column per facet.
    pub facets: Vec<usize>,
}

/// Counts of one facet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FacetState {
    /// (facet, label, predicted, group) → rows.
    pub joint: FxHashMap<[Key; 4], u64>,
    /// Facet value → index of the first row holding it.
    pub first_seen: FxHashMap<Key, u64>,
}

/// The whole mergeable bias state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CountState {
    /// One entry per facet, in config order.
    pub facets: Vec<FacetState>,
    /// Rows folded so far.
    pub rows: u64,
    /// Raw cells of dataset row 0: label, predicted, then each facet.
    /// smclarify converts configured values to the type of row 0.
    pub row_zero: Option<Vec<Key>>,
}

/// Hands out small ids for distinct cells of one column within a chunk.
/// Rows are interned in order, so the row at which an id is handed out is
/// where its value is first seen in the chunk.
#[derive(Default)]
struct Interner {
    ids: FxHashMap<Key, u32>,
    keys: Vec<Key>,
    first_row: Vec<usize>,
    scratch: Vec<u8>,
}

impl Interner {
    fn id(&mut self, cell: CellRef<'_>, row: usize) -> u32 {
        self.scratch.clear();
        cell.encode_into(&mut self.scratch);
        if let Some(id) = self.ids.get(self.scratch.as_slice()) {
            return *id;
        }
        let id = self.keys.len() as u32;
        let key: Key = self.scratch.as_slice().into();
        self.ids.insert(key.clone(), id);
        self.keys.push(key);
        self.first_row.push(row);
        id
    }
}

fn encode(cell: CellRef<'_>) -> Key {
    let mut buf = Vec::new();
    cell.encode_into(&mut buf);
    buf.into()
}

const ABSENT: CellRef<'static> = CellRef::Missing;

impl CountState {
    /// An empty state for `facets` facets.
    pub fn new(facets: usize) -> Self {
        CountState {
            facets: vec![FacetState::default(); facets],
            rows: 0,
            row_zero: None,
        }
    }

    /// Folds one chunk of rows into a new state.
    pub fn from_chunk(chunk: &Chunk, cols: &Columns) -> Self {
        let mut state = CountState::new(cols.facets.len());
        let mut label = Interner::default();
        let mut predicted = Interner::default();
        let mut group = Interner::default();
        let mut facet_ids: Vec<Interner> =
            cols.facets.iter().map(|_| Interner::default()).collect();
        let mut joint: Vec<FxHashMap<[u32; 4], u64>> =
            vec![FxHashMap::default(); cols.facets.len()];
        for row in 0..chunk.len() {
            let l = label.id(chunk.cell(row, cols.label), row);
            let p = predicted.id(cols.predicted.map_or(ABSENT, |c| chunk.cell(row, c)), row);
            let g = group.id(cols.group.map_or(ABSENT, |c| chunk.cell(row, c)), row);
            for (k, &col) in cols.facets.iter().enumerate() {
                let f = facet_ids[k].id(chunk.cell(row, col), row);
                *joint[k].entry([f, l, p, g]).or_insert(0) += 1;
            }
        }
        for (k, facet) in state.facets.iter_mut().enumerate() {
            let fk = &facet_ids[k].keys;
            for ([f, l, p, g], n) in joint[k].drain() {
                let key = [
                    fk[f as usize].clone(),
                    label.keys[l as usize].clone(),
                    predicted.keys[p as usize].clone(),
                    group.keys[g as usize].clone(),
                ];
                facet.joint.insert(key, n);
            }
            for (key, row) in fk.iter().zip(&facet_ids[k].first_row) {
                facet
                    .first_seen
                    .insert(key.clone(), chunk.first_row + *row as u64);
            }
        }
        if chunk.first_row == 0 && !chunk.is_empty() {
            let mut zero = vec![
                encode(chunk.cell(0, cols.label)),
                encode(cols.predicted.map_or(ABSENT, |c| chunk.cell(0, c))),
            ];
            zero.extend(cols.facets.iter().map(|&c| encode(chunk.cell(0, c))));
            state.row_zero = Some(zero);
        }
        state.rows = chunk.len() as u64;
        state
    }

    /// Adds another state's counts to this one.
    pub fn merge(mut self, other: CountState) -> CountState {
        if self.facets.is_empty() {
            return other;
        }
        for (mine, theirs) in self.facets.iter_mut().zip(other.facets) {
            for (key, n) in theirs.joint {
                *mine.joint.entry(key).or_insert(0) += n;
            }
            for (key, row) in theirs.first_seen {
                let entry = mine.first_seen.entry(key).or_insert(row);
                *entry = (*entry).min(row);
            }
        }
        self.rows += other.rows;
        self.row_zero = self.row_zero.or(other.row_zero);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::test_chunk;
    use proptest::prelude::*;

    fn fold(rows: &[Vec<&str>], first_row: u64) -> CountState {
        let cols = Columns {
            label: 1,
            predicted: Some(2),
            group: Some(3),
            facets: vec![0, 3],
        };
        CountState::from_chunk(&test_chunk(rows, first_row), &cols)
    }

    proptest! {
        /// Splitting the rows anywhere, folding the parts and merging them in
        /// either order gives exactly the state of folding all rows at once.
        #[test]
        fn split_fold_merge_equals_whole(
            rows in prop::collection::vec((0u8..4, 0u8..3, 0u8..2, 0u8..3), 1..60),
            cut_a in 0usize..60,
            cut_b in 0usize..60,
        ) {
            let rows: Vec<Vec<String>> = rows.iter().map(|(f, l, p, g)| vec![format!("f{f}"), l.to_string(), p.to_string(), format!("g{g}")]).collect();
            let refs: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
            let (mut a, mut b) = (cut_a.min(refs.len()), cut_b.min(refs.len()));
            if a > b { std::mem::swap(&mut a, &mut b); }
            let whole = fold(&refs, 0);
            let parts = [fold(&refs[..a], 0), fold(&refs[a..b], a as u64), fold(&refs[b..], b as u64)];
            let forward = parts.clone().into_iter().fold(CountState::new(2), CountState::merge);
            let backward = parts.into_iter().rev().fold(CountState::new(2), CountState::merge);
            prop_assert_eq!(&forward, &whole);
            prop_assert_eq!(&backward, &whole);
        }
    }
}
