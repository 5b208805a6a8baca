//! The admin side under `/_emulator/` (no auth): tokens, identities,
//! applications created "as an admin", consent, faults, request log, reset,
//! state dump. Never subject to faults or latency.

use serde_json::{Map, Value, json};

use super::{Ctx, GraphRequest, entity};
use crate::auth::{self, Kind, Principal};
use crate::errors::{GResult, GraphError, Resp};
use crate::faults::FaultSettings;
use crate::server::HttpReq;
use crate::state::{Application, Directory, GRAPH_APP_ID, role_template};
use crate::tenants::Tenants;
use crate::util::{new_guid, now_ms};
use crate::{Emulator, lock};

fn body(req: &HttpReq) -> GResult<Map<String, Value>> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(GraphError::unreadable_json()),
    }
}

/// The tenant an admin call is about: `?tenant_id=` or a `tenant_id` body field
/// (taken out of the body), else the home tenant.
fn tenant_param(req: &HttpReq, b: &mut Map<String, Value>) -> Option<String> {
    let from_body = b
        .remove("tenant_id")
        .and_then(|v| v.as_str().map(str::to_string));
    from_body.or_else(|| {
        crate::util::parse_query(&req.query, true)
            .into_iter()
            .find(|(k, _)| k == "tenant_id")
            .map(|(_, v)| v)
    })
}

fn unknown_tenant(t: &str) -> GraphError {
    GraphError::new(404, "NotFound", format!("Unknown tenant '{t}'."))
}

/// The directory of `tenant` (home when `None`), or 404.
pub fn pick<'a>(t: &'a mut Tenants, tenant: Option<&str>) -> GResult<&'a mut Directory> {
    match tenant {
        None => Ok(t.home_mut()),
        Some(id) => t.get_mut(id).ok_or_else(|| unknown_tenant(id)),
    }
}

pub fn handle(emu: &Emulator, req: &HttpReq, rest: &str) -> GResult {
    let m = req.method.as_str();
    let mut b = body(req)?;
    let tenant = tenant_param(req, &mut b);
    let tenant = tenant.as_deref();
    let path = rest.trim_end_matches('/');
    if let Some(sp) = path.strip_prefix("service-principals/") {
        let resp = match (sp.rsplit_once('/'), m) {
            (Some((id, "disable")), "POST") => set_sp_enabled(emu, id, false, tenant),
            (Some((id, "enable")), "POST") => set_sp_enabled(emu, id, true, tenant),
            (Some((_, "disable" | "enable")), _) => Err(GraphError::method_not_allowed()),
            _ => Err(GraphError::new(
                404,
                "NotFound",
                format!("No admin endpoint '/_emulator/{rest}'."),
            )),
        }?;
        emu.persist(&lock(&emu.tenants));
        return Ok(resp.with_header("Content-Type", "application/json; charset=utf-8"));
    }
    let resp = match (path, m) {
        ("tokens", "POST") => tokens(emu, &b, tenant),
        ("identities", "GET") => identities(emu, tenant).map(Resp::ok),
        ("identities", "POST") => add_identity(emu, &b, tenant),
        ("applications", "POST") => create_app(emu, b, tenant),
        ("consent", "POST") => consent(emu, &b, tenant, true),
        ("consent", "DELETE") => consent(emu, &b, tenant, false),
        ("tenants", "GET") => {
            let t = lock(&emu.tenants);
            Ok(Resp::ok(
                json!({"home_tenant": t.home_tenant, "tenants": t.ids()}),
            ))
        }
        ("tenants", "POST") => add_tenant(emu, tenant),
        ("faults", "GET") => Ok(Resp::ok(json!(lock(&emu.faults).settings))),
        ("faults", "PUT" | "POST" | "PATCH") => set_faults(emu, &b),
        ("requests", "GET") => Ok(Resp::ok(json!(*lock(&emu.log)))),
        ("requests", "DELETE") => {
            lock(&emu.log).clear();
            Ok(Resp::no_content())
        }
        ("stats", "GET") => Ok(Resp::ok(
            json!({"peak_writes_in_flight": lock(&emu.writes).peaks()}),
        )),
        ("stats", "DELETE") => {
            lock(&emu.writes).reset();
            Ok(Resp::no_content())
        }
        ("reset", "POST") => reset(emu, tenant),
        ("state", "GET") => {
            let mut t = lock(&emu.tenants);
            Ok(Resp::ok(json!(*pick(&mut t, tenant)?)))
        }
        (
            "tokens" | "identities" | "applications" | "consent" | "tenants" | "faults"
            | "requests" | "stats" | "reset" | "state",
            _,
        ) => Err(GraphError::method_not_allowed()),
        _ => Err(GraphError::new(
            404,
            "NotFound",
            format!("No admin endpoint '/_emulator/{rest}'."),
        )),
    }?;
    if m != "GET"
        && resp.status < 400
        && !rest.starts_with("faults")
        && !rest.starts_with("requests")
        && !rest.starts_with("stats")
    {
        emu.persist(&lock(&emu.tenants));
    }
    Ok(resp.with_header("Content-Type", "application/json; charset=utf-8"))
}

