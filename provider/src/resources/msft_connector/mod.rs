//! `psoxy_msft_connector`: the Entra ID application that serves one or more Psoxy
//! Microsoft 365 connectors, with exactly the Graph application permissions they need,
//! its service principal (so consent can be granted), its owners, and the consent
//! status and administrator's document in state; optionally it grants consent itself.
//!
//! The create is where an object can escape state: once Graph has created the
//! application, every path returns it in state, whatever fails or stops afterwards.

mod consent;
mod errors;
mod model;
mod plan;
mod schema;
mod steps;

use self::consent::{Facts, role_names};
use self::model::{Config, Desired, Planned, State};
use self::steps::{
    assignments, check_may_grant, owners_as_state, settle_consent, sync_owners, verified_roles,
};
use crate::catalog;
use crate::graph::applications::{
    self, IdKind, MAX_BOUND_OWNERS, NewApplication, connector_tags, connectors_from_tags,
    graph_role_access, requested_graph_roles,
};
use crate::graph::models::{Application, ServicePrincipal};
use crate::graph::{GraphError, Operation, grants};
use crate::resources::common::{
    caller, caller_in_tenant, connect, decode, encode, is_guid, lock_application, same_id,
};
use crate::resources::timeouts::{self, Step};
use crate::session::SessionSlot;
use async_trait::async_trait;
use schema::TIMEOUTS;
use serde_json::json;
use std::sync::{Arc, OnceLock};
use tfplugin::diagnostics::Diagnostics;
use tfplugin::framework::{Plan, RequestContext, Resource};
use tfplugin::schema::Schema;
use tfplugin::value::{Type, Value};

/// Tags on the service principal: hidden from users, as the application, and the
/// provider's own, by which refreshes find it.
const SERVICE_PRINCIPAL_TAGS: &[&str] = &[
    applications::HIDE_APP_TAG,
    "WindowsAzureActiveDirectoryIntegratedApp",
    applications::MANAGED_TAG,
];

pub struct MsftConnector {
    pub session: Arc<SessionSlot>,
}

fn value_type() -> &'static Type {
    static TYPE: OnceLock<Type> = OnceLock::new();
    TYPE.get_or_init(|| schema::schema().block.value_type())
}

fn service_principal_tags() -> Vec<String> {
    SERVICE_PRINCIPAL_TAGS
        .iter()
        .map(|t| (*t).to_owned())
        .collect()
}

/// Why a create stopped short after the application existed.
enum Unfinished {
    Stopped,
    Failed(String, GraphError),
}

