//! msgpack encoding of values, as go-cty's `cty/msgpack` reads and writes it
//! (Terraform's `docs/plugin-protocol/object-wire-format.md`).

use std::collections::BTreeMap;

use rmp::Marker;
use rmp::encode as enc;

use super::number::WireNumber;
use super::{Cursor, Number, PathStep, Refinements, Type, Value, ValueError};

/// go-cty's extension code for an unknown with a refinement map payload.
const REFINED_UNKNOWN_EXT: i8 = 0x0c;
/// fixext1, code 0, payload 0: the plain unknown Terraform writes.
const PLAIN_UNKNOWN: [u8; 3] = [0xd4, 0, 0];

// Refinement map keys (go-cty `msgpack/unknown.go`).
const KEY_NULLNESS: i64 = 1;
const KEY_STRING_PREFIX: i64 = 2;
const KEY_NUMBER_MIN: i64 = 3;
const KEY_NUMBER_MAX: i64 = 4;
const KEY_LENGTH_MIN: i64 = 5;
const KEY_LENGTH_MAX: i64 = 6;

/// Decodes a value of type `ty`. The whole input must be one value.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let mut d = Decoder {
        buf: bytes,
        pos: 0,
        cur: Cursor::default(),
    };
    let v = d.value(ty)?;
    if d.pos != bytes.len() {
        return Err(d.cur.err(format!(
            "{} unexpected bytes after the value",
            bytes.len() - d.pos
        )));
    }
    Ok(v)
}

/// Encodes `value` as type `ty`. Fails if the value does not fit the type
/// (objects must have exactly the type's attributes).
pub fn encode_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut e = Encoder {
        out: Vec::new(),
        cur: Cursor::default(),
    };
    e.value(value, ty)?;
    Ok(e.out)
}

fn describe(m: Marker) -> &'static str {
    match m {
        Marker::Null => "null",
        Marker::True | Marker::False => "boolean",
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "integer",
        Marker::F32 | Marker::F64 => "float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map",
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => "extension",
        Marker::Reserved => "reserved byte 0xc1",
    }
}

fn is_ext(m: Marker) -> bool {
    describe(m) == "extension"
}

enum Int {
    Signed(i64),
    Unsigned(u64),
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    cur: Cursor,
}

