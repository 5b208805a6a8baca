//! What the Graph operations do when Terraform asks to stop or a timeout runs out, against
//! the Graph emulator in-process (tests/graph-emulator/README.md):
//!
//! - a read whose wait for Graph's replication is interrupted, by Stop or by the
//!   deadline, is an error, never "gone" (state would lose a live object);
//! - a read in flight stops at once; a write already sent runs to its answer, so
//!   what Graph did is known and recorded;
//! - a credential delete throttled for longer than its 10 s lag budget still
//!   completes within its own timeout;
//! - the resources themselves: a refresh stopped while Graph hides the object keeps
//!   it in state and says why, rather than dropping it.

use psoxy_provider::config::{ProviderSettings, Secret};
use psoxy_provider::graph::applications::{self, NewApplication};
use psoxy_provider::graph::auth::{ClientSecretSource, TokenCache};
use psoxy_provider::graph::federated_credentials::{self as fics, CredentialFields};
use psoxy_provider::graph::models::{Application, FederatedIdentityCredential};
use psoxy_provider::graph::{GraphClient, GraphError, GraphErrorKind, GraphRequest, Operation};
use psoxy_provider::resources::federated_credential::FederatedCredential;
use psoxy_provider::resources::msft_connector::MsftConnector;
use psoxy_provider::session::{Session, SessionSlot};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tfplugin::diagnostics::Diagnostics;
use tfplugin::framework::{RequestContext, Resource};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const TENANT: &str = "00000000-0000-4000-8000-00000000a001";
/// The seeded `terraform-ci` application (Cloud Application Administrator).
const CI_CLIENT: &str = "00000000-0000-4000-8000-00000000c101";
const CI_SECRET: &str = "terraform-ci-secret";
/// Longer than any test here runs.
const LONG: Duration = Duration::from_secs(600);

/// The emulator and a Graph client signed in to it as `terraform-ci`.
struct Graph {
    emulator: graph_emulator::RunningEmulator,
    client: GraphClient,
    http: reqwest::Client,
}

impl Graph {
    async fn start() -> Graph {
        let emulator = graph_emulator::start(graph_emulator::Config::default())
            .await
            .expect("start the emulator");
        let url = url::Url::parse(&emulator.base_url).unwrap();
        let http = reqwest::Client::new();
        let source = ClientSecretSource::new(
            http.clone(),
            &url,
            &url,
            Some(TENANT),
            CI_CLIENT,
            Secret::new(CI_SECRET),
        )
        .unwrap();
        let tokens = Arc::new(TokenCache::new(Arc::new(source), Some(TENANT.into())));
        // Signed in up front, so that a Stop in a test meets the Graph request itself.
        tokens.token().await.expect("sign in");
        let client = GraphClient::new(http.clone(), &url, tokens);
        Graph {
            emulator,
            client,
            http,
        }
    }

