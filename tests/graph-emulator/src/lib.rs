//! A Microsoft Graph v1.0 emulator for the provider's tests and demo.
//!
//! Layout: [`state`] is the directory model and persistence, [`auth`] tokens
//! and roles, [`faults`] seeded faults and the consistency window, [`odata`]
//! query options, [`routes`] the Graph, token and admin endpoints, and
//! [`server`] the HTTP(S) plumbing. [`start`] runs it in-process.
#![recursion_limit = "256"]

pub mod auth;
pub mod certs;
pub mod errors;
pub mod faults;
pub mod filter;
pub mod odata;
pub mod routes;
pub mod schema;
pub mod seed;
pub mod server;
pub mod state;
pub mod stats;
pub mod tenants;
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
    /// The home tenant.
    pub tenant: String,
    /// More tenants (`--tenant` given more than once), each with its own directory.
    pub extra_tenants: Vec<String>,
    /// `(client_id, secret)` identities holding Cloud Application Administrator
    /// and Privileged Role Administrator.
    pub admin_clients: Vec<(String, String)>,
    /// `(client_id, identity_header)`: a managed identity (holding the same roles
    /// as an admin client) served by the App Service-style endpoint `/msi/token`
    /// to callers presenting `X-IDENTITY-HEADER: identity_header`.
    pub managed_identity: Option<(String, String)>,
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
            tenant: seed::DEFAULT_TENANT.to_string(),
            extra_tenants: Vec::new(),
            admin_clients: Vec::new(),
            managed_identity: None,
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
    /// The status the client was sent; 0 when the connection was dropped instead.
    pub status: u16,
    pub batch_item: bool,
    /// The injected fault that shaped the answer (`hold`, `act_then_504`,
    /// `act_then_drop`, `endless_next_link`, `oversized_body`, `retry_after_zero`,
    /// `throttle`, `unavailable`, `consistency_404`, `no_backing_application`).
    pub fault: Option<String>,
    /// The status of the real answer when the request was acted on but answered
    /// otherwise (`act_then_504`, `act_then_drop`).
    pub acted_status: Option<u16>,
    /// The token's tenant (`None` when the request carried no readable token).
    pub tenant: Option<String>,
}

/// Shared state of a running emulator.
pub struct Emulator {
    pub base_url: String,
    pub config: Config,
    pub tenants: Mutex<tenants::Tenants>,
    pub faults: Mutex<faults::Faults>,
    pub log: Mutex<Vec<LogEntry>>,
    pub writes: Mutex<stats::WriteStats>,
}

/// Locks ignoring poisoning: a panicking handler must not wedge the emulator.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Emulator {
    /// Writes every tenant if `--state` was given (atomic temp + rename).
    pub fn persist(&self, t: &tenants::Tenants) {
        if let Some(path) = &self.config.state_file
            && let Err(e) = t.save(path)
        {
            tracing::error!("writing state to {}: {e}", path.display());
        }
    }

    /// A seeded tenant plus the `--admin-client` identities.
    pub fn fresh_directory(
        config: &Config,
        tenant_id: &str,
        signing_key: Option<String>,
    ) -> Directory {
        let mut d = Directory::seeded(tenant_id, signing_key);
        Emulator::add_configured_identities(config, &mut d);
        d
    }

    /// The `--admin-client`s, and in the home tenant the `--managed-identity`.
    pub fn add_configured_identities(config: &Config, d: &mut Directory) {
        for (id, secret) in &config.admin_clients {
            d.ensure_admin_client(id, secret);
        }
        if let Some((id, _)) = &config.managed_identity
            && d.tenant_id.eq_ignore_ascii_case(&config.tenant)
        {
            d.ensure_managed_identity(id);
        }
    }

    /// Every configured tenant, freshly seeded.
    pub fn fresh_tenants(config: &Config) -> tenants::Tenants {
        let mut t = tenants::Tenants {
            home_tenant: config.tenant.clone(),
            tenants: vec![Emulator::fresh_directory(config, &config.tenant, None)],
        };
        for id in &config.extra_tenants {
            if t.get(id).is_none() {
                t.tenants.push(Emulator::fresh_directory(config, id, None));
            }
        }
        t
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
