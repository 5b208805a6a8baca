//! `/servicePrincipals`: create from an appId (with NoBackingApplicationObject
//! and duplicate errors), read/patch/delete by id or `(appId='…')`, and
//! app-role assignments from both ends (`appRoleAssignments`, `appRoleAssignedTo`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::{Ctx, Keyed, Seg, entity, resolve_keyed};
use crate::auth::Principal;
use crate::errors::{GResult, GraphError, Resp};
use crate::odata::{Query, Resource};
use crate::schema::schema;
use crate::state::{Assignment, GRAPH_APP_ID, ServicePrincipal, new_sp_data};
use crate::util::{graph_time, is_guid, new_guid};

pub const RESOURCE: Resource = Resource {
    type_name: "microsoft.graph.servicePrincipal",
    label: "ServicePrincipal",
    entities: &["servicePrincipal"],
    filterable: &[
        "id",
        "appId",
        "displayName",
        "tags",
        "servicePrincipalNames",
        "accountEnabled",
        "servicePrincipalType",
        "appOwnerOrganizationId",
    ],
    expandable: &["appRoleAssignments", "appRoleAssignedTo", "owners"],
};

const ASSIGNMENT_RESOURCE: Resource = Resource {
    type_name: "microsoft.graph.appRoleAssignment",
    label: "AppRoleAssignment",
    entities: &["appRoleAssignment"],
    filterable: &[
        "id",
        "appRoleId",
        "principalId",
        "resourceId",
        "principalType",
    ],
    expandable: &[],
};

/// Resolves `servicePrincipals/{id}` or `servicePrincipals(appId='…')` to a live SP id.
pub fn resolve(ctx: &mut Ctx, segs: &[Seg], own_read: bool) -> GResult<String> {
    const SERVICE_PRINCIPALS: Keyed = Keyed {
        collection: "servicePrincipals",
        by_app_id: |dir, app_id| dir.live_sp_by_app_id(app_id).map(|s| s.id().to_string()),
        by_id: |dir, id| {
            dir.sp(id)
                .filter(|s| s.deleted_ms.is_none())
                .map(|s| s.id().to_string())
        },
    };
    resolve_keyed(ctx, segs, own_read, &SERVICE_PRINCIPALS)
}

pub fn route(ctx: &mut Ctx, segs: &[Seg]) -> GResult {
    let m = ctx.req.method.clone();
    if segs[0].key.is_none() && segs.len() == 1 {
        return match m.as_str() {
            "GET" => list(ctx),
            "POST" => create(ctx),
            _ => Err(GraphError::method_not_allowed()),
        };
    }
    if segs[0].key.is_none() && segs[1].name == "$count" {
        if !ctx.eventual() {
            return Err(GraphError::bad_request(
                "$count is not currently supported.",
            ));
        }
        let n = ctx
            .dir
            .service_principals
            .iter()
            .filter(|s| s.deleted_ms.is_none())
            .count();
        return Ok(Resp {
            status: 200,
            headers: vec![],
            body: crate::errors::Body::Text(n.to_string()),
        });
    }
    let rest_at = if segs[0].key.is_some() { 1 } else { 2 };
    let rest = &segs[rest_at.min(segs.len())..];
    let sub = rest.first().map(|s| s.name.as_str());
    match (sub, m.as_str()) {
        (None, "GET") => {
            let id = resolve(ctx, segs, true)?;
            get(ctx, &id)
        }
        (None, "PATCH") => {
            let id = resolve(ctx, segs, true)?;
            patch(ctx, &id)
        }
        (None, "DELETE") => {
            let id = resolve(ctx, segs, false)?;
            delete(ctx, &id)
        }
        (None, _) => Err(GraphError::method_not_allowed()),
        (Some(nav @ ("appRoleAssignments" | "appRoleAssignedTo")), _) => {
            let id = resolve(ctx, segs, false)?;
            let nav = nav.to_string();
            assignments(ctx, &id, &nav, &rest[1..])
        }
        (Some("owners"), _) => {
            let id = resolve(ctx, segs, false)?;
            super::owners::route(ctx, super::owners::Owned::Sp(&id), &rest[1..])
        }
        (Some(_), _) => Err(GraphError::segment(&rest[0].raw)),
    }
}

