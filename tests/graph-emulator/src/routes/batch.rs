//! `/$batch` (msgraph-behaviour A10): ≤20 requests, unique ids, `dependsOn`
//! with 424 on a failed dependency; each item goes through the same pipeline
//! as a top-level request (auth, faults, consistency, log).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

use super::{GraphRequest, Outcome};
use crate::errors::{Body, GRAPH_JSON, GraphError, Resp};
use crate::util::{inner_error_date, new_guid, now_ms};
use crate::{Emulator, LogEntry, lock};

pub const MAX_REQUESTS: usize = 20;

struct Item {
    id: String,
    method: String,
    url: String,
    headers: Map<String, Value>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn bad(msg: impl Into<String>) -> GraphError {
    GraphError::new(400, "BadRequest", msg)
}

fn parse(body: &[u8]) -> Result<Vec<Item>, GraphError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| GraphError::unreadable_json())?;
    let reqs = v
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Invalid batch payload format."))?;
    if reqs.is_empty() {
        return Err(bad(
            "Invalid batch payload format: the batch contains no requests.",
        ));
    }
    if reqs.len() > MAX_REQUESTS {
        return Err(bad(format!(
            "Number of batch requests exceeds the limit of {MAX_REQUESTS}."
        )));
    }
    let mut items: Vec<Item> = Vec::new();
    for r in reqs {
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(bad(
                    "Invalid batch payload format: every request needs an 'id'.",
                ));
            }
        };
        if items.iter().any(|i| i.id.eq_ignore_ascii_case(&id)) {
            return Err(bad(format!(
                "Batch request contains duplicate request id '{id}'."
            )));
        }
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("Request '{id}' has no method.")))?;
        let url = r
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("Request '{id}' has no url.")))?;
        let headers = r
            .get("headers")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let body = r.get("body").cloned().filter(|b| !b.is_null());
        if body.is_some()
            && !headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            return Err(bad(format!(
                "Content-Type header must be specified for request '{id}' because it has a body."
            )));
        }
        let depends_on = match r.get("dependsOn") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(_) => return Err(bad(format!("Request '{id}' has an invalid dependsOn."))),
        };
        items.push(Item {
            id,
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            headers,
            body,
            depends_on,
        });
    }
    for it in &items {
        for d in &it.depends_on {
            if !items.iter().any(|o| o.id.eq_ignore_ascii_case(d)) {
                return Err(bad(format!(
                    "Request '{}' depends on unknown request '{d}'.",
                    it.id
                )));
            }
            if d.eq_ignore_ascii_case(&it.id) {
                return Err(bad(format!("Request '{}' depends on itself.", it.id)));
            }
        }
    }
    Ok(items)
}

/// Execution order honouring dependsOn; `None` if there is a cycle.
fn order(items: &[Item]) -> Option<Vec<usize>> {
    let mut done: Vec<usize> = Vec::new();
    while done.len() < items.len() {
        let before = done.len();
        for (i, it) in items.iter().enumerate() {
            if done.contains(&i) {
                continue;
            }
            let ready = it.depends_on.iter().all(|d| {
                items
                    .iter()
                    .position(|o| o.id.eq_ignore_ascii_case(d))
                    .map(|p| done.contains(&p))
                    .unwrap_or(false)
            });
            if ready {
                done.push(i);
            }
        }
        if done.len() == before {
            return None;
        }
    }
    Some(done)
}

