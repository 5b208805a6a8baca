//! Reading a [`Value`] into a model: a serde `Deserializer` over `&Value`.

use std::collections::btree_map;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use super::{ATTR_TOKEN, VALUE_TOKEN, handoff_put, handoff_take, within};
use crate::value::{PathStep, Value, ValueError};

/// Reads `value` into a model. Errors carry the path to the offending attribute.
///
/// Objects and maps read into structs (attribute name = field name) and into
/// `BTreeMap<String, T>`; lists, sets and tuples into `Vec<T>` and `BTreeSet<T>`;
/// numbers into integers only when whole and in range. Null reads as `None` into an
/// `Option`; an unknown value is an error there and needs an [`Attr`](super::Attr).
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    T::deserialize(ValueDeserializer(value))
}

struct ValueDeserializer<'de>(&'de Value);

impl<'de> ValueDeserializer<'de> {
    fn mismatch(&self, expected: &str) -> ValueError {
        match self.0 {
            Value::Unknown(_) => unknown(),
            v => ValueError::msg(format!("expected {expected}, got {}", v.kind())),
        }
    }

    /// Whole numbers only; the visitor checks the range of narrower integer types.
    fn integer<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let Value::Number(n) = self.0 else {
            return Err(self.mismatch("number"));
        };
        if let Some(i) = n.as_i64() {
            visitor.visit_i64(i)
        } else if let Some(u) = n.as_u64() {
            visitor.visit_u64(u)
        } else if n.is_integer() {
            Err(ValueError::msg(format!("number {n} is out of range")))
        } else {
            Err(ValueError::msg(format!("number {n} is not a whole number")))
        }
    }

    fn float<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::Number(n) => visitor.visit_f64(n.as_f64()),
            _ => Err(self.mismatch("number")),
        }
    }

    fn string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::String(s) => visitor.visit_borrowed_str(s),
            _ => Err(self.mismatch("string")),
        }
    }

    fn sequence<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                let mut access = Elements {
                    items: items.iter().enumerate(),
                };
                let out = visitor.visit_seq(&mut access)?;
                match access.items.len() {
                    0 => Ok(out),
                    left => Err(ValueError::msg(format!(
                        "{left} more elements than the model reads"
                    ))),
                }
            }
            _ => Err(self.mismatch("list, set or tuple")),
        }
    }

    fn entries<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let (entries, is_object) = match self.0 {
            Value::Object(m) => (m, true),
            Value::Map(m) => (m, false),
            _ => return Err(self.mismatch("object or map")),
        };
        visitor.visit_map(Entries {
            entries: entries.iter(),
            pending: None,
            is_object,
        })
    }
}

fn unknown() -> ValueError {
    ValueError::msg("value is unknown; a field that may be unknown must be an Attr")
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Unknown(_) => Err(unknown()),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) if n.as_i64().is_some() || n.as_u64().is_some() => {
                self.integer(visitor)
            }
            Value::Number(n) => visitor.visit_f64(n.as_f64()),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(_) | Value::Set(_) | Value::Tuple(_) => self.sequence(visitor),
            Value::Map(_) | Value::Object(_) => self.entries(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(*b),
            _ => Err(self.mismatch("bool")),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.integer(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.float(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.float(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.string(visitor)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.string(visitor)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.string(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ValueError> {
        Err(ValueError::msg("Terraform has no bytes type"))
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ValueError> {
        Err(ValueError::msg("Terraform has no bytes type"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            Value::Unknown(_) => Err(unknown()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.mismatch("null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match name {
            ATTR_TOKEN => match self.0 {
                Value::Null => visitor.visit_none(),
                Value::Unknown(_) => visitor.visit_unit(),
                _ => visitor.visit_some(self),
            },
            VALUE_TOKEN => {
                handoff_put(self.0.clone());
                let result = visitor.visit_unit();
                handoff_take();
                result
            }
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.sequence(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.sequence(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.sequence(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.entries(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.entries(visitor)
    }

    /// Enums with unit variants only, from a string naming the variant.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => Err(self.mismatch("string naming an enum variant")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.string(visitor)
    }

    /// Attributes a model does not read may hold anything, unknowns included.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }
}

struct Elements<'de> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
}

impl<'de> SeqAccess<'de> for Elements<'de> {
    type Error = ValueError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ValueError> {
        let Some((i, item)) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(ValueDeserializer(item))
            .map(Some)
            .map_err(|e| within(e, PathStep::Index(i as i64)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Entries<'de> {
    entries: btree_map::Iter<'de, String, Value>,
    pending: Option<(&'de String, &'de Value)>,
    /// Object attributes and map keys are told apart in error paths.
    is_object: bool,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| ValueError::msg("a value was asked for before its key"))?;
        let step = if self.is_object {
            PathStep::Attr(key.clone())
        } else {
            PathStep::Key(key.clone())
        };
        seed.deserialize(ValueDeserializer(value))
            .map_err(|e| within(e, step))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
