//! The emulator against Graph's published v1.0 metadata, property by property:
//! every property is returned with a value of its declared kind, `$select`
//! takes every property and navigation property, POST and PATCH take every
//! writable property and refuse wrong types, and read-only ones are refused.
//! The metadata is read here on its own (not through the emulator's schema
//! module), so the two cannot drift apart unnoticed.

mod common;

use common::*;
use serde_json::{Map, Value, json};

const META: &str = include_str!("../metadata/graph-v1.0-entities.json");

struct Meta(Value);

#[derive(Clone, Debug)]
struct P {
    name: String,
    ty: String,
    nullable: bool,
}

impl Meta {
    fn load() -> Meta {
        Meta(serde_json::from_str(META).unwrap())
    }
    fn list(v: &Value, key: &str) -> Vec<P> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| P {
                name: p["name"].as_str().unwrap().into(),
                ty: p["type"].as_str().unwrap().into(),
                nullable: p["nullable"].as_bool().unwrap_or(true),
            })
            .collect()
    }
    /// Own and inherited properties (`key` = properties / navigationProperties).
    fn of(&self, entity: &str, key: &str) -> Vec<P> {
        let mut out = Vec::new();
        let mut cur = Some(entity.to_string());
        while let Some(e) = cur {
            let t = &self.0["entityTypes"][&e];
            assert!(t.is_object(), "{e} in metadata");
            out.extend(Self::list(t, key));
            cur = t["base"].as_str().map(str::to_string);
        }
        out
    }
    fn complex(&self, ty: &str) -> Option<Vec<P>> {
        let t = &self.0["complexTypes"][ty];
        t.is_object().then(|| Self::list(t, "properties"))
    }
    fn enum_members(&self, ty: &str) -> Option<Vec<String>> {
        self.0["enumTypes"][ty]
            .as_array()
            .map(|a| a.iter().map(|m| m.as_str().unwrap().to_string()).collect())
    }
    fn known(&self, ty: &str) -> bool {
        ty.starts_with("Edm.")
            || self.complex(ty).is_some()
            || self.enum_members(ty).is_some()
            || ty
                .strip_prefix("Collection(")
                .and_then(|t| t.strip_suffix(')'))
                .is_some_and(|t| self.known(t))
    }

    /// Whether a returned value has the declared type's JSON kind.
    fn kind_ok(&self, p: &P, v: &Value) -> bool {
        if let Some(inner) =
            p.ty.strip_prefix("Collection(")
                .and_then(|t| t.strip_suffix(')'))
        {
            return v.as_array().is_some_and(|a| {
                a.iter().all(|x| {
                    self.kind_ok(
                        &P {
                            ty: inner.into(),
                            nullable: false,
                            ..p.clone()
                        },
                        x,
                    )
                })
            });
        }
        if v.is_null() {
            return p.nullable;
        }
        match p.ty.as_str() {
            "Edm.Boolean" => v.is_boolean(),
            "Edm.Int32" | "Edm.Int64" => v.is_i64(),
            "Edm.String" | "Edm.Guid" | "Edm.DateTimeOffset" | "Edm.Binary" => v.is_string(),
            t if self.complex(t).is_some() => v.is_object(),
            t if self.enum_members(t).is_some() => v.is_string(),
            _ => true,
        }
    }

    /// A valid value of a declared type (one element per primitive collection;
    /// complex collections stay empty, their own rules are tested elsewhere).
    fn sample(&self, ty: &str) -> Value {
        if let Some(inner) = ty
            .strip_prefix("Collection(")
            .and_then(|t| t.strip_suffix(')'))
        {
            return if inner.starts_with("Edm.") {
                json!([self.sample(inner)])
            } else {
                json!([])
            };
        }
        match ty {
            "Edm.String" => json!("sample"),
            "Edm.Boolean" => json!(true),
            "Edm.Int32" | "Edm.Int64" => json!(2),
            "Edm.Guid" => json!(uuid::Uuid::new_v4().to_string()),
            "Edm.DateTimeOffset" => json!("2030-01-01T00:00:00Z"),
            "Edm.Binary" => json!("AAEC"),
            t => {
                if let Some(m) = self.enum_members(t) {
                    json!(m[0])
                } else if let Some(fields) = self.complex(t) {
                    let mut o = Map::new();
                    for f in fields {
                        o.insert(f.name.clone(), self.sample(&f.ty));
                    }
                    Value::Object(o)
                } else {
                    Value::Null
                }
            }
        }
    }

    /// A value of the wrong JSON kind (or out of the enum) for a declared type.
    fn wrong(&self, ty: &str) -> Value {
        if ty.starts_with("Collection(") {
            return json!("not a collection");
        }
        match ty {
            "Edm.String" => json!(12345),
            "Edm.Boolean" => json!("yes"),
            "Edm.Int32" | "Edm.Int64" => json!("two"),
            "Edm.Guid" => json!("not-a-guid"),
            "Edm.DateTimeOffset" => json!("tomorrow"),
            "Edm.Binary" => json!("*not base64*"),
            t if self.enum_members(t).is_some() => json!("notAMember"),
            _ => json!(42),
        }
    }
}