/// The outer `$batch` request; its items are run (and logged) one by one, the
/// outer request is logged by the caller.
pub async fn handle(emu: &Emulator, outer: &GraphRequest) -> Outcome {
    let date = inner_error_date(now_ms());
    let tenant = super::token_tenant(outer);
    let fail = |e: GraphError, fault: Option<&'static str>| Outcome {
        resp: e.into_resp(&outer.request_id, &outer.client_request_id, &date),
        fault,
        tenant: tenant.clone(),
    };
    if outer.method != "POST" {
        return fail(GraphError::method_not_allowed(), None);
    }
    // The outer request is authenticated and subject to faults like any other.
    {
        let mut tenants = lock(&emu.tenants);
        let dir = super::request_dir(&mut tenants, tenant.as_deref());
        let who = match super::authenticate(dir, outer) {
            Ok(p) => p,
            Err(e) => return fail(e, None),
        };
        let mut faults = lock(&emu.faults);
        if let Some((e, name)) = super::fault_response(&mut faults, Some(&who), &dir.tenant_id) {
            return fail(e, Some(name));
        }
    }
    let items = match parse(&outer.body) {
        Ok(i) => i,
        Err(e) => return fail(e, None),
    };
    let Some(seq) = order(&items) else {
        return fail(
            bad("The dependsOn graph of the batch contains a cycle."),
            None,
        );
    };
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut responses = Vec::new();
    for i in seq {
        let it = &items[i];
        let failed_dep = it.depends_on.iter().any(|d| {
            statuses
                .iter()
                .any(|(id, s)| id.eq_ignore_ascii_case(d) && !(200..300).contains(s))
        });
        let resp = if failed_dep {
            let r = GraphError::new(
                424,
                "FailedDependency",
                "The request could not be processed because a request it depends on failed.",
            )
            .into_resp(&new_guid(), &outer.client_request_id, &date);
            let url = if it.url.starts_with('/') {
                it.url.clone()
            } else {
                format!("/{}", it.url)
            };
            let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
            super::push_log(
                emu,
                LogEntry {
                    method: it.method.clone(),
                    path: format!("/{}{path}", outer.version),
                    query: query.to_string(),
                    status: 424,
                    batch_item: true,
                    fault: None,
                    acted_status: None,
                    tenant: tenant.clone(),
                },
            );
            r
        } else {
            run_item(emu, outer, it, &date).await
        };
        statuses.push((it.id.clone(), resp.status));
        responses.push(item_json(&it.id, resp));
    }
    Outcome {
        resp: Resp::ok(json!({ "responses": responses })),
        fault: None,
        tenant,
    }
}

async fn run_item(emu: &Emulator, outer: &GraphRequest, it: &Item, date: &str) -> Resp {
    let url = it.url.trim();
    if url.starts_with("http://") || url.starts_with("https://") {
        return bad("The batch request URL must be relative, e.g. /applications.").into_resp(
            &new_guid(),
            &outer.client_request_id,
            date,
        );
    }
    let url = if url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    };
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (url.clone(), String::new()),
    };
    let mut headers = HeaderMap::new();
    if let Some(a) = outer.headers.get("authorization") {
        headers.insert("authorization", a.clone());
    }
    for (k, v) in &it.headers {
        if let (Ok(k), Some(Ok(v))) = (
            HeaderName::try_from(k.as_str()),
            v.as_str().map(HeaderValue::from_str),
        ) {
            headers.insert(k, v);
        }
    }
    let body = it
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let req = GraphRequest {
        method: it.method.clone(),
        version: outer.version.clone(),
        path,
        query,
        headers,
        body,
        batch_item: true,
        request_id: new_guid(),
        client_request_id: outer.client_request_id.clone(),
    };
    if req.path == "/$batch" {
        return bad("Nested batch requests are not supported.").into_resp(
            &req.request_id,
            &req.client_request_id,
            date,
        );
    }
    let _window = super::write_window(emu, &req);
    // Boxed: an item runs through the same pipeline that runs the batch itself.
    Box::pin(super::run(emu, &req)).await
}

fn item_json(id: &str, r: Resp) -> Value {
    let mut headers = Map::new();
    for (k, v) in &r.headers {
        headers.insert(k.clone(), json!(v));
    }
    let mut out = json!({"id": id, "status": r.status});
    match r.body {
        Body::Json(v) => {
            if !headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
            {
                headers.insert("Content-Type".into(), json!(GRAPH_JSON));
            }
            out["body"] = v;
        }
        Body::Text(t) => {
            headers.insert("Content-Type".into(), json!("text/plain"));
            out["body"] = json!(t);
        }
        // Not produced for items (those rules do not match them).
        Body::Empty | Body::Oversized(_) | Body::Abort => {}
    }
    out["headers"] = Value::Object(headers);
    out
}
