//! `psoxy_federated_credential`'s values as Rust structs, each attribute named once:
//! the field's name is the attribute's name (the schema test checks they agree).

use serde::{Deserialize, Serialize};
use tfplugin::model::Attr;
use tfplugin::value::Value;

/// The `aws` block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aws {
    pub identity_pool_id: String,
    pub identity_id: String,
}

/// The `gcp` block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gcp {
    pub service_account_unique_id: String,
}

/// The `aws` block as configured: its values may be unknown until apply.
#[derive(Clone, Debug, Deserialize)]
pub struct AwsConfig {
    pub identity_pool_id: Attr<String>,
    pub identity_id: Attr<String>,
}

/// The `gcp` block as configured.
#[derive(Clone, Debug, Deserialize)]
pub struct GcpConfig {
    pub service_account_unique_id: Attr<String>,
}

/// The configuration, as validation and planning see it.
#[derive(Clone, Debug, Deserialize)]
pub struct Config {
    pub issuer: Attr<String>,
    pub subject: Attr<String>,
    pub audience: Attr<String>,
    pub aws: Attr<AwsConfig>,
    pub gcp: Attr<GcpConfig>,
}

/// What apply is asked to make: the planned values that come from configuration.
#[derive(Debug, Deserialize)]
pub struct Desired {
    pub application_object_id: String,
    pub name: String,
    pub description: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub aws: Option<Aws>,
    pub gcp: Option<Gcp>,
    pub timeouts: Value,
}

/// The resource's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    pub application_object_id: String,
    pub name: String,
    pub description: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub credential_id: String,
    /// `<application object id>/federatedIdentityCredential/<credential id>`.
    pub id: String,
    /// Null in state written before tenants were recorded, until the next refresh.
    pub tenant_id: Option<String>,
    pub aws: Option<Aws>,
    pub gcp: Option<Gcp>,
    pub timeouts: Value,
}

/// A plan as planning refines it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Planned {
    pub application_object_id: Value,
    pub name: Value,
    pub description: Value,
    pub issuer: Attr<String>,
    pub subject: Attr<String>,
    pub audience: Attr<String>,
    pub credential_id: Attr<String>,
    pub id: Attr<String>,
    pub tenant_id: Attr<String>,
    pub aws: Value,
    pub gcp: Value,
    pub timeouts: Value,
}
