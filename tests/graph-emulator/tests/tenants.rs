//! Several tenants in one emulator: separate directories, tokens per tenant,
//! admin calls aimed with `tenant_id`, persistence of all of them.

mod common;

use common::*;
use graph_emulator::Config;
use serde_json::{Value, json};

const T2: &str = "22222222-2222-4222-8222-222222222222";
const T3: &str = "33333333-3333-4333-8333-333333333333";

async fn ci_token_in(emu: &Emu, tenant: &str) -> Res {
    emu.token_form(
        tenant,
        &format!("grant_type=client_credentials&client_id={CI_CLIENT}&client_secret={CI_SECRET}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
    )
    .await
}

#[tokio::test]
async fn objects_stay_in_their_tenant() {
    let emu = start_with(Config {
        extra_tenants: vec![T2.into()],
        ..Config::default()
    })
    .await;
    let home = emu.ci_token().await;
    let r = ci_token_in(&emu, T2).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t2 = r.json()["access_token"].as_str().unwrap().to_string();
    let org = emu.graph(&t2, "GET", "/organization", None).await.json();
    assert_eq!(org["value"][0]["id"], T2);

    // Seeded alike, created apart.
    let app = emu
        .create_app(&t2, json!({"displayName": "only-in-t2"}))
        .await;
    let id = app["id"].as_str().unwrap();
    assert_eq!(
        emu.graph(&t2, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        200
    );
    let r = emu
        .graph(&home, "GET", &format!("/applications/{id}"), None)
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    let r = emu
        .graph(
            &home,
            "PATCH",
            &format!("/applications/{id}"),
            Some(json!({"notes": "x"})),
        )
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    let list = emu
        .graph(
            &home,
            "GET",
            "/applications?$filter=displayName%20eq%20'only-in-t2'",
            None,
        )
        .await
        .json();
    assert_eq!(list["value"], json!([]));
    // Deleted in T2: in T2's deleted items only.
    assert_eq!(
        emu.graph(&t2, "DELETE", &format!("/applications/{id}"), None)
            .await
            .status,
        204
    );
    let del = "/directory/deletedItems/microsoft.graph.application";
    let in_t2 = emu.graph(&t2, "GET", del, None).await.json();
    assert_eq!(in_t2["value"].as_array().unwrap().len(), 1);
    let in_home = emu.graph(&home, "GET", del, None).await.json();
    assert_eq!(in_home["value"], json!([]));
    let r = emu
        .graph(&home, "GET", &format!("/directory/deletedItems/{id}"), None)
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");

    // The log names each request's tenant.
    let log = emu.admin("GET", "requests", None).await.json();
    let tenants: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["tenant"])
        .collect();
    assert_eq!(tenants[0], T2);
    assert_eq!(tenants[3], TENANT);

    // An unknown tenant at the token endpoint is Entra's 90002.
    let r = ci_token_in(&emu, T3).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error_codes"][0], 90002);
    emu.running.shutdown().await;
}

#[tokio::test]
async fn tenants_added_at_run_time_and_admin_calls_aimed_at_them() {
    let emu = start().await;
    let r = emu
        .admin("POST", "tenants", Some(json!({"tenant_id": T3})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["tenant_id"], T3);
    let r = emu
        .admin("POST", "tenants", Some(json!({"tenant_id": T3})))
        .await;
    assert_eq!(r.status, 200);
    let r = emu
        .admin("POST", "tenants", Some(json!({"tenant_id": "not-a-guid"})))
        .await;
    assert_eq!(r.status, 400);
    let list = emu.admin("GET", "tenants", None).await.json();
    assert_eq!(
        list,
        json!({"home_tenant": TENANT, "tenants": [TENANT, T3]})
    );

    // A token minted for T3 (the stand-in Azure CLI) is served from T3.
    let m = emu
        .admin(
            "POST",
            "tokens",
            Some(json!({"user": "app-admin@psoxy.test", "tenant_id": T3})),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(m.json()["tenant"], T3);
    let t3 = m.json()["access_token"].as_str().unwrap().to_string();
    let me = emu.graph(&t3, "GET", "/organization", None).await.json();
    assert_eq!(me["value"][0]["id"], T3);

    // Admin calls default to the home tenant and take `tenant_id` in body or query.
    let created = emu
        .admin(
            "POST",
            "applications",
            Some(json!({"displayName": "imported-t3", "tenant_id": T3})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        emu.graph(&t3, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        200
    );
    let home = emu.ci_token().await;
    assert_eq!(
        emu.graph(&home, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        404
    );
    let ids = emu
        .admin("GET", &format!("identities?tenant_id={T3}"), None)
        .await
        .json();
    assert_eq!(ids["tenant"], T3);
    let ids = emu.admin("GET", "identities", None).await.json();
    assert_eq!(ids["tenant"], TENANT);
    let st = emu
        .admin("GET", &format!("state?tenant_id={T3}"), None)
        .await
        .json();
    assert_eq!(st["tenant_id"], T3);
    let r = emu
        .admin("GET", &format!("identities?tenant_id={T2}"), None)
        .await;
    assert_eq!(r.status, 404);

    // A token that only claims a tenant (the older `tenant` field) is refused.
    let foreign = emu
        .admin(
            "POST",
            "tokens",
            Some(json!({"user": "app-admin@psoxy.test", "tenant": T2})),
        )
        .await
        .json();
    assert_eq!(foreign["tenant"], T2);
    let r = emu
        .graph(
            foreign["access_token"].as_str().unwrap(),
            "GET",
            "/organization",
            None,
        )
        .await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");

    // Reset re-seeds every tenant and keeps them.
    assert_eq!(emu.admin("POST", "reset", None).await.status, 204);
    assert_eq!(
        emu.graph(&t3, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        emu.graph(&t3, "GET", "/organization", None).await.status,
        200
    );
    emu.running.shutdown().await;
}

#[tokio::test]
async fn state_file_keeps_every_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        extra_tenants: vec![T2.into()],
        state_file: Some(dir.path().join("state.json")),
        ..Config::default()
    };
    let emu = start_with(config.clone()).await;
    let t2 = ci_token_in(&emu, T2).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let app = emu.create_app(&t2, json!({"displayName": "kept"})).await;
    let id = app["id"].as_str().unwrap().to_string();
    let added = emu
        .admin("POST", "tenants", Some(json!({"tenant_id": T3})))
        .await;
    assert_eq!(added.status, 201);
    emu.running.shutdown().await;

    let emu = start_with(config).await;
    // The token from before the restart still verifies against T2's kept key.
    assert_eq!(
        emu.graph(&t2, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        200
    );
    let list = emu.admin("GET", "tenants", None).await.json();
    assert_eq!(list["tenants"], json!([TENANT, T2, T3]));
    emu.running.shutdown().await;
}
