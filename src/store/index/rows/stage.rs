//! The index rows of a write as INSERTs of one statement (store/batch.rs).

use super::IndexRows;
use crate::crypto::blind::PREFIX_LEN;
use crate::store::batch::{Builder, Col};

impl IndexRows {
    /// Adds the INSERTs of every table with rows to `b`; the rows are of `rtype`.
    pub(crate) fn stage(self, b: &mut Builder, rtype: &str) {
        if self.is_empty() {
            return;
        }
        let rt = b.param(Col::One(rtype.to_owned()));
        let rt = rt.as_str();
        let [i_string, i_token, i_date, i_reference, i_quantity, i_number, i_uri, i_composite] =
            self.ids;
        let s = self.string;
        let split_prefixes = format!(
            "x.r, x.p, x.vn, x.ve, x.eb, x.nb, CASE WHEN x.pb IS NULL THEN NULL ELSE \
             ARRAY(SELECT substring(x.pb FROM g * {n} + 1 FOR {n}) FROM generate_series(0, length(x.pb) / {n} - 1) AS g) END",
            n = PREFIX_LEN
        );
        b.table(
            "idx_string",
            "param, value_norm, value_exact, exact_bi, norm_bi, prefix_bis",
            &split_prefixes,
            "x(r, p, vn, ve, eb, nb, pb)",
            rt,
            i_string,
            vec![
                Col::Text(s.0),
                Col::NText(s.1),
                Col::NText(s.2),
                Col::NBytes(s.3),
                Col::NBytes(s.4),
                Col::NBytes(s.5),
            ],
        );
        let s = self.token;
        b.table(
            "idx_token",
            "param, system, code, code_bi, text_bis",
            "x.*",
            "x",
            rt,
            i_token,
            vec![
                Col::Text(s.0),
                Col::NText(s.1),
                Col::NText(s.2),
                Col::NBytes(s.3),
                Col::NBytes(s.4),
            ],
        );
        let s = self.date;
        b.table(
            "idx_date",
            "param, low, high, value_bi",
            "x.*",
            "x",
            rt,
            i_date,
            vec![
                Col::Text(s.0),
                Col::NTime(s.1),
                Col::NTime(s.2),
                Col::NBytes(s.3),
            ],
        );
        let s = self.reference;
        b.table(
            "idx_reference",
            "param, target_type, target_id, target_version, url, ident_system, ident_bi",
            "x.*",
            "x",
            rt,
            i_reference,
            vec![
                Col::Text(s.0),
                Col::NText(s.1),
                Col::NText(s.2),
                Col::NText(s.3),
                Col::NText(s.4),
                Col::NText(s.5),
                Col::NBytes(s.6),
            ],
        );
        let s = self.quantity;
        b.table(
            "idx_quantity",
            "param, value, system, code, unit_bi",
            "x.r, x.p, x.v::numeric, x.s, x.c, x.u",
            "x(r, p, v, s, c, u)",
            rt,
            i_quantity,
            vec![
                Col::Text(s.0),
                Col::Text(s.1),
                Col::NText(s.2),
                Col::NText(s.3),
                Col::NBytes(s.4),
            ],
        );
        let s = self.number;
        b.table(
            "idx_number",
            "param, value",
            "x.r, x.p, x.v::numeric",
            "x(r, p, v)",
            rt,
            i_number,
            vec![Col::Text(s.0), Col::Text(s.1)],
        );
        let s = self.uri;
        b.table(
            "idx_uri",
            "param, uri",
            "x.*",
            "x",
            rt,
            i_uri,
            vec![Col::Text(s.0), Col::Text(s.1)],
        );
        let (key_ids, keys) = self.keys;
        b.table(
            "idx_keys",
            "keys",
            "x.r, array_agg(x.k)",
            "x(r, k) GROUP BY x.r",
            rt,
            key_ids,
            vec![Col::Text(keys)],
        );
        let c = self.composite;
        b.table(
            "idx_composite",
            "param, c1_system, c1_code, c2_system, c2_code, c2_value, c2_low, c2_high, c2_text",
            "x.r, x.p, x.s1, x.c1, x.s2, x.c2, x.v2::numeric, x.lo, x.hi, x.t2",
            "x(r, p, s1, c1, s2, c2, v2, lo, hi, t2)",
            rt,
            i_composite,
            vec![
                Col::Text(c.0),
                Col::NText(c.1),
                Col::NText(c.2),
                Col::NText(c.3),
                Col::NText(c.4),
                Col::NText(c.5),
                Col::NTime(c.6),
                Col::NTime(c.7),
                Col::NText(c.8),
            ],
        );
    }
}
