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
    pub cancelled: CancellationToken,
}

impl RequestContext {
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }
}

pub struct ConfigureRequest {
    pub terraform_version: String,
    pub config: Value,
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    fn schema(&self) -> Schema;
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;

    /// Checks a provider configuration beyond what the schema's validators check.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    async fn configure(&self, ctx: &RequestContext, req: ConfigureRequest, diags: &mut Diagnostics);
}

#[async_trait]
pub trait DataSource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Returns the data source's full value.
    async fn read(&self, ctx: &RequestContext, config: &Value, diags: &mut Diagnostics) -> Value;
}

/// A plan after the generic rules, for a resource to refine.
pub struct Plan<'a> {
    pub prior: &'a Value,
    pub config: &'a Value,
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
}

impl Plan<'_> {
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }

    pub fn is_destroy(&self) -> bool {
        self.planned.is_null()
    }
}

#[async_trait]
pub trait Resource: Send + Sync {
    fn type_name(&self) -> &'static str;
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

    async fn update(
        &self,
        ctx: &RequestContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value;

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
