//! Federated identity credentials of an application (msgraph-behaviour A3), handled the
//! way the azuread provider does (anchor B4): the create is confirmed by polling until
//! the new credential reads back several times in a row, and writes right after a write
//! wait out Graph's replication lag (404) for a bounded time instead of failing.

use super::client::{GraphClient, GraphRequest, GraphResponse, Operation};
use super::error::GraphError;
use super::models::{Collection, FederatedIdentityCredential};
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};

/// How many reads in a row must find a new credential before the create counts as
/// done. The azuread provider asks for 5 with a second between them; three reads a
/// short while apart ride out the same replica flapping at less cost.
pub const CONSECUTIVE_READS: u32 = 3;
const READ_SPACING: Duration = Duration::from_millis(300);
/// How long a write waits out a 404 that may be replication lag (an application or
/// credential created moments ago) before taking it at its word.
pub const LAG_BUDGET: Duration = Duration::from_secs(60);

/// The credential's settable fields, as Graph takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialFields {
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub description: Option<String>,
}

impl CredentialFields {
    fn body(&self) -> Json {
        json!({
            "name": self.name,
            "issuer": self.issuer,
            "subject": self.subject,
            "audiences": [self.audience],
            "description": self.description,
        })
    }
}

fn collection_path(object_id: &str) -> String {
    format!("/applications/{object_id}/federatedIdentityCredentials")
}

fn item_path(object_id: &str, credential_id: &str) -> String {
    format!("{}/{credential_id}", collection_path(object_id))
}

/// OData string literal: single quotes doubled.
fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Sends `request`; a 404 is retried with growing waits for at most [`LAG_BUDGET`]
/// (and never past the operation's deadline), after which the 404 is returned.
async fn send_riding_lag(
    client: &GraphClient,
    op: &Operation,
    request: &GraphRequest,
) -> Result<GraphResponse, GraphError> {
    send_riding_lag_for(client, op, request, LAG_BUDGET).await
}

