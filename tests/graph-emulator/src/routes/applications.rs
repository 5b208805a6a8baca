//! `/applications`: CRUD, `(appId='…')` alternate key, owners, passwords, and
//! dispatch into federated identity credentials.

use serde_json::{Map, Value, json};

use super::owners::{self, Owned};
use super::{Ctx, Keyed, Seg, entity, fic, resolve_keyed};
use crate::auth::Kind;
use crate::errors::{GResult, GraphError, Resp};
use crate::odata::{Query, Resource};
use crate::schema::schema;
use crate::state::{Application, Secret, new_application_data, secret_view};
use crate::util::{graph_time, is_guid, new_guid};

pub const RESOURCE: Resource = Resource {
    type_name: "microsoft.graph.application",
    label: "Application",
    entities: &["application"],
    filterable: &[
        "id",
        "appId",
        "displayName",
        "tags",
        "identifierUris",
        "publisherDomain",
        "signInAudience",
        "createdDateTime",
        "uniqueName",
    ],
    expandable: &["owners", "federatedIdentityCredentials"],
};

const SIGN_IN_AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

/// Resolves `applications/{id}` or `applications(appId='…')` to a live app's object id.
pub fn resolve(ctx: &mut Ctx, segs: &[Seg], own_read: bool) -> GResult<String> {
    const APPLICATIONS: Keyed = Keyed {
        collection: "applications",
        by_app_id: |dir, app_id| dir.live_app_by_app_id(app_id).map(|a| a.id().to_string()),
        by_id: |dir, id| {
            dir.app(id)
                .filter(|a| a.deleted_ms.is_none())
                .map(|a| a.id().to_string())
        },
    };
    resolve_keyed(ctx, segs, own_read, &APPLICATIONS)
}

pub fn route(ctx: &mut Ctx, segs: &[Seg]) -> GResult {
    let m = ctx.req.method.clone();
    // `applications(appId='x')/...` has the key in segment 0; `applications/{id}/...` in segment 1.
    let rest_at = if segs[0].key.is_some() { 1 } else { 2 };
    if segs[0].key.is_none() && segs.len() == 1 {
        return match m.as_str() {
            "GET" => list(ctx),
            "POST" => create(ctx),
            _ => Err(GraphError::method_not_allowed()),
        };
    }
    if segs[0].key.is_none() && segs[1].name == "$count" {
        return count(ctx);
    }
    if segs[0].key.is_none() && segs[1].name == "delta" {
        return Err(GraphError::bad_request(
            "delta is not supported by the emulator.",
        ));
    }
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
        (Some("owners"), _) => {
            let id = resolve(ctx, segs, false)?;
            owners::route(ctx, Owned::App(&id), &rest[1..])
        }
        (Some("federatedIdentityCredentials"), _) => {
            let id = resolve(ctx, segs, false)?;
            fic::route(ctx, &id, rest)
        }
        (Some("addPassword"), "POST") => {
            let id = resolve(ctx, segs, false)?;
            add_password(ctx, &id)
        }
        (Some("removePassword"), "POST") => {
            let id = resolve(ctx, segs, false)?;
            remove_password(ctx, &id)
        }
        (Some("addPassword" | "removePassword"), _) => Err(GraphError::method_not_allowed()),
        (Some(_), _) => Err(GraphError::segment(&rest[0].raw)),
    }
}

/// The app as Graph returns it, with `owners` expanded when asked.
fn view(ctx: &Ctx, app: &Application, q: &Query) -> Value {
    let mut v = app.to_graph();
    if q.expand.iter().any(|e| e == "federatedIdentityCredentials") {
        v["federatedIdentityCredentials"] =
            Value::Array(app.fics.iter().cloned().map(Value::Object).collect());
    }
    if q.expand.iter().any(|e| e == "owners") {
        v["owners"] = Value::Array(
            app.owners
                .iter()
                .filter_map(|o| ctx.dir.directory_object(o))
                .collect(),
        );
    }
    v
}

