//! Psoxy's Microsoft 365 connector catalog and the administrator's consent
//! document.
//!
//! Source of truth: psoxy v0.6.9 `infra/modules/worklytics-connector-specs/msft-365.tf`
//! and Microsoft's permission-id table (docs/design/graph-behaviour.md, "Psoxy's
//! connectors"). Self-contained: std and
//! `strsim` only, so the data source, the resource and tests can share it
//! without pulling in the plugin layer.

pub mod cloud;
pub mod connectors;
pub mod consent;
pub mod permissions;

pub use cloud::{Cloud, UnknownCloud, admin_consent_url, api_permissions_url};
pub use connectors::{
    AdminStep, AdminStepKind, Availability, Connector, MAX_DISPLAY_NAME_LEN,
    TEAMS_APPLICATION_ACCESS_POLICY, UnknownConnector, connector, connector_ids, connectors,
    connectors_for_permissions, default_display_name, deprecation_warnings, extra_admin_steps,
    find, lookup, required_app_roles, required_permissions, suggest,
};
pub use consent::{
    ConsentContext, ConsentStatus, KNOWN_AFTER_APPLY, consent_document, teams_policy_name,
    teams_powershell,
};
pub use permissions::{
    CLOUD_APPLICATION_ADMINISTRATOR, DirectoryRole, MICROSOFT_GRAPH_APP_ID,
    PRIVILEGED_ROLE_ADMINISTRATOR, Permission, TEAMS_ADMINISTRATOR, permission,
    permission_by_app_role_id, permissions,
};

#[cfg(test)]
mod tests;
