//! Float sums that do not depend on the order of their terms.
//!
//! A distributed run adds SHAP and PDP terms shard by shard and merges the
//! partial sums in whatever order the engine finishes them; a plain `f64`
//! sum would then differ from the single-process result in the last bits.
//! [`ExactSum`] keeps the running sum exactly, as a short list of
//! non-overlapping floats (Shewchuk's algorithm, Python's `math.fsum`), and
//! rounds once at the end, so every split and merge order gives the same,
//! correctly rounded total.

use serde::{Deserialize, Serialize};

/// An exact, mergeable sum of `f64` terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactSum {
    /// Non-overlapping partial sums, smallest magnitude first; their exact
    /// sum is the sum of every finite term added.
    partials: Vec<f64>,
    /// The sum of the infinite and NaN terms (NaN wins, +∞ and −∞ give NaN),
    /// kept apart because they cannot take part in exact arithmetic.
    special: f64,
}

impl ExactSum {
    /// Adds one term.
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            self.special += value;
            return;
        }
        let mut x = value;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        if x.is_finite() {
            self.partials.push(x);
        } else {
            // Beyond f64's range: the total is infinite whatever follows.
            self.special += x;
        }
    }

    /// Adds every term of another sum, exactly.
    pub fn merge(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
        self.special += other.special;
    }

    /// The total, rounded once to the nearest `f64` (ties to even).
    pub fn value(&self) -> f64 {
        if self.special != 0.0 || self.special.is_nan() {
            return self.special;
        }
        // CPython's fsum: add partials from the largest down until the
        // rounding error is non-zero, then correct a half-way case using
        // the sign of the next partial.
        let p = &self.partials;
        let mut n = p.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum(values: &[f64]) -> ExactSum {
        let mut s = ExactSum::default();
        values.iter().for_each(|&v| s.add(v));
        s
    }

    #[test]
    fn cancellation_that_a_plain_sum_loses_is_kept() {
        assert_eq!(sum(&[1e100, 1.0, -1e100]).value(), 1.0);
        assert_eq!(sum(&[0.1; 10]).value(), 1.0);
        assert_eq!(sum(&[]).value(), 0.0);
    }

    #[test]
    fn special_values_propagate() {
        assert_eq!(sum(&[1.0, f64::INFINITY]).value(), f64::INFINITY);
        assert!(sum(&[f64::INFINITY, f64::NEG_INFINITY]).value().is_nan());
        assert!(sum(&[1.0, f64::NAN]).value().is_nan());
        assert_eq!(sum(&[f64::MAX, f64::MAX]).value(), f64::INFINITY);
    }

    proptest! {
        /// Any split into two parts, merged either way, gives the same bits
        /// as adding every term in order.
        #[test]
        fn merging_any_split_gives_identical_bits(
            values in prop::collection::vec(-1e6f64..1e6, 0..50),
            cut in 0usize..50,
        ) {
            let cut = cut.min(values.len());
            let whole = sum(&values).value();
            let (a, b) = (sum(&values[..cut]), sum(&values[cut..]));
            let mut ab = a.clone();
            ab.merge(&b);
            let mut ba = b;
            ba.merge(&a);
            prop_assert_eq!(ab.value().to_bits(), whole.to_bits());
            prop_assert_eq!(ba.value().to_bits(), whole.to_bits());
        }
    }
}
