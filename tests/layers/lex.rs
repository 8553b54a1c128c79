//! The server's sources as tokens for tests/layers/scan.rs: comments, strings
//! and char literals blanked first (a path in a doc comment or an error
//! message is no dependency), then identifiers, `::` and punctuation, each
//! with its line.

/// One token; the number is its line.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String, usize),
    /// `::`
    Sep(usize),
    Punct(char, usize),
}

impl Tok {
    pub fn ident(&self) -> Option<&str> {
        match self {
            Tok::Ident(s, _) => Some(s),
            _ => None,
        }
    }
    pub fn is_punct(&self, c: char) -> bool {
        matches!(self, Tok::Punct(p, _) if *p == c)
    }
    pub fn line(&self) -> usize {
        match self {
            Tok::Ident(_, l) | Tok::Sep(l) | Tok::Punct(_, l) => *l,
        }
    }
}

/// The text with comments, string and char literals blanked (newlines kept, so
/// line numbers stay). Lifetimes (`'a`) are left alone.
pub fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        match skip(&c, i) {
            Some(end) => {
                let end = end.clamp(i + 1, c.len());
                out.extend(
                    c[i..end]
                        .iter()
                        .map(|&ch| if ch == '\n' { ch } else { ' ' }),
                );
                i = end;
            }
            None => {
                out.push(c[i]);
                i += 1;
            }
        }
    }
    out
}

/// Where the comment or literal starting at `c[i]` ends, if one starts there.
fn skip(c: &[char], i: usize) -> Option<usize> {
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let ident_before = i > 0 && (at(i - 1).is_alphanumeric() || at(i - 1) == '_');
    // Raw strings: r"..", r#".."#, br"..", with as many #s at the close.
    let h = i + if at(i) == 'b' { 2 } else { 1 };
    let hashes = (h..c.len()).take_while(|&k| c[k] == '#').count();
    let raw = !ident_before && (at(i) == 'r' || (at(i) == 'b' && at(i + 1) == 'r'));
    Some(match (at(i), at(i + 1), at(i + 2)) {
        ('/', '/', _) => (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len()),
        ('/', '*', _) => {
            let (mut k, mut depth) = (i + 2, 1);
            while k < c.len() && depth > 0 {
                match (at(k), at(k + 1)) {
                    ('/', '*') => (depth, k) = (depth + 1, k + 1),
                    ('*', '/') => (depth, k) = (depth - 1, k + 1),
                    _ => {}
                }
                k += 1;
            }
            k
        }
        _ if raw && at(h + hashes) == '"' => {
            let close = |k: usize| at(k) == '"' && (1..=hashes).all(|n| at(k + n) == '#');
            (h + hashes + 1..c.len())
                .find(|&k| close(k))
                .map_or(c.len(), |k| k + 1 + hashes)
        }
        ('"', _, _) => {
            let mut k = i + 1;
            while k < c.len() && at(k) != '"' {
                k += if at(k) == '\\' { 2 } else { 1 };
            }
            k + 1
        }
        ('\'', '\\', _) => (i + 3..c.len())
            .find(|&k| c[k] == '\'')
            .map_or(c.len(), |k| k + 1),
        ('\'', _, '\'') => i + 3,
        _ => return None,
    })
}

pub fn tokenize(code: &str) -> Vec<Tok> {
    let c: Vec<char> = code.chars().collect();
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while let Some(&ch) = c.get(i) {
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while c.get(i).is_some_and(|&x| x.is_alphanumeric() || x == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            if !ch.is_ascii_digit() {
                out.push(Tok::Ident(word, line));
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::Sep(line));
            i += 2;
        } else {
            out.push(Tok::Punct(ch, line));
            i += 1;
        }
    }
    out
}
