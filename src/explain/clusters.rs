//! A SHAP baseline computed from the data when none is configured.
//!
//! Clarify clusters the dataset and uses the cluster centres as baseline rows:
//! k-means when every feature is numeric, k-prototypes (Huang 1998) when some
//! are categorical, so that a categorical feature gets a real category (the
//! cluster's mode) instead of an average of codes, which would put e.g.
//! `sex = 0.69` on one side of every tree split (Clarify documents
//! k-prototypes for categorical features for this reason).
//!
//! Both are one algorithm here; k-means is the case without categorical
//! columns:
//! - numeric columns are standardised (mean 0, standard deviation 1) so that a
//!   feature in large units does not decide the clusters alone; the distance
//!   is squared Euclidean on them;
//! - each categorical mismatch adds `GAMMA`;
//! - centres start by k-means++ seeding, then Lloyd iterations move each to
//!   its members' mean (numeric) and mode (categorical);
//! - `RESTARTS` seeded restarts, keeping the lowest total distance.
//!
//! The baseline row holds the members' mean of the original (unstandardised)
//! numeric values, and the mode of each categorical column (ties go to the
//! value seen first in the data). Rows are not weighted by cluster size
//! (Clarify does not document whether it weights them; it is unknown).
//!
//! `num_clusters` defaults to "auto, the best k in 1..=12" (Clarify's documented default),
//! with no criterion documented. Ours is an elbow rule: the smallest k for
//! which one more cluster would cut the total distance by less than
//! `ELBOW_GAIN` of the one-cluster total.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;
use std::hash::Hash;

/// Weight of one categorical mismatch. The kmodes package's default is half
/// the mean standard deviation of the numeric columns, which standardisation
/// makes 1, hence 0.5.
const GAMMA: f64 = 0.5;
/// Seeded restarts per k; the lowest-cost clustering wins.
const RESTARTS: u64 = 4;
/// Lloyd iterations per restart; assignments usually settle far sooner.
const MAX_ITERATIONS: usize = 100;
/// The largest k tried when `num_clusters` is absent: Clarify documents the
/// automatic choice as the best k in 1..=12.
const MAX_AUTO_CLUSTERS: usize = 12;
/// Auto k stops growing once one more cluster gains less than this share of
/// the one-cluster cost.
const ELBOW_GAIN: f64 = 0.05;

/// One feature column of the data to summarise.
#[derive(Debug, Clone, PartialEq)]
pub enum Column<C> {
    /// A numeric feature.
    Numeric(Vec<f64>),
    /// A categorical feature, with the caller's cell values.
    Categorical(Vec<C>),
}

/// One cell of a computed baseline row.
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineValue<C> {
    /// Mean of a numeric feature over the cluster.
    Numeric(f64),
    /// Most frequent category of the cluster.
    Categorical(C),
}

/// Summarises the rows of `columns` into at most `num_clusters` baseline rows
/// (fewer when the data has fewer distinct rows), deterministically for a
/// given `seed`. With `num_clusters` absent, k is chosen by the elbow rule
/// described in the module documentation. Returns no rows for no data.
pub fn summarise<C: Clone + Eq + Hash>(
    columns: &[Column<C>],
    num_clusters: Option<usize>,
    seed: u64,
) -> Vec<Vec<BaselineValue<C>>> {
    let points = Points::new(columns);
    if points.rows == 0 {
        return Vec::new();
    }
    let clustering = match num_clusters {
        Some(k) => cluster(&points, k.max(1), seed),
        None => {
            let mut candidates = (1..=MAX_AUTO_CLUSTERS).map(|k| cluster(&points, k, seed));
            let mut chosen = candidates.next().expect("k = 1 is always tried");
            let scale = chosen.cost;
            for next in candidates {
                if chosen.cost - next.cost < ELBOW_GAIN * scale {
                    break;
                }
                chosen = next;
            }
            chosen
        }
    };
    clustering.baseline_rows(columns, &points)
}

/// The data in clustering form: standardised numbers and category codes.
struct Points {
    rows: usize,
    /// Row-major, one value per numeric column.
    numeric: Vec<f64>,
    numeric_width: usize,
    /// Row-major, one code per categorical column.
    codes: Vec<u32>,
    categorical_width: usize,
}

