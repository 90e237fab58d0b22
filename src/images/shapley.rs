//! Kernel SHAP with segments as players, through the same estimator as
//! tabular features ([`crate::explain::KernelShap`]): a row is one flag per
//! segment (`true`: a player, shown), the baseline row all `false`
//! (hidden), so the estimator's coalitions are the segment masks to draw.
//!
//! A game asks the model about three kinds of image: every player shown
//! (the prediction), none shown (the expected value), and each coalition;
//! [`SegmentGame::masks`] lists them in that order and
//! [`SegmentGame::solve`] takes one value vector per mask back.

use crate::explain::{KernelShap, KernelShapSettings, RowExplanation, RowPlan};

/// One image's explanation problem over its segments.
pub struct SegmentGame {
    shap: KernelShap<bool>,
    players: Vec<bool>,
    plan: RowPlan,
}

/// A solved game: per explained output, the prediction, the expected value
/// and one value (and standard error) per segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Solved {
    /// The output with every player shown (before the link).
    pub prediction: Vec<f64>,
    /// The linked output with no player shown.
    pub expected: Vec<f64>,
    /// Values and standard errors, one vector per output, one entry per segment.
    pub explanation: RowExplanation,
}

impl SegmentGame {
    /// A game whose players are the segments flagged in `players` (the
    /// others stay hidden and get 0). `image_index` keys the random draws,
    /// so an image gets the same coalitions in any shard.
    pub fn new(players: Vec<bool>, settings: &KernelShapSettings, image_index: u64) -> SegmentGame {
        let shap = KernelShap::new(vec![vec![false; players.len()]], settings.clone());
        let plan = shap.plan(&players, image_index);
        SegmentGame {
            shap,
            players,
            plan,
        }
    }

    /// The segments shown in each image the model must score: all
    /// players, none, then each coalition.
    pub fn masks(&self) -> Vec<Vec<bool>> {
        let mut masks = vec![self.players.clone(), vec![false; self.players.len()]];
        // One baseline row (every segment hidden), so one record per coalition.
        masks.extend(self.plan.records_from(0).map(|(mask, _)| mask));
        masks
    }

