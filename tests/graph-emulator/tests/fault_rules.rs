//! Targeted fault rules (`FaultSettings.rules`), the `fault`/`tenant` fields of
//! the request log, and the per-application write-concurrency stats.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn log_for<'a>(log: &'a Value, method: &str, path: &str) -> Vec<&'a Value> {
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == method && e["path"] == path)
        .collect()
}

async fn apps_named(emu: &Emu, t: &str, name: &str) -> usize {
    let r = emu
        .graph(
            t,
            "GET",
            &format!("/applications?$filter=displayName%20eq%20'{name}'"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["value"].as_array().unwrap().len()
}

/// Sends a request and returns every byte the server sent before closing.
async fn raw_exchange(base: &str, method: &str, path: &str, token: &str, body: &str) -> Vec<u8> {
    let host = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(host).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn act_then_504_and_act_then_drop_still_act() {
    let emu = start().await;
    let t = emu.ci_token().await;
    emu.set_faults(json!({"rules": [
        {"method": "post", "path": "/applications", "action": "act_then_504"},
    ]}))
    .await;
    let r = emu
        .graph(
            &t,
            "POST",
            "/applications",
            Some(json!({"displayName": "gw-timeout"})),
        )
        .await;
    assert_graph_error(&r, 504, "UnknownError");
    assert_eq!(
        apps_named(&emu, &t, "gw-timeout").await,
        1,
        "created anyway"
    );
    // Spent after one firing, listed with its count.
    let r = emu
        .graph(
            &t,
            "POST",
            "/applications",
            Some(json!({"displayName": "gw-after"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let f = emu.admin("GET", "faults", None).await.json();
    assert_eq!(f["rules"][0]["remaining"], 0);
    assert_eq!(f["rules"][0]["fired"], 1);
    assert_eq!(f["rules"][0]["action"], "act_then_504");

    // The connection is closed without any answer, after the app was created.
    emu.set_faults(json!({"rules": [
        {"method": "POST", "path": "/applications", "action": "act_then_drop"},
    ]}))
    .await;
    let body = json!({"displayName": "dropped"}).to_string();
    let got = raw_exchange(&emu.base, "POST", "/v1.0/applications", &t, &body).await;
    assert!(
        got.is_empty(),
        "no bytes of an answer: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(apps_named(&emu, &t, "dropped").await, 1);

    let log = emu.admin("GET", "requests", None).await.json();
    let posts = log_for(&log, "POST", "/v1.0/applications");
    assert_eq!(posts.len(), 3);
    assert_eq!(posts[0]["status"], 504);
    assert_eq!(posts[0]["fault"], "act_then_504");
    assert_eq!(posts[0]["acted_status"], 201);
    assert_eq!(posts[0]["tenant"], TENANT);
    assert_eq!(posts[1]["fault"], Value::Null);
    assert_eq!(posts[2]["status"], 0);
    assert_eq!(posts[2]["fault"], "act_then_drop");
    assert_eq!(posts[2]["acted_status"], 201);
    emu.running.shutdown().await;
}

#[tokio::test]
async fn a_held_request_is_acted_on_after_the_client_left() {
    let emu = start().await;
    let t = emu.ci_token().await;
    emu.set_faults(json!({"rules": [
        {"method": "POST", "path": "/applications", "action": "hold", "hold_ms": 400},
    ]}))
    .await;
    {
        let host = emu.base.strip_prefix("http://").unwrap();
        let mut s = TcpStream::connect(host).await.unwrap();
        let body = json!({"displayName": "held"}).to_string();
        let req = format!(
            "POST /v1.0/applications HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The client gives up (Ctrl-C) while the tenant is still working.
    }
    assert_eq!(apps_named(&emu, &t, "held").await, 0, "still held");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        apps_named(&emu, &t, "held").await,
        1,
        "acted on after the hold"
    );
    let log = emu.admin("GET", "requests", None).await.json();
    let posts = log_for(&log, "POST", "/v1.0/applications");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["fault"], "hold");
    assert_eq!(posts[0]["status"], 201);

    // A request held far longer does not keep shutdown waiting.
    emu.set_faults(json!({"rules": [
        {"path": "/organization", "action": "hold", "hold_ms": 60000},
    ]}))
    .await;
    let base = emu.base.clone();
    let t2 = t.clone();
    let pending = tokio::spawn(async move {
        request(
            &base,
            "GET",
            "/v1.0/organization",
            &[("Authorization", &format!("Bearer {t2}"))],
            b"",
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    emu.running.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    pending.abort();
}

#[tokio::test]
async fn endless_next_link_leads_back_to_the_same_page() {
    let emu = start().await;
    let t = emu.ci_token().await;
    emu.set_faults(json!({"rules": [
        {"method": "GET", "path": "/applications", "action": "endless_next_link"},
    ]}))
    .await;
    let first = emu
        .graph(&t, "GET", "/applications?$top=2&$select=id", None)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    let ids = first["value"].clone();
    assert_eq!(ids.as_array().unwrap().len(), 2);
    let mut link = first["@odata.nextLink"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert!(
            link.starts_with(&format!("{}/v1.0/applications?", emu.base)),
            "{link}"
        );
        assert!(link.contains("$skiptoken="), "{link}");
        let path = link.strip_prefix(&emu.base).unwrap().to_string();
        let r = emu
            .raw(
                "GET",
                &path,
                &[("Authorization", &format!("Bearer {t}"))],
                b"",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!(v["value"], ids, "the same page again");
        link = v["@odata.nextLink"].as_str().unwrap().to_string();
    }
    let f = emu.admin("GET", "faults", None).await.json();
    assert_eq!(
        f["rules"][0]["fired"], 1,
        "followed links do not spend the rule"
    );
    let log = emu.admin("GET", "requests", None).await.json();
    let gets = log_for(&log, "GET", "/v1.0/applications");
    assert_eq!(gets.len(), 4);
    assert!(gets.iter().all(|e| e["fault"] == "endless_next_link"));
    // Without the rule, the same list ends.
    let r = emu.graph(&t, "GET", "/applications?$top=999", None).await;
    assert!(r.json().get("@odata.nextLink").is_none());
    emu.running.shutdown().await;
}

#[tokio::test]
async fn oversized_body_and_retry_after_zero() {
    let emu = start().await;
    let t = emu.ci_token().await;
    emu.set_faults(json!({"rules": [
        {"path": "/applications", "action": "oversized_body", "size_bytes": 3000000},
        {"path": "/organization", "action": "retry_after_zero", "times": 2},
    ]}))
    .await;
    let r = emu.graph(&t, "GET", "/applications", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 3_000_000);
    assert_eq!(r.header("content-length"), Some("3000000"));
    assert!(serde_json::from_str::<Value>(&r.body).is_ok(), "valid JSON");
    for _ in 0..2 {
        let r = emu.graph(&t, "GET", "/organization", None).await;
        assert_graph_error(&r, 429, "TooManyRequests");
        assert_eq!(r.header("retry-after"), Some("0"));
    }
    assert_eq!(
        emu.graph(&t, "GET", "/organization", None).await.status,
        200
    );
    let log = emu.admin("GET", "requests", None).await.json();
    let faults: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["fault"])
        .collect();
    assert_eq!(
        faults,
        vec![
            &json!("oversized_body"),
            &json!("retry_after_zero"),
            &json!("retry_after_zero"),
            &Value::Null
        ]
    );
    // Bad rules are refused with the reason.
    for bad in [
        json!({"rules": [{"path": "/v1.0/applications", "action": "hold"}]}),
        json!({"rules": [{"path": "/applications", "action": "explode"}]}),
        json!({"rules": [{"path": "/applications", "action": "hold", "hold_ms": 100000000}]}),
        json!({"latency_ms": 100000000}),
    ] {
        let r = emu.admin("PUT", "faults", Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    emu.running.shutdown().await;
}

#[tokio::test]
async fn rules_reach_batch_items() {
    let emu = start().await;
    let t = emu.ci_token().await;
    emu.set_faults(json!({"rules": [
        {"method": "POST", "path": "/applications", "action": "act_then_504"},
        {"path": "/organization", "action": "retry_after_zero"},
        // Not for items: an item has no connection of its own.
        {"path": "/users", "action": "act_then_drop"},
    ]}))
    .await;
    let body = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/applications", "headers": {"Content-Type": "application/json"}, "body": {"displayName": "in-batch"}},
        {"id": "2", "method": "GET", "url": "/organization"},
        {"id": "3", "method": "GET", "url": "/users"},
    ]});
    let r = emu.graph(&t, "POST", "/$batch", Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let item = |id: &str| {
        v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(item("1")["status"], 504);
    assert_eq!(item("1")["body"]["error"]["code"], "UnknownError");
    assert_eq!(item("2")["status"], 429);
    assert_eq!(item("2")["headers"]["Retry-After"], "0");
    assert_eq!(item("3")["status"], 200);
    assert_eq!(apps_named(&emu, &t, "in-batch").await, 1);
    let log = emu.admin("GET", "requests", None).await.json();
    let items: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["batch_item"] == true)
        .collect();
    assert_eq!(items[0]["fault"], "act_then_504");
    assert_eq!(items[1]["fault"], "retry_after_zero");
    assert_eq!(items[2]["fault"], Value::Null);
    emu.running.shutdown().await;
}

#[tokio::test]
async fn the_log_names_dice_and_window_faults() {
    let emu = start().await;
    let t = emu.ci_token().await;
    emu.set_faults(json!({"throttle_every_n": 1})).await;
    assert_eq!(
        emu.graph(&t, "GET", "/organization", None).await.status,
        429
    );
    emu.set_faults(json!({"throttle_every_n": 0, "unavailable_probability": 1.0}))
        .await;
    let s = emu.graph(&t, "GET", "/organization", None).await.status;
    assert!(s == 503 || s == 504);
    emu.set_faults(json!({"unavailable_probability": 0.0, "consistency_reads": 1, "sp_backing_app_delay_reads": 1})).await;
    let app = emu.create_app(&t, json!({"displayName": "lagging"})).await;
    let (id, app_id) = (app["id"].as_str().unwrap(), app["appId"].as_str().unwrap());
    assert_eq!(
        emu.graph(&t, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        404
    );
    let r = emu
        .graph(
            &t,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(r.status, 400);
    // A genuinely missing app is not an injected fault.
    let r = emu
        .graph(
            &t,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": "9a9a9a9a-0000-4000-8000-000000000000"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let log = emu.admin("GET", "requests", None).await.json();
    let faults: Vec<Value> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fault"].clone())
        .collect();
    assert_eq!(
        faults,
        vec![
            json!("throttle"),
            json!("unavailable"),
            Value::Null,
            json!("consistency_404"),
            json!("no_backing_application"),
            Value::Null
        ]
    );
    emu.running.shutdown().await;
}

#[tokio::test]
async fn concurrent_writes_to_one_application_are_counted() {
    let emu = start().await;
    let t = emu.ci_token().await;
    let app = emu.create_app(&t, json!({"displayName": "busy"})).await;
    let id = app["id"].as_str().unwrap().to_string();
    emu.set_faults(json!({"latency_ms": 300})).await;
    let patch = |notes: &'static str| {
        let (base, t, id) = (emu.base.clone(), t.clone(), id.clone());
        async move {
            let auth = format!("Bearer {t}");
            let body = json!({"notes": notes}).to_string();
            request(
                &base,
                "PATCH",
                &format!("/v1.0/applications/{id}"),
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                body.as_bytes(),
            )
            .await
            .status
        }
    };
    // One after the other: never more than one in flight.
    assert_eq!(patch("a").await, 204);
    assert_eq!(patch("b").await, 204);
    let stats = emu.admin("GET", "stats", None).await.json();
    assert_eq!(stats["peak_writes_in_flight"][&id], 1, "{stats}");
    // Two at once, each held by the latency: they overlap.
    let (a, b) = tokio::join!(patch("c"), patch("d"));
    assert_eq!((a, b), (204, 204));
    let stats = emu.admin("GET", "stats", None).await.json();
    assert_eq!(stats["peak_writes_in_flight"][&id], 2, "{stats}");
    // Reads do not count; the stats reset.
    assert_eq!(emu.admin("DELETE", "stats", None).await.status, 204);
    let auth = format!("Bearer {t}");
    let path = format!("/v1.0/applications/{id}");
    let h = [("Authorization", auth.as_str())];
    let (r1, r2) = tokio::join!(
        request(&emu.base, "GET", &path, &h, b""),
        request(&emu.base, "GET", &path, &h, b"")
    );
    assert_eq!((r1.status, r2.status), (200, 200));
    let stats = emu.admin("GET", "stats", None).await.json();
    assert_eq!(stats["peak_writes_in_flight"], json!({}));
    // A held batch item counts from its start until its answer.
    emu.set_faults(json!({"latency_ms": 0, "rules": [
        {"method": "POST", "path": "/applications/*/owners/$ref", "action": "hold", "hold_ms": 300}
    ]}))
    .await;
    let owner = format!("https://graph.microsoft.com/v1.0/directoryObjects/{OWNER}");
    let batch = json!({"requests": [
        {"id": "1", "method": "POST", "url": format!("/applications/{id}/owners/$ref"), "headers": {"Content-Type": "application/json"}, "body": {"@odata.id": owner}},
    ]});
    let (r, p) = tokio::join!(emu.graph(&t, "POST", "/$batch", Some(batch)), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        patch("e").await
    });
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["responses"][0]["status"], 204, "{}", r.body);
    assert_eq!(p, 204);
    let stats = emu.admin("GET", "stats", None).await.json();
    assert_eq!(stats["peak_writes_in_flight"][&id], 2, "{stats}");
    assert_eq!(emu.admin("POST", "reset", None).await.status, 204);
    let stats = emu.admin("GET", "stats", None).await.json();
    assert_eq!(stats["peak_writes_in_flight"], json!({}));
    emu.running.shutdown().await;
}
