//! `psoxy_msft_connector`: the Entra ID application that serves one or more Psoxy
//! Microsoft 365 connectors, with exactly the Graph application permissions they need,
//! its service principal (so consent can be granted), its owners, and the consent
//! status and administrator's document in state.

mod state;

use self::state::{Facts, resolve, role_names, state_value};
use crate::catalog::{self, CLOUD_APPLICATION_ADMINISTRATOR};
use crate::graph::applications::{
    self, IdKind, NewApplication, connector_tags, connectors_from_tags, graph_role_access,
    requested_graph_roles,
};
use crate::graph::models::{AppRoleAssignment, ServicePrincipal};
use crate::graph::{GraphClient, GraphError, Operation};
use crate::resources::common::{connect, copy_prior, is_guid, is_null, known_strings, set, text};
use crate::resources::timeouts::{self, Defaults, Step};
use crate::session::{Session, SessionSlot};
use async_trait::async_trait;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tfplugin::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use tfplugin::framework::{Plan, RequestContext, Resource};
use tfplugin::schema::{Attribute, Block, Schema, validators};
use tfplugin::value::{Type, Value};

const TIMEOUTS: Defaults = Defaults {
    create: Duration::from_secs(10 * 60),
    read: Duration::from_secs(5 * 60),
    update: Duration::from_secs(10 * 60),
    delete: Duration::from_secs(5 * 60),
};

/// Tags on the service principal: hidden from users, as the application.
const SERVICE_PRINCIPAL_TAGS: &[&str] = &[
    applications::HIDE_APP_TAG,
    "WindowsAzureActiveDirectoryIntegratedApp",
];

pub struct MsftConnector {
    pub session: Arc<SessionSlot>,
}