impl<'a> Decoder<'a> {
    fn eof(&self) -> ValueError {
        self.cur.err("unexpected end of msgpack data")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ValueError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| self.eof())?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], ValueError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, ValueError> {
        Ok(self.be::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, ValueError> {
        Ok(u16::from_be_bytes(self.be()?))
    }
    fn u32(&mut self) -> Result<u32, ValueError> {
        Ok(u32::from_be_bytes(self.be()?))
    }
    fn u64(&mut self) -> Result<u64, ValueError> {
        Ok(u64::from_be_bytes(self.be()?))
    }

    fn marker(&mut self) -> Result<Marker, ValueError> {
        Ok(Marker::from_u8(self.u8()?))
    }

    fn peek_marker(&self) -> Result<Marker, ValueError> {
        self.buf
            .get(self.pos)
            .map(|&b| Marker::from_u8(b))
            .ok_or_else(|| self.eof())
    }

    /// Payload of a str or bin (go-cty accepts either where it wants text).
    fn bytes_of(&mut self, m: Marker) -> Result<Option<&'a [u8]>, ValueError> {
        let n = match m {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 | Marker::Bin8 => usize::from(self.u8()?),
            Marker::Str16 | Marker::Bin16 => usize::from(self.u16()?),
            Marker::Str32 | Marker::Bin32 => self.u32()? as usize,
            _ => return Ok(None),
        };
        self.take(n).map(Some)
    }

    fn text_of(&mut self, m: Marker) -> Result<Option<&'a str>, ValueError> {
        match self.bytes_of(m)? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|_| self.cur.err("string is not valid UTF-8")),
        }
    }

    fn array_len(&mut self, m: Marker) -> Result<Option<usize>, ValueError> {
        Ok(Some(match m {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => usize::from(self.u16()?),
            Marker::Array32 => self.u32()? as usize,
            _ => return Ok(None),
        }))
    }

    fn map_len(&mut self, m: Marker) -> Result<Option<usize>, ValueError> {
        Ok(Some(match m {
            Marker::FixMap(n) => usize::from(n),
            Marker::Map16 => usize::from(self.u16()?),
            Marker::Map32 => self.u32()? as usize,
            _ => return Ok(None),
        }))
    }

    fn int_of(&mut self, m: Marker) -> Result<Option<Int>, ValueError> {
        Ok(Some(match m {
            Marker::FixPos(n) => Int::Signed(i64::from(n)),
            Marker::FixNeg(n) => Int::Signed(i64::from(n)),
            Marker::U8 => Int::Signed(i64::from(self.u8()?)),
            Marker::U16 => Int::Signed(i64::from(self.u16()?)),
            Marker::U32 => Int::Signed(i64::from(self.u32()?)),
            Marker::U64 => Int::Unsigned(self.u64()?),
            Marker::I8 => Int::Signed(i64::from(self.u8()? as i8)),
            Marker::I16 => Int::Signed(i64::from(self.u16()? as i16)),
            Marker::I32 => Int::Signed(i64::from(self.u32()? as i32)),
            Marker::I64 => Int::Signed(self.u64()? as i64),
            _ => return Ok(None),
        }))
    }

    /// Extension code and payload.
    fn ext_of(&mut self, m: Marker) -> Result<(i8, &'a [u8]), ValueError> {
        let n = match m {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => usize::from(self.u8()?),
            Marker::Ext16 => usize::from(self.u16()?),
            Marker::Ext32 => self.u32()? as usize,
            _ => return Err(self.cur.err("expected extension")),
        };
        let code = self.u8()? as i8;
        Ok((code, self.take(n)?))
    }

    /// Lengths come from untrusted input: every element needs at least one
    /// byte, so never reserve more than what is left. (Maps and objects go into
    /// B-trees, which reserve nothing; strings and extensions are sliced from the
    /// input only once that many bytes are there.)
    fn capacity(&self, n: usize) -> usize {
        n.min(self.buf.len() - self.pos)
    }

    fn mismatch(&self, want: &str, got: Marker) -> ValueError {
        self.cur
            .err(format!("expected {want}, got {}", describe(got)))
    }

    fn value(&mut self, ty: &Type) -> Result<Value, ValueError> {
        let m = self.peek_marker()?;
        // Checked before the type: unknown and null are valid at every type.
        if is_ext(m) {
            self.pos += 1;
            let (code, payload) = self.ext_of(m)?;
            return self.unknown(code, payload, ty);
        }
        if m == Marker::Null {
            self.pos += 1;
            return Ok(Value::Null);
        }
        self.cur.enter()?;
        self.pos += 1;
        let v = self.known(m, ty)?;
        self.cur.leave();
        Ok(v)
    }

    fn known(&mut self, m: Marker, ty: &Type) -> Result<Value, ValueError> {
        match ty {
            Type::String => match self.text_of(m)? {
                Some(s) => Ok(Value::String(s.to_owned())),
                None => Err(self.mismatch("string", m)),
            },
            Type::Bool => match m {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                _ => Err(self.mismatch("bool", m)),
            },
            Type::Number => self.number(m).map(Value::Number),
            Type::List(et) | Type::Set(et) => {
                let n = self
                    .array_len(m)?
                    .ok_or_else(|| self.mismatch(&ty.to_string(), m))?;
                let mut items = Vec::with_capacity(self.capacity(n));
                for i in 0..n {
                    self.cur.push(PathStep::Index(i as i64));
                    items.push(self.value(et)?);
                    self.cur.pop();
                }
                Ok(match ty {
                    Type::Set(_) => Value::Set(items),
                    _ => Value::List(items),
                })
            }
            Type::Tuple(ets) => {
                let n = self
                    .array_len(m)?
                    .ok_or_else(|| self.mismatch("tuple", m))?;
                if n != ets.len() {
                    return Err(self
                        .cur
                        .err(format!("expected tuple of {} elements, got {n}", ets.len())));
                }
                let mut items = Vec::with_capacity(self.capacity(n));
                for (i, et) in ets.iter().enumerate() {
                    self.cur.push(PathStep::Index(i as i64));
                    items.push(self.value(et)?);
                    self.cur.pop();
                }
                Ok(Value::Tuple(items))
            }
            Type::Map(et) => {
                let n = self
                    .map_len(m)?
                    .ok_or_else(|| self.mismatch(&ty.to_string(), m))?;
                let mut entries = BTreeMap::new();
                for _ in 0..n {
                    let k = self.key()?;
                    if entries.contains_key(&k) {
                        return Err(self.cur.err(format!("duplicate map key {k:?}")));
                    }
                    self.cur.push(PathStep::Key(k.clone()));
                    let v = self.value(et)?;
                    self.cur.pop();
                    entries.insert(k, v);
                }
                Ok(Value::Map(entries))
            }
            Type::Object(attrs) => self.object(m, attrs),
            Type::Dynamic => {
                let n = self.array_len(m)?;
                if n != Some(2) {
                    return Err(self.cur.err(format!(
                        "expected dynamic value as [type, value] array, got {}",
                        match n {
                            Some(n) => format!("array of {n} elements"),
                            None => describe(m).to_owned(),
                        }
                    )));
                }
                let tm = self.marker()?;
                let json = self
                    .bytes_of(tm)?
                    .ok_or_else(|| self.mismatch("type JSON in dynamic value", tm))?;
                let t = Type::from_json(json).map_err(|e| self.cur.err(e.message))?;
                self.value(&t)
            }
        }
    }

    fn key(&mut self) -> Result<String, ValueError> {
        let m = self.marker()?;
        match self.text_of(m)? {
            Some(s) => Ok(s.to_owned()),
            None => Err(self.mismatch("string map key", m)),
        }
    }

    fn object(&mut self, m: Marker, attrs: &BTreeMap<String, Type>) -> Result<Value, ValueError> {
        let n = self.map_len(m)?.ok_or_else(|| self.mismatch("object", m))?;
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let k = self.key()?;
            self.cur.push(PathStep::Attr(k.clone()));
            let Some(aty) = attrs.get(&k) else {
                return Err(self.cur.err(format!("unsupported attribute {k:?}")));
            };
            if out.contains_key(&k) {
                return Err(self.cur.err(format!("duplicate attribute {k:?}")));
            }
            let v = self.value(aty)?;
            self.cur.pop();
            out.insert(k, v);
        }
        if let Some(missing) = attrs.keys().find(|k| !out.contains_key(*k)) {
            self.cur.push(PathStep::Attr(missing.clone()));
            return Err(self.cur.err(format!("attribute {missing:?} is required")));
        }
        Ok(Value::Object(out))
    }

    fn number(&mut self, m: Marker) -> Result<Number, ValueError> {
        if let Some(i) = self.int_of(m)? {
            return Ok(match i {
                Int::Signed(i) => Number::from(i),
                Int::Unsigned(u) => Number::from(u),
            });
        }
        let x = match m {
            Marker::F32 => f64::from(f32::from_bits(self.u32()?)),
            Marker::F64 => f64::from_bits(self.u64()?),
            _ => {
                // Numbers too big or precise for int/float come as strings.
                let s = self.text_of(m)?.ok_or_else(|| self.mismatch("number", m))?;
                return Number::parse(s).map_err(|e| self.cur.err(e.message));
            }
        };
        Number::from_f64(x).ok_or_else(|| self.cur.err("NaN is not a valid number"))
    }

    /// Decodes an extension as an unknown. Like go-cty, a payload of at most
    /// one byte means "no refinements" whatever the code; unlike go-cty (which
    /// rejects them) other codes are also read as plain unknowns.
    fn unknown(&mut self, code: i8, payload: &[u8], ty: &Type) -> Result<Value, ValueError> {
        if code != REFINED_UNKNOWN_EXT || payload.len() <= 1 || *ty == Type::Dynamic {
            // go-cty ignores refinements on dynamic unknowns, and so do we.
            return Ok(Value::unknown());
        }
        let mut d = Decoder {
            buf: payload,
            pos: 0,
            cur: Cursor {
                path: std::mem::take(&mut self.cur.path),
                depth: self.cur.depth,
            },
        };
        let r = d.refinements(ty);
        self.cur.path = d.cur.path;
        r
    }

    /// The refinement map; trailing bytes after it are ignored (go-cty
    /// reserves them for future use).
    fn refinements(&mut self, ty: &Type) -> Result<Value, ValueError> {
        let bad = |d: &Self, what: &str| d.cur.err(format!("invalid unknown refinements: {what}"));
        let m = self.marker()?;
        let n = self.map_len(m)?.ok_or_else(|| bad(self, "not a map"))?;
        let mut r = Refinements::default();
        let mut definitely_null = false;
        for _ in 0..n {
            let km = self.marker()?;
            let key = match self.int_of(km)? {
                Some(Int::Signed(k)) => k,
                Some(Int::Unsigned(_)) => i64::MAX, // unknown key, skipped
                None => return Err(bad(self, "non-integer key")),
            };
            match key {
                KEY_NULLNESS => match self.marker()? {
                    Marker::True => definitely_null = true,
                    Marker::False => r.not_null = true,
                    _ => return Err(bad(self, "nullness is not a bool")),
                },
                KEY_STRING_PREFIX => {
                    if *ty != Type::String {
                        return Err(bad(self, "string prefix for a non-string type"));
                    }
                    let vm = self.marker()?;
                    let s = self
                        .text_of(vm)?
                        .ok_or_else(|| bad(self, "string prefix is not a string"))?;
                    r.string_prefix = Some(s.to_owned());
                }
                KEY_NUMBER_MIN | KEY_NUMBER_MAX => {
                    if *ty != Type::Number {
                        return Err(bad(self, "number bound for a non-number type"));
                    }
                    let bound = self.number_bound()?;
                    if key == KEY_NUMBER_MIN {
                        r.number_lower = Some(bound);
                    } else {
                        r.number_upper = Some(bound);
                    }
                }
                KEY_LENGTH_MIN | KEY_LENGTH_MAX => {
                    if !ty.is_collection() {
                        return Err(bad(self, "length bound for a non-collection type"));
                    }
                    let vm = self.marker()?;
                    let len = match self.int_of(vm)? {
                        Some(Int::Signed(i)) if i >= 0 => i as u64,
                        Some(Int::Unsigned(u)) => u,
                        _ => return Err(bad(self, "length bound is not a non-negative integer")),
                    };
                    if key == KEY_LENGTH_MIN {
                        r.length_lower = Some(len);
                    } else {
                        r.length_upper = Some(len);
                    }
                }
                // Keys from future Terraform versions are skipped.
                _ => self.skip()?,
            }
        }
        if definitely_null {
            // go-cty collapses "unknown but definitely null" to null.
            return Ok(Value::Null);
        }
        Ok(Value::Unknown(r))
    }

    fn number_bound(&mut self) -> Result<(Number, bool), ValueError> {
        let bad = |d: &Self| {
            d.cur
                .err("invalid unknown refinements: number bound must be [number, bool]")
        };
        let m = self.marker()?;
        if self.array_len(m)? != Some(2) {
            return Err(bad(self));
        }
        let nm = self.marker()?;
        let n = self.number(nm).map_err(|_| bad(self))?;
        let inclusive = match self.marker()? {
            Marker::True => true,
            Marker::False => false,
            _ => return Err(bad(self)),
        };
        Ok((n, inclusive))
    }

    /// Skips one value of any shape.
    fn skip(&mut self) -> Result<(), ValueError> {
        let m = self.marker()?;
        if is_ext(m) {
            self.ext_of(m)?;
            return Ok(());
        }
        if self.int_of(m)?.is_some() || self.bytes_of(m)?.is_some() {
            return Ok(());
        }
        let count = match m {
            Marker::Null | Marker::True | Marker::False => 0,
            Marker::F32 => {
                self.take(4)?;
                0
            }
            Marker::F64 => {
                self.take(8)?;
                0
            }
            Marker::Reserved => return Err(self.mismatch("a value", m)),
            _ => match (self.array_len(m)?, self.map_len(m)?) {
                (Some(n), _) => n,
                (_, Some(n)) => n.saturating_mul(2),
                _ => 0,
            },
        };
        self.cur.enter()?;
        for _ in 0..count {
            self.skip()?;
        }
        self.cur.leave();
        Ok(())
    }
}

