//! The provider's managed resources.

pub mod msft_connector;
pub mod timeouts;
