//! Federated identity credentials of an application (docs/design/graph-behaviour.md,
//! "Federated identity credentials"). A create is one request: replication lag is
//! ridden where it bites (reads, updates, deletes), not paid up front by polling. Names
//! are unique per application, so a create whose answer was lost is resent safely and
//! the credential is found by its name.

use super::client::{GraphClient, GraphRequest, Operation};
use super::consistency::{FIND_OUT_BUDGET, Settle, may_have_acted, not_found};
use super::error::GraphError;
use super::models::FederatedIdentityCredential;
use serde_json::{Value as Json, json};
use std::time::Duration;

/// How long a delete waits out a 404 that may be lag before taking it as "gone".
const DELETE_LAG_BUDGET: Duration = Duration::from_secs(10);

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

    /// Whether `existing` is exactly the credential these fields describe.
    pub fn describe_same(&self, existing: &FederatedIdentityCredential) -> bool {
        existing.name.eq_ignore_ascii_case(&self.name)
            && existing.issuer == self.issuer
            && existing.subject == self.subject
            && existing.audiences == [self.audience.clone()]
            && existing.description == self.description
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

/// Creates the credential. A 404 (an application created moments ago and not
/// replicated yet) is waited out: Graph did not act on it. When the answer is lost,
/// the credential is looked up by name (even after Stop) and adopted if it is exactly
/// the one asked for.
pub async fn create(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    fields: &CredentialFields,
) -> Result<FederatedIdentityCredential, GraphError> {
    let request = GraphRequest::post(collection_path(object_id), fields.body())
        .keyed()
        .ride_lag(not_found);
    let error = match client.send(op, &request).await.and_then(|r| r.parse()) {
        Ok(created) => return Ok(created),
        Err(e) if may_have_acted(&e) => e,
        Err(e) => return Err(e),
    };
    tracing::warn!("the answer to creating the credential was lost; looking it up: {error}");
    let finding_out = op.finding_out(FIND_OUT_BUDGET);
    let mut settle = Settle::within(
        FIND_OUT_BUDGET,
        format!("GET {}", collection_path(object_id)),
    );
    loop {
        if let Some(found) = find_by_name(client, &finding_out, object_id, &fields.name).await? {
            return if fields.describe_same(&found) {
                Ok(found)
            } else {
                Err(error)
            };
        }
        if !settle.again(&finding_out).await? {
            return Err(error);
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

/// Reads the credential. A 404 is taken as "gone" only when it holds: the application
/// is in deleted items (its credentials went with it), or the credential stays missing
/// through [`Settle::read_window`]. A credential created moments ago lags on its own,
/// whatever its application does, so a visible application proves nothing.
pub async fn read_riding_lag(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    credential_id: &str,
) -> Result<Option<FederatedIdentityCredential>, GraphError> {
    let mut settle = Settle::read_window(format!("GET {}", item_path(object_id, credential_id)));
    let mut checked_deleted_items = false;
    loop {
        if let Some(c) = get(client, op, object_id, credential_id).await? {
            return Ok(Some(c));
        }
        // Deleted items are asked once, on the first miss.
        if !checked_deleted_items {
            checked_deleted_items = true;
            if super::applications::is_soft_deleted(client, op, object_id).await? {
                return Ok(None);
            }
        }
        if !settle.again(op).await? {
            return Ok(None);
        }
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
    client.list(op, request).await
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
    let request =
        GraphRequest::patch(item_path(object_id, credential_id), fields.body()).ride_lag(not_found);
    client.send(op, &request).await.map(|_| ())
}

/// Deletes the credential. Already gone counts as deleted; a 404 that may be lag (a
/// credential created moments ago) is first waited out for a short while. No wait for
/// replicas to stop serving it: Graph checks a new credential's name against the
/// deletion itself, and reads ride lag on their own.
pub async fn delete(
    client: &GraphClient,
    op: &Operation,
    object_id: &str,
    credential_id: &str,
) -> Result<(), GraphError> {
    let request = GraphRequest::delete(item_path(object_id, credential_id))
        .ride_lag_for(not_found, DELETE_LAG_BUDGET);
    match client.send(op, &request).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    }
    Ok(())
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
}