    fn base(&self) -> &str {
        self.emulator.base_url.trim_end_matches('/')
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/_emulator/{path}", self.base()));
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn set_faults(&self, faults: Value) {
        self.admin(reqwest::Method::PUT, "faults", Some(faults))
            .await;
    }

    async fn rules_fired(&self) -> Vec<u64> {
        self.admin(reqwest::Method::GET, "faults", None).await["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["fired"].as_u64().unwrap())
            .collect()
    }

    /// `(method, path, status, fault)` of every Graph request so far.
    async fn log(&self) -> Vec<(String, String, u16, Option<String>)> {
        self.admin(reqwest::Method::GET, "requests", None)
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_owned(),
                    r["path"].as_str().unwrap().to_owned(),
                    r["status"].as_u64().unwrap() as u16,
                    r["fault"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }

    /// An application made by an administrator: it never lags.
    async fn admin_application(&self, name: &str) -> String {
        let app = self
            .admin(
                reqwest::Method::POST,
                "applications",
                Some(json!({"displayName": name})),
            )
            .await;
        app["id"].as_str().unwrap().to_owned()
    }

    /// An application created through Graph, subject to the consistency window.
    async fn graph_application(&self, name: &str) -> Application {
        self.client
            .send(
                &op(LONG),
                &GraphRequest::post("/applications", json!({"displayName": name})),
            )
            .await
            .expect("create an application")
            .parse()
            .unwrap()
    }

    /// The live applications with this display name, as Graph lists them.
    async fn applications_named(&self, name: &str) -> Vec<Application> {
        self.client
            .list(
                &op(LONG),
                GraphRequest::get("/applications")
                    .query("$filter", format!("displayName eq '{name}'")),
            )
            .await
            .unwrap()
    }

    /// What `Configure` would set up: a session signed in as `terraform-ci`.
    fn session(&self) -> Arc<SessionSlot> {
        let url = url::Url::parse(&self.emulator.base_url).unwrap();
        let settings = ProviderSettings {
            tenant_id: Some(TENANT.into()),
            client_id: Some(CI_CLIENT.into()),
            client_secret: Some(Secret::new(CI_SECRET)),
            ..ProviderSettings::for_endpoints(url.clone(), url.clone())
        };
        let source = ClientSecretSource::new(
            self.http.clone(),
            &url,
            &url,
            Some(TENANT),
            CI_CLIENT,
            Secret::new(CI_SECRET),
        )
        .unwrap();
        let tokens = Arc::new(TokenCache::new(Arc::new(source), Some(TENANT.into())));
        let slot = SessionSlot::default();
        slot.set(Session::new(
            settings,
            Ok(GraphClient::new(self.http.clone(), &url, tokens)),
        ));
        Arc::new(slot)
    }

    async fn stop(self) {
        self.emulator.shutdown().await;
    }
}

/// A resource's state as Terraform holds it: `values` for the attributes given, null
/// for the others.
fn state_value(resource: &dyn Resource, values: Value) -> tfplugin::value::Value {
    let ty = resource.schema().block.value_type();
    let tfplugin::value::Type::Object(attributes) = &ty else {
        panic!("{ty:?}")
    };
    let full: serde_json::Map<String, Value> = attributes
        .keys()
        .map(|name| {
            (
                name.clone(),
                values.get(name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    tfplugin::model::to_value(&full, &ty).unwrap()
}

/// Terraform's refresh of `current`, stopped `after` in.
async fn refresh_stopped_after(
    resource: &dyn Resource,
    current: &tfplugin::value::Value,
    after: Duration,
) -> (tfplugin::value::Value, Diagnostics) {
    let (op, _) = stopped_after(after);
    let ctx = RequestContext {
        cancelled: op.cancelled,
    };
    let mut diags = Diagnostics::new();
    let refreshed = resource.read(&ctx, current, &mut diags).await;
    (refreshed, diags)
}

fn op(timeout: Duration) -> Operation {
    Operation::new(timeout, CancellationToken::new())
}

/// An operation that Terraform stops `after` from now.
fn stopped_after(after: Duration) -> (Operation, CancellationToken) {
    let stop = CancellationToken::new();
    let op = Operation::new(LONG, stop.clone());
    tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::time::sleep(after).await;
            stop.cancel();
        }
    });
    (op, stop)
}

fn gcp_credential(name: &str, subject: &str) -> CredentialFields {
    CredentialFields {
        name: name.into(),
        issuer: "https://accounts.google.com".into(),
        subject: subject.into(),
        audience: "api://AzureADTokenExchange".into(),
        description: None,
    }
}

/// Graph's 404s were the emulator hiding a new object (replication lag).
async fn assert_lag_hit(graph: &Graph, path_part: &str) {
    let log = graph.log().await;
    assert!(
        log.iter().any(|(m, p, s, f)| m == "GET"
            && p.contains(path_part)
            && *s == 404
            && f.as_deref() == Some("consistency_404")),
        "no lagging read of {path_part}: {log:?}"
    );
}

/// A direct read of an application (no inventory), riding replication lag.
async fn read_application(
    graph: &Graph,
    op: &Operation,
    app: &Application,
) -> Result<Option<applications::Snapshot>, GraphError> {
    applications::snapshot_riding_lag(&graph.client, op, &app.id, &app.app_id, false, false, None)
        .await
}

#[tokio::test]
async fn an_application_read_stopped_while_waiting_out_lag_is_an_error_not_gone() {
    let graph = Graph::start().await;
    // Every object created from now on stays hidden from reads.
    graph.set_faults(json!({"consistency_reads": 1000})).await;
    let app = graph.graph_application("Hidden by lag").await;
    // Stopped during the read window's second wait (looks at 0 s, 1 s, then 3 s).
    let (op, _) = stopped_after(Duration::from_millis(1500));
    let started = Instant::now();
    let read = read_application(&graph, &op, &app).await;
    let e = match read {
        Err(e) => e,
        Ok(None) => panic!("an interrupted read took the application for gone"),
        Ok(Some(_)) => panic!("the application was hidden, yet read"),
    };
    assert_eq!(e.kind, GraphErrorKind::Cancelled, "{e:?}");
    assert!(!e.is_not_found(), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "Stop did not end the wait: {:?}",
        started.elapsed()
    );
    assert_lag_hit(&graph, &format!("/applications/{}", app.id)).await;
    graph.stop().await;
}

#[tokio::test]
async fn an_application_read_out_of_time_while_waiting_out_lag_is_an_error_not_gone() {
    let graph = Graph::start().await;
    graph.set_faults(json!({"consistency_reads": 1000})).await;
    let app = graph.graph_application("Hidden by lag").await;
    // The read window would look again at 3 s; the read's timeout is 2.5 s.
    let op = op(Duration::from_millis(2500));
    let read = read_application(&graph, &op, &app).await;
    let e = match read {
        Err(e) => e,
        Ok(None) => panic!("a read out of time took the application for gone"),
        Ok(Some(_)) => panic!("the application was hidden, yet read"),
    };
    assert_eq!(e.kind, GraphErrorKind::Deadline, "{e:?}");
    assert!(!e.is_not_found(), "{e:?}");
    assert_lag_hit(&graph, &format!("/applications/{}", app.id)).await;
    graph.stop().await;
}

#[tokio::test]
async fn a_credential_read_stopped_or_out_of_time_while_waiting_out_lag_is_an_error_not_gone() {
    let graph = Graph::start().await;
    let object_id = graph.admin_application("Has a lagging credential").await;
    graph.set_faults(json!({"consistency_reads": 1000})).await;
    let created: FederatedIdentityCredential = fics::create(
        &graph.client,
        &op(LONG),
        &object_id,
        &gcp_credential("lagging", "42"),
    )
    .await
    .expect("create the credential");

    let (stopped, _) = stopped_after(Duration::from_millis(1500));
    let started = Instant::now();
    match fics::read_riding_lag(&graph.client, &stopped, &object_id, &created.id).await {
        Err(e) => {
            assert_eq!(e.kind, GraphErrorKind::Cancelled, "{e:?}");
            assert!(!e.is_not_found(), "{e:?}");
        }
        Ok(None) => panic!("an interrupted read took the credential for gone"),
        Ok(Some(_)) => panic!("the credential was hidden, yet read"),
    }
    assert!(started.elapsed() < Duration::from_millis(2500));

    let out_of_time = op(Duration::from_millis(2500));
    match fics::read_riding_lag(&graph.client, &out_of_time, &object_id, &created.id).await {
        Err(e) => {
            assert_eq!(e.kind, GraphErrorKind::Deadline, "{e:?}");
            assert!(!e.is_not_found(), "{e:?}");
        }
        Ok(None) => panic!("a read out of time took the credential for gone"),
        Ok(Some(_)) => panic!("the credential was hidden, yet read"),
    }
    assert_lag_hit(
        &graph,
        &format!("federatedIdentityCredentials/{}", created.id),
    )
    .await;
    graph.stop().await;
}

#[tokio::test]
async fn a_read_in_flight_stops_at_once() {
    let graph = Graph::start().await;
    let object_id = graph.admin_application("Slow to read").await;
    graph
        .set_faults(json!({"rules": [{
            "method": "GET", "path": "/applications/*", "action": "hold", "hold_ms": 5000
        }]}))
        .await;
    let (op, _) = stopped_after(Duration::from_millis(300));
    let started = Instant::now();
    let e = applications::find_application(&graph.client, &op, &object_id)
        .await
        .expect_err("stopped");
    assert_eq!(e.kind, GraphErrorKind::Cancelled, "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a read waited for its answer after Stop: {:?}",
        started.elapsed()
    );
    assert_eq!(graph.rules_fired().await, [1], "the read was in flight");
    graph.stop().await;
}

#[tokio::test]
async fn an_application_create_already_sent_runs_to_its_answer_after_stop() {
    let graph = Graph::start().await;
    graph
        .set_faults(json!({"rules": [{
            "method": "POST", "path": "/applications", "action": "hold", "hold_ms": 2000
        }]}))
        .await;
    let (op, stop) = stopped_after(Duration::from_millis(300));
    let started = Instant::now();
    let name = "Sent before Stop";
    let created = applications::create_application(
        &graph.client,
        graph.base(),
        &op,
        &NewApplication {
            display_name: name,
            tags: applications::connector_tags(&["outlook-cal".into()]),
            app_role_ids: Vec::new(),
            owners: Vec::new(),
        },
    )
    .await
    .expect("the create's answer, Stop or not");
    assert!(stop.is_cancelled());
    assert!(started.elapsed() >= Duration::from_millis(2000));
    let in_graph = graph.applications_named(name).await;
    assert_eq!(in_graph.len(), 1, "{in_graph:?}");
    assert_eq!(in_graph[0].id, created.id);
    assert_eq!(graph.rules_fired().await, [1]);
    graph.stop().await;
}

#[tokio::test]
async fn a_credential_create_already_sent_runs_to_its_answer_after_stop() {
    let graph = Graph::start().await;
    let object_id = graph.admin_application("Gets a credential").await;
    graph
        .set_faults(json!({"rules": [{
            "method": "POST", "path": "/applications/*/federatedIdentityCredentials",
            "action": "hold", "hold_ms": 2000
        }]}))
        .await;
    let (stopping, stop) = stopped_after(Duration::from_millis(300));
    let created = fics::create(
        &graph.client,
        &stopping,
        &object_id,
        &gcp_credential("sent-before-stop", "43"),
    )
    .await
    .expect("the create's answer, Stop or not");
    assert!(stop.is_cancelled());
    let in_graph = fics::list(&graph.client, &op(LONG), &object_id, None)
        .await
        .unwrap();
    assert_eq!(in_graph.len(), 1, "{in_graph:?}");
    assert_eq!(in_graph[0].id, created.id);
    assert_eq!(graph.rules_fired().await, [1]);
    graph.stop().await;
}

#[tokio::test]
async fn a_credential_delete_throttled_past_its_lag_budget_completes_within_its_timeout() {
    let graph = Graph::start().await;
    let object_id = graph.admin_application("Loses a credential").await;
    let created = fics::create(
        &graph.client,
        &op(LONG),
        &object_id,
        &gcp_credential("throttled-delete", "44"),
    )
    .await
    .unwrap();
    // 24 throttled answers, each waited out for at least half a second: longer than
    // the 10 s a delete waits out a 404 that may be lag.
    graph
        .set_faults(json!({"rules": [{
            "method": "DELETE", "path": "/applications/*/federatedIdentityCredentials/*",
            "action": "retry_after_zero", "times": 24
        }]}))
        .await;
    let started = Instant::now();
    // The resource's default delete timeout.
    fics::delete(
        &graph.client,
        &op(Duration::from_secs(300)),
        &object_id,
        &created.id,
    )
    .await
    .expect("deleted once the throttling ends");
    assert!(
        started.elapsed() > Duration::from_secs(10),
        "throttled for {:?} only",
        started.elapsed()
    );
    assert_eq!(graph.rules_fired().await, [24]);
    let left = fics::list(&graph.client, &op(LONG), &object_id, None)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    graph.stop().await;
}

#[tokio::test]
async fn a_connector_refresh_stopped_while_its_application_lags_keeps_it_in_state() {
    let graph = Graph::start().await;
    graph.set_faults(json!({"consistency_reads": 1000})).await;
    let app = graph
        .graph_application("Psoxy Connector - Outlook Calendar")
        .await;
    let connector = MsftConnector {
        session: graph.session(),
    };
    let current = state_value(
        &connector,
        json!({
            "connectors": ["outlook-cal"],
            "display_name": "Psoxy Connector - Outlook Calendar",
            "owners": [],
            "id": app.id,
            "object_id": app.id,
            "client_id": app.app_id,
            "service_principal_object_id": "",
            "tenant_id": TENANT,
            "required_app_roles": {},
            "consent_granted": false,
            "missing_app_roles": [],
            "admin_consent_url": "",
            "api_permissions_url": "",
            "consent_instructions": "",
        }),
    );
    let (refreshed, diags) =
        refresh_stopped_after(&connector, &current, Duration::from_millis(1500)).await;
    assert_eq!(refreshed, current, "the state Terraform had, unchanged");
    let errors: Vec<String> = diags
        .iter()
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("Could not read the connector's application")),
        "{errors:?}"
    );
    assert!(diags.has_errors());
    assert_lag_hit(&graph, &format!("/applications/{}", app.id)).await;
    graph.stop().await;
}

#[tokio::test]
async fn a_credential_refresh_stopped_while_it_lags_keeps_it_in_state() {
    let graph = Graph::start().await;
    let object_id = graph.admin_application("Has a lagging credential").await;
    graph.set_faults(json!({"consistency_reads": 1000})).await;
    let created = fics::create(
        &graph.client,
        &op(LONG),
        &object_id,
        &gcp_credential("lagging", "45"),
    )
    .await
    .unwrap();
    let credential = FederatedCredential {
        session: graph.session(),
    };
    let current = state_value(
        &credential,
        json!({
            "application_object_id": object_id,
            "name": "lagging",
            "issuer": "https://accounts.google.com",
            "subject": "45",
            "audience": "api://AzureADTokenExchange",
            "credential_id": created.id,
            "id": format!("{object_id}/federatedIdentityCredential/{}", created.id),
            "tenant_id": TENANT,
            "gcp": {"service_account_unique_id": "45"},
        }),
    );
    let (refreshed, diags) =
        refresh_stopped_after(&credential, &current, Duration::from_millis(1500)).await;
    assert_eq!(refreshed, current, "the state Terraform had, unchanged");
    let errors: Vec<String> = diags.iter().map(|d| d.summary.clone()).collect();
    assert_eq!(
        errors,
        ["Could not read the federated credential"],
        "{errors:?}"
    );
    assert_lag_hit(
        &graph,
        &format!("federatedIdentityCredentials/{}", created.id),
    )
    .await;
    graph.stop().await;
}

/// A credential create whose answer is lost, with too little time left to wait before
/// a resend: the error still says Graph may have acted, so the create looks the
/// credential up by name and adopts it instead of losing it.
#[tokio::test]
async fn a_lost_answer_is_looked_up_even_when_no_time_is_left_to_resend() {
    let graph = Graph::start().await;
    let object_id = graph.admin_application("Loses an answer").await;
    graph
        .set_faults(json!({
            "latency_ms": 700,
            "rules": [{
                "method": "POST", "path": "/applications/*/federatedIdentityCredentials",
                "action": "act_then_drop"
            }]
        }))
        .await;
    // The answer is lost at about 0.7 s; the resend would wait at least 0.4 s more,
    // past the deadline.
    let created = fics::create(
        &graph.client,
        &op(Duration::from_millis(1000)),
        &object_id,
        &gcp_credential("lost-late", "44"),
    )
    .await
    .expect("the credential Graph made, found by name");
    graph.set_faults(json!({"latency_ms": 0})).await;
    let in_graph = fics::list(&graph.client, &op(LONG), &object_id, None)
        .await
        .unwrap();
    assert_eq!(in_graph.len(), 1, "{in_graph:?}");
    assert_eq!(in_graph[0].id, created.id);
    assert_eq!(graph.rules_fired().await, [1]);
    graph.stop().await;
}

/// Deleting an application created moments ago, which a replica does not show yet:
/// the 404 is waited out, and the application really is deleted.
#[tokio::test]
async fn a_delete_of_a_lagging_application_waits_out_its_404() {
    let graph = Graph::start().await;
    graph
        .set_faults(json!({"consistency_reads": 2, "consistency_subresources": true}))
        .await;
    let app = graph.graph_application("Deleted at once").await;
    applications::delete_application(&graph.client, &op(LONG), &app.id, None, false)
        .await
        .expect("deleted");
    let log = graph.log().await;
    assert!(
        log.iter().any(|(m, p, s, f)| m == "DELETE"
            && p.contains(&app.id)
            && *s == 404
            && f.as_deref() == Some("consistency_404")),
        "the delete met the lag: {log:?}"
    );
    // The directory as it is, not as a lagging replica shows it.
    let directory = graph.admin(reqwest::Method::GET, "state", None).await;
    let record = directory["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["data"]["id"] == app.id.as_str())
        .cloned()
        .expect("the application's record");
    assert!(
        !record["deleted_ms"].is_null(),
        "the application is deleted in the directory, not only dropped from state"
    );
    graph.stop().await;
}