struct Encoder {
    out: Vec<u8>,
    cur: Cursor,
}

/// Writing to a Vec cannot fail; rmp's signatures still return errors.
fn ok<T, E: std::fmt::Display>(cur: &Cursor, r: Result<T, E>) -> Result<(), ValueError> {
    r.map(|_| ())
        .map_err(|e| cur.err(format!("msgpack write failed: {e}")))
}

impl Encoder {
    fn len32(&self, n: usize) -> Result<u32, ValueError> {
        u32::try_from(n).map_err(|_| self.cur.err("too many elements for msgpack"))
    }

    fn str(&mut self, s: &str) -> Result<(), ValueError> {
        self.len32(s.len())?;
        ok(&self.cur, enc::write_str(&mut self.out, s))
    }

    fn value(&mut self, v: &Value, ty: &Type) -> Result<(), ValueError> {
        if *ty == Type::Dynamic {
            return self.dynamic(v);
        }
        match v {
            Value::Null => return ok(&self.cur, enc::write_nil(&mut self.out)),
            Value::Unknown(r) => return self.unknown(r, ty),
            _ => {}
        }
        self.cur.enter()?;
        self.known(v, ty)?;
        self.cur.leave();
        Ok(())
    }

    fn mismatch(&self, v: &Value, ty: &Type) -> ValueError {
        self.cur.err(format!("cannot encode {} as {ty}", v.kind()))
    }

