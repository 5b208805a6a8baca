//! `psoxy_msft_connector`: the Entra ID application that serves one or more Psoxy
//! Microsoft 365 connectors, with exactly the Graph application permissions they need,
//! its service principal (so consent can be granted), its owners, and the consent
//! status and administrator's document in state.
//!
//! The create is where an object can escape state: once Graph has created the
//! application, every path returns it in state, whatever fails or stops afterwards.

mod consent;
mod errors;
mod model;
mod schema;

use self::consent::{Facts, resolve, role_names};
use self::model::{Config, Desired, Planned, State};
use crate::catalog;
use crate::graph::applications::{
    self, IdKind, MAX_BOUND_OWNERS, NewApplication, connector_tags, connectors_from_tags,
    graph_role_access, requested_graph_roles,
};
use crate::graph::models::{AppRoleAssignment, ServicePrincipal};
use crate::graph::{GraphClient, GraphError, Operation};
use crate::resources::common::{
    Caller, caller, caller_in_tenant, connect, decode, encode, is_guid, lock_application, same_id,
};
use crate::resources::timeouts::{self, Step};
use crate::session::{Session, SessionSlot};
use async_trait::async_trait;
use schema::TIMEOUTS;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};
use tfplugin::diagnostics::{Diagnostic, Diagnostics};
use tfplugin::framework::{Plan, RequestContext, Resource};
use tfplugin::model::Attr;
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
        if plan.is_create() {
            if config.owners.is_null() {
                planned.owners = Value::set([]);
            }
            // Known at plan time only when configured as a GUID: apply records the
            // token's tenant id, which is lower case, and a domain name is resolved by
            // Entra ID, not here.
            if let Ok(session) = self.session.get()
                && let Some(tenant) = session.settings.tenant_id.as_deref().filter(|t| is_guid(t))
            {
                planned.tenant_id = Attr::Known(tenant.to_ascii_lowercase());
            }
        } else if let Some(prior) = decode::<State>(plan.prior, "state", diags) {
            plan_from_prior(&mut planned, &prior, connectors.as_deref());
        }
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
            match applications::ensure_service_principal(
                &graph,
                &op,
                &app.app_id,
                &service_principal_tags(),
            )
            .await
            {
                Ok(sp) => {
                    service_principal = Some(sp);
                    None
                }
                Err(e) => Some(Unfinished::Failed(
                    "creating its service principal".to_owned(),
                    e,
                )),
            }
        };
        let assignments = match &service_principal {
            // An existing service principal (adopted) may already hold grants.
            Some((sp, false)) => assignments(&graph, &op, &sp.app_id, diags).await,
            _ => Vec::new(),
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
            connector_ids: desired.connectors,
            display_name: desired.display_name,
            purge_on_destroy: desired.purge_on_destroy,
            timeouts: desired.timeouts,
            object_id: app.id.clone(),
            client_id: app.app_id.clone(),
            service_principal_id: service_principal.map(|(sp, _)| sp.id).unwrap_or_default(),
            tenant_id: caller.tenant_id.clone(),
            requested_roles: role_ids,
            assignments: &assignments,
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
        // application, service principal and, the first time in this process,
        // Microsoft Graph's service principal, in one $batch.
        let listed = session
            .inventory_for(&op, &prior.object_id)
            .await
            .and_then(|inventory| {
                let app = inventory.application(&prior.object_id)?;
                let sp = inventory.service_principal(&app.app_id)?;
                Some(applications::Snapshot {
                    application: Some(app.clone()),
                    service_principal: Some(sp.clone()),
                    graph_service_principal: None,
                })
            });
        let read = match listed {
            Some(snapshot) => Ok(Some(snapshot)),
            None => {
                applications::snapshot_riding_lag(
                    &graph,
                    &op,
                    &prior.object_id,
                    &prior.client_id,
                    session.cached_graph_service_principal().is_none(),
                    !prior.service_principal_object_id.is_empty(),
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
            connectors_from_tags(&app.tags)
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
            purge_on_destroy: prior.purge_on_destroy,
            timeouts: prior.timeouts.clone(),
            object_id: app.id.clone(),
            client_id: app.app_id.clone(),
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
        let (service_principal_id, assignments, sp_failed) = match service_principal {
            Some(sp) => (sp.id, sp.app_role_assignments.unwrap_or_default(), None),
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
                Ok((sp, true)) => (sp.id, Vec::new(), None),
                Ok((sp, false)) => {
                    let assignments = assignments(&graph, &op, &prior.client_id, diags).await;
                    (sp.id, assignments, None)
                }
                Err(e) => (String::new(), Vec::new(), Some(e)),
            },
        };
        let facts = Facts {
            connector_ids: desired.connectors,
            display_name: desired.display_name,
            owners,
            purge_on_destroy: desired.purge_on_destroy,
            timeouts: desired.timeouts,
            object_id: prior.object_id.clone(),
            client_id: prior.client_id.clone(),
            service_principal_id,
            tenant_id: prior.tenant_id.clone(),
            requested_roles: role_ids,
            assignments: &assignments,
            graph: graph_sp,
        };
        let state = consent::state(&session, &facts);
        if let Some(d) = owners_failed {
            diags.push(d);
        }
        match sp_failed {
            Some(e) => diags.push(e.to_diagnostic(
                "Could not create the application's service principal",
                Some("The application's other changes are recorded. Run `terraform apply` again to create it."),
            )),
            None => errors::consent_pending_warning(&state, diags),
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
        let Some((_session, graph)) = connect(&self.session, diags) else {
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
                // The read that follows an import fills in the rest.
                let state = State {
                    connectors: connectors_from_tags(&app.tags),
                    id: app.id.clone(),
                    object_id: app.id,
                    client_id: app.app_id,
                    tenant_id: caller.tenant_id,
                    ..State::default()
                };
                encode(&state, value_type(), diags)
            }
        }
    }
}

/// "application <name> (<object id>)", for messages.
fn describe(state: &State) -> String {
    format!("application {:?} ({})", state.display_name, state.object_id)
}

/// An update keeps what only apply can know from the prior state; consent and its
/// document change only with the permissions or the name, or when the service
/// principal they name is (re)created.
fn plan_from_prior(planned: &mut Planned, prior: &State, connectors: Option<&[String]>) {
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
        && connectors == Some(prior.connectors.as_slice());
    if consent_inputs_same && !recreating_service_principal {
        planned.consent_granted = Attr::Known(prior.consent_granted);
        planned.missing_app_roles = Attr::Known(prior.missing_app_roles.clone());
        planned.consent_instructions = Attr::Known(prior.consent_instructions.clone());
    } else {
        planned.consent_granted = Attr::Unknown;
        planned.missing_app_roles = Attr::Unknown;
        planned.consent_instructions = Attr::Unknown;
    }
}

/// The application's owners as state shows them: the caller is an owner by design and
/// shows only where configured, and an id keeps the configuration's spelling (Graph
/// answers in lower case) so that it does not show as a change on every plan.
fn owners_as_state(
    live: impl Iterator<Item = String>,
    prior: &BTreeSet<String>,
    caller: &Caller,
) -> BTreeSet<String> {
    live.filter(|o| !same_id(o, &caller.object_id) || prior.iter().any(|p| same_id(p, o)))
        .map(|o| prior.iter().find(|p| same_id(p, &o)).cloned().unwrap_or(o))
        .collect()
}

/// Adds and removes owners until they are `wanted`, compared without regard to case
/// as Entra ID compares object ids; the caller is never added or removed here. Returns
/// the owners as they now are and, if a step failed, why.
async fn sync_owners(
    graph: &GraphClient,
    session: &Session,
    op: &Operation,
    prior: &State,
    caller: &Caller,
    wanted: BTreeSet<String>,
) -> (BTreeSet<String>, Option<Diagnostic>) {
    let lower = |ids: &BTreeSet<String>| -> BTreeSet<String> {
        ids.iter()
            .filter(|i| !same_id(i, &caller.object_id))
            .map(|i| i.to_ascii_lowercase())
            .collect()
    };
    let (wanted_ids, prior_ids) = (lower(&wanted), lower(&prior.owners));
    let mut now = prior.owners.clone();
    for owner in wanted_ids.difference(&prior_ids) {
        if let Err(e) =
            applications::add_owner(graph, &session.graph_base(), op, &prior.object_id, owner).await
        {
            let d = e.to_diagnostic(
                &format!("Could not add owner {owner}"),
                errors::owner_advice(&e),
            );
            return (now, Some(d));
        }
        if let Some(spelled) = wanted.iter().find(|w| same_id(w, owner)) {
            now.insert(spelled.clone());
        }
    }
    for owner in prior_ids.difference(&wanted_ids) {
        if let Err(e) = applications::remove_owner(graph, op, &prior.object_id, owner).await {
            let d = e.to_diagnostic(
                &format!("Could not remove owner {owner}"),
                errors::owner_advice(&e),
            );
            return (now, Some(d));
        }
        now.retain(|o| !same_id(o, owner));
    }
    (wanted, None)
}

/// The connectors' permissions, checked against the tenant's own Microsoft Graph
/// service principal: a tenant whose Graph lacks a permission, or knows it under
/// another id, gets a clear error naming it.
async fn verified_roles<'s>(
    session: &'s Session,
    op: &Operation,
    connector_ids: &[String],
    diags: &mut Diagnostics,
) -> Option<(&'s ServicePrincipal, BTreeMap<String, String>)> {
    let graph_sp = match session.graph_service_principal(op).await {
        Ok(sp) => sp,
        Err(e) => {
            diags.push(e.to_diagnostic("Could not read Microsoft Graph's service principal", None));
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
            Some(role) => diags.error(
                "Permission id differs in this tenant",
                format!(
                    "Microsoft Graph in this tenant has {name} as app role {}, but the provider \
                     knows it as {id}. The provider will not request an id it cannot vouch for; \
                     please report this.",
                    role.id
                ),
            ),
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

/// The service principal's app-role assignments; a failure to read them is a warning,
/// since the application itself was written.
async fn assignments(
    graph: &GraphClient,
    op: &Operation,
    client_id: &str,
    diags: &mut Diagnostics,
) -> Vec<AppRoleAssignment> {
    match applications::service_principal_by_app_id(graph, op, client_id, true).await {
        Ok(sp) => sp.and_then(|s| s.app_role_assignments).unwrap_or_default(),
        Err(e) => {
            diags.warning(
                "Could not read the consent status",
                format!(
                    "The application was written, but its consent status could not be read: {e}"
                ),
            );
            Vec::new()
        }
    }
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
        let value = encode(&state, value_type(), &mut Diagnostics::new());
        tfplugin::value::encode_msgpack(&value, value_type()).expect("state encodes");
        let back: State = tfplugin::model::from_value(&value).expect("state decodes");
        assert_eq!(back.client_id, "c");
        let planned: Planned = tfplugin::model::from_value(&value).expect("a plan decodes");
        tfplugin::model::to_value(&planned, value_type()).expect("a plan encodes");
    }
}
