//! Microsoft Graph: the HTTP client with Graph's retry and consistency rules, the
//! objects the provider reads and writes, and signing in.

// Graph errors carry Graph's code, message and request id for the diagnostic; they
// occur on network paths where their size is irrelevant next to the round trip.
#![allow(clippy::result_large_err)]

pub mod applications;
pub mod auth;
pub mod client;
pub mod consistency;
pub mod error;
pub mod federated_credentials;
pub mod grants;
pub mod inventory;
pub mod models;
pub mod retry;

pub use client::{GraphClient, GraphRequest, GraphResponse, Operation};
pub use error::{GraphError, GraphErrorKind};

/// A directory object id, client id or tenant id as Graph writes them: a hyphenated
/// GUID, in either case.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}
