use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::*;
use crate::value::{Number, Refinements};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Connector {
    name: String,
    #[serde(rename = "display_name")]
    title: Option<String>,
    id: Attr<String>,
    count: Attr<i64>,
    enabled: bool,
    ratio: Option<f64>,
    scopes: BTreeSet<String>,
    labels: BTreeMap<String, String>,
    owners: Vec<String>,
    settings: Option<Settings>,
    rules: Vec<Rule>,
    timeouts: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Settings {
    region: String,
    retries: Option<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Rule {
    path: String,
}

fn settings_type() -> Type {
    Type::object([("region", Type::String), ("retries", Type::Number)])
}

fn timeouts_type() -> Type {
    Type::object([("create", Type::String), ("delete", Type::String)])
}

fn connector_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("display_name", Type::String),
        ("id", Type::String),
        ("count", Type::Number),
        ("enabled", Type::Bool),
        ("ratio", Type::Number),
        ("scopes", Type::set(Type::String)),
        ("labels", Type::map(Type::String)),
        ("owners", Type::list(Type::String)),
        ("settings", settings_type()),
        ("rules", Type::list(Type::object([("path", Type::String)]))),
        ("timeouts", timeouts_type()),
    ])
}

fn connector_value() -> Value {
    Value::object([
        ("name", Value::string("outlook")),
        ("display_name", Value::Null),
        ("id", Value::unknown()),
        ("count", Value::number(3)),
        ("enabled", Value::bool(true)),
        ("ratio", Value::number(0.5)),
        (
            "scopes",
            Value::set([Value::string("Mail.Read"), Value::string("User.Read")]),
        ),
        ("labels", Value::map([("team", Value::string("data"))])),
        (
            "owners",
            Value::list([Value::string("b"), Value::string("a")]),
        ),
        (
            "settings",
            Value::object([("region", Value::string("eu")), ("retries", Value::Null)]),
        ),
        (
            "rules",
            Value::list([Value::object([("path", Value::string("/me"))])]),
        ),
        (
            "timeouts",
            Value::object([
                ("create", Value::string("5m")),
                ("delete", Value::unknown()),
            ]),
        ),
    ])
}

#[test]
fn every_shape_round_trips() {
    let value = connector_value();
    let model: Connector = from_value(&value).unwrap();
    assert_eq!(model.name, "outlook");
    assert_eq!(model.title, None);
    assert_eq!(model.id, Attr::Unknown);
    assert_eq!(model.count, Attr::Known(3));
    assert_eq!(model.ratio, Some(0.5));
    assert_eq!(
        model.scopes,
        BTreeSet::from(["Mail.Read".to_owned(), "User.Read".to_owned()])
    );
    assert_eq!(model.labels["team"], "data");
    assert_eq!(model.owners, ["b", "a"], "list order is kept");
    assert_eq!(
        model.settings,
        Some(Settings {
            region: "eu".into(),
            retries: None
        })
    );
    assert_eq!(model.rules, [Rule { path: "/me".into() }]);
    assert_eq!(&model.timeouts, value.get_attr("timeouts").unwrap());

    let back = to_value(&model, &connector_type()).unwrap();
    assert_eq!(back, value);
    // The type, not the Rust collection, decides the variant.
    assert!(matches!(back.get_attr("scopes"), Some(Value::Set(_))));
    assert!(matches!(back.get_attr("labels"), Some(Value::Map(_))));
    assert!(matches!(back.get_attr("settings"), Some(Value::Object(_))));
    // And the result is a value Terraform can be sent.
    crate::value::encode_msgpack(&back, &connector_type()).unwrap();
}

#[test]
fn nested_single_block_may_be_null() {
    let mut value = connector_value();
    value.set_attr("settings", Value::Null).unwrap();
    let model: Connector = from_value(&value).unwrap();
    assert_eq!(model.settings, None);
    assert_eq!(to_value(&model, &connector_type()).unwrap(), value);
}

