//! Admin consent given by the provider itself: app-role assignments of Microsoft
//! Graph's application permissions to a connector's service principal, made and
//! removed on Graph's own service principal (`appRoleAssignedTo`, as Microsoft
//! recommends and the azuread provider does), and a disabled service principal
//! enabled again (docs/design/graph-behaviour.md, "Service principals").

use super::client::{GraphClient, GraphRequest, Operation};
use super::consistency::not_found;
use super::error::GraphError;
use serde_json::json;

/// Granting needs one of these directory roles (template ids)...
pub const GRANTING_DIRECTORY_ROLES: &[(&str, &str)] = &[
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
];
/// ...or, for an application signed in as itself, this Graph application permission.
pub const GRANTING_APP_PERMISSION: &str = "AppRoleAssignment.ReadWrite.All";

/// Whether a token with these directory roles (`wids`) and application permissions
/// (`roles`) may grant and revoke Graph application permissions.
pub fn may_grant(directory_roles: &[String], app_permissions: &[String]) -> bool {
    directory_roles.iter().any(|w| {
        GRANTING_DIRECTORY_ROLES
            .iter()
            .any(|(_, id)| w.eq_ignore_ascii_case(id))
    }) || app_permissions.iter().any(|r| r == GRANTING_APP_PERMISSION)
}

/// A grant Graph already holds answers 400 "Permission being assigned already exists
/// on the object": the goal is reached.
fn already_granted(e: &GraphError) -> bool {
    e.is_status(400) && e.message.contains("already exists")
}

/// Grants each role to `principal_id` on Microsoft Graph's service principal, in
/// `$batch` round trips of 20. A role already granted counts as granted.
pub async fn grant(
    client: &GraphClient,
    op: &Operation,
    graph_sp_id: &str,
    principal_id: &str,
    role_ids: &[String],
) -> Result<(), GraphError> {
    let requests: Vec<GraphRequest> = role_ids
        .iter()
        .map(|role| {
            GraphRequest::post(
                format!("/servicePrincipals/{graph_sp_id}/appRoleAssignedTo"),
                json!({"principalId": principal_id, "resourceId": graph_sp_id, "appRoleId": role}),
            )
            // Graph refuses a second identical grant, so resending is safe; a service
            // principal created moments ago may not have replicated yet.
            .keyed()
            .ride_lag(not_found)
        })
        .collect();
    for answer in client.batch(op, &requests).await {
        match answer {
            Ok(_) => {}
            Err(e) if already_granted(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes these app-role assignments from Microsoft Graph's service principal. One
/// already gone counts as removed.
pub async fn revoke(
    client: &GraphClient,
    op: &Operation,
    graph_sp_id: &str,
    assignment_ids: &[String],
) -> Result<(), GraphError> {
    let requests: Vec<GraphRequest> = assignment_ids
        .iter()
        .map(|id| {
            GraphRequest::delete(format!(
                "/servicePrincipals/{graph_sp_id}/appRoleAssignedTo/{id}"
            ))
        })
        .collect();
    for answer in client.batch(op, &requests).await {
        match answer {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Enables a service principal someone disabled (`accountEnabled: false`), which
/// stops the proxy signing in (AADSTS7000112).
pub async fn enable_service_principal(
    client: &GraphClient,
    op: &Operation,
    service_principal_id: &str,
) -> Result<(), GraphError> {
    let request = GraphRequest::patch(
        format!("/servicePrincipals/{service_principal_id}"),
        json!({"accountEnabled": true}),
    )
    .ride_lag(not_found);
    client.send(op, &request).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_grant() {
        let pra = vec!["E8611AB8-C189-46E8-94E1-60213AB1F814".to_owned()];
        assert!(may_grant(&pra, &[]));
        assert!(may_grant(
            &[],
            &["AppRoleAssignment.ReadWrite.All".to_owned()]
        ));
        let cloud_app_admin = vec!["158c047a-c907-4556-b7ef-446551a6b5f7".to_owned()];
        assert!(!may_grant(
            &cloud_app_admin,
            &["Application.ReadWrite.All".to_owned()]
        ));
        assert!(!may_grant(&[], &[]));
    }
}
