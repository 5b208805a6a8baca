//! The `tfplugin5.Provider` gRPC service: decodes Terraform's requests, runs the
//! generic schema and plan rules, calls the provider's resources and data sources, and
//! encodes their answers. Panics in resource code become error diagnostics instead of
//! dropped connections.

use super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use super::framework::{ConfigureRequest, DataSource, Plan, Provider, RequestContext, Resource};
use super::logging::panic_message;
use super::plan::plan_change;
use super::proto::tfplugin5 as pb;
use super::schema::Schema;
use super::upgrade::conform_state_json;
use super::value::{self, Type, Value};
use futures_util::FutureExt;
use pb::provider_server::Provider as ProviderRpc;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

struct Registered<T: ?Sized> {
    implementation: Arc<T>,
    schema: Schema,
    value_type: Type,
}

impl<T: ?Sized> Registered<T> {
    fn new(implementation: Arc<T>, schema: Schema) -> Self {
        let value_type = schema.block.value_type();
        Self {
            implementation,
            schema,
            value_type,
        }
    }
}

pub struct PluginService {
    provider: Arc<dyn Provider>,
    provider_schema: Schema,
    provider_type: Type,
    resources: HashMap<String, Registered<dyn Resource>>,
    data_sources: HashMap<String, Registered<dyn DataSource>>,
    schema_response: pb::get_provider_schema::Response,
    /// Replaced after each Stop, so that work started later is not cancelled.
    stop: Mutex<CancellationToken>,
}

impl PluginService {
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        let provider_schema = provider.schema();
        let provider_type = provider_schema.block.value_type();
        let resources: HashMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|r| {
                (
                    r.type_name().to_owned(),
                    Registered::new(r.clone(), r.schema()),
                )
            })
            .collect();
        let data_sources: HashMap<_, _> = provider
            .data_sources()
            .into_iter()
            .map(|d| {
                (
                    d.type_name().to_owned(),
                    Registered::new(d.clone(), d.schema()),
                )
            })
            .collect();
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(provider_schema.to_proto()),
            resource_schemas: resources
                .iter()
                .map(|(k, r)| (k.clone(), r.schema.to_proto()))
                .collect(),
            data_source_schemas: data_sources
                .iter()
                .map(|(k, d)| (k.clone(), d.schema.to_proto()))
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        };
        Self {
            provider,
            provider_schema,
            provider_type,
            resources,
            data_sources,
            schema_response,
            stop: Mutex::new(CancellationToken::new()),
        }
    }

    fn context(&self) -> RequestContext {
        RequestContext {
            cancelled: self.stop.lock().expect("stop lock").clone(),
        }
    }

    fn resource(&self, type_name: &str) -> Result<&Registered<dyn Resource>, Diagnostics> {
        self.resources
            .get(type_name)
            .ok_or_else(|| unknown_type("resource", type_name))
    }

    fn data_source(&self, type_name: &str) -> Result<&Registered<dyn DataSource>, Diagnostics> {
        self.data_sources
            .get(type_name)
            .ok_or_else(|| unknown_type("data source", type_name))
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        // The schema never depends on configuration, so Terraform may cache it.
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}

fn unknown_type(kind: &str, type_name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} named {type_name:?}."),
    )
    .into()
}

fn decode(value: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let Some(dv) = value else {
        return Ok(Value::Null);
    };
    let result = if !dv.msgpack.is_empty() {
        value::decode_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        value::decode_json(&dv.json, ty)
    } else {
        return Ok(Value::Null);
    };
    result.map_err(|e| {
        Diagnostic::error(
            format!("Invalid {what} from Terraform"),
            format!("The provider could not read the {what}: {e}"),
        )
        .into()
    })
}

fn encode(value: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostics> {
    value::encode_msgpack(value, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            Diagnostic::error(
                "Provider produced a value it cannot encode",
                format!("This is a bug in the provider: {e}"),
            )
            .into()
        })
}

