//! `psoxy_federated_credential`: a federated identity credential on a connector's
//! application, so that the proxy signs in with its AWS (Cognito) or GCP (service
//! account) identity and no secret exists anywhere. Values as psoxy documents them
//! (presets.rs); Graph's rules in docs/design/graph-behaviour.md; import ids, timeouts
//! and per-application serialisation as the azuread provider has them.

mod errors;
mod id;
mod model;
pub mod presets;
mod schema;

use self::errors::{permission_advice, write_error};
use self::id::{ImportId, format_id, parse_import_id};
use self::model::{Config, Desired, Planned, State};
use self::presets::{Trust, infer_preset, trust_from_config};
use self::schema::TIMEOUTS;
use crate::graph::Operation;
use crate::graph::applications::{self, IdKind};
use crate::graph::federated_credentials::{self as fics, CredentialFields};
use crate::graph::models::FederatedIdentityCredential;
use crate::resources::common::{
    caller, caller_in_tenant, connect, decode, encode, lock_application,
};
use crate::resources::timeouts::{self, Step};
use crate::session::SessionSlot;
use async_trait::async_trait;
use std::sync::{Arc, OnceLock};
use tfplugin::diagnostics::Diagnostics;
use tfplugin::framework::{Plan, RequestContext, Resource};
use tfplugin::model::Attr;
use tfplugin::schema::Schema;
use tfplugin::value::{Type, Value};

pub use self::errors::MAX_PER_APPLICATION;

pub struct FederatedCredential {
    pub session: Arc<SessionSlot>,
}

fn value_type() -> &'static Type {
    static TYPE: OnceLock<Type> = OnceLock::new();
    TYPE.get_or_init(|| schema::schema().block.value_type())
}

