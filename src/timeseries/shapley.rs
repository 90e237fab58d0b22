//! Asymmetric Shapley values of one item's forecast (Frye, Rowat & Feige,
//! "Asymmetric Shapley values", 2020): the random-order value over the
//! orders that reveal time steps in the configured direction.
//!
//! The values an item's model input holds are laid out flat
//! ([`Layout`]): the target's history, each related series over all rows,
//! the static covariates. A [`Player`] is the unit an attribution goes to:
//! a time step (timewise: every series at that step), one value of one
//! series at one step (fine_grained), or one static covariate. Players are
//! revealed in groups: the static covariates first (they hold for every
//! time step, so they come before any of them), then one group per time
//! step in the direction's order. Within a group any order is admissible
//! and equally likely; across groups the order is fixed. A coalition is a
//! set of revealed values; the rest take their baseline values.
//!
//! Because every admissible order reveals the groups in the same sequence,
//! a player's expected marginal contribution depends only on the orders
//! within its own group: it is the ordinary Shapley value of the group's
//! game `v_g(S) = f(P_g ∪ S)`, where `P_g` is everything revealed before
//! group g. So each group is solved on its own: exactly (all 2^n subsets)
//! when that costs no more model calls than sampling `num_samples` orders
//! would, by sampling `num_samples` orders otherwise. Either way the values
//! of a group sum to `f(P_g ∪ g) − f(P_g)`, and all values of an item to
//! `f(x) − f(baseline)`: efficiency is exact, whatever was sampled.
//!
//! Every value is a fixed linear combination of forecasts of coalitions
//! ([`Plan::terms`]), so a plan lists the distinct coalitions to send (each
//! once) and then turns their forecasts into scores.

use crate::config::{Direction, Granularity};
use crate::error::{JobError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// Where each value of an item's model input sits in a coalition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Non-null target values (the history sent to the model).
    pub history: usize,
    /// Rows: timestamps of the related series, history and horizon.
    pub steps: usize,
    /// Related series.
    pub related: usize,
    /// Static covariates.
    pub statics: usize,
}

impl Layout {
    /// Values in all: history, related series over all steps, statics.
    pub fn value_count(&self) -> usize {
        self.history + self.related * self.steps + self.statics
    }

    /// The flat index of the target at step `t`.
    pub fn target(&self, t: usize) -> usize {
        t
    }

    /// The flat index of related series `j` at step `t`.
    pub fn related(&self, j: usize, t: usize) -> usize {
        self.history + j * self.steps + t
    }

    /// The flat index of static covariate `k`.
    pub fn static_covariate(&self, k: usize) -> usize {
        self.history + self.related * self.steps + k
    }

    /// Every value of step `t` (the target's, if `t` is in the history,
    /// then each related series').
    fn step_members(&self, t: usize) -> Vec<usize> {
        (t < self.history)
            .then(|| self.target(t))
            .into_iter()
            .chain((0..self.related).map(|j| self.related(j, t)))
            .collect()
    }
}

/// What one attribution is for: one entry of the output line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Player {
    /// All series at one time step (timewise).
    Step(usize),
    /// The target at one time step (fine_grained).
    Target(usize),
    /// One related series at one time step (fine_grained).
    Related(usize, usize),
    /// One static covariate.
    Static(usize),
}

impl Player {
    /// The flat indices the player reveals.
    fn members(self, layout: &Layout) -> Vec<usize> {
        match self {
            Player::Step(t) => layout.step_members(t),
            Player::Target(t) => vec![layout.target(t)],
            Player::Related(j, t) => vec![layout.related(j, t)],
            Player::Static(k) => vec![layout.static_covariate(k)],
        }
    }
}

/// A set of revealed values, as bits over the [`Layout`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Coalition(Vec<u64>);

impl Coalition {
    /// Nothing revealed: the baseline.
    fn empty(layout: &Layout) -> Coalition {
        Coalition(vec![0; layout.value_count().div_ceil(64)])
    }

    /// Whether the value at flat index `i` is revealed.
    pub fn has(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }

    /// This coalition with the values at `members` revealed too.
    fn with(&self, members: &[usize]) -> Coalition {
        let mut c = self.clone();
        for &i in members {
            c.0[i / 64] |= 1 << (i % 64);
        }
        c
    }
}

