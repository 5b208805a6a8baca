//! Request dispatch: the top-level split between Graph (`/v1.0`, `/beta`),
//! the token endpoint, cloud metadata and the admin side, and the Graph
//! pipeline (authentication → faults → resource handler → log).

pub mod admin;
pub mod applications;
pub mod batch;
pub mod deleted;
pub mod fic;
pub mod misc;
pub mod owners;
pub mod service_principals;
pub mod token;

use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use crate::auth::{self, Principal};
use crate::errors::{Body, GResult, GraphError, Resp};
use crate::faults::{self, Fault, Faults, RuleAction};
use crate::odata;
use crate::server::HttpReq;
use crate::state::Directory;
use crate::stats::{self, WriteGuard};
use crate::tenants::Tenants;
use crate::util::{inner_error_date, now_ms, percent_decode};
use crate::{Emulator, LogEntry, lock};

pub async fn dispatch(emu: &Emulator, req: HttpReq) -> Resp {
    let path = req.path.clone();
    let date = inner_error_date(now_ms());
    let wrap = |r: GResult| {
        r.unwrap_or_else(|e| e.into_resp(&req.request_id, &req.client_request_id, &date))
    };
    if let Some(rest) = path.strip_prefix("/_emulator/") {
        return wrap(admin::handle(emu, &req, rest));
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["v1.0" | "beta", ..] = segs.as_slice() {
        let version = segs[0];
        let gpath = path[version.len() + 1..].to_string();
        let greq = GraphRequest {
            method: req.method.clone(),
            version: version.to_string(),
            path: if gpath.is_empty() { "/".into() } else { gpath },
            query: req.query.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            batch_item: false,
            request_id: req.request_id.clone(),
            client_request_id: req.client_request_id.clone(),
        };
        // A write's window opens on arrival, before the latency, and closes when
        // the answer is handed back for sending.
        let _window = write_window(emu, &greq);
        network_latency(emu).await;
        return run(emu, &greq).await;
    }
    network_latency(emu).await;
    if path == "/metadata/endpoints" {
        return misc::cloud_metadata(emu);
    }
    match segs.as_slice() {
        ["msi", "token"] => token::managed_identity(emu, &req),
        [tenant, "oauth2", "v2.0", "token"] | [tenant, "oauth2", "token"] => {
            token::handle(emu, &req, tenant)
        }
        [tenant, "v2.0", ".well-known", "openid-configuration"] => {
            misc::openid_configuration(emu, tenant)
        }
        [first, ..] => wrap(Err(GraphError::new(
            400,
            "BadRequest",
            format!("Invalid version: {first}"),
        ))),
        [] => wrap(Err(GraphError::new(400, "BadRequest", "Invalid version"))),
    }
}

/// Latency stands for the network, so it applies to everything but the admin side.
async fn network_latency(emu: &Emulator) {
    let latency = lock(&emu.faults).settings.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
}

/// Opens the in-flight window of a write to an application (see [`crate::stats`]).
pub fn write_window<'a>(emu: &'a Emulator, req: &GraphRequest) -> Option<WriteGuard<'a>> {
    if !stats::is_write(&req.method) {
        return None;
    }
    let app = {
        let t = lock(&emu.tenants);
        let tid = token_tenant(req);
        let dir = tid.as_deref().and_then(|x| t.get(x)).unwrap_or(t.home());
        stats::target_app(&req.path, |app_id| {
            dir.live_app_by_app_id(app_id).map(|a| a.id().to_string())
        })
    }?;
    Some(stats::begin(&emu.writes, &app))
}

/// The tenant a request's bearer token claims (read without verifying it).
pub fn token_tenant(req: &GraphRequest) -> Option<String> {
    let token = bearer(req);
    auth::decode_unverified(token)?
        .get("tid")?
        .as_str()
        .map(str::to_string)
}

fn bearer(req: &GraphRequest) -> &str {
    let header = req.header("authorization").unwrap_or("");
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or(header)
        .trim()
}

