//! FHIRPath tokens (http://hl7.org/fhirpath/N1/#grammar): identifiers (plain or
//! backtick-delimited), string and number literals, `$this`-style specials,
//! `%env` variables and the operator symbols.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Identifier or keyword; a backtick-delimited one has `quoted` set and is never a keyword.
    Ident {
        name: String,
        quoted: bool,
    },
    Str(String),
    Num(String),
    /// `$this`, `$index`, `$total`.
    Special(String),
    /// `%resource`, `%ucum`, ...
    Env(String),
    Sym(&'static str),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
}

const SYMBOLS: [&str; 22] = [
    "!=", "!~", "<=", ">=", ".", "(", ")", "[", "]", "{", "}", ",", "|", "=", "~", "<", ">", "+",
    "-", "*", "/", "&",
];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

type Chars<'s> = std::iter::Peekable<std::str::CharIndices<'s>>;

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(start, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        let tok = if is_ident_start(c) {
            Tok::Ident {
                name: take_while(&mut it, is_ident_char),
                quoted: false,
            }
        } else if c.is_ascii_digit() {
            Tok::Num(number(&mut it))
        } else if c == '\'' || c == '`' {
            it.next();
            let text = delimited(&mut it, c)?;
            if c == '`' {
                Tok::Ident {
                    name: text,
                    quoted: true,
                }
            } else {
                Tok::Str(text)
            }
        } else if c == '$' || c == '%' {
            it.next();
            let name = take_while(&mut it, is_ident_char);
            if name.is_empty() {
                return Err(format!("expected a name after '{c}' at {start}"));
            }
            if c == '$' {
                Tok::Special(name)
            } else {
                Tok::Env(name)
            }
        } else {
            let rest = src.get(start..).unwrap_or("");
            let sym = SYMBOLS
                .iter()
                .find(|s| rest.starts_with(**s))
                .ok_or_else(|| format!("unexpected character '{c}' at {start}"))?;
            for _ in 0..sym.len() {
                it.next();
            }
            Tok::Sym(sym)
        };
        out.push(Token { tok, start });
    }
    Ok(out)
}

fn take_while(it: &mut Chars<'_>, pred: impl Fn(char) -> bool) -> String {
    let mut s = String::new();
    while let Some(&(_, c)) = it.peek() {
        if !pred(c) {
            break;
        }
        s.push(c);
        it.next();
    }
    s
}

/// Digits with at most one decimal point followed by a digit (`1.5`; `1.foo()` stays `1` `.`).
fn number(it: &mut Chars<'_>) -> String {
    let mut s = take_while(it, |c| c.is_ascii_digit());
    let mut ahead = it.clone();
    if let (Some((_, '.')), Some((_, d))) = (ahead.next(), ahead.next()) {
        if d.is_ascii_digit() {
            it.next();
            s.push('.');
            s.push_str(&take_while(it, |c| c.is_ascii_digit()));
        }
    }
    s
}

/// Reads up to the closing `delim`, decoding the escapes of http://hl7.org/fhirpath/N1/#string.
fn delimited(it: &mut Chars<'_>, delim: char) -> Result<String, String> {
    let mut s = String::new();
    while let Some((pos, c)) = it.next() {
        if c == delim {
            return Ok(s);
        }
        if c != '\\' {
            s.push(c);
            continue;
        }
        let (_, e) = it.next().ok_or("unterminated escape")?;
        match e {
            'n' => s.push('\n'),
            'r' => s.push('\r'),
            't' => s.push('\t'),
            'f' => s.push('\u{c}'),
            'u' => {
                let hex: String = (0..4).filter_map(|_| it.next().map(|x| x.1)).collect();
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad \\u escape at {pos}"))?;
                s.push(ch);
            }
            other => s.push(other),
        }
    }
    Err(format!("unterminated {delim}-delimited text"))
}
