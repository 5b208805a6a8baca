//! terraform-provider-psoxy: a Terraform provider that creates the Entra ID applications,
//! federated credentials and admin-consent documents Psoxy's Microsoft 365 connectors
//! need.
//!
//! Layers, each in its own module:
//! - the `tfplugin` crate (a dependency): the Terraform plugin protocol.
//! - `catalog`: the connector catalog and the administrator's consent document.
//! - `config` and `provider`: the provider block and what it offers.
//! - `graph`: the Microsoft Graph client and signing in.
//! - `data_sources`, `resources`: what users write in configurations; `session` is what
//!   they share once the provider is configured.

pub mod catalog;
pub mod config;
pub mod data_sources;
pub mod graph;
pub mod provider;
pub mod resources;
pub mod session;
