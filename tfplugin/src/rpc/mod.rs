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

/// The `tfplugin5.Provider` gRPC service around a [`Provider`].
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
    /// Reads the provider's schemas and types once; Terraform asks for them on every start.
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

    /// Stored state brought to the resource's current schema version.
    fn upgraded_state(
        &self,
        r: &Registered<dyn Resource>,
        version: i64,
        raw: Option<&pb::RawState>,
    ) -> Result<Value, Diagnostics> {
        let json = raw.map(|raw| raw.json.as_slice()).unwrap_or_default();
        if json.is_empty() {
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
        if version == current
            && let Ok(state) = value::decode_json(json, &r.value_type)
        {
            return Ok(state);
        }
        // Otherwise migrate and conform through serde_json (which holds numbers as f64).
        let stored: serde_json::Value = serde_json::from_slice(json).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Invalid state",
                format!("The stored state is not JSON: {e}"),
            ))
        })?;
        let migrated = match version {
            v if v == current => stored,
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
                .upgrade_state(v, stored)
                .map_err(|e| Diagnostics::from(Diagnostic::error("Cannot upgrade state", e)))?,
        };
        let conformed = conform_state_json(migrated, &r.value_type);
        let bytes = serde_json::to_vec(&conformed).expect("JSON values serialize");
        value::decode_json(&bytes, &r.value_type).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Invalid state",
                format!("The stored state does not match the resource's schema: {e}"),
            ))
        })
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

/// A response that carries diagnostics.
trait Diagnosed {
    fn set_diagnostics(&mut self, diagnostics: Vec<pb::Diagnostic>);
}

macro_rules! diagnosed {
    ($($response:ty),* $(,)?) => {
        $(impl Diagnosed for $response {
            fn set_diagnostics(&mut self, diagnostics: Vec<pb::Diagnostic>) {
                self.diagnostics = diagnostics;
            }
        })*
    };
}

diagnosed!(
    pb::prepare_provider_config::Response,
    pb::validate_resource_type_config::Response,
    pb::validate_data_source_config::Response,
    pb::upgrade_resource_state::Response,
    pb::configure::Response,
    pb::read_resource::Response,
    pb::plan_resource_change::Response,
    pb::apply_resource_change::Response,
    pb::import_resource_state::Response,
    pb::read_data_source::Response,
);