#[async_trait]
impl Resource for FederatedCredential {
    fn type_name(&self) -> &'static str {
        "psoxy_federated_credential"
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
        let Some(Trust {
            issuer,
            subject,
            audience,
        }) = trust_from_config(&config)
        else {
            return;
        };
        planned.issuer = issuer;
        planned.subject = subject;
        planned.audience = audience;
        if !plan.is_create()
            && plan.requires_replace.is_empty()
            && let Some(prior) = decode::<State>(plan.prior, "state", diags)
        {
            // Updated in place: the credential keeps its id.
            planned.credential_id = Attr::Known(prior.credential_id);
            planned.id = Attr::Known(prior.id);
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
        let object_id = desired.application_object_id.clone();
        let fields = fields_of(&desired);
        session.mark_written(&object_id);
        let created = {
            let lock = lock_application(&session, &op, &object_id).await;
            let result = match lock {
                Ok(_guard) => fics::create(&graph, &op, &object_id, &fields).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(c) => c,
                Err(e) => {
                    diags.push(write_error(&graph, &op, &object_id, &fields, &e, true).await);
                    return Value::Null;
                }
            }
        };
        tracing::info!(%object_id, credential_id = %created.id, name = %created.name, "created federated identity credential");
        let state = state_of(
            &object_id,
            &created,
            Some(caller.tenant_id),
            desired.aws,
            desired.gcp,
            desired.timeouts,
        );
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
        let recorded = prior.tenant_id.clone().unwrap_or_default();
        let caller = match caller_in_tenant(&graph, &recorded, &describe(&prior)).await {
            Ok(c) => c,
            Err(d) => {
                diags.push(d);
                return current.clone();
            }
        };
        let object_id = &prior.application_object_id;
        // Served from the tenant's inventory where it lists the credential; otherwise
        // read directly, riding replication lag.
        let listed = session
            .inventory_for(&op, object_id)
            .await
            .and_then(|inventory| inventory.credential(object_id, &prior.credential_id))
            .cloned();
        let read = match listed {
            Some(c) => Ok(Some(c)),
            None => fics::read_riding_lag(&graph, &op, object_id, &prior.credential_id).await,
        };
        match read {
            Ok(Some(c)) => {
                let tenant = prior.tenant_id.or(Some(caller.tenant_id));
                let state = state_of(object_id, &c, tenant, prior.aws, prior.gcp, prior.timeouts);
                encode(&state, value_type(), diags)
            }
            Ok(None) => {
                tracing::warn!(%object_id, credential_id = %prior.credential_id, "federated credential no longer exists; removing it from state");
                Value::Null
            }
            Err(e) => {
                diags.push(e.to_diagnostic("Could not read the federated credential", None));
                current.clone()
            }
        }
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        prior_value: &Value,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let (Some(prior), Some(desired)) = (
            decode::<State>(prior_value, "state", diags),
            decode::<Desired>(planned, "plan", diags),
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
        let recorded = prior.tenant_id.clone().unwrap_or_default();
        if let Err(d) = caller_in_tenant(&graph, &recorded, &describe(&prior)).await {
            diags.push(d);
            return prior_value.clone();
        }
        let object_id = &prior.application_object_id;
        let fields = fields_of(&desired);
        if fields != fields_of_state(&prior) {
            session.mark_written(object_id);
            let written = match lock_application(&session, &op, object_id).await {
                Ok(_guard) => {
                    fics::update(&graph, &op, object_id, &prior.credential_id, &fields).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                diags.push(write_error(&graph, &op, object_id, &fields, &e, false).await);
                return prior_value.clone();
            }
        }
        let state = State {
            application_object_id: desired.application_object_id,
            name: desired.name,
            description: desired.description,
            issuer: desired.issuer,
            subject: desired.subject,
            audience: desired.audience,
            credential_id: prior.credential_id,
            id: prior.id,
            tenant_id: prior.tenant_id,
            aws: desired.aws,
            gcp: desired.gcp,
            timeouts: desired.timeouts,
        };
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
        let recorded = prior.tenant_id.clone().unwrap_or_default();
        if let Err(d) = caller_in_tenant(&graph, &recorded, &describe(&prior)).await {
            diags.push(d);
            return;
        }
        let object_id = &prior.application_object_id;
        session.mark_written(object_id);
        let deleted = match lock_application(&session, &op, object_id).await {
            Ok(_guard) => fics::delete(&graph, &op, object_id, &prior.credential_id).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            diags.push(e.to_diagnostic(
                "Could not delete the federated credential",
                permission_advice(&e),
            ));
        }
    }

    async fn import(&self, ctx: &RequestContext, id: &str, diags: &mut Diagnostics) -> Value {
        let wanted = match parse_import_id(id) {
            Ok(w) => w,
            Err(why) => {
                diags.error("Invalid import id", why);
                return Value::Null;
            }
        };
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
        let given_app = wanted.object_id().to_owned();
        // The application first: say clearly when it is missing or was given by client id.
        let object_id = match applications::find_application(&graph, &op, &given_app).await {
            Err(e) => {
                diags.push(e.to_diagnostic("Could not look up the application", None));
                return Value::Null;
            }
            Ok(None) => {
                diags.error(
                    "No such application",
                    format!(
                        "No application has object id (or client id) {given_app} in this tenant, \
                         or the signed-in identity may not read it. The import id starts with \
                         the object id of the application the credential belongs to."
                    ),
                );
                return Value::Null;
            }
            Ok(Some((app, IdKind::ClientId))) => {
                diags.warning(
                    "Client id given instead of object id",
                    format!(
                        "{given_app} is the client id (appId) of application {:?}; its object id \
                         is {}, which the credential records.",
                        app.display_name.clone().unwrap_or_default(),
                        app.id
                    ),
                );
                app.id
            }
            Ok(Some((app, IdKind::ObjectId))) => app.id,
        };
        let found = match &wanted {
            ImportId::ById { credential_id, .. } => {
                fics::get(&graph, &op, &object_id, credential_id).await
            }
            ImportId::ByName { name, .. } => {
                fics::find_by_name(&graph, &op, &object_id, name).await
            }
        };
        let credential = match found {
            Ok(Some(c)) => c,
            Ok(None) => {
                let existing = fics::list(&graph, &op, &object_id, None)
                    .await
                    .unwrap_or_default();
                let names: Vec<String> = existing
                    .iter()
                    .map(|c| format!("{} (id {})", c.name, c.id))
                    .collect();
                diags.error(
                    "No such federated credential",
                    format!(
                        "Application {object_id} has no federated credential {}. {}",
                        wanted.describe(),
                        if names.is_empty() {
                            "It has no federated credentials at all.".to_owned()
                        } else {
                            format!("It has: {}.", names.join(", "))
                        }
                    ),
                );
                return Value::Null;
            }
            Err(e) => {
                diags.push(e.to_diagnostic("Could not read the federated credential", None));
                return Value::Null;
            }
        };
        let audience = credential.audiences.first().cloned().unwrap_or_default();
        let (aws, gcp) = infer_preset(&credential.issuer, &credential.subject, &audience);
        let state = state_of(
            &object_id,
            &credential,
            Some(caller.tenant_id),
            aws,
            gcp,
            Value::Null,
        );
        encode(&state, value_type(), diags)
    }
}

/// "federated credential <name> on application <id>", for messages.
fn describe(state: &State) -> String {
    format!(
        "federated credential {:?} on application {}",
        state.name, state.application_object_id
    )
}

/// The fields to send, as planned.
fn fields_of(d: &Desired) -> CredentialFields {
    CredentialFields {
        name: d.name.clone(),
        issuer: d.issuer.clone(),
        subject: d.subject.clone(),
        audience: d.audience.clone(),
        description: d.description.clone(),
    }
}

fn fields_of_state(s: &State) -> CredentialFields {
    CredentialFields {
        name: s.name.clone(),
        issuer: s.issuer.clone(),
        subject: s.subject.clone(),
        audience: s.audience.clone(),
        description: s.description.clone(),
    }
}

/// The resource's state from Graph's credential; the preset blocks and timeouts come
/// from configuration, as Graph does not know them.
fn state_of(
    object_id: &str,
    c: &FederatedIdentityCredential,
    tenant_id: Option<String>,
    aws: Option<model::Aws>,
    gcp: Option<model::Gcp>,
    timeouts: Value,
) -> State {
    State {
        application_object_id: object_id.to_owned(),
        name: c.name.clone(),
        description: c.description.clone(),
        issuer: c.issuer.clone(),
        subject: c.subject.clone(),
        audience: c.audiences.first().cloned().unwrap_or_default(),
        credential_id: c.id.clone(),
        id: format_id(object_id, &c.id),
        tenant_id,
        aws,
        gcp,
        timeouts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::diagnostics::AttributePath;

    const APP: &str = "00000000-0000-4000-8000-00000000e001";
    const CRED: &str = "11111111-2222-4333-8444-555555555555";

    fn resource() -> FederatedCredential {
        FederatedCredential {
            session: Arc::default(),
        }
    }

    fn credential() -> FederatedIdentityCredential {
        FederatedIdentityCredential {
            id: CRED.into(),
            name: "psoxy-cal".into(),
            issuer: presets::GCP_ISSUER.into(),
            subject: "123".into(),
            audiences: vec![presets::TOKEN_EXCHANGE_AUDIENCE.into()],
            description: None,
        }
    }

    #[test]
    fn ids_are_the_azuread_format() {
        assert_eq!(
            format_id(APP, CRED),
            format!("{APP}/federatedIdentityCredential/{CRED}")
        );
    }

    #[test]
    fn import_ids_in_both_formats() {
        assert_eq!(
            parse_import_id(&format_id(APP, CRED)),
            Ok(ImportId::ById {
                object_id: APP.into(),
                credential_id: CRED.into()
            })
        );
        assert_eq!(
            parse_import_id(&format!(
                "/applications/{APP}/federatedIdentityCredential/{CRED}"
            )),
            Ok(ImportId::ById {
                object_id: APP.into(),
                credential_id: CRED.into()
            })
        );
        assert_eq!(
            parse_import_id(&format!("{APP}/psoxy-outlook-cal-aws")),
            Ok(ImportId::ByName {
                object_id: APP.into(),
                name: "psoxy-outlook-cal-aws".into()
            })
        );
        for bad in [
            "psoxy-cal",
            "not-a-guid/psoxy-cal",
            &format!("{APP}/federatedIdentityCredential/x"),
            &format!("{APP}/-bad-name"),
            &format!("{APP}/a/b/c"),
            APP,
        ] {
            let e = parse_import_id(bad).unwrap_err();
            assert!(
                e.contains("<application object id>/<credential name>"),
                "{e}"
            );
            assert!(
                e.contains("<application object id>/federatedIdentityCredential/<credential id>"),
                "{e}"
            );
        }
    }

    #[test]
    fn state_fits_the_schema() {
        let ty = value_type();
        let mut diags = Diagnostics::new();
        let state = state_of(APP, &credential(), None, None, None, Value::Null);
        let value = encode(&state, ty, &mut diags);
        tfplugin::value::encode_msgpack(&value, ty).expect("state encodes");
        let (aws, gcp) = infer_preset(presets::GCP_ISSUER, "123", presets::TOKEN_EXCHANGE_AUDIENCE);
        let imported = state_of(APP, &credential(), Some("t".into()), aws, gcp, Value::Null);
        let value = encode(&imported, ty, &mut diags);
        tfplugin::value::encode_msgpack(&value, ty).expect("import state encodes");
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(
            value.get_attr("id").and_then(Value::as_str),
            Some(format_id(APP, CRED).as_str())
        );
        let planned: Planned = tfplugin::model::from_value(&value).expect("a plan decodes");
        tfplugin::model::to_value(&planned, ty).expect("a plan encodes");
    }

    #[test]
    fn fields_round_trip_through_state() {
        let state = state_of(APP, &credential(), None, None, None, Value::Null);
        let f = fields_of_state(&state);
        assert_eq!(f.name, "psoxy-cal");
        assert_eq!(f.audience, presets::TOKEN_EXCHANGE_AUDIENCE);
        assert_eq!(f.description, None);
    }

    #[test]
    fn schema_validation_reports_each_rule_on_its_attribute() {
        let schema = resource().schema();
        let ty = schema.block.value_type();
        let mut config = Value::object(
            ty.attribute_types()
                .unwrap()
                .keys()
                .map(|k| (k.clone(), Value::Null)),
        );
        config
            .set_attr("application_object_id", Value::string("not-a-guid"))
            .unwrap();
        config.set_attr("name", Value::string("-bad")).unwrap();
        config.set_attr("subject", Value::string("repo:*")).unwrap();
        config
            .set_attr("issuer", Value::string("http://x"))
            .unwrap();
        config
            .set_attr(
                "gcp",
                Value::object([("service_account_unique_id", Value::string("abc"))]),
            )
            .unwrap();
        let mut diags = Diagnostics::new();
        schema
            .block
            .validate(&config, &AttributePath::root(), &mut diags);
        resource().validate(&config, &mut diags);
        let at = |path: AttributePath| {
            diags
                .iter()
                .filter(|d| d.attribute.as_ref() == Some(&path))
                .map(|d| d.summary.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            at(AttributePath::attr("application_object_id")),
            ["Invalid application object id"]
        );
        assert_eq!(
            at(AttributePath::attr("name")),
            ["Invalid first character in credential name"]
        );
        assert!(
            at(AttributePath::attr("subject")).contains(&"Wildcards are not allowed".to_owned())
        );
        assert!(at(AttributePath::attr("issuer")).contains(&"Invalid issuer".to_owned()));
        assert_eq!(
            at(AttributePath::attr("gcp").then_attr("service_account_unique_id")),
            ["Invalid GCP service account unique id"]
        );
        assert!(
            at(AttributePath::attr("subject"))
                .contains(&"Preset and explicit values both given".to_owned())
        );
    }
}