#[async_trait]
impl Resource for MsftConnector {
    fn type_name(&self) -> &'static str {
        "psoxy_msft_connector"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(config) = decode::<Config>(config, "configuration", diags) {
            schema::validate(&config, diags);
        }
    }

    async fn modify_plan(
        &self,
        _ctx: &RequestContext,
        plan: &mut Plan<'_>,
        diags: &mut Diagnostics,
    ) {
        if plan.is_destroy() {
            return;
        }
        let (Some(config), Some(mut planned)) = (
            decode::<Config>(plan.config, "configuration", diags),
            decode::<Planned>(&plan.planned, "plan", diags),
        ) else {
            return;
        };
        let prior = if plan.is_create() {
            None
        } else {
            decode::<State>(plan.prior, "state", diags)
        };
        // Known at plan time only when configured as a GUID: apply records the token's
        // tenant id, which is lower case, and a domain name is resolved by Entra ID.
        let configured_tenant = self.session.get().ok().and_then(|s| {
            s.settings
                .tenant_id
                .as_deref()
                .filter(|t| is_guid(t))
                .map(str::to_ascii_lowercase)
        });
        plan::refine(
            &mut planned,
            &config,
            prior.as_ref(),
            configured_tenant,
            diags,
        );
        plan.planned = encode(&planned, value_type(), diags);
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some(desired) = decode::<Desired>(planned, "plan", diags) else {
            return Value::Null;
        };
        let Some((session, graph)) = connect(&self.session, diags) else {
            return Value::Null;
        };
        let op = Operation::new(
            timeouts::get(planned, Step::Create, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let caller = match caller(&graph).await {
            Ok(c) => c,
            Err(d) => {
                diags.push(d);
                return Value::Null;
            }
        };
        if desired.grants()
            && let Err(d) = check_may_grant(&caller)
        {
            diags.push(d);
            return Value::Null;
        }
        let Some((graph_sp, role_ids)) =
            verified_roles(&session, &op, &desired.connectors, diags).await
        else {
            return Value::Null;
        };
        let mut owners = vec![caller.object_id.clone()];
        owners.extend(
            desired
                .owners
                .iter()
                .filter(|o| !same_id(o, &caller.object_id))
                .cloned(),
        );
        let new = NewApplication {
            display_name: &desired.display_name,
            tags: connector_tags(&desired.connectors),
            app_role_ids: role_ids.values().cloned().collect(),
            owners: owners.clone(),
        };
        let app = match applications::create_application(&graph, &session.graph_base(), &op, &new)
            .await
        {
            Ok(app) => app,
            Err(e) => {
                diags.push(errors::create_error(&e, &caller));
                return Value::Null;
            }
        };
        tracing::info!(object_id = %app.id, client_id = %app.app_id, "created application");
        session.mark_written(&app.id);

        // The application exists: from here on every path returns it in state.
        let mut not_added: Vec<String> = owners.split_off(owners.len().min(MAX_BOUND_OWNERS));
        let mut service_principal = None;
        let mut granted = Vec::new();
        let unfinished = 'steps: {
            while let Some(owner) = not_added.first() {
                if op.is_cancelled() {
                    break 'steps Some(Unfinished::Stopped);
                }
                if let Err(e) =
                    applications::add_owner(&graph, &session.graph_base(), &op, &app.id, owner)
                        .await
                {
                    break 'steps Some(Unfinished::Failed(format!("adding owner {owner}"), e));
                }
                not_added.remove(0);
            }
            if op.is_cancelled() {
                break 'steps Some(Unfinished::Stopped);
            }
            let sp = match applications::ensure_service_principal(
                &graph,
                &op,
                &app.app_id,
                &service_principal_tags(),
            )
            .await
            {
                Ok(sp) => sp,
                Err(e) => {
                    break 'steps Some(Unfinished::Failed(
                        "creating its service principal".to_owned(),
                        e,
                    ));
                }
            };
            // An existing service principal (adopted) may already hold grants, and may
            // have been disabled.
            let held = if sp.1 {
                Vec::new()
            } else {
                assignments(&graph, &op, &sp.0.app_id, diags).await
            };
            if sp.0.account_enabled == Some(false)
                && let Err(e) = grants::enable_service_principal(&graph, &op, &sp.0.id).await
            {
                service_principal = Some(sp.0);
                break 'steps Some(Unfinished::Failed(
                    "enabling its service principal".to_owned(),
                    e,
                ));
            }
            let sp_id = sp.0.id.clone();
            service_principal = Some(sp.0);
            granted = held;
            if !desired.grants() {
                break 'steps None;
            }
            if op.is_cancelled() {
                break 'steps Some(Unfinished::Stopped);
            }
            match settle_consent(&graph, &op, graph_sp, &sp_id, &role_ids, granted.clone()).await {
                Ok(now) => {
                    granted = now;
                    None
                }
                Err(e) => Some(Unfinished::Failed("granting admin consent".to_owned(), e)),
            }
        };
        let facts = Facts {
            // As planned (the caller too, where the configuration lists it), less the
            // owners the create did not get to.
            owners: desired
                .owners
                .iter()
                .filter(|o| !not_added.iter().any(|n| same_id(n, o)))
                .cloned()
                .collect(),
            grant_admin_consent: desired.grant_admin_consent,
            connector_ids: desired.connectors,
            display_name: desired.display_name,
            purge_on_destroy: desired.purge_on_destroy,
            timeouts: desired.timeouts,
            object_id: app.id.clone(),
            client_id: app.app_id.clone(),
            // Created enabled, or enabled above unless that failed.
            service_principal_enabled: unfinished.as_ref().is_none_or(|u| {
                !matches!(u, Unfinished::Failed(step, _) if step == "enabling its service principal")
            }),
            service_principal_id: service_principal.map(|sp| sp.id).unwrap_or_default(),
            tenant_id: caller.tenant_id.clone(),
            requested_roles: role_ids,
            assignments: &granted,
            graph: graph_sp,
        };
        let state = consent::state(&session, &facts);
        match unfinished {
            Some(Unfinished::Stopped) => diags.push(errors::stopped_after_create(&state)),
            Some(Unfinished::Failed(step, e)) => {
                diags.push(errors::failed_after_create(&state, &step, &e))
            }
            None => errors::consent_pending_warning(&state, diags),
        }
        encode(&state, value_type(), diags)
    }

    async fn read(&self, ctx: &RequestContext, current: &Value, diags: &mut Diagnostics) -> Value {
        let Some(prior) = decode::<State>(current, "state", diags) else {
            return current.clone();
        };
        let Some((session, graph)) = connect(&self.session, diags) else {
            return current.clone();
        };
        let op = Operation::new(
            timeouts::get(current, Step::Read, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let caller = match caller_in_tenant(&graph, &prior.tenant_id, &describe(&prior)).await {
            Ok(c) => c,
            Err(d) => {
                diags.push(d);
                return current.clone();
            }
        };
        // Served from the tenant's inventory (one $batch for the whole refresh) where it
        // holds the application and its service principal; otherwise one round trip:
        // what the inventory lacks (the application, a service principal not listed
        // yet or not tagged) and, the first time in this process, Microsoft Graph's
        // service principal, in one $batch.
        let inventory = session.inventory_for(&op, &prior.object_id).await;
        let listed_app = inventory.and_then(|i| i.application(&prior.object_id));
        let listed_sp = listed_app.and_then(|app| inventory?.service_principal(&app.app_id));
        let read = match (listed_app, listed_sp) {
            (Some(app), Some(sp)) => Ok(Some(applications::Snapshot {
                application: Some(app.clone()),
                service_principal: Some(sp.clone()),
                graph_service_principal: None,
            })),
            (listed_app, _) => {
                applications::snapshot_riding_lag(
                    &graph,
                    &op,
                    &prior.object_id,
                    &prior.client_id,
                    session.cached_graph_service_principal().is_none(),
                    !prior.service_principal_object_id.is_empty(),
                    listed_app,
                )
                .await
            }
        };
        let snapshot = match read {
            Ok(Some(s)) => s,
            Ok(None) => {
                tracing::warn!(object_id = %prior.object_id, "application no longer exists; removing it from state");
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
        let live_owners = app.owners.iter().flatten().map(|o| o.id.clone());
        let connector_ids = if prior.connectors.is_empty() {
            served_connectors(&app, graph_sp).0
        } else {
            prior.connectors.clone()
        };
        let assignments = sp
            .as_ref()
            .and_then(|s| s.app_role_assignments.clone())
            .unwrap_or_default();
        let facts = Facts {
            connector_ids,
            display_name: app.display_name.clone().unwrap_or_default(),
            owners: owners_as_state(live_owners, &prior.owners, &caller),
            grant_admin_consent: prior.grant_admin_consent,
            purge_on_destroy: prior.purge_on_destroy,
            timeouts: prior.timeouts.clone(),
            object_id: app.id.clone(),
            client_id: app.app_id.clone(),
            service_principal_enabled: sp.as_ref().is_none_or(|s| s.account_enabled != Some(false)),
            service_principal_id: sp.map(|s| s.id).unwrap_or_default(),
            tenant_id: if prior.tenant_id.is_empty() {
                caller.tenant_id
            } else {
                prior.tenant_id
            },
            requested_roles: role_names(&requested_graph_roles(&app), graph_sp),
            assignments: &assignments,
            graph: graph_sp,
        };
        encode(&consent::state(&session, &facts), value_type(), diags)
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        prior_value: &Value,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let (Some(prior), Some(desired), Some(config)) = (
            decode::<State>(prior_value, "state", diags),
            decode::<Desired>(planned, "plan", diags),
            decode::<Config>(config, "configuration", diags),
        ) else {
            return prior_value.clone();
        };
        let Some((session, graph)) = connect(&self.session, diags) else {
            return prior_value.clone();
        };
        let op = Operation::new(
            timeouts::get(planned, Step::Update, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let caller = match caller_in_tenant(&graph, &prior.tenant_id, &describe(&prior)).await {
            Ok(c) => c,
            Err(d) => {
                diags.push(d);
                return prior_value.clone();
            }
        };
        if desired.grants()
            && let Err(d) = check_may_grant(&caller)
        {
            diags.push(d);
            return prior_value.clone();
        }
        let Some((graph_sp, role_ids)) =
            verified_roles(&session, &op, &desired.connectors, diags).await
        else {
            return prior_value.clone();
        };
        session.mark_written(&prior.object_id);
        let _guard = match lock_application(&session, &op, &prior.object_id).await {
            Ok(g) => g,
            Err(e) => {
                diags.push(e.to_diagnostic("Could not update the connector's application", None));
                return prior_value.clone();
            }
        };
        let patch = json!({
            "displayName": desired.display_name,
            "tags": connector_tags(&desired.connectors),
            "requiredResourceAccess": graph_role_access(&role_ids.values().cloned().collect::<Vec<_>>()),
        });
        let service_principal = match applications::update_and_read_consent(
            &graph,
            &op,
            &prior.object_id,
            &prior.client_id,
            patch,
        )
        .await
        {
            Ok(sp) => sp,
            Err(e) => {
                diags.push(e.to_diagnostic(
                    "Could not update the connector's application",
                    errors::owner_advice(&e),
                ));
                return prior_value.clone();
            }
        };
        // The application is written: from here on state follows what was done.
        let (owners, owners_failed) = match config.known_owners() {
            Some(wanted) => {
                sync_owners(
                    &graph,
                    &session,
                    &op,
                    &prior,
                    &caller,
                    wanted.into_iter().collect(),
                )
                .await
            }
            None => (prior.owners.clone(), None),
        };
        let mut failures = Vec::new();
        let mut enabled = true;
        let (service_principal_id, mut assignments) = match service_principal {
            Some(sp) => {
                if sp.account_enabled == Some(false) {
                    match grants::enable_service_principal(&graph, &op, &sp.id).await {
                        Ok(()) => {
                            tracing::info!(id = %sp.id, "enabled the service principal again")
                        }
                        Err(e) => {
                            enabled = false;
                            failures.push(e.to_diagnostic(
                                "Could not enable the application's service principal",
                                errors::owner_advice(&e),
                            ));
                        }
                    }
                }
                (sp.id, sp.app_role_assignments.unwrap_or_default())
            }
            // An application an admin made without one (the import path), or whose
            // service principal was deleted: create it now.
            None => match applications::ensure_service_principal(
                &graph,
                &op,
                &prior.client_id,
                &service_principal_tags(),
            )
            .await
            {
                Ok((sp, true)) => (sp.id, Vec::new()),
                Ok((sp, false)) => {
                    let held = assignments(&graph, &op, &prior.client_id, diags).await;
                    if sp.account_enabled == Some(false)
                        && let Err(e) = grants::enable_service_principal(&graph, &op, &sp.id).await
                    {
                        enabled = false;
                        failures.push(e.to_diagnostic(
                            "Could not enable the application's service principal",
                            errors::owner_advice(&e),
                        ));
                    }
                    (sp.id, held)
                }
                Err(e) => {
                    failures.push(e.to_diagnostic(
                        "Could not create the application's service principal",
                        Some("The application's other changes are recorded. Run `terraform apply` again to create it."),
                    ));
                    (String::new(), Vec::new())
                }
            },
        };
        if desired.grants() && !service_principal_id.is_empty() {
            match settle_consent(&graph, &op, graph_sp, &service_principal_id, &role_ids, assignments.clone())
                .await
            {
                Ok(now) => assignments = now,
                Err(e) => failures.push(e.to_diagnostic(
                    "Could not grant admin consent",
                    Some("The application's other changes are recorded; the consent status in state is what Graph held before."),
                )),
            }
        }
        let facts = Facts {
            connector_ids: desired.connectors,
            display_name: desired.display_name,
            owners,
            grant_admin_consent: desired.grant_admin_consent,
            purge_on_destroy: desired.purge_on_destroy,
            timeouts: desired.timeouts,
            object_id: prior.object_id.clone(),
            client_id: prior.client_id.clone(),
            service_principal_enabled: enabled,
            service_principal_id,
            tenant_id: prior.tenant_id.clone(),
            requested_roles: role_ids,
            assignments: &assignments,
            graph: graph_sp,
        };
        let mut state = consent::state(&session, &facts);
        let failed = owners_failed.is_some() || !failures.is_empty();
        // What the plan kept from the prior state is what a successful apply answers:
        // consent granted between plan and apply shows at the next refresh, not as an
        // inconsistent result. After a failure, state says what is.
        if !failed && let Some(planned) = decode::<Planned>(planned, "plan", diags) {
            keep_planned_consent(&mut state, planned);
        }
        for d in owners_failed.into_iter().chain(failures) {
            diags.push(d);
        }
        if !failed {
            errors::consent_pending_warning(&state, diags);
        }
        encode(&state, value_type(), diags)
    }

    async fn delete(&self, ctx: &RequestContext, prior_value: &Value, diags: &mut Diagnostics) {
        let Some(prior) = decode::<State>(prior_value, "state", diags) else {
            return;
        };
        let Some((session, graph)) = connect(&self.session, diags) else {
            return;
        };
        let op = Operation::new(
            timeouts::get(prior_value, Step::Delete, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        if let Err(d) = caller_in_tenant(&graph, &prior.tenant_id, &describe(&prior)).await {
            diags.push(d);
            return;
        }
        session.mark_written(&prior.object_id);
        let sp = Some(prior.service_principal_object_id.as_str()).filter(|s| !s.is_empty());
        let purge = prior.purge_on_destroy.unwrap_or(false);
        if let Err(e) =
            applications::delete_application(&graph, &op, &prior.object_id, sp, purge).await
        {
            diags.push(e.to_diagnostic(
                "Could not delete the connector's application",
                errors::owner_advice(&e),
            ));
        }
    }

    async fn import(&self, ctx: &RequestContext, id: &str, diags: &mut Diagnostics) -> Value {
        let id = id.trim();
        if !is_guid(id) {
            diags.push(errors::invalid_import_id(id));
            return Value::Null;
        }
        let Some((session, graph)) = connect(&self.session, diags) else {
            return Value::Null;
        };
        let caller = match caller(&graph).await {
            Ok(c) => c,
            Err(d) => {
                diags.push(d);
                return Value::Null;
            }
        };
        let op = Operation::new(TIMEOUTS.read, ctx.cancelled.clone());
        match applications::find_application(&graph, &op, id).await {
            Err(e) => {
                diags.push(e.to_diagnostic("Could not look up the application to import", None));
                Value::Null
            }
            Ok(None) => {
                diags.push(errors::no_such_application(id));
                Value::Null
            }
            Ok(Some((app, kind))) => {
                let name = app.display_name.clone().unwrap_or_default();
                let matched = match kind {
                    IdKind::ObjectId => format!(
                        "{id} is the object id of application {name:?} (client id {}).",
                        app.app_id
                    ),
                    IdKind::ClientId => format!(
                        "{id} is the client id (appId) of application {name:?}; its object id is {}.",
                        app.id
                    ),
                };
                tracing::info!("{matched}");
                diags.warning("Imported application", matched);
                let (connectors, unneeded) = match session.graph_service_principal(&op).await {
                    Ok(graph_sp) => served_connectors(&app, graph_sp),
                    Err(e) => {
                        diags.push(e.to_diagnostic(
                            "Could not read Microsoft Graph's service principal",
                            None,
                        ));
                        return Value::Null;
                    }
                };
                if !unneeded.is_empty() {
                    diags.push(errors::unneeded_permissions(&unneeded));
                }
                // The read that follows an import fills in the rest.
                let state = State {
                    connectors,
                    id: app.id.clone(),
                    object_id: app.id,
                    client_id: app.app_id,
                    tenant_id: caller.tenant_id,
                    service_principal_enabled: true,
                    ..State::default()
                };
                encode(&state, value_type(), diags)
            }
        }
    }
}

/// Consent values the plan knew (kept from the prior state, or made true by granting)
/// replace what apply read.
fn keep_planned_consent(state: &mut State, planned: Planned) {
    use tfplugin::model::Attr::Known;
    if let Known(v) = planned.consent_granted {
        state.consent_granted = v;
    }
    if let Known(v) = planned.missing_app_roles {
        state.missing_app_roles = v;
    }
    if let Known(v) = planned.granted_app_roles {
        state.granted_app_roles = v;
    }
    if let Known(v) = planned.excess_app_roles {
        state.excess_app_roles = v;
    }
    if let Known(v) = planned.consent_instructions {
        state.consent_instructions = v;
    }
}

/// "application <name> (<object id>)", for messages.
fn describe(state: &State) -> String {
    format!("application {:?} ({})", state.display_name, state.object_id)
}

/// The connectors an application serves: from the provider's tags where it made or
/// adopted the application, otherwise inferred from the Graph permissions it asks for
/// (an application an administrator made by hand), with the permissions no connector
/// needs.
fn served_connectors(app: &Application, graph_sp: &ServicePrincipal) -> (Vec<String>, Vec<String>) {
    let tagged = connectors_from_tags(&app.tags);
    if !tagged.is_empty() {
        return (tagged, Vec::new());
    }
    let names: Vec<String> = role_names(&requested_graph_roles(app), graph_sp)
        .into_keys()
        .collect();
    let (connectors, unneeded) = catalog::connectors_for_permissions(&names);
    (
        connectors.iter().map(|c| c.id.to_owned()).collect(),
        unneeded,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_fit_the_schema() {
        let state = State {
            connectors: vec!["outlook-cal".into()],
            id: "o".into(),
            object_id: "o".into(),
            client_id: "c".into(),
            ..State::default()
        };
        let mut diags = Diagnostics::new();
        let value = encode(&state, value_type(), &mut diags);
        assert!(!diags.has_errors(), "{diags:?}");
        tfplugin::value::encode_msgpack(&value, value_type()).expect("state encodes");
        let back: State = tfplugin::model::from_value(&value).expect("state decodes");
        assert_eq!(back.client_id, "c");
        let planned: Planned = tfplugin::model::from_value(&value).expect("a plan decodes");
        tfplugin::model::to_value(&planned, value_type()).expect("a plan encodes");
    }

    #[test]
    fn state_written_before_the_consent_attributes_reads() {
        let mut value = encode(&State::default(), value_type(), &mut Diagnostics::new());
        for added in [
            "grant_admin_consent",
            "granted_app_roles",
            "excess_app_roles",
            "service_principal_enabled",
        ] {
            value.set_attr(added, Value::Null).unwrap();
        }
        let old: State = tfplugin::model::from_value(&value).expect("old state reads");
        assert!(old.excess_app_roles.is_empty());
        assert!(old.service_principal_enabled, "not taken for disabled");
    }

    #[test]
    fn an_admin_made_application_serves_the_connectors_its_permissions_cover() {
        let app = Application {
            required_resource_access: graph_role_access(&[
                "798ee544-9d2d-430c-a058-570e29e34338".into(), // Calendars.Read
                "40f97065-369a-49f4-947c-6a255697ae91".into(), // MailboxSettings.Read
                "810c84a8-4a9e-49e6-bf7d-12d183f40d01".into(), // Mail.Read
            ]),
            ..Application::default()
        };
        let graph_sp = ServicePrincipal {
            app_roles: vec![crate::graph::models::AppRole {
                id: "810c84a8-4a9e-49e6-bf7d-12d183f40d01".into(),
                value: Some("Mail.Read".into()),
                ..Default::default()
            }],
            ..ServicePrincipal::default()
        };
        assert_eq!(
            served_connectors(&app, &graph_sp),
            (vec!["outlook-cal".to_owned()], vec!["Mail.Read".to_owned()])
        );
        let tagged = Application {
            tags: connector_tags(&["msft-teams".into()]),
            ..app
        };
        assert_eq!(served_connectors(&tagged, &graph_sp).0, ["msft-teams"]);
    }
}
