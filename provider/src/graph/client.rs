//! The Microsoft Graph HTTP client. Every request carries a fresh `client-request-id`,
//! is retried on throttling and transient faults within the operation's deadline, and
//! obeys Terraform's Stop: a read stops at once; a write already sent runs to its
//! answer, so that what Graph did is known (see `consistency`). Requests that may meet
//! replication lag say which answers are lag with `ride_lag`; those are retried for at
//! most `consistency::LAG_BUDGET`. Answers are read up to [`MAX_BODY_BYTES`], and
//! listings follow at most [`MAX_PAGES`] pages.

use super::auth::cache::TokenCache;
use super::consistency::{LAG_BUDGET, LagRule, lag_wait, may_have_acted};
use super::error::{GraphError, GraphErrorKind};
use super::models::Collection;
use super::retry::{RetryPolicy, is_transient_status, parse_retry_after};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The largest answer read from Graph. A page of 999 applications with their
/// properties is a few MiB; anything far past that is not an answer worth reading.
pub const MAX_BODY_BYTES: usize = 32 << 20;
/// The most pages one listing follows (999 items each at most).
pub const MAX_PAGES: usize = 100;
/// The longest a single HTTP exchange may take, whatever the operation has left.
const MAX_REQUEST_TIME: Duration = Duration::from_secs(120);

/// One provider operation's budget: its deadline (the resource's timeout) and
/// Terraform's stop signal.
#[derive(Clone, Debug)]
pub struct Operation {
    pub deadline: Instant,
    pub cancelled: CancellationToken,
}

impl Operation {
    pub fn new(timeout: Duration, cancelled: CancellationToken) -> Self {
        let now = Instant::now();
        Self {
            // Timeouts are validated to at most a day; this only keeps a bad value from
            // overflowing the clock.
            deadline: now
                .checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(24 * 3600)),
            cancelled,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }

    /// The same operation with a deadline no later than `budget` from now.
    pub fn within(&self, budget: Duration) -> Operation {
        Operation {
            deadline: self.deadline.min(Instant::now() + budget),
            cancelled: self.cancelled.clone(),
        }
    }

    /// An operation for finding out what a write did after its answer was lost: it
    /// ignores Stop (Stop prevents the next step, it must not hide the result of the
    /// current one) and runs for `budget` even if the original deadline has passed.
    pub fn finding_out(&self, budget: Duration) -> Operation {
        Operation {
            deadline: Instant::now() + budget,
            cancelled: CancellationToken::new(),
        }
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

/// Whether a request may be sent again after an answer that leaves its effect unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Reads, PATCH and DELETE: sending twice does no harm.
    Safe,
    /// A create that Graph refuses to repeat (a duplicate key answers 409 or
    /// "already exists"), so resending is safe and the caller adopts what exists.
    Keyed,
    /// A create Graph would repeat (a second application): resent only where Graph
    /// cannot have acted (throttled or unavailable).
    Unsafe,
}

#[derive(Clone, Debug)]
pub struct GraphRequest {
    pub method: Method,
    /// Path under the API version, e.g. `/applications/{id}`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Json>,
    pub headers: Vec<(String, String)>,
    pub replay: Replay,
    /// Runs to its answer once sent, even on Stop (anything but a read).
    pub writes: bool,
    /// Which answers are replication lag, and for how long they are waited out.
    pub lag: Option<(LagRule, Duration)>,
}

impl GraphRequest {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            replay: if method == Method::POST {
                Replay::Unsafe
            } else {
                Replay::Safe
            },
            writes: method != Method::GET,
            lag: None,
            method,
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

    /// A create whose duplicate Graph refuses (see [`Replay::Keyed`]).
    pub fn keyed(mut self) -> Self {
        self.replay = Replay::Keyed;
        self
    }

    /// Answers matching `rule` right after a write are replication lag: retried for
    /// at most `consistency::LAG_BUDGET`, then returned as they are.
    pub fn ride_lag(self, rule: LagRule) -> Self {
        self.ride_lag_for(rule, LAG_BUDGET)
    }