#[test]
fn attr_in_all_three_states() {
    let ty = Type::String;
    for (value, attr) in [
        (Value::Null, Attr::Null),
        (Value::unknown(), Attr::Unknown),
        (Value::string("x"), Attr::Known("x".to_owned())),
    ] {
        let read: Attr<String> = from_value(&value).unwrap();
        assert_eq!(read, attr);
        assert_eq!(to_value(&attr, &ty).unwrap(), value);
    }
    // A refined unknown reads as unknown too (written back plain).
    let refined = Value::Unknown(Refinements::not_null());
    assert_eq!(from_value::<Attr<String>>(&refined).unwrap(), Attr::Unknown);
}

#[test]
fn attr_helpers() {
    let known = Attr::from(2);
    assert_eq!(known.known(), Some(&2));
    assert!(known.is_known() && !known.is_null() && !known.is_unknown());
    assert_eq!(known.clone().map(|n| n * 10), Attr::Known(20));
    assert_eq!(Attr::<i32>::Unknown.map(|n| n * 10), Attr::Unknown);
    assert_eq!(Attr::<i32>::from(None), Attr::Null);
    assert_eq!(Attr::<i32>::from(Some(1)), Attr::Known(1));
    assert_eq!(Attr::<i32>::default(), Attr::Null);
    assert_eq!(known.as_ref(), Attr::Known(&2));
    assert_eq!(known.into_known(), Some(2));
}

#[test]
fn value_passes_through_unchanged() {
    #[derive(Serialize, Deserialize)]
    struct Opaque {
        inner: Value,
    }
    let inner = Value::Unknown(Refinements {
        not_null: true,
        string_prefix: Some("arn:".into()),
        ..Refinements::default()
    });
    let value = Value::object([("inner", inner.clone())]);
    let model: Opaque = from_value(&value).unwrap();
    assert_eq!(model.inner, inner, "refinements survive");
    let ty = Type::object([("inner", Type::String)]);
    assert_eq!(to_value(&model, &ty).unwrap(), value);
    assert!(handoff_take().is_none(), "nothing left in the slot");
}

#[test]
fn unknown_into_option_names_the_path() {
    let mut value = connector_value();
    let mut settings = value.get_attr("settings").unwrap().clone();
    settings.set_attr("retries", Value::unknown()).unwrap();
    value.set_attr("settings", settings).unwrap();
    let err = from_value::<Connector>(&value).unwrap_err();
    assert_eq!(
        err.path,
        [
            PathStep::Attr("settings".into()),
            PathStep::Attr("retries".into())
        ]
    );
    assert!(
        err.to_string()
            .contains(".settings.retries: value is unknown"),
        "{err}"
    );
}

#[test]
fn unknown_inside_a_list_names_the_index() {
    let value = Value::list([Value::string("a"), Value::unknown()]);
    let err = from_value::<Vec<String>>(&value).unwrap_err();
    assert_eq!(err.path, [PathStep::Index(1)]);
    let map = Value::map([("k", Value::unknown())]);
    let err = from_value::<BTreeMap<String, String>>(&map).unwrap_err();
    assert_eq!(err.path, [PathStep::Key("k".into())]);
}

#[test]
fn missing_attribute_when_reading() {
    let value = Value::object([("region", Value::string("eu"))]);
    // An Option field may be absent from the value...
    let read: Settings = from_value(&value).unwrap();
    assert_eq!(read.retries, None);
    // ...a required one may not.
    let err = from_value::<Rule>(&Value::object([("other", Value::Null)])).unwrap_err();
    assert_eq!(err.path, [PathStep::Attr("path".into())]);
    assert!(err.message.contains("missing"), "{err}");
}

#[test]
fn missing_attribute_when_writing() {
    let ty = Type::object([
        ("region", Type::String),
        ("retries", Type::Number),
        ("zone", Type::String),
    ]);
    let model = Settings {
        region: "eu".into(),
        retries: None,
    };
    let err = to_value(&model, &ty).unwrap_err();
    assert_eq!(err.path, [PathStep::Attr("zone".into())]);
    assert!(err.message.contains("\"zone\""), "{err}");
}