fn list(ctx: &mut Ctx) -> GResult {
    let q = ctx.list_query(&RESOURCE)?;
    let ids: Vec<String> = ctx
        .dir
        .applications
        .iter()
        .filter(|a| a.deleted_ms.is_none())
        .map(|a| a.id().to_string())
        .collect();
    let mut items = Vec::new();
    for id in ids {
        if ctx.lagging(&id) {
            continue;
        }
        let Some(app) = ctx.dir.app(&id) else {
            continue;
        };
        let v = view(ctx, app, &q);
        if q.matches(&v) {
            items.push(v);
        }
    }
    let context = ctx.context(&q.context("applications"));
    Ok(Resp::ok(q.page(items, &context, &ctx.self_url())))
}

fn count(ctx: &mut Ctx) -> GResult {
    if !ctx.eventual() {
        return Err(GraphError::bad_request(
            "$count is not currently supported.",
        ));
    }
    let n = ctx
        .dir
        .applications
        .iter()
        .filter(|a| a.deleted_ms.is_none())
        .count();
    Ok(Resp {
        status: 200,
        headers: vec![],
        body: crate::errors::Body::Text(n.to_string()),
    })
}

fn get(ctx: &mut Ctx, id: &str) -> GResult {
    let q = ctx.entity_query(&RESOURCE)?;
    let app = ctx.dir.app(id).ok_or_else(|| GraphError::not_found(id))?;
    let mut v = view(ctx, app, &q);
    // Graph returns key values only to a `$select` of keyCredentials on one object.
    if q.select
        .as_ref()
        .is_some_and(|s| s.iter().any(|p| p == "keyCredentials"))
    {
        v["keyCredentials"] = app.data.get("keyCredentials").cloned().unwrap_or(json!([]));
    }
    let v = q.project(v);
    Ok(Resp::ok(entity(
        ctx.context(&format!("{}/$entity", q.context("applications"))),
        v,
    )))
}

/// Validates an application body (create or PATCH): Graph's contract (declared,
/// writable, typed properties), then the rules the metadata does not carry.
pub fn validate_body(
    ctx: &Ctx,
    body: &Map<String, Value>,
    self_id: Option<&str>,
    create: bool,
) -> GResult<()> {
    if body.contains_key("passwordCredentials") {
        return Err(GraphError::bad_request(
            "Property 'passwordCredentials' cannot be set; use addPassword to add a client secret.",
        ));
    }
    schema().check_body("application", "Application", body, create)?;
    for (k, v) in body {
        match k.as_str() {
            "displayName" => match v.as_str() {
                Some(s) if !s.trim().is_empty() && s.chars().count() <= 256 => {}
                _ => return Err(GraphError::invalid_value("displayName", "Application")),
            },
            "description" if v.as_str().is_some_and(|s| s.chars().count() > 1024) => {
                return Err(GraphError::invalid_value("description", "Application"));
            }
            "signInAudience" if !v.as_str().is_some_and(|s| SIGN_IN_AUDIENCES.contains(&s)) => {
                return Err(GraphError::invalid_value("signInAudience", "Application"));
            }
            "requiredResourceAccess" => validate_rra(v)?,
            "keyCredentials" => validate_key_credentials(v)?,
            _ => {}
        }
    }
    if create
        && !body
            .get("displayName")
            .map(Value::is_string)
            .unwrap_or(false)
    {
        return Err(GraphError::invalid_value("displayName", "Application"));
    }
    if let Some(Value::Array(uris)) = body.get("identifierUris") {
        for u in uris.iter().filter_map(Value::as_str) {
            let clash = ctx.dir.applications.iter().any(|a| {
                Some(a.id()) != self_id
                    && a.data
                        .get("identifierUris")
                        .and_then(Value::as_array)
                        .map(|x| {
                            x.iter().any(|y| {
                                y.as_str()
                                    .map(|y| y.eq_ignore_ascii_case(u))
                                    .unwrap_or(false)
                            })
                        })
                        .unwrap_or(false)
            });
            if clash {
                return Err(GraphError::bad_request(
                    "Another object with the same value for property identifierUris already exists.",
                ));
            }
        }
    }
    Ok(())
}