    /// As [`Self::ride_lag`], for at most `budget`.
    pub fn ride_lag_for(mut self, rule: LagRule, budget: Duration) -> Self {
        self.lag = Some((rule, budget));
        self
    }

    fn is_lag(&self, e: &GraphError, since: Instant) -> bool {
        self.lag
            .is_some_and(|(is_lag, budget)| is_lag(e) && since.elapsed() < budget)
    }

    fn resendable(&self) -> bool {
        self.replay != Replay::Unsafe
    }

    /// A write already on its way runs to its answer even when Terraform asks to stop.
    pub fn is_write(&self) -> bool {
        self.writes
    }

    fn retries_status(&self, status: u16) -> bool {
        is_transient_status(status) && (self.resendable() || matches!(status, 429 | 503))
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
        let started = Instant::now();
        // Whether an earlier attempt of this write may have been acted on.
        let mut acted_unknown = false;
        let mut lag_waits = 0;
        loop {
            attempt += 1;
            if op.cancelled.is_cancelled() {
                return Err(GraphError {
                    acted_unknown,
                    ..GraphError::cancelled(req.describe())
                });
            }
            let (result, retry_after) = self.attempt(op, req, attempt).await;
            let error = match result {
                Ok(response) => return Ok(response),
                Err(e) => GraphError {
                    acted_unknown: acted_unknown && req.is_write(),
                    ..e
                },
            };
            acted_unknown |= may_have_acted(&error);
            let mut lagging = false;
            let retryable = match (&error.kind, error.status) {
                (GraphErrorKind::Api, Some(status)) if req.retries_status(status) => true,
                // A token revoked or expired early: sign in again, once.
                (GraphErrorKind::Api, Some(401)) if attempt == 1 => {
                    self.tokens.invalidate().await;
                    true
                }
                (GraphErrorKind::Transport, _) => req.resendable(),
                (GraphErrorKind::Api, _) => {
                    lagging = req.is_lag(&error, started);
                    lagging
                }
                _ => false,
            };
            if !retryable {
                return Err(GraphError {
                    attempts: attempt,
                    ..error
                });
            }
            let delay = if lagging {
                lag_waits += 1;
                lag_wait(lag_waits)
            } else {
                self.policy.backoff(attempt, retry_after)
            };
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
                    // This attempt's own lost answer counts too.
                    acted_unknown: acted_unknown && req.is_write(),
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
                    .clamp(Duration::from_secs(1), MAX_REQUEST_TIME),
            );
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let started = Instant::now();
        let described = req.describe();
        let exchange = exchange(builder, &described);
        let answer = if req.is_write() {
            // Graph may already be acting on it: wait for the answer (bounded by the
            // request timeout) instead of forgetting what was done.
            exchange.await
        } else {
            tokio::select! {
                r = exchange => r,
                () = op.cancelled.cancelled() => return (Err(GraphError::cancelled(req.describe())), None),
            }
        };
        let Exchanged {
            status,
            request_id,
            retry_after,
            bytes,
        } = match answer {
            Ok(a) => a,
            Err(message) => {
                tracing::debug!(request = %req.describe(), attempt, "Graph request failed: {message}");
                return (Err(GraphError::transport(req.describe(), message)), None);
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

    /// Every item of a collection: follows `@odata.nextLink` within the operation's
    /// deadline, for at most [`MAX_PAGES`] pages, only on Graph's own host; a link
    /// already followed is an error rather than a loop.
    pub async fn list<T: DeserializeOwned>(
        &self,
        op: &Operation,
        first: GraphRequest,
    ) -> Result<Vec<T>, GraphError> {
        self.pages(op, first, std::collections::HashSet::new())
            .await
    }

    /// As [`Self::list`], from a next-page link already received.
    pub async fn list_from<T: DeserializeOwned>(
        &self,
        op: &Operation,
        next_link: &str,
    ) -> Result<Vec<T>, GraphError> {
        let first = self
            .next_page(next_link)
            .ok_or_else(|| self.foreign_link(next_link))?;
        self.pages(op, first, [next_link.to_owned()].into()).await
    }

    async fn pages<T: DeserializeOwned>(
        &self,
        op: &Operation,
        first: GraphRequest,
        mut seen: std::collections::HashSet<String>,
    ) -> Result<Vec<T>, GraphError> {
        let mut items = Vec::new();
        let mut request = first;
        for _ in 0..MAX_PAGES {
            let page: Collection<T> = self.send(op, &request).await?.parse()?;
            items.extend(page.value);
            let Some(next) = page.next_link else {
                return Ok(items);
            };
            if !seen.insert(next.clone()) {
                return Err(GraphError::transport(
                    request.describe(),
                    format!(
                        "Microsoft Graph sent the same next-page link twice ({next}); the provider stopped following it"
                    ),
                ));
            }
            request = self
                .next_page(&next)
                .ok_or_else(|| self.foreign_link(&next))?;
        }
        Err(GraphError::transport(
            request.describe(),
            format!("the listing ran past {MAX_PAGES} pages; the provider stopped following it"),
        ))
    }

    fn foreign_link(&self, link: &str) -> GraphError {
        GraphError::transport(
            "GET (next page)".into(),
            format!(
                "Microsoft Graph sent a next-page link outside {} ({link}); the provider does not follow it",
                self.api_root
            ),
        )
    }

    /// A next-page link as a request, if it points under this client's API root: the
    /// bearer token is never sent to another host.
    fn next_page(&self, link: &str) -> Option<GraphRequest> {
        let root = url::Url::parse(&self.api_root).ok()?;
        let next = url::Url::parse(link).ok()?;
        if next.origin() != root.origin() {
            return None;
        }
        let path = next.path().strip_prefix(root.path())?;
        let mut request = GraphRequest::get(path);
        for (k, v) in next.query_pairs() {
            request = request.query(&k, v.into_owned());
        }
        Some(request)
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
        let started = Instant::now();
        while !pending.is_empty() {
            round += 1;
            let mut retry_later = Vec::new();
            // Whether every item retried this round is waiting out replication lag.
            let mut only_lag = true;
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
                let writes = chunk.iter().any(|&i| requests[i].is_write());
                let response = match self.send_batch_envelope(op, body, writes).await {
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
                    let lagging = !req.retries_status(status) && req.is_lag(&error, started);
                    let retryable = lagging || req.retries_status(status);
                    only_lag &= lagging || !retryable;
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
            let delay = if only_lag && wait_hint.is_none() {
                lag_wait(round)
            } else {
                self.policy.backoff(round, wait_hint)
            };
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
        writes: bool,
    ) -> Result<GraphResponse, GraphError> {
        // The envelope is a POST, but its items are reads and replayable writes, so
        // resending it is as safe as resending them. Only an envelope carrying writes
        // runs to its answer on Stop.
        let envelope = GraphRequest {
            replay: Replay::Safe,
            writes,
            ..GraphRequest::post("/$batch", body)
        };
        self.send(op, &envelope).await
    }
}

/// What came back from one HTTP exchange.
struct Exchanged {
    status: u16,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    bytes: Vec<u8>,
}

/// Sends the request and reads its answer, at most [`MAX_BODY_BYTES`] of it. An
/// error is the reason no whole answer arrived.
async fn exchange(builder: reqwest::RequestBuilder, request: &str) -> Result<Exchanged, String> {
    let mut response = builder.send().await.map_err(|e| e.to_string())?;
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
    let too_large = || {
        format!(
            "the answer to {request} (HTTP {status}) is larger than {} MiB; the provider does not read it",
            MAX_BODY_BYTES >> 20
        )
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Exchanged {
        status,
        request_id,
        retry_after,
        bytes,
    })
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
