//! Entra ID applications and their service principals, the way Graph wants them
//! handled: creates that cannot leave an unknown duplicate behind, reads that cost one
//! round trip, and waits for the replication lag Graph documents after a write.

use super::client::{GraphClient, GraphRequest, Operation};
use super::consistency::{
    FIND_OUT_BUDGET, Settle, may_have_acted, no_backing_application, not_found,
};
use super::error::GraphError;
use super::models::{
    Application, DirectoryObject, RequiredResourceAccess, ResourceAccess, ServicePrincipal,
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

pub struct NewApplication<'a> {
    pub display_name: &'a str,
    pub tags: Vec<String>,
    pub app_role_ids: Vec<String>,
    pub owners: Vec<String>,
}

/// How many times a create whose answer was lost is sent again, after looking for
/// what the earlier one did.
const CREATE_ATTEMPTS: u32 = 3;

/// Creates the application with up to 20 owners bound (`owners@odata.bind` takes no
/// more; [`add_owner`] adds the rest). If Graph's answer is lost, the application is
/// looked up by a one-time marker tag before anything is sent again, even after
/// Stop, so that a retry never leaves an application state does not know about.
pub async fn create_application(
    client: &GraphClient,
    graph_base: &str,
    op: &Operation,
    new: &NewApplication<'_>,
) -> Result<Application, GraphError> {
    let marker = format!("{CREATE_MARKER_PREFIX}{}", uuid::Uuid::new_v4());
    let mut tags = new.tags.clone();
    tags.push(marker.clone());
    let bound = &new.owners[..new.owners.len().min(MAX_BOUND_OWNERS)];
    let body = json!({
        "displayName": new.display_name,
        "signInAudience": "AzureADMyOrg",
        "tags": tags,
        "requiredResourceAccess": graph_role_access(&new.app_role_ids),
        "owners@odata.bind": bound.iter().map(|o| directory_object_ref(graph_base, o)).collect::<Vec<_>>(),
    });
    let request = GraphRequest::post("/applications", body);
    let mut lost = None;
    for _ in 0..CREATE_ATTEMPTS {
        let answer = client.send(op, &request).await;
        let error = match answer.and_then(|r| r.parse::<Application>()) {
            Ok(app) if lost.is_none() => return Ok(app),
            // An earlier attempt may have created one too: keep this one only.
            Ok(app) => return remove_duplicates(client, op, &marker, app).await,
            Err(e) if may_have_acted(&e) => e,
            // Whatever ends the create after a lost answer, the user needs the marker.
            Err(e) if lost.is_some() => return Err(with_marker(e, &marker)),
            Err(e) => return Err(e),
        };
        tracing::warn!("the answer to creating the application was lost; looking it up: {error}");
        let finding_out = op.finding_out(FIND_OUT_BUDGET);
        match find_by_tag(client, &finding_out, &marker).await {
            Ok(Some(app)) => return Ok(app),
            Ok(None) => {}
            Err(e) => return Err(with_marker(e, &marker)),
        }
        lost = Some(error);
        if op.is_cancelled() || op.remaining().is_zero() {
            break;
        }
    }
    let error = lost.expect("the loop ends early only after a lost answer");
    Err(with_marker(error, &marker))
}

/// An error after which an application may exist that state cannot know: how to find
/// it by the marker its create carried.
fn with_marker(error: GraphError, marker: &str) -> GraphError {
    GraphError {
        message: format!(
            "{} The application may exist nonetheless: it would carry the tag {marker} \
             (Entra admin center, App registrations, search by that tag, or `GET \
             /applications?$filter=tags/any(t:t eq '{marker}')`). If it does, adopt it \
             with `terraform import` instead of applying again, which would create a \
             second one.",
            error.message
        ),
        ..error
    }
}

/// `owners@odata.bind` on a create takes at most 20 owners.
pub const MAX_BOUND_OWNERS: usize = 20;

async fn find_by_tag(
    client: &GraphClient,
    op: &Operation,
    tag: &str,
) -> Result<Option<Application>, GraphError> {
    let request = GraphRequest::get("/applications")
        .query("$filter", format!("tags/any(t:t eq '{tag}')"))
        .query("$select", APPLICATION_FIELDS);
    // A just-created application may take a moment to appear in lists.
    let mut settle = Settle::within(FIND_OUT_BUDGET, "GET /applications by marker tag");
    loop {
        let found: Vec<Application> = client.list(op, request.clone()).await?;
        if let Some(app) = found.into_iter().next() {
            return Ok(Some(app));
        }
        if !settle.again(op).await? {
            return Ok(None);
        }
    }
}

