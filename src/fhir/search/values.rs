//! Number and quantity search values: prefixes and implicit precision
//! (http://hl7.org/fhir/R4/search.html#number, #quantity, #prefix).

use super::dates::{split_prefix, Prefix};

/// A number search value: `[prefix]number`, with the precision it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub prefix: Prefix,
    /// The number exactly as written (validated: Postgres `numeric` accepts it).
    pub text: String,
    /// Half of one unit in the last written digit, as a numeric literal: the
    /// implicit range of `eq` is `[v - h, v + h)` ("100" means 99.5 ..< 100.5,
    /// "1e2" the same, "100.00" means 99.995 ..< 100.005).
    pub half_unit: String,
}

/// Parses `[prefix]number`; None when the number is not a FHIR decimal
/// (`-?digits[.digits][e[+-]digits]`).
pub fn parse_number(v: &str) -> Option<Number> {
    let (prefix, text) = split_prefix(v);
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (text, None),
    };
    let unsigned = mantissa.strip_prefix('-').unwrap_or(mantissa);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, f),
        None => (unsigned, ""),
    };
    let digits_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int) || (unsigned.contains('.') && !digits_ok(frac)) {
        return None;
    }
    let exp: i64 = match exp {
        Some(e) => {
            let body = e.strip_prefix(['+', '-']).unwrap_or(e);
            if !digits_ok(body) || body.len() > 3 {
                return None;
            }
            e.parse().ok()?
        }
        None => 0,
    };
    // Decimal places the value was written to; negative for `1e2`-style values.
    let places = i64::try_from(frac.len()).ok()? - exp;
    Some(Number {
        prefix,
        text: text.to_owned(),
        half_unit: format!("5e{}", -(places + 1)),
    })
}

/// SQL for `col` (a numeric column) against a number search value whose text is
/// bound as `v` and half unit as `h` (both numeric literals bound as text).
/// Stored values are points, so gt/sa and lt/eb coincide (search.html#prefix).
pub fn number_condition(col: &str, prefix: Prefix, v: &str, h: &str) -> String {
    let (v, h) = (format!("{v}::numeric"), format!("{h}::numeric"));
    match prefix {
        Prefix::Eq => format!("({col} >= {v} - {h} AND {col} < {v} + {h})"),
        Prefix::Ne => format!("NOT ({col} >= {v} - {h} AND {col} < {v} + {h})"),
        Prefix::Gt | Prefix::Sa => format!("{col} > {v}"),
        Prefix::Lt | Prefix::Eb => format!("{col} < {v}"),
        Prefix::Ge => format!("{col} >= {v}"),
        Prefix::Le => format!("{col} <= {v}"),
        // "approximately": within 10% of the stated value (search.html#prefix).
        Prefix::Ap => format!("{col} BETWEEN {v} - abs({v}) * 0.1 AND {v} + abs({v}) * 0.1"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn precision_follows_the_written_digits() {
        let n = parse_number("100").unwrap();
        assert_eq!(
            (n.prefix, n.text.as_str(), n.half_unit.as_str()),
            (Prefix::Eq, "100", "5e-1")
        );
        assert_eq!(parse_number("5.4").unwrap().half_unit, "5e-2");
        assert_eq!(parse_number("gt5.40").unwrap().prefix, Prefix::Gt);
        assert_eq!(parse_number("1e2").unwrap().half_unit, "5e1");
        assert_eq!(parse_number("-0.5").unwrap().text, "-0.5");
        for bad in [
            "", "abc", "1.", ".5", "1e", "1e9999", "--1", "1,5", "1;DROP",
        ] {
            assert!(parse_number(bad).is_none(), "{bad}");
        }
    }
}