#[async_trait]
impl Resource for MsftConnector {
    fn type_name(&self) -> &'static str {
        "psoxy_msft_connector"
    }

    fn schema(&self) -> Schema {
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
            .attribute(Attribute::optional("purge_on_destroy", Type::Bool).description(
                "On destroy, also remove the application and its service principal from the \
                 directory's deleted items, instead of leaving them restorable for 30 days.",
            ))
            .attribute(computed("id", Type::String, "The application's object id.").use_state_for_unknown())
            .attribute(computed("object_id", Type::String, "The application's object id.").use_state_for_unknown())
            .attribute(
                computed("client_id", Type::String, "The application's client id (appId), which the proxy signs in with.")
                    .use_state_for_unknown(),
            )
            .attribute(computed(
                "service_principal_object_id",
                Type::String,
                "Object id of the application's service principal (enterprise application).",
            ))
            .attribute(computed("tenant_id", Type::String, "The tenant the application lives in.").use_state_for_unknown())
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

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for owner in config
            .get_attr("owners")
            .and_then(Value::as_list)
            .unwrap_or(&[])
        {
            if let Some(id) = owner.as_str()
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
        let Some(ids) = config.get_attr("connectors").and_then(Value::as_list) else {
            return;
        };
        let mut seen = BTreeSet::new();
        for (i, id) in ids.iter().enumerate() {
            let Some(id) = id.as_str() else { continue };
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

    async fn modify_plan(
        &self,
        _ctx: &RequestContext,
        plan: &mut Plan<'_>,
        _diags: &mut Diagnostics,
    ) {
        let creating = plan.is_create();
        let prior = plan.prior;
        let planned = &mut plan.planned;
        let connectors = known_strings(plan.config.get_attr("connectors"));
        if let Some(ids) = &connectors {
            let resolved = resolve(ids);
            let roles = catalog::required_app_roles(&resolved);
            set(
                planned,
                "required_app_roles",
                Value::map(roles.into_iter().map(|(k, v)| (k, Value::string(v)))),
            );
            if is_null(plan.config, "display_name") {
                set(
                    planned,
                    "display_name",
                    Value::string(catalog::default_display_name(&resolved)),
                );
            }
        }
        if creating {
            if is_null(plan.config, "owners") {
                set(planned, "owners", Value::set([]));
            }
            // Known at plan time only when configured as a GUID: apply records the
            // token's tenant id, which is lower case, and a domain name is resolved by
            // Entra ID, not here.
            if let Ok(session) = self.session.get()
                && let Some(tenant) = session.settings.tenant_id.as_deref().filter(|t| is_guid(t))
            {
                set(
                    planned,
                    "tenant_id",
                    Value::string(tenant.to_ascii_lowercase()),
                );
            }
            return;
        }
        // A missing service principal is created by the update, which changes the
        // consent status and the document (it names the service principal).
        let recreating_service_principal = prior
            .get_attr("service_principal_object_id")
            .and_then(Value::as_str)
            == Some("");
        if recreating_service_principal {
            set(planned, "service_principal_object_id", Value::unknown());
        } else {
            copy_prior(planned, prior, "service_principal_object_id");
        }
        copy_prior(planned, prior, "admin_consent_url");
        copy_prior(planned, prior, "api_permissions_url");
        // Consent and its document change only with the permissions or the name.
        let consent_inputs_same = ["required_app_roles", "display_name", "connectors"]
            .iter()
            .all(|k| planned.get_attr(k) == prior.get_attr(k));
        for key in [
            "consent_granted",
            "missing_app_roles",
            "consent_instructions",
        ] {
            if consent_inputs_same && !recreating_service_principal {
                copy_prior(planned, prior, key);
            } else {
                set(planned, key, Value::unknown());
            }
        }
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some((session, graph)) = connect(&self.session, diags) else {
            return Value::Null;
        };
        let op = Operation::new(
            timeouts::get(planned, Step::Create, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let connector_ids = known_strings(planned.get_attr("connectors")).unwrap_or_default();
        let display_name = planned
            .get_attr("display_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let extra_owners = known_strings(planned.get_attr("owners")).unwrap_or_default();

        let Some(caller) = caller(&graph, diags).await else {
            return Value::Null;
        };
        let Some((graph_sp, role_ids)) = self
            .verified_roles(&session, &op, &connector_ids, diags)
            .await
        else {
            return Value::Null;
        };
        let mut owners = vec![caller.object_id.clone()];
        owners.extend(
            extra_owners
                .iter()
                .filter(|o| !same_id(o, &caller.object_id))
                .cloned(),
        );
        let new = NewApplication {
            display_name: &display_name,
            tags: connector_tags(&connector_ids),
            app_role_ids: role_ids.values().cloned().collect(),
            owners,
        };
        let app =
            match applications::create_application(&graph, &session.graph_base(), &op, new).await {
                Ok(app) => app,
                Err(e) => {
                    diags.push(create_error(&e, &caller));
                    return Value::Null;
                }
            };
        tracing::info!(object_id = %app.id, client_id = %app.app_id, "created application");

        let mut facts = Facts {
            connector_ids,
            display_name,
            // As planned: the caller too, where the configuration lists it.
            owners: extra_owners.into_iter().collect(),
            purge_on_destroy: planned
                .get_attr("purge_on_destroy")
                .cloned()
                .unwrap_or(Value::Null),
            timeouts: planned.get_attr("timeouts").cloned().unwrap_or(Value::Null),
            object_id: app.id.clone(),
            client_id: app.app_id.clone(),
            service_principal_id: String::new(),
            tenant_id: caller.tenant_id.clone(),
            requested_roles: role_ids,
            assignments: &[],
            graph: graph_sp,
        };
        let sp_tags: Vec<String> = SERVICE_PRINCIPAL_TAGS
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        let assignments: Vec<AppRoleAssignment>;
        match applications::ensure_service_principal(&graph, &op, &app.app_id, &sp_tags).await {
            Ok((sp, created)) => {
                facts.service_principal_id = sp.id.clone();
                assignments = if created {
                    Vec::new()
                } else {
                    self.assignments(&graph, &op, &app.app_id, diags).await
                };
            }
            Err(e) => {
                // The application exists: record it (Terraform marks it tainted) so the
                // next apply converges instead of leaving an application state forgot.
                diags.push(e.to_diagnostic(
                    "Application created, but its service principal could not be",
                    Some("The application is recorded in state. Run `terraform apply` again to finish."),
                ));
                return state_value(&session, &facts);
            }
        }
        facts.assignments = &assignments;
        let state = state_value(&session, &facts);
        consent_pending_warning(&state, diags);
        state
    }

    async fn read(&self, ctx: &RequestContext, current: &Value, diags: &mut Diagnostics) -> Value {
        let Some((session, graph)) = connect(&self.session, diags) else {
            return current.clone();
        };
        let op = Operation::new(
            timeouts::get(current, Step::Read, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let object_id = text(current, "object_id");
        let client_id = text(current, "client_id");
        // One round trip: application, its service principal and, the first time in
        // this process, Microsoft Graph's service principal, in one $batch.
        let fetch_graph_sp = session.cached_graph_service_principal().is_none();
        let snapshot = match self
            .snapshot_after_lag(
                &graph,
                &op,
                &object_id,
                &client_id,
                fetch_graph_sp,
                !text(current, "service_principal_object_id").is_empty(),
            )
            .await
        {
            Ok(Some(s)) => s,
            Ok(None) => {
                tracing::warn!(%object_id, "application no longer exists; removing it from state");
                return Value::Null;
            }
            Err(e) => {
                diags.push(e.to_diagnostic("Could not read the connector's application", None));
                return current.clone();
            }
        };
        let graph_sp = match snapshot.graph_service_principal {
            Some(sp) => session.remember_graph_service_principal(sp),
            None => match session.graph_service_principal(&op).await {
                Ok(sp) => sp,
                Err(e) => {
                    diags.push(
                        e.to_diagnostic("Could not read Microsoft Graph's service principal", None),
                    );
                    return current.clone();
                }
            },
        };
        let (Some(app), sp) = (snapshot.application, snapshot.service_principal) else {
            return current.clone();
        };
        // Signed in already (the snapshot needed a token), so this reads the cached claims.
        let caller = graph.tokens().caller().await.ok().unwrap_or_default();
        let caller_id = caller.object_id.clone();
        // Graph answers ids in lower case; keep the configuration's spelling of the same
        // id so that it does not show as a change on every plan.
        let prior_owners = known_strings(current.get_attr("owners")).unwrap_or_default();
        let owners = app
            .owners
            .iter()
            .flatten()
            .map(|o| o.id.clone())
            // The caller is an owner by design; it shows only where configured.
            .filter(|o| {
                !caller_id.as_deref().is_some_and(|c| same_id(o, c))
                    || prior_owners.iter().any(|p| same_id(p, o))
            })
            .map(|o| {
                prior_owners
                    .iter()
                    .find(|p| same_id(p, &o))
                    .cloned()
                    .unwrap_or(o)
            })
            .collect();
        let connector_ids = known_strings(current.get_attr("connectors"))
            .filter(|ids| !ids.is_empty())
            .unwrap_or_else(|| connectors_from_tags(&app.tags));
        let prior_tenant = text(current, "tenant_id");
        let tenant_id = if prior_tenant.is_empty() {
            caller
                .tenant_id
                .map(|t| t.to_ascii_lowercase())
                .unwrap_or_default()
        } else {
            prior_tenant
        };
        let assignments = sp
            .as_ref()
            .and_then(|s| s.app_role_assignments.clone())
            .unwrap_or_default();
        let facts = Facts {
            connector_ids,
            display_name: app.display_name.clone().unwrap_or_default(),
            owners,
            purge_on_destroy: current
                .get_attr("purge_on_destroy")
                .cloned()
                .unwrap_or(Value::Null),
            timeouts: current.get_attr("timeouts").cloned().unwrap_or(Value::Null),
            object_id: app.id.clone(),
            client_id: app.app_id.clone(),
            service_principal_id: sp.map(|s| s.id).unwrap_or_default(),
            tenant_id,
            requested_roles: role_names(&requested_graph_roles(&app), graph_sp),
            assignments: &assignments,
            graph: graph_sp,
        };
        state_value(&session, &facts)
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some((session, graph)) = connect(&self.session, diags) else {
            return prior.clone();
        };
        let op = Operation::new(
            timeouts::get(planned, Step::Update, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let object_id = text(prior, "object_id");
        let client_id = text(prior, "client_id");
        let connector_ids = known_strings(planned.get_attr("connectors")).unwrap_or_default();
        let display_name = text(planned, "display_name");
        let Some(caller) = caller(&graph, diags).await else {
            return prior.clone();
        };
        let Some((graph_sp, role_ids)) = self
            .verified_roles(&session, &op, &connector_ids, diags)
            .await
        else {
            return prior.clone();
        };
        let _guard = session.lock_application(&object_id).await;

        let patch = json!({
            "displayName": display_name,
            "tags": connector_tags(&connector_ids),
            "requiredResourceAccess": graph_role_access(&role_ids.values().cloned().collect::<Vec<_>>()),
        });
        let service_principal =
            match applications::update_and_read_consent(&graph, &op, &object_id, &client_id, patch)
                .await
            {
                Ok(sp) => sp,
                Err(e) => {
                    diags.push(e.to_diagnostic(
                        "Could not update the connector's application",
                        owner_advice(&e),
                    ));
                    return prior.clone();
                }
            };

        let prior_owners: BTreeSet<String> = known_strings(prior.get_attr("owners"))
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut owners = prior_owners.clone();
        if let Some(wanted) = known_strings(config.get_attr("owners")) {
            let wanted: BTreeSet<String> = wanted.into_iter().collect();
            // Compared without regard to case, as Entra ID compares object ids. The
            // caller is never added or removed here: it stays an owner regardless.
            let lower = |ids: &BTreeSet<String>| -> BTreeSet<String> {
                ids.iter()
                    .filter(|i| !same_id(i, &caller.object_id))
                    .map(|i| i.to_ascii_lowercase())
                    .collect()
            };
            let (wanted_ids, prior_ids) = (lower(&wanted), lower(&prior_owners));
            for owner in wanted_ids.difference(&prior_ids) {
                if let Err(e) =
                    applications::add_owner(&graph, &session.graph_base(), &op, &object_id, owner)
                        .await
                {
                    diags.push(
                        e.to_diagnostic(&format!("Could not add owner {owner}"), owner_advice(&e)),
                    );
                    return prior.clone();
                }
            }
            for owner in prior_ids.difference(&wanted_ids) {
                if let Err(e) = applications::remove_owner(&graph, &op, &object_id, owner).await {
                    diags.push(e.to_diagnostic(
                        &format!("Could not remove owner {owner}"),
                        owner_advice(&e),
                    ));
                    return prior.clone();
                }
            }
            owners = wanted;
        }

        let sp_tags: Vec<String> = SERVICE_PRINCIPAL_TAGS
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        let (service_principal_id, assignments) = match service_principal {
            Some(sp) => (sp.id, sp.app_role_assignments.unwrap_or_default()),
            // An application an admin made without one (the import path): create it now.
            None => match applications::ensure_service_principal(&graph, &op, &client_id, &sp_tags)
                .await
            {
                Ok((sp, true)) => (sp.id, Vec::new()),
                Ok((sp, false)) => (
                    sp.id,
                    self.assignments(&graph, &op, &client_id, diags).await,
                ),
                Err(e) => {
                    diags.push(e.to_diagnostic(
                        "Could not create the application's service principal",
                        None,
                    ));
                    return prior.clone();
                }
            },
        };
        let facts = Facts {
            connector_ids,
            display_name,
            owners,
            purge_on_destroy: planned
                .get_attr("purge_on_destroy")
                .cloned()
                .unwrap_or(Value::Null),
            timeouts: planned.get_attr("timeouts").cloned().unwrap_or(Value::Null),
            object_id,
            client_id,
            service_principal_id,
            tenant_id: text(prior, "tenant_id"),
            requested_roles: role_ids,
            assignments: &assignments,
            graph: graph_sp,
        };
        let state = state_value(&session, &facts);
        consent_pending_warning(&state, diags);
        state
    }

    async fn delete(&self, ctx: &RequestContext, prior: &Value, diags: &mut Diagnostics) {
        let Some((_session, graph)) = connect(&self.session, diags) else {
            return;
        };
        let op = Operation::new(
            timeouts::get(prior, Step::Delete, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let sp = text(prior, "service_principal_object_id");
        let purge = prior
            .get_attr("purge_on_destroy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let sp = (!sp.is_empty()).then_some(sp.as_str());
        if let Err(e) =
            applications::delete_application(&graph, &op, &text(prior, "object_id"), sp, purge)
                .await
        {
            diags.push(e.to_diagnostic(
                "Could not delete the connector's application",
                owner_advice(&e),
            ));
        }
    }

    async fn import(&self, ctx: &RequestContext, id: &str, diags: &mut Diagnostics) -> Value {
        let Some((_session, graph)) = connect(&self.session, diags) else {
            return Value::Null;
        };
        let id = id.trim();
        if !is_guid(id) {
            diags.error(
                "Invalid import id",
                format!(
                    "{id:?} is not an application id. Import with the application's object id or \
                     its client id (appId), both GUIDs shown on the application's overview page in \
                     the Entra admin center."
                ),
            );
            return Value::Null;
        }
        let op = Operation::new(TIMEOUTS.read, ctx.cancelled.clone());
        match applications::find_application(&graph, &op, id).await {
            Err(e) => {
                diags.push(e.to_diagnostic("Could not look up the application to import", None));
                Value::Null
            }
            Ok(None) => {
                diags.error(
                    "No such application",
                    format!(
                        "No application has object id or client id {id} in this tenant (or the \
                         signed-in identity may not read it). Check the id on the application's \
                         overview page in the Entra admin center; if it was created moments ago, \
                         wait a minute for Entra ID to replicate it and try again."
                    ),
                );
                Value::Null
            }
            Ok(Some((app, kind))) => {
                let matched = match kind {
                    IdKind::ObjectId => format!(
                        "{id} is the object id of application {:?} (client id {}).",
                        app.display_name.clone().unwrap_or_default(),
                        app.app_id
                    ),
                    IdKind::ClientId => format!(
                        "{id} is the client id (appId) of application {:?}; its object id is {}.",
                        app.display_name.clone().unwrap_or_default(),
                        app.id
                    ),
                };
                tracing::info!("{matched}");
                diags.warning("Imported application", matched);
                import_state(&app.id, &app.app_id, &connectors_from_tags(&app.tags))
            }
        }
    }
}

impl MsftConnector {
    /// The connectors' permissions, checked against the tenant's own Microsoft Graph
    /// service principal: a tenant whose Graph lacks a permission, or knows it under
    /// another id, gets a clear error naming it.
    async fn verified_roles<'s>(
        &self,
        session: &'s Session,
        op: &Operation,
        connector_ids: &[String],
        diags: &mut Diagnostics,
    ) -> Option<(&'s ServicePrincipal, BTreeMap<String, String>)> {
        let graph_sp = match session.graph_service_principal(op).await {
            Ok(sp) => sp,
            Err(e) => {
                diags.push(
                    e.to_diagnostic("Could not read Microsoft Graph's service principal", None),
                );
                return None;
            }
        };
        let mut roles = BTreeMap::new();
        for (name, id) in catalog::required_app_roles(&resolve(connector_ids)) {
            let live = graph_sp
                .app_roles
                .iter()
                .find(|r| r.value.as_deref() == Some(name));
            match live {
                Some(role) if role.id.eq_ignore_ascii_case(id) => {
                    roles.insert(name.to_owned(), id.to_owned());
                }
                Some(role) => {
                    diags.error(
                        "Permission id differs in this tenant",
                        format!(
                            "Microsoft Graph in this tenant has {name} as app role {}, but the provider \
                             knows it as {id}. The provider will not request an id it cannot vouch \
                             for; please report this.",
                            role.id
                        ),
                    );
                }
                None => diags.error(
                    "Permission not offered by this tenant",
                    format!(
                        "Microsoft Graph in this tenant offers no application permission named \
                         {name}, which the connectors need. The connector may not be available in \
                         this cloud yet."
                    ),
                ),
            }
        }
        (!diags.has_errors()).then_some((graph_sp, roles))
    }

    async fn assignments(
        &self,
        graph: &GraphClient,
        op: &Operation,
        client_id: &str,
        diags: &mut Diagnostics,
    ) -> Vec<AppRoleAssignment> {
        match applications::service_principal_by_app_id(graph, op, client_id, true).await {
            Ok(sp) => sp.and_then(|s| s.app_role_assignments).unwrap_or_default(),
            Err(e) => {
                diags.push(Diagnostic::warning(
                    "Could not read the consent status",
                    format!(
                        "The application was written, but its consent status could not be read: {e}"
                    ),
                ));
                Vec::new()
            }
        }
    }

    /// Reads application and service principal. A missing application is gone only if
    /// it is in deleted items or stays missing through Graph's replication lag, so
    /// that a read right after a write never drops a live application from state.
    async fn snapshot_after_lag(
        &self,
        graph: &GraphClient,
        op: &Operation,
        object_id: &str,
        client_id: &str,
        with_graph_service_principal: bool,
        expect_service_principal: bool,
    ) -> Result<Option<applications::Snapshot>, GraphError> {
        let mut delay = Duration::from_secs(1);
        let mut last = None;
        for attempt in 1..=4 {
            let snapshot = applications::snapshot(
                graph,
                op,
                object_id,
                client_id,
                with_graph_service_principal,
            )
            .await?;
            let complete = snapshot.service_principal.is_some() || !expect_service_principal;
            match &snapshot.application {
                Some(_) if complete => return Ok(Some(snapshot)),
                // The service principal state knows of may simply not have replicated
                // yet; if it stays missing, it was deleted and the update recreates it.
                Some(_) => last = Some(snapshot),
                None if applications::is_soft_deleted(graph, op, object_id).await? => {
                    return Ok(None);
                }
                None => {}
            }
            if attempt == 4 {
                break;
            }
            tracing::debug!(%object_id, attempt, "application or service principal not found; waiting for replication");
            // Stopped or out of time while waiting: that says nothing about the
            // application, so it is an error, never a reason to drop it from state.
            if let Err(kind) = op.wait(delay).await {
                let e = GraphError::transport(
                    format!("GET /applications/{object_id}"),
                    "the wait for Microsoft Graph's replication was interrupted".into(),
                );
                return Err(GraphError { kind, ..e });
            }
            delay *= 2;
        }
        Ok(last)
    }
}

/// Directory object ids are GUIDs, equal whatever their case; Graph answers in lower case.
fn same_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The signed-in identity, needed as the default owner and for the tenant.
struct Caller {
    object_id: String,
    tenant_id: String,
    name: String,
}

async fn caller(graph: &GraphClient, diags: &mut Diagnostics) -> Option<Caller> {
    match graph.tokens().caller().await {
        Ok(claims) => Some(Caller {
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
        }),
        Err(e) => {
            diags.error(e.summary, e.detail);
            None
        }
    }
}

fn create_error(e: &GraphError, caller: &Caller) -> Diagnostic {
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

fn owner_advice(e: &GraphError) -> Option<&'static str> {
    (e.code == "Authorization_RequestDenied").then_some(
        "The signed-in identity is neither an owner of this application nor holds a role that \
         may change it (Cloud Application Administrator). Ask an administrator to add it as an \
         owner.",
    )
}

fn consent_pending_warning(state: &Value, diags: &mut Diagnostics) {
    if state.get_attr("consent_granted").and_then(Value::as_bool) == Some(false) {
        let missing: Vec<&str> = state
            .get_attr("missing_app_roles")
            .and_then(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        diags.warning(
            format!("Admin consent pending for {:?}", text(state, "display_name")),
            format!(
                "{} permission(s) are not granted yet: {}. A Privileged Role Administrator must grant \
                 admin consent before the proxy can read Microsoft 365 data. The attribute \
                 `consent_instructions` holds the document to give them (for example \
                 `terraform output` of it, or `terraform state show`); the direct link is {}",
                missing.len(),
                missing.join(", "),
                text(state, "admin_consent_url")
            ),
        );
    }
}

fn import_state(object_id: &str, client_id: &str, connectors: &[String]) -> Value {
    let ids = Value::list(connectors.iter().map(|c| Value::string(c.as_str())));
    let mut state = Value::object([
        ("connectors", ids),
        ("id", Value::string(object_id)),
        ("object_id", Value::string(object_id)),
        ("client_id", Value::string(client_id)),
    ]);
    for key in [
        "display_name",
        "owners",
        "purge_on_destroy",
        "timeouts",
        "service_principal_object_id",
        "tenant_id",
        "required_app_roles",
        "consent_granted",
        "missing_app_roles",
        "admin_consent_url",
        "api_permissions_url",
        "consent_instructions",
    ] {
        set(&mut state, key, Value::Null);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_state_fits_the_schema() {
        let ty = MsftConnector {
            session: Arc::default(),
        }
        .schema()
        .block
        .value_type();
        let state = import_state("o", "c", &["outlook-cal".into()]);
        tfplugin::value::encode_msgpack(&state, &ty).expect("import state encodes");
    }
}