    fn known(&mut self, v: &Value, ty: &Type) -> Result<(), ValueError> {
        match (ty, v) {
            (Type::String, Value::String(s)) => self.str(s),
            (Type::Bool, Value::Bool(b)) => ok(&self.cur, enc::write_bool(&mut self.out, *b)),
            (Type::Number, Value::Number(n)) => self.number(n),
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
                let n = self.len32(xs.len())?;
                ok(&self.cur, enc::write_array_len(&mut self.out, n))?;
                for (i, x) in xs.iter().enumerate() {
                    let et = match ty {
                        Type::Tuple(ets) => &ets[i],
                        Type::List(et) | Type::Set(et) => et,
                        _ => unreachable!("matched above"),
                    };
                    self.cur.push(PathStep::Index(i as i64));
                    self.value(x, et)?;
                    self.cur.pop();
                }
                Ok(())
            }
            (Type::Map(et), Value::Map(m) | Value::Object(m)) => {
                let n = self.len32(m.len())?;
                ok(&self.cur, enc::write_map_len(&mut self.out, n))?;
                for (k, x) in m {
                    self.str(k)?;
                    self.cur.push(PathStep::Key(k.clone()));
                    self.value(x, et)?;
                    self.cur.pop();
                }
                Ok(())
            }
            (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => {
                check_attrs(&mut self.cur, attrs, m)?;
                let n = self.len32(attrs.len())?;
                ok(&self.cur, enc::write_map_len(&mut self.out, n))?;
                // BTreeMap order: sorted, as go-cty writes attributes.
                for ((k, aty), x) in attrs.iter().zip(m.values()) {
                    self.str(k)?;
                    self.cur.push(PathStep::Attr(k.clone()));
                    self.value(x, aty)?;
                    self.cur.pop();
                }
                Ok(())
            }
            _ => Err(self.mismatch(v, ty)),
        }
    }

