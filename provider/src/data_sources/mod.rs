//! The provider's data sources.

pub mod connector_specs;