/// Samples the emulator's own validation would refuse for reasons the metadata
/// does not carry (documented values, URL shapes, uniqueness, immutability).
fn override_sample(entity: &str, prop: &str, fic_name: &str) -> Option<Value> {
    Some(match (entity, prop) {
        ("application", "signInAudience") => json!("AzureADMyOrg"),
        ("application", "identifierUris") => json!([format!("api://{}", uuid::Uuid::new_v4())]),
        ("federatedIdentityCredential", "issuer") => json!("https://issuer.example/x"),
        ("federatedIdentityCredential", "audiences") => json!(["api://AzureADTokenExchange"]),
        ("federatedIdentityCredential", "name") => json!(fic_name),
        ("federatedIdentityCredential", "subject") => {
            json!(format!("subject-{}", uuid::Uuid::new_v4()))
        }
        _ => return None,
    })
}

fn writable(meta: &Meta, entity: &str) -> Vec<P> {
    let ro = graph_emulator::schema::read_only(entity);
    meta.of(entity, "properties")
        .into_iter()
        .filter(|p| !ro.contains(&p.name.as_str()) && p.ty != "Edm.Stream" && meta.known(&p.ty))
        .collect()
}

/// Every declared property is there, with a value of its kind.
fn assert_complete(meta: &Meta, entity: &str, obj: &Value) {
    for p in meta.of(entity, "properties") {
        if p.ty == "Edm.Stream" {
            assert!(
                obj.get(&p.name).is_none(),
                "{entity}.{} is a stream",
                p.name
            );
            continue;
        }
        let v = obj
            .get(&p.name)
            .unwrap_or_else(|| panic!("{entity}.{} missing from {obj}", p.name));
        assert!(
            meta.kind_ok(&p, v),
            "{entity}.{}: {v} is not a {}",
            p.name,
            p.ty
        );
    }
}

/// `$select` of each property and navigation property is accepted; a name the
/// metadata does not declare is refused on v1.0.
async fn assert_selectable(emu: &Emu, t: &str, meta: &Meta, entity: &str, path: &str) {
    for p in meta.of(entity, "properties") {
        let r = emu
            .graph(t, "GET", &format!("{path}?$select={}", p.name), None)
            .await;
        assert_eq!(r.status, 200, "$select={} on {entity}: {}", p.name, r.body);
        if p.ty != "Edm.Stream" {
            assert!(
                r.json().get(&p.name).is_some(),
                "{entity}.{} selected",
                p.name
            );
        }
    }
    for n in meta.of(entity, "navigationProperties") {
        let r = emu
            .graph(t, "GET", &format!("{path}?$select={}", n.name), None)
            .await;
        assert_eq!(r.status, 200, "$select={} on {entity}: {}", n.name, r.body);
    }
    let r = emu
        .graph(
            t,
            "GET",
            &format!("{path}?$select=notDeclaredAnywhere"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.message()
            .contains("Could not find a property named 'notDeclaredAnywhere'")
    );
}

/// PATCH: every writable property with a valid value → 204, with a wrong type → 400;
/// every read-only property → 400.
async fn assert_patchable(
    emu: &Emu,
    t: &str,
    meta: &Meta,
    entity: &str,
    path: &str,
    fic_name: &str,
) {
    let create_only = graph_emulator::schema::create_only(entity);
    for p in writable(meta, entity) {
        if create_only.contains(&p.name.as_str()) {
            let r = emu
                .graph(
                    t,
                    "PATCH",
                    path,
                    Some(json!({ &p.name: meta.sample(&p.ty) })),
                )
                .await;
            assert_eq!(r.status, 400, "{entity}.{} is set at create only", p.name);
            continue;
        }
        let good = override_sample(entity, &p.name, fic_name).unwrap_or_else(|| meta.sample(&p.ty));
        let r = emu
            .graph(t, "PATCH", path, Some(json!({ &p.name: good })))
            .await;
        assert_eq!(
            r.status, 204,
            "PATCH {entity}.{} = {good}: {}",
            p.name, r.body
        );
        let bad = meta.wrong(&p.ty);
        let r = emu
            .graph(t, "PATCH", path, Some(json!({ &p.name: bad })))
            .await;
        assert_eq!(
            r.status, 400,
            "PATCH {entity}.{} = {bad} must be refused",
            p.name
        );
    }
    for name in graph_emulator::schema::read_only(entity) {
        let r = emu
            .graph(t, "PATCH", path, Some(json!({ *name: "x" })))
            .await;
        assert_eq!(r.status, 400, "PATCH read-only {entity}.{name}: {}", r.body);
    }
    let r = emu
        .graph(t, "PATCH", path, Some(json!({"notDeclaredAnywhere": 1})))
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.message()
            .contains("does not exist as a declared property"),
        "{}",
        r.body
    );
}

/// A create body with every writable property of `entity`.
fn full_body(meta: &Meta, entity: &str, fic_name: &str) -> Map<String, Value> {
    let mut b = Map::new();
    for p in writable(meta, entity) {
        let v = override_sample(entity, &p.name, fic_name).unwrap_or_else(|| meta.sample(&p.ty));
        b.insert(p.name, v);
    }
    b
}

