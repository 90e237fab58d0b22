//! Standard errors of sampled Kernel SHAP values, estimated from the draws
//! that produced them.
//!
//! The constrained Kernel SHAP fit solves the weighted normal equations
//! `Σ_c w_c z_c (y_c − z_cᵀβ) = 0`. The enumerated coalitions' terms are
//! fixed; the sampled ones add up, with one weight `s` per count, over
//! independent random draws `d`, each contributing
//! `ψ_d(β) = Σ_{c ∈ d} z_c (y_c − z_cᵀβ)` (a subset and its complement for
//! paired sizes). Linearising the equations around the estimate gives the
//! sandwich (influence-function) covariance of an M-estimator:
//!
//! `Cov(β̂) ≈ H⁻¹ (s² · N · S_ψ) H⁻¹`, with `H = Σ_c w_c z_c z_cᵀ`, `N` the
//! draws and `S_ψ` the sample covariance of the `ψ_d(β̂)`.
//!
//! This is the paired-sampling variance estimate of Covert & Lee (2021,
//! "Improving KernelSHAP"), here for shap's estimator, whose `H` is itself
//! sampled, and with shap's enumerated sizes taken as fixed. Drawing a
//! coalition already present only adds to its count, which makes the sample
//! slightly less variable than independent draws, so the estimate errs on
//! the large side. The last feature's value is `total − Σβ`, so its standard
//! error is that of the sum, `√(1ᵀ Cov 1)`.

/// The draws' covariance machinery for one explained row, shared by its
/// model outputs (they have the same design, weights and draws).
pub(super) struct DrawVariance<'a> {
    design: &'a [Vec<f64>],
    draws: &'a [Vec<usize>],
    /// The Cholesky factor of `H`, lower triangular by rows; `None` when `H`
    /// is singular (fewer coalitions than unknowns) or fewer than two draws
    /// were made, so no variance can be estimated.
    factor: Option<Vec<Vec<f64>>>,
    /// `s² · N / (N − 1)`: the count weight squared, and the sample
    /// covariance's scaling to the sum over `N` draws.
    scale: f64,
}

impl<'a> DrawVariance<'a> {
    /// Prepares the estimate for the regression rows `design` with `weights`,
    /// the random `draws` (indices into `design`) and the weight of one count.
    pub(super) fn new(
        design: &'a [Vec<f64>],
        weights: &[f64],
        draws: &'a [Vec<usize>],
        count_weight: f64,
    ) -> Self {
        let n = draws.len() as f64;
        let factor = (draws.len() >= 2)
            .then(|| cholesky(&normal_matrix(design, weights)))
            .flatten();
        DrawVariance {
            design,
            draws,
            factor,
            scale: count_weight * count_weight * n / (n - 1.0),
        }
    }

    /// The standard error of each coefficient and of their sum, for one
    /// output's regression `targets` and fitted `coefficients`. Zero with no
    /// random draws (everything enumerated, an exact answer), NaN when it
    /// cannot be estimated.
    pub(super) fn stderr(&self, targets: &[f64], coefficients: &[f64]) -> (Vec<f64>, f64) {
        let p = coefficients.len();
        if self.draws.is_empty() {
            return (vec![0.0; p], 0.0);
        }
        let Some(factor) = &self.factor else {
            return (vec![f64::NAN; p], f64::NAN);
        };
        let residual = |c: usize| {
            let fitted: f64 = self.design[c]
                .iter()
                .zip(coefficients)
                .map(|(z, b)| z * b)
                .sum();
            targets[c] - fitted
        };
        let scores: Vec<Vec<f64>> = self
            .draws
            .iter()
            .map(|draw| {
                let mut score = vec![0.0; p];
                for &c in draw {
                    let e = residual(c);
                    score
                        .iter_mut()
                        .zip(&self.design[c])
                        .for_each(|(s, z)| *s += z * e);
                }
                score
            })
            .collect();
        let n = scores.len() as f64;
        let mean: Vec<f64> = (0..p)
            .map(|j| scores.iter().map(|s| s[j]).sum::<f64>() / n)
            .collect();
        let mut variances = vec![0.0; p];
        let mut variance_of_sum = 0.0;
        for score in &scores {
            let centred: Vec<f64> = score.iter().zip(&mean).map(|(s, m)| s - m).collect();
            let influence = cholesky_solve(factor, &centred);
            variances
                .iter_mut()
                .zip(&influence)
                .for_each(|(v, u)| *v += u * u);
            variance_of_sum += influence.iter().sum::<f64>().powi(2);
        }
        let stderr = variances.iter().map(|v| (v * self.scale).sqrt()).collect();
        (stderr, (variance_of_sum * self.scale).sqrt())
    }
}