/// `POST /_emulator/reset`: every tenant (or only `tenant_id`) back to its seed,
/// keeping its signing key; clears the log, the stats and the consistency windows.
fn reset(emu: &Emulator, tenant: Option<&str>) -> GResult {
    let mut t = lock(&emu.tenants);
    let ids: Vec<String> = match tenant {
        Some(id) => vec![pick(&mut t, Some(id))?.tenant_id.clone()],
        None => t.ids(),
    };
    for id in ids {
        if let Some(d) = t.get_mut(&id) {
            let key = d.signing_key.clone();
            *d = Emulator::fresh_directory(&emu.config, &id, Some(key));
        }
    }
    lock(&emu.faults).clear_windows();
    lock(&emu.log).clear();
    lock(&emu.writes).reset();
    Ok(Resp::no_content())
}

/// `POST /_emulator/tenants {"tenant_id"}`: a new, seeded tenant (201), or 200
/// when it exists already.
fn add_tenant(emu: &Emulator, tenant: Option<&str>) -> GResult {
    let id = tenant
        .filter(|t| crate::util::is_guid(t))
        .ok_or_else(|| GraphError::bad_request("Give 'tenant_id', a GUID."))?
        .to_ascii_lowercase();
    let mut t = lock(&emu.tenants);
    let created = t.get(&id).is_none();
    if created {
        t.tenants
            .push(Emulator::fresh_directory(&emu.config, &id, None));
    }
    let v = json!({"tenant_id": id, "home": id.eq_ignore_ascii_case(&t.home_tenant), "created": created});
    Ok(if created {
        Resp::created(v)
    } else {
        Resp::ok(v)
    })
}

fn tokens(emu: &Emulator, b: &Map<String, Value>, tenant: Option<&str>) -> GResult {
    let s = |k: &str| b.get(k).and_then(Value::as_str);
    let mut t = lock(&emu.tenants);
    // `tenant` (older field) naming a tenant the emulator does not have mints a
    // token that claims it but is signed by the home tenant: a wrong-tenant token.
    let legacy = s("tenant").filter(|x| tenant.is_none() && t.get(x).is_none());
    let selected = tenant.or(s("tenant").filter(|_| legacy.is_none()));
    let dir: &Directory = pick(&mut t, selected)?;
    let oid = if let Some(u) = s("user") {
        dir.user(u)
            .map(|u| u.id.clone())
            .ok_or_else(|| GraphError::bad_request(format!("Unknown user '{u}'.")))?
    } else if let Some(c) = s("client_id") {
        dir.live_sp_by_app_id(c)
            .map(|sp| sp.id().to_string())
            .ok_or_else(|| {
                GraphError::bad_request(format!("No service principal for client id '{c}'."))
            })?
    } else {
        return Err(GraphError::bad_request(
            "Give 'user' (UPN or id) or 'client_id'.",
        ));
    };
    let p = Principal::resolve(dir, &oid).ok_or_else(|| GraphError::not_found(&oid))?;
    let tenant = legacy.unwrap_or(&dir.tenant_id).to_string();
    let lifetime = b
        .get("lifetime_secs")
        .and_then(Value::as_u64)
        .unwrap_or(emu.config.token_lifetime_secs);
    let aud = s("resource")
        .unwrap_or("https://graph.microsoft.com")
        .to_string();
    let now = now_ms() / 1000;
    let claims = auth::claims_for(dir, &p, &aud, &tenant, now, lifetime);
    let token = auth::sign(dir, &claims);
    Ok(Resp::ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_on": now + lifetime,
        "tenant": tenant,
        "oid": p.oid,
        "kind": if p.kind == Kind::User { "user" } else { "app" },
    })))
}

