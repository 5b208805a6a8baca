//! What a provider, resource or data source implements. The RPC layer (`rpc.rs`) turns
//! Terraform's requests into calls on these traits, so resource code deals in values
//! and diagnostics, never in protocol messages.

use super::diagnostics::{AttributePath, Diagnostics};
use super::schema::Schema;
use super::value::Value;
use async_trait::async_trait;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Per-request context: the cancellation Terraform asks for with Stop (Ctrl-C).
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// Cancelled when Terraform sends Stop (the user pressed Ctrl-C). Advisory: long work
    /// should check it and return early with an error diagnostic; the handler itself is
    /// never dropped.
    pub cancelled: CancellationToken,
}

impl RequestContext {
    /// Whether Terraform has asked the provider to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }
}

/// What `Configure` hands the provider.
pub struct ConfigureRequest {
    /// The version of Terraform calling, e.g. `1.11.4`.
    pub terraform_version: String,
    /// The provider block's value, checked against the provider schema (values may still be
    /// unknown).
    pub config: Value,
}

/// A provider: its configuration schema, its resources and data sources, and what it does
/// with its configuration.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The schema of the `provider` block.
    fn schema(&self) -> Schema;
    /// The resource types, each named by [`Resource::type_name`].
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    /// The data source types, each named by [`DataSource::type_name`].
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;

    /// Checks a provider configuration beyond what the schema's validators check.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Takes the provider configuration before any read, plan, apply or import; store what
    /// the resources need (clients, credentials) inside the provider.
    async fn configure(&self, ctx: &RequestContext, req: ConfigureRequest, diags: &mut Diagnostics);
}

/// A data source (`data "type_name" "…" {}`).
#[async_trait]
pub trait DataSource: Send + Sync {
    /// The type name used in configuration, e.g. `example_thing`.
    fn type_name(&self) -> &'static str;
    /// The data source's schema.
    fn schema(&self) -> Schema;
    /// Checks a configuration beyond the schema's validators; values may still be unknown.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Returns the data source's full value.
    async fn read(&self, ctx: &RequestContext, config: &Value, diags: &mut Diagnostics) -> Value;
}

/// A plan after the generic rules, for a resource to refine.
pub struct Plan<'a> {
    /// The state before the change; null on create.
    pub prior: &'a Value,
    /// The configuration.
    pub config: &'a Value,
    /// The planned new state, to refine; null on destroy.
    pub planned: Value,
    /// Attributes whose change replaces the object.
    pub requires_replace: Vec<AttributePath>,
}

impl Plan<'_> {
    /// Whether the plan creates the object.
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }

    /// Whether the plan destroys the object.
    pub fn is_destroy(&self) -> bool {
        self.planned.is_null()
    }
}

/// A managed resource (`resource "type_name" "…" {}`).
#[async_trait]
pub trait Resource: Send + Sync {
    /// The type name used in configuration, e.g. `example_thing`.
    fn type_name(&self) -> &'static str;
    /// The resource's schema.
    fn schema(&self) -> Schema;

    /// Checks a configuration beyond the schema's validators. Runs at validate, plan and
    /// apply; values may still be unknown.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Refines the generic plan: values the resource can derive at plan time, warnings.
    async fn modify_plan(
        &self,
        _ctx: &RequestContext,
        _plan: &mut Plan<'_>,
        _diags: &mut Diagnostics,
    ) {
    }

    /// Creates the remote object. Returns the new state; when creation fails part-way,
    /// returns what exists (Terraform records it as tainted) or `Value::Null` if nothing
    /// was created, together with the error.
    async fn create(
        &self,
        ctx: &RequestContext,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value;

    /// Returns the current state of the remote object, or `Value::Null` if it is gone.
    async fn read(&self, ctx: &RequestContext, current: &Value, diags: &mut Diagnostics) -> Value;

    /// Updates the remote object to the planned state in place. Returns the new state; on
    /// failure, the state as it now is, with the error.
    async fn update(
        &self,
        ctx: &RequestContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value;

    /// Deletes the remote object. An error diagnostic keeps the object in state.
    async fn delete(&self, ctx: &RequestContext, prior: &Value, diags: &mut Diagnostics);

    /// Turns an import id into a state that `read` then completes.
    async fn import(&self, ctx: &RequestContext, id: &str, diags: &mut Diagnostics) -> Value;

    /// Migrates stored state (as JSON) from an older schema version to the current one.
    /// State at the current version never comes here. Every resource is at version 0 so
    /// far, so no resource has anything to migrate yet.
    fn upgrade_state(
        &self,
        version: i64,
        _state: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        Err(format!(
            "no migration from schema version {version} is known"
        ))
    }
}