/// After a create was sent again, the first may have been acted on too: every other
/// application carrying this create's marker is removed, so exactly one exists. The
/// kept application exists whatever happens here, so a failure is a warning, never an
/// error that would lose it.
async fn remove_duplicates(
    client: &GraphClient,
    op: &Operation,
    marker: &str,
    kept: Application,
) -> Result<Application, GraphError> {
    let finding_out = op.finding_out(FIND_OUT_BUDGET);
    let request = GraphRequest::get("/applications")
        .query("$filter", format!("tags/any(t:t eq '{marker}')"))
        .query("$select", "id");
    let found: Vec<DirectoryObject> = match client.list(&finding_out, request).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("could not look for a duplicate application carrying {marker}: {e}");
            return Ok(kept);
        }
    };
    for other in found
        .iter()
        .filter(|a| !a.id.eq_ignore_ascii_case(&kept.id))
    {
        tracing::warn!(object_id = %other.id, "deleting a duplicate application left by a lost create answer");
        let delete = GraphRequest::delete(format!("/applications/{}", other.id))
            .ride_lag_for(not_found, DELETE_LAG_BUDGET);
        if let Err(e) = client.send(&finding_out, &delete).await {
            tracing::warn!(object_id = %other.id, "could not delete a duplicate application carrying {marker}: {e}");
        }
    }
    Ok(kept)
}

/// How long a delete waits out a 404 that may be replication lag (an application
/// created moments ago) before taking it as "already deleted".
const DELETE_LAG_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Creates the application's service principal (needed before anyone can consent),
/// waiting out `NoBackingApplicationObject` while a new application replicates. One
/// that exists is adopted: Graph refuses a second one for the same application (409),
/// so the create is sent again safely after a lost answer, and after a lost answer
/// that cannot be resent (Stop) the provider looks it up instead. `true` when created.
pub async fn ensure_service_principal(
    client: &GraphClient,
    op: &Operation,
    app_id: &str,
    tags: &[String],
) -> Result<(ServicePrincipal, bool), GraphError> {
    let body = json!({"appId": app_id, "tags": tags});
    let request = GraphRequest::post("/servicePrincipals", body)
        .keyed()
        .ride_lag(no_backing_application);
    let error = match client.send(op, &request).await.and_then(|r| r.parse()) {
        Ok(sp) => return Ok((sp, true)),
        Err(e) => e,
    };
    if !(error.is_status(409) || may_have_acted(&error)) {
        return Err(error);
    }
    // It exists (409), or may: it is found by its application's appId, and a
    // 409 means it exists even if the replica read first has not seen it yet.
    let finding_out = op.finding_out(FIND_OUT_BUDGET);
    let lookup = service_principal_request(app_id, false).ride_lag(not_found);
    match client.send(&finding_out, &lookup).await {
        Ok(r) => {
            let created = !error.is_status(409) || error.acted_unknown;
            Ok((r.parse()?, created))
        }
        Err(e) if e.is_not_found() => Err(error),
        Err(e) => Err(e),
    }
}

fn service_principal_request(app_id: &str, with_assignments: bool) -> GraphRequest {
    let request = GraphRequest::get(format!("/servicePrincipals(appId='{app_id}')"))
        .query("$select", "id,appId,accountEnabled");
    if with_assignments {
        request.query("$expand", "appRoleAssignments")
    } else {
        request
    }
}