/// Documented `keyCredential` values: `type` AsymmetricX509Cert (a certificate
/// in `key`, base64 DER), X509CertAndPassword or Symmetric; `usage` Verify or Sign.
fn validate_key_credentials(v: &Value) -> GResult<()> {
    let bad = || GraphError::invalid_value("keyCredentials", "Application");
    for k in v.as_array().ok_or_else(bad)? {
        let ty = k.get("type").and_then(Value::as_str);
        let usage = k.get("usage").and_then(Value::as_str);
        if !matches!(
            ty,
            Some("AsymmetricX509Cert" | "X509CertAndPassword" | "Symmetric")
        ) || !matches!(usage, Some("Verify" | "Sign"))
        {
            return Err(bad());
        }
        let key = k.get("key").and_then(Value::as_str).ok_or_else(bad)?;
        if ty != Some("Symmetric") && crate::certs::Cert::from_key(key).is_none() {
            return Err(bad());
        }
    }
    Ok(())
}

/// Fills what Graph derives from a certificate: `keyId`, the thumbprint as
/// `customKeyIdentifier`, and its validity as `startDateTime`/`endDateTime`.
fn complete_key_credentials(body: &mut Map<String, Value>) {
    let Some(Value::Array(keys)) = body.get_mut("keyCredentials") else {
        return;
    };
    for k in keys.iter_mut() {
        let Value::Object(m) = k else { continue };
        let cert = m
            .get("key")
            .and_then(Value::as_str)
            .and_then(crate::certs::Cert::from_key);
        let mut fill = |name: &str, v: Value| {
            if m.get(name).is_none_or(Value::is_null) {
                m.insert(name.into(), v);
            }
        };
        fill("keyId", json!(new_guid()));
        fill("displayName", Value::Null);
        if let Some(c) = cert {
            fill("customKeyIdentifier", json!(c.thumbprint_hex()));
            fill("startDateTime", json!(graph_time(c.not_before_ms)));
            fill("endDateTime", json!(graph_time(c.not_after_ms)));
        }
        for p in ["customKeyIdentifier", "startDateTime", "endDateTime"] {
            fill(p, Value::Null);
        }
    }
}

fn validate_rra(v: &Value) -> GResult<()> {
    let bad = || GraphError::invalid_value("requiredResourceAccess", "Application");
    let arr = v.as_array().ok_or_else(bad)?;
    if arr.len() > 50 {
        return Err(GraphError::bad_request(
            "The number of resources in requiredResourceAccess exceeds the limit of 50.",
        ));
    }
    let mut total = 0;
    for r in arr {
        let ok_app = r
            .get("resourceAppId")
            .and_then(Value::as_str)
            .map(|s| !s.is_empty())
            .unwrap_or(false);
        let access = r
            .get("resourceAccess")
            .and_then(Value::as_array)
            .ok_or_else(bad)?;
        if !ok_app {
            return Err(bad());
        }
        for a in access {
            let id_ok = a
                .get("id")
                .and_then(Value::as_str)
                .map(is_guid)
                .unwrap_or(false);
            let ty_ok = matches!(
                a.get("type").and_then(Value::as_str),
                Some("Scope" | "Role")
            );
            if !id_ok || !ty_ok {
                return Err(bad());
            }
        }
        total += access.len();
    }
    if total > 400 {
        return Err(GraphError::bad_request(
            "The number of permissions in requiredResourceAccess exceeds the limit of 400.",
        ));
    }
    Ok(())
}

fn create(ctx: &mut Ctx) -> GResult {
    if !ctx.who.can_create_app() {
        return Err(GraphError::denied());
    }
    let mut body = ctx.body()?;
    validate_body(ctx, &body, None, true)?;
    let mut owners = owners::bind(ctx, &mut body, "Application")?;
    // An app-only caller creating through Application.ReadWrite.OwnedBy becomes an owner
    // (otherwise it could not manage what it just created).
    if ctx.who.kind == Kind::App && !ctx.who.is_app_admin() && !owners.contains(&ctx.who.oid) {
        owners.push(ctx.who.oid.clone());
    }
    let (id, app_id) = (new_guid(), new_guid());
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut data = new_application_data(&id, &app_id, &name, &ctx.dir.domain.clone(), ctx.now);
    complete_key_credentials(&mut body);
    merge(&mut data, body);
    let seq = ctx.dir.next_seq();
    let app = Application {
        data,
        owners,
        fics: vec![],
        secrets: vec![],
        deleted_ms: None,
        seq,
    };
    let v = app.to_graph();
    ctx.dir.applications.push(app);
    ctx.faults.created(&id, ctx.now);
    ctx.faults.app_created(&app_id);
    let location = format!(
        "{}/v1.0/directoryObjects/{id}/Microsoft.DirectoryServices.Application",
        ctx.emu.base_url
    );
    Ok(
        Resp::created(entity(ctx.context("applications/$entity"), v))
            .with_header("Location", location),
    )
}

