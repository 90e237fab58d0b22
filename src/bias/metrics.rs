//! Every bias metric, computed from counts exactly as smclarify computes it
//! from rows (`bias/metrics/{pretraining,posttraining,common}.py`).
//!
//! All metrics except FT need only [`Counts`]: rows per (facet group, label,
//! prediction), overall and per group-variable value. Errors are the exact
//! strings smclarify raises, since they end up in `analysis.json`.

/// Rows per `[d][y][ŷ]`: `d` = in the sensitive facet group, `y` = positive
/// label, `ŷ` = positive prediction (always 0 before training).
pub type Cube = [[[u64; 2]; 2]; 2];

/// The counts a facet's metrics are computed from.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// All rows.
    pub all: Cube,
    /// Per group-variable value, sorted as `np.unique` sorts them; `None`
    /// without a group variable, `Err` when numpy could not sort them.
    pub groups: Option<Result<Vec<Cube>, String>>,
}

/// A metric's value or its error message.
pub type Outcome = Result<f64, String>;

fn sum(c: &Cube, d: Option<usize>, y: Option<usize>, yhat: Option<usize>) -> u64 {
    let mut total = 0;
    for (di, plane) in c.iter().enumerate() {
        for (yi, row) in plane.iter().enumerate() {
            for (pi, n) in row.iter().enumerate() {
                if d.is_none_or(|v| v == di)
                    && y.is_none_or(|v| v == yi)
                    && yhat.is_none_or(|v| v == pi)
                {
                    total += n;
                }
            }
        }
    }
    total
}

/// smclarify's `common.divide`.
fn divide(a: f64, b: f64) -> f64 {
    if b == 0.0 && a == 0.0 {
        0.0
    } else if b == 0.0 {
        if a < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    } else {
        a / b
    }
}

/// `x − y`, forced to 0 when both are +∞ (smclarify's guard against NaN).
fn diff(x: f64, y: f64) -> f64 {
    if x == y && x == f64::INFINITY {
        0.0
    } else {
        x - y
    }
}

const A: Option<usize> = Some(0);
const D: Option<usize> = Some(1);
const POS: Option<usize> = Some(1);
const NEG: Option<usize> = Some(0);

fn groups_nonempty(c: &Cube, empty: &str, negated: &str) -> Result<(), String> {
    if sum(c, D, None, None) == 0 {
        return Err(empty.into());
    }
    if sum(c, A, None, None) == 0 {
        return Err(negated.into());
    }
    Ok(())
}

/// Class Imbalance.
pub fn ci(c: &Counts) -> Outcome {
    let (d, a) = (sum(&c.all, D, None, None), sum(&c.all, A, None, None));
    if a == 0 {
        return Err(
            "CI: negated facet set is empty. Check that x[~facet] has non-zero length.".into(),
        );
    }
    if d == 0 {
        return Err("CI: facet set is empty. Check that x[facet] has non-zero length.".into());
    }
    Ok((a as f64 - d as f64) / (a + d) as f64)
}

/// `common.DPL` on labels (`predicted` false) or predictions (DPPL).
fn dpl(c: &Counts, predicted: bool) -> Outcome {
    let (na, nd) = (sum(&c.all, A, None, None), sum(&c.all, D, None, None));
    let (na_pos, nd_pos) = if predicted {
        (sum(&c.all, A, None, POS), sum(&c.all, D, None, POS))
    } else {
        (sum(&c.all, A, POS, None), sum(&c.all, D, POS, None))
    };
    if na == 0 {
        return Err("Negative facet set is empty.".into());
    }
    if nd == 0 {
        return Err("Facet set is empty.".into());
    }
    Ok(na_pos as f64 / na as f64 - nd_pos as f64 / nd as f64)
}

/// Difference in Positive Proportions in Labels.
pub fn dpl_labels(c: &Counts) -> Outcome {
    dpl(c, false)
}