/// Answers one request: `work` fills in `response` and returns the diagnostics for the
/// user. An early `Err` (no such type, a value that does not decode or encode) and a
/// panic anywhere in the work, provider code included, become the diagnostics instead,
/// and the response keeps what it held when that happened.
async fn respond<R: Diagnosed>(
    mut response: R,
    work: impl AsyncFnOnce(&mut R) -> Result<Diagnostics, Diagnostics>,
) -> Result<Response<R>, Status> {
    let diags = match AssertUnwindSafe(work(&mut response)).catch_unwind().await {
        Ok(Ok(diags) | Err(diags)) => diags,
        Err(panic) => panic_diagnostic(panic),
    };
    response.set_diagnostics(diags.to_proto());
    Ok(Response::new(response))
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
        // Terraform ignores prepared_config; echoing the config keeps older cores happy.
        let response = pb::prepare_provider_config::Response {
            prepared_config: req.config.clone(),
            diagnostics: Vec::new(),
        };
        respond(response, async |_| {
            let config = decode(
                req.config.as_ref(),
                &self.provider_type,
                "provider configuration",
            )?;
            let mut diags = Diagnostics::new();
            self.provider_schema
                .block
                .validate(&config, &AttributePath::root(), &mut diags);
            self.provider.validate(&config, &mut diags);
            Ok(diags)
        })
        .await
    }

    async fn validate_resource_type_config(
        &self,
        request: Request<pb::validate_resource_type_config::Request>,
    ) -> Result<Response<pb::validate_resource_type_config::Response>, Status> {
        let req = request.into_inner();
        respond(
            pb::validate_resource_type_config::Response::default(),
            async |_| {
                let r = self.resource(&req.type_name)?;
                let config = decode(req.config.as_ref(), &r.value_type, "configuration")?;
                let mut diags = Diagnostics::new();
                r.schema
                    .block
                    .validate(&config, &AttributePath::root(), &mut diags);
                r.implementation.validate(&config, &mut diags);
                Ok(diags)
            },
        )
        .await
    }

    async fn validate_data_source_config(
        &self,
        request: Request<pb::validate_data_source_config::Request>,
    ) -> Result<Response<pb::validate_data_source_config::Response>, Status> {
        let req = request.into_inner();
        respond(
            pb::validate_data_source_config::Response::default(),
            async |_| {
                let d = self.data_source(&req.type_name)?;
                let config = decode(req.config.as_ref(), &d.value_type, "configuration")?;
                let mut diags = Diagnostics::new();
                d.schema
                    .block
                    .validate(&config, &AttributePath::root(), &mut diags);
                d.implementation.validate(&config, &mut diags);
                Ok(diags)
            },
        )
        .await
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = request.into_inner();
        respond(
            pb::upgrade_resource_state::Response::default(),
            async |response| {
                let r = self.resource(&req.type_name)?;
                let state = self.upgraded_state(r, req.version, req.raw_state.as_ref())?;
                response.upgraded_state = Some(encode(&state, &r.value_type)?);
                Ok(Diagnostics::new())
            },
        )
        .await
    }

    async fn configure(
        &self,
        request: Request<pb::configure::Request>,
    ) -> Result<Response<pb::configure::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        respond(pb::configure::Response::default(), async |_| {
            let config = decode(
                req.config.as_ref(),
                &self.provider_type,
                "provider configuration",
            )?;
            let configure = ConfigureRequest {
                terraform_version: req.terraform_version.clone(),
                config,
            };
            let mut diags = Diagnostics::new();
            self.provider.configure(&ctx, configure, &mut diags).await;
            Ok(diags)
        })
        .await
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let response = pb::read_resource::Response {
            new_state: req.current_state.clone(),
            diagnostics: Vec::new(),
            private: req.private.clone(),
        };
        respond(response, async |response| {
            let r = self.resource(&req.type_name)?;
            let current = decode(req.current_state.as_ref(), &r.value_type, "state")?;
            let mut diags = Diagnostics::new();
            let new_state = r.implementation.read(&ctx, &current, &mut diags).await;
            ensure_known(&new_state, &mut diags);
            if !diags.has_errors() {
                response.new_state = Some(encode(&new_state, &r.value_type)?);
            }
            Ok(diags)
        })
        .await
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let response = pb::plan_resource_change::Response {
            planned_private: req.prior_private.clone(),
            ..Default::default()
        };
        respond(response, async |response| {
            let r = self.resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &r.value_type, "prior state")?;
            let proposed = decode(
                req.proposed_new_state.as_ref(),
                &r.value_type,
                "proposed state",
            )?;
            let config = decode(req.config.as_ref(), &r.value_type, "configuration")?;
            let generic = plan_change(&r.schema.block, &prior, &proposed, &config);
            let mut plan = Plan {
                prior: &prior,
                config: &config,
                planned: generic.planned,
                requires_replace: generic.requires_replace,
            };
            let mut diags = Diagnostics::new();
            if !plan.is_destroy() {
                r.implementation
                    .modify_plan(&ctx, &mut plan, &mut diags)
                    .await;
            }
            response.planned_state = Some(encode(&plan.planned, &r.value_type)?);
            response.requires_replace = plan
                .requires_replace
                .iter()
                .map(AttributePath::to_proto)
                .collect();
            Ok(diags)
        })
        .await
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        let response = pb::apply_resource_change::Response {
            // Until the resource says otherwise, the object is as it was.
            new_state: req.prior_state.clone(),
            private: req.planned_private.clone(),
            diagnostics: Vec::new(),
        };
        respond(response, async |response| {
            let r = self.resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &r.value_type, "prior state")?;
            let planned = decode(req.planned_state.as_ref(), &r.value_type, "planned state")?;
            let config = decode(req.config.as_ref(), &r.value_type, "configuration")?;
            let resource = &r.implementation;
            let mut diags = Diagnostics::new();
            let new_state = if planned.is_null() {
                resource.delete(&ctx, &prior, &mut diags).await;
                if diags.has_errors() {
                    prior
                } else {
                    Value::Null
                }
            } else if prior.is_null() {
                resource.create(&ctx, &planned, &config, &mut diags).await
            } else {
                resource
                    .update(&ctx, &prior, &planned, &config, &mut diags)
                    .await
            };
            ensure_known(&new_state, &mut diags);
            response.new_state = Some(encode(&new_state, &r.value_type)?);
            Ok(diags)
        })
        .await
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        respond(
            pb::import_resource_state::Response::default(),
            async |response| {
                let r = self.resource(&req.type_name)?;
                let mut diags = Diagnostics::new();
                let state = r.implementation.import(&ctx, &req.id, &mut diags).await;
                if !diags.has_errors() && !state.is_null() {
                    response
                        .imported_resources
                        .push(pb::import_resource_state::ImportedResource {
                            type_name: req.type_name.clone(),
                            state: Some(encode(&state, &r.value_type)?),
                            private: Vec::new(),
                        });
                }
                Ok(diags)
            },
        )
        .await
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = request.into_inner();
        let ctx = self.context();
        respond(
            pb::read_data_source::Response::default(),
            async |response| {
                let d = self.data_source(&req.type_name)?;
                let config = decode(req.config.as_ref(), &d.value_type, "configuration")?;
                let mut diags = Diagnostics::new();
                let state = d.implementation.read(&ctx, &config, &mut diags).await;
                if !diags.has_errors() {
                    ensure_known(&state, &mut diags);
                    response.state = Some(encode(&state, &d.value_type)?);
                }
                Ok(diags)
            },
        )
        .await
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
mod tests;
