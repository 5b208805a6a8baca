//! The Terraform plugin protocol layer: handshake, TLS, wire values, schema, plan rules,
//! diagnostics and logging, independent of any one provider.

pub mod diagnostics;
pub mod framework;
pub mod handshake;
pub mod logging;
pub mod model;
pub mod plan;
pub mod proto;
pub mod rpc;
pub mod schema;
pub mod server;
pub mod tls;
pub mod upgrade;
pub mod value;
