//! Entra ID applications and their service principals, the way Graph wants them
//! handled: creates that cannot leave an unknown duplicate behind, reads that cost one
//! round trip, and waits for the replication lag Graph documents after a write.

use super::client::{GraphClient, GraphRequest, Operation};
use super::error::GraphError;
use super::models::{
    Application, Collection, RequiredResourceAccess, ResourceAccess, ServicePrincipal,
};
use crate::catalog::MICROSOFT_GRAPH_APP_ID;
use serde_json::{Value as Json, json};

/// Tags that Psoxy applications carry: `HideApp` as psoxy sets it (no user-facing
/// experience), a marker so the provider can recognise its own applications, and one
/// tag per connector so an import knows what the application serves.
pub const HIDE_APP_TAG: &str = "HideApp";
pub const MANAGED_TAG: &str = "psoxy:managed";
pub const CONNECTOR_TAG_PREFIX: &str = "psoxy:connector:";
/// A tag unique to one create call, to find the application if the create's answer is
/// lost (Graph may have created it even though the provider saw an error).
pub const CREATE_MARKER_PREFIX: &str = "psoxy:create:";

pub fn connector_tags(connector_ids: &[String]) -> Vec<String> {
    let mut tags = vec![HIDE_APP_TAG.to_owned(), MANAGED_TAG.to_owned()];
    tags.extend(
        connector_ids
            .iter()
            .map(|id| format!("{CONNECTOR_TAG_PREFIX}{id}")),
    );
    tags
}

/// Connector ids recorded in an application's tags, in tag order.
pub fn connectors_from_tags(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| t.strip_prefix(CONNECTOR_TAG_PREFIX))
        .map(str::to_owned)
        .collect()
}

/// `requiredResourceAccess` asking for these Graph application permissions (appRole ids).
pub fn graph_role_access(app_role_ids: &[String]) -> Vec<RequiredResourceAccess> {
    vec![RequiredResourceAccess {
        resource_app_id: MICROSOFT_GRAPH_APP_ID.to_owned(),
        resource_access: app_role_ids
            .iter()
            .map(|id| ResourceAccess {
                id: id.clone(),
                kind: "Role".to_owned(),
            })
            .collect(),
    }]
}

/// The Graph application permissions an application asks for (appRole ids).
pub fn requested_graph_roles(app: &Application) -> Vec<String> {
    app.required_resource_access
        .iter()
        .filter(|r| {
            r.resource_app_id
                .eq_ignore_ascii_case(MICROSOFT_GRAPH_APP_ID)
        })
        .flat_map(|r| r.resource_access.iter())
        .filter(|a| a.kind == "Role")
        .map(|a| a.id.clone())
        .collect()
}

fn directory_object_ref(graph: &str, id: &str) -> String {
    format!("{graph}/v1.0/directoryObjects/{id}")
}

/// Answers that mean "not replicated yet" right after a write, worth waiting out.
pub fn is_replication_lag(e: &GraphError) -> bool {
    e.is_not_found()
}

pub struct NewApplication<'a> {
    pub display_name: &'a str,
    pub tags: Vec<String>,
    pub app_role_ids: Vec<String>,
    pub owners: Vec<String>,
}

/// Creates the application. If Graph's answer is lost (a transport error or a server
/// error after which Graph may still have acted), looks the application up by a
/// one-time tag before deciding whether to try again, so a retry never leaves a
/// duplicate application that state does not know about.
pub async fn create_application(
    client: &GraphClient,
    graph_base: &str,
    op: &Operation,
    new: NewApplication<'_>,
) -> Result<Application, GraphError> {
    let marker = format!("{CREATE_MARKER_PREFIX}{}", uuid::Uuid::new_v4());
    let mut tags = new.tags.clone();
    tags.push(marker.clone());
    // owners@odata.bind takes up to 20; the rest are added afterwards.
    let (bound, later) = new.owners.split_at(new.owners.len().min(20));
    let body = json!({
        "displayName": new.display_name,
        "signInAudience": "AzureADMyOrg",
        "tags": tags,
        "requiredResourceAccess": graph_role_access(&new.app_role_ids),
        "owners@odata.bind": bound.iter().map(|o| directory_object_ref(graph_base, o)).collect::<Vec<_>>(),
    });
    let request = GraphRequest::post("/applications", body);
    let mut attempts = 0;
    let app = loop {
        attempts += 1;
        match client.send(op, &request).await {
            Ok(response) => break response.parse::<Application>()?,
            Err(e) if maybe_applied(&e) && attempts < 3 => {
                tracing::warn!(
                    "creating the application may have succeeded despite an error; looking it up: {e}"
                );
                if let Some(found) = find_by_tag(client, op, &marker).await? {
                    break found;
                }
            }
            Err(e) => return Err(e),
        }
    };
    // The marker has served its purpose; it is removed by the next tag update
    // (every update writes the full tag list), so it is not worth a write of its own.
    for owner in later {
        add_owner(client, graph_base, op, &app.id, owner).await?;
    }
    Ok(app)
}

