//! A Microsoft Graph v1.0 emulator for the provider's tests and demo.
//!
//! Layout: [`state`] is the directory model and persistence, [`auth`] tokens
//! and roles, [`faults`] seeded faults and the consistency window, [`odata`]
//! query options, [`routes`] the Graph, token and admin endpoints, and
//! [`server`] the HTTP(S) plumbing. [`start`] runs it in-process.
#![recursion_limit = "256"]

pub mod auth;
pub mod errors;
pub mod faults;
pub mod odata;
pub mod routes;
pub mod server;
pub mod state;
pub mod util;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

pub use faults::FaultSettings;
use state::Directory;

/// Everything the command line can set.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub tenant: String,
    /// `(client_id, secret)` identities holding Cloud Application Administrator
    /// and Privileged Role Administrator.
    pub admin_clients: Vec<(String, String)>,
    /// Serve HTTPS and write `cert.pem` (and `key.pem`) here.
    pub tls_dir: Option<PathBuf>,
    /// Persist the directory to this JSON file.
    pub state_file: Option<PathBuf>,
    pub token_lifetime_secs: u64,
    pub faults: FaultSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tenant: state::DEFAULT_TENANT.to_string(),
            admin_clients: Vec::new(),
            tls_dir: None,
            state_file: None,
            token_lifetime_secs: 3600,
            faults: FaultSettings::default(),
        }
    }
}

/// One Graph request as seen by the emulator (`GET /_emulator/requests`).
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub batch_item: bool,
}

/// Shared state of a running emulator.
pub struct Emulator {
    pub base_url: String,
    pub config: Config,
    pub dir: Mutex<Directory>,
    pub faults: Mutex<faults::Faults>,
    pub log: Mutex<Vec<LogEntry>>,
}

/// Locks ignoring poisoning: a panicking handler must not wedge the emulator.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Emulator {
    /// Writes the directory if `--state` was given (atomic temp + rename).
    pub fn persist(&self, dir: &Directory) {
        if let Some(path) = &self.config.state_file
            && let Err(e) = dir.save(path)
        {
            tracing::error!("writing state to {}: {e}", path.display());
        }
    }

    /// The seeded tenant plus the `--admin-client` identities.
    pub fn fresh_directory(config: &Config, signing_key: Option<String>) -> Directory {
        let mut d = Directory::seeded(&config.tenant, signing_key);
        for (id, secret) in &config.admin_clients {
            d.ensure_admin_client(id, secret);
        }
        d
    }
}

/// A running emulator; dropping it does not stop it, call [`RunningEmulator::shutdown`].
pub struct RunningEmulator {
    pub base_url: String,
    pub addr: SocketAddr,
    pub emulator: std::sync::Arc<Emulator>,
    /// PEM of the TLS certificate when serving HTTPS.
    pub cert_pem: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEmulator {
    /// Stops accepting connections and waits (briefly) for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// Binds, loads or seeds the directory, and serves in the background.
pub async fn start(config: Config) -> std::io::Result<RunningEmulator> {
    server::start(config).await
}