pub async fn service_principal_by_app_id(
    client: &GraphClient,
    op: &Operation,
    app_id: &str,
    with_assignments: bool,
) -> Result<Option<ServicePrincipal>, GraphError> {
    match client
        .send(op, &service_principal_request(app_id, with_assignments))
        .await
    {
        Ok(r) => {
            let mut sp = r.parse()?;
            complete_assignments(client, op, &mut sp).await?;
            Ok(Some(sp))
        }
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

/// The application properties the provider reads.
pub(crate) const APPLICATION_FIELDS: &str = "id,appId,displayName,tags,requiredResourceAccess";

pub fn application_request(object_id: &str) -> GraphRequest {
    GraphRequest::get(format!("/applications/{object_id}"))
        .query("$select", APPLICATION_FIELDS)
        .query("$expand", "owners")
}

/// Reads application and service principal in one round trip; with `known` (the
/// application as the inventory listed it moments ago) only the service principal
/// is read.
pub async fn snapshot(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    app_id: &str,
    with_graph_service_principal: bool,
    known: Option<&Application>,
) -> Result<Snapshot, GraphError> {
    let mut requests = Vec::with_capacity(3);
    if known.is_none() {
        requests.push(application_request(object_id));
    }
    requests.push(service_principal_request(app_id, true));
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
    fn parse<T: serde::de::DeserializeOwned>(v: Json) -> Result<T, GraphError> {
        serde_json::from_value(v).map_err(|e| GraphError::transport("parse".into(), e.to_string()))
    }
    let mut application: Option<Application> = match known {
        // The inventory serves an application only with all its owners.
        Some(app) => Some(app.clone()),
        None => not_found_is_none(results.next().expect("an application result"))?
            .map(parse)
            .transpose()?,
    };
    let sp = not_found_is_none(results.next().expect("a service principal result"))?;
    let graph_sp = results.next().map(|r| r.map(|r| r.body)).transpose()?;
    // Graph expands at most 20 owners: read them all where there may be more.
    if let Some(app) = &mut application
        && app
            .owners
            .as_ref()
            .is_some_and(|o| o.len() >= super::inventory::EXPANDED_LIMIT)
    {
        let owners =
            GraphRequest::get(format!("/applications/{object_id}/owners")).query("$select", "id");
        app.owners = Some(client.list(op, owners).await?);
    }
    Ok(Snapshot {
        application,
        service_principal: match sp.map(parse).transpose()? {
            Some(mut sp) => {
                complete_assignments(client, op, &mut sp).await?;
                Some(sp)
            }
            None => None,
        },
        graph_service_principal: graph_sp.map(parse).transpose()?,
    })
}

/// Reads application and service principal, riding replication lag: a missing
/// application is gone (`None`) only if it is in deleted items or stays missing
/// through [`Settle::read_window`]; a service principal state knows of that is
/// missing is looked for through the same window before the snapshot says it is gone.
pub async fn snapshot_riding_lag(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    client_id: &str,
    with_graph_service_principal: bool,
    expect_service_principal: bool,
    listed: Option<&Application>,
) -> Result<Option<Snapshot>, GraphError> {
    let mut settle = Settle::read_window(format!("GET /applications/{object_id}"));
    let mut graph_sp = None;
    let mut checked_deleted_items = false;
    // An application seen once exists: a later look's 404 is a lagging replica.
    let mut seen: Option<Snapshot> = None;
    loop {
        let mut snapshot = snapshot(
            client,
            op,
            object_id,
            client_id,
            with_graph_service_principal && graph_sp.is_none(),
            listed,
        )
        .await?;
        // Read once, whichever look it came with.
        graph_sp = graph_sp.or(snapshot.graph_service_principal.take());
        snapshot.graph_service_principal = graph_sp.clone();
        let complete = snapshot.service_principal.is_some() || !expect_service_principal;
        match &snapshot.application {
            Some(_) if complete => return Ok(Some(snapshot)),
            Some(_) => seen = Some(snapshot),
            // Deleted items are asked once: an application deleted while its 404 is
            // being waited out is found gone at the end of the window anyway.
            None if seen.is_none() && !checked_deleted_items => {
                checked_deleted_items = true;
                if is_soft_deleted(client, op, object_id).await? {
                    return Ok(None);
                }
            }
            None => {}
        }
        if !settle.again(op).await? {
            return Ok(seen);
        }
    }
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
        .query("$select", APPLICATION_FIELDS)
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
        GraphRequest::patch(format!("/applications/{object_id}"), body).ride_lag(not_found),
        service_principal_request(app_id, true),
    ];
    let mut results = client.batch(op, &requests).await.into_iter();
    results.next().expect("two results")?;
    // The application is written; a service principal that cannot be read now is
    // looked for again by the caller (a create answering 409 finds it).
    let read = match results.next().expect("two results") {
        Ok(r) => r.parse().map(Some),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    };
    match read {
        Ok(Some(mut sp)) => match complete_assignments(client, op, &mut sp).await {
            Ok(()) => Ok(Some(sp)),
            Err(e) => {
                tracing::warn!("could not list the service principal's app-role assignments: {e}");
                Ok(None)
            }
        },
        Ok(None) => Ok(None),
        Err(e) => {
            tracing::warn!(
                "could not read the service principal after writing the application: {e}"
            );
            Ok(None)
        }
    }
}

/// Graph expands at most 20 related objects: a service principal showing that many
/// app-role assignments may hold more, so they are listed in full.
async fn complete_assignments(
    client: &GraphClient,
    op: &Operation,
    sp: &mut ServicePrincipal,
) -> Result<(), GraphError> {
    if sp
        .app_role_assignments
        .as_ref()
        .is_some_and(|a| a.len() >= super::inventory::EXPANDED_LIMIT)
    {
        let all = GraphRequest::get(format!("/servicePrincipals/{}/appRoleAssignments", sp.id));
        sp.app_role_assignments = Some(client.list(op, all).await?);
    }
    Ok(())
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
    // Graph refuses a second reference to the same owner, so resending is safe.
    .keyed()
    .ride_lag(not_found);
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
    // A 404 may be a replica that has not seen an application created moments ago
    // (a replacement right after a create): waited out briefly before "already gone".
    let delete = GraphRequest::delete(format!("/applications/{object_id}"))
        .ride_lag_for(not_found, DELETE_LAG_BUDGET);
    match client.send(op, &delete).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    if purge {
        // A deleted item can take a moment to appear; wait for it at most a minute, not
        // the whole delete timeout, and never past it.
        let op = &op.within(std::time::Duration::from_secs(60));
        for id in std::iter::once(object_id).chain(service_principal_id) {
            // The deleted item may take a moment to appear after the delete.
            let request =
                GraphRequest::delete(format!("/directory/deletedItems/{id}")).ride_lag(not_found);
            match client.send(op, &request).await {
                Ok(_) => {}
                // Already purged, or still not listed after a minute of waiting.
                Err(e) if e.is_status(404) => {
                    tracing::warn!(%id, "not found in deleted items; not purged");
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
