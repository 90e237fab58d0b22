//! Identical records of one model call, sent once.
//!
//! Synthetic SHAP records repeat often: a coalition whose absent features
//! hold the same values in several baseline rows, or whose features equal
//! the explained row's, makes the same record more than once, and
//! categorical features with a small baseline make it common. The model
//! answers a record the same way whatever else is in the request, so each
//! distinct record is sent once and its answer given to every copy; the
//! values are the same, to the bit, as when every copy is sent.

use crate::dataset::value::Cell;
use rustc_hash::FxHashMap;
use std::hash::{Hash, Hasher};

/// A call's records reduced to the distinct ones.
pub(super) struct UniqueRecords {
    /// The distinct records, in order of first appearance.
    pub(super) records: Vec<Vec<Cell>>,
    /// For each original record, its position in `records`.
    slot: Vec<usize>,
    /// For each distinct record, the position of its first copy.
    first_copy: Vec<usize>,
}

impl UniqueRecords {
    /// Keeps the first copy of every distinct record of `block`.
    pub(super) fn new(block: Vec<Vec<Cell>>) -> UniqueRecords {
        let mut seen: FxHashMap<RecordKey, usize> = FxHashMap::default();
        let mut slot = Vec::with_capacity(block.len());
        let mut first_copy = Vec::new();
        for (i, record) in block.iter().enumerate() {
            let next = first_copy.len();
            let at = *seen.entry(RecordKey(record)).or_insert(next);
            if at == next {
                first_copy.push(i);
            }
            slot.push(at);
        }
        drop(seen);
        let mut is_first = vec![false; block.len()];
        first_copy.iter().for_each(|&i| is_first[i] = true);
        let records = block
            .into_iter()
            .zip(is_first)
            .filter_map(|(record, first)| first.then_some(record))
            .collect();
        UniqueRecords {
            records,
            slot,
            first_copy,
        }
    }

    /// The original position of distinct record `u` (for messages).
    pub(super) fn original(&self, u: usize) -> usize {
        self.first_copy[u]
    }

    /// Answers for the distinct records (one vector per output) spread back
    /// to every original record.
    pub(super) fn spread(&self, scores: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
        scores
            .iter()
            .map(|output| self.slot.iter().map(|&u| output[u]).collect())
            .collect()
    }
}

/// A record compared cell by cell, numbers by their bits (so `NaN` equals
/// itself and `0.0` differs from `-0.0`: records are equal exactly when
/// they are sent as the same bytes).
struct RecordKey<'a>(&'a [Cell]);

impl PartialEq for RecordKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(other.0).all(|(a, b)| same_cell(a, b))
    }
}

impl Eq for RecordKey<'_> {}

impl Hash for RecordKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for cell in self.0 {
            std::mem::discriminant(cell).hash(state);
            match cell {
                Cell::Missing => {}
                Cell::Text(bytes) => bytes.hash(state),
                Cell::Str(text) => text.hash(state),
                Cell::Int(i) => i.hash(state),
                Cell::Float(f) => f.to_bits().hash(state),
                Cell::Bool(b) => b.hash(state),
            }
        }
    }
}

fn same_cell(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Float(x), Cell::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_sent_once_and_answered_alike() {
        let text = |s: &str| Cell::Text(s.as_bytes().into());
        let block = vec![
            vec![text("a"), Cell::Float(1.0)],
            vec![text("b"), Cell::Float(1.0)],
            vec![text("a"), Cell::Float(1.0)],
            vec![text("a"), Cell::Float(-0.0)],
            vec![text("a"), Cell::Float(0.0)],
            vec![text("b"), Cell::Float(1.0)],
        ];
        // A deterministic "model": the score of a record is a function of it.
        let score = |r: &Vec<Cell>| match (&r[0], &r[1]) {
            (Cell::Text(t), Cell::Float(f)) => {
                t[0] as f64 * 10.0 + f + f.is_sign_negative() as u8 as f64
            }
            _ => unreachable!(),
        };
        let all: Vec<f64> = block.iter().map(score).collect();
        let unique = UniqueRecords::new(block);
        assert_eq!(unique.slot.len(), 6);
        assert_eq!(
            unique.records.len(),
            4,
            "-0.0 and 0.0 are sent as different text"
        );
        assert_eq!((unique.original(2), unique.original(3)), (3, 4));
        let answers: Vec<f64> = unique.records.iter().map(score).collect();
        assert_eq!(unique.spread(vec![answers]), vec![all]);
    }
}