/// Most players in a group solved by enumerating its subsets when no
/// sampling budget is configured (timewise static covariates): 2^16
/// coalitions is the most a job should send per item for them.
pub const MAX_EXACT_PLAYERS: usize = 16;

/// How to explain one item: the players in output order, the distinct
/// coalitions to forecast (the first is the baseline), and each player's
/// value as a combination of their forecasts.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The players, in the order the output lists their entries.
    pub players: Vec<Player>,
    /// Distinct coalitions; index 0 is the empty one (the offset).
    pub coalitions: Vec<Coalition>,
    /// Per player: `(coalition, weight)` pairs whose weighted forecasts sum
    /// to its value.
    pub terms: Vec<Vec<(usize, f64)>>,
}

/// The settings that shape a plan.
#[derive(Debug, Clone, Copy)]
pub struct Method {
    /// Which orders are admissible.
    pub direction: Direction,
    /// What a player is.
    pub granularity: Granularity,
    /// Orders sampled per group when sampling is cheaper than enumeration.
    pub num_samples: Option<u32>,
}

impl Plan {
    /// The plan for an item laid out as `layout`; `seed` keys the sampled
    /// orders (the same seed gives the same plan, bit for bit).
    pub fn new(layout: Layout, method: Method, seed: u64) -> Result<Plan> {
        let players = players(&layout, method.granularity);
        let mut builder = Builder {
            layout,
            index: HashMap::new(),
            coalitions: Vec::new(),
            terms: vec![Vec::new(); players.len()],
            rng: ChaCha8Rng::seed_from_u64(seed),
            num_samples: method.num_samples,
        };
        builder.coalition(Coalition::empty(&layout));
        let position: HashMap<Player, usize> =
            players.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let sequences: &[(Direction, f64)] = match method.direction {
            Direction::Bidirectional => &[
                (Direction::Chronological, 0.5),
                (Direction::AntiChronological, 0.5),
            ],
            d => &[(d, 1.0)],
        };
        for &(direction, weight) in sequences {
            let groups = groups(&layout, method.granularity, direction);
            let groups: Vec<Vec<usize>> = groups
                .iter()
                .map(|g| g.iter().map(|p| position[p]).collect())
                .collect();
            builder.add_sequence(&players, &groups, weight)?;
        }
        let terms = builder.terms.into_iter().map(combine).collect();
        Ok(Plan {
            players,
            coalitions: builder.coalitions,
            terms,
        })
    }

    /// Each player's scores (one per forecast step) from the forecasts of
    /// [`Plan::coalitions`], in the same order.
    pub fn scores(&self, forecasts: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let horizon = forecasts.first().map_or(0, Vec::len);
        self.terms
            .iter()
            .map(|terms| {
                let mut scores = vec![0.0; horizon];
                for &(c, w) in terms {
                    for (s, f) in scores.iter_mut().zip(&forecasts[c]) {
                        *s += w * f;
                    }
                }
                scores
            })
            .collect()
    }
}

/// The players of an item in output order: target steps (or time steps),
/// each related series over all steps, the static covariates.
fn players(layout: &Layout, granularity: Granularity) -> Vec<Player> {
    let series: Vec<Player> = match granularity {
        Granularity::Timewise => (0..layout.steps).map(Player::Step).collect(),
        Granularity::FineGrained => (0..layout.history)
            .map(Player::Target)
            .chain(
                (0..layout.related)
                    .flat_map(|j| (0..layout.steps).map(move |t| Player::Related(j, t))),
            )
            .collect(),
    };
    series
        .into_iter()
        .chain((0..layout.statics).map(Player::Static))
        .collect()
}

