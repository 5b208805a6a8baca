//! `psoxy_federated_credential`'s schema and the configuration checks beyond it.

use super::model::Config;
use super::presets::{
    check_cognito_id, check_gcp_unique_id, check_issuer, check_length, check_name,
    check_no_wildcard, check_ways,
};
use crate::resources::common::is_guid;
use crate::resources::timeouts::{self, Defaults};
use std::time::Duration;
use tfplugin::diagnostics::{AttributePath, Diagnostics};
use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting, Schema, Validator};
use tfplugin::value::{Type, Value};

/// The azuread provider's defaults for federated credentials.
pub const TIMEOUTS: Defaults = Defaults {
    create: Duration::from_secs(15 * 60),
    read: Duration::from_secs(5 * 60),
    update: Duration::from_secs(5 * 60),
    delete: Duration::from_secs(5 * 60),
};

/// A validator from a check returning the detail of what is wrong.
fn check(summary: &'static str, f: fn(&str) -> Result<(), String>) -> impl Validator {
    move |v: &Value, p: &AttributePath, d: &mut Diagnostics| {
        if let Some(s) = v.as_str()
            && let Err(detail) = f(s)
        {
            d.attribute_error(p.clone(), summary, detail);
        }
    }
}

fn field_checks(field: &'static str) -> impl Validator {
    move |v: &Value, p: &AttributePath, d: &mut Diagnostics| {
        let Some(s) = v.as_str() else { return };
        if let Err(detail) = check_length(field, s) {
            d.attribute_error(p.clone(), "Value too long", detail);
        }
        if let Err(detail) = check_no_wildcard(field, s) {
            d.attribute_error(p.clone(), "Wildcards are not allowed", detail);
        }
        if field != "description" && s.trim().is_empty() {
            d.attribute_error(
                p.clone(),
                "Empty value",
                format!("`{field}` must not be empty."),
            );
        }
    }
}

pub fn schema() -> Schema {
    let aws = Block::new(
        "Trust the proxy's AWS identity (psoxy on AWS signs in with a Cognito OpenID token): \
         issuer `https://cognito-identity.amazonaws.com`, subject = `identity_id`, audience = \
         `identity_pool_id`.",
    )
    .attribute(
        Attribute::required("identity_pool_id", Type::String)
            .description(
                "The Cognito identity pool id, `<region>:<uuid>`. Becomes the audience (not \
                 `api://AzureADTokenExchange`, whatever the portal suggests).",
            )
            .validator(|v: &Value, p: &AttributePath, d: &mut Diagnostics| {
                if let Some(s) = v.as_str()
                    && let Err(e) = check_cognito_id("identity_pool_id", "identity pool id", s)
                {
                    d.attribute_error(p.clone(), "Invalid Cognito identity pool id", e);
                }
            }),
    )
    .attribute(
        Attribute::required("identity_id", Type::String)
            .description(
                "The connector's Cognito identity id, `<region>:<uuid>`. Becomes the subject.",
            )
            .validator(|v: &Value, p: &AttributePath, d: &mut Diagnostics| {
                if let Some(s) = v.as_str()
                    && let Err(e) = check_cognito_id("identity_id", "identity id", s)
                {
                    d.attribute_error(p.clone(), "Invalid Cognito identity id", e);
                }
            }),
    );
    let gcp = Block::new(
        "Trust the proxy's GCP service account: issuer `https://accounts.google.com`, \
         subject = the service account's numeric unique id, audience \
         `api://AzureADTokenExchange`.",
    )
    .attribute(
        Attribute::required("service_account_unique_id", Type::String)
            .description(
                "The numeric unique id of the connector's service account (not its email), \
                 e.g. the `unique_id` of a `google_service_account`.",
            )
            .validator(check(
                "Invalid GCP service account unique id",
                check_gcp_unique_id,
            )),
    );
    Schema::new(
        0,
        Block::new(
            "A federated identity credential on a connector's application: lets the proxy \
             sign in to Microsoft Graph with its own AWS or GCP identity, so no secret exists \
             anywhere. Give exactly one of an `aws` block, a `gcp` block, or `issuer` and \
             `subject`. An application holds at most 20. Import with \
             `<application object id>/federatedIdentityCredential/<credential id>` or \
             `<application object id>/<name>`.",
        )
        .attribute(
            Attribute::required("application_object_id", Type::String)
                .description(
                    "Object id of the application (e.g. `psoxy_msft_connector.x.object_id`), \
                     not its client id. Changing it replaces the credential.",
                )
                .requires_replace()
                .validator(check("Invalid application object id", |s| {
                    if is_guid(s) {
                        Ok(())
                    } else {
                        Err(format!(
                            "`application_object_id` must be the application's object id, a \
                             GUID such as `00000000-0000-4000-8000-000000000001` (e.g. \
                             `psoxy_msft_connector.<name>.object_id`); {s:?} is not."
                        ))
                    }
                })),
        )
        .attribute(
            Attribute::required("name", Type::String)
                .description(
                    "Unique per application: 3 to 120 letters, digits, `-` and `_`, starting \
                     with a letter or digit, e.g. `psoxy-outlook-cal-aws`. Graph cannot \
                     rename a credential, so changing it replaces the credential.",
                )
                .requires_replace()
                .validator(|v: &Value, p: &AttributePath, d: &mut Diagnostics| {
                    if let Some(s) = v.as_str()
                        && let Err((summary, detail)) = check_name(s)
                    {
                        d.attribute_error(p.clone(), summary, detail);
                    }
                }),
        )
        .attribute(
            Attribute::optional("description", Type::String)
                .description("Free text, at most 600 characters.")
                .validator(field_checks("description")),
        )
        .attribute(
            Attribute::optional_computed("issuer", Type::String)
                .description(
                    "The identity provider's `https://` URL, as in its tokens' `iss` claim. \
                     Set by the `aws`/`gcp` preset, or given with `subject`.",
                )
                .validator(field_checks("issuer"))
                .validator(check("Invalid issuer", check_issuer)),
        )
        .attribute(
            Attribute::optional_computed("subject", Type::String)
                .description(
                    "The identity trusted, as in its tokens' `sub` claim. Set by the \
                     `aws`/`gcp` preset, or given with `issuer`. No wildcards.",
                )
                .validator(field_checks("subject")),
        )
        .attribute(
            Attribute::optional_computed("audience", Type::String)
                .description(
                    "The token audience (`aud`). Set by the preset; with `issuer` and \
                     `subject` it defaults to `api://AzureADTokenExchange`.",
                )
                .validator(field_checks("audience")),
        )
        .attribute(
            Attribute::computed("tenant_id", Type::String)
                .description("The tenant the credential's application lives in.")
                .use_state_for_unknown(),
        )
        .attribute(
            Attribute::computed("credential_id", Type::String)
                .description("The credential's id in Graph.")
                .use_state_for_unknown(),
        )
        .attribute(
            Attribute::computed("id", Type::String)
                .description(
                    "`<application object id>/federatedIdentityCredential/<credential id>`, \
                     the azuread provider's import format.",
                )
                .use_state_for_unknown(),
        )
        .block(NestedBlock::new("aws", Nesting::Single, aws))
        .block(NestedBlock::new("gcp", Nesting::Single, gcp))
        .block(timeouts::block(TIMEOUTS)),
    )
}

/// Exactly one way of saying what is trusted.
pub fn validate(config: &Config, diags: &mut Diagnostics) {
    for e in check_ways(config) {
        match e.at {
            Some(at) => diags.attribute_error(AttributePath::attr(at), e.summary, e.detail),
            None => diags.error(e.summary, e.detail),
        }
    }
}
