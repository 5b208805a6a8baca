//! The `psoxy` provider: its configuration and the resources and data sources it offers.

use crate::config::{self, ProviderSettings};
use crate::data_sources::connector_specs::ConnectorSpecs;
use crate::plugin::diagnostics::Diagnostics;
use crate::plugin::framework::{ConfigureRequest, DataSource, Provider, RequestContext, Resource};
use crate::plugin::schema::Schema;
use async_trait::async_trait;
use std::sync::{Arc, OnceLock};

/// What `Configure` establishes, shared with every resource.
#[derive(Default)]
pub struct Configured {
    pub settings: OnceLock<ProviderSettings>,
}

#[derive(Default)]
pub struct PsoxyProvider {
    configured: Arc<Configured>,
}

impl PsoxyProvider {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Provider for PsoxyProvider {
    fn type_prefix(&self) -> &'static str {
        "psoxy"
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        Vec::new()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(ConnectorSpecs)]
    }

    async fn configure(
        &self,
        _ctx: &RequestContext,
        req: ConfigureRequest,
        diags: &mut Diagnostics,
    ) {
        tracing::debug!(terraform_version = %req.terraform_version, "configuring");
        if let Some(settings) =
            ProviderSettings::resolve(&req.config, |k| std::env::var(k).ok(), diags)
        {
            tracing::debug!(
                cloud = settings.cloud.as_str(),
                graph = %settings.graph_endpoint,
                "provider configured"
            );
            let _ = self.configured.settings.set(settings);
        }
    }
}
