//! `psoxy_msft_connector_specs`: the Microsoft 365 connector catalog, so that
//! configurations can show, filter or feed the permissions each connector needs.

use crate::catalog::{self, Connector, MICROSOFT_GRAPH_APP_ID, Permission};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tfplugin::diagnostics::{AttributePath, Diagnostics};
use tfplugin::framework::{DataSource, RequestContext};
use tfplugin::model::Attr;
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::value::{Type, Value};

pub struct ConnectorSpecs;

fn permission_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("app_role_id", Type::String),
        ("type", Type::String),
        ("why", Type::String),
        ("data_opened", Type::String),
    ])
}

fn admin_step_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("title", Type::String),
        ("role", Type::String),
        ("role_template_id", Type::String),
        ("summary", Type::String),
    ])
}

fn connector_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("display_name", Type::String),
        ("availability", Type::String),
        ("replacement", Type::String),
        ("enabled_by_default", Type::Bool),
        ("default_app_display_name", Type::String),
        ("permissions", Type::list(permission_type())),
        ("required_app_roles", Type::map(Type::String)),
        ("graph_endpoints", Type::list(Type::String)),
        ("extra_admin_steps", Type::list(admin_step_type())),
    ])
}

/// The configuration: which connectors, if not all.
#[derive(Deserialize)]
struct Config {
    ids: Attr<Vec<Attr<String>>>,
}

/// The data source's value.
#[derive(Serialize)]
struct Specs {
    ids: Value,
    connectors: Vec<ConnectorSpec>,
    required_app_roles: BTreeMap<String, String>,
    graph_app_id: &'static str,
}

#[derive(Serialize)]
struct ConnectorSpec {
    id: &'static str,
    display_name: &'static str,
    availability: &'static str,
    replacement: Option<&'static str>,
    enabled_by_default: bool,
    default_app_display_name: String,
    permissions: Vec<PermissionSpec>,
    required_app_roles: BTreeMap<String, String>,
    graph_endpoints: Vec<&'static str>,
    extra_admin_steps: Vec<AdminStep>,
}

#[derive(Serialize)]
struct PermissionSpec {
    name: &'static str,
    app_role_id: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    why: &'static str,
    data_opened: &'static str,
}

#[derive(Serialize)]
struct AdminStep {
    id: &'static str,
    title: &'static str,
    role: &'static str,
    role_template_id: &'static str,
    summary: &'static str,
}

#[async_trait]
impl DataSource for ConnectorSpecs {
    fn type_name(&self) -> &'static str {
        "psoxy_msft_connector_specs"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        selected(config, diags);
    }

    async fn read(&self, _ctx: &RequestContext, config: &Value, diags: &mut Diagnostics) -> Value {
        let connectors = selected(config, diags);
        let specs = Specs {
            ids: config.get_attr("ids").cloned().unwrap_or(Value::Null),
            connectors: connectors.iter().map(|c| spec(c)).collect(),
            required_app_roles: app_roles(&connectors),
            graph_app_id: MICROSOFT_GRAPH_APP_ID,
        };
        crate::resources::common::encode(&specs, &schema().block.value_type(), diags)
    }
}

fn schema() -> Schema {
    Schema::new(
        0,
        Block::new(
            "The Psoxy Microsoft 365 connector catalog: for each connector, the Microsoft \
             Graph application permissions (with their appRole ids) it needs, the Graph \
             endpoints it reads and any step an administrator must take besides consent.",
        )
        .attribute(
            Attribute::optional("ids", Type::list(Type::String)).description(
                "Connector ids to return, in this order. Leave out for the whole catalog. An \
             unknown id is an error that lists the valid ones.",
            ),
        )
        .attribute(
            Attribute::computed("connectors", Type::list(connector_type())).description(
                "The connectors: `id`, `display_name`, `availability` (`ga`, `beta`, `alpha` or \
             `deprecated`), `replacement` (for deprecated ones), `enabled_by_default`, \
             `default_app_display_name`, `permissions` (each with `name`, `app_role_id`, \
             `type` = `Role`, `why`, `data_opened`), `required_app_roles` (name to appRole \
             id), `graph_endpoints` and `extra_admin_steps`.",
            ),
        )
        .attribute(
            Attribute::computed("required_app_roles", Type::map(Type::String)).description(
                "The union of the returned connectors' Graph application permissions: name to \
             appRole id.",
            ),
        )
        .attribute(
            Attribute::computed("graph_app_id", Type::String).description(
                "The appId of Microsoft Graph, the resource application of every permission.",
            ),
        ),
    )
}

