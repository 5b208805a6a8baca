//! Hand-written wire bytes, following Terraform's object-wire-format doc and
//! go-cty's encoder.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn num(s: &str) -> Number {
    Number::parse(s).unwrap()
}

fn roundtrip_bytes(bytes: &[u8], ty: &Type, expect: &Value) {
    let v = decode_msgpack(bytes, ty).unwrap();
    assert_eq!(&v, expect);
    assert_eq!(encode_msgpack(&v, ty).unwrap(), bytes);
}

// ---- unknowns ----

#[test]
fn plain_unknown_is_fixext1_code0() {
    for ty in [Type::String, Type::list(Type::Number), Type::Dynamic] {
        roundtrip_bytes(&[0xd4, 0, 0], &ty, &Value::unknown());
    }
}

#[test]
fn any_extension_decodes_as_unknown() {
    let ty = Type::String;
    for bytes in [
        hex("d4 05 00"),          // fixext1, other code
        hex("d5 00 00 00"),       // fixext2, code 0
        hex("c7 00 00"),          // ext8, empty payload
        hex("c7 03 07 01 02 03"), // ext8, unrelated code and payload
        hex("c7 01 0c 80"),       // code 12 but payload <= 1 byte
    ] {
        assert_eq!(
            decode_msgpack(&bytes, &ty).unwrap(),
            Value::unknown(),
            "{bytes:x?}"
        );
    }
}

#[test]
fn refined_string_unknown() {
    // {1: false, 2: "abc"} is 8 bytes, so the ext header is fixext8 (d7).
    let bytes = hex("d7 0c 82 01 c2 02 a3 61 62 63");
    let expect = Value::Unknown(Refinements {
        not_null: true,
        string_prefix: Some("abc".into()),
        ..Refinements::default()
    });
    roundtrip_bytes(&bytes, &Type::String, &expect);
}

#[test]
fn refined_number_unknown() {
    // {3: [1, true], 4: [10.5, false]}
    let bytes = hex("c7 11 0c 82 03 92 01 c3 04 92 cb 40 25 00 00 00 00 00 00 c2");
    let expect = Value::Unknown(Refinements {
        number_lower: Some((Number::from(1), true)),
        number_upper: Some((Number::from(10.5), false)),
        ..Refinements::default()
    });
    roundtrip_bytes(&bytes, &Type::Number, &expect);
}

#[test]
fn refined_collection_unknown() {
    // {1: false, 5: 1, 6: 3}
    let bytes = hex("c7 07 0c 83 01 c2 05 01 06 03");
    let expect = Value::Unknown(Refinements {
        not_null: true,
        length_lower: Some(1),
        length_upper: Some(3),
        ..Refinements::default()
    });
    roundtrip_bytes(&bytes, &Type::list(Type::String), &expect);
    roundtrip_bytes(&bytes, &Type::map(Type::String), &expect);
}

#[test]
fn refinement_edge_cases() {
    // Unknown future key 7 is skipped; nothing left means a plain unknown,
    // which is re-encoded compactly (never as an empty map).
    let v = decode_msgpack(&hex("c7 04 0c 81 07 a1 78"), &Type::String).unwrap();
    assert_eq!(v, Value::unknown());
    assert_eq!(encode_msgpack(&v, &Type::String).unwrap(), hex("d4 00 00"));
    // "definitely null" collapses to null, as in go-cty.
    assert_eq!(
        decode_msgpack(&hex("c7 03 0c 81 01 c3"), &Type::String).unwrap(),
        Value::Null
    );
    // Refinements at dynamic are ignored.
    assert_eq!(
        decode_msgpack(&hex("c7 03 0c 81 01 c2"), &Type::Dynamic).unwrap(),
        Value::unknown()
    );
    // A prefix on a number is rejected, not silently dropped.
    assert!(decode_msgpack(&hex("d6 0c 81 02 a1 78"), &Type::Number).is_err());
    let bad = Value::Unknown(Refinements {
        string_prefix: Some("x".into()),
        ..Refinements::default()
    });
    let err = encode_msgpack(&bad, &Type::Number).unwrap_err();
    assert!(err.message.contains("string prefix"), "{err}");
    // At dynamic, refinements are dropped like go-cty does.
    assert_eq!(
        encode_msgpack(&bad, &Type::Dynamic).unwrap(),
        hex("d4 00 00")
    );
}

// ---- known values ----