/// As [`send_riding_lag`], waiting out 404s for at most `lag_budget`; throttling and
/// transient faults are still retried within the whole operation's timeout.
async fn send_riding_lag_for(
    client: &GraphClient,
    op: &Operation,
    request: &GraphRequest,
    lag_budget: Duration,
) -> Result<GraphResponse, GraphError> {
    let until = op.deadline.min(Instant::now() + lag_budget);
    let mut delay = Duration::from_millis(500);
    loop {
        match client.send(op, request).await {
            Err(e) if e.is_not_found() && Instant::now() + delay < until => {
                tracing::debug!(request = %request.relative_url(), "404 right after a write; waiting for replication");
                pause(op, delay).await?;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

/// Waits through the operation (Stop and deadline obeyed); an interruption is an error.
async fn pause(op: &Operation, delay: Duration) -> Result<(), GraphError> {
    op.wait(delay).await.map_err(|kind| GraphError {
        kind,
        ..GraphError::cancelled("waiting for replication".into())
    })
}

/// Creates the credential. A 404 (an application created moments ago and not
/// replicated yet) is waited out for a bounded time: Graph did not act on it, so
/// resending is safe.
pub async fn create(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    fields: &CredentialFields,
) -> Result<FederatedIdentityCredential, GraphError> {
    let request = GraphRequest::post(collection_path(object_id), fields.body());
    send_riding_lag(client, op, &request).await?.parse()
}

/// Polls until the credential reads back [`CONSECUTIVE_READS`] times in a row; a 404
/// in between (a replica that has not caught up) starts the count again. Gives up at
/// the operation's deadline.
pub async fn wait_until_readable(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    credential_id: &str,
) -> Result<(), GraphError> {
    let request = GraphRequest::get(item_path(object_id, credential_id));
    let mut hits = 0;
    let mut miss_delay = Duration::from_millis(500);
    loop {
        match client.send(op, &request).await {
            Ok(_) => {
                hits += 1;
                if hits >= CONSECUTIVE_READS {
                    return Ok(());
                }
                pause(op, READ_SPACING).await?;
            }
            Err(e) if e.is_not_found() => {
                hits = 0;
                if Instant::now() + miss_delay >= op.deadline {
                    return Err(GraphError {
                        kind: super::error::GraphErrorKind::Deadline,
                        ..e
                    });
                }
                tracing::debug!(%credential_id, "new credential not readable yet");
                pause(op, miss_delay).await?;
                miss_delay = (miss_delay * 2).min(Duration::from_secs(8));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The credential, or None on 404.
pub async fn get(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    credential_id: &str,
) -> Result<Option<FederatedIdentityCredential>, GraphError> {
    match client
        .send(op, &GraphRequest::get(item_path(object_id, credential_id)))
        .await
    {
        Ok(r) => Ok(Some(r.parse()?)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The application's credentials, optionally filtered (`$filter`), all pages.
pub async fn list(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    filter: Option<String>,
) -> Result<Vec<FederatedIdentityCredential>, GraphError> {
    let mut request = GraphRequest::get(collection_path(object_id));
    if let Some(f) = filter {
        request = request.query("$filter", f);
    }
    let mut all = Vec::new();
    loop {
        let page: Collection<FederatedIdentityCredential> =
            client.send(op, &request).await?.parse()?;
        all.extend(page.value);
        // At most 20 credentials fit on an application: one page in practice, but a
        // next link is followed rather than trusted to be absent.
        let Some(next) = page.next_link else {
            return Ok(all);
        };
        request = next_page_request(&next, &request);
    }
}

fn next_page_request(next_link: &str, previous: &GraphRequest) -> GraphRequest {
    // `…/v1.0/applications/…?$skiptoken=…` → path and query under the API version.
    let after_version = next_link
        .split_once("/v1.0")
        .map(|(_, rest)| rest)
        .unwrap_or(next_link);
    let (path, query) = after_version.split_once('?').unwrap_or((after_version, ""));
    let mut request = GraphRequest::get(path);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        request = request.query(&percent_decode(k), percent_decode(v));
    }
    if request.query.is_empty() {
        request.query = previous.query.clone();
    }
    request
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The credential with this name (names are unique per application, compared
/// case-insensitively by Graph), or None.
pub async fn find_by_name(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    name: &str,
) -> Result<Option<FederatedIdentityCredential>, GraphError> {
    let found = list(
        client,
        op,
        object_id,
        Some(format!("name eq {}", odata_string(name))),
    )
    .await?;
    Ok(found
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name)))
}

/// The credential that already trusts this issuer and subject, if any.
pub async fn find_by_issuer_subject(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    issuer: &str,
    subject: &str,
) -> Result<Option<FederatedIdentityCredential>, GraphError> {
    let found = list(
        client,
        op,
        object_id,
        Some(format!("subject eq {}", odata_string(subject))),
    )
    .await?;
    Ok(found
        .into_iter()
        .find(|c| c.issuer == issuer && c.subject == subject))
}

/// Updates issuer, subject, audience and description. Graph wants the (immutable)
/// name in the body too, as the azuread provider sends it. A 404 right after a write
/// is waited out for a bounded time.
pub async fn update(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    credential_id: &str,
    fields: &CredentialFields,
) -> Result<(), GraphError> {
    let request = GraphRequest::patch(item_path(object_id, credential_id), fields.body());
    send_riding_lag(client, op, &request).await.map(|_| ())
}

/// Deletes the credential and waits until it no longer reads back. Already gone
/// counts as deleted; a 404 that may be lag is first waited out for a short while.
pub async fn delete(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    credential_id: &str,
) -> Result<(), GraphError> {
    let request = GraphRequest::delete(item_path(object_id, credential_id));
    match send_riding_lag_for(client, op, &request, Duration::from_secs(10)).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    }
    // Like the azuread provider's WaitForDeletion: a replica may still serve it.
    let mut delay = Duration::from_millis(300);
    loop {
        match get(client, op, object_id, credential_id).await? {
            None => return Ok(()),
            Some(_) if Instant::now() + delay >= op.deadline => return Ok(()),
            Some(_) => {
                pause(op, delay).await?;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_exactly_one_audience_and_the_name() {
        let f = CredentialFields {
            name: "psoxy-cal".into(),
            issuer: "https://accounts.google.com".into(),
            subject: "123".into(),
            audience: "api://AzureADTokenExchange".into(),
            description: None,
        };
        let b = f.body();
        assert_eq!(b["name"], "psoxy-cal");
        assert_eq!(b["audiences"], json!(["api://AzureADTokenExchange"]));
        assert_eq!(b["description"], Json::Null);
    }

    #[test]
    fn odata_strings_escape_quotes() {
        assert_eq!(odata_string("o'brien"), "'o''brien'");
    }

    #[test]
    fn next_links_become_relative_requests() {
        let prev = GraphRequest::get("/applications/a/federatedIdentityCredentials");
        let r = next_page_request(
            "https://graph.microsoft.com/v1.0/applications/a/federatedIdentityCredentials?$skiptoken=X%3D1",
            &prev,
        );
        assert_eq!(r.path, "/applications/a/federatedIdentityCredentials");
        assert_eq!(r.query, vec![("$skiptoken".to_owned(), "X=1".to_owned())]);
    }
}