#[test]
fn extra_field_when_writing() {
    let ty = Type::object([("region", Type::String)]);
    let model = Settings {
        region: "eu".into(),
        retries: Some(1),
    };
    let err = to_value(&model, &ty).unwrap_err();
    assert_eq!(err.path, [PathStep::Attr("retries".into())]);
    assert!(err.message.contains("\"retries\""), "{err}");
}

#[test]
fn nested_errors_carry_the_whole_path() {
    let mut model: Connector = from_value(&connector_value()).unwrap();
    model.rules.push(Rule { path: "/x".into() });
    let ty = {
        let mut attrs = connector_type().attribute_types().unwrap().clone();
        attrs.insert(
            "rules".into(),
            Type::list(Type::object([("path", Type::Number)])),
        );
        Type::Object(attrs)
    };
    let err = to_value(&model, &ty).unwrap_err();
    assert_eq!(
        err.path,
        [
            PathStep::Attr("rules".into()),
            PathStep::Index(0),
            PathStep::Attr("path".into())
        ]
    );
    assert!(err.message.contains("expected number, got string"), "{err}");
}

#[test]
fn wrong_types() {
    // Reading.
    let err = from_value::<i64>(&Value::string("5")).unwrap_err();
    assert!(err.message.contains("expected number, got string"), "{err}");
    let err = from_value::<String>(&Value::Null).unwrap_err();
    assert!(err.message.contains("got null"), "{err}");
    let err = from_value::<Settings>(&Value::list([])).unwrap_err();
    assert!(err.message.contains("expected object or map"), "{err}");
    // Writing: strings are not numbers, numbers are not strings.
    assert!(to_value("5", &Type::Number).is_err());
    assert!(to_value(&5, &Type::String).is_err());
    assert!(to_value(&true, &Type::String).is_err());
    assert!(to_value(&vec!["a"], &Type::map(Type::String)).is_err());
    assert!(to_value(&BTreeMap::from([("a", 1)]), &Type::list(Type::Number)).is_err());
}

#[test]
fn numbers_must_fit() {
    assert_eq!(from_value::<u8>(&Value::number(255)).unwrap(), 255);
    assert!(from_value::<u8>(&Value::number(256)).is_err());
    assert!(from_value::<u64>(&Value::number(-1)).is_err());
    assert_eq!(
        from_value::<u64>(&Value::number(u64::MAX)).unwrap(),
        u64::MAX
    );
    let err = from_value::<i64>(&Value::number(1.5)).unwrap_err();
    assert!(err.message.contains("not a whole number"), "{err}");
    let huge = Value::Number(Number::parse("1e30").unwrap());
    let err = from_value::<i64>(&huge).unwrap_err();
    assert!(err.message.contains("out of range"), "{err}");
    assert_eq!(from_value::<f64>(&huge).unwrap(), 1e30);
    assert_eq!(from_value::<f64>(&Value::number(2)).unwrap(), 2.0);
    assert_eq!(
        to_value(&2.5f64, &Type::Number).unwrap(),
        Value::number(2.5)
    );
    assert!(to_value(&f64::NAN, &Type::Number).is_err());
}

#[test]
fn tuples_and_unit_enums() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        ReadOnly,
        ReadWrite,
    }
    let ty = Type::tuple([Type::String, Type::Number]);
    let value = Value::tuple([Value::string("read_write"), Value::number(7)]);
    let read: (Mode, i64) = from_value(&value).unwrap();
    assert_eq!(read, (Mode::ReadWrite, 7));
    assert_eq!(to_value(&read, &ty).unwrap(), value);
    assert!(
        to_value(&(Mode::ReadOnly,), &ty).is_err(),
        "tuple length is checked"
    );
    assert!(from_value::<Mode>(&Value::string("other")).is_err());
}

#[test]
fn attributes_a_model_does_not_read_may_be_anything() {
    let value = Value::object([("path", Value::string("/")), ("extra", Value::unknown())]);
    assert_eq!(from_value::<Rule>(&value).unwrap().path, "/");
}

#[test]
fn skipped_fields_are_written_as_null() {
    #[derive(Serialize)]
    struct Sparse {
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }
    let ty = Type::object([("note", Type::String)]);
    assert_eq!(
        to_value(&Sparse { note: None }, &ty).unwrap(),
        Value::object([("note", Value::Null)])
    );
}

