//! The two values a resource scope is made of: its context (`patient/`,
//! `user/`, `system/`) and its permissions (`.cruds`, or v1 `.read`...).

use std::fmt;

/// Whose data a resource scope reaches ("Patient-specific scopes",
/// "User-level scopes", "System-level scopes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Patient,
    User,
    System,
}

impl Context {
    /// The scope prefix, case-sensitive as every scope is.
    pub const fn as_str(self) -> &'static str {
        match self {
            Context::Patient => "patient",
            Context::User => "user",
            Context::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Context::Patient, Context::User, Context::System]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    /// Whether a `self/` ceiling covers a `req/` request. The data "available
    /// to" a user includes the selected patient's, so `user/` covers the
    /// narrower `patient/`; `system/` (no user in the loop) covers only itself.
    pub fn covers(self, req: Context) -> bool {
        self == req || (self == Context::User && req == Context::Patient)
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SMART v2 permissions c r u d s as bits ("Scopes for requesting clinical data").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Perms(u8);

/// The v2 letters in the only order the spec allows (".cruds").
const LETTERS: [(char, Perms); 5] = [
    ('c', Perms::C),
    ('r', Perms::R),
    ('u', Perms::U),
    ('d', Perms::D),
    ('s', Perms::S),
];

impl Perms {
    pub const C: Perms = Perms(1);
    pub const R: Perms = Perms(2);
    pub const U: Perms = Perms(4);
    pub const D: Perms = Perms(8);
    pub const S: Perms = Perms(16);
    pub const NONE: Perms = Perms(0);
    /// v2 `.cruds`, which v1 `.*` means.
    pub const ALL: Perms = Perms(31);
    /// v2 `.rs`, which v1 `.read` means.
    pub const V1_READ: Perms = Perms(2 | 16);
    /// v2 `.cud`, which v1 `.write` means.
    pub const V1_WRITE: Perms = Perms(1 | 4 | 8);

    pub const fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn union(self, o: Perms) -> Perms {
        Perms(self.0 | o.0)
    }
    pub const fn intersect(self, o: Perms) -> Perms {
        Perms(self.0 & o.0)
    }
    /// What `self` allows that `o` does not.
    pub const fn minus(self, o: Perms) -> Perms {
        Perms(self.0 & !o.0)
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The letters held, in "cruds" order.
    pub fn letters(self) -> String {
        LETTERS
            .iter()
            .filter(|(_, p)| self.contains(*p))
            .map(|(c, _)| *c)
            .collect()
    }

    /// A v2 suffix: "a subset of the in-order string `.cruds`", non-empty. Out
    /// of order or repeated letters are refused, so that `.sr` or `.rr` is not
    /// guessed at (the spec's reason: `.read` must not pass as `.rd`).
    pub fn parse_v2(s: &str) -> Option<Perms> {
        let mut next = 0; // index into LETTERS the next letter may start from
        let mut perms = Perms::NONE;
        for ch in s.chars() {
            let at = LETTERS.iter().skip(next).position(|(c, _)| *c == ch)? + next;
            perms = perms.union(LETTERS.get(at)?.1);
            next = at + 1;
        }
        (!perms.is_empty()).then_some(perms)
    }

    /// A v1 suffix, with the v2 meaning the spec gives it: `read` => `rs`,
    /// `write` => `cud`, `*` => `cruds`.
    pub fn parse_v1(s: &str) -> Option<Perms> {
        match s {
            "read" => Some(Perms::V1_READ),
            "write" => Some(Perms::V1_WRITE),
            "*" => Some(Perms::ALL),
            _ => None,
        }
    }

    /// The v1 suffix meaning exactly these perms, if there is one.
    pub(super) fn v1_suffix(self) -> Option<&'static str> {
        match self {
            Perms::V1_READ => Some("read"),
            Perms::V1_WRITE => Some("write"),
            Perms::ALL => Some("*"),
            _ => None,
        }
    }
}
