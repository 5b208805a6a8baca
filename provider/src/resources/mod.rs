//! The provider's managed resources.

pub mod federated_credential;
pub mod msft_connector;
pub mod timeouts;
