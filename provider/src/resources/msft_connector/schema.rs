//! `psoxy_msft_connector`'s schema and the configuration checks beyond it.

use crate::catalog;
use crate::resources::common::is_guid;
use crate::resources::timeouts::{self, Defaults};
use std::collections::BTreeSet;
use std::time::Duration;
use tfplugin::diagnostics::{AttributePath, Diagnostics};
use tfplugin::model::Attr;
use tfplugin::schema::{Attribute, Block, Schema, validators};
use tfplugin::value::Type;

use super::model::Config;

pub const TIMEOUTS: Defaults = Defaults {
    create: Duration::from_secs(10 * 60),
    read: Duration::from_secs(5 * 60),
    update: Duration::from_secs(10 * 60),
    delete: Duration::from_secs(5 * 60),
};

pub fn schema() -> Schema {
    let computed = |name: &str, ty: Type, description: &str| {
        Attribute::computed(name, ty).description(description)
    };
    Schema::new(
        0,
        Block::new(
            "An Entra ID application for one or more Psoxy Microsoft 365 connectors: exactly \
             the read-only Microsoft Graph application permissions they need, a service \
             principal ready for admin consent, and the document the administrator follows \
             to grant it. Import by object id or client id.",
        )
        .attribute(
            Attribute::required("connectors", Type::list(Type::String))
                .description(
                    "Psoxy connector ids this application serves, e.g. `[\"outlook-cal\"]`; one \
                     application can serve several. See the `psoxy_msft_connector_specs` data \
                     source for the catalog.",
                )
                .validator(validators::min_items(1)),
        )
        .attribute(
            Attribute::optional_computed("display_name", Type::String)
                .description(
                    "The application's name in Entra ID. Default: `Psoxy Connector - <connector \
                     display names>`.",
                )
                .validator(validators::length_between(1, catalog::MAX_DISPLAY_NAME_LEN)),
        )
        .attribute(
            Attribute::optional_computed("owners", Type::set(Type::String))
                .description(
                    "Object ids of owners besides whoever runs Terraform, who is always kept as \
                     an owner (so that they can update the application without an admin role). \
                     Left out, owners are not managed.",
                )
                .use_state_for_unknown(),
        )
        .attribute(
            Attribute::optional("grant_admin_consent", Type::Bool).description(
                "Grant admin consent in the same apply: the provider assigns exactly the required \
             Microsoft Graph application permissions to the service principal, and removes \
             any others granted to it (see `excess_app_roles`). Needs a signed-in identity \
             holding Privileged Role Administrator (or Global Administrator), or the \
             application permission `AppRoleAssignment.ReadWrite.All`; without it the apply \
             fails before writing anything. Default `false`: an administrator follows \
             `consent_instructions`.",
            ),
        )
        .attribute(
            Attribute::optional("purge_on_destroy", Type::Bool).description(
                "On destroy, also remove the application and its service principal from the \
             directory's deleted items, instead of leaving them restorable for 30 days.",
            ),
        )
        .attribute(
            computed("id", Type::String, "The application's object id.").use_state_for_unknown(),
        )
        .attribute(
            computed("object_id", Type::String, "The application's object id.")
                .use_state_for_unknown(),
        )
        .attribute(
            computed(
                "client_id",
                Type::String,
                "The application's client id (appId), which the proxy signs in with.",
            )
            .use_state_for_unknown(),
        )
        .attribute(computed(
            "service_principal_object_id",
            Type::String,
            "Object id of the application's service principal (enterprise application).",
        ))
        .attribute(
            computed(
                "tenant_id",
                Type::String,
                "The tenant the application lives in.",
            )
            .use_state_for_unknown(),
        )
        .attribute(computed(
            "required_app_roles",
            Type::map(Type::String),
            "The Microsoft Graph application permissions the application asks for: name to \
             appRole id. Known at plan time from `connectors`.",
        ))
        .attribute(computed(
            "consent_granted",
            Type::Bool,
            "Whether an administrator has granted admin consent for every required permission.",
        ))
        .attribute(computed(
            "missing_app_roles",
            Type::list(Type::String),
            "Required permissions not granted yet.",
        ))
        .attribute(computed(
            "granted_app_roles",
            Type::map(Type::String),
            "Every Microsoft Graph application permission granted to the service principal: \
             name to appRole id.",
        ))
        .attribute(computed(
            "excess_app_roles",
            Type::map(Type::String),
            "Microsoft Graph application permissions granted to the service principal that \
             the connectors do not need (someone granted them by hand): name to appRole id. \
             Every plan warns about them; with `grant_admin_consent = true` the next apply \
             revokes them.",
        ))
        .attribute(computed(
            "service_principal_enabled",
            Type::Bool,
            "Whether the service principal may sign in. Someone disabling it stops the proxy \
             (AADSTS7000112); the next plan shows it as an update and the apply enables it \
             again.",
        ))
        .attribute(computed(
            "admin_consent_url",
            Type::String,
            "The tenant-wide admin-consent link, on the configured cloud's login host.",
        ))
        .attribute(computed(
            "api_permissions_url",
            Type::String,
            "The application's API permissions page in the Entra admin center.",
        ))
        .attribute(computed(
            "consent_instructions",
            Type::String,
            "The markdown document for the Privileged Role Administrator who grants consent: \
             who must act, each permission and what it opens, both links, the Teams steps where \
             they apply, and how to check the result.",
        ))
        .block(timeouts::block(TIMEOUTS)),
    )
}

/// Owners must be object ids; connectors must be in the catalog, once each.
pub fn validate(config: &Config, diags: &mut Diagnostics) {
    for owner in config.owners.known().into_iter().flatten() {
        if let Some(id) = owner.known()
            && !is_guid(id)
        {
            diags.attribute_error(
                AttributePath::attr("owners"),
                "Invalid owner",
                format!(
                    "{id:?} is not an object id. Owners are users or service principals given \
                     by their object id, a GUID (Entra admin center: the user's or enterprise \
                     application's overview page)."
                ),
            );
        }
    }
    let mut seen = BTreeSet::new();
    for (i, id) in config.connectors.known().into_iter().flatten().enumerate() {
        let Attr::Known(id) = id else { continue };
        let path = AttributePath::attr("connectors").then_index(i as i64);
        match catalog::find(id) {
            Err(unknown) => {
                diags.attribute_error(path, "Unknown connector id", unknown.to_string())
            }
            Ok(_) if !seen.insert(id) => diags.attribute_error(
                path,
                "Connector listed twice",
                format!("{id:?} appears more than once in `connectors`; remove the duplicate."),
            ),
            Ok(c) => {
                if let Some(warning) = c.deprecation_warning() {
                    diags.attribute_warning(path, "Deprecated connector", warning);
                }
            }
        }
    }
}
