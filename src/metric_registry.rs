//! Every bias metric Clarify knows, in one table: its name, the stage it
//! belongs to, the description `analysis.json` prints, and what it is
//! computed from. Config validation, the bias sections and the report guide
//! all read this table, so adding a metric starts with one entry here (then
//! its formula in `bias/metrics.rs` and its reading in `report/guide.rs`).
//!
//! It depends on nothing else in the crate, so any module may read it.

/// Which stage a metric (and a bias section) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Labels only.
    PreTraining,
    /// Labels and predictions.
    PostTraining,
}

/// What a metric is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Computation {
    /// The counts of (facet, label, predicted label, group) combinations.
    Counts,
    /// The rows themselves: FT compares each facet row with its nearest
    /// neighbours in the rest.
    FlipTest,
}

/// One registered metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Short name, as configs select it and `analysis.json` prints it.
    pub name: &'static str,
    /// Pre- or post-training.
    pub stage: Stage,
    /// The first docstring line of the smclarify metric, emitted as `description`.
    pub description: &'static str,
    /// What it is computed from.
    pub computation: Computation,
}

const fn metric(name: &'static str, stage: Stage, description: &'static str) -> Metric {
    Metric {
        name,
        stage,
        description,
        computation: Computation::Counts,
    }
}

/// The registry, each stage in smclarify's registry order.
pub const METRICS: &[Metric] = &[
    metric("CI", Stage::PreTraining, "Class Imbalance (CI)"),
    metric(
        "DPL",
        Stage::PreTraining,
        "Difference in Positive Proportions in Labels (DPL)",
    ),
    metric("KL", Stage::PreTraining, "Kullback-Liebler Divergence (KL)"),
    metric("JS", Stage::PreTraining, "Jensen-Shannon Divergence (JS)"),
    metric("LP", Stage::PreTraining, "L-p Norm (LP)"),
    metric("TVD", Stage::PreTraining, "Total Variation Distance (TVD)"),
    metric("KS", Stage::PreTraining, "Kolmogorov-Smirnov Distance (KS)"),
    metric(
        "CDDL",
        Stage::PreTraining,
        "Conditional Demographic Disparity in Labels (CDDL)",
    ),
    metric(
        "DPPL",
        Stage::PostTraining,
        "Difference in Positive Proportions in Predicted Labels (DPPL)",
    ),
    metric("DI", Stage::PostTraining, "Disparate Impact (DI)"),
    metric(
        "DCA",
        Stage::PostTraining,
        "Difference in Conditional Acceptance (DCA)",
    ),
    metric(
        "DCR",
        Stage::PostTraining,
        "Difference in Conditional Rejection (DCR)",
    ),
    metric("RD", Stage::PostTraining, "Recall Difference (RD)"),
    metric("SD", Stage::PostTraining, "Specificity Difference (SD)"),
    metric(
        "DAR",
        Stage::PostTraining,
        "Difference in Acceptance Rates (DAR)",
    ),
    metric(
        "DRR",
        Stage::PostTraining,
        "Difference in Rejection Rates (DRR)",
    ),
    metric("AD", Stage::PostTraining, "Accuracy Difference (AD)"),
    metric(
        "CDDPL",
        Stage::PostTraining,
        "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    ),
    metric("TE", Stage::PostTraining, "Treatment Equality (TE)"),
    Metric {
        name: "FT",
        stage: Stage::PostTraining,
        description: "Flip Test (FT)",
        computation: Computation::FlipTest,
    },
    metric("GE", Stage::PostTraining, "Generalized Entropy (GE)"),
];

/// The names registered for `stage`, in registry order.
pub fn names(stage: Stage) -> Vec<&'static str> {
    METRICS
        .iter()
        .filter(|m| m.stage == stage)
        .map(|m| m.name)
        .collect()
}

/// The metric called `name`, if registered.
pub fn find(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_list_smclarifys_registry_in_order() {
        assert_eq!(
            names(Stage::PreTraining),
            ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
        );
        assert_eq!(
            names(Stage::PostTraining),
            [
                "DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT",
                "GE"
            ]
        );
        assert_eq!(
            find("DI").map(|m| m.description),
            Some("Disparate Impact (DI)")
        );
        assert_eq!(
            find("FT").map(|m| m.computation),
            Some(Computation::FlipTest)
        );
        assert_eq!(find("XYZ"), None);
    }
}
