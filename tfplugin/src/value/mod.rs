//! Terraform's wire values: types, values and their msgpack / JSON encodings.
//!
//! Terraform hands providers `DynamicValue`s that are go-cty values serialised
//! with msgpack (or, for upgraded state, JSON). This module mirrors go-cty's
//! encoding (`cty/msgpack`, `cty/json`) closely enough that whatever Terraform
//! writes decodes here and whatever is encoded here decodes in Terraform to the
//! same value, including unknowns and their refinements.
//!
//! Self-contained on purpose: it depends only on `std` and `rmp`, so it can be
//! tested in isolation and fuzzed with arbitrary input.

mod json;
mod jsontext;
mod msgpack;
mod number;
mod types;
#[allow(clippy::module_inception)]
mod value;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;

pub use json::{decode_json, encode_json};
pub use msgpack::{decode_msgpack, encode_msgpack};
pub use number::Number;
pub use types::Type;
pub use value::{Refinements, Value};

/// Deepest nesting of containers (and dynamic wrappers) accepted when decoding
/// or produced when encoding. Terraform schemas are far shallower; the cap keeps
/// hostile input from exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// One step of the path to the part of a value an error is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// Object attribute.
    Attr(String),
    /// Position in a list, set or tuple.
    Index(i64),
    /// Map key.
    Key(String),
}

/// A decoding or encoding failure, with where in the value it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    /// Where in the value; empty for the value as a whole.
    pub path: Vec<PathStep>,
    /// What is wrong.
    pub message: String,
}

impl ValueError {
    /// An error at `path`.
    pub fn new(path: Vec<PathStep>, message: impl Into<String>) -> Self {
        ValueError {
            path,
            message: message.into(),
        }
    }

    /// An error not tied to a position inside a value.
    pub fn msg(message: impl Into<String>) -> Self {
        ValueError::new(Vec::new(), message)
    }
}

/// Renders a path the way Terraform users read them: `.a.b[2]["key"]`.
pub fn format_path(path: &[PathStep]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            PathStep::Attr(name) => {
                s.push('.');
                s.push_str(name);
            }
            PathStep::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
            PathStep::Key(k) => {
                s.push('[');
                jsontext::push_string(&mut s, k);
                s.push(']');
            }
        }
    }
    s
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "at {}: {}", format_path(&self.path), self.message)
        }
    }
}

impl std::error::Error for ValueError {}

/// Shared by the decoders and encoders: the current path and nesting depth.
#[derive(Default)]
struct Cursor {
    path: Vec<PathStep>,
    depth: usize,
}

impl Cursor {
    fn err(&self, message: impl Into<String>) -> ValueError {
        ValueError::new(self.path.clone(), message)
    }

    fn enter(&mut self) -> Result<(), ValueError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn push(&mut self, step: PathStep) {
        self.path.push(step);
    }

    fn pop(&mut self) {
        self.path.pop();
    }
}