    /// Same choice as go-cty: an int when it fits, a float64 when exact,
    /// else the decimal as a string.
    fn number(&mut self, n: &Number) -> Result<(), ValueError> {
        match n.wire() {
            WireNumber::Int(i) => ok(&self.cur, enc::write_sint(&mut self.out, i)),
            WireNumber::UInt(u) => ok(&self.cur, enc::write_uint(&mut self.out, u)),
            WireNumber::Float(x) => ok(&self.cur, enc::write_f64(&mut self.out, x)),
            WireNumber::Decimal(d) => self.str(&d.to_string()),
        }
    }

    /// `[type JSON as bin, value]`, with the type implied by the value. Null
    /// and unknown need no type: they read back as null/unknown at any type.
    fn dynamic(&mut self, v: &Value) -> Result<(), ValueError> {
        match v {
            Value::Null => return ok(&self.cur, enc::write_nil(&mut self.out)),
            // go-cty never refines dynamic unknowns.
            Value::Unknown(_) => {
                self.out.extend_from_slice(&PLAIN_UNKNOWN);
                return Ok(());
            }
            _ => {}
        }
        let t = v
            .implied_type()
            .ok_or_else(|| self.cur.err("set elements do not share one type"))?;
        self.cur.enter()?;
        ok(&self.cur, enc::write_array_len(&mut self.out, 2))?;
        let json = t.to_json();
        self.len32(json.len())?;
        ok(&self.cur, enc::write_bin(&mut self.out, &json))?;
        self.value(v, &t)?;
        self.cur.leave();
        Ok(())
    }

