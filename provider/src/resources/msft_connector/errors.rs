//! What `psoxy_msft_connector` tells users when something goes wrong or waits on them.

use super::model::State;
use crate::catalog::CLOUD_APPLICATION_ADMINISTRATOR;
use crate::graph::GraphError;
use crate::resources::common::Caller;
use tfplugin::diagnostics::{AttributePath, Diagnostic, Diagnostics};

pub fn create_error(e: &GraphError, caller: &Caller) -> Diagnostic {
    if e.code == "Authorization_RequestDenied" {
        let advice = format!(
            "{} ({}) may not create applications in this tenant. Creating one needs the {} role \
             (template {}), or Application Administrator. Either ask for the role, or ask an \
             administrator to create the application and make you an owner, then adopt it with \
             `terraform import <address> <object id or client id>` (or an `import {{}}` block); \
             the next apply brings it to the required settings without replacing it.",
            caller.name,
            caller.object_id,
            CLOUD_APPLICATION_ADMINISTRATOR.name,
            CLOUD_APPLICATION_ADMINISTRATOR.template_id
        );
        e.to_diagnostic(
            "Not allowed to create the connector's application",
            Some(&advice),
        )
    } else {
        e.to_diagnostic("Could not create the connector's application", None)
    }
}

/// The application exists but the create did not finish: what exists, and what the
/// next apply will do. State holds the application, so Terraform marks it tainted.
/// `why` is the cause (a Graph error's diagnostic detail, or Stop).
pub fn unfinished_create(state: &State, summary: &str, why: &str, missing: &str) -> Diagnostic {
    Diagnostic::error(
        summary,
        format!(
            "{why}\n\nApplication {:?} exists (object id {}, client id {}) and is recorded in \
             state, so nothing is lost. Terraform marks it tainted: the next `terraform apply` \
             replaces it with a new one (a new client id). To keep this one instead, run \
             `terraform untaint <address>` first; the next apply then completes it ({missing}).",
            state.display_name, state.object_id, state.client_id
        ),
    )
}

/// A Graph error after the application was created.
pub fn failed_after_create(state: &State, step: &str, e: &GraphError) -> Diagnostic {
    let cause = e.to_diagnostic("", None).detail;
    unfinished_create(
        state,
        &format!("Application created, but {step} failed"),
        &cause,
        step,
    )
}

/// Terraform asked to stop after the application was created.
pub fn stopped_after_create(state: &State) -> Diagnostic {
    unfinished_create(
        state,
        "Stopped after creating the application",
        "Terraform asked the provider to stop. The request that created the application had \
         already been sent, so the provider waited for its answer; it started nothing after it.",
        if state.service_principal_object_id.is_empty() {
            "its owners and service principal"
        } else {
            "admin consent"
        },
    )
}

pub fn owner_advice(e: &GraphError) -> Option<&'static str> {
    (e.code == "Authorization_RequestDenied").then_some(
        "The signed-in identity is neither an owner of this application nor holds a role that \
         may change it (Cloud Application Administrator). Ask an administrator to add it as an \
         owner.",
    )
}

pub fn consent_pending_warning(state: &State, diags: &mut Diagnostics) {
    if state.consent_granted || state.missing_app_roles.is_empty() {
        return;
    }
    diags.warning(
        format!("Admin consent pending for {:?}", state.display_name),
        format!(
            "{} permission(s) are not granted yet: {}. A Privileged Role Administrator must grant \
             admin consent before the proxy can read Microsoft 365 data. The attribute \
             `consent_instructions` holds the document to give them (for example \
             `terraform output` of it, or `terraform state show`); the direct link is {}",
            state.missing_app_roles.len(),
            state.missing_app_roles.join(", "),
            state.admin_consent_url
        ),
    );
}

pub fn invalid_import_id(id: &str) -> Diagnostic {
    Diagnostic::error(
        "Invalid import id",
        format!(
            "{id:?} is not an application id. Import with the application's object id or its \
             client id (appId), both GUIDs shown on the application's overview page in the Entra \
             admin center."
        ),
    )
}

pub fn no_such_application(id: &str) -> Diagnostic {
    Diagnostic::error(
        "No such application",
        format!(
            "No application has object id or client id {id} in this tenant (or the signed-in \
             identity may not read it). Check the id on the application's overview page in the \
             Entra admin center; if it was created moments ago, wait a minute for Entra ID to \
             replicate it and try again."
        ),
    )
}

/// The caller may not grant consent: what it needs, and the other way.
pub fn may_not_grant(caller: &Caller) -> Diagnostic {
    let roles = crate::graph::grants::GRANTING_DIRECTORY_ROLES
        .iter()
        .map(|(name, id)| format!("{name} (template {id})"))
        .collect::<Vec<_>>()
        .join(" or ");
    Diagnostic::error(
        "Not allowed to grant admin consent",
        format!(
            "`grant_admin_consent = true` needs the signed-in identity to hold {roles}, or, for \
             an application signed in as itself, the Microsoft Graph application permission \
             {}. {} ({}) holds neither, so nothing was written. Sign in as an identity that \
             does, or set `grant_admin_consent = false` and give the document in \
             `consent_instructions` to a Privileged Role Administrator.",
            crate::graph::grants::GRANTING_APP_PERMISSION,
            caller.name,
            caller.object_id
        ),
    )
    .at(AttributePath::attr("grant_admin_consent"))
}

/// Permissions an imported application asks for that no connector needs.
pub fn unneeded_permissions(names: &[String]) -> Diagnostic {
    Diagnostic::warning(
        "Permissions no connector needs",
        format!(
            "The application asks for Microsoft Graph application permission(s) that no Psoxy \
             connector needs: {}. `connectors` was inferred from the others; the next apply \
             removes these from the application's requested permissions (and, with \
             `grant_admin_consent = true`, revokes any grant of them).",
            names.join(", ")
        ),
    )
}
