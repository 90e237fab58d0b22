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
}

impl MetricGuide {
    /// Whether `value` lies outside the rule-of-thumb band, so a reader
    /// should look at it. Metrics without a band are never flagged: the
    /// report does not invent thresholds nobody uses.
    pub fn is_notable(&self, value: f64) -> bool {
        self.band
            .is_some_and(|(low, high)| !(low..=high).contains(&value))
    }
}

/// The ±0.1 band commonly used for differences of proportions.
const SMALL_DIFFERENCE: Option<(f64, f64)> = Some((-0.1, 0.1));

/// The guide to metric `name` (a code such as `DPL`), or `None` for a name
/// openclarify does not know.
pub fn metric_guide(name: &str) -> Option<MetricGuide> {
    let proportion = Scale::Difference { bound: Some(1.0) };
    let unbounded = Scale::Difference { bound: None };
    let difference = |meaning| MetricGuide {
        scale: proportion,
        range: "-1 to 1",
        band: SMALL_DIFFERENCE,
        meaning,
    };
    let distance = |bound: Option<f64>, range, meaning| MetricGuide {
        scale: Scale::Distance { bound },
        range,
        band: None,
        meaning,
    };
    let unbounded_difference = |meaning| MetricGuide {
        scale: unbounded,
        range: "any number",
        band: None,
        meaning,
    };
    Some(match name {
        "CI" => difference("Positive: the facet group has fewer records than the rest; negative: more."),
        "DPL" => difference("Positive: the facet group has a lower share of positive labels than the rest."),
        "KL" => distance(None, "0 or more", "How far the facet group's label distribution is from the rest's (0: the same)."),
        "JS" => distance(Some(std::f64::consts::LN_2), "0 to ln 2 (0.69)", "A symmetric, bounded form of KL (0: the same label distributions)."),
        "LP" => distance(Some(std::f64::consts::SQRT_2), "0 to √2 (1.41)", "Euclidean distance between the groups' label distributions (0: the same)."),
        "TVD" => distance(Some(1.0), "0 to 1", "Half the summed gap between the groups' label distributions (0: the same)."),
        "KS" => distance(Some(1.0), "0 to 1", "Largest gap between the groups' label distributions (0: the same)."),
        "CDDL" => difference("Positive: within each subgroup, the facet group gets more of the negative labels than of the positive ones."),
        "DPPL" => difference("Positive: the model predicts positive less often for the facet group than for the rest."),
        "DI" => MetricGuide {
            scale: Scale::Ratio,
            range: "0 or more, parity at 1",
            band: Some((0.8, 1.25)),
            meaning: "Facet group's rate of positive predictions divided by the rest's; below 0.8 fails the four-fifths rule.",
        },
        "DCA" => unbounded_difference("Rest minus facet group of observed positives per predicted positive (0: acceptances match the labels equally)."),
        "DCR" => unbounded_difference("Facet group minus rest of observed negatives per predicted negative (0: rejections match the labels equally)."),
        "RD" => difference("Positive: the model finds the facet group's actual positives less often (lower recall)."),
        "SD" => difference("Negative: the model wrongly predicts positive for the facet group's actual negatives more often."),
        "DAR" => difference("Positive: the facet group's positive predictions are right less often (lower precision)."),
        "DRR" => difference("Negative: the facet group's negative predictions are right less often."),
        "AD" => difference("Positive: the model is less accurate for the facet group than for the rest."),
        "CDDPL" => difference("Like CDDL, on the model's predicted labels."),
        "TE" => unbounded_difference("Facet group minus rest of false negatives per false positive (0: the same mix of errors)."),
        "FT" => difference("Net share of the facet group whose prediction differs from that of similar records of the rest."),
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
}
