//! Property tests: generated types and matching values round-trip through
//! both encodings, and no input makes a decoder panic.

use proptest::prelude::*;

use super::*;

/// 256 cases keeps the suite fast; set PROPTEST_CASES to search harder.
fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 256;
    }
    c
}

fn attr_name() -> impl Strategy<Value = String> {
    "[a-z_]{1,6}"
}

fn arb_type_with(dynamic: bool) -> BoxedStrategy<Type> {
    let leaf = if dynamic {
        prop_oneof![
            Just(Type::String),
            Just(Type::Number),
            Just(Type::Bool),
            Just(Type::Dynamic)
        ]
        .boxed()
    } else {
        prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool)].boxed()
    };
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map(attr_name(), inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
    .boxed()
}

fn arb_type() -> BoxedStrategy<Type> {
    arb_type_with(true)
}

fn arb_number() -> BoxedStrategy<Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        (-1000i32..1000).prop_map(Number::from),
        (prop::num::f64::NORMAL
            | prop::num::f64::SUBNORMAL
            | prop::num::f64::POSITIVE
            | prop::num::f64::NEGATIVE
            | prop::num::f64::ZERO)
            .prop_map(Number::from),
        "-?[1-9][0-9]{0,40}(\\.[0-9]{1,25})?(e-?[0-9]{1,3})?"
            .prop_map(|s| Number::parse(&s).unwrap()),
    ]
    .boxed()
}

/// Floats for the ordering properties, drawn so that every representation a float
/// can land in comes up often: fractions (Float), whole numbers within i64 (Int) and
/// between 2^63 and 2^64 (UInt), huge and tiny magnitudes (Float), exact ties with
/// integers, negative zero (which must equal zero) and the infinities.
fn order_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e6f64..1e6,
        (-40i32..40).prop_map(|q| f64::from(q) / 4.0),
        any::<i64>().prop_map(|i| i as f64),
        9.3e18f64..1.8e19,
        -1e300f64..1e300,
        prop::num::f64::NORMAL,
        prop::num::f64::SUBNORMAL,
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

/// Integers across i64 and u64, clustered where the representations meet (0 and
/// 2^63) and where floats still hold every integer (2^53).
fn order_int() -> impl Strategy<Value = i128> {
    let two_63 = 1i128 << 63;
    prop_oneof![
        (-50i128..50),
        any::<i64>().prop_map(i128::from),
        any::<u64>().prop_map(i128::from),
        ((two_63 - 50)..(two_63 + 50)),
        ((1i128 << 53) - 5..(1i128 << 53) + 5),
    ]
}

/// An integer in i64 or u64 range as a Number.
fn int_number(a: i128) -> Number {
    match i64::try_from(a) {
        Ok(i) => Number::from(i),
        Err(_) => Number::from(u64::try_from(a).expect("in u64 range")),
    }
}