impl Points {
    fn new<C: Clone + Eq + Hash>(columns: &[Column<C>]) -> Self {
        let rows = columns.first().map_or(0, |c| match c {
            Column::Numeric(v) => v.len(),
            Column::Categorical(v) => v.len(),
        });
        let numeric_columns: Vec<Vec<f64>> = columns
            .iter()
            .filter_map(|c| match c {
                Column::Numeric(values) => Some(standardised(values)),
                Column::Categorical(_) => None,
            })
            .collect();
        let code_columns: Vec<Vec<u32>> = columns
            .iter()
            .filter_map(|c| match c {
                Column::Categorical(values) => Some(encoded(values)),
                Column::Numeric(_) => None,
            })
            .collect();
        assert!(
            numeric_columns.iter().all(|c| c.len() == rows)
                && code_columns.iter().all(|c| c.len() == rows),
            "columns have one value per row"
        );
        Points {
            rows,
            numeric: (0..rows)
                .flat_map(|i| numeric_columns.iter().map(move |c| c[i]))
                .collect(),
            numeric_width: numeric_columns.len(),
            codes: (0..rows)
                .flat_map(|i| code_columns.iter().map(move |c| c[i]))
                .collect(),
            categorical_width: code_columns.len(),
        }
    }

    fn numeric_row(&self, i: usize) -> &[f64] {
        &self.numeric[i * self.numeric_width..(i + 1) * self.numeric_width]
    }

    fn code_row(&self, i: usize) -> &[u32] {
        &self.codes[i * self.categorical_width..(i + 1) * self.categorical_width]
    }

    /// The k-prototypes dissimilarity between row `i` and `centre`.
    fn distance(&self, i: usize, centre: &Centre) -> f64 {
        let numeric: f64 = self
            .numeric_row(i)
            .iter()
            .zip(&centre.numeric)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        let mismatches = self
            .code_row(i)
            .iter()
            .zip(&centre.codes)
            .filter(|(a, b)| a != b)
            .count();
        numeric + GAMMA * mismatches as f64
    }

    fn centre_of(&self, i: usize) -> Centre {
        Centre {
            numeric: self.numeric_row(i).to_vec(),
            codes: self.code_row(i).to_vec(),
        }
    }
}

/// Values minus their mean, divided by their (population) standard
/// deviation; a constant column stays at 0.
fn standardised(values: &[f64]) -> Vec<f64> {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
    let scale = if std > 0.0 { std } else { 1.0 };
    values.iter().map(|v| (v - mean) / scale).collect()
}

/// Category codes in order of first appearance.
fn encoded<C: Eq + Hash>(values: &[C]) -> Vec<u32> {
    let mut codes: FxHashMap<&C, u32> = FxHashMap::default();
    values
        .iter()
        .map(|v| {
            let next = codes.len() as u32;
            *codes.entry(v).or_insert(next)
        })
        .collect()
}

/// A cluster centre in clustering space.
#[derive(Debug, Clone, PartialEq)]
struct Centre {
    numeric: Vec<f64>,
    codes: Vec<u32>,
}

/// The result of one clustering.
struct Clustering {
    centres: Vec<Centre>,
    assignment: Vec<usize>,
    cost: f64,
}

/// The best of `RESTARTS` seeded runs of k-prototypes with `k` clusters.
fn cluster(points: &Points, k: usize, seed: u64) -> Clustering {
    (0..RESTARTS)
        .map(|restart| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            // A separate stream per (k, restart), independent of the others.
            rng.set_stream((k as u64) << 32 | restart);
            lloyd(points, seeded_centres(points, k, &mut rng))
        })
        .reduce(|best, next| if next.cost < best.cost { next } else { best })
        .expect("at least one restart")
}

