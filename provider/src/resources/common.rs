//! What the resources share: reaching Microsoft Graph through the configured session,
//! who is signed in, and the check that state and sign-in name the same tenant.

use crate::graph::{GraphClient, GraphError, Operation};
use crate::session::{Session, SessionSlot};
use std::sync::Arc;
use tfplugin::diagnostics::{Diagnostic, Diagnostics};
use tfplugin::model;
use tfplugin::value::Value;

/// The session and its Graph client, or the diagnostic saying why there is none.
pub fn connect(
    slot: &SessionSlot,
    diags: &mut Diagnostics,
) -> Option<(Arc<Session>, Arc<GraphClient>)> {
    let session = slot.get().map_err(|d| diags.push(d)).ok()?;
    let graph = session.graph().map_err(|d| diags.push(d)).ok()?;
    Some((session, graph))
}

pub use crate::graph::is_guid;

/// Directory object ids are GUIDs, equal whatever their case; Graph answers in lower case.
pub fn same_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A resource value as its model, or a diagnostic saying the value did not fit (a
/// provider bug, or state written by something else).
pub fn decode<T: serde::de::DeserializeOwned>(
    value: &Value,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<T> {
    match model::from_value(value) {
        Ok(m) => Some(m),
        Err(e) => {
            diags.error(
                format!("Unexpected {what}"),
                format!(
                    "The provider could not read the {what}: {e}. This is unexpected; please \
                     report it with the output of TF_LOG=debug."
                ),
            );
            None
        }
    }
}

/// A model as a resource value of the schema's type.
pub fn encode<T: serde::Serialize>(
    model: &T,
    ty: &tfplugin::value::Type,
    diags: &mut Diagnostics,
) -> Value {
    match model::to_value(model, ty) {
        Ok(v) => v,
        Err(e) => {
            diags.error(
                "Provider error",
                format!(
                    "The provider could not write the resource's state: {e}. This is unexpected; \
                     please report it with the output of TF_LOG=debug."
                ),
            );
            Value::Null
        }
    }
}

/// The signed-in identity: the default owner, and the tenant things are created in.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub object_id: String,
    /// Lower case, as Graph writes GUIDs.
    pub tenant_id: String,
    /// A user's UPN, or "application <client id>".
    pub name: String,
    /// Directory role template ids held (`wids`).
    pub directory_roles: Vec<String>,
    /// Application permissions held, for an application signed in as itself (`roles`).
    pub app_permissions: Vec<String>,
}

/// Who is signed in (signing in first if needed).
pub async fn caller(graph: &GraphClient) -> Result<Caller, Diagnostic> {
    let claims = graph
        .tokens()
        .caller()
        .await
        .map_err(|e| Diagnostic::error(e.summary, e.detail))?;
    Ok(Caller {
        object_id: claims.object_id.clone().unwrap_or_default(),
        tenant_id: claims
            .tenant_id
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        name: claims
            .user_principal_name
            .clone()
            .or(claims.app_id.clone().map(|a| format!("application {a}")))
            .unwrap_or_else(|| claims.object_id.clone().unwrap_or_default()),
        directory_roles: claims.directory_roles.clone(),
        app_permissions: claims.app_permissions.clone(),
    })
}

/// Who is signed in, provided it is in the tenant state records for the object: a
/// read, update, delete or import in another tenant would see a 404 there and take the
/// object for gone. An empty `recorded` (state from before tenants were recorded) is
/// not checked.
pub async fn caller_in_tenant(
    graph: &GraphClient,
    recorded: &str,
    object: &str,
) -> Result<Caller, Diagnostic> {
    let caller = caller(graph).await?;
    if recorded.is_empty() || same_id(recorded, &caller.tenant_id) {
        return Ok(caller);
    }
    Err(Diagnostic::error(
        "Signed in to another tenant",
        format!(
            "State records {object} in tenant {recorded}, but the provider is signed in to \
             tenant {} (as {}). Nothing was read or changed: in tenant {} the object would look \
             deleted. Sign in to tenant {recorded} (for example `az login --tenant {recorded}`, \
             or ARM_TENANT_ID for a pipeline), or set the provider's `tenant_id = \
             \"{recorded}\"` so that signing in to another tenant is refused up front.",
            caller.tenant_id, caller.name, caller.tenant_id
        ),
    ))
}

/// The per-application write lock, given up with the operation (deadline or Stop).
pub async fn lock_application(
    session: &Session,
    op: &Operation,
    object_id: &str,
) -> Result<tokio::sync::OwnedMutexGuard<()>, GraphError> {
    let wait = session.lock_application(object_id);
    tokio::select! {
        guard = tokio::time::timeout(op.remaining(), wait) => guard.map_err(|_| GraphError {
            kind: crate::graph::GraphErrorKind::Deadline,
            ..GraphError::transport(
                format!("write to application {object_id}"),
                "another write to the same application held it until the timeout".into(),
            )
        }),
        () = op.cancelled.cancelled() => Err(GraphError::cancelled(format!("write to application {object_id}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("00000000-0000-4000-8000-00000000e001"));
        assert!(is_guid("00000000-0000-4000-8000-00000000E001"));
        assert!(!is_guid("my-app"));
        assert!(!is_guid("00000000-0000-4000-8000-00000000e00"));
        assert!(!is_guid("0000000g-0000-4000-8000-00000000e001"));
        // uuid accepts other spellings; Graph's ids are the hyphenated form only.
        assert!(!is_guid("{00000000-0000-4000-8000-00000000e001}"));
        assert!(!is_guid("00000000000040008000000000000e001"));
    }
}
