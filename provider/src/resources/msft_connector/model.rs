//! `psoxy_msft_connector`'s values as Rust structs, each attribute named once: the
//! field's name is the attribute's name (the schema test checks they agree).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tfplugin::model::Attr;
use tfplugin::value::Value;

/// The configuration, as validation and planning see it: anything may be unknown.
#[derive(Debug, Deserialize)]
pub struct Config {
    pub connectors: Attr<Vec<Attr<String>>>,
    pub display_name: Attr<String>,
    pub owners: Attr<Vec<Attr<String>>>,
    pub grant_admin_consent: Attr<bool>,
}

impl Config {
    /// The connector ids once every one is known.
    pub fn known_connectors(&self) -> Option<Vec<String>> {
        wholly_known(&self.connectors)
    }

    pub fn known_owners(&self) -> Option<Vec<String>> {
        wholly_known(&self.owners)
    }
}

fn wholly_known(list: &Attr<Vec<Attr<String>>>) -> Option<Vec<String>> {
    list.known()?.iter().map(|i| i.known().cloned()).collect()
}

/// What apply is asked to make: the planned values that come from configuration,
/// all known by then.
#[derive(Debug, Deserialize)]
pub struct Desired {
    pub connectors: Vec<String>,
    pub display_name: String,
    /// Owners besides the signed-in caller.
    pub owners: BTreeSet<String>,
    pub grant_admin_consent: Option<bool>,
    pub purge_on_destroy: Option<bool>,
    pub timeouts: Value,
}

impl Desired {
    pub fn grants(&self) -> bool {
        self.grant_admin_consent == Some(true)
    }
}

/// The resource's state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub connectors: Vec<String>,
    pub display_name: String,
    /// Owners besides the signed-in caller (who shows only where configured).
    pub owners: BTreeSet<String>,
    pub grant_admin_consent: Option<bool>,
    pub purge_on_destroy: Option<bool>,
    pub timeouts: Value,
    /// The application's object id, again: Terraform's resource id.
    pub id: String,
    pub object_id: String,
    pub client_id: String,
    /// Empty while the application has no service principal.
    pub service_principal_object_id: String,
    pub tenant_id: String,
    pub required_app_roles: BTreeMap<String, String>,
    pub consent_granted: bool,
    pub missing_app_roles: Vec<String>,
    // Attributes added after a release read null from state written before them, until
    // the next refresh fills them in.
    #[serde(deserialize_with = "null_as_default")]
    pub granted_app_roles: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_as_default")]
    pub excess_app_roles: BTreeMap<String, String>,
    /// Null before the attribute existed: taken as enabled, which is what an untouched
    /// service principal is.
    #[serde(deserialize_with = "null_as_enabled")]
    pub service_principal_enabled: bool,
    pub admin_consent_url: String,
    pub api_permissions_url: String,
    pub consent_instructions: String,
}

/// A plan as planning refines it: what it derives is typed, what it only carries
/// along stays a value.
#[derive(Debug, Serialize, Deserialize)]
pub struct Planned {
    pub connectors: Value,
    pub display_name: Attr<String>,
    pub owners: Value,
    pub grant_admin_consent: Value,
    pub purge_on_destroy: Value,
    pub timeouts: Value,
    pub id: Attr<String>,
    pub object_id: Attr<String>,
    pub client_id: Attr<String>,
    pub service_principal_object_id: Attr<String>,
    pub tenant_id: Attr<String>,
    pub required_app_roles: Attr<BTreeMap<String, String>>,
    pub consent_granted: Attr<bool>,
    pub missing_app_roles: Attr<Vec<String>>,
    pub granted_app_roles: Attr<BTreeMap<String, String>>,
    pub excess_app_roles: Attr<BTreeMap<String, String>>,
    pub service_principal_enabled: Attr<bool>,
    pub admin_consent_url: Attr<String>,
    pub api_permissions_url: Attr<String>,
    pub consent_instructions: Attr<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

fn null_as_enabled<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Option::<bool>::deserialize(d).map(|b| b.unwrap_or(true))
}