#[test]
fn dynamic_types_take_implied_shapes() {
    let v = to_value(&BTreeMap::from([("a", vec![1, 2])]), &Type::Dynamic).unwrap();
    assert_eq!(
        v,
        Value::object([("a", Value::tuple([Value::number(1), Value::number(2)]))])
    );
}

#[test]
fn other_formats_see_attr_as_option_and_refuse_values() {
    let json = serde_json::to_string(&Attr::Known(1)).unwrap();
    assert_eq!(json, "1");
    assert_eq!(serde_json::to_string(&Attr::<i32>::Null).unwrap(), "null");
    assert!(serde_json::to_string(&Attr::<i32>::Unknown).is_err());
    assert_eq!(
        serde_json::from_str::<Attr<i32>>("4").unwrap(),
        Attr::Known(4)
    );
    assert_eq!(
        serde_json::from_str::<Attr<i32>>("null").unwrap(),
        Attr::Null
    );
    assert!(serde_json::to_string(&Value::string("x")).is_err());
    assert!(serde_json::from_str::<Value>("\"x\"").is_err());
    assert!(
        handoff_take().is_none(),
        "a refused value leaves nothing behind"
    );
}

// ---- property: from_value then to_value gives back the value ----

#[derive(Debug, Serialize, Deserialize)]
struct Small {
    name: String,
    size: Option<i64>,
    id: Attr<String>,
    tags: Option<BTreeSet<String>>,
    labels: BTreeMap<String, String>,
    block: Option<SmallBlock>,
    extra: Value,
}

#[derive(Debug, Serialize, Deserialize)]
struct SmallBlock {
    flag: Attr<bool>,
    items: Vec<i64>,
}

fn small_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("size", Type::Number),
        ("id", Type::String),
        ("tags", Type::set(Type::String)),
        ("labels", Type::map(Type::String)),
        (
            "block",
            Type::object([("flag", Type::Bool), ("items", Type::list(Type::Number))]),
        ),
        ("extra", Type::list(Type::String)),
    ])
}

fn maybe_null(known: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![1 => Just(Value::Null), 3 => known].boxed()
}

fn maybe_unknown(known: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => Just(Value::unknown()),
        3 => known
    ]
    .boxed()
}

fn small_value() -> impl Strategy<Value = Value> {
    let text = || "\\PC{0,6}".prop_map(Value::String).boxed();
    let int = || any::<i64>().prop_map(Value::number).boxed();
    let block = (
        maybe_unknown(any::<bool>().prop_map(Value::Bool).boxed()),
        prop::collection::vec(int(), 0..4),
    )
        .prop_map(|(flag, items)| Value::object([("flag", flag), ("items", Value::List(items))]))
        .boxed();
    let extra = maybe_unknown(
        prop::collection::vec(maybe_unknown(text()), 0..3)
            .prop_map(Value::List)
            .boxed(),
    );
    (
        text(),
        maybe_null(int()),
        maybe_unknown(text()),
        maybe_null(
            prop::collection::btree_set("\\PC{0,4}", 0..4)
                .prop_map(|s| Value::set(s.into_iter().map(Value::String)))
                .boxed(),
        ),
        prop::collection::btree_map("\\PC{0,4}", "\\PC{0,4}", 0..4)
            .prop_map(|m| Value::map(m.into_iter().map(|(k, v)| (k, Value::String(v))))),
        maybe_null(block),
        extra,
    )
        .prop_map(|(name, size, id, tags, labels, block, extra)| {
            Value::object([
                ("name", name),
                ("size", size),
                ("id", id),
                ("tags", tags),
                ("labels", labels),
                ("block", block),
                ("extra", extra),
            ])
        })
}

proptest! {
    #[test]
    fn to_value_inverts_from_value(value in small_value()) {
        let model: Small = from_value(&value).unwrap();
        let back = to_value(&model, &small_type()).unwrap();
        prop_assert_eq!(back, value);
    }
}
