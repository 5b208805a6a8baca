//! From what Graph holds to the resource's state: consent status computed against the
//! connectors' required permissions, the consent links and the administrator's
//! document.

use super::model::State;
use crate::catalog::{self, Connector, ConsentContext, ConsentStatus};
use crate::graph::models::{AppRoleAssignment, ServicePrincipal};
use crate::session::Session;
use std::collections::{BTreeMap, BTreeSet};
use tfplugin::value::Value;

/// Everything a state value is built from.
pub struct Facts<'a> {
    pub connector_ids: Vec<String>,
    pub display_name: String,
    /// Owners other than the signed-in caller.
    pub owners: BTreeSet<String>,
    pub grant_admin_consent: Option<bool>,
    pub purge_on_destroy: Option<bool>,
    pub timeouts: Value,
    pub object_id: String,
    pub client_id: String,
    /// Empty when the application has no service principal yet.
    pub service_principal_id: String,
    pub service_principal_enabled: bool,
    pub tenant_id: String,
    /// The Graph application permissions the application asks for: name → appRole id.
    pub requested_roles: BTreeMap<String, String>,
    pub assignments: &'a [AppRoleAssignment],
    pub graph: &'a ServicePrincipal,
}

pub fn resolve(ids: &[String]) -> Vec<&'static Connector> {
    ids.iter().filter_map(|id| catalog::connector(id)).collect()
}

/// The permissions consent is measured against: the connectors' needs or, while no
/// connector is known (an application just imported, before its first apply), what
/// the application itself asks for.
pub fn required_roles(
    connectors: &[&Connector],
    requested: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if connectors.is_empty() {
        return requested.clone();
    }
    catalog::required_app_roles(connectors)
        .into_iter()
        .map(|(name, id)| (name.to_owned(), id.to_owned()))
        .collect()
}

/// Assignments of Microsoft Graph's application permissions (an assignment naming
/// no resource is taken to be Graph's, as the service principal's own listing is).
fn on_graph<'s>(
    assignments: &'s [AppRoleAssignment],
    graph: &ServicePrincipal,
) -> impl Iterator<Item = &'s AppRoleAssignment> {
    let graph_id = graph.id.clone();
    assignments.iter().filter(move |a| {
        a.resource_id
            .as_deref()
            .is_none_or(|r| r.eq_ignore_ascii_case(&graph_id))
    })
}

/// Every Graph application permission granted: name → appRole id.
pub fn granted_roles(
    assignments: &[AppRoleAssignment],
    graph: &ServicePrincipal,
) -> BTreeMap<String, String> {
    let ids: Vec<String> = on_graph(assignments, graph)
        .map(|a| a.app_role_id.clone())
        .collect();
    role_names(&ids, graph)
}

/// Grants of permissions not in `required`: what least privilege removes.
pub fn excess_assignments<'s>(
    required: &BTreeMap<String, String>,
    assignments: &'s [AppRoleAssignment],
    graph: &ServicePrincipal,
) -> Vec<&'s AppRoleAssignment> {
    on_graph(assignments, graph)
        .filter(|a| {
            !required
                .values()
                .any(|id| id.eq_ignore_ascii_case(&a.app_role_id))
        })
        .collect()
}

/// The names of the required permissions not yet assigned to the service principal
/// on Microsoft Graph.
pub fn missing_roles(
    required: &BTreeMap<String, String>,
    assignments: &[AppRoleAssignment],
    graph: &ServicePrincipal,
) -> Vec<String> {
    let granted: BTreeSet<&str> = on_graph(assignments, graph)
        .map(|a| a.app_role_id.as_str())
        .collect();
    required
        .iter()
        .filter(|(_, id)| !granted.contains(id.as_str()))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Names for the permissions an application asks for, by the tenant's own Graph
/// app roles (or the catalog, or the bare id when neither knows it).
pub fn role_names(role_ids: &[String], graph: &ServicePrincipal) -> BTreeMap<String, String> {
    role_ids
        .iter()
        .map(|id| {
            let name = graph
                .app_roles
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(id))
                .and_then(|r| r.value.clone())
                .or_else(|| catalog::permission_by_app_role_id(id).map(|p| p.name.to_owned()))
                .unwrap_or_else(|| id.clone());
            (name, id.clone())
        })
        .collect()
}

pub fn consent_urls(session: &Session, tenant_id: &str, client_id: &str) -> (String, String) {
    (
        catalog::admin_consent_url(
            session.settings.login_endpoint.as_str(),
            tenant_id,
            client_id,
        ),
        catalog::api_permissions_url(session.settings.cloud.entra_admin_center(), client_id),
    )
}