/// PATCH semantics: top-level properties replace; complex (object) values merge one level.
pub fn merge(data: &mut Map<String, Value>, body: Map<String, Value>) {
    for (k, v) in body {
        if k.starts_with('@') {
            continue;
        }
        match (data.get_mut(&k), v) {
            (Some(Value::Object(cur)), Value::Object(new)) => {
                for (nk, nv) in new {
                    cur.insert(nk, nv);
                }
            }
            (_, v) => {
                data.insert(k, v);
            }
        }
    }
}

fn patch(ctx: &mut Ctx, id: &str) -> GResult {
    let mut body = ctx.body()?;
    let app = ctx.dir.app(id).ok_or_else(|| GraphError::not_found(id))?;
    if !ctx.who.can_manage(app) {
        return Err(GraphError::denied());
    }
    validate_body(ctx, &body, Some(id), false)?;
    let app = ctx
        .dir
        .app_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    complete_key_credentials(&mut body);
    merge(&mut app.data, body);
    Ok(Resp::no_content())
}

fn delete(ctx: &mut Ctx, id: &str) -> GResult {
    let app = ctx.dir.app(id).ok_or_else(|| GraphError::not_found(id))?;
    if !ctx.who.can_manage(app) {
        return Err(GraphError::denied());
    }
    let app_id = app.app_id().to_string();
    let now = ctx.now;
    if let Some(app) = ctx.dir.app_mut(id) {
        app.deleted_ms = Some(now);
    }
    // Deleting an application soft-deletes its service principal in the home tenant.
    for sp in ctx.dir.service_principals.iter_mut() {
        if sp.deleted_ms.is_none() && sp.app_id().eq_ignore_ascii_case(&app_id) {
            sp.deleted_ms = Some(now);
        }
    }
    Ok(Resp::no_content())
}

fn add_password(ctx: &mut Ctx, id: &str) -> GResult {
    let body = ctx.body().unwrap_or_default();
    let app = ctx.dir.app(id).ok_or_else(|| GraphError::not_found(id))?;
    if !ctx.who.can_manage(app) {
        return Err(GraphError::denied());
    }
    let pc = body.get("passwordCredential").cloned().unwrap_or(json!({}));
    let display_name = pc
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_string);
    let secret: String = format!("emu~{}", new_guid().replace('-', ""));
    let s = Secret {
        key_id: new_guid(),
        display_name,
        secret: secret.clone(),
        start_ms: ctx.now,
        end_ms: ctx.now + 2 * 365 * 86_400_000,
    };
    let mut v = secret_view(&s);
    v["secretText"] = json!(secret);
    let app = ctx
        .dir
        .app_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    app.secrets.push(s);
    Ok(Resp::ok(entity(
        ctx.context("microsoft.graph.passwordCredential"),
        v,
    )))
}

fn remove_password(ctx: &mut Ctx, id: &str) -> GResult {
    let body = ctx.body()?;
    let app = ctx.dir.app(id).ok_or_else(|| GraphError::not_found(id))?;
    if !ctx.who.can_manage(app) {
        return Err(GraphError::denied());
    }
    let key = body
        .get("keyId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let app = ctx
        .dir
        .app_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    let before = app.secrets.len();
    app.secrets.retain(|s| !s.key_id.eq_ignore_ascii_case(&key));
    if before == app.secrets.len() {
        return Err(GraphError::bad_request(format!(
            "No password credential found with keyId '{key}'."
        )));
    }
    Ok(Resp::no_content())
}
