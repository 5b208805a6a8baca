//! Writing a model as a [`Value`] of a given [`Type`]: a serde `Serializer` that the
//! type steers.

use std::collections::BTreeMap;

use serde::ser::{self, Impossible, Serialize};

use super::{DYNAMIC, UNKNOWN_TOKEN, VALUE_TOKEN, handoff_take, within};
use crate::value::{Number, PathStep, Type, Value, ValueError};

/// Writes `model` as a value of type `ty`.
///
/// A sequence becomes a list, set or tuple and a struct or map becomes a map or object,
/// as `ty` says; `None` is null, [`Attr::Unknown`](super::Attr::Unknown) a plain
/// unknown, and a [`Value`] field passes through unchanged. An object type's attribute
/// the struct has no field for is an error, and so is a field the type has no
/// attribute for (a field skipped with `skip_serializing_if` is written as null).
pub fn to_value<T: Serialize + ?Sized>(model: &T, ty: &Type) -> Result<Value, ValueError> {
    model.serialize(ValueSerializer { ty })
}

struct ValueSerializer<'t> {
    ty: &'t Type,
}

impl<'t> ValueSerializer<'t> {
    fn mismatch(&self, got: &str) -> ValueError {
        ValueError::msg(format!("expected {}, got {got}", self.ty))
    }

    fn primitive(&self, want: &Type, got: &str, value: Value) -> Result<Value, ValueError> {
        if self.ty == want || *self.ty == Type::Dynamic {
            Ok(value)
        } else {
            Err(self.mismatch(got))
        }
    }

    fn number(&self, n: Number) -> Result<Value, ValueError> {
        self.primitive(&Type::Number, "number", Value::Number(n))
    }

    fn string(&self, s: String) -> Result<Value, ValueError> {
        self.primitive(&Type::String, "string", Value::String(s))
    }

    fn sequence(self, got: &str) -> Result<Elements<'t>, ValueError> {
        let shape = match self.ty {
            Type::List(et) => SeqShape::List(et),
            Type::Set(et) => SeqShape::Set(et),
            Type::Tuple(ets) => SeqShape::Tuple(ets),
            // A sequence of anything: cty's implied type for a JSON array.
            Type::Dynamic => SeqShape::Tuple(&[]),
            _ => return Err(self.mismatch(got)),
        };
        Ok(Elements {
            shape,
            dynamic: *self.ty == Type::Dynamic,
            items: Vec::new(),
        })
    }

    fn entries(self, got: &str) -> Result<Entries<'t>, ValueError> {
        let shape = match self.ty {
            Type::Map(et) => EntryShape::Map(et),
            Type::Object(attrs) => EntryShape::Object(attrs),
            Type::Dynamic => EntryShape::DynamicObject,
            _ => return Err(self.mismatch(got)),
        };
        Ok(Entries {
            shape,
            entries: BTreeMap::new(),
            next_key: None,
        })
    }
}

