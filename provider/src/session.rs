//! What `Configure` sets up and every resource shares within one provider process: the
//! settings, the Graph client with its shared token, the Microsoft Graph service
//! principal (read once), the inventory of psoxy-managed applications that refreshes
//! are served from (read once), and per-application write locks.

use crate::config::ProviderSettings;
use crate::graph::applications::graph_service_principal_request;
use crate::graph::auth::AuthError;
use crate::graph::inventory::Inventory;
use crate::graph::models::ServicePrincipal;
use crate::graph::{GraphClient, GraphError, Operation};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use tfplugin::diagnostics::Diagnostic;
use tokio::sync::{OnceCell, OwnedMutexGuard};

pub struct Session {
    pub settings: ProviderSettings,
    graph: Result<Arc<GraphClient>, AuthError>,
    graph_service_principal: OnceCell<ServicePrincipal>,
    /// `None` when it could not be read: every read is then made directly.
    inventory: OnceCell<Option<Inventory>>,
    /// Applications this process has written (or whose credentials it has): the
    /// inventory may predate the write, so their reads go to Graph.
    written: Mutex<HashSet<String>>,
    application_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Session {
    pub fn new(settings: ProviderSettings, graph: Result<GraphClient, AuthError>) -> Self {
        Self {
            settings,
            graph: graph.map(Arc::new),
            graph_service_principal: OnceCell::new(),
            inventory: OnceCell::new(),
            written: Mutex::new(HashSet::new()),
            application_locks: Mutex::new(HashMap::new()),
        }
    }

    /// The Graph client, or why signing in is not possible (no credential found).
    pub fn graph(&self) -> Result<Arc<GraphClient>, Diagnostic> {
        self.graph
            .clone()
            .map_err(|e| Diagnostic::error(e.summary, e.detail))
    }

    /// The Graph base URL without API version, for `@odata.id` references.
    pub fn graph_base(&self) -> String {
        self.settings
            .graph_endpoint
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    /// The tenant's Microsoft Graph service principal with its app roles, read once per
    /// process: the resource of every permission and of every consent grant.
    pub async fn graph_service_principal(
        &self,
        op: &Operation,
    ) -> Result<&ServicePrincipal, GraphError> {
        let graph = self
            .graph
            .as_ref()
            .map_err(|e| GraphError::auth("sign-in".into(), e.clone()))?;
        self.graph_service_principal
            .get_or_try_init(|| async {
                graph
                    .send(op, &graph_service_principal_request())
                    .await?
                    .parse()
            })
            .await
    }

    /// The Graph service principal if already read, so that a caller can fetch it
    /// alongside other requests instead of in a round trip of its own.
    pub fn cached_graph_service_principal(&self) -> Option<&ServicePrincipal> {
        self.graph_service_principal.get()
    }

    pub fn remember_graph_service_principal(&self, sp: ServicePrincipal) -> &ServicePrincipal {
        let _ = self.graph_service_principal.set(sp);
        self.graph_service_principal.get().expect("just set")
    }

    /// The tenant's psoxy-managed applications as this process first read them, for
    /// serving refreshes; `None` for an application this process has written since,
    /// or when the inventory could not be read (the caller then reads directly).
    pub async fn inventory_for(&self, op: &Operation, object_id: &str) -> Option<&Inventory> {
        if self
            .written
            .lock()
            .expect("written")
            .contains(&object_id.to_ascii_lowercase())
        {
            return None;
        }
        let graph = self.graph.as_ref().ok()?;
        self.inventory
            .get_or_init(|| async {
                let with_graph_sp = self.graph_service_principal.get().is_none();
                match Inventory::load(graph, op, with_graph_sp).await {
                    Ok((inventory, graph_sp)) => {
                        if let Some(sp) = graph_sp {
                            self.remember_graph_service_principal(sp);
                        }
                        Some(inventory)
                    }
                    Err(e) => {
                        tracing::debug!(
                            "reading every object directly: the inventory could not be read: {e}"
                        );
                        None
                    }
                }
            })
            .await
            .as_ref()
    }

    /// Notes a write to an application or its credentials, before it is sent.
    pub fn mark_written(&self, object_id: &str) {
        self.written
            .lock()
            .expect("written")
            .insert(object_id.to_ascii_lowercase());
    }

    /// Serialises writes to one application's sub-objects (owners, federated
    /// credentials): Graph answers concurrent writes to one application with conflicts.
    pub async fn lock_application(&self, object_id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.application_locks.lock().expect("application locks");
            // Object ids are GUIDs, the same object whatever their case.
            locks
                .entry(object_id.to_ascii_lowercase())
                .or_default()
                .clone()
        };
        lock.lock_owned().await
    }
}

/// Set once by `Configure`; resources reach the session through it.
#[derive(Default)]
pub struct SessionSlot(OnceLock<Arc<Session>>);

impl SessionSlot {
    pub fn set(&self, session: Session) {
        let _ = self.0.set(Arc::new(session));
    }

    pub fn get(&self) -> Result<Arc<Session>, Diagnostic> {
        self.0.get().cloned().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "Terraform did not configure the psoxy provider before using it. This is \
                 unexpected; please report it with the output of TF_LOG=debug.",
            )
        })
    }
}
