//! Owners of applications and service principals: `owners@odata.bind` at
//! create, `GET …/owners`, `GET …/owners/$ref`, `POST …/owners/$ref`,
//! `DELETE …/owners/{id}/$ref` (msgraph-behaviour A4).

use serde_json::{Map, Value, json};

use super::{Ctx, Seg};
use crate::auth::Kind;
use crate::errors::{GResult, GraphError, Resp};
use crate::odata::Resource;
use crate::util::is_guid;

/// Whose owners a request is about.
#[derive(Clone, Copy)]
pub enum Owned<'a> {
    App(&'a str),
    Sp(&'a str),
}

const OWNER_RESOURCE: Resource = Resource {
    type_name: "microsoft.graph.directoryObject",
    label: "DirectoryObject",
    entities: &["directoryObject", "user", "servicePrincipal", "application"],
    filterable: &["id", "displayName", "userPrincipalName", "appId"],
    expandable: &[],
};

/// Extracts the object id from `https://graph.microsoft.com/v1.0/directoryObjects/{id}`.
pub fn ref_id(url: &str) -> GResult<String> {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or_default();
    let candidate =
        if last.starts_with("Microsoft.DirectoryServices") || last.starts_with("microsoft.graph") {
            trimmed.rsplit('/').nth(1).unwrap_or_default()
        } else {
            last
        };
    let candidate = candidate
        .trim_start_matches("directoryObjects('")
        .trim_end_matches("')");
    if is_guid(candidate) {
        Ok(candidate.to_ascii_lowercase())
    } else {
        Err(GraphError::invalid_id(url))
    }
}

/// Users and service principals can own applications and service principals.
fn owner_exists(ctx: &Ctx, id: &str) -> bool {
    ctx.dir
        .user(id)
        .map(|u| u.id.eq_ignore_ascii_case(id))
        .unwrap_or(false)
        || ctx
            .dir
            .sp(id)
            .map(|s| s.deleted_ms.is_none())
            .unwrap_or(false)
}

/// Canonical casing of an owner id as stored in the directory.
fn canonical(ctx: &Ctx, id: &str) -> String {
    if let Some(u) = ctx.dir.users.iter().find(|u| u.id.eq_ignore_ascii_case(id)) {
        return u.id.clone();
    }
    ctx.dir
        .service_principals
        .iter()
        .find(|s| s.id().eq_ignore_ascii_case(id))
        .map(|s| s.id().to_string())
        .unwrap_or(id.into())
}

/// Takes `owners@odata.bind` out of a create body: the owners' canonical ids.
pub fn bind(ctx: &Ctx, body: &mut Map<String, Value>, label: &str) -> GResult<Vec<String>> {
    let mut owners = Vec::new();
    let Some(b) = body.remove("owners@odata.bind") else {
        return Ok(owners);
    };
    let arr = b
        .as_array()
        .ok_or_else(|| GraphError::invalid_value("owners", label))?;
    for u in arr {
        let id = ref_id(u.as_str().unwrap_or_default())?;
        if !owner_exists(ctx, &id) {
            return Err(GraphError::not_found(&id));
        }
        let id = canonical(ctx, &id);
        if !owners.contains(&id) {
            owners.push(id);
        }
    }
    Ok(owners)
}

fn list<'a>(ctx: &'a Ctx, of: Owned) -> GResult<&'a Vec<String>> {
    match of {
        Owned::App(id) => ctx
            .dir
            .app(id)
            .map(|a| &a.owners)
            .ok_or_else(|| GraphError::not_found(id)),
        Owned::Sp(id) => ctx
            .dir
            .sp(id)
            .map(|s| &s.owners)
            .ok_or_else(|| GraphError::not_found(id)),
    }
}

fn list_mut<'a>(ctx: &'a mut Ctx, of: Owned) -> GResult<&'a mut Vec<String>> {
    match of {
        Owned::App(id) => ctx
            .dir
            .app_mut(id)
            .map(|a| &mut a.owners)
            .ok_or_else(|| GraphError::not_found(id)),
        Owned::Sp(id) => ctx
            .dir
            .sp_mut(id)
            .map(|s| &mut s.owners)
            .ok_or_else(|| GraphError::not_found(id)),
    }
}

/// Adding or removing owners takes an application administrator (or
/// `Application.ReadWrite.All`), or a *user* owner: `Application.ReadWrite.OwnedBy`
/// is not enough (A4).
fn may_change(ctx: &Ctx, of: Owned) -> GResult<()> {
    let owners = list(ctx, of)?;
    if ctx.who.is_app_admin() || (owners.contains(&ctx.who.oid) && ctx.who.kind == Kind::User) {
        Ok(())
    } else {
        Err(GraphError::denied())
    }
}

pub fn route(ctx: &mut Ctx, of: Owned, rest: &[Seg]) -> GResult {
    let m = ctx.req.method.clone();
    let names: Vec<&str> = rest.iter().map(|s| s.name.as_str()).collect();
    match (names.as_slice(), m.as_str()) {
        ([], "GET") => {
            let items: Vec<Value> = list(ctx, of)?
                .iter()
                .filter_map(|o| ctx.dir.directory_object(o))
                .collect();
            let q = ctx.list_query(&OWNER_RESOURCE)?;
            let context = ctx.context("directoryObjects");
            Ok(Resp::ok(q.page(items, &context, &ctx.self_url())))
        }
        (["$ref"], "GET") => {
            let items: Vec<Value> = list(ctx, of)?
                .iter()
                .map(|o| json!({"@odata.id": format!("{}/v1.0/directoryObjects/{o}", ctx.emu.base_url)}))
                .collect();
            Ok(Resp::ok(
                json!({"@odata.context": ctx.context("Collection($ref)"), "value": items}),
            ))
        }
        (["$ref"], "POST") => {
            let body = ctx.body()?;
            may_change(ctx, of)?;
            let url = body
                .get("@odata.id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    GraphError::bad_request("The request body must contain '@odata.id'.")
                })?;
            let oid = ref_id(url)?;
            if !owner_exists(ctx, &oid) || ctx.lagging_parent(&oid) {
                return Err(GraphError::not_found(&oid));
            }
            let oid = canonical(ctx, &oid);
            let owners = list_mut(ctx, of)?;
            if owners.iter().any(|o| o.eq_ignore_ascii_case(&oid)) {
                return Err(GraphError::bad_request(
                    "One or more added object references already exist for the following modified properties: 'owners'.",
                ));
            }
            owners.push(oid);
            Ok(Resp::no_content())
        }
        ([oid, "$ref"], "DELETE") => {
            let oid = oid.to_string();
            may_change(ctx, of)?;
            if !is_guid(&oid) {
                return Err(GraphError::invalid_id(&oid));
            }
            let owners = list_mut(ctx, of)?;
            let before = owners.len();
            owners.retain(|o| !o.eq_ignore_ascii_case(&oid));
            if owners.len() == before {
                return Err(GraphError::not_found(&oid));
            }
            Ok(Resp::no_content())
        }
        ([] | ["$ref"] | [_, "$ref"], _) => Err(GraphError::method_not_allowed()),
        _ => Err(GraphError::segment(
            &rest.last().map(|s| s.raw.clone()).unwrap_or_default(),
        )),
    }
}
