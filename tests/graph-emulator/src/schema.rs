//! Graph's published contract for the entities the emulator serves, read from
//! Microsoft's v1.0 CSDL metadata (`metadata/graph-v1.0-entities.json`, embedded
//! at build time): which properties each entity has and of what type, so that
//! every object carries every property, `$select` accepts exactly these, and
//! request bodies are checked for undeclared properties, types and enums.
//!
//! The CSDL does not say which properties are read-only; [`read_only`] lists
//! those from the entities' reference pages.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;
use serde_json::{Map, Value};

use crate::errors::{GResult, GraphError};

pub const METADATA: &str = include_str!("../metadata/graph-v1.0-entities.json");

#[derive(Debug, Clone)]
pub struct Prop {
    pub name: String,
    /// `Edm.String`, `Collection(keyCredential)`, `apiApplication`, …
    pub ty: String,
    pub nullable: bool,
}

#[derive(Debug, Clone)]
pub struct EntityType {
    pub name: String,
    /// Own and inherited structural properties, base types' first.
    pub properties: Vec<Prop>,
    pub navigation: Vec<String>,
}

impl EntityType {
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.properties.iter().find(|p| p.name == name)
    }
    /// Case-insensitive lookup (for `$select`), giving the declared spelling.
    pub fn find(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .map(|p| p.name.as_str())
            .chain(self.navigation.iter().map(String::as_str))
            .find(|p| p.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug)]
pub struct Schema {
    entities: HashMap<String, EntityType>,
    complex: HashMap<String, Vec<Prop>>,
    enums: HashMap<String, Vec<String>>,
}

fn props(v: &Value) -> Vec<Prop> {
    v.get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| Prop {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            ty: p["type"].as_str().unwrap_or_default().to_string(),
            nullable: p["nullable"].as_bool().unwrap_or(true),
        })
        .collect()
}