#[test]
fn nil_is_null_at_every_type() {
    for ty in [
        Type::String,
        Type::Number,
        Type::Bool,
        Type::list(Type::String),
        Type::object([("a", Type::String)]),
        Type::tuple([Type::Bool]),
        Type::Dynamic,
    ] {
        roundtrip_bytes(&[0xc0], &ty, &Value::Null);
    }
}

#[test]
fn nested_object_with_list_of_strings() {
    let ty = Type::object([
        ("name", Type::String),
        ("tags", Type::list(Type::String)),
        ("enabled", Type::Bool),
    ]);
    // Attributes in sorted order, as go-cty writes them.
    let bytes = hex("83 a7 656e61626c6564 c3 a4 6e616d65 a1 78 a4 74616773 92 a1 61 a1 62");
    let expect = Value::object([
        ("enabled", Value::bool(true)),
        ("name", Value::string("x")),
        (
            "tags",
            Value::list([Value::string("a"), Value::string("b")]),
        ),
    ]);
    roundtrip_bytes(&bytes, &ty, &expect);
    let v = decode_msgpack(&bytes, &ty).unwrap();
    assert_eq!(v.get_attr("name").and_then(Value::as_str), Some("x"));
    assert_eq!(
        v.get_attr("tags").and_then(Value::as_list).map(<[_]>::len),
        Some(2)
    );
}

#[test]
fn strings_may_arrive_as_bin() {
    let v = decode_msgpack(&hex("c4 02 68 69"), &Type::String).unwrap();
    assert_eq!(v, Value::string("hi"));
    assert!(decode_msgpack(&hex("c4 01 ff"), &Type::String).is_err());
}

#[test]
fn set_order_is_irrelevant() {
    let ty = Type::set(Type::Number);
    let v = decode_msgpack(&hex("93 01 02 03"), &ty).unwrap();
    assert_eq!(v, Value::set([3, 1, 2].map(Value::number)));
    assert_ne!(v, Value::set([1, 2].map(Value::number)));
    assert_ne!(v, Value::list([1, 2, 3].map(Value::number)));
    assert_eq!(encode_msgpack(&v, &ty).unwrap(), hex("93 01 02 03"));
}

#[test]
fn map_of_strings() {
    let ty = Type::map(Type::String);
    let bytes = hex("82 a1 61 a1 31 a1 62 c0");
    let expect = Value::map([("a", Value::string("1")), ("b", Value::Null)]);
    roundtrip_bytes(&bytes, &ty, &expect);
    assert!(decode_msgpack(&hex("82 a1 61 a1 31 a1 61 a1 32"), &ty).is_err());
}

#[test]
fn tuple_length_must_match() {
    let ty = Type::tuple([Type::String, Type::Number]);
    roundtrip_bytes(
        &hex("92 a1 61 05"),
        &ty,
        &Value::tuple([Value::string("a"), Value::number(5)]),
    );
    assert!(decode_msgpack(&hex("91 a1 61"), &ty).is_err());
}

#[test]
fn numbers_on_the_wire() {
    let big = "123456789012345678901234567890";
    // fixstr of 30 bytes: Terraform sends numbers beyond int/float as strings.
    let mut bytes = vec![0xbe];
    bytes.extend_from_slice(big.as_bytes());
    roundtrip_bytes(&bytes, &Type::Number, &Value::Number(num(big)));
    assert_eq!(
        decode_msgpack(&bytes, &Type::Number)
            .unwrap()
            .as_number()
            .unwrap()
            .to_string(),
        big
    );

    roundtrip_bytes(&hex("d0 85"), &Type::Number, &Value::number(-123));
    roundtrip_bytes(&hex("cd 01 00"), &Type::Number, &Value::number(256));
    roundtrip_bytes(
        &hex("cf ff ff ff ff ff ff ff ff"),
        &Type::Number,
        &Value::number(u64::MAX),
    );
    roundtrip_bytes(
        &hex("cb 3f f8 00 00 00 00 00 00"),
        &Type::Number,
        &Value::number(1.5),
    );
    // 0.1 is not a float64: it stays a decimal string, as go-cty writes it.
    roundtrip_bytes(
        &hex("a3 30 2e 31"),
        &Type::Number,
        &Value::Number(num("0.1")),
    );
    // Integral floats and decimal strings decode to the same number as ints,
    // and are written back as ints.
    assert_eq!(
        decode_msgpack(&hex("cb 40 00 00 00 00 00 00 00"), &Type::Number).unwrap(),
        Value::number(2)
    );
    let two = decode_msgpack(&hex("a3 32 2e 30"), &Type::Number).unwrap();
    assert_eq!(encode_msgpack(&two, &Type::Number).unwrap(), hex("02"));
    assert_eq!(
        decode_msgpack(&hex("ca 3f c0 00 00"), &Type::Number).unwrap(),
        Value::number(1.5)
    );
    // NaN and non-numeric strings are errors.
    assert!(decode_msgpack(&hex("cb 7f f8 00 00 00 00 00 01"), &Type::Number).is_err());
    assert!(decode_msgpack(&hex("a3 61 62 63"), &Type::Number).is_err());
}

