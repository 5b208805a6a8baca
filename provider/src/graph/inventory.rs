//! Every psoxy-managed application in the tenant with what a refresh needs, read in one
//! `$batch`: the applications (with owners), their federated credentials, and their
//! service principals (with app-role assignments), found by the tag the provider puts
//! on both. A refresh of any number of connectors and credentials then costs a handful
//! of Graph operations instead of a few per resource, and a tenant full of other
//! applications costs nothing more, since the listings are filtered by tag.
//!
//! The inventory only ever answers "here it is": an object it lacks (not tagged yet,
//! created moments ago, on a later page Graph did not send) is read directly, riding
//! replication lag as before, so a read never drops an object because it is missing
//! here.

use super::applications::{MANAGED_TAG, graph_service_principal_request};
use super::client::{GraphClient, GraphRequest, Operation};
use super::error::GraphError;
use super::models::{Application, Collection, FederatedIdentityCredential, ServicePrincipal};
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::HashMap;

/// Graph returns at most this many objects per page when a listing expands a
/// relationship (and at most 20 related objects each).
const EXPANDED_PAGE: &str = "100";
/// A relationship Graph expanded this far may have been cut short.
pub const EXPANDED_LIMIT: usize = 20;

#[derive(Debug, Default)]
pub struct Inventory {
    /// By application object id, lower case.
    applications: HashMap<String, Application>,
    /// By application object id, lower case.
    credentials: HashMap<String, Vec<FederatedIdentityCredential>>,
    /// By appId (client id), lower case.
    service_principals: HashMap<String, ServicePrincipal>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WithCredentials {
    id: String,
    #[serde(default)]
    federated_identity_credentials: Vec<FederatedIdentityCredential>,
}

fn tagged(path: &str) -> GraphRequest {
    GraphRequest::get(path)
        .query("$filter", format!("tags/any(t:t eq '{MANAGED_TAG}')"))
        .query("$top", EXPANDED_PAGE)
}

impl Inventory {
    /// Reads the inventory, and Microsoft Graph's own service principal with it when
    /// asked, in one `$batch` (later pages, if any, one request each).
    pub async fn load(
        client: &GraphClient,
        op: &Operation,
        with_graph_service_principal: bool,
    ) -> Result<(Inventory, Option<ServicePrincipal>), GraphError> {
        let mut requests = vec![
            tagged("/applications")
                .query("$select", super::applications::APPLICATION_FIELDS)
                .query("$expand", "owners"),
            // Directory objects expand one relationship per request.
            tagged("/applications")
                .query("$select", "id")
                .query("$expand", "federatedIdentityCredentials"),
            tagged("/servicePrincipals")
                .query("$select", "id,appId,accountEnabled")
                .query("$expand", "appRoleAssignments"),
        ];
        if with_graph_service_principal {
            requests.push(graph_service_principal_request());
        }
        let mut answers = client.batch(op, &requests).await.into_iter();
        let mut next = || answers.next().expect("one answer per request");
        let applications: Vec<Application> = all_pages(client, op, next()?.body).await?;
        let credentials: Vec<WithCredentials> = all_pages(client, op, next()?.body).await?;
        let service_principals: Vec<ServicePrincipal> = all_pages(client, op, next()?.body).await?;
        let graph_sp = if with_graph_service_principal {
            Some(next()?.parse()?)
        } else {
            None
        };
        let inventory = Inventory {
            applications: applications
                .into_iter()
                .map(|a| (a.id.to_ascii_lowercase(), a))
                .collect(),
            credentials: credentials
                .into_iter()
                // Expanded at most 20 deep: exactly 20 may be a cut list, read directly.
                .filter(|a| a.federated_identity_credentials.len() < EXPANDED_LIMIT)
                .map(|a| (a.id.to_ascii_lowercase(), a.federated_identity_credentials))
                .collect(),
            service_principals: service_principals
                .into_iter()
                .map(|sp| (sp.app_id.to_ascii_lowercase(), sp))
                .collect(),
        };
        tracing::debug!(
            applications = inventory.applications.len(),
            service_principals = inventory.service_principals.len(),
            "read the tenant's psoxy-managed applications"
        );
        Ok((inventory, graph_sp))
    }

    /// The application with its owners, if listed with all of them.
    pub fn application(&self, object_id: &str) -> Option<&Application> {
        self.applications
            .get(&object_id.to_ascii_lowercase())
            .filter(|a| a.owners.as_ref().is_some_and(|o| o.len() < EXPANDED_LIMIT))
    }

    /// The service principal of the application with this client id, with its
    /// app-role assignments, if listed with all of them.
    pub fn service_principal(&self, client_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals
            .get(&client_id.to_ascii_lowercase())
            .filter(|sp| {
                sp.app_role_assignments
                    .as_ref()
                    .is_some_and(|a| a.len() < EXPANDED_LIMIT)
            })
    }

    /// The credential, if its application is listed with all its credentials.
    pub fn credential(
        &self,
        object_id: &str,
        credential_id: &str,
    ) -> Option<&FederatedIdentityCredential> {
        self.credentials
            .get(&object_id.to_ascii_lowercase())?
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(credential_id))
    }
}

/// The items of a first page and of every page after it.
async fn all_pages<T: serde::de::DeserializeOwned>(
    client: &GraphClient,
    op: &Operation,
    first: Json,
) -> Result<Vec<T>, GraphError> {
    let page: Collection<T> = serde_json::from_value(first).map_err(|e| {
        GraphError::transport(
            "GET /applications".into(),
            format!("Microsoft Graph sent a listing the provider cannot read: {e}"),
        )
    })?;
    let mut items = page.value;
    if let Some(link) = page.next_link {
        items.extend(client.list_from(op, &link).await?);
    }
    Ok(items)
}