/// k-means++ seeding: each next centre is a row drawn with probability
/// proportional to its distance to the nearest centre so far. Stops early
/// when every row coincides with a centre (fewer distinct rows than k).
fn seeded_centres(points: &Points, k: usize, rng: &mut ChaCha8Rng) -> Vec<Centre> {
    let mut centres = vec![points.centre_of(rng.random_range(0..points.rows))];
    let mut nearest: Vec<f64> = (0..points.rows)
        .map(|i| points.distance(i, &centres[0]))
        .collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        if total <= 0.0 {
            break;
        }
        let mut target = rng.random::<f64>() * total;
        let chosen = nearest
            .iter()
            .position(|&d| {
                target -= d;
                target < 0.0
            })
            .unwrap_or_else(|| nearest.iter().rposition(|&d| d > 0.0).expect("total > 0"));
        let centre = points.centre_of(chosen);
        for (i, d) in nearest.iter_mut().enumerate() {
            *d = d.min(points.distance(i, &centre));
        }
        centres.push(centre);
    }
    centres
}

/// Lloyd iterations: assign rows to the nearest centre (first on ties), move
/// centres to their members' means and modes, until assignments settle.
fn lloyd(points: &Points, mut centres: Vec<Centre>) -> Clustering {
    let mut assignment = vec![usize::MAX; points.rows];
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        for (i, slot) in assignment.iter_mut().enumerate() {
            let nearest = nearest_centre(points, i, &centres).0;
            changed |= *slot != nearest;
            *slot = nearest;
        }
        if !changed {
            break;
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let members: Vec<usize> = (0..points.rows).filter(|&i| assignment[i] == c).collect();
            // An emptied cluster keeps its centre rather than vanish.
            if !members.is_empty() {
                *centre = Centre {
                    numeric: (0..points.numeric_width)
                        .map(|j| mean(members.iter().map(|&i| points.numeric_row(i)[j])))
                        .collect(),
                    codes: (0..points.categorical_width)
                        .map(|j| mode(members.iter().map(|&i| points.code_row(i)[j])))
                        .collect(),
                };
            }
        }
    }
    let cost = (0..points.rows)
        .map(|i| nearest_centre(points, i, &centres).1)
        .sum();
    Clustering {
        centres,
        assignment,
        cost,
    }
}

fn nearest_centre(points: &Points, i: usize, centres: &[Centre]) -> (usize, f64) {
    centres
        .iter()
        .map(|c| points.distance(i, c))
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |best, (c, d)| if d < best.1 { (c, d) } else { best },
        )
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / count as f64
}

/// The most frequent code; ties go to the smallest code, i.e. the category
/// seen first in the data.
fn mode(codes: impl Iterator<Item = u32>) -> u32 {
    let mut counts: FxHashMap<u32, usize> = FxHashMap::default();
    codes.for_each(|c| *counts.entry(c).or_default() += 1);
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(code, _)| code)
        .expect("a cluster with members")
}

