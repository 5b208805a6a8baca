//! Typed models: serde between Rust structs and Terraform [`Value`]s.
//!
//! A resource declares a struct whose fields are its schema's attributes and reads
//! Terraform's value into it with [`from_value`]; it hands its answer back with
//! [`to_value`], which shapes the struct by the schema's [`Type`] (a sequence becomes a
//! list, set or tuple, a struct an object or map, as the type says) and refuses a struct
//! that does not match the type exactly, so that a model cannot drift from its schema
//! unnoticed.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tfplugin::model::{Attr, from_value, to_value};
//! use tfplugin::value::{Type, Value};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Thing {
//!     name: String,
//!     /// Null in configuration, unknown in a plan, known after apply.
//!     id: Attr<String>,
//!     /// Optional: null reads as `None`.
//!     size: Option<i64>,
//!     /// Kept as it is: no need to model what only passes through.
//!     timeouts: Value,
//! }
//!
//! let ty = Type::object([
//!     ("name", Type::String),
//!     ("id", Type::String),
//!     ("size", Type::Number),
//!     ("timeouts", Type::object([("create", Type::String)])),
//! ]);
//! let planned = Value::object([
//!     ("name", Value::string("a")),
//!     ("id", Value::unknown()),
//!     ("size", Value::Null),
//!     ("timeouts", Value::Null),
//! ]);
//! let mut thing: Thing = from_value(&planned).unwrap();
//! assert!(thing.id.is_unknown());
//! thing.id = Attr::from("id-1".to_owned());
//! let state = to_value(&thing, &ty).unwrap();
//! assert_eq!(state.get_attr("id"), Some(&Value::string("id-1")));
//! ```
//!
//! # Which Rust types fit which Terraform values
//!
//! | Terraform | Rust |
//! |---|---|
//! | string | `String`, `char`, an enum of unit variants (named by the string) |
//! | number | `i64`, `u64` (and smaller integers), `f64`; a whole number is required for integers |
//! | bool | `bool` |
//! | list, set, tuple | `Vec<T>`, `BTreeSet<T>`, tuples |
//! | map | `BTreeMap<String, T>`, `HashMap<String, T>`, or a struct |
//! | object, nested block | a struct (attribute name = field name, `#[serde(rename)]` honoured) or a map |
//! | may be null | `Option<T>` (an unknown value is an error) |
//! | may be null or unknown | [`Attr<T>`] |
//! | anything, untouched | [`Value`] |
//!
//! # How `Attr` and `Value` are recognised
//!
//! serde has no notion of "unknown" or of a value that passes through a serializer
//! untouched, so the two types announce themselves with private newtype-struct names
//! that only this module's serializer and deserializer act on:
//!
//! * `Attr<T>` deserializes as a newtype struct named `ATTR_TOKEN`; the deserializer
//!   answers `visit_none` for null, `visit_unit` for unknown and `visit_some` otherwise.
//!   Serialized, `Attr::Unknown` is a newtype struct named `UNKNOWN_TOKEN`.
//! * `Value` is handed over through a thread-local slot (`HANDOFF`): the side that
//!   has the value puts a clone there and signals with a newtype struct named
//!   `VALUE_TOKEN`, the other side takes it. Both steps happen within one synchronous
//!   call on one thread, and the slot is cleared afterwards either way.
//!
//! Other serde formats see these as ordinary newtype structs: `Attr` reads from them
//! as an `Option` would and writes `Known`/`Null` as an `Option` would, but an unknown
//! `Attr`, and any `Value`, refuse to be written or read by them with an error.
//!
//! Models cannot use `#[serde(flatten)]` or untagged enums around `Attr` or `Value`
//! fields: serde buffers those through its own deserializer, which does not know the
//! names above.

mod de;
mod ser;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::value::{PathStep, Type, Value, ValueError};

pub use de::from_value;
pub use ser::to_value;

/// The newtype-struct name under which [`Attr`] asks to be deserialized.
const ATTR_TOKEN: &str = "$tfplugin::model::Attr";
/// The newtype-struct name under which an unknown [`Attr`] is serialized.
const UNKNOWN_TOKEN: &str = "$tfplugin::model::Unknown";
/// The newtype-struct name announcing a [`Value`] handed over through [`HANDOFF`].
const VALUE_TOKEN: &str = "$tfplugin::model::Value";

thread_local! {
    /// The [`Value`] on its way between this module's (de)serializer and `Value`'s
    /// serde impls; empty outside of one such call.
    static HANDOFF: RefCell<Option<Value>> = const { RefCell::new(None) };
}