/// The directory a request is served from: its token's tenant, or the home tenant
/// when the token names no tenant the emulator has (authentication then fails there).
pub fn request_dir<'a>(t: &'a mut Tenants, claimed: Option<&str>) -> &'a mut Directory {
    let i = claimed
        .and_then(|tid| {
            t.tenants
                .iter()
                .position(|d| d.tenant_id.eq_ignore_ascii_case(tid))
        })
        .or_else(|| {
            t.tenants
                .iter()
                .position(|d| d.tenant_id.eq_ignore_ascii_case(&t.home_tenant))
        })
        .unwrap_or(0);
    &mut t.tenants[i]
}

/// A Graph answer and what shaped it, before it is logged.
pub struct Outcome {
    pub resp: Resp,
    pub fault: Option<&'static str>,
    pub tenant: Option<String>,
}

/// Runs one Graph request (top-level or `$batch` item) through the fault rules,
/// the pipeline and the log.
pub async fn run(emu: &Emulator, req: &GraphRequest) -> Resp {
    let date = inner_error_date(now_ms());
    let err = |e: GraphError| e.into_resp(&req.request_id, &req.client_request_id, &date);
    // Pages reached through an endless link stay endless without consuming the rule.
    let endless = odata::skiptoken_is_endless(&req.query);
    let rule = if endless {
        None
    } else {
        lock(&emu.faults).take_rule(&req.method, &req.path, req.batch_item)
    };
    let action = if endless {
        Some(RuleAction::EndlessNextLink)
    } else {
        rule.as_ref().map(|r| r.action)
    };
    let mut acted_status = None;
    let out = match action {
        None => act(emu, req).await,
        Some(RuleAction::Hold) => {
            let ms = rule.as_ref().map(|r| r.hold_ms).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            act(emu, req).await
        }
        Some(RuleAction::ActThen504) => {
            let o = act(emu, req).await;
            acted_status = Some(o.resp.status);
            Outcome {
                resp: err(gateway_timeout()),
                ..o
            }
        }
        Some(RuleAction::ActThenDrop) => {
            let o = act(emu, req).await;
            acted_status = Some(o.resp.status);
            Outcome {
                resp: Resp {
                    status: 0,
                    headers: Vec::new(),
                    body: Body::Abort,
                },
                ..o
            }
        }
        Some(RuleAction::EndlessNextLink) => {
            let mut o = act(emu, req).await;
            make_endless(emu, req, &mut o.resp);
            o
        }
        Some(RuleAction::OversizedBody) => Outcome {
            resp: Resp {
                status: 200,
                headers: Vec::new(),
                body: Body::Oversized(
                    rule.as_ref()
                        .map(|r| r.size_bytes)
                        .unwrap_or(faults::DEFAULT_OVERSIZED_BYTES),
                ),
            },
            fault: None,
            tenant: token_tenant(req),
        },
        Some(RuleAction::RetryAfterZero) => Outcome {
            resp: err(throttled(
                req,
                "0",
                token_tenant(req).as_deref().unwrap_or(""),
            )),
            fault: None,
            tenant: token_tenant(req),
        },
    };
    // An explicit rule names the fault even when the dice also struck.
    let fault = action.map(RuleAction::name).or(out.fault);
    push_log(
        emu,
        LogEntry {
            method: req.method.clone(),
            path: format!("/{}{}", req.version, req.path),
            query: req.query.clone(),
            status: out.resp.status,
            batch_item: req.batch_item,
            fault: fault.map(str::to_string),
            acted_status,
            tenant: out.tenant,
        },
    );
    out.resp
}

/// The request acted on: a `$batch` (top level only) or one resource request.
async fn act(emu: &Emulator, req: &GraphRequest) -> Outcome {
    if req.path == "/$batch" && !req.batch_item {
        batch::handle(emu, req).await
    } else {
        execute(emu, req)
    }
}

fn gateway_timeout() -> GraphError {
    GraphError::new(
        504,
        "UnknownError",
        "The gateway timed out waiting for the service.",
    )
}

