//! `/directory/deletedItems`: list (with the required type cast), get,
//! restore (200 with the object) and purge (204).

use serde_json::{Value, json};

use super::{Ctx, Seg, entity};
use crate::errors::{GResult, GraphError, Resp};
use crate::odata::Resource;

const APPS: Resource = Resource {
    type_name: "microsoft.graph.application",
    label: "Application",
    entities: &["application"],
    filterable: &["id", "appId", "displayName", "deletedDateTime"],
    expandable: &[],
};
const SPS: Resource = Resource {
    type_name: "microsoft.graph.servicePrincipal",
    label: "ServicePrincipal",
    entities: &["servicePrincipal"],
    filterable: &["id", "appId", "displayName", "deletedDateTime"],
    expandable: &[],
};

pub fn route(ctx: &mut Ctx, segs: &[Seg]) -> GResult {
    let names: Vec<&str> = segs.iter().map(|s| s.name.as_str()).collect();
    let m = ctx.req.method.clone();
    match (names.as_slice(), m.as_str()) {
        (["directory", "deletedItems", "microsoft.graph.application"], "GET") => list(ctx, true),
        (
            [
                "directory",
                "deletedItems",
                "microsoft.graph.servicePrincipal",
            ],
            "GET",
        ) => list(ctx, false),
        (["directory", "deletedItems"], "GET") => Err(GraphError::bad_request(
            "A type cast is required on directory/deletedItems, e.g. directory/deletedItems/microsoft.graph.application.",
        )),
        (["directory", "deletedItems", id], "GET") => {
            let v = find(ctx, id)?;
            Ok(Resp::ok(entity(ctx.context("directoryObjects/$entity"), v)))
        }
        (["directory", "deletedItems", id], "DELETE") => purge(ctx, id),
        (["directory", "deletedItems", id, "restore"], "POST") => restore(ctx, id),
        (["directory", "deletedItems", ..], _) if segs.len() <= 4 => {
            Err(GraphError::method_not_allowed())
        }
        _ => Err(GraphError::segment(
            &segs.last().map(|s| s.raw.clone()).unwrap_or_default(),
        )),
    }
}

fn list(ctx: &mut Ctx, apps: bool) -> GResult {
    let q = ctx.list_query(if apps { &APPS } else { &SPS })?;
    let items: Vec<Value> = if apps {
        ctx.dir
            .applications
            .iter()
            .filter(|a| a.deleted_ms.is_some())
            .map(|a| a.to_graph())
            .collect()
    } else {
        ctx.dir
            .service_principals
            .iter()
            .filter(|s| s.deleted_ms.is_some())
            .map(|s| s.to_graph())
            .collect()
    };
    let items = items.into_iter().filter(|v| q.matches(v)).collect();
    let context = ctx.context(&q.context(if apps {
        "applications"
    } else {
        "servicePrincipals"
    }));
    Ok(Resp::ok(q.page(items, &context, &ctx.self_url())))
}

fn find(ctx: &Ctx, id: &str) -> GResult<Value> {
    if !crate::util::is_guid(id) {
        return Err(GraphError::invalid_id(id));
    }
    if let Some(a) = ctx
        .dir
        .applications
        .iter()
        .find(|a| a.deleted_ms.is_some() && a.id().eq_ignore_ascii_case(id))
    {
        let mut v = a.to_graph();
        v["@odata.type"] = json!("#microsoft.graph.application");
        return Ok(v);
    }
    if let Some(s) = ctx
        .dir
        .service_principals
        .iter()
        .find(|s| s.deleted_ms.is_some() && s.id().eq_ignore_ascii_case(id))
    {
        let mut v = s.to_graph();
        v["@odata.type"] = json!("#microsoft.graph.servicePrincipal");
        return Ok(v);
    }
    Err(GraphError::not_found(id))
}

/// Admins may restore/purge anything; owners their own applications.
fn allowed(ctx: &Ctx, id: &str) -> bool {
    if ctx.who.is_app_admin() {
        return true;
    }
    if let Some(a) = ctx.dir.app(id) {
        return a.owners.contains(&ctx.who.oid);
    }
    if let Some(s) = ctx.dir.sp(id) {
        return ctx
            .dir
            .applications
            .iter()
            .any(|a| a.app_id() == s.app_id() && a.owners.contains(&ctx.who.oid));
    }
    false
}

fn restore(ctx: &mut Ctx, id: &str) -> GResult {
    find(ctx, id)?;
    if !allowed(ctx, id) {
        return Err(GraphError::denied());
    }
    let id = id.to_ascii_lowercase();
    if let Some(app) = ctx.dir.app(&id).cloned() {
        let when = app.deleted_ms;
        if let Some(a) = ctx.dir.app_mut(&id) {
            a.deleted_ms = None;
        }
        // The SP deleted together with the app comes back with it (same deletion time).
        let live_sp = ctx.dir.live_sp_by_app_id(app.app_id()).is_some();
        if !live_sp
            && let Some(sp) = ctx.dir.service_principals.iter_mut().find(|s| {
                s.app_id() == app.app_id() && s.deleted_ms.is_some() && s.deleted_ms == when
            })
        {
            sp.deleted_ms = None;
        }
        let mut v = ctx.dir.app(&id).map(|a| a.to_graph()).unwrap_or_default();
        v["@odata.type"] = json!("#microsoft.graph.application");
        return Ok(Resp::ok(entity(ctx.context("directoryObjects/$entity"), v)));
    }
    let sp = ctx
        .dir
        .sp(&id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&id))?;
    if ctx.dir.live_sp_by_app_id(sp.app_id()).is_some() {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            format!(
                "The service principal cannot be created, updated, or restored because the service principal name {} is already in use.",
                sp.app_id()
            ),
        ));
    }
    if ctx.dir.live_app_by_app_id(sp.app_id()).is_none()
        && ctx
            .dir
            .applications
            .iter()
            .any(|a| a.app_id() == sp.app_id())
    {
        return Err(GraphError::bad_request(format!(
            "The appId '{}' of the service principal does not reference a valid application object.",
            sp.app_id()
        ))
        .with_detail("NoBackingApplicationObject", "The backing application is deleted.", "appId"));
    }
    if let Some(s) = ctx.dir.sp_mut(&id) {
        s.deleted_ms = None;
    }
    let mut v = ctx.dir.sp(&id).map(|s| s.to_graph()).unwrap_or_default();
    v["@odata.type"] = json!("#microsoft.graph.servicePrincipal");
    Ok(Resp::ok(entity(ctx.context("directoryObjects/$entity"), v)))
}

fn purge(ctx: &mut Ctx, id: &str) -> GResult {
    find(ctx, id)?;
    if !allowed(ctx, id) {
        return Err(GraphError::denied());
    }
    let id = id.to_ascii_lowercase();
    let mut sp_ids: Vec<String> = Vec::new();
    if let Some(app) = ctx.dir.app(&id).cloned() {
        ctx.dir.applications.retain(|a| a.id() != id);
        // The app's soft-deleted SP goes with it.
        sp_ids.extend(
            ctx.dir
                .service_principals
                .iter()
                .filter(|s| s.app_id() == app.app_id() && s.deleted_ms.is_some())
                .map(|s| s.id().to_string()),
        );
    } else {
        sp_ids.push(id.clone());
    }
    ctx.dir
        .service_principals
        .retain(|s| !sp_ids.iter().any(|x| x == s.id()));
    ctx.dir.assignments.retain(|a| {
        !sp_ids
            .iter()
            .any(|x| x == a.get("principalId") || x == a.get("resourceId"))
    });
    Ok(Resp::no_content())
}
