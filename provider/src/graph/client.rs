//! The Microsoft Graph HTTP client. Every request carries a fresh `client-request-id`,
//! is retried on throttling and transient faults within the operation's deadline, and
//! stops when Terraform asks to. Operations that expect eventual-consistency answers
//! right after a write say which ones to wait out with `retry_if`.

use super::auth::cache::TokenCache;
use super::error::{GraphError, GraphErrorKind};
use super::retry::{RetryPolicy, is_transient_status, parse_retry_after};
use reqwest::Method;
use serde_json::{Value as Json, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// One provider operation's budget: its deadline (the resource's timeout) and
/// Terraform's stop signal.
#[derive(Clone, Debug)]
pub struct Operation {
    pub deadline: Instant,
    pub cancelled: CancellationToken,
}

impl Operation {
    pub fn new(timeout: Duration, cancelled: CancellationToken) -> Self {
        Self {
            deadline: Instant::now() + timeout,
            cancelled,
        }
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Waits `delay` unless that would pass the deadline or Terraform stops us.
    /// An error says why the caller should give up instead.
    pub async fn wait(&self, delay: Duration) -> Result<(), GraphErrorKind> {
        if delay >= self.remaining() {
            return Err(GraphErrorKind::Deadline);
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = self.cancelled.cancelled() => Err(GraphErrorKind::Cancelled),
        }
    }
}

/// Decides whether an error answer is a passing state worth waiting out.
pub type RetryIf = fn(&GraphError) -> bool;

#[derive(Clone, Debug)]
pub struct GraphRequest {
    pub method: Method,
    /// Path under the API version, e.g. `/applications/{id}`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Json>,
    pub headers: Vec<(String, String)>,
    pub retry_if: Option<RetryIf>,
}

impl GraphRequest {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            retry_if: None,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn post(path: impl Into<String>, body: Json) -> Self {
        Self {
            body: Some(body),
            ..Self::new(Method::POST, path)
        }
    }

    pub fn patch(path: impl Into<String>, body: Json) -> Self {
        Self {
            body: Some(body),
            ..Self::new(Method::PATCH, path)
        }
    }

    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    pub fn header(mut self, key: &str, value: impl Into<String>) -> Self {
        self.headers.push((key.to_owned(), value.into()));
        self
    }

    pub fn retry_if(mut self, f: RetryIf) -> Self {
        self.retry_if = Some(f);
        self
    }

    /// Sending twice does no harm. POST creates, so it is retried only where Graph
    /// cannot have acted on it (throttled or unavailable).
    fn idempotent(&self) -> bool {
        self.method != Method::POST
    }

    fn retries_status(&self, status: u16) -> bool {
        is_transient_status(status) && (self.idempotent() || matches!(status, 429 | 503))
    }

    /// `path?query` with OData's `$`, quotes and parentheses left readable.
    pub fn relative_url(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
            .collect();
        format!("{}?{}", self.path, query.join("&"))
    }

    fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~$'(),:*=/@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Clone, Debug)]
pub struct GraphResponse {
    pub status: u16,
    pub body: Json,
}

impl GraphResponse {
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, GraphError> {
        serde_json::from_value(self.body.clone()).map_err(|e| {
            GraphError::transport(
                "parse".to_owned(),
                format!("Microsoft Graph sent a body the provider cannot read: {e}"),
            )
        })
    }
}

pub struct GraphClient {
    http: reqwest::Client,
    /// e.g. `https://graph.microsoft.com/v1.0`
    api_root: String,
    tokens: Arc<TokenCache>,
    policy: RetryPolicy,
}

impl GraphClient {
    pub fn new(http: reqwest::Client, graph_endpoint: &url::Url, tokens: Arc<TokenCache>) -> Self {
        Self {
            http,
            api_root: format!("{}/v1.0", graph_endpoint.as_str().trim_end_matches('/')),
            tokens,
            policy: RetryPolicy::default(),
        }
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// Sends one request, retrying as its kind allows, until success, a final error,
    /// the deadline or a stop.
    pub async fn send(
        &self,
        op: &Operation,
        req: &GraphRequest,
    ) -> Result<GraphResponse, GraphError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            if op.cancelled.is_cancelled() {
                return Err(GraphError::cancelled(req.describe()));
            }
            let (result, retry_after) = self.attempt(op, req, attempt).await;
            let error = match result {
                Ok(response) => return Ok(response),
                Err(e) => e,
            };
            let retryable = match (&error.kind, error.status) {
                (GraphErrorKind::Api, Some(status)) if req.retries_status(status) => true,
                // A token revoked or expired early: sign in again, once.
                (GraphErrorKind::Api, Some(401)) if attempt == 1 => {
                    self.tokens.invalidate().await;
                    true
                }
                (GraphErrorKind::Transport, _) => req.idempotent(),
                (GraphErrorKind::Api, _) => req.retry_if.is_some_and(|f| f(&error)),
                _ => false,
            };
            if !retryable {
                return Err(GraphError {
                    attempts: attempt,
                    ..error
                });
            }
            let delay = self.policy.backoff(attempt, retry_after);
            tracing::debug!(
                request = %req.describe(),
                status = error.status.unwrap_or(0),
                code = %error.code,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying Microsoft Graph request"
            );
            if let Err(kind) = op.wait(delay).await {
                return Err(GraphError {
                    kind,
                    attempts: attempt,
                    ..error
                });
            }
        }
    }

    async fn attempt(
        &self,
        op: &Operation,
        req: &GraphRequest,
        attempt: u32,
    ) -> (Result<GraphResponse, GraphError>, Option<Duration>) {
        // Signing in may call the token endpoint or the Azure CLI: it obeys Stop and
        // the operation's deadline like any Graph request.
        let token = tokio::select! {
            t = tokio::time::timeout(op.remaining(), self.tokens.token()) => match t {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => return (Err(GraphError::auth(req.describe(), e)), None),
                Err(_) => {
                    let e = GraphError::transport(req.describe(), "signing in took longer than the operation's timeout".into());
                    return (Err(GraphError { kind: GraphErrorKind::Deadline, ..e }), None);
                }
            },
            () = op.cancelled.cancelled() => return (Err(GraphError::cancelled(req.describe())), None),
        };
        let url = format!("{}{}", self.api_root, req.relative_url());
        let client_request_id = uuid_v4();
        let mut builder = self
            .http
            .request(req.method.clone(), &url)
            .bearer_auth(token.secret.expose())
            .header("client-request-id", &client_request_id)
            // A single request never waits longer than the operation has left.
            .timeout(
                op.remaining()
                    .clamp(Duration::from_secs(1), Duration::from_secs(120)),
            );
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let started = Instant::now();
        let sent = tokio::select! {
            r = builder.send() => r,
            () = op.cancelled.cancelled() => return (Err(GraphError::cancelled(req.describe())), None),
        };
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(request = %req.describe(), attempt, "Graph request failed: {e}");
                return (
                    Err(GraphError::transport(req.describe(), e.to_string())),
                    None,
                );
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("request-id");
        let retry_after = parse_retry_after(header("retry-after").as_deref());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return (
                    Err(GraphError::transport(req.describe(), e.to_string())),
                    None,
                );
            }
        };
        tracing::debug!(
            method = %req.method,
            path = %req.path,
            status,
            request_id = request_id.as_deref().unwrap_or(""),
            client_request_id = %client_request_id,
            attempt,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Microsoft Graph"
        );
        if (200..300).contains(&status) {
            let body = if bytes.is_empty() {
                Json::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or(Json::Null)
            };
            (Ok(GraphResponse { status, body }), None)
        } else {
            (
                Err(GraphError::from_response(
                    req.describe(),
                    status,
                    request_id,
                    &bytes,
                )),
                retry_after,
            )
        }
    }

    /// Sends up to any number of requests in `$batch` round trips of at most 20,
    /// retrying the items that were throttled or failed transiently. Results come back
    /// in the order of `requests`.
    pub async fn batch(
        &self,
        op: &Operation,
        requests: &[GraphRequest],
    ) -> Vec<Result<GraphResponse, GraphError>> {
        let mut results: Vec<Option<Result<GraphResponse, GraphError>>> =
            vec![None; requests.len()];
        let mut pending: Vec<usize> = (0..requests.len()).collect();
        let mut round = 0;
        while !pending.is_empty() {
            round += 1;
            let mut retry_later = Vec::new();
            let mut wait_hint: Option<Duration> = None;
            for chunk in pending.chunks(20) {
                let body = json!({
                    "requests": chunk.iter().map(|&i| {
                        let r = &requests[i];
                        let mut item = json!({"id": i.to_string(), "method": r.method.as_str(), "url": r.relative_url()});
                        let mut headers = serde_json::Map::new();
                        for (k, v) in &r.headers {
                            headers.insert(k.clone(), Json::from(v.clone()));
                        }
                        if let Some(b) = &r.body {
                            headers.insert("Content-Type".into(), Json::from("application/json"));
                            item["body"] = b.clone();
                        }
                        if !headers.is_empty() {
                            item["headers"] = Json::Object(headers);
                        }
                        item
                    }).collect::<Vec<_>>()
                });
                let response = match self.send_batch_envelope(op, body).await {
                    Ok(r) => r,
                    Err(e) => {
                        for &i in chunk {
                            results[i] = Some(Err(GraphError {
                                request: requests[i].describe(),
                                ..e.clone()
                            }));
                        }
                        continue;
                    }
                };
                let items = response.body["responses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for &i in chunk {
                    let item = items
                        .iter()
                        .find(|r| r["id"].as_str() == Some(&i.to_string()));
                    let Some(item) = item else {
                        results[i] = Some(Err(GraphError::transport(
                            requests[i].describe(),
                            "Microsoft Graph's batch answer left this request out".to_owned(),
                        )));
                        continue;
                    };
                    let status = item["status"].as_u64().unwrap_or(0) as u16;
                    let body = item["body"].clone();
                    if (200..300).contains(&status) {
                        results[i] = Some(Ok(GraphResponse { status, body }));
                        continue;
                    }
                    let headers = &item["headers"];
                    let header = |name: &str| {
                        headers
                            .as_object()
                            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                            .and_then(|(_, v)| v.as_str().map(str::to_owned))
                    };
                    let error = GraphError::from_response(
                        requests[i].describe(),
                        status,
                        header("request-id"),
                        body.to_string().as_bytes(),
                    );
                    let req = &requests[i];
                    let retryable =
                        req.retries_status(status) || req.retry_if.is_some_and(|f| f(&error));
                    if retryable {
                        let after = parse_retry_after(header("retry-after").as_deref());
                        wait_hint = wait_hint.max(after);
                        results[i] = Some(Err(GraphError {
                            attempts: round,
                            ..error
                        }));
                        retry_later.push(i);
                    } else {
                        results[i] = Some(Err(GraphError {
                            attempts: round,
                            ..error
                        }));
                    }
                }
            }
            if retry_later.is_empty() {
                break;
            }
            let delay = self.policy.backoff(round, wait_hint);
            tracing::debug!(
                items = retry_later.len(),
                round,
                delay_ms = delay.as_millis() as u64,
                "retrying batch items"
            );
            if let Err(kind) = op.wait(delay).await {
                for &i in &retry_later {
                    if let Some(Err(e)) = &mut results[i] {
                        e.kind = kind.clone();
                    }
                }
                break;
            }
            pending = retry_later;
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(GraphError::transport("batch".into(), "not sent".into())))
            })
            .collect()
    }

    async fn send_batch_envelope(
        &self,
        op: &Operation,
        body: Json,
    ) -> Result<GraphResponse, GraphError> {
        // The envelope is a POST, but the items decide their own retries: a transient
        // failure of the envelope itself means no item ran, so it is safe to resend.
        let envelope = GraphRequest::post("/$batch", body)
            .retry_if(|e| e.status.is_some_and(is_transient_status));
        self.send(op, &envelope).await
    }
}

/// A random id per attempt, so each one can be traced in Graph's logs.
fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_keep_odata_readable() {
        let r = GraphRequest::get("/applications")
            .query("$filter", "appId eq 'a b'")
            .query("$select", "id,appId");
        assert_eq!(
            r.relative_url(),
            "/applications?$filter=appId%20eq%20'a%20b'&$select=id,appId"
        );
    }

    #[test]
    fn posts_are_retried_only_where_graph_did_not_act() {
        let post = GraphRequest::post("/applications", json!({}));
        assert!(post.retries_status(429));
        assert!(post.retries_status(503));
        assert!(
            !post.retries_status(504),
            "a timed-out create may have happened"
        );
        assert!(!post.retries_status(500));
        let get = GraphRequest::get("/applications/x");
        assert!(get.retries_status(504));
        assert!(!get.retries_status(404));
    }

    #[test]
    fn request_ids_are_uuids() {
        let a = uuid_v4();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, uuid_v4());
    }
}
