//! A Terraform plugin protocol 5 (`tfplugin5`) server: the go-plugin handshake over a
//! Unix socket or loopback TCP, mutual TLS that really authenticates Terraform, wire
//! values, schemas, plan rules, typed models, diagnostics and go-plugin logging.
//!
//! A provider implements [`framework::Provider`], [`framework::Resource`] and
//! [`framework::DataSource`] and hands itself to [`server::serve`]. The crate's README
//! lists what is supported and what is not; `examples/notes.rs` is a complete provider.

#![warn(missing_docs)]

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