/// The connectors asked for, reporting each unknown id at its place in `ids`.
fn selected(config: &Value, diags: &mut Diagnostics) -> Vec<&'static Connector> {
    let Some(config) = crate::resources::common::decode::<Config>(config, "configuration", diags)
    else {
        return Vec::new();
    };
    let Attr::Known(ids) = config.ids else {
        return catalog::connectors().iter().collect();
    };
    let mut out: Vec<&'static Connector> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let Attr::Known(id) = id else { continue };
        match catalog::find(id) {
            Ok(c) if !out.iter().any(|seen| seen.id == c.id) => out.push(c),
            Ok(_) => {}
            Err(unknown) => diags.attribute_error(
                AttributePath::attr("ids").then_index(i as i64),
                "Unknown connector id",
                unknown.to_string(),
            ),
        }
    }
    out
}

fn spec(c: &Connector) -> ConnectorSpec {
    ConnectorSpec {
        id: c.id,
        display_name: c.display_name,
        availability: c.availability.as_str(),
        replacement: c.availability.replacement(),
        enabled_by_default: c.enabled_by_default,
        default_app_display_name: c.default_display_name(),
        permissions: c
            .permissions
            .iter()
            .map(|p| PermissionSpec {
                name: p.name,
                app_role_id: p.app_role_id,
                kind: Permission::RESOURCE_ACCESS_TYPE,
                why: p.why,
                data_opened: p.data_opened,
            })
            .collect(),
        required_app_roles: app_roles(&[c]),
        graph_endpoints: c.graph_endpoints.to_vec(),
        extra_admin_steps: c
            .extra_admin_steps
            .iter()
            .map(|s| AdminStep {
                id: s.id,
                title: s.title,
                role: s.role.name,
                role_template_id: s.role.template_id,
                summary: s.summary,
            })
            .collect(),
    }
}

fn app_roles(connectors: &[&Connector]) -> BTreeMap<String, String> {
    catalog::required_app_roles(connectors)
        .into_iter()
        .map(|(name, id)| (name.to_owned(), id.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ids: Option<&[&str]>) -> Value {
        Value::object([
            (
                "ids",
                ids.map_or(Value::Null, |ids| {
                    Value::list(ids.iter().map(|i| Value::string(*i)))
                }),
            ),
            ("connectors", Value::Null),
            ("required_app_roles", Value::Null),
            ("graph_app_id", Value::Null),
        ])
    }

    async fn read(ids: Option<&[&str]>) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::new();
        let v = ConnectorSpecs
            .read(&RequestContext::default(), &config(ids), &mut diags)
            .await;
        (v, diags)
    }

    #[tokio::test]
    async fn whole_catalog_by_default() {
        let (v, diags) = read(None).await;
        assert!(diags.is_empty());
        let list = v.get_attr("connectors").unwrap().as_list().unwrap();
        assert_eq!(list.len(), catalog::connectors().len());
        assert!(v.is_wholly_known());
        // The value must fit the schema's type exactly, or Terraform rejects it.
        let ty = ConnectorSpecs.schema().block.value_type();
        tfplugin::value::encode_msgpack(&v, &ty).unwrap();
    }

    #[tokio::test]
    async fn teams_has_its_permissions_and_policy_step() {
        let (v, _) = read(Some(&["msft-teams"])).await;
        let teams = &v.get_attr("connectors").unwrap().as_list().unwrap()[0];
        let roles = v.get_attr("required_app_roles").unwrap();
        assert_eq!(
            roles
                .get_attr("ChannelMessage.Read.All")
                .and_then(Value::as_str),
            Some("7b2449af-6ccd-4f4d-9f78-e550c193f0d1")
        );
        assert_eq!(
            teams
                .get_attr("permissions")
                .unwrap()
                .as_list()
                .unwrap()
                .len(),
            8
        );
        let steps = teams
            .get_attr("extra_admin_steps")
            .unwrap()
            .as_list()
            .unwrap();
        assert_eq!(
            steps[0].get_attr("role").and_then(Value::as_str),
            Some("Teams Administrator")
        );
    }

    #[tokio::test]
    async fn unknown_ids_point_at_their_element_with_a_suggestion() {
        let (_, diags) = read(Some(&["outlook-cal", "outlok-mail"])).await;
        assert_eq!(diags.0.len(), 1);
        let d = &diags.0[0];
        assert_eq!(d.attribute, Some(AttributePath::attr("ids").then_index(1)));
        assert!(
            d.detail.contains("Did you mean \"outlook-mail\"?"),
            "{}",
            d.detail
        );
        assert!(d.detail.contains("msft-entra-id"));
    }

    #[tokio::test]
    async fn deprecated_connectors_name_their_replacement() {
        let (v, _) = read(Some(&["azure-ad"])).await;
        let c = &v.get_attr("connectors").unwrap().as_list().unwrap()[0];
        assert_eq!(
            c.get_attr("availability").and_then(Value::as_str),
            Some("deprecated")
        );
        assert_eq!(
            c.get_attr("replacement").and_then(Value::as_str),
            Some("msft-entra-id")
        );
    }
}
