//! Python's `str()` of numbers, which Clarify's output strings are made of.
//!
//! smclarify builds `value_or_threshold` and interval strings with Python's
//! `str`, so `40.0` stays `"40.0"`, `1e-05` keeps its two exponent digits and
//! `1e16` becomes `"1e+16"`. Rust's `{}` differs on all three.

/// Formats a float as Python's `repr(float)` / `str(float)` does.
pub fn float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits, e.g. "1.2345e3".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // position of the decimal point within `digits`
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}

/// A JSON scalar as Python's `str()` prints it after `json.load`: floats
/// as [`float`], integers as integers, strings as they are (so Clarify's
/// `"Infinity"` stays `Infinity`), `null` as `None`.
pub fn json_scalar(value: &serde_json::Value) -> String {
    use serde_json::Value as Json;
    match value {
        Json::Number(n) if n.is_f64() => float(n.as_f64().unwrap_or(f64::NAN)),
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{float, json_scalar};

    #[test]
    fn json_scalars_print_as_python_prints_them_after_json_load() {
        let cases = [
            (serde_json::json!(0.1), "0.1"),
            (serde_json::json!(3), "3"),
            (serde_json::json!(3.0), "3.0"),
            (serde_json::json!("Infinity"), "Infinity"),
            (serde_json::json!("-Infinity"), "-Infinity"),
            (serde_json::json!(null), "None"),
        ];
        for (v, want) in cases {
            assert_eq!(json_scalar(&v), want, "{v}");
        }
    }

    #[test]
    fn matches_python_repr() {
        // Expected strings are what CPython 3.11 prints for repr(x).
        let cases = [
            (40.0, "40.0"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (-2.5, "-2.5"),
            (130.24536736711912, "130.24536736711912"),
            (1.5e300, "1.5e+300"),
            (f64::INFINITY, "inf"),
        ];
        for (v, want) in cases {
            assert_eq!(float(v), want, "repr({v})");
        }
    }
}