#[test]
fn dynamic_values() {
    // [bin "\"string\"", "hi"]
    let bytes = hex("92 c4 08 22737472696e6722 a2 6869");
    roundtrip_bytes(&bytes, &Type::Dynamic, &Value::string("hi"));
    // The type JSON may also come as str.
    let as_str = hex("92 a8 22737472696e6722 a2 6869");
    assert_eq!(
        decode_msgpack(&as_str, &Type::Dynamic).unwrap(),
        Value::string("hi")
    );

    // Object values imply an object type; lists with mixed elements a tuple.
    let v = Value::object([
        ("a", Value::number(1)),
        ("l", Value::list([Value::string("x"), Value::bool(true)])),
    ]);
    let bytes = encode_msgpack(&v, &Type::Dynamic).unwrap();
    let type_json = br#"["object",{"a":"number","l":["tuple",["string","bool"]]}]"#;
    assert_eq!(&bytes[..3], &[0x92, 0xc4, type_json.len() as u8]);
    assert_eq!(&bytes[3..3 + type_json.len()], type_json);
    let back = decode_msgpack(&bytes, &Type::Dynamic).unwrap();
    assert_eq!(
        back,
        Value::object([
            ("a", Value::number(1)),
            ("l", Value::tuple([Value::string("x"), Value::bool(true)])),
        ])
    );

    // Homogeneous lists stay lists; nulls inside take the others' type.
    let v = Value::list([Value::Null, Value::string("x")]);
    let bytes = encode_msgpack(&v, &Type::Dynamic).unwrap();
    assert_eq!(
        bytes,
        hex("92 c4 11 5b226c697374222c22737472696e67225d 92 c0 a1 78")
    );
    assert_eq!(decode_msgpack(&bytes, &Type::Dynamic).unwrap(), v);

    // Inside an object attribute of dynamic type.
    let ty = Type::object([("d", Type::Dynamic)]);
    let v = Value::object([("d", Value::number(7))]);
    let bytes = encode_msgpack(&v, &ty).unwrap();
    assert_eq!(bytes, hex("81 a1 64 92 c4 08 226e756d62657222 07"));
    assert_eq!(decode_msgpack(&bytes, &ty).unwrap(), v);

    assert!(decode_msgpack(&hex("91 a1 78"), &Type::Dynamic).is_err());
    assert!(decode_msgpack(&hex("92 a3 626164 01"), &Type::Dynamic).is_err());
}

// ---- errors ----

#[test]
fn object_missing_attribute_reports_path() {
    let ty = Type::object([(
        "outer",
        Type::object([("a", Type::String), ("b", Type::String)]),
    )]);
    let bytes = hex("81 a5 6f75746572 81 a1 61 a1 78");
    let err = decode_msgpack(&bytes, &ty).unwrap_err();
    assert_eq!(
        err.path,
        vec![PathStep::Attr("outer".into()), PathStep::Attr("b".into())]
    );
    assert_eq!(err.to_string(), "at .outer.b: attribute \"b\" is required");

    // Same rule when encoding.
    let v = Value::object([("outer", Value::object([("a", Value::string("x"))]))]);
    let err = encode_msgpack(&v, &ty).unwrap_err();
    assert_eq!(
        err.path,
        vec![PathStep::Attr("outer".into()), PathStep::Attr("b".into())]
    );
}

#[test]
fn object_extra_attribute_is_named() {
    let ty = Type::object([("a", Type::String)]);
    let err = decode_msgpack(&hex("82 a1 61 a1 78 a3 7a7a7a c0"), &ty).unwrap_err();
    assert_eq!(err.to_string(), "at .zzz: unsupported attribute \"zzz\"");
    let v = Value::object([("a", Value::Null), ("zzz", Value::Null)]);
    assert!(encode_msgpack(&v, &ty).unwrap_err().message.contains("zzz"));
}