/// Exact comparison of an integer with a float, as the ordering oracle.
fn cmp_int_float(a: i128, x: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    // Beyond ±1e30 no i64/u64 competes; within, x.floor() fits i128 exactly.
    if x > 1e30 {
        return Ordering::Less;
    }
    if x < -1e30 {
        return Ordering::Greater;
    }
    let floor = x.floor() as i128;
    if x.fract() == 0.0 {
        a.cmp(&floor)
    } else if a <= floor {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Unknowns {
    None,
    /// Only plain unknowns: inside dynamic values, where refinements may be
    /// dropped (go-cty never refines a dynamic unknown).
    Plain,
    Refined,
}

fn arb_refinements(ty: &Type) -> BoxedStrategy<Refinements> {
    let bound = || proptest::option::of((arb_number(), any::<bool>()));
    let len = || proptest::option::of(0u64..1_000_000);
    match ty {
        Type::String => (any::<bool>(), proptest::option::of("\\PC{0,6}"))
            .prop_map(|(not_null, string_prefix)| Refinements {
                not_null,
                string_prefix,
                ..Refinements::default()
            })
            .boxed(),
        Type::Number => (any::<bool>(), bound(), bound())
            .prop_map(|(not_null, number_lower, number_upper)| Refinements {
                not_null,
                number_lower,
                number_upper,
                ..Refinements::default()
            })
            .boxed(),
        t if t.is_collection() => (any::<bool>(), len(), len())
            .prop_map(|(not_null, length_lower, length_upper)| Refinements {
                not_null,
                length_lower,
                length_upper,
                ..Refinements::default()
            })
            .boxed(),
        Type::Dynamic => Just(Refinements::default()).boxed(),
        _ => any::<bool>()
            .prop_map(|not_null| Refinements {
                not_null,
                ..Refinements::default()
            })
            .boxed(),
    }
}

/// A value that fits `ty`.
fn arb_value(ty: &Type, unknowns: Unknowns) -> BoxedStrategy<Value> {
    let known = arb_known(ty, unknowns);
    match unknowns {
        Unknowns::None => prop_oneof![1 => Just(Value::Null), 6 => known].boxed(),
        Unknowns::Plain => {
            prop_oneof![1 => Just(Value::Null), 1 => Just(Value::unknown()), 6 => known].boxed()
        }
        Unknowns::Refined => prop_oneof![
            1 => Just(Value::Null),
            1 => arb_refinements(ty).prop_map(Value::Unknown),
            6 => known
        ]
        .boxed(),
    }
}

fn arb_known(ty: &Type, unknowns: Unknowns) -> BoxedStrategy<Value> {
    let elems = |t: &Type| prop::collection::vec(arb_value(t, unknowns), 0..4);
    match ty {
        Type::String => "\\PC{0,8}".prop_map(Value::String).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(t) => elems(t).prop_map(Value::List).boxed(),
        Type::Set(t) => elems(t).prop_map(Value::Set).boxed(),
        Type::Map(t) => prop::collection::btree_map("\\PC{0,4}", arb_value(t, unknowns), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => attrs
            .iter()
            .map(|(k, t)| {
                let k = k.clone();
                arb_value(t, unknowns).prop_map(move |v| (k.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(|kvs| Value::Object(kvs.into_iter().collect()))
            .boxed(),
        Type::Tuple(ts) => ts
            .iter()
            .map(|t| arb_value(t, unknowns))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        // A dynamic slot holds a value of some concrete type, written with
        // that type implied from the value. A concrete type without nested
        // dynamics keeps the implied type equal to the generated one, so the
        // value reads back as the same variant.
        Type::Dynamic => {
            let inner = if unknowns == Unknowns::None {
                Unknowns::None
            } else {
                Unknowns::Plain
            };
            arb_type_with(false)
                .prop_flat_map(move |t| arb_known(&t, inner))
                .boxed()
        }
    }
}

fn typed_value(unknowns: Unknowns) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |t| (Just(t.clone()), arb_value(&t, unknowns)))
}

/// A valid encoding, then damaged: truncated or with bytes overwritten.
fn damaged_msgpack() -> impl Strategy<Value = (Type, Vec<u8>)> {
    (
        typed_value(Unknowns::Refined),
        any::<prop::sample::Index>(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<bool>(),
    )
        .prop_map(|((t, v), cut, edits, truncate)| {
            let mut bytes = encode_msgpack(&v, &t).unwrap_or_default();
            if !bytes.is_empty() {
                for (i, b) in edits {
                    let i = i.index(bytes.len());
                    bytes[i] = b;
                }
                if truncate {
                    bytes.truncate(cut.index(bytes.len()));
                }
            }
            (t, bytes)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn msgpack_roundtrip((t, v) in typed_value(Unknowns::Refined)) {
        let bytes = encode_msgpack(&v, &t).unwrap();
        let back = decode_msgpack(&bytes, &t).unwrap();
        prop_assert_eq!(&back, &v);
        // Encoding is deterministic given an equal value in the same order.
        prop_assert_eq!(encode_msgpack(&back, &t).unwrap(), bytes);
    }

    #[test]
    fn json_roundtrip((t, v) in typed_value(Unknowns::None)) {
        prop_assert!(v.is_wholly_known());
        let bytes = encode_json(&v, &t).unwrap();
        let back = decode_json(&bytes, &t).unwrap();
        prop_assert_eq!(&back, &v);
    }

    #[test]
    fn json_rejects_unknowns((t, v) in typed_value(Unknowns::Refined)) {
        prop_assert_eq!(encode_json(&v, &t).is_ok(), v.is_wholly_known());
    }

    #[test]
    fn type_json_roundtrip(t in arb_type()) {
        prop_assert_eq!(Type::from_json(&t.to_json()).unwrap(), t);
    }

    #[test]
    fn decoders_never_panic_on_bytes(t in arb_type(), bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        let _ = decode_msgpack(&bytes, &t);
        let _ = decode_json(&bytes, &t);
        let _ = Type::from_json(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_damaged_input((t, bytes) in damaged_msgpack(), other in arb_type()) {
        let _ = decode_msgpack(&bytes, &t);
        let _ = decode_msgpack(&bytes, &other);
    }

    #[test]
    fn decoders_never_panic_on_jsonish_text(t in arb_type(), s in "[\\[\\]{}\",:0-9a-z.eE+\\- \\\\]{0,40}") {
        let _ = decode_json(s.as_bytes(), &t);
        let _ = Type::from_json(s.as_bytes());
    }

    #[test]
    fn number_order_matches_floats(x in order_f64(), y in order_f64()) {
        prop_assert_eq!(Some(Number::from(x).cmp(&Number::from(y))), x.partial_cmp(&y));
    }

    #[test]
    fn number_order_matches_integers(a in order_int(), b in order_int()) {
        prop_assert_eq!(int_number(a).cmp(&int_number(b)), a.cmp(&b));
    }

    /// Half the floats are drawn within 2 of the integer, where ties and the
    /// fraction decide.
    #[test]
    fn integers_and_floats_compare_exactly(
        a in order_int(),
        far in order_f64(),
        offset in prop_oneof![-2.0f64..2.0, (-8i32..8).prop_map(|q| f64::from(q) / 4.0)],
        near in any::<bool>(),
    ) {
        let x = if near { a as f64 + offset } else { far };
        prop_assert_eq!(int_number(a).cmp(&Number::from(x)), cmp_int_float(a, x));
        prop_assert_eq!(Number::from(x).cmp(&int_number(a)), cmp_int_float(a, x).reverse());
    }

    /// Decimals that neither i64, u64 nor f64 can hold: `n + 10^-30` lies strictly
    /// between `n` and the next representable value above it.
    #[test]
    fn decimals_order_against_the_rest(n in 1i64..(1 << 52), x in order_f64(), a in order_int()) {
        let d = Number::parse(&format!("{n}.{}1", "0".repeat(29))).unwrap();
        let n = i128::from(n);
        // d > n, and d < every float or integer above n (they are at least 2^-52 above).
        let vs_float = match cmp_int_float(n, x) {
            std::cmp::Ordering::Less => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        prop_assert_eq!(d.cmp(&Number::from(x)), vs_float);
        prop_assert_eq!(d.cmp(&int_number(a)), if n < a { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater });
        prop_assert_eq!(int_number(a).cmp(&d), d.cmp(&int_number(a)).reverse());
    }

    #[test]
    fn number_text_roundtrip(n in arb_number()) {
        let exact = n.to_exact_string().unwrap();
        prop_assert_eq!(Number::parse(&exact).unwrap(), n.clone());
        // Display is exact for everything but floats, which show their
        // shortest form; that still reads back as the same f64.
        prop_assert_eq!(Number::parse(&n.to_string()).unwrap().as_f64(), n.as_f64());
    }
}
