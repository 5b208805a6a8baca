//! `psoxy_federated_credential`: a federated identity credential on a connector's
//! application, so that the proxy signs in with its AWS (Cognito) or GCP (service
//! account) identity and no secret exists anywhere. Values as in
//! psoxy-msft-connectors.md §4; Graph's rules as in msgraph-behaviour A3; import ids,
//! timeouts and the per-application serialisation as the azuread provider (anchor B2–B4).

pub mod presets;

use self::presets::{
    Trust, check_cognito_id, check_gcp_unique_id, check_issuer, check_length, check_name,
    check_no_wildcard, check_ways, infer_preset, trust_from_config,
};
use crate::graph::applications::{self, IdKind};
use crate::graph::federated_credentials::{self as fics, CredentialFields};
use crate::graph::models::FederatedIdentityCredential;
use crate::graph::{GraphClient, GraphError, GraphErrorKind, GraphRequest, Operation};
use crate::resources::common::{connect, is_guid, set, text};
use crate::resources::timeouts::{self, Defaults, Step};
use crate::session::SessionSlot;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tfplugin::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use tfplugin::framework::{Plan, RequestContext, Resource};
use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting, Schema, Validator};
use tfplugin::value::{Type, Value};

/// The azuread provider's defaults for federated credentials (anchor B3).
const TIMEOUTS: Defaults = Defaults {
    create: Duration::from_secs(15 * 60),
    read: Duration::from_secs(5 * 60),
    update: Duration::from_secs(5 * 60),
    delete: Duration::from_secs(5 * 60),
};

/// Graph's limit on credentials per application.
pub const MAX_PER_APPLICATION: usize = 20;

const ID_SEPARATOR: &str = "/federatedIdentityCredential/";

pub struct FederatedCredential {
    pub session: Arc<SessionSlot>,
}

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

