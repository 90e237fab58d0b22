//! The demo forecaster (`demo-model --forecast linear|quadratic`): a
//! deterministic model of DeepAR's request shape, for time-series
//! explanations whose exact values are known in closed form.
//!
//! A record is `{"start", "target": [y_0..y_{L-1}], "dynamic_feat":
//! [[r_{j,0}..r_{j,T-1}]...], "cat": [s_0..]}`; the horizon is the related
//! series' rows past the history (`H = T − L`), or [`DEFAULT_HORIZON`]
//! without them. With `ℓ = L − 1 − t` the lag of history value t, step k
//! (0-based) of the linear forecast is
//!
//! ```text
//! f_k = (1 + k) + Σ_t 0.5^(ℓ+1)·(1 + 0.1k)·y_t
//!               + Σ_{j,t} (j + 1)/(10·(1 + |t − (L + k)|))·r_{j,t}
//!               + Σ_s 0.5·(s + 1)·s_s
//! ```
//!
//! and the quadratic forecast adds `0.01·(Σ_t y_t)·(Σ_t r_{0,t}) + 0.1·y_{L−1}·s_0`
//! (the terms that exist), so that the order values are revealed in matters.
//! A body `{"instances": [records]}` is answered `{"predictions": [{"mean": [...]}, ...]}`;
//! a single record, `{"predictions": {"mean": [...]}}`.

use serde_json::{json, Value as Json};

/// The horizon of a record without related series.
pub const DEFAULT_HORIZON: usize = 3;

/// Which forecaster to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Forecaster {
    /// A fixed linear model of the history, related series and static
    /// covariates, whose explanations are known in closed form.
    Linear,
    /// The linear model plus products of the history with the first related
    /// series and the first static covariate, so reveal order matters.
    Quadratic,
}

/// One record, read.
struct Record {
    target: Vec<f64>,
    related: Vec<Vec<f64>>,
    statics: Vec<f64>,
}

impl Forecaster {
    /// The answer to a request body, or why it cannot be read.
    pub fn answer(self, body: &[u8]) -> Result<String, String> {
        let doc: Json =
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        match doc.get("instances") {
            Some(Json::Array(records)) => {
                let predictions = records
                    .iter()
                    .map(|r| Ok(json!({"mean": self.forecast(&read(r)?)})))
                    .collect::<Result<Vec<Json>, String>>()?;
                Ok(json!({"predictions": predictions}).to_string())
            }
            Some(_) => Err("\"instances\" must be a list of records".into()),
            None => Ok(json!({"predictions": {"mean": self.forecast(&read(&doc)?)}}).to_string()),
        }
    }

    /// The forecast of one record.
    fn forecast(self, r: &Record) -> Vec<f64> {
        let l = r.target.len();
        let steps = r.related.first().map_or(l, Vec::len);
        let horizon = match steps > l {
            true => steps - l,
            false => DEFAULT_HORIZON,
        };
        (0..horizon)
            .map(|k| {
                let mut f = 1.0 + k as f64;
                for (t, y) in r.target.iter().enumerate() {
                    let lag = (l - 1 - t) as i32;
                    f += 0.5f64.powi(lag + 1) * (1.0 + 0.1 * k as f64) * y;
                }
                for (j, series) in r.related.iter().enumerate() {
                    for (t, x) in series.iter().enumerate() {
                        let distance = (t as f64 - (l + k) as f64).abs();
                        f += (j + 1) as f64 / (10.0 * (1.0 + distance)) * x;
                    }
                }
                for (s, c) in r.statics.iter().enumerate() {
                    f += 0.5 * (s + 1) as f64 * c;
                }
                if self == Forecaster::Quadratic {
                    let history: f64 = r.target.iter().sum();
                    if let Some(first) = r.related.first() {
                        f += 0.01 * history * first.iter().sum::<f64>();
                    }
                    if let (Some(last), Some(s0)) = (r.target.last(), r.statics.first()) {
                        f += 0.1 * last * s0;
                    }
                }
                f
            })
            .collect()
    }
}

/// A record's series from its JSON object.
fn read(record: &Json) -> Result<Record, String> {
    let numbers = |v: &Json, what: &str| -> Result<Vec<f64>, String> {
        v.as_array()
            .ok_or_else(|| format!("{what} must be a list"))?
            .iter()
            .map(|x| {
                x.as_f64()
                    .ok_or_else(|| format!("{what} must hold numbers, found {x}"))
            })
            .collect()
    };
    let target = numbers(
        record.get("target").ok_or("a record needs \"target\"")?,
        "target",
    )?;
    if target.is_empty() {
        return Err("\"target\" must not be empty".into());
    }
    let related = match record.get("dynamic_feat") {
        Some(Json::Array(series)) => series
            .iter()
            .map(|s| numbers(s, "each dynamic_feat series"))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("\"dynamic_feat\" must be a list of lists".into()),
        None => Vec::new(),
    };
    if related
        .iter()
        .any(|s| s.len() < target.len() || s.len() != related[0].len())
    {
        return Err(
            "every dynamic_feat series must have the same length, at least the target's".into(),
        );
    }
    let statics = match record.get("cat") {
        Some(v) => numbers(v, "cat")?,
        None => Vec::new(),
    };
    Ok(Record {
        target,
        related,
        statics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_single_records_and_instances() {
        let one = Forecaster::Linear
            .answer(
                br#"{"start": "t", "target": [2.0], "dynamic_feat": [[1.0, 10.0]], "cat": [4]}"#,
            )
            .unwrap();
        // k = 0: 1 + 0.5·2 + (1/10)·1/(1+1) + (1/10)·10/(1+0) + 0.5·4 = 5.05
        let f: Json = serde_json::from_str(&one).unwrap();
        let mean = f["predictions"]["mean"][0].as_f64().unwrap();
        assert!((mean - 5.05).abs() < 1e-12, "{mean}");
        let many = Forecaster::Quadratic
            .answer(br#"{"instances": [{"target": [1, 2]}, {"target": [3]}]}"#)
            .unwrap();
        let f: Json = serde_json::from_str(&many).unwrap();
        assert_eq!(
            f["predictions"][1]["mean"].as_array().unwrap().len(),
            DEFAULT_HORIZON
        );
        assert!(Forecaster::Linear.answer(br#"{"target": ["a"]}"#).is_err());
    }
}
