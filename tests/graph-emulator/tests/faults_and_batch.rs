//! Seeded faults (429 + Retry-After, 503/504), the eventual-consistency
//! window, NoBackingApplicationObject, `$batch`, and the request log.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn throttling_is_seeded_and_graph_shaped() {
    let emu = start().await;
    let t = emu.ci_token().await;
    emu.set_faults(json!({"throttle_every_n": 3, "retry_after_secs": 7}))
        .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = emu.graph(&t, "GET", "/applications?$top=1", None).await;
        if r.status == 429 {
            assert_graph_error(&r, 429, "TooManyRequests");
            assert_eq!(r.header("retry-after"), Some("7"));
            assert!(
                r.header("x-ms-throttle-scope")
                    .unwrap()
                    .starts_with("Tenant_Application/ReadWrite/")
            );
            assert_eq!(
                r.header("x-ms-throttle-information"),
                Some("ResourceUnitLimitExceeded")
            );
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, vec![200, 200, 429, 200, 200, 429]);
    // The token endpoint and the admin side are not affected.
    for _ in 0..4 {
        emu.ci_token().await;
        assert_eq!(emu.admin("GET", "faults", None).await.status, 200);
    }

    // Probability-based faults repeat exactly for the same seed.
    let run = |seed: u64| {
        let emu = &emu;
        let t = t.clone();
        async move {
            emu.set_faults(json!({"throttle_every_n": 0, "throttle_probability": 0.3, "unavailable_probability": 0.3, "seed": seed})).await;
            let mut out = Vec::new();
            for _ in 0..20 {
                out.push(emu.graph(&t, "GET", "/organization", None).await.status);
            }
            out
        }
    };
    let a = run(11).await;
    let b = run(11).await;
    assert_eq!(a, b);
    assert!(a.contains(&429) && a.contains(&200));
    assert!(a.iter().any(|s| *s == 503 || *s == 504), "{a:?}");
    let c = run(12).await;
    assert_ne!(a, c);

    // Latency is added per request.
    emu.set_faults(
        json!({"throttle_probability": 0.0, "unavailable_probability": 0.0, "latency_ms": 150}),
    )
    .await;
    let start = std::time::Instant::now();
    assert_eq!(
        emu.graph(&t, "GET", "/organization", None).await.status,
        200
    );
    assert!(start.elapsed() >= std::time::Duration::from_millis(150));
    emu.running.shutdown().await;
}

#[tokio::test]
async fn consistency_window_and_backing_application() {
    let emu = start().await;
    let t = emu.ci_token().await;
    emu.set_faults(json!({"consistency_reads": 2, "sp_backing_app_delay_reads": 2}))
        .await;
    let app = emu.create_app(&t, json!({"displayName": "lagging"})).await;
    let (id, app_id) = (app["id"].as_str().unwrap(), app["appId"].as_str().unwrap());
    // Two reads/PATCHes miss it, then it is there.
    let r = emu
        .graph(&t, "GET", &format!("/applications/{id}"), None)
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    let r = emu
        .graph(
            &t,
            "PATCH",
            &format!("/applications/{id}"),
            Some(json!({"notes": "x"})),
        )
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    assert_eq!(
        emu.graph(&t, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        200
    );
    // SP POST right after the app fails twice like Graph does.
    for _ in 0..2 {
        let r = emu
            .graph(
                &t,
                "POST",
                "/servicePrincipals",
                Some(json!({"appId": app_id})),
            )
            .await;
        assert_graph_error(&r, 400, "Request_BadRequest");
        assert_eq!(
            r.json()["error"]["details"][0]["code"],
            "NoBackingApplicationObject"
        );
        assert_eq!(r.json()["error"]["details"][0]["target"], "appId");
    }
    let r = emu
        .graph(
            &t,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Time-based window: hidden from direct reads and lists until it passes.
    emu.set_faults(json!({"consistency_reads": 0, "consistency_delay_ms": 300, "sp_backing_app_delay_reads": 0})).await;
    let app = emu
        .create_app(&t, json!({"displayName": "lagging-time"}))
        .await;
    let app_id = app["appId"].as_str().unwrap();
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/applications?$filter=appId%20eq%20'{app_id}'"),
            None,
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 0);
    assert_eq!(
        emu.graph(&t, "GET", &format!("/applications(appId='{app_id}')"), None)
            .await
            .status,
        404
    );
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert_eq!(
        emu.graph(&t, "GET", &format!("/applications(appId='{app_id}')"), None)
            .await
            .status,
        200
    );
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/applications?$filter=appId%20eq%20'{app_id}'"),
            None,
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);

    // Sub-resource access only lags when asked to.
    emu.set_faults(json!({"consistency_delay_ms": 0, "consistency_reads": 1, "consistency_subresources": true})).await;
    let app = emu
        .create_app(&t, json!({"displayName": "lagging-sub"}))
        .await;
    let id = app["id"].as_str().unwrap();
    let r = emu
        .graph(&t, "GET", &format!("/applications/{id}/owners"), None)
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    assert_eq!(
        emu.graph(&t, "GET", &format!("/applications/{id}/owners"), None)
            .await
            .status,
        200
    );
    emu.running.shutdown().await;
}