#[test]
fn wrong_type_reports_path() {
    let ty = Type::object([("connectors", Type::list(Type::String))]);
    let bytes = hex("81 aa 636f6e6e6563746f7273 93 a1 61 a1 62 05");
    let err = decode_msgpack(&bytes, &ty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at .connectors[2]: expected string, got integer"
    );

    let ty = Type::map(Type::Bool);
    let err = decode_msgpack(&hex("81 a1 6b a1 78"), &ty).unwrap_err();
    assert_eq!(err.to_string(), "at [\"k\"]: expected bool, got string");

    let err = encode_msgpack(&Value::number(1), &Type::String).unwrap_err();
    assert_eq!(err.to_string(), "cannot encode number as string");
}

#[test]
fn malformed_input_is_an_error() {
    let ty = Type::list(Type::String);
    // array32 claiming 4 billion elements: must fail fast without allocating.
    assert!(decode_msgpack(&hex("dd ff ff ff ff a1 61"), &ty).is_err());
    assert!(decode_msgpack(&hex("db ff ff ff ff"), &Type::String).is_err());
    assert!(decode_msgpack(&[], &ty).is_err());
    assert!(decode_msgpack(&hex("c1"), &Type::String).is_err());
    let err = decode_msgpack(&hex("a1 61 a1 62"), &Type::String).unwrap_err();
    assert!(err.message.contains("unexpected bytes"), "{err}");
}

#[test]
fn nesting_depth_is_capped() {
    let mut ty = Type::String;
    for _ in 0..100 {
        ty = Type::list(ty);
    }
    let mut bytes = vec![0x91; 100];
    bytes.push(0xc0);
    let err = decode_msgpack(&bytes, &ty).unwrap_err();
    assert!(err.message.contains("nested deeper"), "{err}");
    assert_eq!(err.path.len(), MAX_DEPTH);

    // Dynamic values can nest through their embedded types; same cap.
    let mut bytes = Vec::new();
    for _ in 0..10_000 {
        bytes.extend_from_slice(&hex("92 a9 2264796e616d696322"));
    }
    bytes.push(0xc0);
    assert!(decode_msgpack(&bytes, &Type::Dynamic).is_err());

    let deep_json = "[".repeat(100_000);
    assert!(decode_json(deep_json.as_bytes(), &Type::Dynamic).is_err());
    assert!(Type::from_json(deep_json.as_bytes()).is_err());
    let deep_type = "[\"list\",".repeat(1000) + "\"string\"" + &"]".repeat(1000);
    assert!(Type::from_json(deep_type.as_bytes()).is_err());
}

// ---- types ----