/// Graph may have acted on a request whose answer was lost or was a gateway error.
fn maybe_applied(e: &GraphError) -> bool {
    use super::error::GraphErrorKind;
    e.kind == GraphErrorKind::Transport || matches!(e.status, Some(500 | 502 | 504))
}

async fn find_by_tag(
    client: &GraphClient,
    op: &Operation,
    tag: &str,
) -> Result<Option<Application>, GraphError> {
    // A just-created application may take a moment to appear in lists.
    for delay in [0u64, 1, 2, 4] {
        if delay > 0
            && let Err(kind) = op.wait(std::time::Duration::from_secs(delay)).await
        {
            let e = GraphError::transport(
                "GET /applications".into(),
                "the lookup of a possibly created application was interrupted".into(),
            );
            return Err(GraphError { kind, ..e });
        }
        let page: Collection<Application> = client
            .send(
                op,
                &GraphRequest::get("/applications")
                    .query("$filter", format!("tags/any(t:t eq '{tag}')"))
                    .query(
                        "$select",
                        "id,appId,displayName,tags,requiredResourceAccess",
                    ),
            )
            .await?
            .parse()?;
        if let Some(app) = page.value.into_iter().next() {
            return Ok(Some(app));
        }
    }
    Ok(None)
}

/// Creates the application's service principal (needed before anyone can consent),
/// waiting out `NoBackingApplicationObject` while the new application replicates. An
/// existing one is adopted.
pub async fn ensure_service_principal(
    client: &GraphClient,
    op: &Operation,
    app_id: &str,
    tags: &[String],
) -> Result<(ServicePrincipal, bool), GraphError> {
    let body = json!({"appId": app_id, "tags": tags});
    let request = GraphRequest::post("/servicePrincipals", body).retry_if(|e| {
        e.has_code("NoBackingApplicationObject")
            || (e.is_status(400)
                && e.message
                    .contains("does not reference a valid application object"))
            || (e.is_status(403) && e.message.contains("backing application"))
    });
    match client.send(op, &request).await {
        Ok(r) => Ok((r.parse()?, true)),
        Err(e) if e.is_status(409) => {
            let existing = service_principal_by_app_id(client, op, app_id, false).await?;
            existing.map(|sp| (sp, false)).ok_or(e)
        }
        Err(e) => Err(e),
    }
}