    fn unknown(&mut self, r: &Refinements, ty: &Type) -> Result<(), ValueError> {
        check_refinements(&self.cur, r, ty)?;
        if r.is_plain() {
            self.out.extend_from_slice(&PLAIN_UNKNOWN);
            return Ok(());
        }
        let mut p = Encoder {
            out: Vec::new(),
            cur: Cursor {
                path: self.cur.path.clone(),
                depth: self.cur.depth,
            },
        };
        let entries = [
            r.not_null,
            r.string_prefix.is_some(),
            r.number_lower.is_some(),
            r.number_upper.is_some(),
            r.length_lower.is_some(),
            r.length_upper.is_some(),
        ];
        let count = entries.iter().filter(|&&b| b).count() as u32;
        ok(&p.cur, enc::write_map_len(&mut p.out, count))?;
        if r.not_null {
            ok(&p.cur, enc::write_sint(&mut p.out, KEY_NULLNESS))?;
            ok(&p.cur, enc::write_bool(&mut p.out, false))?;
        }
        if let Some(prefix) = &r.string_prefix {
            ok(&p.cur, enc::write_sint(&mut p.out, KEY_STRING_PREFIX))?;
            p.str(prefix)?;
        }
        for (key, bound) in [
            (KEY_NUMBER_MIN, &r.number_lower),
            (KEY_NUMBER_MAX, &r.number_upper),
        ] {
            if let Some((n, inclusive)) = bound {
                ok(&p.cur, enc::write_sint(&mut p.out, key))?;
                ok(&p.cur, enc::write_array_len(&mut p.out, 2))?;
                p.number(n)?;
                ok(&p.cur, enc::write_bool(&mut p.out, *inclusive))?;
            }
        }
        for (key, bound) in [
            (KEY_LENGTH_MIN, r.length_lower),
            (KEY_LENGTH_MAX, r.length_upper),
        ] {
            if let Some(len) = bound {
                ok(&p.cur, enc::write_sint(&mut p.out, key))?;
                ok(&p.cur, enc::write_uint(&mut p.out, len))?;
            }
        }
        let n = self.len32(p.out.len())?;
        ok(
            &self.cur,
            enc::write_ext_meta(&mut self.out, n, REFINED_UNKNOWN_EXT),
        )?;
        self.out.extend_from_slice(&p.out);
        Ok(())
    }
}

/// Refinements the wire format cannot carry for `ty` are a caller bug, so
/// they are reported rather than dropped.
fn check_refinements(cur: &Cursor, r: &Refinements, ty: &Type) -> Result<(), ValueError> {
    let bad = |what: &str| Err(cur.err(format!("{what} refinement on an unknown {ty}")));
    if r.string_prefix.is_some() && *ty != Type::String {
        return bad("string prefix");
    }
    if (r.number_lower.is_some() || r.number_upper.is_some()) && *ty != Type::Number {
        return bad("number bound");
    }
    if (r.length_lower.is_some() || r.length_upper.is_some()) && !ty.is_collection() {
        return bad("length bound");
    }
    Ok(())
}

/// An object value must have exactly its type's attributes.
pub(super) fn check_attrs(
    cur: &mut Cursor,
    attrs: &BTreeMap<String, Type>,
    m: &BTreeMap<String, Value>,
) -> Result<(), ValueError> {
    if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
        cur.push(PathStep::Attr(extra.clone()));
        return Err(cur.err(format!("unsupported attribute {extra:?}")));
    }
    if let Some(missing) = attrs.keys().find(|k| !m.contains_key(*k)) {
        cur.push(PathStep::Attr(missing.clone()));
        return Err(cur.err(format!(
            "attribute {missing:?} is missing from the value (use null)"
        )));
    }
    Ok(())
}