#[test]
fn type_json_bytes() {
    let cases: [(Type, &str); 6] = [
        (Type::String, r#""string""#),
        (Type::Dynamic, r#""dynamic""#),
        (Type::list(Type::Number), r#"["list","number"]"#),
        (
            Type::map(Type::set(Type::Bool)),
            r#"["map",["set","bool"]]"#,
        ),
        (
            Type::object([("b", Type::String), ("a", Type::list(Type::String))]),
            r#"["object",{"a":["list","string"],"b":"string"}]"#,
        ),
        (
            Type::tuple([Type::String, Type::Number]),
            r#"["tuple",["string","number"]]"#,
        ),
    ];
    for (ty, json) in cases {
        assert_eq!(String::from_utf8(ty.to_json()).unwrap(), json);
        assert_eq!(Type::from_json(json.as_bytes()).unwrap(), ty);
    }
}

#[test]
fn type_json_parsing() {
    let t = Type::from_json(br#" [ "object" , {"a":"string","b":"number"}, ["b"] ] "#).unwrap();
    assert_eq!(t, Type::object([("a", Type::String), ("b", Type::Number)]));
    for bad in [
        &br#""strin""#[..],
        br#"["list"]"#,
        br#"["list","string","x"]"#,
        br#"["object",["a"]]"#,
        br#"["object",{"a":"string"},["zz"]]"#,
        br#"["object",{"a":"string","a":"bool"}]"#,
        br#"["tuple","string"]"#,
        br#"42"#,
        br#""string" x"#,
        b"",
    ] {
        assert!(
            Type::from_json(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

// ---- JSON ----

#[test]
fn json_state_decoding() {
    let ty = Type::object([
        ("id", Type::String),
        ("big", Type::Number),
        ("ratio", Type::Number),
        ("tags", Type::set(Type::String)),
        ("added_later", Type::Bool),
    ]);
    let json = br#"{"id":"x","big":123456789012345678901234567890,"ratio":0.25,"tags":["b","a"]}"#;
    let v = decode_json(json, &ty).unwrap();
    assert_eq!(
        v.get_attr("big").unwrap().as_number().unwrap(),
        &num("123456789012345678901234567890")
    );
    assert_eq!(v.get_attr("ratio"), Some(&Value::number(0.25)));
    assert_eq!(
        v.get_attr("tags"),
        Some(&Value::set([Value::string("a"), Value::string("b")]))
    );
    // Attributes missing from older state decode as null.
    assert_eq!(v.get_attr("added_later"), Some(&Value::Null));

    let out = encode_json(&v, &ty).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"added_later":null,"big":123456789012345678901234567890,"id":"x","ratio":0.25,"tags":["b","a"]}"#
    );

    let err = decode_json(br#"{"id":5,"nope":1}"#, &ty).unwrap_err();
    assert_eq!(err.to_string(), "at .nope: unsupported attribute \"nope\"");
    let err = decode_json(br#"{"tags":[1,{}]}"#, &ty).unwrap_err();
    assert_eq!(err.to_string(), "at .tags[1]: expected string, got object");
}

#[test]
fn json_primitive_conversions() {
    // As go-cty converts: numbers and bools into strings, strings into numbers.
    assert_eq!(
        decode_json(b"12.50", &Type::String).unwrap(),
        Value::string("12.50")
    );
    assert_eq!(
        decode_json(b"true", &Type::String).unwrap(),
        Value::string("true")
    );
    assert_eq!(
        decode_json(br#""42""#, &Type::Number).unwrap(),
        Value::number(42)
    );
    assert_eq!(
        decode_json(br#""false""#, &Type::Bool).unwrap(),
        Value::bool(false)
    );
    assert!(decode_json(br#""yes""#, &Type::Bool).is_err());
    assert_eq!(
        decode_json(br#""\u00e9\ud83d\ude00\n""#, &Type::String).unwrap(),
        Value::string("é😀\n")
    );
}

#[test]
fn json_dynamic_and_unknown() {
    let v = Value::map([("a", Value::number(1)), ("b", Value::number(2))]);
    let out = encode_json(&v, &Type::Dynamic).unwrap();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        r#"{"value":{"a":1,"b":2},"type":["map","number"]}"#
    );
    assert_eq!(decode_json(&out, &Type::Dynamic).unwrap(), v);
    assert_eq!(
        decode_json(br#"{"type":"string","value":"x"}"#, &Type::Dynamic).unwrap(),
        Value::string("x")
    );
    assert_eq!(decode_json(b"null", &Type::Dynamic).unwrap(), Value::Null);
    assert!(decode_json(br#"{"value":"x"}"#, &Type::Dynamic).is_err());
    assert!(decode_json(br#""x""#, &Type::Dynamic).is_err());

    let ty = Type::list(Type::String);
    let err = encode_json(&Value::list([Value::unknown()]), &ty).unwrap_err();
    assert_eq!(err.path, vec![PathStep::Index(0)]);
    let inf = Value::Number(Number::from(f64::INFINITY));
    assert!(encode_json(&inf, &Type::Number).is_err());
}

// ---- numbers ----

#[test]
fn number_equality_is_numeric() {
    assert_eq!(Number::from(1), Number::from(1.0));
    assert_eq!(Number::from(1), num("1.000"));
    assert_eq!(num("1e2"), Number::from(100u64));
    assert_eq!(num("-0"), Number::from(0));
    assert_eq!(Number::from(-0.0), Number::from(0));
    assert_eq!(
        num("12345678901234567890123e-3"),
        num("12345678901234567890.123")
    );
    assert_eq!(num("0.5"), Number::from(0.5));
    // go-cty keeps floats at their binary value: 0.1f64 is not decimal 0.1.
    assert_ne!(num("0.1"), Number::from(0.1));
    assert_eq!(
        num("0.1000000000000000055511151231257827021181583404541015625"),
        Number::from(0.1)
    );
    let mut hs = std::collections::HashSet::new();
    hs.insert(num("1.0"));
    assert!(hs.contains(&Number::from(1u32)));
}

#[test]
fn number_ordering() {
    let ordered = [
        Number::from(f64::NEG_INFINITY),
        num("-1e400"),
        Number::from(i64::MIN),
        num("-0.5"),
        Number::from(0),
        num("0.1"),
        Number::from(0.1),
        Number::from(1),
        num("9223372036854775807.5"),
        Number::from(u64::MAX),
        num("18446744073709551616"),
        Number::from(1e300),
        num("1e400"),
        Number::from(f64::INFINITY),
    ];
    for (i, a) in ordered.iter().enumerate() {
        for (j, b) in ordered.iter().enumerate() {
            assert_eq!(a.cmp(b), i.cmp(&j), "{a} vs {b}");
        }
    }
}

#[test]
fn number_conversions_and_display() {
    assert_eq!(num("42").as_i64(), Some(42));
    assert_eq!(num("42.5").as_i64(), None);
    assert_eq!(num("18446744073709551615").as_u64(), Some(u64::MAX));
    assert_eq!(num("-1").as_u64(), None);
    assert_eq!(num("2.5").as_f64(), 2.5);
    assert_eq!(num("1e400").as_f64(), f64::INFINITY);
    assert!(num("1e30").is_integer());
    assert!(!num("0.1").is_integer());
    assert_eq!(Number::from(0.1).to_string(), "0.1");
    assert_eq!(num("1e400").to_string(), "1e400");
    assert_eq!(num("-1.25e-30").to_string(), "-1.25e-30");
    assert_eq!(num("0.000123").to_string(), "0.000123");
    assert_eq!(num("1234.5").to_string(), "1234.5");
    assert_eq!("7".parse::<Number>().unwrap(), Number::from(7));
    assert_eq!(num("-inf"), Number::from(f64::NEG_INFINITY));
    for bad in [
        "",
        "-",
        ".",
        "1e",
        "1e+",
        "abc",
        "1.2.3",
        "0x10",
        "1e99999999999999999999",
        "nan",
    ] {
        assert!(Number::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(Number::from_f64(f64::NAN), None);
}

// ---- values ----

#[test]
fn value_helpers() {
    let mut v = Value::object([("a", Value::string("x"))]);
    assert_eq!(v.set_attr("b", Value::bool(true)).unwrap(), None);
    assert_eq!(v.get_attr("b").and_then(Value::as_bool), Some(true));
    assert!(Value::Null.clone().set_attr("a", Value::Null).is_err());
    assert!(v.is_wholly_known());
    v.set_attr("c", Value::list([Value::unknown()])).unwrap();
    assert!(!v.is_wholly_known());
    assert!(!v.is_unknown() && !v.is_null());
    assert_eq!(Value::from(Some("s")), Value::string("s"));
    assert_eq!(Value::from(None::<&str>), Value::Null);
    assert_eq!(Value::number(3).as_i64(), Some(3));
}

/// Declared lengths are untrusted: a few bytes claiming 2^32-1 elements must fail for
/// want of input, not first reserve room for four billion values (which would abort
/// the process rather than return an error).
#[test]
fn huge_declared_lengths_are_not_preallocated() {
    let array = hex("dd ff ff ff ff 01"); // array32 of 2^32-1, then one element
    for ty in [Type::list(Type::Number), Type::set(Type::Number)] {
        let err = decode_msgpack(&array, &ty).unwrap_err();
        assert!(err.message.contains("end of msgpack data"), "{ty}: {err}");
    }
    for ty in [Type::tuple([Type::Number]), Type::Dynamic] {
        assert!(decode_msgpack(&array, &ty).is_err(), "{ty}");
    }
    let map = hex("df ff ff ff ff a1 61 01"); // map32 of 2^32-1, then "a": 1
    for ty in [Type::map(Type::Number), Type::object([("a", Type::Number)])] {
        let err = decode_msgpack(&map, &ty).unwrap_err();
        assert!(err.message.contains("end of msgpack data"), "{ty}: {err}");
    }
    for (bytes, ty) in [
        (hex("db ff ff ff ff 61"), Type::String),        // str32
        (hex("c6 ff ff ff ff 61"), Type::String),        // bin32
        (hex("c9 ff ff ff ff 0c 80"), Type::String),     // ext32
        (hex("c7 05 0c df ff ff ff ff"), Type::String),  // refinements: map32
        (hex("92 c6 ff ff ff ff 22 01"), Type::Dynamic), // dynamic: bin32 type JSON
    ] {
        assert!(decode_msgpack(&bytes, &ty).is_err(), "{bytes:x?}");
    }
    // JSON declares no lengths: its arrays grow only as elements are read.
    assert!(decode_json(b"[1,2,", &Type::list(Type::Number)).is_err());
}
