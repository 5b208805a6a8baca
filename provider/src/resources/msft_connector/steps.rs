//! The Graph steps `psoxy_msft_connector`'s handlers take besides creating and
//! writing the application: checking the permissions against the tenant, owners,
//! reading and settling consent, and enabling a disabled service principal.

use super::consent::{excess_assignments, resolve};
use super::errors;
use super::model::State;
use crate::catalog;
use crate::graph::applications;
use crate::graph::grants;
use crate::graph::models::{AppRoleAssignment, ServicePrincipal};
use crate::graph::{GraphClient, GraphError, Operation};
use crate::resources::common::{Caller, same_id};
use crate::session::Session;
use std::collections::{BTreeMap, BTreeSet};
use tfplugin::diagnostics::{Diagnostic, Diagnostics};

/// The application's owners as state shows them: the caller is an owner by design and
/// shows only where configured, and an id keeps the configuration's spelling (Graph
/// answers in lower case) so that it does not show as a change on every plan.
pub fn owners_as_state(
    live: impl Iterator<Item = String>,
    prior: &BTreeSet<String>,
    caller: &Caller,
) -> BTreeSet<String> {
    live.filter(|o| !same_id(o, &caller.object_id) || prior.iter().any(|p| same_id(p, o)))
        .map(|o| prior.iter().find(|p| same_id(p, &o)).cloned().unwrap_or(o))
        .collect()
}

/// Adds and removes owners until they are `wanted`, compared without regard to case
/// as Entra ID compares object ids; the caller is never added or removed here. Returns
/// the owners as they now are and, if a step failed, why.
pub async fn sync_owners(
    graph: &GraphClient,
    session: &Session,
    op: &Operation,
    prior: &State,
    caller: &Caller,
    wanted: BTreeSet<String>,
) -> (BTreeSet<String>, Option<Diagnostic>) {
    let lower = |ids: &BTreeSet<String>| -> BTreeSet<String> {
        ids.iter()
            .filter(|i| !same_id(i, &caller.object_id))
            .map(|i| i.to_ascii_lowercase())
            .collect()
    };
    let (wanted_ids, prior_ids) = (lower(&wanted), lower(&prior.owners));
    let mut now = prior.owners.clone();
    for owner in wanted_ids.difference(&prior_ids) {
        if let Err(e) =
            applications::add_owner(graph, &session.graph_base(), op, &prior.object_id, owner).await
        {
            let d = e.to_diagnostic(
                &format!("Could not add owner {owner}"),
                errors::owner_advice(&e),
            );
            return (now, Some(d));
        }
        if let Some(spelled) = wanted.iter().find(|w| same_id(w, owner)) {
            now.insert(spelled.clone());
        }
    }
    for owner in prior_ids.difference(&wanted_ids) {
        if let Err(e) = applications::remove_owner(graph, op, &prior.object_id, owner).await {
            let d = e.to_diagnostic(
                &format!("Could not remove owner {owner}"),
                errors::owner_advice(&e),
            );
            return (now, Some(d));
        }
        now.retain(|o| !same_id(o, owner));
    }
    (wanted, None)
}

/// The connectors' permissions, checked against the tenant's own Microsoft Graph
/// service principal: a tenant whose Graph lacks a permission, or knows it under
/// another id, gets a clear error naming it.
pub async fn verified_roles<'s>(
    session: &'s Session,
    op: &Operation,
    connector_ids: &[String],
    diags: &mut Diagnostics,
) -> Option<(&'s ServicePrincipal, BTreeMap<String, String>)> {
    let graph_sp = match session.graph_service_principal(op).await {
        Ok(sp) => sp,
        Err(e) => {
            diags.push(e.to_diagnostic("Could not read Microsoft Graph's service principal", None));
            return None;
        }
    };
    let mut roles = BTreeMap::new();
    for (name, id) in catalog::required_app_roles(&resolve(connector_ids)) {
        let live = graph_sp
            .app_roles
            .iter()
            .find(|r| r.value.as_deref() == Some(name));
        match live {
            Some(role) if role.id.eq_ignore_ascii_case(id) => {
                roles.insert(name.to_owned(), id.to_owned());
            }
            Some(role) => diags.error(
                "Permission id differs in this tenant",
                format!(
                    "Microsoft Graph in this tenant has {name} as app role {}, but the provider \
                     knows it as {id}. The provider will not request an id it cannot vouch for; \
                     please report this.",
                    role.id
                ),
            ),
            None => diags.error(
                "Permission not offered by this tenant",
                format!(
                    "Microsoft Graph in this tenant offers no application permission named \
                     {name}, which the connectors need. The connector may not be available in \
                     this cloud yet."
                ),
            ),
        }
    }
    (!diags.has_errors()).then_some((graph_sp, roles))
}

/// The service principal's app-role assignments; a failure to read them is a warning,
/// since the application itself was written.
pub async fn assignments(
    graph: &GraphClient,
    op: &Operation,
    client_id: &str,
    diags: &mut Diagnostics,
) -> Vec<AppRoleAssignment> {
    match applications::service_principal_by_app_id(graph, op, client_id, true).await {
        Ok(sp) => sp.and_then(|s| s.app_role_assignments).unwrap_or_default(),
        Err(e) => {
            diags.warning(
                "Could not read the consent status",
                format!(
                    "The application was written, but its consent status could not be read: {e}"
                ),
            );
            Vec::new()
        }
    }
}

/// With `grant_admin_consent`: grants each required permission not yet granted and
/// revokes every Graph permission granted beyond them. Returns the assignments as they
/// now are.
pub async fn settle_consent(
    graph: &GraphClient,
    op: &Operation,
    graph_sp: &ServicePrincipal,
    service_principal_id: &str,
    required: &BTreeMap<String, String>,
    mut assignments: Vec<AppRoleAssignment>,
) -> Result<Vec<AppRoleAssignment>, GraphError> {
    let missing: Vec<String> = required
        .values()
        .filter(|id| {
            !assignments
                .iter()
                .any(|a| a.app_role_id.eq_ignore_ascii_case(id))
        })
        .cloned()
        .collect();
    let excess: Vec<String> = excess_assignments(required, &assignments, graph_sp)
        .into_iter()
        .map(|a| a.id.clone())
        .collect();
    if !excess.is_empty() {
        grants::revoke(graph, op, &graph_sp.id, &excess).await?;
        assignments.retain(|a| !excess.contains(&a.id));
    }
    if !missing.is_empty() {
        grants::grant(graph, op, &graph_sp.id, service_principal_id, &missing).await?;
        assignments.extend(missing.into_iter().map(|role| AppRoleAssignment {
            id: String::new(),
            app_role_id: role,
            principal_id: Some(service_principal_id.to_owned()),
            resource_id: Some(graph_sp.id.clone()),
        }));
    }
    Ok(assignments)
}

/// Refuses `grant_admin_consent` before anything is written when the signed-in
/// identity may not grant: nothing is half-granted.
pub fn check_may_grant(caller: &Caller) -> Result<(), Diagnostic> {
    if grants::may_grant(&caller.directory_roles, &caller.app_permissions) {
        return Ok(());
    }
    Err(errors::may_not_grant(caller))
}