pub fn document(
    session: &Session,
    connectors: &[&'static Connector],
    facts: &Facts<'_>,
    status: ConsentStatus,
    excess: Vec<String>,
) -> String {
    let (consent_url, permissions_url) = consent_urls(session, &facts.tenant_id, &facts.client_id);
    let graph_base = session.graph_base();
    let mut ctx = ConsentContext::new(connectors, &facts.display_name, session.settings.cloud);
    ctx.client_id = Some(&facts.client_id);
    ctx.object_id = Some(&facts.object_id);
    ctx.service_principal_object_id =
        (!facts.service_principal_id.is_empty()).then_some(facts.service_principal_id.as_str());
    ctx.tenant_id = Some(&facts.tenant_id);
    ctx.admin_consent_url = Some(&consent_url);
    ctx.api_permissions_url = Some(&permissions_url);
    ctx.graph_endpoint = &graph_base;
    ctx.consent = status;
    ctx.excess = excess;
    ctx.granted_by_terraform = facts.grant_admin_consent == Some(true);
    catalog::consent_document(&ctx)
}

/// The resource's full state.
pub fn state(session: &Session, facts: &Facts<'_>) -> State {
    let connectors = resolve(&facts.connector_ids);
    let required = required_roles(&connectors, &facts.requested_roles);
    let missing = missing_roles(&required, facts.assignments, facts.graph);
    // Consent to nothing is not consent: an application that asks for no permission
    // yet (imported, not applied) is not reported as granted.
    let granted = missing.is_empty() && !required.is_empty();
    let status = if required.is_empty() {
        ConsentStatus::Unknown
    } else if granted {
        ConsentStatus::Granted
    } else {
        ConsentStatus::Pending {
            missing: missing.clone(),
        }
    };
    let granted_app_roles = granted_roles(facts.assignments, facts.graph);
    let excess_app_roles: BTreeMap<String, String> = granted_app_roles
        .iter()
        .filter(|(_, id)| !required.values().any(|r| r.eq_ignore_ascii_case(id)))
        .map(|(name, id)| (name.clone(), id.clone()))
        .collect();
    let (admin_consent_url, api_permissions_url) =
        consent_urls(session, &facts.tenant_id, &facts.client_id);
    let excess: Vec<String> = excess_app_roles.keys().cloned().collect();
    State {
        connectors: facts.connector_ids.clone(),
        display_name: facts.display_name.clone(),
        owners: facts.owners.clone(),
        grant_admin_consent: facts.grant_admin_consent,
        purge_on_destroy: facts.purge_on_destroy,
        timeouts: facts.timeouts.clone(),
        id: facts.object_id.clone(),
        object_id: facts.object_id.clone(),
        client_id: facts.client_id.clone(),
        service_principal_object_id: facts.service_principal_id.clone(),
        tenant_id: facts.tenant_id.clone(),
        required_app_roles: facts.requested_roles.clone(),
        consent_granted: granted,
        missing_app_roles: missing,
        granted_app_roles,
        excess_app_roles,
        service_principal_enabled: facts.service_principal_enabled,
        admin_consent_url,
        api_permissions_url,
        consent_instructions: document(session, &connectors, facts, status, excess),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::models::AppRole;

    fn graph_sp() -> ServicePrincipal {
        ServicePrincipal {
            id: "graph-sp".into(),
            app_id: catalog::MICROSOFT_GRAPH_APP_ID.into(),
            app_roles: vec![AppRole {
                id: "df021288-bdef-4463-88db-98f22de89214".into(),
                value: Some("User.Read.All".into()),
                ..AppRole::default()
            }],
            ..ServicePrincipal::default()
        }
    }

    fn assignment(role: &str, resource: &str) -> AppRoleAssignment {
        AppRoleAssignment {
            id: "a".into(),
            app_role_id: role.into(),
            principal_id: Some("sp".into()),
            resource_id: Some(resource.into()),
        }
    }

    #[test]
    fn consent_is_measured_against_the_connectors_needs() {
        let connectors = resolve(&["msft-copilot".into()]);
        let required = required_roles(&connectors, &BTreeMap::new());
        let none = missing_roles(&required, &[], &graph_sp());
        assert_eq!(
            none,
            vec!["AiEnterpriseInteraction.Read.All", "User.Read.All"]
        );
        let partial = [assignment(
            "df021288-bdef-4463-88db-98f22de89214",
            "graph-sp",
        )];
        assert_eq!(
            missing_roles(&required, &partial, &graph_sp()),
            vec!["AiEnterpriseInteraction.Read.All"]
        );
        // The same role id on another resource is not Graph consent.
        let elsewhere = [assignment(
            "df021288-bdef-4463-88db-98f22de89214",
            "other-api",
        )];
        assert_eq!(missing_roles(&required, &elsewhere, &graph_sp()).len(), 2);
    }

    #[test]
    fn without_connectors_consent_is_measured_against_the_applications_requests() {
        let requested = BTreeMap::from([(
            "User.Read.All".to_owned(),
            "df021288-bdef-4463-88db-98f22de89214".to_owned(),
        )]);
        assert_eq!(required_roles(&[], &requested), requested);
        assert_eq!(
            missing_roles(&required_roles(&[], &requested), &[], &graph_sp()),
            vec!["User.Read.All"]
        );
        assert!(required_roles(&[], &BTreeMap::new()).is_empty());
    }

    #[test]
    fn role_names_prefer_the_tenant_then_the_catalog_then_the_id() {
        let names = role_names(
            &[
                "df021288-bdef-4463-88db-98f22de89214".into(),
                "798ee544-9d2d-430c-a058-570e29e34338".into(),
                "00000000-1111-2222-3333-444444444444".into(),
            ],
            &graph_sp(),
        );
        assert!(names.contains_key("User.Read.All"));
        assert!(names.contains_key("Calendars.Read"));
        assert!(names.contains_key("00000000-1111-2222-3333-444444444444"));
    }
}