fn throttled(req: &GraphRequest, retry: &str, tenant: &str) -> GraphError {
    let app = auth::decode_unverified(bearer(req))
        .and_then(|c| c.get("appid").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    throttle_error(&app, tenant, retry)
}

fn throttle_error(app: &str, tenant: &str, retry: &str) -> GraphError {
    GraphError::new(
        429,
        "TooManyRequests",
        "Too many requests. The request has been throttled; retry after the interval in the Retry-After header.",
    )
    .with_header("Retry-After", retry)
    .with_header("x-ms-throttle-scope", format!("Tenant_Application/ReadWrite/{app}/{tenant}"))
    .with_header("x-ms-throttle-information", "ResourceUnitLimitExceeded")
    .with_header("x-ms-throttle-limit-percentage", "1.0")
}

/// Points a collection page's `@odata.nextLink` back at the same page.
fn make_endless(emu: &Emulator, req: &GraphRequest, resp: &mut Resp) {
    let Body::Json(Value::Object(m)) = &mut resp.body else {
        return;
    };
    if resp.status != 200 || !m.get("value").is_some_and(Value::is_array) {
        return;
    }
    let self_url = format!("{}/{}{}", emu.base_url, req.version, req.path);
    let eventual = req
        .header("consistencylevel")
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    let link = odata::endless_link(&self_url, &req.query, eventual);
    m.insert("@odata.nextLink".into(), Value::String(link));
}

/// One Graph request (top-level or a `$batch` item).
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: String,
    pub version: String,
    /// Path after the version, starting with `/`.
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub batch_item: bool,
    pub request_id: String,
    pub client_request_id: String,
}

impl GraphRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn is_write(&self) -> bool {
        self.method != "GET" && self.method != "HEAD"
    }
}

/// Authenticates the bearer token and resolves the caller against the directory.
pub fn authenticate(dir: &Directory, req: &GraphRequest) -> GResult<Principal> {
    let token = bearer(req);
    let claims = auth::verify(dir, token, now_ms() / 1000).map_err(GraphError::unauthenticated)?;
    let oid = claims["oid"].as_str().unwrap_or_default();
    Principal::resolve(dir, oid).ok_or_else(|| {
        GraphError::new(
            401,
            "Authorization_IdentityNotFound",
            "The identity of the calling application could not be established.",
        )
    })
}

/// Applies the seeded faults; `None` when the request goes through.
pub fn fault_response(
    faults: &mut Faults,
    who: Option<&Principal>,
    tenant: &str,
) -> Option<(GraphError, &'static str)> {
    let fault = faults.roll()?;
    let retry = faults.settings.retry_after_secs.to_string();
    Some(match fault {
        Fault::Throttle => {
            let app = who.map(|p| p.app_id.clone()).unwrap_or_default();
            (throttle_error(&app, tenant, &retry), "throttle")
        }
        Fault::Unavailable(503) => (
            GraphError::new(
                503,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry later.",
            )
            .with_header("Retry-After", retry),
            "unavailable",
        ),
        Fault::Unavailable(_) => (gateway_timeout(), "unavailable"),
    })
}

/// Runs one resource request through auth, faults and the resource handlers, in
/// the directory of its token's tenant, and persists after a successful write.
pub fn execute(emu: &Emulator, req: &GraphRequest) -> Outcome {
    let now = now_ms();
    let date = inner_error_date(now);
    let claimed = token_tenant(req);
    let mut tenants = lock(&emu.tenants);
    let mut fault = None;
    let result = {
        let dir = request_dir(&mut tenants, claimed.as_deref());
        serve(emu, dir, req, now, &mut fault)
    };
    let mut resp =
        result.unwrap_or_else(|e| e.into_resp(&req.request_id, &req.client_request_id, &date));
    if resp.status < 400 {
        resp.headers.push(("x-ms-resource-unit".into(), "1".into()));
    }
    if req.is_write() && resp.status < 400 {
        emu.persist(&tenants);
    }
    Outcome {
        resp,
        fault,
        tenant: claimed,
    }
}

