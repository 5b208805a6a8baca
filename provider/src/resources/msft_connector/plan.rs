//! What a plan for `psoxy_msft_connector` can know before apply: the permissions and
//! default name from the connectors, what apply keeps from the prior state, and what
//! granting consent will make true. Warnings about excess grants and a disabled
//! service principal are given here, so that every plan shows them.

use super::consent::resolve;
use super::model::{Config, Planned, State};
use crate::catalog;
use std::collections::BTreeMap;
use tfplugin::diagnostics::{AttributePath, Diagnostics};
use tfplugin::model::Attr;
use tfplugin::value::Value;

pub fn refine(
    planned: &mut Planned,
    config: &Config,
    prior: Option<&State>,
    configured_tenant: Option<String>,
    diags: &mut Diagnostics,
) {
    let connectors = config.known_connectors();
    if let Some(ids) = &connectors {
        let resolved = resolve(ids);
        let roles = catalog::required_app_roles(&resolved)
            .into_iter()
            .map(|(name, id)| (name.to_owned(), id.to_owned()))
            .collect();
        planned.required_app_roles = Attr::Known(roles);
        if config.display_name.is_null() {
            planned.display_name = Attr::Known(catalog::default_display_name(&resolved));
        }
    }
    // Apply enables a service principal someone disabled, so the plan says it will be.
    planned.service_principal_enabled = Attr::Known(true);
    let grants = config.grant_admin_consent.known() == Some(&true);
    // Whether apply grants is not known yet: neither is what consent will be.
    let grant_unknown = config.grant_admin_consent.is_unknown();
    match prior {
        None => {
            if config.owners.is_null() {
                planned.owners = Value::set([]);
            }
            if let Some(tenant) = configured_tenant {
                planned.tenant_id = Attr::Known(tenant);
            }
        }
        Some(prior) => {
            keep_from_prior(planned, prior, connectors.as_deref(), grants, grant_unknown);
            warn_about(prior, grants, diags);
        }
    }
    if grants {
        granted_as_required(planned);
    }
}

/// An update keeps what only apply can know from the prior state; consent, the grants
/// and the document change only with the permissions or the name, or when the service
/// principal they name is (re)created.
fn keep_from_prior(
    planned: &mut Planned,
    prior: &State,
    connectors: Option<&[String]>,
    grants: bool,
    grant_unknown: bool,
) {
    let recreating_service_principal = prior.service_principal_object_id.is_empty();
    planned.service_principal_object_id = if recreating_service_principal {
        Attr::Unknown
    } else {
        Attr::Known(prior.service_principal_object_id.clone())
    };
    planned.admin_consent_url = Attr::Known(prior.admin_consent_url.clone());
    planned.api_permissions_url = Attr::Known(prior.api_permissions_url.clone());
    let consent_inputs_same = planned.required_app_roles.known() == Some(&prior.required_app_roles)
        && planned.display_name.known() == Some(&prior.display_name)
        && connectors == Some(prior.connectors.as_slice())
        && (prior.grant_admin_consent == Some(true)) == grants
        && !grant_unknown;
    let nothing_to_grant = prior.consent_granted && prior.excess_app_roles.is_empty();
    if consent_inputs_same && !recreating_service_principal && (!grants || nothing_to_grant) {
        planned.consent_granted = Attr::Known(prior.consent_granted);
        planned.missing_app_roles = Attr::Known(prior.missing_app_roles.clone());
        planned.granted_app_roles = Attr::Known(prior.granted_app_roles.clone());
        planned.excess_app_roles = Attr::Known(prior.excess_app_roles.clone());
        planned.consent_instructions = Attr::Known(prior.consent_instructions.clone());
    } else {
        planned.consent_granted = Attr::Unknown;
        planned.missing_app_roles = Attr::Unknown;
        planned.granted_app_roles = Attr::Unknown;
        planned.excess_app_roles = Attr::Unknown;
        planned.consent_instructions = Attr::Unknown;
    }
}

/// Granting makes consent exactly the required permissions, nothing more.
fn granted_as_required(planned: &mut Planned) {
    planned.consent_granted = Attr::Known(true);
    planned.missing_app_roles = Attr::Known(Vec::new());
    planned.excess_app_roles = Attr::Known(BTreeMap::new());
    planned.granted_app_roles = match &planned.required_app_roles {
        Attr::Known(required) => Attr::Known(required.clone()),
        _ => Attr::Unknown,
    };
}

fn warn_about(prior: &State, grants: bool, diags: &mut Diagnostics) {
    if !prior.excess_app_roles.is_empty() {
        let names: Vec<&str> = prior.excess_app_roles.keys().map(String::as_str).collect();
        let what_next = if grants {
            "With `grant_admin_consent = true`, this apply revokes them.".to_owned()
        } else {
            format!(
                "Revoke them to keep to least privilege: in the Entra admin center, \
                 Enterprise applications, open {:?} ({}), Permissions, and revoke each; or \
                 set `grant_admin_consent = true` and the next apply revokes them.",
                prior.display_name, prior.client_id
            )
        };
        diags.attribute_warning(
            AttributePath::attr("excess_app_roles"),
            format!("Permissions granted beyond what the connectors need: {}", names.join(", ")),
            format!(
                "Application {:?} holds Microsoft Graph application permission(s) that none of \
                 its connectors ({}) needs: {}. Someone granted them outside Terraform. {what_next}",
                prior.display_name,
                prior.connectors.join(", "),
                names.join(", ")
            ),
        );
    }
    if !prior.service_principal_enabled && !prior.service_principal_object_id.is_empty() {
        diags.attribute_warning(
            AttributePath::attr("service_principal_enabled"),
            "The application's service principal is disabled",
            format!(
                "Someone disabled the service principal of {:?} ({}), so the proxy cannot sign \
                 in (AADSTS7000112, \"Application is disabled\"). This apply enables it again.",
                prior.display_name, prior.client_id
            ),
        );
    }
}
