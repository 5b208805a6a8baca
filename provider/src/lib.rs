//! terraform-provider-psoxy: a Terraform provider that creates the Entra ID applications,
//! federated credentials and admin-consent documents Psoxy's Microsoft 365 connectors
//! need.
//!
//! Layers, each in its own module:
//! - `plugin`: the Terraform plugin protocol (handshake, TLS, values, schema, plans).
//! - `catalog`: the connector catalog and the administrator's consent document.
//! - `config` and `provider`: the provider block and what it offers.
//! - `data_sources` (and, later, `resources`): what users write in configurations.

pub mod catalog;
pub mod config;
pub mod data_sources;
pub mod plugin;
pub mod provider;