fn handoff_put(value: Value) {
    HANDOFF.with(|slot| *slot.borrow_mut() = Some(value));
}

fn handoff_take() -> Option<Value> {
    HANDOFF.with(|slot| slot.borrow_mut().take())
}

/// An attribute that may be null or unknown: what a field needs when it is read from a
/// plan (where computed values are unknown) or from configuration (where they are
/// null), and written to a plan (where it may be unknown until apply).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Attr<T> {
    /// Not set.
    #[default]
    Null,
    /// Known only after apply. Written as a plain (unrefined) unknown.
    Unknown,
    /// Set and known.
    Known(T),
}

impl<T> Attr<T> {
    /// The value, if known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Attr::Known(v) => Some(v),
            _ => None,
        }
    }

    /// The value, if known, by value.
    pub fn into_known(self) -> Option<T> {
        match self {
            Attr::Known(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the attribute is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Attr::Null)
    }

    /// Whether the attribute is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Attr::Unknown)
    }

    /// Whether the attribute is set and known.
    pub fn is_known(&self) -> bool {
        matches!(self, Attr::Known(_))
    }

    /// Applies `f` to a known value; null and unknown stay as they are.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Attr<U> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown => Attr::Unknown,
            Attr::Known(v) => Attr::Known(f(v)),
        }
    }

    /// Borrows the known value.
    pub fn as_ref(&self) -> Attr<&T> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown => Attr::Unknown,
            Attr::Known(v) => Attr::Known(v),
        }
    }
}

impl<T> From<T> for Attr<T> {
    fn from(v: T) -> Self {
        Attr::Known(v)
    }
}

impl<T> From<Option<T>> for Attr<T> {
    /// `None` is null.
    fn from(v: Option<T>) -> Self {
        v.map_or(Attr::Null, Attr::Known)
    }
}

impl<T: Serialize> Serialize for Attr<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Attr::Null => serializer.serialize_none(),
            Attr::Known(v) => serializer.serialize_some(v),
            Attr::Unknown => serializer.serialize_newtype_struct(UNKNOWN_TOKEN, &ForeignRefusal),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Attr<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(ATTR_TOKEN, AttrVisitor(PhantomData))
    }
}

struct AttrVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for AttrVisitor<T> {
    type Value = Attr<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value that may be null or unknown")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Attr<T>, E> {
        Ok(Attr::Null)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Attr<T>, E> {
        Ok(Attr::Unknown)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Attr<T>, D::Error> {
        T::deserialize(deserializer).map(Attr::Known)
    }

    /// Other formats hand the newtype struct's content over as is: read it as an
    /// `Option` (they have no unknowns).
    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Attr<T>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Attr::from)
    }
}

impl Serialize for Value {
    /// Only [`to_value`] can take a `Value` (unchanged); other serializers get an error.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        handoff_put(self.clone());
        let result = serializer.serialize_newtype_struct(VALUE_TOKEN, &ForeignRefusal);
        // Ours took it; anyone else's must not leave it for a later call.
        handoff_take();
        result
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Only [`from_value`] can give a `Value` (a clone of the sub-value); other
    /// deserializers get an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(VALUE_TOKEN, PassthroughVisitor)
    }
}

struct PassthroughVisitor;

impl<'de> Visitor<'de> for PassthroughVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Terraform value, which only tfplugin::model::from_value can read")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        handoff_take().ok_or_else(|| E::custom("no Terraform value was handed over"))
    }
}

/// What other serializers see inside an unknown `Attr` or a `Value`.
struct ForeignRefusal;

impl Serialize for ForeignRefusal {
    fn serialize<S: Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "Terraform values and unknowns can only be written by tfplugin::model::to_value",
        ))
    }
}

impl serde::de::Error for ValueError {
    fn custom<M: fmt::Display>(message: M) -> Self {
        ValueError::msg(message.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        ValueError::new(
            vec![PathStep::Attr(field.to_owned())],
            format!("attribute {field:?} is missing from the value"),
        )
    }
}

impl serde::ser::Error for ValueError {
    fn custom<M: fmt::Display>(message: M) -> Self {
        ValueError::msg(message.to_string())
    }
}

/// Puts `step` in front of an error's path, as the error travels out of a container.
fn within(mut error: ValueError, step: PathStep) -> ValueError {
    error.path.insert(0, step);
    error
}

/// For type-directed serialization: the element type of a dynamic container.
static DYNAMIC: Type = Type::Dynamic;
