//! The RPC layer against a small test provider: Stop, state upgrade, decoding errors
//! and panics.

use super::*;
use crate::schema::{Attribute, Block};
use async_trait::async_trait;
use std::time::Duration;

/// A resource whose read waits until Terraform stops the provider.
struct WaitsForStop;

#[async_trait]
impl Resource for WaitsForStop {
    fn type_name(&self) -> &'static str {
        "test_thing"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("")
                .attribute(Attribute::required("name", Type::String))
                .attribute(Attribute::computed("id", Type::String)),
        )
    }
    fn validate(&self, config: &Value, _: &mut Diagnostics) {
        if config.get_attr("name").and_then(Value::as_str) == Some("boom") {
            panic!("validator bug");
        }
    }
    async fn create(
        &self,
        _: &RequestContext,
        planned: &Value,
        _: &Value,
        _: &mut Diagnostics,
    ) -> Value {
        planned.clone()
    }
    async fn read(&self, ctx: &RequestContext, current: &Value, diags: &mut Diagnostics) -> Value {
        if current.get_attr("name").and_then(Value::as_str) == Some("panics") {
            panic!("read bug");
        }
        if current.get_attr("name").and_then(Value::as_str) == Some("slow") {
            ctx.cancelled.cancelled().await;
            diags.error("Stopped", "Terraform asked the provider to stop.");
        }
        current.clone()
    }
    async fn update(
        &self,
        _: &RequestContext,
        _: &Value,
        planned: &Value,
        _: &Value,
        _: &mut Diagnostics,
    ) -> Value {
        planned.clone()
    }
    async fn delete(&self, _: &RequestContext, _: &Value, _: &mut Diagnostics) {}
    async fn import(&self, _: &RequestContext, _: &str, _: &mut Diagnostics) -> Value {
        Value::Null
    }
}

/// A resource with a number, for state that must keep every digit.
struct Numbers;

#[async_trait]
impl Resource for Numbers {
    fn type_name(&self) -> &'static str {
        "test_numbers"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("").attribute(Attribute::required("n", Type::Number)),
        )
    }
    async fn create(
        &self,
        _: &RequestContext,
        planned: &Value,
        _: &Value,
        _: &mut Diagnostics,
    ) -> Value {
        planned.clone()
    }
    async fn read(&self, _: &RequestContext, current: &Value, _: &mut Diagnostics) -> Value {
        current.clone()
    }
    async fn update(
        &self,
        _: &RequestContext,
        _: &Value,
        planned: &Value,
        _: &Value,
        _: &mut Diagnostics,
    ) -> Value {
        planned.clone()
    }
    async fn delete(&self, _: &RequestContext, _: &Value, _: &mut Diagnostics) {}
    async fn import(&self, _: &RequestContext, _: &str, _: &mut Diagnostics) -> Value {
        Value::Null
    }
}

struct TestProvider;

#[async_trait]
impl Provider for TestProvider {
    fn schema(&self) -> Schema {
        Schema::new(0, Block::new(""))
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(WaitsForStop), Arc::new(Numbers)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }
    async fn configure(&self, _: &RequestContext, _: ConfigureRequest, _: &mut Diagnostics) {}
}

fn state(name: &str) -> pb::DynamicValue {
    let ty = Type::object([("name", Type::String), ("id", Type::String)]);
    let v = Value::object([("name", Value::string(name)), ("id", Value::string("1"))]);
    pb::DynamicValue {
        msgpack: value::encode_msgpack(&v, &ty).unwrap(),
        json: Vec::new(),
    }
}

fn read_request(name: &str) -> Request<pb::read_resource::Request> {
    Request::new(pb::read_resource::Request {
        type_name: "test_thing".into(),
        current_state: Some(state(name)),
        ..Default::default()
    })
}

#[tokio::test]
async fn stop_cancels_in_flight_work_and_keeps_serving() {
    let service = Arc::new(PluginService::new(Arc::new(TestProvider)));
    let slow = {
        let service = service.clone();
        tokio::spawn(async move { service.read_resource(read_request("slow")).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!slow.is_finished(), "the read waits for Stop");
    service
        .stop(Request::new(pb::stop::Request {}))
        .await
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("Stop ended the read")
        .unwrap()
        .unwrap()
        .into_inner();
    assert_eq!(answer.diagnostics[0].summary, "Stopped");
    // Work started after Stop is not cancelled.
    let after = tokio::time::timeout(
        Duration::from_secs(5),
        service.read_resource(read_request("fast")),
    )
    .await
    .expect("served after Stop")
    .unwrap()
    .into_inner();
    assert!(after.diagnostics.is_empty());
}

#[tokio::test]
async fn upgrade_passes_version_zero_state_through() {
    let service = PluginService::new(Arc::new(TestProvider));
    let upgrade = |version: i64, json: &str| {
        Request::new(pb::upgrade_resource_state::Request {
            type_name: "test_thing".into(),
            version,
            raw_state: Some(pb::RawState {
                json: json.as_bytes().to_vec(),
                flatmap: Default::default(),
            }),
        })
    };
    let answer = service
        .upgrade_resource_state(upgrade(0, r#"{"name":"a","id":"1"}"#))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics.is_empty());
    assert_eq!(answer.upgraded_state.unwrap().msgpack, state("a").msgpack);
    // A state from a newer provider is refused clearly.
    let newer = service
        .upgrade_resource_state(upgrade(3, r#"{"name":"a","id":"1"}"#))
        .await
        .unwrap()
        .into_inner();
    assert!(newer.diagnostics[0].detail.contains("newer version"));
}

#[tokio::test]
async fn undecodable_values_become_diagnostics() {
    let service = PluginService::new(Arc::new(TestProvider));
    let answer = service
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "test_thing".into(),
            current_state: Some(pb::DynamicValue {
                msgpack: vec![0xc1, 0xff, 0x00],
                json: Vec::new(),
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics[0].summary.contains("Invalid state"));
}

#[tokio::test]
async fn a_panicking_validator_becomes_a_diagnostic() {
    let service = PluginService::new(Arc::new(TestProvider));
    let answer = service
        .validate_resource_type_config(Request::new(pb::validate_resource_type_config::Request {
            type_name: "test_thing".into(),
            config: Some(state("boom")),
            client_capabilities: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.diagnostics[0].summary, "Provider internal error");
    assert!(answer.diagnostics[0].detail.contains("validator bug"));
}

#[tokio::test]
async fn upgrade_keeps_every_digit_of_a_number() {
    let service = PluginService::new(Arc::new(TestProvider));
    let big = "123456789012345678901234567";
    let answer = service
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "test_numbers".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: format!(r#"{{"n":{big}}}"#).into_bytes(),
                flatmap: Default::default(),
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    let ty = Type::object([("n", Type::Number)]);
    let state = value::decode_msgpack(&answer.upgraded_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(
        state
            .get_attr("n")
            .unwrap()
            .as_number()
            .unwrap()
            .to_string(),
        big
    );
}

#[tokio::test]
async fn a_panicking_read_becomes_a_diagnostic_and_keeps_the_state() {
    let service = PluginService::new(Arc::new(TestProvider));
    let answer = service
        .read_resource(read_request("panics"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.diagnostics.len(), 1);
    assert_eq!(answer.diagnostics[0].summary, "Provider internal error");
    assert!(answer.diagnostics[0].detail.contains("read bug"));
    assert_eq!(answer.new_state, Some(state("panics")));
}
