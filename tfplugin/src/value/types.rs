//! Terraform (go-cty) types and their JSON form, as used in
//! `Schema.Attribute.type` and inside dynamic values.

use std::collections::BTreeMap;
use std::fmt;

use super::jsontext::{self, Json};
use super::{MAX_DEPTH, ValueError};

/// A Terraform type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// Text.
    String,
    /// An arbitrary-precision number.
    Number,
    /// True or false.
    Bool,
    /// An ordered sequence of one element type.
    List(Box<Type>),
    /// An unordered collection of distinct values of one element type.
    Set(Box<Type>),
    /// String keys to values of one element type.
    Map(Box<Type>),
    /// Named attributes, each of its own type.
    Object(BTreeMap<String, Type>),
    /// A fixed-length sequence, each element of its own type.
    Tuple(Vec<Type>),
    /// Any type; values carry their concrete type on the wire.
    Dynamic,
}

impl Type {
    /// A list of `element`.
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    /// A set of `element`.
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    /// A map of `element`.
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// An object with these attributes.
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// A tuple of these element types.
    pub fn tuple(elements: impl IntoIterator<Item = Type>) -> Type {
        Type::Tuple(elements.into_iter().collect())
    }

    /// String, number or bool.
    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::String | Type::Number | Type::Bool)
    }

    /// List, set or map: the types go-cty calls collections (and the only
    /// ones that can carry length refinements).
    pub fn is_collection(&self) -> bool {
        matches!(self, Type::List(_) | Type::Set(_) | Type::Map(_))
    }

    /// Element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// The attributes of an object type.
    pub fn attribute_types(&self) -> Option<&BTreeMap<String, Type>> {
        match self {
            Type::Object(attrs) => Some(attrs),
            _ => None,
        }
    }

    /// Whether `Dynamic` appears anywhere in the type.
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::String | Type::Number | Type::Bool => false,
            Type::List(t) | Type::Set(t) | Type::Map(t) => t.has_dynamic(),
            Type::Object(attrs) => attrs.values().any(Type::has_dynamic),
            Type::Tuple(ts) => ts.iter().any(Type::has_dynamic),
        }
    }

    /// Parses go-cty's type JSON. The optional-attribute list that may follow
    /// an object's attributes only matters for type conversion, not for wire
    /// values, so it is checked for shape and dropped.
    pub fn from_json(bytes: &[u8]) -> Result<Type, ValueError> {
        let json = jsontext::parse(bytes).map_err(|e| ValueError::msg(format!("type: {e}")))?;
        Type::from_json_value(&json, 0).map_err(|e| ValueError::msg(format!("invalid type: {e}")))
    }

    pub(super) fn from_json_value(j: &Json, depth: usize) -> Result<Type, String> {
        if depth >= MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let items = match j {
            Json::String(name) => {
                return match name.as_str() {
                    "string" => Ok(Type::String),
                    "number" => Ok(Type::Number),
                    "bool" => Ok(Type::Bool),
                    "dynamic" => Ok(Type::Dynamic),
                    other => Err(format!("unknown primitive type {other:?}")),
                };
            }
            Json::Array(items) => items,
            other => return Err(format!("expected string or array, got {}", other.kind())),
        };
        let Some(Json::String(kind)) = items.first() else {
            return Err("type array must start with a type name".into());
        };
        let arity_ok = match kind.as_str() {
            "object" => items.len() == 2 || items.len() == 3,
            _ => items.len() == 2,
        };
        if !arity_ok {
            return Err(format!("wrong number of elements for {kind:?} type"));
        }
        let arg = &items[1];
        let sub = |j: &Json| Type::from_json_value(j, depth + 1);
        match kind.as_str() {
            "list" => Ok(Type::list(sub(arg)?)),
            "set" => Ok(Type::set(sub(arg)?)),
            "map" => Ok(Type::map(sub(arg)?)),
            "tuple" => match arg {
                Json::Array(elems) => Ok(Type::Tuple(
                    elems.iter().map(sub).collect::<Result<_, _>>()?,
                )),
                other => Err(format!(
                    "tuple element types must be an array, got {}",
                    other.kind()
                )),
            },
            "object" => {
                let Json::Object(members) = arg else {
                    return Err(format!(
                        "object attribute types must be an object, got {}",
                        arg.kind()
                    ));
                };
                let mut attrs = BTreeMap::new();
                for (name, t) in members {
                    if attrs.insert(name.clone(), sub(t)?).is_some() {
                        return Err(format!("duplicate object attribute {name:?}"));
                    }
                }
                if let Some(optional) = items.get(2) {
                    let ok = matches!(optional, Json::Array(names)
                        if names.iter().all(|n| matches!(n, Json::String(s) if attrs.contains_key(s))));
                    if !ok {
                        return Err(
                            "optional attributes must be an array of attribute names".into()
                        );
                    }
                }
                Ok(Type::Object(attrs))
            }
            other => Err(format!("unknown type kind {other:?}")),
        }
    }

    /// Compact JSON as go-cty writes it, e.g. `["object",{"a":"string"}]`
    /// (attributes sorted, no whitespace).
    pub fn to_json(&self) -> Vec<u8> {
        let mut s = String::new();
        self.write_json(&mut s);
        s.into_bytes()
    }

    pub(super) fn write_json(&self, out: &mut String) {
        let wrap = |out: &mut String, kind: &str, inner: &Type| {
            out.push_str("[\"");
            out.push_str(kind);
            out.push_str("\",");
            inner.write_json(out);
            out.push(']');
        };
        match self {
            Type::String => out.push_str("\"string\""),
            Type::Number => out.push_str("\"number\""),
            Type::Bool => out.push_str("\"bool\""),
            Type::Dynamic => out.push_str("\"dynamic\""),
            Type::List(t) => wrap(out, "list", t),
            Type::Set(t) => wrap(out, "set", t),
            Type::Map(t) => wrap(out, "map", t),
            Type::Object(attrs) => {
                out.push_str("[\"object\",{");
                for (i, (name, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    jsontext::push_string(out, name);
                    out.push(':');
                    t.write_json(out);
                }
                out.push_str("}]");
            }
            Type::Tuple(ts) => {
                out.push_str("[\"tuple\",[");
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    t.write_json(out);
                }
                out.push_str("]]");
            }
        }
    }
}

impl fmt::Display for Type {
    /// Friendly names in the style of go-cty's `FriendlyName`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(t) => write!(f, "list of {t}"),
            Type::Set(t) => write!(f, "set of {t}"),
            Type::Map(t) => write!(f, "map of {t}"),
            Type::Object(_) => f.write_str("object"),
            Type::Tuple(_) => f.write_str("tuple"),
        }
    }
}
