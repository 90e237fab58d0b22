//! Group sizes, base rates and confusion counts per facet group, for the
//! report's dataset overview and model performance.
//!
//! They come from the same merged [`CountState`](super::CountState) as the
//! metrics (the counts per facet, label, prediction and group that every
//! shard adds to), selected the way the metrics select the facet group and
//! the positive labels. So they merge exactly as the metrics do, and are
//! not part of `analysis.json`, whose keys stay Clarify's.

use super::metrics::Cube;
use serde::Serialize;

/// The records of one facet group and of the rest, split by observed label
/// and predicted label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupCounts {
    /// The facet column.
    pub facet: String,
    /// The facet value(s) or threshold as `analysis.json` writes them.
    pub value_or_threshold: String,
    /// Rows by `[in facet group][positive label][predicted positive]`
    /// (index 1 is yes).
    pub cube: Cube,
    /// Whether predicted labels were counted (post-training bias ran).
    pub has_predictions: bool,
}

/// One side of a comparison: the facet group or the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The records whose facet has the value in the heading.
    Facet,
    /// Every other record.
    Rest,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Facet => 1,
            Side::Rest => 0,
        }
    }
}

/// True and false positives and negatives of some records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    /// Positive label, predicted positive.
    pub tp: u64,
    /// Negative label, predicted positive.
    pub fp: u64,
    /// Positive label, predicted negative.
    pub fn_: u64,
    /// Negative label, predicted negative.
    pub tn: u64,
}

impl Confusion {
    /// Records counted.
    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.fn_ + self.tn
    }

    /// Share of records predicted right.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.tp + self.tn, self.total())
    }

    /// Share of predicted positives that are positive.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Share of positives predicted positive.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }
}

impl std::ops::Add for Confusion {
    type Output = Confusion;

    /// The counts of both sets of records together.
    fn add(self, other: Confusion) -> Confusion {
        Confusion {
            tp: self.tp + other.tp,
            fp: self.fp + other.fp,
            fn_: self.fn_ + other.fn_,
            tn: self.tn + other.tn,
        }
    }
}

/// `part / whole`, or `None` for an empty whole.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl GroupCounts {
    /// Records on `side`.
    pub fn records(&self, side: Side) -> u64 {
        self.confusion(side).total()
    }

    /// Share of records on `side` with a positive label.
    pub fn positive_rate(&self, side: Side) -> Option<f64> {
        let c = self.confusion(side);
        ratio(c.tp + c.fn_, c.total())
    }

    /// Share of records on `side` predicted positive, when predictions were
    /// counted.
    pub fn predicted_rate(&self, side: Side) -> Option<f64> {
        let c = self.confusion(side);
        ratio(c.tp + c.fp, c.total()).filter(|_| self.has_predictions)
    }

    /// The confusion counts of `side`.
    pub fn confusion(&self, side: Side) -> Confusion {
        let plane = &self.cube[side.index()];
        Confusion {
            tp: plane[1][1],
            fp: plane[0][1],
            fn_: plane[1][0],
            tn: plane[0][0],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::{Columns, CountState};
    use super::super::{section_with_groups, SectionSpec, Stage};
    use super::*;
    use crate::config::ConfigValue;
    use crate::dataset::test_chunk;
    use proptest::prelude::*;

    fn fold(rows: &[Vec<&str>], first_row: u64) -> CountState {
        let cols = Columns {
            label: 1,
            predicted: Some(2),
            group: None,
            facets: vec![0],
        };
        CountState::from_chunk(&test_chunk(rows, first_row), &cols)
    }

    fn groups(state: &CountState) -> Vec<GroupCounts> {
        let positive = [ConfigValue::Str("yes".into())];
        let spec = SectionSpec {
            stage: Stage::PostTraining,
            metrics: vec!["DPPL"],
            label_name: "label",
            label_values: &positive,
            facets: vec![("facet".into(), None)],
            has_group: false,
            flip_test: None,
        };
        section_with_groups(state, &spec).unwrap().1
    }

    proptest! {
        /// Folding shards and merging them in either order gives the group
        /// counts of one pass, and those are the counts an enumeration of
        /// the rows finds.
        #[test]
        fn merged_shards_count_the_groups_of_one_pass(
            rows in prop::collection::vec((0u8..3, any::<bool>(), any::<bool>()), 1..60),
            cut in 0usize..60,
        ) {
            let word = |b: bool| if b { "yes" } else { "no" };
            // One positive label and prediction at least: without them
            // smclarify (and so the section) refuses post-training bias.
            let fixed = [(0, true, true), (1, false, false)];
            let rows: Vec<Vec<String>> = fixed.iter().chain(&rows).map(|(f, l, p)| vec![format!("f{f}"), word(*l).into(), word(*p).into()]).collect();
            let refs: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
            let cut = cut.min(refs.len());
            let whole = groups(&CountState::new(1).merge(fold(&refs, 0)));
            let shards = [fold(&refs[..cut], 0), fold(&refs[cut..], cut as u64)];
            let forward = groups(&shards.clone().into_iter().fold(CountState::new(1), CountState::merge));
            let backward = groups(&shards.into_iter().rev().fold(CountState::new(1), CountState::merge));
            prop_assert_eq!(&forward, &whole);
            prop_assert_eq!(&backward, &whole);
            for g in &whole {
                let members = |facet: bool| refs.iter().filter(move |r| (r[0] == g.value_or_threshold) == facet);
                for (side, facet) in [(Side::Facet, true), (Side::Rest, false)] {
                    let n = members(facet).count() as u64;
                    let positives = members(facet).filter(|r| r[1] == "yes").count() as u64;
                    let predicted = members(facet).filter(|r| r[2] == "yes").count() as u64;
                    let hits = members(facet).filter(|r| r[1] == "yes" && r[2] == "yes").count() as u64;
                    prop_assert_eq!(g.records(side), n);
                    prop_assert_eq!(g.confusion(side).tp, hits);
                    prop_assert_eq!(g.positive_rate(side), (n > 0).then(|| positives as f64 / n as f64));
                    prop_assert_eq!(g.predicted_rate(side), (n > 0).then(|| predicted as f64 / n as f64));
                }
            }
        }
    }

    #[test]
    fn rates_of_a_small_example_match_a_count_by_hand() {
        // Facet group: 3 records, 2 positive, predictions 1 TP, 1 FP, 1 FN.
        let mut cube = Cube::default();
        cube[1][1][1] = 1;
        cube[1][0][1] = 1;
        cube[1][1][0] = 1;
        cube[0][0][0] = 5;
        let g = GroupCounts {
            facet: "sex".into(),
            value_or_threshold: "f".into(),
            cube,
            has_predictions: true,
        };
        assert_eq!(g.records(Side::Facet), 3);
        assert_eq!(g.records(Side::Rest), 5);
        assert_eq!(g.positive_rate(Side::Facet), Some(2.0 / 3.0));
        assert_eq!(g.predicted_rate(Side::Facet), Some(2.0 / 3.0));
        let c = g.confusion(Side::Facet);
        assert_eq!(
            (c.accuracy(), c.precision(), c.recall()),
            (Some(1.0 / 3.0), Some(0.5), Some(0.5))
        );
        assert_eq!(g.confusion(Side::Rest).accuracy(), Some(1.0));
    }
}