/// The groups in reveal order for one direction: the static covariates,
/// then each time step's players.
fn groups(layout: &Layout, granularity: Granularity, direction: Direction) -> Vec<Vec<Player>> {
    let statics: Vec<Player> = (0..layout.statics).map(Player::Static).collect();
    let step = |t: usize| -> Vec<Player> {
        match granularity {
            Granularity::Timewise => vec![Player::Step(t)],
            Granularity::FineGrained => (t < layout.history)
                .then_some(Player::Target(t))
                .into_iter()
                .chain((0..layout.related).map(|j| Player::Related(j, t)))
                .collect(),
        }
    };
    let steps: Box<dyn Iterator<Item = usize>> = match direction {
        Direction::AntiChronological => Box::new((0..layout.steps).rev()),
        _ => Box::new(0..layout.steps),
    };
    std::iter::once(statics)
        .chain(steps.map(step))
        .filter(|g| !g.is_empty())
        .collect()
}

/// Builds a plan: distinct coalitions and per-player terms.
struct Builder {
    layout: Layout,
    index: HashMap<Coalition, usize>,
    coalitions: Vec<Coalition>,
    terms: Vec<Vec<(usize, f64)>>,
    rng: ChaCha8Rng,
    num_samples: Option<u32>,
}

impl Builder {
    /// The index of `c` among the coalitions to forecast, added if new.
    fn coalition(&mut self, c: Coalition) -> usize {
        if let Some(&i) = self.index.get(&c) {
            return i;
        }
        self.coalitions.push(c.clone());
        self.index.insert(c, self.coalitions.len() - 1);
        self.coalitions.len() - 1
    }

    /// Adds `weight` times the values of one reveal sequence of groups.
    fn add_sequence(
        &mut self,
        players: &[Player],
        groups: &[Vec<usize>],
        weight: f64,
    ) -> Result<()> {
        let mut before = Coalition::empty(&self.layout);
        for group in groups {
            let members: Vec<Vec<usize>> = group
                .iter()
                .map(|&p| players[p].members(&self.layout))
                .collect();
            let n = group.len();
            let exact = match self.num_samples {
                // Enumeration sends 2^n − 2 new coalitions, sampling m·(n − 1).
                Some(m) => (1u128 << n.min(127)) - 2 <= u128::from(m) * (n as u128 - 1),
                None if n <= MAX_EXACT_PLAYERS => true,
                None => {
                    return Err(JobError::client(format!(
                        "{n} static covariates are too many for granularity timewise, whose values are exact (2^{n} model calls per item); use at most {MAX_EXACT_PLAYERS}, or granularity fine_grained with num_samples."
                    )))
                }
            };
            if exact {
                self.add_exact(&before, group, &members, weight);
            } else {
                let m = self.num_samples.expect("sampling needs num_samples");
                self.add_sampled(&before, group, &members, weight, m);
            }
            before = before.with(&members.concat());
        }
        Ok(())
    }

    /// The Shapley values of a group's game, from all its subsets:
    /// `φ_i = Σ_{S ⊆ g∖i} |S|!(n−|S|−1)!/n! · (v(S ∪ i) − v(S))`.
    fn add_exact(
        &mut self,
        before: &Coalition,
        group: &[usize],
        members: &[Vec<usize>],
        weight: f64,
    ) {
        let n = group.len();
        let factorial = |k: usize| (1..=k).map(|x| x as f64).product::<f64>();
        let shares: Vec<f64> = (0..n)
            .map(|s| factorial(s) * factorial(n - s - 1) / factorial(n))
            .collect();
        let subsets: Vec<usize> = (0..1usize << n)
            .map(|mask| {
                let revealed: Vec<usize> = (0..n)
                    .filter(|i| mask >> i & 1 == 1)
                    .flat_map(|i| members[i].iter().copied())
                    .collect();
                self.coalition(before.with(&revealed))
            })
            .collect();
        for mask in 0..1usize << n {
            let size = mask.count_ones() as usize;
            for (i, &player) in group.iter().enumerate() {
                if mask >> i & 1 == 0 {
                    let share = weight * shares[size];
                    self.terms[player].push((subsets[mask | 1 << i], share));
                    self.terms[player].push((subsets[mask], -share));
                }
            }
        }
    }