    /// The values from the model's outputs for [`SegmentGame::masks`]:
    /// `outputs[m][k]` is output `k` for mask `m`.
    pub fn solve(&self, outputs: &[Vec<f64>]) -> Solved {
        let num_outputs = outputs.first().map_or(0, Vec::len);
        let per_output = |m: usize| (0..num_outputs).map(move |k| outputs[m][k]);
        let prediction: Vec<f64> = per_output(0).collect();
        let hidden: Vec<Vec<f64>> = per_output(1).map(|v| vec![v]).collect();
        let expected = self.shap.expected_values(&hidden);
        let synthetic: Vec<Vec<f64>> = (0..num_outputs)
            .map(|k| outputs[2..].iter().map(|o| o[k]).collect())
            .collect();
        let explanation = self
            .shap
            .solve(&self.plan, &synthetic, &prediction, &hidden);
        Solved {
            prediction,
            expected,
            explanation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::Link;
    use crate::images::masking::Masker;
    use crate::images::slic::slic;
    use image::{Rgb, RgbImage};

    fn settings(num_samples: Option<usize>) -> KernelShapSettings {
        KernelShapSettings {
            num_samples,
            link: Link::Identity,
            seed: 0,
        }
    }

    /// Plays `game` against `model`, a function of the shown segments.
    fn play(game: &SegmentGame, model: impl Fn(&[bool]) -> Vec<f64>) -> Solved {
        let outputs: Vec<Vec<f64>> = game.masks().iter().map(|m| model(m)).collect();
        game.solve(&outputs)
    }

    /// The exact Shapley values of `v` over `n` players by enumerating
    /// every coalition: φ_i = Σ_S |S|!(n−|S|−1)!/n! (v(S ∪ i) − v(S)).
    fn brute_force(n: usize, v: impl Fn(&[bool]) -> f64) -> Vec<f64> {
        let factorial = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
        (0..n)
            .map(|i| {
                let mut phi = 0.0;
                for bits in 0u32..(1 << n) {
                    if bits & (1 << i) != 0 {
                        continue;
                    }
                    let mut s: Vec<bool> = (0..n).map(|j| bits & (1 << j) != 0).collect();
                    let size = s.iter().filter(|&&p| p).count();
                    let without = v(&s);
                    s[i] = true;
                    let weight = factorial(size) * factorial(n - size - 1) / factorial(n);
                    phi += weight * (v(&s) - without);
                }
                phi
            })
            .collect()
    }

    #[test]
    fn four_flat_quadrants_give_one_segment_all_of_the_difference() {
        let colours = [[200, 30, 30], [30, 200, 30], [30, 30, 200], [220, 220, 40]];
        let image = RgbImage::from_fn(64, 64, |x, y| {
            Rgb(colours[usize::from(y >= 32) * 2 + usize::from(x >= 32)])
        });
        let segments = slic(image.as_raw(), 64, 64, 4, 5.0);
        assert_eq!(segments.count, 4);
        let baseline = RgbImage::from_pixel(64, 64, Rgb([90, 120, 10]));
        let masker = Masker {
            image: &image,
            baseline: &baseline,
            segments: &segments,
        };
        // The model: the mean red value of the bottom-left quadrant.
        let f = |picture: &RgbImage| {
            let mut sum = 0.0;
            for y in 32..64 {
                for x in 0..32 {
                    sum += f64::from(picture.get_pixel(x, y).0[0]);
                }
            }
            vec![sum / 1024.0]
        };
        let game = SegmentGame::new(vec![true; 4], &settings(None), 0);
        let solved = play(&game, |keep| f(&masker.compose(keep, None)));
        let values = &solved.explanation.values[0];
        let quadrant = segments.at(0, 63) as usize;
        let difference = f(&image)[0] - f(&baseline)[0];
        assert_eq!(difference, 30.0 - 90.0);
        for (s, &value) in values.iter().enumerate() {
            let expected = if s == quadrant { difference } else { 0.0 };
            assert!(
                (value - expected).abs() < 1e-9,
                "segment {s}: {value} vs {expected}"
            );
        }
    }

    #[test]
    fn a_nonlinear_model_over_ten_segments_matches_enumeration() {
        // Products and a maximum: interactions that Kernel SHAP must share out exactly.
        let v = |s: &[bool]| {
            let x: Vec<f64> = s.iter().map(|&p| f64::from(u8::from(p))).collect();
            3.0 * x[0] * x[1] + (x[2] + x[3] + x[4]).powi(2) - 2.0 * x[5] * x[6] * x[7]
                + x[8].max(x[9]) * 1.5
                + x[1] * x[9]
        };
        let game = SegmentGame::new(vec![true; 10], &settings(Some(1 << 10)), 4);
        let solved = play(&game, |s| vec![v(s), -v(s)]);
        let exact = brute_force(10, v);
        for (k, sign) in [(0, 1.0), (1, -1.0)] {
            for (mine, reference) in solved.explanation.values[k].iter().zip(&exact) {
                assert!(
                    (mine - sign * reference).abs() < 1e-9,
                    "{mine} vs {reference}"
                );
            }
        }
        assert_eq!(solved.prediction, vec![v(&[true; 10]), -v(&[true; 10])]);
        assert_eq!(solved.expected, vec![0.0, 0.0]);
    }

    #[test]
    fn segments_that_are_not_players_get_zero_and_are_never_shown() {
        let game = SegmentGame::new(vec![true, false, true, true], &settings(None), 1);
        assert!(game.masks().iter().all(|m| !m[1]));
        let solved = play(&game, |s| vec![s.iter().filter(|&&p| p).count() as f64]);
        let values = &solved.explanation.values[0];
        assert_eq!(values[1], 0.0);
        for s in [0, 2, 3] {
            assert!((values[s] - 1.0).abs() < 1e-9, "{values:?}");
        }
    }
}