/// Rows per label outcome (negative, positive) in groups a and d.
fn outcome_counts(c: &Counts) -> ([u64; 2], [u64; 2]) {
    let per = |g| [sum(&c.all, g, NEG, None), sum(&c.all, g, POS, None)];
    (per(A), per(D))
}

/// The label distributions of groups a and d restricted to outcomes present
/// in both (`util.pdfs_aligned_nonzero`, not renormalised); an error when
/// none are. `a` and `d` count rows per outcome, outcomes in sorted order.
fn aligned_pdfs(a: &[u64], d: &[u64]) -> Result<(Vec<f64>, Vec<f64>), String> {
    let (na, nd) = (a.iter().sum::<u64>() as f64, d.iter().sum::<u64>() as f64);
    let (pa, pd): (Vec<f64>, Vec<f64>) = a
        .iter()
        .zip(d)
        .filter(|(x, y)| **x > 0 && **y > 0)
        .map(|(x, y)| (*x as f64 / na, *y as f64 / nd))
        .unzip();
    if pa.is_empty() {
        return Err("No instance of common facet found, dataset may be too small".into());
    }
    Ok((pa, pd))
}

/// A divergence between the label distributions of a and d, from rows per
/// outcome; reports pass the binary (negative, positive) counts.
pub type Divergence = fn(&[u64], &[u64]) -> Outcome;

/// KL from per-outcome counts: `Σ Pa ln(Pa/Pd)`.
pub fn kl_counts(a: &[u64], d: &[u64]) -> Outcome {
    let (pa, pd) = aligned_pdfs(a, d)?;
    Ok(pa.iter().zip(&pd).map(|(a, d)| a * (a / d).ln()).sum())
}

/// JS from per-outcome counts.
pub fn js_counts(a: &[u64], d: &[u64]) -> Outcome {
    let (pa, pd) = aligned_pdfs(a, d)?;
    let p: Vec<f64> = pa.iter().zip(&pd).map(|(a, d)| 0.5 * (a + d)).collect();
    let ka: f64 = pa.iter().zip(&p).map(|(a, m)| a * (a / m).ln()).sum();
    let kd: f64 = pd.iter().zip(&p).map(|(d, m)| d * (d / m).ln()).sum();
    Ok(0.5 * (ka + kd))
}

/// LP (p = 2) from per-outcome counts.
pub fn lp_counts(a: &[u64], d: &[u64]) -> Outcome {
    let (pa, pd) = aligned_pdfs(a, d)?;
    Ok(pa
        .iter()
        .zip(&pd)
        .map(|(a, d)| (a - d) * (a - d))
        .sum::<f64>()
        .sqrt())
}

/// TVD from per-outcome counts.
pub fn tvd_counts(a: &[u64], d: &[u64]) -> Outcome {
    let (pa, pd) = aligned_pdfs(a, d)?;
    Ok(0.5 * pa.iter().zip(&pd).map(|(a, d)| (a - d).abs()).sum::<f64>())
}

/// KS from per-outcome counts.
pub fn ks_counts(a: &[u64], d: &[u64]) -> Outcome {
    let (pa, pd) = aligned_pdfs(a, d)?;
    Ok(pa
        .iter()
        .zip(&pd)
        .map(|(a, d)| (a - d).abs())
        .fold(0.0, f64::max))
}

fn on_labels(c: &Counts, divergence: Divergence) -> Outcome {
    let (a, d) = outcome_counts(c);
    divergence(&a, &d)
}

/// Kullback-Liebler Divergence.
pub fn kl(c: &Counts) -> Outcome {
    on_labels(c, kl_counts)
}

/// Jensen-Shannon Divergence.
pub fn js(c: &Counts) -> Outcome {
    on_labels(c, js_counts)
}

/// L-p Norm (p = 2).
pub fn lp(c: &Counts) -> Outcome {
    on_labels(c, lp_counts)
}

