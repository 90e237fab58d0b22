//! What each bias metric means to a reader: the values it can take, where
//! parity lies, the rule-of-thumb band around parity, and one sentence.
//!
//! Throughout, "the facet group" is the sensitive group selected by the
//! facet's `value_or_threshold` (smclarify's *d*) and "the rest" is every
//! other record (smclarify's *a*).

/// How a metric's values spread around parity, which decides how a chart
/// row lays them out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// A signed difference with parity at 0; `bound` is the largest
    /// magnitude it can reach, when it has one.
    Difference {
        /// Largest possible magnitude, if bounded.
        bound: Option<f64>,
    },
    /// A distance between distributions: never negative, parity at 0.
    Distance {
        /// Largest possible value, if bounded.
        bound: Option<f64>,
    },
    /// A ratio with parity at 1 (DI). Drawn on a log scale, so that 0.5 and 2
    /// are equally far from parity.
    Ratio,
}

impl Scale {
    /// The value meaning "no difference between the groups".
    pub fn neutral(self) -> f64 {
        match self {
            Scale::Ratio => 1.0,
            Scale::Difference { .. } | Scale::Distance { .. } => 0.0,
        }
    }
}

/// A reader's guide to one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricGuide {
    /// How values spread around parity.
    pub scale: Scale,
    /// The possible values, in words, e.g. "-1 to 1".
    pub range: &'static str,
    /// A common rule-of-thumb zone counted as balanced, when one is in use.
    pub band: Option<(f64, f64)>,
    /// One sentence saying what the number tells.
    pub meaning: &'static str,
    /// What a value above parity and one below it say, `{n}` standing for
    /// the size of the gap; `None` when [`MetricGuide::meaning`] fits every
    /// value (distances cannot fall below parity).
    pub signs: Option<Signs>,
}

/// The sentences for values on either side of parity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signs {
    /// For a value above parity.
    pub above: &'static str,
    /// For a value below parity.
    pub below: &'static str,
}

impl MetricGuide {
    /// Whether `value` lies outside the rule-of-thumb band, so a reader
    /// should look at it. Metrics without a band are never flagged: the
    /// report does not invent thresholds nobody uses.
    pub fn is_notable(&self, value: f64) -> bool {
        self.band
            .is_some_and(|(low, high)| !(low..=high).contains(&value))
    }

    /// What `value` tells, in a sentence for its side of parity with the
    /// size of the gap: points for differences of proportions, a percentage
    /// of the rest's rate for DI.
    pub fn tells(&self, value: f64) -> String {
        let parity = self.scale.neutral();
        let Some(signs) = self.signs.filter(|_| value.is_finite()) else {
            return self.meaning.to_string();
        };
        if (value - parity).abs() < 1e-12 {
            return "No difference between the facet group and the rest.".into();
        }
        let size = match self.scale {
            Scale::Difference { bound: Some(_) } => format!("{:.1}", value.abs() * 100.0),
            Scale::Ratio => format!("{:.0}", value * 100.0),
            _ => super::format_number(value.abs()),
        };
        let text = if value > parity {
            signs.above
        } else {
            signs.below
        };
        text.replace("{n}", &size)
    }
}

/// The kinds of bias metric, in the order the report lists them: what
/// each kind compares, then its metrics. Metrics of one kind answer one
/// question, so a reader compares them side by side.
const FAMILIES: [(&str, &[&str]); 7] = [
    ("representation", &["CI"]),
    ("label rates", &["DPL", "CDDL"]),
    ("label distributions", &["KL", "JS", "LP", "TVD", "KS"]),
    ("selection-rate parity", &["DPPL", "DI"]),
    ("error-rate parity", &["AD", "RD", "SD", "DAR", "DRR"]),
    ("conditional on the group variable", &["CDDPL"]),
    ("other", &["DCA", "DCR", "TE", "FT"]),
];

/// The kind of metric `name` as (position in the report's order, what it
/// compares); unknown metrics come last, as "other".
pub fn family(name: &str) -> (usize, &'static str) {
    FAMILIES
        .iter()
        .position(|(_, names)| names.contains(&name))
        .map_or((FAMILIES.len(), "other"), |i| (i, FAMILIES[i].0))
}

/// Why DI and DPPL, which compare the same predicted positive rates, can
/// disagree about the band; `None` when they agree.
pub fn di_dppl_disagreement(di: f64, dppl: f64) -> Option<&'static str> {
    let di_outside = metric_guide("DI")?.is_notable(di);
    let dppl_outside = metric_guide("DPPL")?.is_notable(dppl);
    match (di_outside, dppl_outside) {
        (false, true) => Some("DI passes while DPPL is outside ±0.1: both compare the predicted positive rates, DI as a ratio and DPPL as a difference, and when both rates are high a ratio near 1 can hide a gap of more than 10 points."),
        (true, false) => Some("DI is outside 0.8 to 1.25 while DPPL is within ±0.1: both compare the predicted positive rates, DI as a ratio and DPPL as a difference, and when both rates are low a gap of a few points is a large ratio."),
        _ => None,
    }
}