#[tokio::test]
async fn batch_with_dependencies_and_faults() {
    let emu = start().await;
    let t = emu.ci_token().await;
    let app = emu
        .create_app(&t, json!({"displayName": "batch target"}))
        .await;
    let id = app["id"].as_str().unwrap();
    emu.admin("DELETE", "requests", None).await;
    let missing = "77777777-7777-4777-8777-777777777777";
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/applications/{id}?$select=id,displayName")},
        {"id": "2", "method": "PATCH", "url": format!("/applications/{id}"), "headers": {"Content-Type": "application/json"}, "body": {"notes": "from batch"}, "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": format!("/applications/{missing}")},
        {"id": "4", "method": "GET", "url": "/organization", "dependsOn": ["3"]},
        {"id": "5", "method": "POST", "url": "applications", "headers": {"Content-Type": "application/json"}, "body": {"displayName": "made in batch"}},
        {"id": "6", "method": "GET", "url": "/me"}
    ]});
    let r = emu.graph(&t, "POST", "/$batch", Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let responses = r.json()["responses"].as_array().unwrap().clone();
    let by = |i: &str| responses.iter().find(|x| x["id"] == i).unwrap().clone();
    assert_eq!(by("1")["status"], 200);
    assert_eq!(by("1")["body"]["displayName"], "batch target");
    assert!(
        by("1")["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(by("2")["status"], 204);
    assert!(by("2").get("body").is_none());
    assert_eq!(by("3")["status"], 404);
    assert_eq!(by("3")["body"]["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(by("4")["status"], 424);
    assert_eq!(by("5")["status"], 201);
    assert_eq!(by("6")["status"], 400);
    assert_eq!(
        emu.graph(&t, "GET", &format!("/applications/{id}"), None)
            .await
            .json()["notes"],
        "from batch"
    );

    // The log has the outer request and each item, marked.
    let log: Vec<Value> = emu
        .admin("GET", "requests", None)
        .await
        .json()
        .as_array()
        .unwrap()
        .clone();
    let outer: Vec<&Value> = log
        .iter()
        .filter(|e| e["batch_item"] == false && e["path"] == "/v1.0/$batch")
        .collect();
    let items: Vec<&Value> = log.iter().filter(|e| e["batch_item"] == true).collect();
    assert_eq!(outer.len(), 1);
    assert_eq!(outer[0]["path"], "/v1.0/$batch");
    assert_eq!(items.len(), 6);
    assert!(items.iter().any(|e| e["method"] == "PATCH"
        && e["status"] == 204
        && e["path"] == format!("/v1.0/applications/{id}")));
    assert!(items.iter().any(|e| e["query"] == "$select=id,displayName"));

    // Malformed batches are rejected whole.
    let too_many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"}))
        .collect();
    let r = emu
        .graph(&t, "POST", "/$batch", Some(json!({"requests": too_many})))
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    let dup = json!({"requests": [{"id": "a", "method": "GET", "url": "/organization"}, {"id": "A", "method": "GET", "url": "/organization"}]});
    assert_graph_error(
        &emu.graph(&t, "POST", "/$batch", Some(dup)).await,
        400,
        "BadRequest",
    );
    let no_ct = json!({"requests": [{"id": "a", "method": "POST", "url": "/applications", "body": {"displayName": "x"}}]});
    assert_graph_error(
        &emu.graph(&t, "POST", "/$batch", Some(no_ct)).await,
        400,
        "BadRequest",
    );
    let unknown_dep = json!({"requests": [{"id": "a", "method": "GET", "url": "/organization", "dependsOn": ["zz"]}]});
    assert_graph_error(
        &emu.graph(&t, "POST", "/$batch", Some(unknown_dep)).await,
        400,
        "BadRequest",
    );
    assert_eq!(
        emu.raw("POST", "/v1.0/$batch", &[], b"{}").await.status,
        401
    );

    // Per-item throttling: every 2nd Graph request (outer = #1).
    emu.set_faults(json!({"throttle_every_n": 2, "retry_after_secs": 3}))
        .await;
    let reqs: Vec<Value> = (0..3)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"}))
        .collect();
    let r = emu
        .graph(&t, "POST", "/$batch", Some(json!({"requests": reqs})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let st: Vec<u64> = r.json()["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    assert_eq!(st, vec![429, 200, 429]);
    let first = &r.json()["responses"][0];
    assert_eq!(first["headers"]["Retry-After"], "3");
    emu.running.shutdown().await;
}

#[tokio::test]
async fn reset_and_state_dump() {
    let emu = start().await;
    let t = emu.ci_token().await;
    let app = emu
        .create_app(&t, json!({"displayName": "to be reset"}))
        .await;
    let state = emu.admin("GET", "state", None).await.json();
    assert!(
        state["applications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["data"]["id"] == app["id"])
    );
    assert_eq!(emu.admin("POST", "reset", None).await.status, 204);
    // Tokens survive a reset (same key, same seeded principals).
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/applications/{}", app["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let ids = emu.admin("GET", "identities", None).await.json();
    assert_eq!(ids["users"].as_array().unwrap().len(), 3);
    assert!(
        ids["apps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["clientId"] == CI_CLIENT)
    );
    let r = emu.admin("POST", "identities", Some(json!({"kind": "app", "displayName": "reader", "roles": [], "appRoles": ["Application.ReadWrite.All"]}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    let tok = emu
        .admin("POST", "tokens", Some(json!({"client_id": v["clientId"]})))
        .await
        .json();
    let r = emu
        .graph(
            tok["access_token"].as_str().unwrap(),
            "POST",
            "/applications",
            Some(json!({"displayName": "via app role"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = emu
        .token_form(TENANT, &format!("grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default", v["clientId"].as_str().unwrap(), v["clientSecret"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        emu.admin("PUT", "faults", Some(json!({"nope": 1})))
            .await
            .status,
        400
    );
    emu.running.shutdown().await;
}

#[tokio::test]
async fn owned_by_permission_and_alternate_key_subresources() {
    let emu = start().await;
    let r = emu
        .admin("POST", "identities", Some(json!({"kind": "app", "displayName": "owned-by", "appRoles": ["Application.ReadWrite.OwnedBy"]})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ident = r.json();
    let tok = emu
        .admin(
            "POST",
            "tokens",
            Some(json!({"client_id": ident["clientId"]})),
        )
        .await
        .json();
    let t = tok["access_token"].as_str().unwrap();
    // Creating through Application.ReadWrite.OwnedBy makes the caller an owner...
    let app = emu
        .create_app(t, json!({"displayName": "owned by app"}))
        .await;
    let app_id = app["appId"].as_str().unwrap();
    let owners = emu
        .graph(
            t,
            "GET",
            &format!("/applications(appId='{app_id}')/owners"),
            None,
        )
        .await
        .json();
    assert_eq!(owners["value"][0]["id"], ident["servicePrincipalId"]);
    // ...who manages its credentials through the alternate key...
    let r = emu
        .graph(t, "POST", &format!("/applications(appId='{app_id}')/federatedIdentityCredentials"), Some(json!({"name": "viaAppId",
            "issuer": "https://accounts.google.com", "subject": "42", "audiences": ["api://AzureADTokenExchange"]})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // ...but cannot add other owners (A4), nor touch apps it does not own.
    let r = emu
        .graph(t, "POST", &format!("/applications(appId='{app_id}')/owners/$ref"), Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{OWNER}")})))
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    let r = emu
        .graph(
            t,
            "PATCH",
            &format!("/applications/{OWNED_APP1}"),
            Some(json!({"notes": "x"})),
        )
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    // Batch items may use relative urls without a leading slash; 424 entries are logged normalised.
    emu.admin("DELETE", "requests", None).await;
    let body = json!({"requests": [
        {"id": "a", "method": "GET", "url": "applications/77777777-7777-4777-8777-777777777777"},
        {"id": "b", "method": "GET", "url": "organization?$select=id", "dependsOn": ["a"]}
    ]});
    let r = emu.graph(t, "POST", "/$batch", Some(body)).await;
    assert_eq!(r.status, 200);
    let log = emu.admin("GET", "requests", None).await.json();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "/v1.0/organization"
                && e["status"] == 424
                && e["query"] == "$select=id"),
        "{log}"
    );
    emu.running.shutdown().await;
}