fn serve(
    emu: &Emulator,
    dir: &mut Directory,
    req: &GraphRequest,
    now: u64,
    fault: &mut Option<&'static str>,
) -> GResult {
    let who = authenticate(dir, req)?;
    let mut faults = lock(&emu.faults);
    if let Some((e, name)) = fault_response(&mut faults, Some(&who), &dir.tenant_id) {
        *fault = Some(name);
        return Err(e);
    }
    let mut ctx = Ctx {
        emu,
        dir,
        faults: &mut faults,
        who,
        req,
        now,
        fault: None,
    };
    let r = route(&mut ctx);
    *fault = ctx.fault;
    r
}

/// Most entries kept in the request log (oldest dropped), so long demo runs stay bounded.
pub const LOG_CAP: usize = 100_000;

pub fn push_log(emu: &Emulator, e: LogEntry) {
    let mut log = lock(&emu.log);
    if log.len() >= LOG_CAP {
        log.drain(..LOG_CAP / 10);
    }
    log.push(e);
}

/// A parsed path segment: `applications(appId='x')` → name + key.
#[derive(Debug, Clone)]
pub struct Seg {
    pub raw: String,
    pub name: String,
    pub key: Option<Key>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// `('id')` or bare `(id)`.
    Id(String),
    /// `(appId='x')`, `(name='x')`.
    Alt(String, String),
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].replace("''", "'")
    } else {
        v.to_string()
    }
}

pub fn parse_segments(path: &str) -> Vec<Seg> {
    path.trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|raw| {
            let d = percent_decode(raw, false);
            match (d.find('('), d.ends_with(')')) {
                (Some(i), true) => {
                    let inner = &d[i + 1..d.len() - 1];
                    let key = match inner.split_once('=') {
                        Some((k, v)) if !k.trim().starts_with('\'') => {
                            Key::Alt(k.trim().to_string(), unquote(v))
                        }
                        _ => Key::Id(unquote(inner)),
                    };
                    Seg {
                        raw: d.clone(),
                        name: d[..i].to_string(),
                        key: Some(key),
                    }
                }
                _ => Seg {
                    raw: d.clone(),
                    name: d,
                    key: None,
                },
            }
        })
        .collect()
}

/// Per-request context for resource handlers (directory and faults locked).
pub struct Ctx<'a> {
    pub emu: &'a Emulator,
    pub dir: &'a mut Directory,
    pub faults: &'a mut Faults,
    pub who: Principal,
    pub req: &'a GraphRequest,
    pub now: u64,
    /// Set when an injected fault (the consistency window, the SP-create race)
    /// shaped the answer, for the request log.
    pub fault: Option<&'static str>,
}

impl Ctx<'_> {
    /// `{base}/v1.0/$metadata#{frag}`
    pub fn context(&self, frag: &str) -> String {
        format!(
            "{}/{}/$metadata#{}",
            self.emu.base_url, self.req.version, frag
        )
    }
    /// This request's URL without query (base for nextLink).
    pub fn self_url(&self) -> String {
        format!(
            "{}/{}{}",
            self.emu.base_url, self.req.version, self.req.path
        )
    }
    pub fn eventual(&self) -> bool {
        self.req
            .header("consistencylevel")
            .map(|v| v.eq_ignore_ascii_case("eventual"))
            .unwrap_or(false)
    }
    /// Collection options (`$filter`, `$select`, paging, …) for `res`.
    pub fn list_query(&self, res: &crate::odata::Resource) -> GResult<crate::odata::Query> {
        crate::odata::Query::parse_list(&self.req.query, self.eventual(), res, self.beta())
    }
    /// Single-entity options (`$select`, `$expand`) for `res`.
    pub fn entity_query(&self, res: &crate::odata::Resource) -> GResult<crate::odata::Query> {
        crate::odata::Query::parse_entity(&self.req.query, res, self.beta())
    }
    pub fn beta(&self) -> bool {
        self.req.version == "beta"
    }
    /// The request body as a JSON object.
    pub fn body(&self) -> GResult<Map<String, Value>> {
        if self.req.body.iter().all(u8::is_ascii_whitespace) {
            return Err(GraphError::unreadable_json());
        }
        match serde_json::from_slice::<Value>(&self.req.body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(GraphError::unreadable_json()),
        }
    }
    /// Consistency window for the object itself (GET/PATCH): counts as a read.
    pub fn lagging(&mut self, id: &str) -> bool {
        let lag = self.faults.lagging(id, self.now);
        if lag {
            self.fault = Some("consistency_404");
        }
        lag
    }
    /// Consistency window for sub-resource access, only when configured.
    pub fn lagging_parent(&mut self, id: &str) -> bool {
        self.faults.settings.consistency_subresources && self.lagging(id)
    }
}