impl Clustering {
    /// The non-empty clusters as baseline rows in the original units and
    /// categories, columns in the input order.
    fn baseline_rows<C: Clone>(
        &self,
        columns: &[Column<C>],
        points: &Points,
    ) -> Vec<Vec<BaselineValue<C>>> {
        (0..self.centres.len())
            .filter_map(|c| {
                let members: Vec<usize> = (0..points.rows)
                    .filter(|&i| self.assignment[i] == c)
                    .collect();
                if members.is_empty() {
                    return None;
                }
                let mut categorical_positions = 0..points.categorical_width;
                let row = columns
                    .iter()
                    .map(|column| match column {
                        Column::Numeric(values) => {
                            BaselineValue::Numeric(mean(members.iter().map(|&i| values[i])))
                        }
                        Column::Categorical(values) => {
                            let j = categorical_positions
                                .next()
                                .expect("one position per categorical column");
                            let code = mode(members.iter().map(|&i| points.code_row(i)[j]));
                            let holder = members
                                .iter()
                                .find(|&&i| points.code_row(i)[j] == code)
                                .expect("the mode is a member's code");
                            BaselineValue::Categorical(values[*holder].clone())
                        }
                    })
                    .collect();
                Some(row)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points scattered around `centre` by a fixed, seeded jitter of ±`spread`.
    fn blob(centre: (f64, f64), spread: f64, count: usize, seed: u64) -> Vec<(f64, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..count)
            .map(|_| {
                (
                    centre.0 + spread * (rng.random::<f64>() * 2.0 - 1.0),
                    centre.1 + spread * (rng.random::<f64>() * 2.0 - 1.0),
                )
            })
            .collect()
    }

    const CENTRES: [(f64, f64); 3] = [(0.0, 0.0), (10.0, 0.0), (5.0, 40.0)];

    fn three_blobs() -> Vec<Column<String>> {
        let points: Vec<(f64, f64)> = CENTRES
            .iter()
            .enumerate()
            .flat_map(|(i, &c)| blob(c, 1.0, 30 + 10 * i, i as u64))
            .collect();
        vec![
            Column::Numeric(points.iter().map(|p| p.0).collect()),
            Column::Numeric(points.iter().map(|p| p.1).collect()),
        ]
    }

    fn numeric(row: &[BaselineValue<String>]) -> Vec<f64> {
        row.iter()
            .map(|v| match v {
                BaselineValue::Numeric(x) => *x,
                BaselineValue::Categorical(_) => panic!("numeric expected"),
            })
            .collect()
    }

    /// Each true centre has a baseline row within `tolerance` in every coordinate.
    fn assert_recovered(rows: &[Vec<BaselineValue<String>>], tolerance: f64) {
        assert_eq!(rows.len(), CENTRES.len());
        for centre in CENTRES {
            assert!(
                rows.iter()
                    .map(|r| numeric(r))
                    .any(|r| (r[0] - centre.0).abs() < tolerance
                        && (r[1] - centre.1).abs() < tolerance),
                "{centre:?} not found in {rows:?}"
            );
        }
    }

    #[test]
    fn k_means_recovers_separable_clusters() {
        // Blob means sit within ±1 of the centres; the uniform jitter's mean
        // is within 0.4 of them for 30+ points.
        assert_recovered(&summarise(&three_blobs(), Some(3), 7), 0.4);
    }

    #[test]
    fn auto_k_finds_the_elbow() {
        assert_recovered(&summarise(&three_blobs(), None, 7), 0.4);
    }

    #[test]
    fn same_seed_same_baseline() {
        let data = three_blobs();
        assert_eq!(summarise(&data, Some(5), 11), summarise(&data, Some(5), 11));
    }

    #[test]
    fn k_prototypes_separates_by_category_and_returns_modes() {
        // The numeric column is constant, so only the categories can separate
        // the groups; the colour is noisy and the mode must outvote the noise.
        let colours: Vec<String> = (0..60)
            .map(|i| {
                let group_red = i < 30;
                let noisy = i % 10 == 3;
                if group_red != noisy { "red" } else { "blue" }.to_string()
            })
            .collect();
        let sizes = vec![2.5; 60];
        let shapes: Vec<String> = (0..60)
            .map(|i| if i < 30 { "round" } else { "square" }.to_string())
            .collect();
        let columns = vec![
            Column::Categorical(colours),
            Column::Numeric(sizes),
            Column::Categorical(shapes),
        ];
        let mut rows = summarise(&columns, Some(2), 3);
        rows.sort_by_key(|r| format!("{:?}", r[0]));
        assert_eq!(
            rows,
            vec![
                vec![
                    BaselineValue::Categorical("blue".to_string()),
                    BaselineValue::Numeric(2.5),
                    BaselineValue::Categorical("square".to_string())
                ],
                vec![
                    BaselineValue::Categorical("red".to_string()),
                    BaselineValue::Numeric(2.5),
                    BaselineValue::Categorical("round".to_string())
                ],
            ]
        );
    }

    #[test]
    fn fewer_distinct_rows_than_clusters() {
        let columns: Vec<Column<&str>> = vec![
            Column::Numeric(vec![1.0, 1.0, 2.0, 2.0]),
            Column::Categorical(vec!["a", "a", "b", "b"]),
        ];
        let rows = summarise(&columns, Some(5), 0);
        assert_eq!(rows.len(), 2);
        assert!(rows.contains(&vec![
            BaselineValue::Numeric(1.0),
            BaselineValue::Categorical("a")
        ]));
        assert!(rows.contains(&vec![
            BaselineValue::Numeric(2.0),
            BaselineValue::Categorical("b")
        ]));
        assert!(summarise::<&str>(&[], Some(2), 0).is_empty());
    }
}