fn identities(emu: &Emulator, tenant: Option<&str>) -> GResult<Value> {
    let mut t = lock(&emu.tenants);
    let dir: &Directory = pick(&mut t, tenant)?;
    let users: Vec<Value> = dir
        .users
        .iter()
        .map(|u| json!({"kind": "user", "id": u.id, "userPrincipalName": u.upn, "displayName": u.display_name, "roles": u.roles}))
        .collect();
    let apps: Vec<Value> = dir
        .applications
        .iter()
        .filter(|a| a.deleted_ms.is_none() && !a.secrets.is_empty())
        .map(|a| {
            let sp = dir.live_sp_by_app_id(a.app_id());
            json!({
                "kind": "app",
                "displayName": a.display_name(),
                "clientId": a.app_id(),
                "applicationObjectId": a.id(),
                "servicePrincipalId": sp.map(|s| s.id()),
                "clientSecrets": a.secrets.iter().map(|s| s.secret.clone()).collect::<Vec<_>>(),
                "roles": sp.map(|s| s.roles.clone()).unwrap_or_default(),
                "appRoles": sp.map(|s| dir.graph_permissions_of(s.id())).unwrap_or_default(),
            })
        })
        .collect();
    Ok(json!({"tenant": dir.tenant_id, "users": users, "apps": apps}))
}

fn roles_of(b: &Map<String, Value>) -> GResult<Vec<String>> {
    let mut out = Vec::new();
    for r in b
        .get("roles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = r.as_str().unwrap_or_default();
        let id = role_template(name)
            .map(str::to_string)
            .or_else(|| crate::util::is_guid(name).then(|| name.to_ascii_lowercase()))
            .ok_or_else(|| GraphError::bad_request(format!("Unknown directory role '{name}'.")))?;
        out.push(id);
    }
    Ok(out)
}

/// `{"kind":"user","userPrincipalName","displayName","roles":[...],"id"?}` or
/// `{"kind":"app","displayName","clientId"?,"clientSecret"?,"roles":[...],"appRoles":[...]}`.
/// A user whose UPN already exists gets its roles/display name replaced.
fn add_identity(emu: &Emulator, b: &Map<String, Value>, tenant: Option<&str>) -> GResult {
    let s = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
    let roles = roles_of(b)?;
    let mut t = lock(&emu.tenants);
    let dir = pick(&mut t, tenant)?;
    let kind = s("kind").unwrap_or_else(|| {
        if b.contains_key("clientId") {
            "app".into()
        } else {
            "user".into()
        }
    });
    if kind == "user" {
        let upn = s("userPrincipalName")
            .or_else(|| s("upn"))
            .ok_or_else(|| GraphError::bad_request("userPrincipalName is required."))?;
        let name = s("displayName")
            .unwrap_or_else(|| upn.split('@').next().unwrap_or_default().to_string());
        if let Some(u) = dir
            .users
            .iter_mut()
            .find(|u| u.upn.eq_ignore_ascii_case(&upn))
        {
            u.roles = roles;
            u.display_name = name;
            let v = json!({"kind": "user", "id": u.id, "userPrincipalName": u.upn, "displayName": u.display_name, "roles": u.roles});
            return Ok(Resp::ok(v));
        }
        let id = s("id").unwrap_or_else(new_guid);
        let u = dir.add_user(&id, &upn, &name, roles).clone();
        return Ok(Resp::created(
            json!({"kind": "user", "id": u.id, "userPrincipalName": u.upn, "displayName": u.display_name, "roles": u.roles}),
        ));
    }
    if kind != "app" {
        return Err(GraphError::bad_request("kind must be 'user' or 'app'."));
    }
    let client_id = s("clientId").unwrap_or_else(new_guid);
    if dir.live_app_by_app_id(&client_id).is_some() {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            format!("Client id {client_id} already exists."),
        ));
    }
    let secret =
        s("clientSecret").unwrap_or_else(|| format!("emu~{}", new_guid().replace('-', "")));
    let name = s("displayName").unwrap_or_else(|| format!("identity {client_id}"));
    let (obj, sp) = (new_guid(), new_guid());
    dir.add_app_identity(&obj, &client_id, &sp, &name, &secret, roles.clone());
    // Optional Graph application permissions, granted as if consented.
    let mut granted = Vec::new();
    for r in b
        .get("appRoles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = r.as_str().unwrap_or_default();
        let role_id = crate::seed::GRAPH_APP_ROLES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, id)| id.to_string())
            .ok_or_else(|| {
                GraphError::bad_request(format!("Unknown Graph application permission '{name}'."))
            })?;
        granted.push(grant_direct(dir, &sp, &role_id));
    }
    Ok(Resp::created(json!({
        "kind": "app", "displayName": name, "clientId": client_id, "clientSecret": secret,
        "applicationObjectId": obj, "servicePrincipalId": sp, "roles": roles, "appRoles": granted,
    })))
}

