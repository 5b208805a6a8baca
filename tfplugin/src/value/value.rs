//! Terraform values, independent of their encoding.

use std::collections::BTreeMap;

use super::{Number, PathStep, Type, ValueError};

/// What is known about an unknown value (go-cty "refinements"). The default
/// is a plain unknown. Which fields may be set depends on the value's type:
/// `string_prefix` for strings, number bounds for numbers, length bounds for
/// lists, sets and maps; `not_null` for any type except dynamic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Refinements {
    /// The value will definitely not be null.
    pub not_null: bool,
    /// The string starts with this.
    pub string_prefix: Option<String>,
    /// Lower bound and whether it is inclusive.
    pub number_lower: Option<(Number, bool)>,
    /// Upper bound and whether it is inclusive.
    pub number_upper: Option<(Number, bool)>,
    /// The collection has at least this many elements.
    pub length_lower: Option<u64>,
    /// The collection has at most this many elements.
    pub length_upper: Option<u64>,
}

impl Refinements {
    /// True when nothing is refined (encodes as a plain unknown).
    pub fn is_plain(&self) -> bool {
        *self == Refinements::default()
    }

    /// Only that the value will not be null.
    pub fn not_null() -> Refinements {
        Refinements {
            not_null: true,
            ..Refinements::default()
        }
    }
}

/// A Terraform value. It carries no type: the schema's [`Type`] is supplied
/// when encoding and decoding.
///
/// Equality is structural except that sets compare as multisets (order is
/// irrelevant) and numbers compare by numeric value. Two unknowns are equal
/// when their refinements are; this is not Terraform's three-valued equality.
#[derive(Clone, Debug)]
pub enum Value {
    /// Not set.
    Null,
    /// Known only after apply, with what is already known about it.
    Unknown(Refinements),
    /// A bool.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// A list.
    List(Vec<Value>),
    /// A set (order carries no meaning).
    Set(Vec<Value>),
    /// A map.
    Map(BTreeMap<String, Value>),
    /// An object (or a block).
    Object(BTreeMap<String, Value>),
    /// A tuple.
    Tuple(Vec<Value>),
}

/// Null: what an attribute is until something sets it.
impl Default for Value {
    fn default() -> Self {
        Value::Null
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Unknown(a), Unknown(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Set(a), Set(b)) => multiset_eq(a, b),
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

/// Greedy matching is enough because `==` is an equivalence relation.
fn multiset_eq(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|x| {
        let found = (0..b.len()).find(|&i| !used[i] && b[i] == *x);
        if let Some(i) = found {
            used[i] = true;
        }
        found.is_some()
    })
}

impl Value {
    /// A plain unknown.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }

    /// A string.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A number.
    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    /// A bool.
    pub fn bool(b: bool) -> Value {
        Value::Bool(b)
    }

    /// A list of `items`.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(items.into_iter().collect())
    }

    /// A set of `items`.
    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(items.into_iter().collect())
    }

    /// A tuple of `items`.
    pub fn tuple(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Tuple(items.into_iter().collect())
    }

    /// A map of `entries`.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// An object with `attrs`.
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether the value is unknown (its parts may be unknown without this).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    /// No unknowns anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
                xs.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The truth of a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number of a number.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// A number as an i64, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// Elements of a list, set or tuple.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => Some(xs),
            _ => None,
        }
    }

    /// Attributes of an object, or entries of a map.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(m) | Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Same as [`Value::as_object`]; reads better for maps.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        self.as_object()
    }

    /// An attribute of an object (or an entry of a map).
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        self.as_object()?.get(name)
    }

    /// An attribute of an object (or an entry of a map), to change.
    pub fn get_attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get_mut(name),
            _ => None,
        }
    }

    /// Sets an attribute of an object (or map entry), returning the previous
    /// value. Fails on anything that is not an object or map (including null).
    pub fn set_attr(
        &mut self,
        name: impl Into<String>,
        value: Value,
    ) -> Result<Option<Value>, ValueError> {
        match self {
            Value::Object(m) | Value::Map(m) => Ok(m.insert(name.into(), value)),
            other => {
                let name = name.into();
                Err(ValueError::new(
                    vec![PathStep::Attr(name)],
                    format!("cannot set an attribute on {}", other.kind()),
                ))
            }
        }
    }

    /// Short description for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown(_) => "unknown",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
        }
    }

    /// The type a dynamic value is sent as, in the spirit of go-cty's
    /// implied types. Nulls and unrefined unknowns carry no type information
    /// and imply `Dynamic`, which unifies with anything. Lists and maps whose
    /// elements disagree fall back to tuple and object (as cty's JSON implied
    /// type does); a set cannot, so it yields `None`.
    pub fn implied_type(&self) -> Option<Type> {
        Some(match self {
            Value::Null => Type::Dynamic,
            Value::Unknown(r) if r.string_prefix.is_some() => Type::String,
            Value::Unknown(r) if r.number_lower.is_some() || r.number_upper.is_some() => {
                Type::Number
            }
            Value::Unknown(_) => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(xs) => {
                let ts = xs
                    .iter()
                    .map(Value::implied_type)
                    .collect::<Option<Vec<_>>>()?;
                match unify_all(&ts) {
                    Some(t) => Type::list(t),
                    None => Type::Tuple(ts),
                }
            }
            Value::Set(xs) => {
                let ts = xs
                    .iter()
                    .map(Value::implied_type)
                    .collect::<Option<Vec<_>>>()?;
                Type::set(unify_all(&ts)?)
            }
            Value::Tuple(xs) => {
                Type::Tuple(xs.iter().map(Value::implied_type).collect::<Option<_>>()?)
            }
            Value::Map(m) => {
                let ts = m
                    .iter()
                    .map(|(k, v)| Some((k.clone(), v.implied_type()?)))
                    .collect::<Option<BTreeMap<_, _>>>()?;
                let elems: Vec<Type> = ts.values().cloned().collect();
                match unify_all(&elems) {
                    Some(t) => Type::map(t),
                    None => Type::Object(ts),
                }
            }
            Value::Object(m) => Type::Object(
                m.iter()
                    .map(|(k, v)| Some((k.clone(), v.implied_type()?)))
                    .collect::<Option<_>>()?,
            ),
        })
    }
}

fn unify_all(ts: &[Type]) -> Option<Type> {
    ts.iter().try_fold(Type::Dynamic, |acc, t| unify(&acc, t))
}

/// The most specific type both sides fit, treating `Dynamic` (from nulls and
/// unknowns) as a wildcard.
fn unify(a: &Type, b: &Type) -> Option<Type> {
    Some(match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => t.clone(),
        (Type::List(x), Type::List(y)) => Type::list(unify(x, y)?),
        (Type::Set(x), Type::Set(y)) => Type::set(unify(x, y)?),
        (Type::Map(x), Type::Map(y)) => Type::map(unify(x, y)?),
        (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => Type::Tuple(
            xs.iter()
                .zip(ys)
                .map(|(x, y)| unify(x, y))
                .collect::<Option<_>>()?,
        ),
        (Type::Object(xs), Type::Object(ys)) if xs.len() == ys.len() && xs.keys().eq(ys.keys()) => {
            Type::Object(
                xs.iter()
                    .zip(ys.values())
                    .map(|((k, x), y)| Some((k.clone(), unify(x, y)?)))
                    .collect::<Option<_>>()?,
            )
        }
        (x, y) if x == y && x.is_primitive() => x.clone(),
        _ => return None,
    })
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(i.into())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is null.
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}