fn view(ctx: &Ctx, sp: &ServicePrincipal, q: &Query) -> Value {
    let mut v = sp.to_graph();
    for nav in &q.expand {
        match nav.as_str() {
            "appRoleAssignments" => {
                v[nav] = Value::Array(assignment_list(ctx, sp.id(), "principalId"))
            }
            "appRoleAssignedTo" => {
                v[nav] = Value::Array(assignment_list(ctx, sp.id(), "resourceId"))
            }
            "owners" => {
                v[nav] = Value::Array(
                    sp.owners
                        .iter()
                        .filter_map(|o| ctx.dir.directory_object(o))
                        .collect(),
                )
            }
            _ => {}
        }
    }
    v
}

fn assignment_list(ctx: &Ctx, sp_id: &str, side: &str) -> Vec<Value> {
    ctx.dir
        .assignments
        .iter()
        .filter(|a| a.get(side) == sp_id && ctx.dir.assignment_live(a))
        .map(|a| Value::Object(a.data.clone()))
        .collect()
}

fn list(ctx: &mut Ctx) -> GResult {
    let q = ctx.list_query(&RESOURCE)?;
    let ids: Vec<String> = ctx
        .dir
        .service_principals
        .iter()
        .filter(|s| s.deleted_ms.is_none())
        .map(|s| s.id().to_string())
        .collect();
    let mut items = Vec::new();
    for id in ids {
        if ctx.lagging(&id) {
            continue;
        }
        let Some(sp) = ctx.dir.sp(&id) else { continue };
        let v = view(ctx, sp, &q);
        if q.matches(&v) {
            items.push(v);
        }
    }
    let context = ctx.context(&q.context("servicePrincipals"));
    Ok(Resp::ok(q.page(items, &context, &ctx.self_url())))
}

fn get(ctx: &mut Ctx, id: &str) -> GResult {
    let q = ctx.entity_query(&RESOURCE)?;
    let sp = ctx.dir.sp(id).ok_or_else(|| GraphError::not_found(id))?;
    let v = q.project(view(ctx, sp, &q));
    Ok(Resp::ok(entity(
        ctx.context(&format!("{}/$entity", q.context("servicePrincipals"))),
        v,
    )))
}

/// Graph's contract for a service principal body (declared, writable, typed);
/// `owners@odata.bind` only at create.
fn validate_body(body: &Map<String, Value>, create: bool) -> GResult<()> {
    schema().check_body("servicePrincipal", "ServicePrincipal", body, create)
}

fn no_backing(app_id: &str) -> GraphError {
    GraphError::bad_request(format!(
        "The appId '{app_id}' of the service principal does not reference a valid application object."
    ))
    .with_detail("NoBackingApplicationObject", "The service principal cannot be created because its application object does not exist.", "appId")
}

fn create(ctx: &mut Ctx) -> GResult {
    let mut body = ctx.body()?;
    let app_id = body
        .remove("appId")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| GraphError::invalid_value("appId", "ServicePrincipal"))?;
    validate_body(&body, true)?;
    let owners = super::owners::bind(ctx, &mut body, "ServicePrincipal")?;
    let app = ctx.dir.live_app_by_app_id(&app_id).cloned();
    let Some(app) = app else {
        return Err(no_backing(&app_id));
    };
    if !(ctx.who.is_app_admin() || app.owners.contains(&ctx.who.oid)) {
        return Err(GraphError::denied());
    }
    if ctx.faults.backing_missing(&app_id) {
        ctx.fault = Some("no_backing_application");
        return Err(no_backing(&app_id));
    }
    if ctx.dir.live_sp_by_app_id(&app_id).is_some() {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            format!(
                "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."
            ),
        ));
    }
    let id = new_guid();
    let tenant = ctx.dir.tenant_id.clone();
    let mut data = new_sp_data(&id, &app.data, &tenant);
    for (k, v) in body {
        if !k.starts_with('@') {
            data.insert(k, v);
        }
    }
    let seq = ctx.dir.next_seq();
    let sp = ServicePrincipal {
        data,
        roles: vec![],
        owners,
        deleted_ms: None,
        seq,
    };
    let v = sp.to_graph();
    ctx.dir.service_principals.push(sp);
    ctx.faults.created(&id, ctx.now);
    Ok(Resp::created(entity(
        ctx.context("servicePrincipals/$entity"),
        v,
    )))
}

/// Admins, owners of the backing app, and owners of the SP may change it.
fn can_manage_sp(ctx: &Ctx, sp_id: &str) -> bool {
    if ctx.who.is_app_admin() {
        return true;
    }
    let Some(sp) = ctx.dir.sp(sp_id) else {
        return false;
    };
    sp.owners.contains(&ctx.who.oid)
        || ctx
            .dir
            .live_app_by_app_id(sp.app_id())
            .map(|a| a.owners.contains(&ctx.who.oid))
            .unwrap_or(false)
}

