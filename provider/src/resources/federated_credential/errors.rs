//! What `psoxy_federated_credential` tells users when Graph refuses a write.

use crate::graph::federated_credentials::{self as fics, CredentialFields};
use crate::graph::{GraphClient, GraphError, Operation, consistency};
use tfplugin::diagnostics::{AttributePath, Diagnostic};

/// Graph's limit on credentials per application.
pub const MAX_PER_APPLICATION: usize = 20;

/// Graph's refusals of a create or update, as errors that say what to do.
pub async fn write_error(
    graph: &GraphClient,
    op: &Operation,
    object_id: &str,
    fields: &CredentialFields,
    e: &GraphError,
    creating: bool,
) -> Diagnostic {
    let verb = if creating { "create" } else { "update" };
    let summary = format!("Could not {verb} federated credential {:?}", fields.name);
    if e.is_status(409) || e.has_code("Request_MultipleObjectsWithSameKeyValue") {
        let advice = format!(
            "Application {object_id} already has a federated credential named {:?}: names are \
             unique per application. Choose another `name`, or adopt the existing credential \
             with `terraform import <address> {object_id}/{}` (or an `import {{}}` block).",
            fields.name, fields.name
        );
        return e
            .to_diagnostic("Duplicate federated credential name", Some(&advice))
            .at(AttributePath::attr("name"));
    }
    if creating && consistency::may_have_acted(e) {
        let advice = format!(
            "Microsoft Graph may have created the credential although its answer was lost, and \
             the provider did not find it by name within a minute. If the next `terraform \
             apply` reports a duplicate name, adopt the credential with `terraform import \
             <address> {object_id}/{}`.",
            fields.name
        );
        return e.to_diagnostic(&summary, Some(&advice));
    }
    if e.has_code("InvalidFederatedIdentityCredentialValue")
        || (e.is_status(400) && e.message.contains("must be unique"))
    {
        let other =
            fics::find_by_issuer_subject(graph, op, object_id, &fields.issuer, &fields.subject)
                .await
                .ok()
                .flatten()
                .filter(|c| !c.name.eq_ignore_ascii_case(&fields.name));
        let which = match other {
            Some(c) => format!("credential {:?} (id {})", c.name, c.id),
            None => "another credential".to_owned(),
        };
        let advice = format!(
            "{which} on application {object_id} already trusts issuer {} and subject {}: the \
             pair must be unique per application, and one credential is enough for one \
             identity. Remove the duplicate, or import the existing credential instead.",
            fields.issuer, fields.subject
        );
        return e
            .to_diagnostic(
                "Identity already trusted by another credential",
                Some(&advice),
            )
            .at(AttributePath::attr("subject"));
    }
    if e.is_not_found() {
        let advice = format!(
            "Application {object_id} was not found (after waiting for Entra ID to replicate \
             it). `application_object_id` must be the application's object id, not its client \
             id (appId) nor a service principal's id; check that the application was not \
             deleted."
        );
        return e
            .to_diagnostic(&summary, Some(&advice))
            .at(AttributePath::attr("application_object_id"));
    }
    if e.has_code("Authorization_RequestDenied") {
        return e.to_diagnostic(&summary, permission_advice(e));
    }
    if creating && e.is_status(403) {
        let quota = e.has_code("Directory_QuotaExceeded")
            || e.message.to_ascii_lowercase().contains("limit")
            || fics::list(graph, op, object_id, None)
                .await
                .is_ok_and(|all| all.len() >= MAX_PER_APPLICATION);
        if quota {
            let advice = format!(
                "An application can hold at most {MAX_PER_APPLICATION} federated identity \
                 credentials, and application {object_id} already has {MAX_PER_APPLICATION}. \
                 Remove credentials the proxy no longer uses, or give some connectors an \
                 application of their own (one `psoxy_msft_connector` each)."
            );
            return e.to_diagnostic(
                "Too many federated credentials on one application",
                Some(&advice),
            );
        }
    }
    e.to_diagnostic(&summary, None)
}

pub fn permission_advice(e: &GraphError) -> Option<&'static str> {
    (e.code == "Authorization_RequestDenied").then_some(
        "Managing an application's federated credentials needs ownership of the application or \
         the Cloud Application Administrator role. Ask an administrator to add the signed-in \
         identity as an owner.",
    )
}