/// Wraps an entity with its `@odata.context`.
/// Which directory object a keyed path names, and how to find it.
pub struct Keyed {
    /// The collection, for the error on an unsupported alternate key.
    pub collection: &'static str,
    /// A live object by `appId` (the one alternate key both collections take).
    pub by_app_id: fn(&Directory, &str) -> Option<String>,
    /// A live object by object id.
    pub by_id: fn(&Directory, &str) -> Option<String>,
}

/// Resolves `{collection}/{id}` or `{collection}(appId='…')` to a live object's id.
/// `own_read` = the request reads/patches the object itself (consistency window
/// applies); otherwise the window applies only with `consistency_subresources`.
pub fn resolve_keyed(
    ctx: &mut Ctx,
    segs: &[Seg],
    own_read: bool,
    keyed: &Keyed,
) -> GResult<String> {
    let (shown, found) = match (&segs[0].key, segs.get(1)) {
        (Some(Key::Alt(k, v)), _) if k.eq_ignore_ascii_case("appId") => {
            (v.clone(), (keyed.by_app_id)(ctx.dir, v))
        }
        (Some(Key::Alt(k, _)), _) => {
            return Err(GraphError::bad_request(format!(
                "Alternate key '{k}' is not supported for {}.",
                keyed.collection
            )));
        }
        (Some(Key::Id(id)), _)
        | (
            None,
            Some(Seg {
                name: id,
                key: None,
                ..
            }),
        ) => {
            if !crate::util::is_guid(id) {
                return Err(GraphError::invalid_id(id));
            }
            (id.clone(), (keyed.by_id)(ctx.dir, id))
        }
        _ => {
            return Err(GraphError::segment(
                &segs.get(1).map(|s| s.raw.clone()).unwrap_or_default(),
            ));
        }
    };
    let id = found.ok_or_else(|| GraphError::not_found(&shown))?;
    let lag = if own_read {
        ctx.lagging(&id)
    } else {
        ctx.lagging_parent(&id)
    };
    if lag {
        return Err(GraphError::not_found(&shown));
    }
    Ok(id)
}

pub fn entity(context: String, v: Value) -> Value {
    let mut out = Map::new();
    out.insert("@odata.context".into(), Value::String(context));
    if let Value::Object(m) = v {
        for (k, val) in m {
            if k != "@odata.context" {
                out.insert(k, val);
            }
        }
    }
    Value::Object(out)
}

fn route(ctx: &mut Ctx) -> GResult {
    let segs = parse_segments(&ctx.req.path);
    let Some(first) = segs.first() else {
        return Err(GraphError::segment(""));
    };
    match first.name.as_str() {
        "applications" => applications::route(ctx, &segs),
        "servicePrincipals" => service_principals::route(ctx, &segs),
        "directory" => deleted::route(ctx, &segs),
        "me" | "organization" | "users" | "directoryObjects" => misc::route(ctx, &segs),
        "$batch" => Err(GraphError::bad_request(
            "Nested batch requests are not supported.",
        )),
        _ => Err(GraphError::segment(&first.raw)),
    }
}

/// Resp with the given body for a batch item / HTTP response.
pub fn body_value(r: &Resp) -> Option<&Value> {
    match &r.body {
        Body::Json(v) => Some(v),
        _ => None,
    }
}