#[tokio::test]
async fn applications_and_service_principals_follow_the_metadata() {
    let meta = Meta::load();
    let emu = start().await;
    let t = emu.ci_token().await;

    // POST with every writable property, then the object has every property.
    let mut body = full_body(&meta, "application", "");
    body.insert("displayName".into(), json!("conformance"));
    body.insert("@odata.type".into(), json!("#microsoft.graph.application"));
    let r = emu
        .graph(&t, "POST", "/applications", Some(Value::Object(body)))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let app = r.json();
    assert_complete(&meta, "application", &app);
    assert_eq!(
        app["oauth2RequirePostResponse"], true,
        "the value sent is kept"
    );
    let (id, app_id) = (
        app["id"].as_str().unwrap().to_string(),
        app["appId"].as_str().unwrap().to_string(),
    );
    let path = format!("/applications/{id}");
    assert_complete(
        &meta,
        "application",
        &emu.graph(&t, "GET", &path, None).await.json(),
    );
    let list = emu.graph(&t, "GET", "/applications", None).await.json();
    for a in list["value"].as_array().unwrap() {
        assert_complete(&meta, "application", a);
    }
    assert_selectable(&emu, &t, &meta, "application", &path).await;
    assert_patchable(&emu, &t, &meta, "application", &path, "").await;

    let mut body = full_body(&meta, "servicePrincipal", "");
    body.insert("appId".into(), json!(app_id));
    let r = emu
        .graph(&t, "POST", "/servicePrincipals", Some(Value::Object(body)))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp = r.json();
    assert_complete(&meta, "servicePrincipal", &sp);
    let sp_path = format!("/servicePrincipals/{}", sp["id"].as_str().unwrap());
    assert_complete(
        &meta,
        "servicePrincipal",
        &emu.graph(&t, "GET", &sp_path, None).await.json(),
    );
    assert_selectable(&emu, &t, &meta, "servicePrincipal", &sp_path).await;
    assert_patchable(&emu, &t, &meta, "servicePrincipal", &sp_path, "").await;
    // The seeded Graph service principal too.
    let gsp = emu
        .graph(&t, "GET", &format!("/servicePrincipals/{GRAPH_SP}"), None)
        .await
        .json();
    assert_complete(&meta, "servicePrincipal", &gsp);

    // Federated identity credentials.
    let name = "conformance-fic";
    let body = full_body(&meta, "federatedIdentityCredential", name);
    let fics = format!("{path}/federatedIdentityCredentials");
    let r = emu
        .graph(&t, "POST", &fics, Some(Value::Object(body)))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_complete(&meta, "federatedIdentityCredential", &r.json());
    let fic_path = format!("{fics}/{}", r.json()["id"].as_str().unwrap());
    assert_complete(
        &meta,
        "federatedIdentityCredential",
        &emu.graph(&t, "GET", &fic_path, None).await.json(),
    );
    assert_selectable(&emu, &t, &meta, "federatedIdentityCredential", &fic_path).await;
    assert_patchable(
        &emu,
        &t,
        &meta,
        "federatedIdentityCredential",
        &fic_path,
        name,
    )
    .await;
    emu.running.shutdown().await;
}

#[tokio::test]
async fn assignments_organization_and_users_follow_the_metadata() {
    let meta = Meta::load();
    let emu = start().await;
    let t = emu.user_token("consent-admin@psoxy.test").await;
    let ci_sp = "00000000-0000-4000-8000-00000000c201";
    let r = emu
        .graph(
            &t,
            "POST",
            &format!("/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
            Some(json!({"principalId": ci_sp, "resourceId": GRAPH_SP, "appRoleId": USER_READ_ALL})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_complete(&meta, "appRoleAssignment", &r.json());
    let a_path = format!(
        "/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo/{}",
        r.json()["id"].as_str().unwrap()
    );
    assert_complete(
        &meta,
        "appRoleAssignment",
        &emu.graph(&t, "GET", &a_path, None).await.json(),
    );
    assert_selectable(&emu, &t, &meta, "appRoleAssignment", &a_path).await;
    let r = emu
        .graph(&t, "GET", &format!("/servicePrincipals/{ci_sp}/appRoleAssignments?$select=principalType,resourceDisplayName"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["value"][0]["principalType"], "ServicePrincipal");
    // Read-only properties of an assignment are refused at create.
    let r = emu
        .graph(
            &t,
            "POST",
            &format!("/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
            Some(json!({"principalId": ci_sp, "resourceId": GRAPH_SP, "appRoleId": GROUP_READ_ALL, "principalType": "User"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    let org = emu
        .graph(&t, "GET", &format!("/organization/{TENANT}"), None)
        .await
        .json();
    assert_complete(&meta, "organization", &org);
    assert_selectable(
        &emu,
        &t,
        &meta,
        "organization",
        &format!("/organization/{TENANT}"),
    )
    .await;
    // Users: Graph's default set, and every declared property through $select.
    assert_selectable(&emu, &t, &meta, "user", "/users/owner@psoxy.test").await;
    emu.running.shutdown().await;
}
