//! JSON encoding of values, as go-cty's `cty/json` reads and writes it: the
//! form of Terraform state and of `DynamicValue.json`. JSON has no unknowns.

use std::collections::BTreeMap;

use super::jsontext::{self, Json};
use super::msgpack::check_attrs;
use super::{Cursor, Number, PathStep, Type, Value, ValueError};

/// Decodes a JSON value of type `ty`. As in go-cty, object attributes absent
/// from the JSON decode as null (state written under an older schema lacks
/// newer attributes), and primitives convert the way Terraform converts them
/// (`"5"` for a number, `true` for a string, ...).
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let json = jsontext::parse(bytes).map_err(ValueError::msg)?;
    Decoder {
        cur: Cursor::default(),
    }
    .value(&json, ty)
}

/// Encodes a wholly-known value of type `ty` as compact JSON. Numbers are
/// written exactly (a float as its full decimal expansion) so decoding gives
/// back an equal value; infinities cannot be written.
pub fn encode_json(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut e = Encoder {
        out: String::new(),
        cur: Cursor::default(),
    };
    e.value(value, ty)?;
    Ok(e.out.into_bytes())
}

struct Decoder {
    cur: Cursor,
}

impl Decoder {
    fn mismatch(&self, want: &str, got: &Json) -> ValueError {
        self.cur.err(format!("expected {want}, got {}", got.kind()))
    }

    fn value(&mut self, j: &Json, ty: &Type) -> Result<Value, ValueError> {
        if *j == Json::Null {
            return Ok(Value::Null);
        }
        self.cur.enter()?;
        let v = self.known(j, ty)?;
        self.cur.leave();
        Ok(v)
    }

    fn known(&mut self, j: &Json, ty: &Type) -> Result<Value, ValueError> {
        match (ty, j) {
            (Type::String, Json::String(s) | Json::Number(s)) => Ok(Value::String(s.clone())),
            (Type::String, Json::Bool(b)) => Ok(Value::String(b.to_string())),
            (Type::Number, Json::Number(s) | Json::String(s)) => Number::parse(s)
                .map(Value::Number)
                .map_err(|e| self.cur.err(e.message)),
            (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
            (Type::Bool, Json::String(s)) if s == "true" || s == "false" => {
                Ok(Value::Bool(s == "true"))
            }
            (Type::List(et) | Type::Set(et), Json::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    self.cur.push(PathStep::Index(i as i64));
                    out.push(self.value(item, et)?);
                    self.cur.pop();
                }
                Ok(match ty {
                    Type::Set(_) => Value::Set(out),
                    _ => Value::List(out),
                })
            }
            (Type::Tuple(ets), Json::Array(items)) => {
                if ets.len() != items.len() {
                    return Err(self.cur.err(format!(
                        "expected tuple of {} elements, got {}",
                        ets.len(),
                        items.len()
                    )));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, (item, et)) in items.iter().zip(ets).enumerate() {
                    self.cur.push(PathStep::Index(i as i64));
                    out.push(self.value(item, et)?);
                    self.cur.pop();
                }
                Ok(Value::Tuple(out))
            }
            (Type::Map(et), Json::Object(members)) => {
                let mut out = BTreeMap::new();
                for (k, item) in members {
                    self.cur.push(PathStep::Key(k.clone()));
                    if out.contains_key(k) {
                        return Err(self.cur.err(format!("duplicate map key {k:?}")));
                    }
                    out.insert(k.clone(), self.value(item, et)?);
                    self.cur.pop();
                }
                Ok(Value::Map(out))
            }
            (Type::Object(attrs), Json::Object(members)) => {
                let mut out = BTreeMap::new();
                for (k, item) in members {
                    self.cur.push(PathStep::Attr(k.clone()));
                    let Some(aty) = attrs.get(k) else {
                        return Err(self.cur.err(format!("unsupported attribute {k:?}")));
                    };
                    if out.contains_key(k) {
                        return Err(self.cur.err(format!("duplicate attribute {k:?}")));
                    }
                    out.insert(k.clone(), self.value(item, aty)?);
                    self.cur.pop();
                }
                for name in attrs.keys() {
                    out.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(out))
            }
            (Type::Dynamic, Json::Object(members)) => {
                let (mut t, mut v) = (None, None);
                for (k, item) in members {
                    let slot = match k.as_str() {
                        "type" => &mut t,
                        "value" => &mut v,
                        _ => {
                            return Err(self
                                .cur
                                .err(format!("invalid key {k:?} in dynamically-typed value")));
                        }
                    };
                    if slot.replace(item).is_some() {
                        return Err(self.cur.err(format!("duplicate key {k:?}")));
                    }
                }
                let (Some(t), Some(v)) = (t, v) else {
                    return Err(self
                        .cur
                        .err("dynamically-typed value needs both \"type\" and \"value\""));
                };
                let t = Type::from_json_value(t, 0)
                    .map_err(|e| self.cur.err(format!("invalid type: {e}")))?;
                self.value(v, &t)
            }
            (Type::Dynamic, other) => Err(self.mismatch("{\"value\":…,\"type\":…} object", other)),
            (_, other) => Err(self.mismatch(&ty.to_string(), other)),
        }
    }
}