#[async_trait]
impl Resource for FederatedCredential {
    fn type_name(&self) -> &'static str {
        "psoxy_federated_credential"
    }

    fn schema(&self) -> Schema {
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

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for e in check_ways(config) {
            match e.at {
                Some(at) => diags.attribute_error(AttributePath::attr(at), e.summary, e.detail),
                None => diags.error(e.summary, e.detail),
            }
        }
    }

    async fn modify_plan(
        &self,
        _ctx: &RequestContext,
        plan: &mut Plan<'_>,
        _diags: &mut Diagnostics,
    ) {
        let Some(Trust {
            issuer,
            subject,
            audience,
        }) = trust_from_config(plan.config)
        else {
            return;
        };
        set(&mut plan.planned, "issuer", issuer);
        set(&mut plan.planned, "subject", subject);
        set(&mut plan.planned, "audience", audience);
        if !plan.is_create() && plan.requires_replace.is_empty() {
            // Updated in place: the credential keeps its id.
            for key in ["credential_id", "id"] {
                if let Some(v) = plan.prior.get_attr(key) {
                    set(&mut plan.planned, key, v.clone());
                }
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
        let object_id = text(planned, "application_object_id");
        let fields = fields_of(planned);
        let created = {
            let _lock = session.lock_application(&object_id).await;
            match fics::create(&graph, &op, &object_id, &fields).await {
                Ok(c) => c,
                Err(e) => match adopt_if_applied(&graph, &op, &object_id, &fields, &e).await {
                    Some(c) => c,
                    None => {
                        diags.push(write_error(&graph, &op, &object_id, &fields, &e, true).await);
                        return Value::Null;
                    }
                },
            }
        };
        tracing::info!(%object_id, credential_id = %created.id, name = %created.name, "created federated identity credential");
        let state = state_value(
            &object_id,
            &created,
            planned,
            planned.get_attr("aws"),
            planned.get_attr("gcp"),
        );
        if let Err(e) = fics::wait_until_readable(&graph, &op, &object_id, &created.id).await {
            diags.push(e.to_diagnostic(
                "Federated credential created, but Microsoft Graph does not show it yet",
                Some(
                    "The credential is recorded in state (Terraform marks it tainted). Run \
                     `terraform apply` again once Entra ID has caught up.",
                ),
            ));
        }
        state
    }

    async fn read(&self, ctx: &RequestContext, current: &Value, diags: &mut Diagnostics) -> Value {
        let Some((_session, graph)) = connect(&self.session, diags) else {
            return current.clone();
        };
        let op = Operation::new(
            timeouts::get(current, Step::Read, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let object_id = text(current, "application_object_id");
        let credential_id = text(current, "credential_id");
        match read_after_lag(&graph, &op, &object_id, &credential_id).await {
            Ok(Some(c)) => state_value(
                &object_id,
                &c,
                current,
                current.get_attr("aws"),
                current.get_attr("gcp"),
            ),
            Ok(None) => {
                tracing::warn!(%object_id, %credential_id, "federated credential no longer exists; removing it from state");
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
        prior: &Value,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some((session, graph)) = connect(&self.session, diags) else {
            return prior.clone();
        };
        let op = Operation::new(
            timeouts::get(planned, Step::Update, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let object_id = text(prior, "application_object_id");
        let credential_id = text(prior, "credential_id");
        let fields = fields_of(planned);
        let unchanged = fields == fields_of(prior);
        if !unchanged {
            let _lock = session.lock_application(&object_id).await;
            if let Err(e) = fics::update(&graph, &op, &object_id, &credential_id, &fields).await {
                diags.push(write_error(&graph, &op, &object_id, &fields, &e, false).await);
                return prior.clone();
            }
        }
        let mut state = planned.clone();
        set(
            &mut state,
            "credential_id",
            Value::string(credential_id.as_str()),
        );
        set(
            &mut state,
            "id",
            Value::string(format_id(&object_id, &credential_id)),
        );
        state
    }

    async fn delete(&self, ctx: &RequestContext, prior: &Value, diags: &mut Diagnostics) {
        let Some((session, graph)) = connect(&self.session, diags) else {
            return;
        };
        let op = Operation::new(
            timeouts::get(prior, Step::Delete, TIMEOUTS),
            ctx.cancelled.clone(),
        );
        let object_id = text(prior, "application_object_id");
        let credential_id = text(prior, "credential_id");
        let _lock = session.lock_application(&object_id).await;
        if let Err(e) = fics::delete(&graph, &op, &object_id, &credential_id).await {
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
        state_value(
            &object_id,
            &credential,
            &Value::Null,
            Some(&aws),
            Some(&gcp),
        )
    }
}

impl FederatedCredential {}

/// Reads the credential. A 404 is taken as "gone" only when it holds: the
/// application is in deleted items, or the application is there and the credential
/// stays missing on a second look, or nothing shows up through Graph's lag.
async fn read_after_lag(
    graph: &GraphClient,
    op: &Operation,
    object_id: &str,
    credential_id: &str,
) -> Result<Option<FederatedIdentityCredential>, GraphError> {
    let mut delay = Duration::from_secs(1);
    for attempt in 1..=4 {
        if let Some(c) = fics::get(graph, op, object_id, credential_id).await? {
            return Ok(Some(c));
        }
        let app_there = match graph
            .send(
                op,
                &GraphRequest::get(format!("/applications/{object_id}")).query("$select", "id"),
            )
            .await
        {
            Ok(_) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => return Err(e),
        };
        if app_there && attempt >= 2 {
            break;
        }
        if !app_there && applications::is_soft_deleted(graph, op, object_id).await? {
            break;
        }
        if attempt == 4 {
            break;
        }
        tracing::debug!(%object_id, %credential_id, attempt, "credential not found; waiting for replication");
        // Stopped or out of time: that says nothing about the credential, so it is an
        // error, never a reason to drop it from state.
        if let Err(kind) = op.wait(delay).await {
            let e = GraphError::transport(
                format!(
                    "GET /applications/{object_id}/federatedIdentityCredentials/{credential_id}"
                ),
                "the wait for Microsoft Graph's replication was interrupted".into(),
            );
            return Err(GraphError { kind, ..e });
        }
        delay *= 2;
    }
    Ok(None)
}

/// When the create's answer was lost (no answer, or a gateway error after which Graph
/// may still have acted), the credential may exist: adopt it if it is exactly the one
/// asked for, so that the retry the user makes does not run into "duplicate name".
async fn adopt_if_applied(
    graph: &GraphClient,
    op: &Operation,
    object_id: &str,
    fields: &CredentialFields,
    e: &GraphError,
) -> Option<FederatedIdentityCredential> {
    let maybe_applied =
        e.kind == GraphErrorKind::Transport || matches!(e.status, Some(500 | 502 | 504));
    if !maybe_applied {
        return None;
    }
    tracing::warn!(
        "creating the credential may have succeeded despite an error; looking it up: {e}"
    );
    let found = fics::find_by_name(graph, op, object_id, &fields.name)
        .await
        .ok()
        .flatten()?;
    let same = found.issuer == fields.issuer
        && found.subject == fields.subject
        && found.audiences == [fields.audience.clone()]
        && found.description == fields.description;
    same.then_some(found)
}

/// Graph's refusals of a create or update, as errors that say what to do.
async fn write_error(
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

fn permission_advice(e: &GraphError) -> Option<&'static str> {
    (e.code == "Authorization_RequestDenied").then_some(
        "Managing an application's federated credentials needs ownership of the application or \
         the Cloud Application Administrator role. Ask an administrator to add the signed-in \
         identity as an owner.",
    )
}

/// How an import id names the credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportId {
    ById {
        object_id: String,
        credential_id: String,
    },
    ByName {
        object_id: String,
        name: String,
    },
}

impl ImportId {
    fn object_id(&self) -> &str {
        match self {
            ImportId::ById { object_id, .. } | ImportId::ByName { object_id, .. } => object_id,
        }
    }

    fn describe(&self) -> String {
        match self {
            ImportId::ById { credential_id, .. } => format!("with id {credential_id}"),
            ImportId::ByName { name, .. } => format!("named {name:?}"),
        }
    }
}

const IMPORT_FORMATS: &str = "Import a federated credential with either\n\
  - `<application object id>/federatedIdentityCredential/<credential id>` (the azuread \
    provider's format, e.g. \
    `00000000-0000-4000-8000-000000000001/federatedIdentityCredential/00000000-0000-4000-8000-000000000002`), or\n\
  - `<application object id>/<credential name>` (e.g. \
    `00000000-0000-4000-8000-000000000001/psoxy-outlook-cal-aws`).";

pub fn parse_import_id(id: &str) -> Result<ImportId, String> {
    let trimmed = id.trim();
    let rest = trimmed
        .strip_prefix("/applications/")
        .or_else(|| trimmed.strip_prefix('/'))
        .unwrap_or(trimmed);
    let bad = |why: &str| {
        format!("{id:?} is not a federated credential import id: {why}\n\n{IMPORT_FORMATS}")
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let object_id = parts[0];
    if !is_guid(object_id) {
        return Err(bad(
            "it must start with the application's object id (a GUID).",
        ));
    }
    match parts.as_slice() {
        [_, segment, credential_id]
            if segment.eq_ignore_ascii_case("federatedIdentityCredential")
                || segment.eq_ignore_ascii_case("federatedIdentityCredentials") =>
        {
            if !is_guid(credential_id) {
                return Err(bad("the credential id must be a GUID."));
            }
            Ok(ImportId::ById {
                object_id: object_id.to_ascii_lowercase(),
                credential_id: credential_id.to_ascii_lowercase(),
            })
        }
        [_, name] => {
            if let Err((_, why)) = check_name(name) {
                return Err(bad(&why));
            }
            Ok(ImportId::ByName {
                object_id: object_id.to_ascii_lowercase(),
                name: (*name).to_owned(),
            })
        }
        _ => Err(bad("it has the wrong number of parts.")),
    }
}

pub fn format_id(object_id: &str, credential_id: &str) -> String {
    format!("{object_id}{ID_SEPARATOR}{credential_id}")
}

/// The fields to send, from a planned (wholly known) value.
fn fields_of(v: &Value) -> CredentialFields {
    CredentialFields {
        name: text(v, "name"),
        issuer: text(v, "issuer"),
        subject: text(v, "subject"),
        audience: text(v, "audience"),
        description: v
            .get_attr("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The resource's state from Graph's credential; the preset blocks and timeouts come
/// from the configuration side (`base`), as Graph does not know them.
fn state_value(
    object_id: &str,
    c: &FederatedIdentityCredential,
    base: &Value,
    aws: Option<&Value>,
    gcp: Option<&Value>,
) -> Value {
    let audience = c.audiences.first().cloned().unwrap_or_default();
    Value::object([
        ("application_object_id", Value::string(object_id)),
        ("name", Value::string(c.name.as_str())),
        (
            "description",
            c.description.clone().map_or(Value::Null, Value::string),
        ),
        ("issuer", Value::string(c.issuer.as_str())),
        ("subject", Value::string(c.subject.as_str())),
        ("audience", Value::string(audience)),
        ("credential_id", Value::string(c.id.as_str())),
        ("id", Value::string(format_id(object_id, &c.id))),
        ("aws", aws.cloned().unwrap_or(Value::Null)),
        ("gcp", gcp.cloned().unwrap_or(Value::Null)),
        (
            "timeouts",
            base.get_attr("timeouts").cloned().unwrap_or(Value::Null),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let ty = resource().schema().block.value_type();
        let state = state_value(APP, &credential(), &Value::Null, None, None);
        tfplugin::value::encode_msgpack(&state, &ty).expect("state encodes");
        let (aws, gcp) = infer_preset(presets::GCP_ISSUER, "123", presets::TOKEN_EXCHANGE_AUDIENCE);
        let imported = state_value(APP, &credential(), &Value::Null, Some(&aws), Some(&gcp));
        tfplugin::value::encode_msgpack(&imported, &ty).expect("import state encodes");
        assert_eq!(
            imported.get_attr("id").and_then(Value::as_str),
            Some(format_id(APP, CRED).as_str())
        );
    }

    #[test]
    fn fields_round_trip_through_state() {
        let state = state_value(APP, &credential(), &Value::Null, None, None);
        let f = fields_of(&state);
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