/// Records a Graph app-role assignment without Graph's checks (admin side only).
fn grant_direct(dir: &mut crate::state::Directory, sp_id: &str, role_id: &str) -> Value {
    let gsp = dir
        .live_sp_by_app_id(GRAPH_APP_ID)
        .map(|s| (s.id().to_string(), s.display_name().to_string()));
    let Some((gid, gname)) = gsp else {
        return Value::Null;
    };
    let pname = dir
        .sp(sp_id)
        .map(|s| s.display_name().to_string())
        .unwrap_or_default();
    let v = json!({
        "id": new_guid().replace('-', ""),
        "deletedDateTime": null,
        "appRoleId": role_id,
        "createdDateTime": crate::util::graph_time(now_ms()),
        "principalDisplayName": pname,
        "principalId": sp_id,
        "principalType": "ServicePrincipal",
        "resourceDisplayName": gname,
        "resourceId": gid,
    });
    let seq = dir.next_seq();
    dir.assignments.push(crate::state::Assignment {
        data: v.as_object().cloned().unwrap_or_default(),
        seq,
    });
    v
}

/// A Graph-shaped request run as the seeded identity with every admin role,
/// bypassing faults, consistency and the request log.
fn as_admin(
    emu: &Emulator,
    tenant: Option<&str>,
    method: &str,
    path: &str,
    body: Vec<u8>,
    f: impl FnOnce(&mut Ctx) -> GResult,
) -> GResult {
    let req = GraphRequest {
        method: method.into(),
        version: "v1.0".into(),
        path: path.into(),
        query: String::new(),
        headers: Default::default(),
        body,
        batch_item: false,
        request_id: new_guid(),
        client_request_id: new_guid(),
    };
    let mut t = lock(&emu.tenants);
    let dir = pick(&mut t, tenant)?;
    // Faults are bypassed by running with a scratch fault state.
    let mut scratch = crate::faults::Faults::new(FaultSettings::default());
    let who = Principal {
        kind: Kind::User,
        oid: "00000000-0000-0000-0000-000000000000".into(),
        app_id: crate::state::AZ_CLI_APP_ID.into(),
        upn: Some("emulator-admin@psoxy.test".into()),
        display_name: "Emulator admin".into(),
        wids: vec![
            crate::state::ROLE_GLOBAL_ADMIN.into(),
            crate::state::ROLE_PRIV_ROLE_ADMIN.into(),
        ],
        permissions: vec![],
    };
    let mut ctx = Ctx {
        emu,
        dir,
        faults: &mut scratch,
        who,
        req: &req,
        now: now_ms(),
        fault: None,
    };
    f(&mut ctx)
}

/// `POST /_emulator/applications`: Graph's POST /applications body plus
/// `owners: [objectId]`, created by an administrator (import flow).
fn create_app(emu: &Emulator, mut b: Map<String, Value>, tenant: Option<&str>) -> GResult {
    let owners: Vec<String> = b
        .remove("owners")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if !owners.is_empty() {
        let binds: Vec<Value> = owners
            .iter()
            .map(|o| {
                json!(format!(
                    "https://graph.microsoft.com/v1.0/directoryObjects/{o}"
                ))
            })
            .collect();
        b.insert("owners@odata.bind".into(), Value::Array(binds));
    }
    let bytes = serde_json::to_vec(&Value::Object(b)).unwrap_or_default();
    let r = as_admin(emu, tenant, "POST", "/applications", bytes, |ctx| {
        super::applications::route(ctx, &super::parse_segments("/applications"))
    })?;
    Ok(r)
}