pub async fn service_principal_by_app_id(
    client: &GraphClient,
    op: &Operation,
    app_id: &str,
    with_assignments: bool,
) -> Result<Option<ServicePrincipal>, GraphError> {
    let mut request = GraphRequest::get(format!("/servicePrincipals(appId='{app_id}')"))
        .query("$select", "id,appId,accountEnabled");
    if with_assignments {
        request = request.query("$expand", "appRoleAssignments");
    }
    match client.send(op, &request).await {
        Ok(r) => Ok(Some(r.parse()?)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn graph_service_principal_request() -> GraphRequest {
    GraphRequest::get(format!(
        "/servicePrincipals(appId='{MICROSOFT_GRAPH_APP_ID}')"
    ))
    .query("$select", "id,appId,appRoles")
}

/// What a refresh needs, read in one `$batch` round trip.
pub struct Snapshot {
    pub application: Option<Application>,
    pub service_principal: Option<ServicePrincipal>,
    /// Microsoft Graph's own service principal, when asked for.
    pub graph_service_principal: Option<ServicePrincipal>,
}

pub fn application_request(object_id: &str) -> GraphRequest {
    GraphRequest::get(format!("/applications/{object_id}"))
        .query(
            "$select",
            "id,appId,displayName,tags,requiredResourceAccess",
        )
        .query("$expand", "owners")
}

pub async fn snapshot(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    app_id: &str,
    with_graph_service_principal: bool,
) -> Result<Snapshot, GraphError> {
    let mut requests = vec![
        application_request(object_id),
        GraphRequest::get(format!("/servicePrincipals(appId='{app_id}')"))
            .query("$select", "id,appId,accountEnabled")
            .query("$expand", "appRoleAssignments"),
    ];
    if with_graph_service_principal {
        requests.push(graph_service_principal_request());
    }
    let mut results = client.batch(op, &requests).await.into_iter();
    let not_found_is_none =
        |r: Result<super::client::GraphResponse, GraphError>| -> Result<Option<Json>, GraphError> {
            match r {
                Ok(r) => Ok(Some(r.body)),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        };
    let app = not_found_is_none(results.next().expect("two results"))?;
    let sp = not_found_is_none(results.next().expect("two results"))?;
    let graph_sp = results.next().map(|r| r.map(|r| r.body)).transpose()?;
    fn parse<T: serde::de::DeserializeOwned>(v: Json) -> Result<T, GraphError> {
        serde_json::from_value(v).map_err(|e| GraphError::transport("parse".into(), e.to_string()))
    }
    Ok(Snapshot {
        application: app.map(parse).transpose()?,
        service_principal: sp.map(parse).transpose()?,
        graph_service_principal: graph_sp.map(parse).transpose()?,
    })
}

/// Whether an application is in the directory's deleted items (soft-deleted).
pub async fn is_soft_deleted(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
) -> Result<bool, GraphError> {
    match client
        .send(
            op,
            &GraphRequest::get(format!("/directory/deletedItems/{object_id}")),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn find_application(
    client: &GraphClient,
    op: &Operation,
    id_or_app_id: &str,
) -> Result<Option<(Application, IdKind)>, GraphError> {
    match client.send(op, &application_request(id_or_app_id)).await {
        Ok(r) => return Ok(Some((r.parse()?, IdKind::ObjectId))),
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    let by_app_id = GraphRequest::get(format!("/applications(appId='{id_or_app_id}')"))
        .query(
            "$select",
            "id,appId,displayName,tags,requiredResourceAccess",
        )
        .query("$expand", "owners");
    match client.send(op, &by_app_id).await {
        Ok(r) => Ok(Some((r.parse()?, IdKind::ClientId))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    ObjectId,
    ClientId,
}

/// Writes the application and reads its service principal with its app-role
/// assignments in one `$batch` round trip: the two are independent, and an update
/// needs both. `None` when the application has no service principal yet.
pub async fn update_and_read_consent(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    app_id: &str,
    body: Json,
) -> Result<Option<ServicePrincipal>, GraphError> {
    let requests = [
        GraphRequest::patch(format!("/applications/{object_id}"), body)
            .retry_if(is_replication_lag),
        GraphRequest::get(format!("/servicePrincipals(appId='{app_id}')"))
            .query("$select", "id,appId,accountEnabled")
            .query("$expand", "appRoleAssignments"),
    ];
    let mut results = client.batch(op, &requests).await.into_iter();
    results.next().expect("two results")?;
    match results.next().expect("two results") {
        Ok(r) => Ok(Some(r.parse()?)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn add_owner(
    client: &GraphClient,
    graph_base: &str,
    op: &Operation,
    object_id: &str,
    owner: &str,
) -> Result<(), GraphError> {
    let request = GraphRequest::post(
        format!("/applications/{object_id}/owners/$ref"),
        json!({"@odata.id": directory_object_ref(graph_base, owner)}),
    )
    .retry_if(is_replication_lag);
    match client.send(op, &request).await {
        Ok(_) => Ok(()),
        // Already an owner: the goal is reached.
        Err(e) if e.is_status(400) && e.message.contains("already exist") => Ok(()),
        Err(e) => Err(e),
    }
}

pub async fn remove_owner(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    owner: &str,
) -> Result<(), GraphError> {
    let request = GraphRequest::delete(format!("/applications/{object_id}/owners/{owner}/$ref"));
    match client.send(op, &request).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes the application (Graph soft-deletes it with its service principal) and,
/// if asked, purges both from deleted items.
pub async fn delete_application(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    service_principal_id: Option<&str>,
    purge: bool,
) -> Result<(), GraphError> {
    match client
        .send(
            op,
            &GraphRequest::delete(format!("/applications/{object_id}")),
        )
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    if purge {
        // A deleted item can take a moment to appear; wait for it at most a minute, not
        // the whole delete timeout, and never past it.
        let purge_op = Operation {
            deadline: op
                .deadline
                .min(std::time::Instant::now() + std::time::Duration::from_secs(60)),
            cancelled: op.cancelled.clone(),
        };
        let op = &purge_op;
        for id in std::iter::once(object_id).chain(service_principal_id) {
            // The deleted item may take a moment to appear after the delete.
            let request = GraphRequest::delete(format!("/directory/deletedItems/{id}"))
                .retry_if(is_replication_lag);
            match client.send(op, &request).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) if e.kind == super::error::GraphErrorKind::Deadline && e.is_status(404) => {
                    tracing::warn!(%id, "not found in deleted items within a minute; not purged");
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_the_connectors() {
        let tags = connector_tags(&["outlook-cal".into(), "msft-teams".into()]);
        assert!(tags.contains(&"HideApp".to_owned()));
        assert_eq!(
            connectors_from_tags(&tags),
            vec!["outlook-cal", "msft-teams"]
        );
    }

    #[test]
    fn only_graph_application_roles_count() {
        let app = Application {
            required_resource_access: vec![
                RequiredResourceAccess {
                    resource_app_id: MICROSOFT_GRAPH_APP_ID.into(),
                    resource_access: vec![
                        ResourceAccess {
                            id: "a".into(),
                            kind: "Role".into(),
                        },
                        ResourceAccess {
                            id: "b".into(),
                            kind: "Scope".into(),
                        },
                    ],
                },
                RequiredResourceAccess {
                    resource_app_id: "other".into(),
                    resource_access: vec![ResourceAccess {
                        id: "c".into(),
                        kind: "Role".into(),
                    }],
                },
            ],
            ..Application::default()
        };
        assert_eq!(requested_graph_roles(&app), vec!["a"]);
    }
}