/// `H = Σ_c w_c z_c z_cᵀ`.
fn normal_matrix(design: &[Vec<f64>], weights: &[f64]) -> Vec<Vec<f64>> {
    let p = design.first().map_or(0, Vec::len);
    let mut h = vec![vec![0.0; p]; p];
    for (z, &w) in design.iter().zip(weights) {
        for i in 0..p {
            for j in 0..=i {
                h[i][j] += w * z[i] * z[j];
            }
        }
    }
    h
}

/// The lower Cholesky factor of the symmetric matrix whose lower triangle
/// is `h`, or `None` when it is not clearly positive definite (a pivot
/// below 1e-10 of the largest diagonal entry).
fn cholesky(h: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let p = h.len();
    let largest = (0..p).map(|i| h[i][i]).fold(0.0, f64::max);
    let mut l = vec![vec![0.0; p]; p];
    for i in 0..p {
        for j in 0..=i {
            let known: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let pivot = h[i][i] - known;
                if pivot <= 1e-10 * largest || pivot <= 0.0 {
                    return None;
                }
                l[i][i] = pivot.sqrt();
            } else {
                l[i][j] = (h[i][j] - known) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solves `L Lᵀ x = b`.
fn cholesky_solve(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let p = b.len();
    let mut y = vec![0.0; p];
    for i in 0..p {
        let known: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
        y[i] = (b[i] - known) / l[i][i];
    }
    let mut x = vec![0.0; p];
    for i in (0..p).rev() {
        let known: f64 = (i + 1..p).map(|k| l[k][i] * x[k]).sum();
        x[i] = (y[i] - known) / l[i][i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // H = [[4, 2], [2, 3]], b = H·[1, −2] = [0, −4].
        let l = cholesky(&[vec![4.0, 0.0], vec![2.0, 3.0]]).unwrap();
        let x = cholesky_solve(&l, &[0.0, -4.0]);
        assert!(
            (x[0] - 1.0).abs() < 1e-14 && (x[1] + 2.0).abs() < 1e-14,
            "{x:?}"
        );
        assert!(
            cholesky(&[vec![1.0, 0.0], vec![1.0, 1.0]]).is_none(),
            "singular"
        );
    }

    /// One unknown, a column of ones, equal weights: β̂ is the mean of the
    /// sampled targets, and the estimate is the textbook standard error of a
    /// mean, `sd / √N`.
    #[test]
    fn a_mean_gets_the_standard_error_of_a_mean() {
        let targets = [1.0, 4.0, 2.0, 7.0, 6.0];
        let design = vec![vec![1.0]; targets.len()];
        let draws: Vec<Vec<usize>> = (0..targets.len()).map(|c| vec![c]).collect();
        let n = targets.len() as f64;
        let weights = vec![1.0 / n; targets.len()];
        let mean = targets.iter().sum::<f64>() / n;
        let variance = DrawVariance::new(&design, &weights, &draws, 1.0 / n);
        let (stderr, of_sum) = variance.stderr(&targets, &[mean]);
        let sd = (targets.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((stderr[0] - sd / n.sqrt()).abs() < 1e-12, "{stderr:?}");
        assert!((of_sum - stderr[0]).abs() < 1e-12);
    }

    #[test]
    fn no_draws_is_exact_and_one_draw_is_unknown() {
        let design = vec![vec![1.0], vec![1.0]];
        let (stderr, of_sum) =
            DrawVariance::new(&design, &[1.0, 1.0], &[], 0.0).stderr(&[1.0, 2.0], &[1.5]);
        assert_eq!((stderr, of_sum), (vec![0.0], 0.0));
        let (stderr, _) =
            DrawVariance::new(&design, &[1.0, 1.0], &[vec![0]], 1.0).stderr(&[1.0, 2.0], &[1.5]);
        assert!(stderr[0].is_nan());
    }
}