/// `POST /_emulator/consent {"appId"|"applicationObjectId", "roles"?, "extra_roles"?}`:
/// what the portal's "Grant admin consent" does for application permissions
/// (`roles`: a subset of those requested); `extra_roles` are Microsoft Graph
/// application permissions granted by hand whether requested or not (alone, only
/// they are granted). `DELETE` with the same body revokes.
fn consent(emu: &Emulator, b: &Map<String, Value>, tenant: Option<&str>, grant: bool) -> GResult {
    let s = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
    let names = |k: &str| -> Option<Vec<String>> {
        b.get(k).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    };
    let subset = names("roles");
    // Microsoft Graph application permissions granted by hand, requested or not.
    let extra = names("extra_roles");
    as_admin(
        emu,
        tenant,
        "POST",
        "/servicePrincipals",
        Vec::new(),
        |ctx| {
            let app: Application = match (s("appId"), s("applicationObjectId")) {
                (Some(a), _) => ctx.dir.live_app_by_app_id(&a).cloned(),
                (None, Some(o)) => ctx.dir.app(&o).filter(|x| x.deleted_ms.is_none()).cloned(),
                _ => {
                    return Err(GraphError::bad_request(
                        "Give 'appId' or 'applicationObjectId'.",
                    ));
                }
            }
            .ok_or_else(|| {
                GraphError::not_found(&s("appId").or(s("applicationObjectId")).unwrap_or_default())
            })?;
            // The portal creates the service principal on the fly when it is missing.
            let sp_id = match ctx.dir.live_sp_by_app_id(app.app_id()) {
                Some(sp) => sp.id().to_string(),
                None if grant => {
                    let id = new_guid();
                    let tenant = ctx.dir.tenant_id.clone();
                    let data = crate::state::new_sp_data(&id, &app.data, &tenant);
                    let seq = ctx.dir.next_seq();
                    ctx.dir
                        .service_principals
                        .push(crate::state::ServicePrincipal {
                            data,
                            roles: vec![],
                            owners: vec![],
                            deleted_ms: None,
                            seq,
                        });
                    id
                }
                None => return Err(GraphError::not_found(app.app_id())),
            };
            // Application permissions requested on resources present in the tenant.
            let mut wanted: Vec<(String, String, String)> = Vec::new(); // (resource sp, role id, role value)
            for rra in app
                .data
                .get("requiredResourceAccess")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let res_app = rra["resourceAppId"].as_str().unwrap_or_default();
                let Some(res) = ctx.dir.live_sp_by_app_id(res_app) else {
                    return Err(GraphError::bad_request(format!(
                        "Resource application '{res_app}' has no service principal in the tenant."
                    )));
                };
                for ra in rra["resourceAccess"].as_array().into_iter().flatten() {
                    if ra["type"].as_str() != Some("Role") {
                        continue;
                    }
                    let rid = ra["id"].as_str().unwrap_or_default();
                    let value = res
                        .data
                        .get("appRoles")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .find(|r| {
                            r["id"]
                                .as_str()
                                .map(|i| i.eq_ignore_ascii_case(rid))
                                .unwrap_or(false)
                        })
                        .and_then(|r| r["value"].as_str())
                        .unwrap_or_default()
                        .to_string();
                    wanted.push((res.id().to_string(), rid.to_ascii_lowercase(), value));
                }
            }
            if let Some(sub) = &subset {
                for name in sub {
                    if !wanted.iter().any(|(_, id, v)| {
                        v.eq_ignore_ascii_case(name) || id.eq_ignore_ascii_case(name)
                    }) {
                        return Err(GraphError::bad_request(format!(
                            "Role '{name}' is not in the application's requiredResourceAccess."
                        )));
                    }
                }
                wanted.retain(|(_, id, v)| {
                    sub.iter()
                        .any(|n| n.eq_ignore_ascii_case(v) || n.eq_ignore_ascii_case(id))
                });
            }
            if let Some(extra) = &extra {
                if subset.is_none() {
                    // Only what was named by hand.
                    wanted.clear();
                }
                let gsp = ctx
                    .dir
                    .live_sp_by_app_id(GRAPH_APP_ID)
                    .cloned()
                    .ok_or_else(|| {
                        GraphError::bad_request(
                            "The tenant has no Microsoft Graph service principal.",
                        )
                    })?;
                for name in extra {
                    let role = gsp
                        .data
                        .get("appRoles")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .find(|r| {
                            r["value"]
                                .as_str()
                                .is_some_and(|v| v.eq_ignore_ascii_case(name))
                                || r["id"]
                                    .as_str()
                                    .is_some_and(|i| i.eq_ignore_ascii_case(name))
                        })
                        .ok_or_else(|| {
                            GraphError::bad_request(format!(
                                "Unknown Microsoft Graph application permission '{name}'."
                            ))
                        })?;
                    let rid = role["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                    if !wanted.iter().any(|(r, id, _)| r == gsp.id() && *id == rid) {
                        let value = role["value"].as_str().unwrap_or_default().to_string();
                        wanted.push((gsp.id().to_string(), rid, value));
                    }
                }
            }
            let mut out = Vec::new();
            for (res, rid, _) in wanted {
                let existing = ctx
                    .dir
                    .assignments
                    .iter()
                    .find(|a| {
                        a.get("principalId") == sp_id
                            && a.get("resourceId") == res
                            && a.get("appRoleId").eq_ignore_ascii_case(&rid)
                    })
                    .cloned();
                match (grant, existing) {
                    (true, Some(a)) => out.push(Value::Object(a.data)),
                    (true, None) => {
                        let body: Map<String, Value> =
                            json!({"principalId": sp_id, "resourceId": res, "appRoleId": rid})
                                .as_object()
                                .cloned()
                                .unwrap_or_default();
                        let v = super::service_principals::create_assignment(ctx, &body, None)?;
                        out.push(v);
                    }
                    (false, Some(a)) => {
                        let aid = a.get("id").to_string();
                        ctx.dir.assignments.retain(|x| x.get("id") != aid);
                        out.push(Value::Object(a.data));
                    }
                    (false, None) => {}
                }
            }
            let ctxurl = ctx.context("servicePrincipals/appRoleAssignments");
            Ok(Resp::ok(entity(
                ctxurl,
                json!({"appId": app.app_id(), "servicePrincipalId": sp_id, "granted": grant, "value": out}),
            )))
        },
    )
}