/// The ±0.1 band commonly used for differences of proportions.
const SMALL_DIFFERENCE: Option<(f64, f64)> = Some((-0.1, 0.1));

/// The guide to metric `name` (a code such as `DPL`), or `None` for a name
/// openclarify does not know.
pub fn metric_guide(name: &str) -> Option<MetricGuide> {
    let proportion = Scale::Difference { bound: Some(1.0) };
    let unbounded = Scale::Difference { bound: None };
    let difference = |meaning, above, below| MetricGuide {
        scale: proportion,
        range: "-1 to 1",
        band: SMALL_DIFFERENCE,
        meaning,
        signs: Some(Signs { above, below }),
    };
    let distance = |bound: Option<f64>, range, meaning| MetricGuide {
        scale: Scale::Distance { bound },
        range,
        band: None,
        meaning,
        signs: None,
    };
    let unbounded_difference = |meaning, above, below| MetricGuide {
        scale: unbounded,
        range: "any number",
        band: None,
        meaning,
        signs: Some(Signs { above, below }),
    };
    Some(match name {
        "CI" => difference(
            "Positive: the facet group has fewer records than the rest; negative: more.",
            "The facet group is the smaller one: {n} points of all records fewer than the rest.",
            "The facet group is the larger one: {n} points of all records more than the rest.",
        ),
        "DPL" => difference(
            "Positive: the facet group has a lower share of positive labels than the rest.",
            "The facet group's share of positive labels is {n} points lower than the rest's.",
            "The facet group's share of positive labels is {n} points higher than the rest's.",
        ),
        "KL" => distance(None, "0 or more", "How far the facet group's label distribution is from the rest's (0: the same)."),
        "JS" => distance(Some(std::f64::consts::LN_2), "0 to ln 2 (0.69)", "A symmetric, bounded form of KL (0: the same label distributions)."),
        "LP" => distance(Some(std::f64::consts::SQRT_2), "0 to √2 (1.41)", "Euclidean distance between the groups' label distributions (0: the same)."),
        "TVD" => distance(Some(1.0), "0 to 1", "Half the summed gap between the groups' label distributions (0: the same)."),
        "KS" => distance(Some(1.0), "0 to 1", "Largest gap between the groups' label distributions (0: the same)."),
        "CDDL" => difference(
            "Positive: within each subgroup, the facet group gets more of the negative labels than of the positive ones.",
            "Within subgroups, the facet group's share of the negative labels is larger than its share of the positive ones, by {n} points on average.",
            "Within subgroups, the facet group's share of the positive labels is larger than its share of the negative ones, by {n} points on average.",
        ),
        "DPPL" => difference(
            "Positive: the model predicts positive less often for the facet group than for the rest.",
            "The model predicts positive for {n} points fewer of the facet group than of the rest.",
            "The model predicts positive for {n} points more of the facet group than of the rest.",
        ),
        "DI" => MetricGuide {
            scale: Scale::Ratio,
            range: "0 or more, parity at 1",
            band: Some((0.8, 1.25)),
            meaning: "Facet group's rate of positive predictions divided by the rest's; below 0.8 fails the four-fifths rule.",
            signs: Some(Signs {
                above: "The facet group gets positive predictions at {n} % of the rest's rate: more often.",
                below: "The facet group gets positive predictions at {n} % of the rest's rate: less often.",
            }),
        },
        "DCA" => unbounded_difference(
            "Rest minus facet group of observed positives per predicted positive (0: acceptances match the labels equally).",
            "The facet group has {n} fewer observed positives per predicted positive than the rest: the model accepts it more readily than its labels support.",
            "The facet group has {n} more observed positives per predicted positive than the rest: the model accepts it less readily than its labels support.",
        ),
        "DCR" => unbounded_difference(
            "Facet group minus rest of observed negatives per predicted negative (0: rejections match the labels equally).",
            "The facet group has {n} more observed negatives per predicted negative than the rest: the model rejects it less readily than its labels support.",
            "The facet group has {n} fewer observed negatives per predicted negative than the rest: the model rejects it more readily than its labels support.",
        ),
        "RD" => difference(
            "Positive: the model finds the facet group's actual positives less often (lower recall).",
            "The model finds {n} points fewer of the facet group's actual positives than of the rest's (lower recall).",
            "The model finds {n} points more of the facet group's actual positives than of the rest's (higher recall).",
        ),
        "SD" => difference(
            "Negative: the model wrongly predicts positive for the facet group's actual negatives more often.",
            "The facet group's actual negatives are correctly predicted negative {n} points more often than the rest's (fewer false positives).",
            "The facet group's actual negatives are correctly predicted negative {n} points less often than the rest's (more false positives).",
        ),
        "DAR" => difference(
            "Positive: the facet group's positive predictions are right less often (lower precision).",
            "The facet group's positive predictions are right {n} points less often than the rest's (lower precision).",
            "The facet group's positive predictions are right {n} points more often than the rest's (higher precision).",
        ),
        "DRR" => difference(
            "Negative: the facet group's negative predictions are right less often.",
            "The facet group's negative predictions are right {n} points more often than the rest's.",
            "The facet group's negative predictions are right {n} points less often than the rest's.",
        ),
        "AD" => difference(
            "Positive: the model is less accurate for the facet group than for the rest.",
            "The model is {n} points less accurate for the facet group than for the rest.",
            "The model is {n} points more accurate for the facet group than for the rest.",
        ),
        "CDDPL" => difference(
            "Like CDDL, on the model's predicted labels.",
            "Within subgroups, the facet group's share of the negative predictions is larger than its share of the positive ones, by {n} points on average.",
            "Within subgroups, the facet group's share of the positive predictions is larger than its share of the negative ones, by {n} points on average.",
        ),
        "TE" => unbounded_difference(
            "Facet group minus rest of false negatives per false positive (0: the same mix of errors).",
            "The facet group's errors lean more to false negatives: {n} more per false positive than the rest's.",
            "The facet group's errors lean more to false positives: {n} fewer false negatives per false positive than the rest's.",
        ),
        "FT" => difference(
            "Net share of the facet group whose prediction differs from that of similar records of the rest.",
            "Net {n} points of the facet group are predicted positive where similar records of the rest are predicted negative.",
            "Net {n} points of the facet group are predicted negative where similar records of the rest are predicted positive.",
        ),
        "GE" => distance(None, "0 or more", "How unequally the model's benefit is spread across individuals (0: equally)."),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clarify_metric_has_a_guide() {
        for name in crate::metric_registry::METRICS.iter().map(|m| m.name) {
            let guide = metric_guide(name).unwrap_or_else(|| panic!("{name} has no guide"));
            assert!(!guide.meaning.is_empty() && !guide.range.is_empty());
        }
        assert_eq!(metric_guide("XYZ"), None);
    }

    #[test]
    fn the_four_fifths_band_flags_disparate_impact() {
        let di = metric_guide("DI").unwrap();
        assert_eq!(di.scale.neutral(), 1.0);
        assert!(di.is_notable(0.7) && di.is_notable(1.3));
        assert!(!di.is_notable(0.85) && !di.is_notable(1.0));
        assert!(!metric_guide("KL").unwrap().is_notable(5.0));
    }

    #[test]
    fn what_a_value_tells_follows_its_sign() {
        let sd = metric_guide("SD").unwrap();
        assert_eq!(
            sd.tells(0.2041),
            "The facet group's actual negatives are correctly predicted negative 20.4 points more often than the rest's (fewer false positives)."
        );
        assert!(sd.tells(-0.05).contains("5.0 points less often"));
        assert_eq!(
            sd.tells(0.0),
            "No difference between the facet group and the rest."
        );
        let di = metric_guide("DI").unwrap();
        assert!(di.tells(0.829).starts_with(
            "The facet group gets positive predictions at 83 % of the rest's rate: less often"
        ));
        assert!(di.tells(1.3).ends_with("more often."));
        let kl = metric_guide("KL").unwrap();
        assert_eq!(kl.tells(0.2), kl.meaning);
        assert!(metric_guide("TE")
            .unwrap()
            .tells(0.333)
            .contains("0.333 more"));
    }

    #[test]
    fn di_and_dppl_disagreements_are_explained_both_ways() {
        assert!(di_dppl_disagreement(0.829, 0.1476)
            .unwrap()
            .starts_with("DI passes"));
        assert!(di_dppl_disagreement(0.5, 0.05)
            .unwrap()
            .starts_with("DI is outside"));
        assert_eq!(di_dppl_disagreement(0.9, 0.05), None);
        assert_eq!(di_dppl_disagreement(0.5, 0.3), None);
    }

    #[test]
    fn every_clarify_metric_has_a_kind_and_post_training_groups_in_order() {
        for name in crate::metric_registry::METRICS.iter().map(|m| m.name) {
            if name != "GE" {
                assert!(family(name).0 < FAMILIES.len(), "{name} has no kind");
            }
        }
        let order: Vec<usize> = ["DPPL", "DI", "AD", "SD", "CDDPL", "TE"]
            .iter()
            .map(|n| family(n).0)
            .collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    }

    #[test]
    fn every_signed_metric_says_both_sides() {
        for name in crate::metric_registry::METRICS.iter().map(|m| m.name) {
            let guide = metric_guide(name).unwrap();
            if let Some(signs) = guide.signs {
                assert_ne!(signs.above, signs.below, "{name}");
                assert!(
                    signs.above.contains("{n}") && signs.below.contains("{n}"),
                    "{name}"
                );
            }
        }
    }
}
