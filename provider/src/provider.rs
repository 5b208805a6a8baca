//! The `psoxy` provider: its configuration and the resources and data sources it offers.

use crate::config::{self, ProviderSettings};
use crate::data_sources::connector_specs::ConnectorSpecs;
use crate::graph::GraphClient;
use crate::graph::auth::{TokenCache, select_source};
use crate::resources::msft_connector::MsftConnector;
use crate::session::{Session, SessionSlot};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tfplugin::diagnostics::Diagnostics;
use tfplugin::framework::{ConfigureRequest, DataSource, Provider, RequestContext, Resource};
use tfplugin::schema::Schema;

#[derive(Default)]
pub struct PsoxyProvider {
    session: Arc<SessionSlot>,
}

impl PsoxyProvider {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Provider for PsoxyProvider {
    fn schema(&self) -> Schema {
        config::schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(MsftConnector {
                session: self.session.clone(),
            }),
            Arc::new(
                crate::resources::federated_credential::FederatedCredential {
                    session: self.session.clone(),
                },
            ),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(ConnectorSpecs)]
    }

    /// Settles settings and the sign-in method without any network call: Terraform
    /// configures the provider on every command, and many commands never reach Graph.
    async fn configure(
        &self,
        _ctx: &RequestContext,
        req: ConfigureRequest,
        diags: &mut Diagnostics,
    ) {
        tracing::debug!(terraform_version = %req.terraform_version, "configuring");
        let env = |k: &str| std::env::var(k).ok();
        let Some(settings) = ProviderSettings::resolve(&req.config, env, diags) else {
            return;
        };
        // Certificate authorities in SSL_CERT_FILE are trusted on every OS (the
        // platform verifier reads it on Linux only): a private CA, a TLS-inspecting
        // proxy, or a local emulator.
        let extra_roots = match std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
            None => Vec::new(),
            Some(path) => match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|pem| {
                    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string())
                }) {
                Ok(certs) => certs,
                Err(e) => {
                    diags.error(
                        "Cannot read SSL_CERT_FILE",
                        format!(
                            "SSL_CERT_FILE names {}, which is not a readable PEM file of \
                             certificates ({e}). Fix or unset it.",
                            std::path::Path::new(&path).display()
                        ),
                    );
                    return;
                }
            },
        };
        let http = match reqwest::Client::builder()
            .tls_certs_merge(extra_roots)
            .connect_timeout(Duration::from_secs(15))
            // Never follow a redirect: a 307 would resend a client secret or assertion to
            // wherever it points, past the https-only check on the configured endpoints.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "terraform-provider-psoxy/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
        {
            Ok(http) => http,
            Err(e) => {
                diags.error("Could not set up HTTPS", e.to_string());
                return;
            }
        };
        let graph = select_source(&settings, http.clone(), &env).map(|source| {
            tracing::debug!(source = %source.describe(), "sign-in method chosen");
            let tokens = Arc::new(TokenCache::new(source, settings.tenant_id.clone()));
            GraphClient::new(http, &settings.graph_endpoint, tokens)
        });
        tracing::debug!(
            cloud = settings.cloud.as_str(),
            graph = %settings.graph_endpoint,
            "provider configured"
        );
        self.session.set(Session::new(settings, graph));
    }
}