impl Schema {
    fn parse(raw: &str) -> Schema {
        let v: Value = serde_json::from_str(raw).expect("embedded Graph metadata is JSON");
        let obj = |k: &str| v[k].as_object().cloned().unwrap_or_default();
        let raw_entities = obj("entityTypes");
        let mut entities = HashMap::new();
        for name in raw_entities.keys() {
            // Walk up the base chain, then list base properties first.
            let mut chain = vec![name.clone()];
            while let Some(base) = raw_entities
                .get(chain.last().expect("non-empty"))
                .and_then(|e| e["base"].as_str())
            {
                chain.push(base.to_string());
            }
            let mut properties = Vec::new();
            let mut navigation = Vec::new();
            for t in chain.iter().rev() {
                let e = &raw_entities[t];
                properties.extend(props(e));
                navigation.extend(
                    e["navigationProperties"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n["name"].as_str().map(str::to_string)),
                );
            }
            entities.insert(
                name.clone(),
                EntityType {
                    name: name.clone(),
                    properties,
                    navigation,
                },
            );
        }
        let complex = obj("complexTypes")
            .iter()
            .map(|(k, v)| (k.clone(), props(v)))
            .collect();
        let enums = obj("enumTypes")
            .iter()
            .map(|(k, v)| {
                let members = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str().map(str::to_string))
                    .collect();
                (k.clone(), members)
            })
            .collect();
        Schema {
            entities,
            complex,
            enums,
        }
    }

    /// An entity type of the metadata (`application`, `servicePrincipal`, …).
    pub fn entity(&self, name: &str) -> &EntityType {
        self.entities
            .get(name)
            .unwrap_or_else(|| panic!("entity type {name} is not in the embedded metadata"))
    }

    /// What Graph returns for a property that has no value: `[]` for collections,
    /// `null` when nullable, else the type's zero (`false`, `0`,
    /// `0001-01-01T00:00:00Z`, as Graph shows an unset `birthday`).
    pub fn default_for(&self, p: &Prop) -> Value {
        if p.ty.starts_with("Collection(") {
            return Value::Array(Vec::new());
        }
        if p.nullable {
            return Value::Null;
        }
        match p.ty.as_str() {
            "Edm.Boolean" => Value::Bool(false),
            "Edm.Int32" | "Edm.Int64" => Value::from(0),
            "Edm.DateTimeOffset" => Value::from("0001-01-01T00:00:00Z"),
            _ => Value::Null,
        }
    }

    /// Adds every property the object lacks, with its default (streams are
    /// never part of an entity's JSON).
    pub fn complete(&self, entity: &str, data: &mut Map<String, Value>) {
        for p in &self.entity(entity).properties {
            if p.ty != "Edm.Stream" && !data.contains_key(&p.name) {
                data.insert(p.name.clone(), self.default_for(p));
            }
        }
    }

    /// Checks a value against a declared type; `Err` names what is wrong.
    fn check(&self, ty: &str, nullable: bool, v: &Value, path: &str) -> Result<(), Bad> {
        if v.is_null() {
            return if nullable {
                Ok(())
            } else {
                Err(Bad::Invalid(path.into()))
            };
        }
        let invalid = || Err(Bad::Invalid(path.into()));
        if let Some(inner) = ty
            .strip_prefix("Collection(")
            .and_then(|t| t.strip_suffix(')'))
        {
            let Some(items) = v.as_array() else {
                return invalid();
            };
            for it in items {
                self.check(inner, false, it, path)?;
            }
            return Ok(());
        }
        let ok = match ty {
            "Edm.String" => v.is_string(),
            "Edm.Boolean" => v.is_boolean(),
            "Edm.Int32" => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            "Edm.Int64" => v.is_i64(),
            "Edm.Double" => v.is_number(),
            "Edm.Guid" => v.as_str().is_some_and(crate::util::is_guid),
            "Edm.DateTimeOffset" => v.as_str().is_some_and(is_datetime),
            "Edm.Binary" => v.as_str().is_some_and(|s| {
                let e = base64::engine::general_purpose::STANDARD;
                let np = base64::engine::general_purpose::STANDARD_NO_PAD;
                e.decode(s).is_ok() || np.decode(s).is_ok()
            }),
            // Streams are written through their own endpoint, never in JSON.
            "Edm.Stream" => false,
            other => {
                if let Some(members) = self.enums.get(other) {
                    v.as_str().is_some_and(|s| members.iter().any(|m| m == s))
                } else if let Some(fields) = self.complex.get(other) {
                    let Some(m) = v.as_object() else {
                        return invalid();
                    };
                    for (k, x) in m {
                        if k == "@odata.type" {
                            continue;
                        }
                        let Some(f) = fields.iter().find(|f| &f.name == k) else {
                            return Err(Bad::Undeclared {
                                ty: other.to_string(),
                                prop: k.clone(),
                            });
                        };
                        self.check(&f.ty, f.nullable, x, &format!("{path}.{k}"))?;
                    }
                    true
                } else {
                    // A type the reduced metadata does not describe: not checked.
                    true
                }
            }
        };
        if ok { Ok(()) } else { invalid() }
    }

    /// Graph's checks of a POST (`create`) or PATCH body for `entity`:
    /// `@odata.type` must name the entity's own type; `{nav}@odata.bind` only at
    /// create, for [`bindable`] navigations; other instance annotations are
    /// ignored; every other key must be a declared, writable property (on PATCH
    /// not a [`create_only`] one) whose value has the declared type.
    pub fn check_body(
        &self,
        entity: &str,
        label: &str,
        body: &Map<String, Value>,
        create: bool,
    ) -> GResult<()> {
        let et = self.entity(entity);
        let ro = read_only(entity);
        let binds = if create { bindable(entity) } else { &[] };
        for (k, v) in body {
            if k == "@odata.type" {
                let named = v.as_str().unwrap_or_default().trim_start_matches('#');
                let own = format!("microsoft.graph.{entity}");
                if !named.eq_ignore_ascii_case(&own) {
                    return Err(GraphError::new(
                        400,
                        "BadRequest",
                        format!(
                            "A resource of type '{named}' was found, but it is not assignable to the expected type '{own}'."
                        ),
                    ));
                }
                continue;
            }
            if let Some(nav) = k.strip_suffix("@odata.bind") {
                if binds.contains(&nav) {
                    continue;
                }
                return Err(undeclared(k));
            }
            if k.starts_with('@') || k.contains("@odata.") {
                continue;
            }
            let Some(p) = et.prop(k) else {
                return Err(undeclared(k));
            };
            if ro.contains(&k.as_str())
                || p.ty == "Edm.Stream"
                || (!create && create_only(entity).contains(&k.as_str()))
            {
                return Err(GraphError::bad_request(format!(
                    "Property '{k}' is read-only and cannot be set."
                )));
            }
            match self.check(&p.ty, p.nullable, v, k) {
                Ok(()) => {}
                Err(Bad::Invalid(path)) => return Err(GraphError::invalid_value(&path, label)),
                Err(Bad::Undeclared { ty, prop }) => {
                    return Err(GraphError::new(
                        400,
                        "BadRequest",
                        format!(
                            "The property '{prop}' does not exist on type 'microsoft.graph.{ty}'. Make sure to only use property names that are defined by the type."
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

enum Bad {
    Invalid(String),
    Undeclared { ty: String, prop: String },
}

fn undeclared(k: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Property '{k}' does not exist as a declared property or extension property."
    ))
}

/// `2030-01-01` or `2030-01-01T00:00:00Z` and longer ISO 8601 forms.
fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && (b.len() == 10 || b.get(10) == Some(&b'T'))
}

/// Properties a client cannot set, per the entities' Graph reference pages
/// (application, servicePrincipal, federatedIdentityCredential, appRoleAssignment
/// "Properties" tables: "Read-only", or set only through another API).
pub fn read_only(entity: &str) -> &'static [&'static str] {
    match entity {
        "application" => &[
            "id",
            "deletedDateTime",
            "appId",
            "applicationTemplateId",
            "createdByAppId",
            "createdDateTime",
            "disabledByMicrosoftStatus",
            "publisherDomain",
            // Set through setVerifiedPublisher.
            "verifiedPublisher",
            // Set through addPassword (the application route explains so).
            "passwordCredentials",
        ],
        "servicePrincipal" => &[
            "id",
            "deletedDateTime",
            "appDisplayName",
            "appOwnerOrganizationId",
            "applicationTemplateId",
            "createdByAppId",
            "disabledByMicrosoftStatus",
            "resourceSpecificApplicationPermissions",
            "servicePrincipalType",
            "signInAudience",
            "verifiedPublisher",
            // Set through addPassword.
            "passwordCredentials",
        ],
        "federatedIdentityCredential" => &["id"],
        "appRoleAssignment" => &[
            "id",
            "deletedDateTime",
            "createdDateTime",
            "principalDisplayName",
            "principalType",
            "resourceDisplayName",
        ],
        _ => &["id", "deletedDateTime"],
    }
}

/// Properties set at creation and immutable afterwards.
pub fn create_only(entity: &str) -> &'static [&'static str] {
    match entity {
        "servicePrincipal" => &["appId"],
        "application" => &["uniqueName"],
        _ => &[],
    }
}

/// Navigation properties a create body may bind (`owners@odata.bind`).
pub fn bindable(entity: &str) -> &'static [&'static str] {
    match entity {
        "application" | "servicePrincipal" => &["owners"],
        _ => &[],
    }
}

pub fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| Schema::parse(METADATA))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entities_inherit_and_default() {
        let app = schema().entity("application");
        assert_eq!(app.properties[0].name, "id");
        assert_eq!(app.properties[1].name, "deletedDateTime");
        assert!(app.prop("oauth2RequirePostResponse").is_some());
        assert!(app.navigation.iter().any(|n| n == "owners"));
        assert_eq!(app.find("DISPLAYNAME"), Some("displayName"));
        let mut m = Map::new();
        schema().complete("application", &mut m);
        assert_eq!(m["oauth2RequirePostResponse"], json!(false));
        assert_eq!(m["tags"], json!([]));
        assert_eq!(m["description"], Value::Null);
        assert!(!m.contains_key("logo"), "streams are not in the JSON");
    }

    #[test]
    fn bodies_are_checked_against_the_contract() {
        let s = schema();
        let ok = |b: Value| {
            s.check_body(
                "servicePrincipal",
                "ServicePrincipal",
                b.as_object().unwrap(),
                true,
            )
        };
        assert!(
            ok(json!({"samlSingleSignOnSettings": {"relayState": "x"}, "accountEnabled": false}))
                .is_ok()
        );
        assert!(
            ok(
                json!({"@odata.type": "#microsoft.graph.servicePrincipal", "owners@odata.bind": []})
            )
            .is_ok()
        );
        let e = ok(json!({"samlSingleSignOnSettings": {"nope": 1}})).unwrap_err();
        assert!(
            e.message
                .contains("does not exist on type 'microsoft.graph.samlSingleSignOnSettings'"),
            "{}",
            e.message
        );
        let e = ok(json!({"accountEnabled": "yes"})).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value specified for property 'accountEnabled' of resource 'ServicePrincipal'."
        );
        assert!(ok(json!({"@odata.type": "#microsoft.graph.user"})).is_err());
        assert!(ok(json!({"appOwners@odata.bind": []})).is_err());
        let patch = |b: Value| {
            s.check_body(
                "servicePrincipal",
                "ServicePrincipal",
                b.as_object().unwrap(),
                false,
            )
        };
        assert!(
            patch(json!({"owners@odata.bind": []})).is_err(),
            "binds only at create"
        );
        assert!(
            patch(json!({"appId": "x"}))
                .unwrap_err()
                .message
                .contains("read-only")
        );
        assert!(
            ok(json!({"notAProperty": 1}))
                .unwrap_err()
                .message
                .contains("does not exist as a declared property")
        );
        assert!(
            ok(json!({"servicePrincipalType": "Application"}))
                .unwrap_err()
                .message
                .contains("read-only")
        );
        let app =
            |b: Value| s.check_body("application", "Application", b.as_object().unwrap(), false);
        assert!(app(json!({"nativeAuthenticationApisEnabled": "all"})).is_ok());
        assert!(app(json!({"nativeAuthenticationApisEnabled": "some"})).is_err());
        assert!(app(json!({"api": {"requestedAccessTokenVersion": 2, "knownClientApplications": ["00000000-0000-4000-8000-000000000001"]}})).is_ok());
        assert!(app(json!({"api": {"knownClientApplications": ["not-a-guid"]}})).is_err());
        assert!(app(json!({"tags": null})).is_err(), "not nullable");
        assert!(
            app(json!({"keyCredentials": [{"key": "not base64!", "type": "AsymmetricX509Cert"}]}))
                .is_err()
        );
        assert!(app(json!({"certification": {"certificationExpirationDateTime": "2030-01-01T00:00:00Z"}})).is_ok());
        assert!(
            app(json!({"certification": {"certificationExpirationDateTime": "soon"}})).is_err()
        );
    }
}