/// Runs request handling, turning a panic into an error diagnostic.
async fn guarded<T>(work: impl Future<Output = T>) -> Result<T, Diagnostics> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(panic_diagnostic)
}

/// The same for synchronous provider code: validators, plan rules, state upgrades.
fn guarded_sync<T>(work: impl FnOnce() -> T) -> Result<T, Diagnostics> {
    std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(panic_diagnostic)
}

fn panic_diagnostic(payload: Box<dyn std::any::Any + Send>) -> Diagnostics {
    Diagnostic::error(
        "Provider internal error",
        format!(
            "The provider failed unexpectedly: {}. This is a bug; please report it \
             with the output of TF_LOG=debug.",
            panic_message(payload.as_ref())
        ),
    )
    .into()
}

/// A value the provider returns to Terraform after apply or read must be wholly known.
fn ensure_known(value: &Value, diags: &mut Diagnostics) {
    if !value.is_wholly_known() {
        diags.error(
            "Provider returned an unknown value",
            "After apply or read every value must be known. This is a bug in the provider.",
        );
    }
}

#[tonic::async_trait]
impl ProviderRpc for PluginService {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
        }))
    }

    async fn get_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn prepare_provider_config(
        &self,
        request: Request<pb::prepare_provider_config::Request>,
    ) -> Result<Response<pb::prepare_provider_config::Response>, Status> {
        let req = request.into_inner();
        let diags = match decode(
            req.config.as_ref(),
            &self.provider_type,
            "provider configuration",
        ) {
            Err(d) => d,
            Ok(config) => guarded_sync(|| {
                let mut diags = Diagnostics::new();
                self.provider_schema
                    .block
                    .validate(&config, &AttributePath::root(), &mut diags);
                self.provider.validate(&config, &mut diags);
                diags
            })
            .unwrap_or_else(|d| d),
        };
        // Terraform ignores prepared_config; echoing the config keeps older cores happy.
        Ok(Response::new(pb::prepare_provider_config::Response {
            prepared_config: req.config,
            diagnostics: diags.to_proto(),
        }))
    }

    async fn validate_resource_type_config(
        &self,
        request: Request<pb::validate_resource_type_config::Request>,
    ) -> Result<Response<pb::validate_resource_type_config::Response>, Status> {
        let req = request.into_inner();
        let diags = guarded_sync(|| {
            let r = self.resource(&req.type_name)?;
            let config = decode(req.config.as_ref(), &r.value_type, "configuration")?;
            let mut diags = Diagnostics::new();
            r.schema
                .block
                .validate(&config, &AttributePath::root(), &mut diags);
            r.implementation.validate(&config, &mut diags);
            Ok::<_, Diagnostics>(diags)
        })
        .and_then(|r| r)
        .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_resource_type_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn validate_data_source_config(
        &self,
        request: Request<pb::validate_data_source_config::Request>,
    ) -> Result<Response<pb::validate_data_source_config::Response>, Status> {
        let req = request.into_inner();
        let diags = guarded_sync(|| {
            let d = self.data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &d.value_type, "configuration")?;
            let mut diags = Diagnostics::new();
            d.schema
                .block
                .validate(&config, &AttributePath::root(), &mut diags);
            d.implementation.validate(&config, &mut diags);
            Ok::<_, Diagnostics>(diags)
        })
        .and_then(|r| r)
        .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_data_source_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = request.into_inner();
        let result = guarded_sync(|| {
            let r = self.resource(&req.type_name)?;
            let raw = req.raw_state.unwrap_or_default();
            if raw.json.is_empty() {
                return Err(Diagnostic::error(
                    "Unsupported state format",
                    "This state was written in Terraform's legacy flatmap format, which this \
                     provider never used. Remove the resource from state and import it.",
                )
                .into());
            }
            let current = r.schema.version;
            // The usual case, state at the current version: decode the stored bytes
            // directly, so numbers keep every digit (missing attributes read as null).
            if req.version == current
                && let Ok(state) = value::decode_json(&raw.json, &r.value_type)
            {
                return encode(&state, &r.value_type);
            }
            // Otherwise migrate and conform through serde_json (which holds numbers as f64).
            let json: serde_json::Value = serde_json::from_slice(&raw.json).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid state",
                    format!("The stored state is not JSON: {e}"),
                ))
            })?;
            let json = match req.version {
                v if v == current => json,
                v if v > current => {
                    return Err(Diagnostic::error(
                        "State from a newer provider",
                        format!(
                            "This state was written by a newer version of the provider (schema \
                             version {v}; this one knows up to {current}). Upgrade the provider."
                        ),
                    )
                    .into());
                }
                v => r
                    .implementation
                    .upgrade_state(v, json)
                    .map_err(|e| Diagnostics::from(Diagnostic::error("Cannot upgrade state", e)))?,
            };
            let conformed = conform_state_json(json, &r.value_type);
            let bytes = serde_json::to_vec(&conformed).expect("JSON values serialize");
            let state = value::decode_json(&bytes, &r.value_type).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid state",
                    format!("The stored state does not match the resource's schema: {e}"),
                ))
            })?;
            encode(&state, &r.value_type)
        })
        .and_then(|r| r);
        let (upgraded_state, diags) = match result {
            Ok(v) => (Some(v), Diagnostics::new()),
            Err(d) => (None, d),
        };
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: diags.to_proto(),
        }))
    }

    async fn configure(
        &self,
        request: Request<pb::configure::Request>,
    ) -> Result<Response<pb::configure::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let diags = match decode(
            req.config.as_ref(),
            &self.provider_type,
            "provider configuration",
        ) {
            Err(d) => d,
            Ok(config) => {
                let mut diags = Diagnostics::new();
                let configure = ConfigureRequest {
                    terraform_version: req.terraform_version,
                    config,
                };
                match guarded(self.provider.configure(&ctx, configure, &mut diags)).await {
                    Ok(()) => diags,
                    Err(panic) => panic,
                }
            }
        };
        Ok(Response::new(pb::configure::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let mut response = pb::read_resource::Response {
            new_state: req.current_state.clone(),
            diagnostics: Vec::new(),
            private: req.private.clone(),
        };
        let diags = async {
            let r = self.resource(&req.type_name)?;
            let current = decode(req.current_state.as_ref(), &r.value_type, "state")?;
            let mut diags = Diagnostics::new();
            let new_state = guarded(r.implementation.read(&ctx, &current, &mut diags)).await?;
            ensure_known(&new_state, &mut diags);
            if !diags.has_errors() {
                response.new_state = Some(encode(&new_state, &r.value_type)?);
            }
            Ok::<_, Diagnostics>(diags)
        }
        .await
        .unwrap_or_else(|d| d);
        response.diagnostics = diags.to_proto();
        Ok(Response::new(response))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let mut response = pb::plan_resource_change::Response {
            planned_private: req.prior_private.clone(),
            ..Default::default()
        };
        let diags = async {
            let r = self.resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &r.value_type, "prior state")?;
            let proposed = decode(
                req.proposed_new_state.as_ref(),
                &r.value_type,
                "proposed state",
            )?;
            let config = decode(req.config.as_ref(), &r.value_type, "configuration")?;
            let generic =
                guarded_sync(|| plan_change(&r.schema.block, &prior, &proposed, &config))?;
            let mut plan = Plan {
                prior: &prior,
                config: &config,
                planned: generic.planned,
                requires_replace: generic.requires_replace,
            };
            let mut diags = Diagnostics::new();
            if !plan.is_destroy() {
                guarded(r.implementation.modify_plan(&ctx, &mut plan, &mut diags)).await?;
            }
            response.planned_state = Some(encode(&plan.planned, &r.value_type)?);
            response.requires_replace = plan
                .requires_replace
                .iter()
                .map(AttributePath::to_proto)
                .collect();
            Ok::<_, Diagnostics>(diags)
        }
        .await
        .unwrap_or_else(|d| d);
        response.diagnostics = diags.to_proto();
        Ok(Response::new(response))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let mut response = pb::apply_resource_change::Response {
            // Until the resource says otherwise, the object is as it was.
            new_state: req.prior_state.clone(),
            private: req.planned_private.clone(),
            diagnostics: Vec::new(),
        };
        let diags = async {
            let r = self.resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &r.value_type, "prior state")?;
            let planned = decode(req.planned_state.as_ref(), &r.value_type, "planned state")?;
            let config = decode(req.config.as_ref(), &r.value_type, "configuration")?;
            let resource = &r.implementation;
            let mut diags = Diagnostics::new();
            let new_state = if planned.is_null() {
                guarded(resource.delete(&ctx, &prior, &mut diags)).await?;
                if diags.has_errors() {
                    prior
                } else {
                    Value::Null
                }
            } else if prior.is_null() {
                guarded(resource.create(&ctx, &planned, &config, &mut diags)).await?
            } else {
                guarded(resource.update(&ctx, &prior, &planned, &config, &mut diags)).await?
            };
            ensure_known(&new_state, &mut diags);
            response.new_state = Some(encode(&new_state, &r.value_type)?);
            Ok::<_, Diagnostics>(diags)
        }
        .await
        .unwrap_or_else(|d| d);
        response.diagnostics = diags.to_proto();
        Ok(Response::new(response))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let mut response = pb::import_resource_state::Response::default();
        let diags = async {
            let r = self.resource(&req.type_name)?;
            let mut diags = Diagnostics::new();
            let state = guarded(r.implementation.import(&ctx, &req.id, &mut diags)).await?;
            if !diags.has_errors() && !state.is_null() {
                response
                    .imported_resources
                    .push(pb::import_resource_state::ImportedResource {
                        type_name: req.type_name.clone(),
                        state: Some(encode(&state, &r.value_type)?),
                        private: Vec::new(),
                    });
            }
            Ok::<_, Diagnostics>(diags)
        }
        .await
        .unwrap_or_else(|d| d);
        response.diagnostics = diags.to_proto();
        Ok(Response::new(response))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let mut response = pb::read_data_source::Response::default();
        let diags = async {
            let d = self.data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &d.value_type, "configuration")?;
            let mut diags = Diagnostics::new();
            let state = guarded(d.implementation.read(&ctx, &config, &mut diags)).await?;
            if !diags.has_errors() {
                ensure_known(&state, &mut diags);
                response.state = Some(encode(&state, &d.value_type)?);
            }
            Ok::<_, Diagnostics>(diags)
        }
        .await
        .unwrap_or_else(|d| d);
        response.diagnostics = diags.to_proto();
        Ok(Response::new(response))
    }

    async fn get_functions(
        &self,
        _request: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn stop(
        &self,
        _request: Request<pb::stop::Request>,
    ) -> Result<Response<pb::stop::Response>, Status> {
        // Advisory: cancel what is in flight, then keep serving with a fresh token.
        let previous = std::mem::take(&mut *self.stop.lock().expect("stop lock"));
        previous.cancel();
        tracing::info!("stop requested: cancelling in-flight work");
        Ok(Response::new(pb::stop::Response {
            error: String::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
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
        async fn read(
            &self,
            ctx: &RequestContext,
            current: &Value,
            diags: &mut Diagnostics,
        ) -> Value {
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
            .validate_resource_type_config(Request::new(
                pb::validate_resource_type_config::Request {
                    type_name: "test_thing".into(),
                    config: Some(state("boom")),
                    client_capabilities: None,
                },
            ))
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
}