/// Total Variation Distance.
pub fn tvd(c: &Counts) -> Outcome {
    on_labels(c, tvd_counts)
}

/// Kolmogorov-Smirnov Distance.
pub fn ks(c: &Counts) -> Outcome {
    on_labels(c, ks_counts)
}

/// `common.CDD` on labels or predictions.
fn cdd(c: &Counts, predicted: bool) -> Outcome {
    let groups = match &c.groups {
        None => return Err("Group variable is empty or not provided".into()),
        Some(Err(e)) => return Err(e.clone()),
        Some(Ok(g)) => g,
    };
    let outcome = |cube: &Cube, d: Option<usize>, positive: Option<usize>| {
        if predicted {
            sum(cube, d, None, positive)
        } else {
            sum(cube, d, positive, None)
        }
    };
    if outcome(&c.all, None, POS) == 0 {
        return Err("No positive labels in set".into());
    }
    if outcome(&c.all, None, NEG) == 0 {
        return Err("No negative labels in set".into());
    }
    let (mut weighted, mut total) = (0.0, 0.0);
    for g in groups {
        let count = sum(g, None, None, None) as f64;
        let (num_a, den_a) = (outcome(g, D, POS), outcome(g, None, POS));
        let (num_d, den_d) = (outcome(g, D, NEG), outcome(g, None, NEG));
        let a = if den_a != 0 {
            num_a as f64 / den_a as f64
        } else {
            0.0
        };
        let d = if den_d != 0 {
            num_d as f64 / den_d as f64
        } else {
            0.0
        };
        weighted += count * (d - a);
        total += count;
    }
    Ok(divide(weighted, total))
}

/// Conditional Demographic Disparity in Labels.
pub fn cddl(c: &Counts) -> Outcome {
    cdd(c, false)
}

/// Difference in Positive Proportions in Predicted Labels.
pub fn dppl(c: &Counts) -> Outcome {
    dpl(c, true)
}

/// Disparate Impact.
pub fn di(c: &Counts) -> Outcome {
    let na = sum(&c.all, A, None, None);
    if na == 0 {
        return Err("Negated facet set is empty".into());
    }
    let qa = sum(&c.all, A, None, POS) as f64 / na as f64;
    let nd = sum(&c.all, D, None, None);
    if nd == 0 {
        return Err("Facet set is empty".into());
    }
    let qd = sum(&c.all, D, None, POS) as f64 / nd as f64;
    Ok(divide(qd, qa))
}

/// `common.DCO`: (DCA, DCR).
fn dco(c: &Counts) -> Result<(f64, f64), String> {
    groups_nonempty(
        &c.all,
        "DCO: Facet set is empty",
        "DCO: Negated Facet set is empty",
    )?;
    let n = |d, y, p| sum(&c.all, d, y, p) as f64;
    let rr_a = divide(n(A, NEG, None), n(A, None, NEG));
    let rr_d = divide(n(D, NEG, None), n(D, None, NEG));
    let ca = divide(n(A, POS, None), n(A, None, POS));
    let cd = divide(n(D, POS, None), n(D, None, POS));
    Ok((diff(ca, cd), diff(rr_d, rr_a)))
}

/// Difference in Conditional Acceptance.
pub fn dca(c: &Counts) -> Outcome {
    dco(c).map(|(dca, _)| dca)
}

/// Difference in Conditional Rejection.
pub fn dcr(c: &Counts) -> Outcome {
    dco(c).map(|(_, dcr)| dcr)
}