fn patch(ctx: &mut Ctx, id: &str) -> GResult {
    let body = ctx.body()?;
    if !can_manage_sp(ctx, id) {
        return Err(GraphError::denied());
    }
    validate_body(&body, false)?;
    let sp = ctx
        .dir
        .sp_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    for (k, v) in body {
        if !k.starts_with('@') {
            sp.data.insert(k, v);
        }
    }
    Ok(Resp::no_content())
}

fn delete(ctx: &mut Ctx, id: &str) -> GResult {
    if !can_manage_sp(ctx, id) {
        return Err(GraphError::denied());
    }
    let now = ctx.now;
    let sp = ctx
        .dir
        .sp_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    sp.deleted_ms = Some(now);
    Ok(Resp::no_content())
}

/// Opaque assignment ids look like `41W1zT6z1U-kJxf62svfp1HFE8pMZhxDun-ThPczmJE`.
fn assignment_id() -> String {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    b[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(b)
}

/// Who may assign roles of `resource_id`: Graph's roles need a Privileged Role
/// Administrator (admin consent); other resources an app admin or the resource's owner.
fn can_assign(ctx: &Ctx, who: &Principal, resource_id: &str) -> bool {
    let Some(res) = ctx.dir.sp(resource_id) else {
        return false;
    };
    if res.app_id() == GRAPH_APP_ID {
        return who.can_grant_graph();
    }
    who.can_grant_graph()
        || who.is_app_admin()
        || ctx
            .dir
            .live_app_by_app_id(res.app_id())
            .map(|a| a.owners.contains(&who.oid))
            .unwrap_or(false)
}

fn assignments(ctx: &mut Ctx, sp_id: &str, nav: &str, rest: &[Seg]) -> GResult {
    let m = ctx.req.method.clone();
    // The side of the assignment that the URL's SP stands on.
    let side = if nav == "appRoleAssignments" {
        "principalId"
    } else {
        "resourceId"
    };
    match (rest.first(), m.as_str()) {
        (None, "GET") => {
            let q = ctx.list_query(&ASSIGNMENT_RESOURCE)?;
            let all = assignment_list(ctx, sp_id, side);
            let mut items = Vec::new();
            for v in all {
                if ctx.lagging(v["id"].as_str().unwrap_or_default()) {
                    continue;
                }
                if q.matches(&v) {
                    items.push(v);
                }
            }
            let context = ctx.context(&q.context(&format!("servicePrincipals('{sp_id}')/{nav}")));
            Ok(Resp::ok(q.page(items, &context, &ctx.self_url())))
        }
        (None, "POST") => {
            let body = ctx.body()?;
            let v = create_assignment(ctx, &body, Some((side, sp_id)))?;
            let context = ctx.context(&format!("servicePrincipals('{sp_id}')/{nav}/$entity"));
            Ok(Resp::created(entity(context, v)))
        }
        (None, _) => Err(GraphError::method_not_allowed()),
        (Some(seg), meth) if rest.len() == 1 => {
            let aid = seg.name.clone();
            let found = ctx
                .dir
                .assignments
                .iter()
                .find(|a| a.get("id") == aid && a.get(side) == sp_id && ctx.dir.assignment_live(a))
                .cloned()
                .ok_or_else(|| GraphError::not_found(&aid))?;
            match meth {
                "GET" => {
                    let q = ctx.entity_query(&ASSIGNMENT_RESOURCE)?;
                    if ctx.lagging(&aid) {
                        return Err(GraphError::not_found(&aid));
                    }
                    let context =
                        ctx.context(&format!("servicePrincipals('{sp_id}')/{nav}/$entity"));
                    Ok(Resp::ok(entity(
                        context,
                        q.project(Value::Object(found.data)),
                    )))
                }
                "DELETE" => {
                    if !can_assign(ctx, &ctx.who, found.get("resourceId")) {
                        return Err(GraphError::denied());
                    }
                    ctx.dir.assignments.retain(|a| a.get("id") != aid);
                    Ok(Resp::no_content())
                }
                _ => Err(GraphError::method_not_allowed()),
            }
        }
        (Some(_), _) => Err(GraphError::segment(
            &rest.last().map(|s| s.raw.clone()).unwrap_or_default(),
        )),
    }
}

/// Creates an app-role assignment after Graph's checks. `fixed` = the URL's
/// SP and which side it must be on. Shared with the admin consent endpoint.
pub fn create_assignment(
    ctx: &mut Ctx,
    body: &Map<String, Value>,
    fixed: Option<(&str, &str)>,
) -> GResult<Value> {
    schema().check_body("appRoleAssignment", "AppRoleAssignment", body, true)?;
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let principal_id = s("principalId")
        .ok_or_else(|| GraphError::invalid_value("principalId", "AppRoleAssignment"))?;
    let resource_id = s("resourceId")
        .ok_or_else(|| GraphError::invalid_value("resourceId", "AppRoleAssignment"))?;
    let app_role_id = s("appRoleId")
        .ok_or_else(|| GraphError::invalid_value("appRoleId", "AppRoleAssignment"))?;
    for (k, v) in [
        ("principalId", &principal_id),
        ("resourceId", &resource_id),
        ("appRoleId", &app_role_id),
    ] {
        if !is_guid(v) {
            return Err(GraphError::invalid_value(k, "AppRoleAssignment"));
        }
    }
    if let Some((side, id)) = fixed {
        let given = if side == "principalId" {
            &principal_id
        } else {
            &resource_id
        };
        if !given.eq_ignore_ascii_case(id) {
            return Err(GraphError::bad_request(format!(
                "The {side} in the request body does not match the service principal in the request URL."
            )));
        }
    }
    let principal = ctx
        .dir
        .sp(&principal_id)
        .filter(|s| s.deleted_ms.is_none())
        .cloned();
    let user = ctx
        .dir
        .users
        .iter()
        .find(|u| u.id.eq_ignore_ascii_case(&principal_id))
        .cloned();
    let (p_name, p_type, p_id) = match (&principal, &user) {
        (Some(sp), _) => (
            sp.display_name().to_string(),
            "ServicePrincipal",
            sp.id().to_string(),
        ),
        (None, Some(u)) => (u.display_name.clone(), "User", u.id.clone()),
        _ => return Err(GraphError::not_found(&principal_id)),
    };
    let resource = ctx
        .dir
        .sp(&resource_id)
        .filter(|s| s.deleted_ms.is_none())
        .cloned()
        .ok_or_else(|| GraphError::not_found(&resource_id))?;
    if ctx.lagging_parent(&p_id) || ctx.lagging_parent(resource.id()) {
        return Err(GraphError::not_found(&p_id));
    }
    if !can_assign(ctx, &ctx.who, resource.id()) {
        return Err(GraphError::denied());
    }
    let member_type = if p_type == "User" {
        "User"
    } else {
        "Application"
    };
    let role_ok = app_role_id == "00000000-0000-0000-0000-000000000000"
        || resource
            .data
            .get("appRoles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|r| {
                r["id"]
                    .as_str()
                    .map(|i| i.eq_ignore_ascii_case(&app_role_id))
                    .unwrap_or(false)
                    && r["isEnabled"].as_bool().unwrap_or(true)
                    && r["allowedMemberTypes"]
                        .as_array()
                        .map(|t| t.iter().any(|x| x.as_str() == Some(member_type)))
                        .unwrap_or(false)
            });
    if !role_ok {
        return Err(GraphError::bad_request(format!(
            "Permission being assigned was not found on application '{}'.",
            resource.app_id()
        ))
        .with_detail(
            "InvalidAppRoleId",
            "The appRoleId does not exist on the resource service principal.",
            "appRoleId",
        ));
    }
    let dup = ctx.dir.assignments.iter().any(|a| {
        a.get("principalId").eq_ignore_ascii_case(&p_id)
            && a.get("resourceId") == resource.id()
            && a.get("appRoleId").eq_ignore_ascii_case(&app_role_id)
    });
    if dup {
        return Err(GraphError::bad_request(
            "Permission being assigned already exists on the object",
        ));
    }
    let id = assignment_id();
    let v = json!({
        "id": id,
        "deletedDateTime": null,
        "appRoleId": app_role_id.to_ascii_lowercase(),
        "createdDateTime": graph_time(ctx.now),
        "principalDisplayName": p_name,
        "principalId": p_id,
        "principalType": p_type,
        "resourceDisplayName": resource.display_name(),
        "resourceId": resource.id(),
    });
    let seq = ctx.dir.next_seq();
    let data = v.as_object().cloned().unwrap_or_default();
    ctx.dir.assignments.push(Assignment { data, seq });
    ctx.faults.created(&id, ctx.now);
    Ok(v)
}
