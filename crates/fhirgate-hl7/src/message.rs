//! The decoded HL7 v2 message model (HL7 v2.5.1 chapter 2, section 2.5
//! "Message construction rules").
//!
//! A message is segments; a segment is fields; a field is repetitions (`~`);
//! a repetition is components (`^`); a component is subcomponents (`&`).
//! Every leaf string here is already unescaped (section 2.7) and UTF-8: the
//! parser decodes escapes and transcodes from MSH-18 before building this, so
//! mapping code never sees `\F\` or a foreign charset.
//!
//! Numbering follows the standard, 1-based: `PID-5.1` is field 5, component 1.
//! MSH is special (2.14.9): MSH-1 is the field separator itself and MSH-2 the
//! encoding characters, so `MSH-3` is the first field after them. Accessors
//! return `""` for anything absent, which HL7 treats the same as empty
//! (2.5.3: a component not present is not valued). The parser builds an
//! empty field with no repetitions and an empty component with no
//! subcomponents, so use the accessors (or `is_empty`/`values`), not lengths,
//! to ask whether something is valued.

/// The delimiters of one message, read from MSH-1 and MSH-2 (2.5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
    /// v2.7+ truncation character (MSH-2 fifth character), if present.
    pub truncation: Option<char>,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
            truncation: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Component {
    pub subcomponents: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repetition {
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    pub repetitions: Vec<Repetition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Three-character segment id, e.g. `PID`.
    pub name: String,
    /// Fields in standard numbering: `fields[0]` is field 1 (for MSH, MSH-1
    /// the field separator; `fields[1]` MSH-2 the encoding characters).
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub separators: Separators,
    pub segments: Vec<Segment>,
}

impl Component {
    /// Subcomponent `n` (1-based), `""` when absent.
    pub fn sub(&self, n: usize) -> &str {
        n.checked_sub(1)
            .and_then(|i| self.subcomponents.get(i))
            .map_or("", String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.subcomponents.iter().all(String::is_empty)
    }
}

impl Repetition {
    /// Component `n` (1-based).
    pub fn component(&self, n: usize) -> Option<&Component> {
        n.checked_sub(1).and_then(|i| self.components.get(i))
    }

    /// First subcomponent of component `n`, `""` when absent.
    pub fn get(&self, n: usize) -> &str {
        self.component(n).map_or("", |c| c.sub(1))
    }

    pub fn is_empty(&self) -> bool {
        self.components.iter().all(Component::is_empty)
    }
}

impl Field {
    /// Repetition `n` (1-based).
    pub fn repetition(&self, n: usize) -> Option<&Repetition> {
        n.checked_sub(1).and_then(|i| self.repetitions.get(i))
    }

    /// The repetitions that carry a value.
    pub fn values(&self) -> impl Iterator<Item = &Repetition> {
        self.repetitions.iter().filter(|r| !r.is_empty())
    }

    /// First repetition, component `n`, first subcomponent; `""` when absent.
    pub fn get(&self, n: usize) -> &str {
        self.repetition(1).map_or("", |r| r.get(n))
    }

    /// The whole first repetition's first component: the value of a field of
    /// a primitive type (ST, NM, DTM, ID ...).
    pub fn value(&self) -> &str {
        self.get(1)
    }

    pub fn is_empty(&self) -> bool {
        self.repetitions.iter().all(Repetition::is_empty)
    }
}

impl Segment {
    /// Field `n` in standard numbering (1-based), `None` when absent.
    pub fn field(&self, n: usize) -> Option<&Field> {
        n.checked_sub(1).and_then(|i| self.fields.get(i))
    }

    /// `SEG-n.c` (first repetition, first subcomponent); `""` when absent.
    pub fn get(&self, n: usize, c: usize) -> &str {
        self.field(n).map_or("", |f| f.get(c))
    }

    /// `SEG-n` as a primitive value (its first component).
    pub fn value(&self, n: usize) -> &str {
        self.get(n, 1)
    }
}

impl Message {
    /// The MSH segment; a parsed `Message` always starts with one (or with
    /// the parser having refused it).
    pub fn msh(&self) -> Option<&Segment> {
        self.segments.first().filter(|s| s.name == "MSH")
    }

    /// Every segment with this id, in message order.
    pub fn segments_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments.iter().filter(move |s| s.name == name)
    }

    /// The first segment with this id.
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// MSH-9.1 and MSH-9.2, e.g. `("ORU", "R01")`.
    pub fn message_type(&self) -> (&str, &str) {
        self.msh().map_or(("", ""), |m| (m.get(9, 1), m.get(9, 2)))
    }

    /// MSH-10, the message control id that MSA-2 echoes.
    pub fn control_id(&self) -> &str {
        self.msh().map_or("", |m| m.value(10))
    }

    /// MSH-12.1, the version id, e.g. `2.5.1`.
    pub fn version(&self) -> &str {
        self.msh().map_or("", |m| m.get(12, 1))
    }
}