/// `POST /_emulator/service-principals/{id or appId}/disable|enable`: what an
/// admin's "Enabled for users to sign in? No" does (`accountEnabled`).
fn set_sp_enabled(emu: &Emulator, id: &str, enabled: bool, tenant: Option<&str>) -> GResult {
    let mut t = lock(&emu.tenants);
    let dir = pick(&mut t, tenant)?;
    let sp = dir
        .service_principals
        .iter_mut()
        .find(|s| {
            s.deleted_ms.is_none()
                && (s.id().eq_ignore_ascii_case(id) || s.app_id().eq_ignore_ascii_case(id))
        })
        .ok_or_else(|| GraphError::not_found(id))?;
    sp.data
        .insert("accountEnabled".into(), Value::Bool(enabled));
    Ok(Resp::ok(json!({
        "id": sp.id(),
        "appId": sp.app_id(),
        "accountEnabled": enabled,
    })))
}

fn set_faults(emu: &Emulator, b: &Map<String, Value>) -> GResult {
    let mut f = lock(&emu.faults);
    let mut cur = serde_json::to_value(&f.settings).unwrap_or(json!({}));
    for (k, v) in b {
        if cur.get(k).is_none() {
            return Err(GraphError::bad_request(format!(
                "Unknown fault setting '{k}'."
            )));
        }
        cur[k] = v.clone();
    }
    let mut settings: FaultSettings = serde_json::from_value(cur)
        .map_err(|e| GraphError::bad_request(format!("Invalid fault settings: {e}")))?;
    settings
        .check()
        .map_err(|e| GraphError::bad_request(format!("Invalid fault settings: {e}")))?;
    f.set(settings);
    Ok(Resp::ok(json!(f.settings)))
}
