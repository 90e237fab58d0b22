//! A small dense least-squares solver for the Kernel SHAP regression.
//!
//! The systems are tall and thin (a few thousand coalitions by at most a few
//! dozen features), so a Householder QR in `f64` is cheap and, unlike the
//! normal equations shap solves, does not square the condition number. Column
//! pivoting lets it return a sensible answer when too few coalitions were
//! sampled to pin every coefficient down: the columns it cannot resolve get 0.

/// Solves `min_x Σ_i w_i (b_i − (A x)_i)²` for `x`, once per target vector `b`.
///
/// `rows` holds the design matrix `A`, one row of `unknowns` values per
/// observation; each vector in `targets` holds one value per row, and the
/// factorisation is shared between them (one model output each in Kernel
/// SHAP). Weights must be non-negative. Unknowns that the data cannot
/// determine (linearly dependent columns, or fewer rows than unknowns) are
/// set to 0, so the result is always finite.
pub fn weighted_least_squares(
    rows: &[Vec<f64>],
    unknowns: usize,
    targets: &[Vec<f64>],
    weights: &[f64],
) -> Vec<Vec<f64>> {
    let n = rows.len();
    let p = unknowns;
    assert!(
        rows.iter().all(|r| r.len() == p),
        "every row has one value per unknown"
    );
    assert!(targets.iter().all(|t| t.len() == n), "one target per row");
    assert_eq!(weights.len(), n, "one weight per row");
    // Column-major copy scaled by √w: plain least squares on it is the
    // weighted problem.
    let mut columns: Vec<Vec<f64>> = (0..p)
        .map(|j| {
            rows.iter()
                .zip(weights)
                .map(|(row, w)| row[j] * w.sqrt())
                .collect()
        })
        .collect();
    let mut right_hand_sides: Vec<Vec<f64>> = targets
        .iter()
        .map(|t| t.iter().zip(weights).map(|(b, w)| b * w.sqrt()).collect())
        .collect();
    let mut order: Vec<usize> = (0..p).collect();
    let largest_norm = columns.iter().map(|c| norm(c)).fold(0.0, f64::max);
    let tolerance = largest_norm * f64::EPSILON * n.max(p) as f64;
    let mut rank = 0;
    for k in 0..p.min(n) {
        // Pivot: the remaining column with the most energy below row k.
        let (pivot, pivot_norm) = (k..p)
            .map(|j| (j, norm(&columns[j][k..])))
            .fold((k, -1.0), |best, c| if c.1 > best.1 { c } else { best });
        if pivot_norm <= tolerance {
            break;
        }
        columns.swap(k, pivot);
        order.swap(k, pivot);
        let reflector = householder(&columns[k][k..], pivot_norm);
        for column in columns[k..].iter_mut() {
            reflect(&reflector, &mut column[k..]);
        }
        for rhs in right_hand_sides.iter_mut() {
            reflect(&reflector, &mut rhs[k..]);
        }
        rank += 1;
    }
    right_hand_sides
        .iter()
        .map(|rhs| back_substitute(&columns, rank, &order, rhs))
        .collect()
}

/// Solves the leading `rank`×`rank` triangle of R (stored by column) and
/// undoes the column pivoting.
fn back_substitute(columns: &[Vec<f64>], rank: usize, order: &[usize], rhs: &[f64]) -> Vec<f64> {
    let mut pivoted = vec![0.0; rank];
    for i in (0..rank).rev() {
        let known: f64 = (i + 1..rank).map(|j| columns[j][i] * pivoted[j]).sum();
        pivoted[i] = (rhs[i] - known) / columns[i][i];
    }
    let mut solution = vec![0.0; order.len()];
    for (i, value) in pivoted.into_iter().enumerate() {
        solution[order[i]] = value;
    }
    solution
}

fn norm(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// The Householder vector `v` that maps `x` onto `−sign(x₀)‖x‖ e₀`; the sign
/// choice avoids cancellation in `x₀ − α`.
fn householder(x: &[f64], x_norm: f64) -> Vec<f64> {
    let alpha = if x[0] >= 0.0 { -x_norm } else { x_norm };
    let mut v = x.to_vec();
    v[0] -= alpha;
    v
}

/// Applies `I − 2 v vᵀ / (vᵀ v)` to `y` in place.
fn reflect(v: &[f64], y: &mut [f64]) {
    let vv: f64 = v.iter().map(|a| a * a).sum();
    if vv == 0.0 {
        return;
    }
    let scale = 2.0 * v.iter().zip(y.iter()).map(|(a, b)| a * b).sum::<f64>() / vv;
    for (yi, vi) in y.iter_mut().zip(v) {
        *yi -= scale * vi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_solution_of_a_consistent_system() {
        let truth = [1.5, -2.0, 0.25];
        let rows: Vec<Vec<f64>> = (0..7)
            .map(|i| {
                let t = i as f64;
                vec![1.0, t, (t * 0.7).sin()]
            })
            .collect();
        let targets: Vec<f64> = rows
            .iter()
            .map(|r| r.iter().zip(&truth).map(|(a, x)| a * x).sum())
            .collect();
        let weights: Vec<f64> = (0..7).map(|i| 0.5 + i as f64).collect();
        let solution = weighted_least_squares(&rows, 3, &[targets], &weights).remove(0);
        for (s, t) in solution.iter().zip(&truth) {
            assert!((s - t).abs() < 1e-12, "{solution:?}");
        }
    }

    #[test]
    fn weights_match_the_closed_form_weighted_mean() {
        // One unknown, a column of ones: the answer is the weighted mean.
        let rows = vec![vec![1.0]; 3];
        let targets = [vec![1.0, 2.0, 4.0], vec![0.0, 0.0, 4.0]];
        let solutions = weighted_least_squares(&rows, 1, &targets, &[1.0, 1.0, 2.0]);
        assert!((solutions[0][0] - 11.0 / 4.0).abs() < 1e-14);
        assert!((solutions[1][0] - 2.0).abs() < 1e-14);
    }

    #[test]
    fn no_rows_gives_zeros() {
        assert_eq!(
            weighted_least_squares(&[], 2, &[vec![]], &[]),
            vec![vec![0.0, 0.0]]
        );
    }

    #[test]
    fn undetermined_unknowns_get_zero() {
        // The third column repeats the first: it is left at 0 and the fit is exact.
        let rows = vec![
            vec![1.0, 0.0, 1.0],
            vec![0.0, 1.0, 0.0],
            vec![1.0, 1.0, 1.0],
        ];
        let solution =
            weighted_least_squares(&rows, 3, &[vec![2.0, 3.0, 5.0]], &[1.0; 3]).remove(0);
        assert_eq!(solution.iter().filter(|v| **v == 0.0).count(), 1);
        let fitted: Vec<f64> = rows
            .iter()
            .map(|r| r.iter().zip(&solution).map(|(a, x)| a * x).sum())
            .collect();
        for (f, t) in fitted.iter().zip([2.0, 3.0, 5.0]) {
            assert!((f - t).abs() < 1e-12);
        }
    }
}