impl<'t> ser::Serializer for ValueSerializer<'t> {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = Elements<'t>;
    type SerializeTuple = Elements<'t>;
    type SerializeTupleStruct = Elements<'t>;
    type SerializeTupleVariant = Impossible<Value, ValueError>;
    type SerializeMap = Entries<'t>;
    type SerializeStruct = Entries<'t>;
    type SerializeStructVariant = Impossible<Value, ValueError>;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        self.primitive(&Type::Bool, "bool", Value::Bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        self.number(Number::from(i64::from(v)))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        self.number(Number::from(i64::from(v)))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        self.number(Number::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        self.number(Number::from(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        self.number(Number::from(u32::from(v)))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        self.number(Number::from(u32::from(v)))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        self.number(Number::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        self.number(Number::from(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        let n = Number::from_f64(v).ok_or_else(|| ValueError::msg("NaN is not a number"))?;
        self.number(n)
    }

    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        self.string(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        self.string(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Value, ValueError> {
        Err(ValueError::msg("Terraform has no bytes type"))
    }

    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, ValueError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    /// A unit-only enum is a string naming the variant.
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        self.string(variant.to_owned())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        match name {
            UNKNOWN_TOKEN => Ok(Value::unknown()),
            VALUE_TOKEN => {
                handoff_take().ok_or_else(|| ValueError::msg("no Terraform value was handed over"))
            }
            _ => value.serialize(self),
        }
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _value: &T,
    ) -> Result<Value, ValueError> {
        Err(variant_with_data(name, variant))
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Elements<'t>, ValueError> {
        self.sequence("sequence")
    }
    fn serialize_tuple(self, _len: usize) -> Result<Elements<'t>, ValueError> {
        self.sequence("tuple")
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Elements<'t>, ValueError> {
        self.sequence("tuple struct")
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(variant_with_data(name, variant))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Entries<'t>, ValueError> {
        self.entries("map")
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Entries<'t>, ValueError> {
        self.entries("struct")
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(variant_with_data(name, variant))
    }
}

fn variant_with_data(name: &str, variant: &str) -> ValueError {
    ValueError::msg(format!(
        "{name}::{variant} carries data; only enums of unit variants have a Terraform form"
    ))
}

enum SeqShape<'t> {
    List(&'t Type),
    Set(&'t Type),
    /// For a dynamic type, empty: every element is dynamic.
    Tuple(&'t [Type]),
}

struct Elements<'t> {
    shape: SeqShape<'t>,
    dynamic: bool,
    items: Vec<Value>,
}

impl Elements<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let i = self.items.len();
        let ty = match self.shape {
            SeqShape::List(et) | SeqShape::Set(et) => et,
            SeqShape::Tuple(_) if self.dynamic => &DYNAMIC,
            SeqShape::Tuple(ets) => ets.get(i).ok_or_else(|| {
                ValueError::msg(format!(
                    "the tuple type has {} elements, the model more",
                    ets.len()
                ))
            })?,
        };
        let item = to_value(value, ty).map_err(|e| within(e, PathStep::Index(i as i64)))?;
        self.items.push(item);
        Ok(())
    }

    fn finish(self) -> Result<Value, ValueError> {
        Ok(match self.shape {
            SeqShape::List(_) => Value::List(self.items),
            SeqShape::Set(_) => Value::Set(self.items),
            SeqShape::Tuple(ets) if !self.dynamic && ets.len() != self.items.len() => {
                return Err(ValueError::msg(format!(
                    "the tuple type has {} elements, the model {}",
                    ets.len(),
                    self.items.len()
                )));
            }
            SeqShape::Tuple(_) => Value::Tuple(self.items),
        })
    }
}

impl ser::SerializeSeq for Elements<'_> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, ValueError> {
        self.finish()
    }
}

impl ser::SerializeTuple for Elements<'_> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, ValueError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Elements<'_> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, ValueError> {
        self.finish()
    }
}

enum EntryShape<'t> {
    Map(&'t Type),
    Object(&'t BTreeMap<String, Type>),
    /// An object whose attributes are all dynamic.
    DynamicObject,
}

struct Entries<'t> {
    shape: EntryShape<'t>,
    entries: BTreeMap<String, Value>,
    next_key: Option<String>,
}

impl Entries<'_> {
    fn insert<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), ValueError> {
        let (ty, step) = match self.shape {
            EntryShape::Map(et) => (et, PathStep::Key(key.clone())),
            EntryShape::DynamicObject => (&DYNAMIC, PathStep::Attr(key.clone())),
            EntryShape::Object(attrs) => match attrs.get(&key) {
                Some(ty) => (ty, PathStep::Attr(key.clone())),
                None => {
                    return Err(ValueError::new(
                        vec![PathStep::Attr(key.clone())],
                        format!("the model has {key:?}, which the type has no attribute for"),
                    ));
                }
            },
        };
        let value = to_value(value, ty).map_err(|e| within(e, step.clone()))?;
        if self.entries.insert(key, value).is_some() {
            return Err(ValueError::new(vec![step], "written twice"));
        }
        Ok(())
    }

    fn finish(self) -> Result<Value, ValueError> {
        match self.shape {
            EntryShape::Map(_) => Ok(Value::Map(self.entries)),
            EntryShape::DynamicObject => Ok(Value::Object(self.entries)),
            EntryShape::Object(attrs) => {
                if let Some(missing) = attrs.keys().find(|k| !self.entries.contains_key(*k)) {
                    return Err(ValueError::new(
                        vec![PathStep::Attr(missing.clone())],
                        format!("attribute {missing:?} of the type has no field in the model"),
                    ));
                }
                Ok(Value::Object(self.entries))
            }
        }
    }
}

impl ser::SerializeMap for Entries<'_> {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.next_key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let key = self
            .next_key
            .take()
            .ok_or_else(|| ValueError::msg("a map value came before its key"))?;
        self.insert(key, value)
    }

    fn end(self) -> Result<Value, ValueError> {
        self.finish()
    }
}

impl ser::SerializeStruct for Entries<'_> {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        self.insert(key.to_owned(), value)
    }

    /// `skip_serializing_if` leaves the attribute null rather than missing.
    fn skip_field(&mut self, key: &'static str) -> Result<(), ValueError> {
        self.insert(key.to_owned(), &())
    }

    fn end(self) -> Result<Value, ValueError> {
        self.finish()
    }
}

/// Map keys and object attribute names are strings.
struct KeySerializer;

fn key_error() -> ValueError {
    ValueError::msg("map keys must be strings")
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = ValueError;
    type SerializeSeq = Impossible<String, ValueError>;
    type SerializeTuple = Impossible<String, ValueError>;
    type SerializeTupleStruct = Impossible<String, ValueError>;
    type SerializeTupleVariant = Impossible<String, ValueError>;
    type SerializeMap = Impossible<String, ValueError>;
    type SerializeStruct = Impossible<String, ValueError>;
    type SerializeStructVariant = Impossible<String, ValueError>;

    fn serialize_str(self, v: &str) -> Result<String, ValueError> {
        Ok(v.to_owned())
    }
    fn serialize_char(self, v: char) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, ValueError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, ValueError> {
        value.serialize(self)
    }

    fn serialize_bool(self, _v: bool) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_i8(self, _v: i8) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_i16(self, _v: i16) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_i32(self, _v: i32) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_i64(self, _v: i64) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_u8(self, _v: u8) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_u16(self, _v: u16) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_u32(self, _v: u32) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_u64(self, _v: u64) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_f32(self, _v: f32) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, ValueError> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, ValueError> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, ValueError> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(key_error())
    }
}