struct Encoder {
    out: String,
    cur: Cursor,
}

impl Encoder {
    fn value(&mut self, v: &Value, ty: &Type) -> Result<(), ValueError> {
        match v {
            Value::Null => {
                self.out.push_str("null");
                return Ok(());
            }
            Value::Unknown(_) => {
                return Err(self.cur.err("unknown values cannot be encoded as JSON"));
            }
            _ => {}
        }
        self.cur.enter()?;
        self.known(v, ty)?;
        self.cur.leave();
        Ok(())
    }

    fn known(&mut self, v: &Value, ty: &Type) -> Result<(), ValueError> {
        match (ty, v) {
            (Type::Dynamic, _) => {
                let t = v
                    .implied_type()
                    .ok_or_else(|| self.cur.err("set elements do not share one type"))?;
                self.out.push_str("{\"value\":");
                self.value(v, &t)?;
                self.out.push_str(",\"type\":");
                t.write_json(&mut self.out);
                self.out.push('}');
            }
            (Type::String, Value::String(s)) => jsontext::push_string(&mut self.out, s),
            (Type::Bool, Value::Bool(b)) => self.out.push_str(if *b { "true" } else { "false" }),
            (Type::Number, Value::Number(n)) => match n.to_exact_string() {
                Some(s) => self.out.push_str(&s),
                None => return Err(self.cur.err(format!("{n} cannot be written as JSON"))),
            },
            (
                Type::List(_) | Type::Set(_) | Type::Tuple(_),
                Value::List(xs) | Value::Set(xs) | Value::Tuple(xs),
            ) => {
                if let Type::Tuple(ets) = ty
                    && ets.len() != xs.len()
                {
                    return Err(self.cur.err(format!(
                        "tuple type has {} elements, value has {}",
                        ets.len(),
                        xs.len()
                    )));
                }
                self.out.push('[');
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    let et = match ty {
                        Type::Tuple(ets) => &ets[i],
                        Type::List(et) | Type::Set(et) => et,
                        _ => unreachable!("matched above"),
                    };
                    self.cur.push(PathStep::Index(i as i64));
                    self.value(x, et)?;
                    self.cur.pop();
                }
                self.out.push(']');
            }
            (Type::Map(et), Value::Map(m) | Value::Object(m)) => {
                self.out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    jsontext::push_string(&mut self.out, k);
                    self.out.push(':');
                    self.cur.push(PathStep::Key(k.clone()));
                    self.value(x, et)?;
                    self.cur.pop();
                }
                self.out.push('}');
            }
            (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => {
                check_attrs(&mut self.cur, attrs, m)?;
                self.out.push('{');
                for (i, ((k, aty), x)) in attrs.iter().zip(m.values()).enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    jsontext::push_string(&mut self.out, k);
                    self.out.push(':');
                    self.cur.push(PathStep::Attr(k.clone()));
                    self.value(x, aty)?;
                    self.cur.pop();
                }
                self.out.push('}');
            }
            _ => return Err(self.cur.err(format!("cannot encode {} as {ty}", v.kind()))),
        }
        Ok(())
    }
}