/// `common.DLA`: (RD, SD).
fn dla(c: &Counts) -> Result<(f64, f64), String> {
    groups_nonempty(
        &c.all,
        "DLA: Facet set is empty",
        "DLA: Negated Facet set is empty",
    )?;
    let n = |d, y, p| sum(&c.all, d, y, p) as f64;
    let rec_a = divide(n(A, POS, POS), n(A, POS, POS) + n(A, POS, NEG));
    let sp_a = divide(n(A, NEG, NEG), n(A, NEG, NEG) + n(A, NEG, POS));
    let rec_d = divide(n(D, POS, POS), n(D, POS, POS) + n(D, POS, NEG));
    let sp_d = divide(n(D, NEG, NEG), n(D, NEG, NEG) + n(D, NEG, POS));
    Ok((diff(rec_a, rec_d), diff(sp_d, sp_a)))
}

/// Recall Difference.
pub fn rd(c: &Counts) -> Outcome {
    dla(c).map(|(rd, _)| rd)
}

/// Specificity Difference.
pub fn sd(c: &Counts) -> Outcome {
    dla(c).map(|(_, sd)| sd)
}

/// `common.DLR`: (DAR, DRR).
fn dlr(c: &Counts) -> Result<(f64, f64), String> {
    groups_nonempty(
        &c.all,
        "DLR: Facet set is empty",
        "DLR: Negated Facet set is empty",
    )?;
    let n = |d, y, p| sum(&c.all, d, y, p) as f64;
    let ar_a = divide(n(A, POS, POS), n(A, None, POS));
    let ar_d = divide(n(D, POS, POS), n(D, None, POS));
    let rr_a = divide(n(A, NEG, NEG), n(A, None, NEG));
    let rr_d = divide(n(D, NEG, NEG), n(D, None, NEG));
    Ok((diff(ar_a, ar_d), diff(rr_d, rr_a)))
}

/// Difference in Acceptance Rates.
pub fn dar(c: &Counts) -> Outcome {
    dlr(c).map(|(dar, _)| dar)
}

/// Difference in Rejection Rates.
pub fn drr(c: &Counts) -> Outcome {
    dlr(c).map(|(_, drr)| drr)
}

/// Accuracy Difference.
pub fn ad(c: &Counts) -> Outcome {
    groups_nonempty(&c.all, "Facet set is empty", "Negated Facet set is empty")?;
    let n = |d, y, p| sum(&c.all, d, y, p) as f64;
    let acc_a = divide(n(A, POS, POS) + n(A, NEG, NEG), n(A, None, None));
    let acc_d = divide(n(D, POS, POS) + n(D, NEG, NEG), n(D, None, None));
    Ok(diff(acc_a, acc_d))
}

/// Conditional Demographic Disparity in Predicted Labels.
pub fn cddpl(c: &Counts) -> Outcome {
    cdd(c, true)
}

/// Treatment Equality.
pub fn te(c: &Counts) -> Outcome {
    groups_nonempty(&c.all, "Facet set is empty", "Negated Facet set is empty")?;
    let n = |d, y, p| sum(&c.all, d, y, p) as f64;
    let tau_a = divide(n(A, POS, NEG), n(A, NEG, POS));
    let tau_d = divide(n(D, POS, NEG), n(D, NEG, POS));
    Ok(diff(tau_d, tau_a))
}

/// Generalized Entropy (α = 2), over all rows.
pub fn ge(c: &Counts) -> Outcome {
    let total = sum(&c.all, None, None, None);
    if total == 0 {
        return Err("dataset must be non-empty".into());
    }
    // benefit b = ŷ − y + 1 ∈ {0, 1, 2}
    let b0 = sum(&c.all, None, POS, NEG) as f64;
    let b2 = sum(&c.all, None, NEG, POS) as f64;
    let b1 = total as f64 - b0 - b2;
    let mean = (b1 + 2.0 * b2) / total as f64;
    if mean == 0.0 {
        return Err("All predicted labels are false negatives. There should be at least one prediction that is not false negative.".into());
    }
    let term = |b: f64| (b / mean).powi(2) - 1.0;
    Ok((b0 * term(0.0) + b1 * term(1.0) + b2 * term(2.0)) / (total as f64 * 2.0))
}