    /// The mean marginal contribution over `m` orders of the group drawn
    /// uniformly at random.
    fn add_sampled(
        &mut self,
        before: &Coalition,
        group: &[usize],
        members: &[Vec<usize>],
        weight: f64,
        m: u32,
    ) {
        let share = weight / f64::from(m);
        let mut order: Vec<usize> = (0..group.len()).collect();
        for _ in 0..m {
            order.shuffle(&mut self.rng);
            let mut current = before.clone();
            let mut from = self.coalition(current.clone());
            for &i in &order {
                current = current.with(&members[i]);
                let to = self.coalition(current.clone());
                self.terms[group[i]].push((to, share));
                self.terms[group[i]].push((from, -share));
                from = to;
            }
        }
    }
}

/// A player's terms with each coalition once (weights added), in
/// coalition order, so scores are summed in a fixed order.
fn combine(mut terms: Vec<(usize, f64)>) -> Vec<(usize, f64)> {
    terms.sort_by_key(|&(c, _)| c);
    let mut out: Vec<(usize, f64)> = Vec::with_capacity(terms.len());
    for (c, w) in terms {
        match out.last_mut() {
            Some(last) if last.0 == c => last.1 += w,
            _ => out.push((c, w)),
        }
    }
    out.retain(|&(_, w)| w != 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forecast of a coalition for a model `f` of the flat input, where
    /// revealed values are `x` and the rest `b`.
    fn forecast(c: &Coalition, x: &[f64], b: &[f64], f: &dyn Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
        let input: Vec<f64> = (0..x.len())
            .map(|i| if c.has(i) { x[i] } else { b[i] })
            .collect();
        f(&input)
    }

    fn values(
        layout: Layout,
        method: Method,
        x: &[f64],
        b: &[f64],
        f: &dyn Fn(&[f64]) -> Vec<f64>,
    ) -> (Vec<Player>, Vec<Vec<f64>>, Vec<f64>) {
        let plan = Plan::new(layout, method, 7).unwrap();
        let forecasts: Vec<Vec<f64>> = plan
            .coalitions
            .iter()
            .map(|c| forecast(c, x, b, f))
            .collect();
        (
            plan.players.clone(),
            plan.scores(&forecasts),
            forecasts[0].clone(),
        )
    }

    /// Every permutation of `items`.
    fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut out = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            for mut p in permutations(&rest) {
                p.insert(0, first);
                out.push(p);
            }
        }
        out
    }

    /// Brute force over every order of the flat values that reveals the
    /// statics first and then each time step's values before the next
    /// step's (the test's own reading of "chronological, fine grained").
    fn brute_force_fine_grained(
        layout: Layout,
        x: &[f64],
        b: &[f64],
        f: &dyn Fn(&[f64]) -> Vec<f64>,
    ) -> Vec<Vec<f64>> {
        let n = layout.value_count();
        let mut blocks: Vec<Vec<usize>> = vec![(0..layout.statics)
            .map(|k| layout.static_covariate(k))
            .collect()];
        for t in 0..layout.steps {
            let mut step: Vec<usize> = Vec::new();
            if t < layout.history {
                step.push(layout.target(t));
            }
            step.extend((0..layout.related).map(|j| layout.related(j, t)));
            blocks.push(step);
        }
        let mut orders: Vec<Vec<usize>> = vec![vec![]];
        for block in &blocks {
            let mut next = Vec::new();
            for prefix in &orders {
                for p in permutations(block) {
                    next.push([prefix.clone(), p].concat());
                }
            }
            orders = next;
        }
        let horizon = f(x).len();
        let mut totals = vec![vec![0.0; horizon]; n];
        for order in &orders {
            let mut input = b.to_vec();
            let mut previous = f(&input);
            for &i in order {
                input[i] = x[i];
                let now = f(&input);
                for k in 0..horizon {
                    totals[i][k] += (now[k] - previous[k]) / orders.len() as f64;
                }
                previous = now;
            }
        }
        totals
    }

    /// A forecaster with interactions across steps, series and statics.
    fn nonlinear(v: &[f64]) -> Vec<f64> {
        let s: f64 = v.iter().sum();
        vec![
            v[0] * v[3] + (v[1] * v[4]).sin() + v[6] * s,
            (v[2] - v[5]).powi(2) * v[7] + v[0] * v[1] * v[2],
        ]
    }

    #[test]
    fn fine_grained_matches_brute_force_over_all_admissible_orders() {
        // 3 history steps, 3 rows, one related series, two statics:
        // blocks {s0, s1}, {y0, r0}, {y1, r1}, {y2, r2}: 2·2·2·2 = 16 orders.
        let layout = Layout {
            history: 3,
            steps: 3,
            related: 1,
            statics: 2,
        };
        let x = [1.0, 2.0, -1.0, 0.5, 1.5, 3.0, 2.0, -0.5];
        let b = [0.0, 0.1, 0.2, 0.0, 0.0, 0.3, 1.0, 1.0];
        let method = Method {
            direction: Direction::Chronological,
            granularity: Granularity::FineGrained,
            num_samples: Some(4),
        };
        let (players, scores, offset) = values(layout, method, &x, &b, &nonlinear);
        let expected = brute_force_fine_grained(layout, &x, &b, &nonlinear);
        for (player, got) in players.iter().zip(&scores) {
            let index = match *player {
                Player::Target(t) => layout.target(t),
                Player::Related(j, t) => layout.related(j, t),
                Player::Static(k) => layout.static_covariate(k),
                Player::Step(_) => unreachable!(),
            };
            for (g, e) in got.iter().zip(&expected[index]) {
                assert!((g - e).abs() < 1e-9, "{player:?}: {g} vs {e}");
            }
        }
        assert_eq!(offset, nonlinear(&b));
    }

    #[test]
    fn timewise_is_the_one_admissible_order_of_steps() {
        let layout = Layout {
            history: 2,
            steps: 3,
            related: 1,
            statics: 0,
        };
        // Flat: y0 y1 r0 r1 r2.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [0.0; 5];
        let f = |v: &[f64]| vec![v[0] * v[2] + v[1] * v[4] + v[3]];
        let chrono = Method {
            direction: Direction::Chronological,
            granularity: Granularity::Timewise,
            num_samples: None,
        };
        let (_, scores, _) = values(layout, chrono, &x, &b, &f);
        // Step 0 reveals y0, r0: 3; step 1 adds y1, r1: +4; step 2 adds r2: +10.
        assert_eq!(scores, vec![vec![3.0], vec![4.0], vec![10.0]]);
        let anti = Method {
            direction: Direction::AntiChronological,
            ..chrono
        };
        let (_, scores, _) = values(layout, anti, &x, &b, &f);
        // Step 2 first: r2 alone adds nothing (y1 hidden); step 1 adds 4 + 10; step 0 adds 3.
        assert_eq!(scores, vec![vec![3.0], vec![14.0], vec![0.0]]);
        let both = Method {
            direction: Direction::Bidirectional,
            ..chrono
        };
        let (_, scores, _) = values(layout, both, &x, &b, &f);
        assert_eq!(scores, vec![vec![3.0], vec![9.0], vec![5.0]]);
    }

    #[test]
    fn sampled_groups_keep_efficiency_and_repeat_bit_for_bit() {
        // Eight related series: a step's group of nine is sampled at num_samples 5.
        let layout = Layout {
            history: 4,
            steps: 6,
            related: 8,
            statics: 3,
        };
        let n = layout.value_count();
        let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos() * 0.1).collect();
        let f = |v: &[f64]| {
            let s: f64 = v.iter().sum();
            vec![
                s * s,
                v.iter()
                    .enumerate()
                    .map(|(i, a)| a * v[(i * 7 + 3) % v.len()])
                    .sum(),
            ]
        };
        let method = Method {
            direction: Direction::Chronological,
            granularity: Granularity::FineGrained,
            num_samples: Some(5),
        };
        let (_, scores, offset) = values(layout, method, &x, &b, &f);
        let full = f(&x);
        for k in 0..2 {
            let total: f64 = offset[k] + scores.iter().map(|s| s[k]).sum::<f64>();
            assert!(
                (total - full[k]).abs() < 1e-9 * full[k].abs().max(1.0),
                "{total} vs {}",
                full[k]
            );
        }
        let (_, again, _) = values(layout, method, &x, &b, &f);
        assert_eq!(scores, again);
        let plan = Plan::new(layout, method, 7).unwrap();
        let other = Plan::new(layout, method, 8).unwrap();
        assert_ne!(plan.terms, other.terms);
    }
}
