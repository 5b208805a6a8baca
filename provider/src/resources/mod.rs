//! The provider's managed resources.

pub mod common;
pub mod federated_credential;
pub mod msft_connector;
pub mod timeouts;
