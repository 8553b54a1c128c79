//! FHIRPath-style locations for `OperationOutcome.issue.expression`
//! (http://hl7.org/fhir/R4/operationoutcome-definitions.html#OperationOutcome.issue.expression).
//!
//! A JSON location such as `/name/0/given/1` inside a Patient becomes `Patient.name[0].given[1]`.
//! Property names can be client data (an unknown element is echoed back so the client can find
//! it), so a name that is not a plain identifier of at most 64 characters is quoted with
//! backticks (FHIRPath's delimited identifier), sanitised and truncated.

use std::fmt::Write;

/// Longest property name echoed verbatim.
const MAX_NAME: usize = 64;

/// Appends `.name` to a FHIRPath expression.
pub fn push_name(expr: &mut String, name: &str) {
    expr.push('.');
    let plain = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes().first().is_some_and(u8::is_ascii_digit);
    if plain {
        expr.push_str(name);
        return;
    }
    expr.push('`');
    for (i, c) in name.chars().enumerate() {
        if i == MAX_NAME {
            expr.push('…');
            break;
        }
        // Keep the expression one printable line; never let a backtick end the quoting early.
        expr.push(if c.is_control() || c == '`' || c == '\\' {
            '?'
        } else {
            c
        });
    }
    expr.push('`');
}

/// Appends `[index]` to a FHIRPath expression.
pub fn push_index(expr: &mut String, index: usize) {
    // Writing to a String cannot fail.
    let _ = write!(expr, "[{index}]");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_fhirpath() {
        let mut e = "Patient".to_owned();
        push_name(&mut e, "name");
        push_index(&mut e, 0);
        push_name(&mut e, "_given");
        push_index(&mut e, 1);
        assert_eq!(e, "Patient.name[0]._given[1]");
    }

    #[test]
    fn quotes_and_truncates_odd_names() {
        let mut e = "Patient".to_owned();
        push_name(&mut e, "foo bar`\n");
        assert_eq!(e, "Patient.`foo bar??`");
        let long = "x".repeat(500);
        let mut e = String::new();
        push_name(&mut e, &long);
        assert!(e.chars().count() < 70, "{e}");
    }
}
