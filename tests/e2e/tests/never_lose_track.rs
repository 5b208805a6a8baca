//! State and tenant agree, where it is hardest: Ctrl-C while Graph is still acting on
//! a create, answers lost after Graph acted, signing in to another tenant, and servers
//! that would keep the provider looping. Real terraform against the emulator's fault
//! rules (tests/graph-emulator/README.md, "Fault rules").

use e2e::{Emulator, TENANT, Workspace};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CONNECTOR_AND_CREDENTIAL: &str = r#"
provider "psoxy" {}

resource "psoxy_msft_connector" "cal" {
  connectors = ["outlook-cal"]
}

resource "psoxy_federated_credential" "gcp" {
  application_object_id = psoxy_msft_connector.cal.object_id
  name                  = "psoxy-outlook-cal-gcp"
  gcp {
    service_account_unique_id = "112233445566778899001"
  }
}
"#;

fn workspace(emulator: &Emulator, main_tf: &str) -> Workspace {
    Workspace::new(main_tf).with_env(emulator.provider_env())
}

fn in_state<'a>(ws: &'a [e2e::StateResource], address: &str) -> Option<&'a e2e::StateResource> {
    ws.iter().find(|r| r.address == address)
}

/// Everything the emulator's home tenant holds for the connector is in state: no
/// application, service principal or credential that state does not know.
#[track_caller]
fn assert_nothing_escaped(emulator: &Emulator, ws: &Workspace) {
    let state = ws.state_resources();
    let connector = in_state(&state, "psoxy_msft_connector.cal");
    let credential = in_state(&state, "psoxy_federated_credential.gcp");
    let apps = emulator.psoxy_applications(None);
    assert!(apps.len() <= 1, "more than one application: {apps:#?}");
    if let Some(app) = apps.first() {
        let connector = connector.unwrap_or_else(|| {
            panic!(
                "application {} exists but state does not have it",
                app["data"]["id"]
            )
        });
        assert_eq!(connector.values["object_id"], app["data"]["id"]);
        let client_id = app["data"]["appId"].as_str().unwrap();
        let sps = emulator.service_principals_of(None, client_id);
        assert!(sps <= 1, "{sps} service principals");
        if sps == 1 {
            assert_ne!(
                connector.values["service_principal_object_id"], "",
                "the service principal exists but state does not record it"
            );
        }
        let fics = app["fics"].as_array().cloned().unwrap_or_default();
        assert!(fics.len() <= 1, "more than one credential: {fics:#?}");
        if let Some(fic) = fics.first() {
            let credential =
                credential.unwrap_or_else(|| panic!("credential {} escaped state", fic["id"]));
            assert_eq!(credential.values["credential_id"], fic["id"]);
        }
    }
}

/// Exactly one application, service principal and credential, all in state, nothing
/// tainted, and nothing left to do.
#[track_caller]
fn assert_one_of_each(emulator: &Emulator, ws: &Workspace) {
    let apps = emulator.psoxy_applications(None);
    assert_eq!(apps.len(), 1, "{apps:#?}");
    let client_id = apps[0]["data"]["appId"].as_str().unwrap();
    assert_eq!(emulator.service_principals_of(None, client_id), 1);
    assert_eq!(apps[0]["fics"].as_array().map(Vec::len), Some(1));
    assert_nothing_escaped(emulator, ws);
    let state = ws.state_resources();
    assert!(state.iter().all(|r| !r.tainted), "{state:#?}");
    ws.assert_plan_empty();
}

/// Graph holds one create for four seconds; Ctrl-C comes a second after it arrived.
/// Whatever Graph made is in state at once, and the next apply converges.
fn ctrl_c_while_graph_holds(method: &str, path: &str) {
    let emulator = Emulator::start(&[]);
    emulator.set_fault_rules(json!([
        {"method": method, "path": path, "action": "hold", "hold_ms": 4000}
    ]));
    let ws = workspace(&emulator, CONNECTOR_AND_CREDENTIAL);
    let mut arrived: Option<Instant> = None;
    let run = ws.terraform_interrupted(&["apply", "-auto-approve", "-no-color"], || {
        if arrived.is_none() && emulator.fault_rules_fired() == [1] {
            arrived = Some(Instant::now());
        }
        arrived.is_some_and(|t| t.elapsed() >= Duration::from_secs(1))
    });
    assert!(
        run.flat().contains("Interrupt received"),
        "terraform saw the interrupt:\n{}",
        run.all()
    );
    assert_eq!(emulator.fault_rules_fired(), [1], "the create was held");
    // Graph acts on the held create whether or not anyone still waits for it: once it
    // has, state must know whatever it made.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !emulator
        .logged_requests()
        .iter()
        .any(|r| r.fault.as_deref() == Some("hold"))
    {
        assert!(
            Instant::now() < deadline,
            "the held create was never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_nothing_escaped(&emulator, &ws);
    emulator.set_fault_rules(json!([]));
    ws.apply().assert_success();
    assert_one_of_each(&emulator, &ws);
}

#[test]
fn ctrl_c_during_the_application_create() {
    ctrl_c_while_graph_holds("POST", "/applications");
}

#[test]
fn ctrl_c_during_the_service_principal_create() {
    ctrl_c_while_graph_holds("POST", "/servicePrincipals");
}

#[test]
fn ctrl_c_during_the_credential_create() {
    ctrl_c_while_graph_holds("POST", "/applications/*/federatedIdentityCredentials");
}

/// Graph acts on each create and the answer never arrives (a dropped connection, a
/// gateway timeout): the same apply finds what Graph did and adopts it. Nothing is
/// tainted or created twice, and the client id stays.
#[test]
fn lost_answers_are_resolved_in_the_same_apply() {
    let emulator = Emulator::start(&[]);
    emulator.set_fault_rules(json!([
        {"method": "POST", "path": "/applications", "action": "act_then_drop"},
        {"method": "POST", "path": "/servicePrincipals", "action": "act_then_504"},
        {"method": "POST", "path": "/applications/*/federatedIdentityCredentials", "action": "act_then_504"}
    ]));
    let ws = workspace(&emulator, CONNECTOR_AND_CREDENTIAL);
    ws.apply().assert_success();
    assert_eq!(
        emulator.fault_rules_fired(),
        [1, 1, 1],
        "every answer was lost"
    );
    let faults: Vec<(String, String)> = emulator
        .logged_requests()
        .into_iter()
        .filter_map(|r| r.fault.map(|f| (f, r.path)))
        .collect();
    for (fault, path) in [
        ("act_then_drop", "/v1.0/applications"),
        ("act_then_504", "/v1.0/servicePrincipals"),
    ] {
        assert!(
            faults.iter().any(|(f, p)| f == fault && p == path),
            "{fault} on {path}: {faults:?}"
        );
    }
    let client_id = ws.state_resources()[0].values["client_id"].clone();
    assert_one_of_each(&emulator, &ws);
    ws.apply().assert_success();
    assert_eq!(ws.state_resources()[0].values["client_id"], client_id);
}

/// The stand-in Azure CLI signs in to whichever tenant its `tenant` file names, as
/// `az login --tenant` would switch it.
struct StandInAz {
    dir: tempfile::TempDir,
}

impl StandInAz {
    fn new(emulator: &Emulator, tenant: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("psoxy-az-")
            .tempdir()
            .unwrap();
        let script = format!(
            r#"#!/bin/sh
[ "$1 $2" = "account get-access-token" ] || {{ echo "ERROR: only get-access-token" >&2; exit 2; }}
tenant=$(cat '{dir}/tenant')
resp=$(curl -sS -f -X POST -H 'Content-Type: application/json' -d "{{\"user\":\"app-admin@psoxy.test\",\"tenant_id\":\"$tenant\"}}" '{base}/_emulator/tokens') || exit 1
field() {{ printf '%s' "$resp" | sed -n "s/.*\"$1\" *: *\"\{{0,1\}}\([^\",}}]*\).*/\1/p"; }}
printf '{{"accessToken":"%s","expires_on":%s,"tenant":"%s","tokenType":"Bearer"}}\n' "$(field access_token)" "$(field expires_on)" "$tenant"
"#,
            dir = dir.path().display(),
            base = emulator.base_url
        );
        let path = dir.path().join("az");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let az = StandInAz { dir };
        az.login(tenant);
        az
    }

    fn login(&self, tenant: &str) {
        std::fs::write(self.dir.path().join("tenant"), tenant).unwrap();
    }

    /// The provider's environment: the emulator's endpoints, the Azure CLI, and no
    /// tenant_id.
    fn env(&self, emulator: &Emulator) -> Vec<(String, String)> {
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        vec![
            ("PSOXY_GRAPH_ENDPOINT".into(), emulator.base_url.clone()),
            ("PSOXY_LOGIN_ENDPOINT".into(), emulator.base_url.clone()),
            ("PATH".into(), path),
        ]
    }
}

const OTHER_TENANT: &str = "00000000-0000-4000-8000-00000000a002";

/// Applied in tenant A, then `az login` to tenant B with no `tenant_id` set: plan and
/// destroy refuse, naming both tenants; state is unchanged and nothing is deleted.
#[test]
fn signed_in_to_another_tenant_nothing_is_dropped_or_deleted() {
    let emulator = Emulator::start(&["--tenant", TENANT, "--tenant", OTHER_TENANT]);
    let az = StandInAz::new(&emulator, TENANT);
    let ws = Workspace::new(CONNECTOR_AND_CREDENTIAL).with_env(az.env(&emulator));
    ws.apply().assert_success();
    let before = ws.state_resources();
    assert_eq!(before[0].values["tenant_id"], TENANT);
    assert_eq!(emulator.psoxy_applications(Some(TENANT)).len(), 1);

    az.login(OTHER_TENANT);
    for args in [
        vec!["plan", "-no-color"],
        vec!["destroy", "-auto-approve", "-no-color"],
        vec!["destroy", "-auto-approve", "-refresh=false", "-no-color"],
    ] {
        let run = ws.terraform(&args);
        run.assert_failure();
        let text = run.flat();
        assert!(
            text.contains("Signed in to another tenant"),
            "{args:?}:\n{text}"
        );
        assert!(
            text.contains(TENANT) && text.contains(OTHER_TENANT),
            "both tenants named ({args:?}):\n{text}"
        );
        assert!(
            text.contains(&format!("az login --tenant {TENANT}")),
            "{text}"
        );
    }
    let after = ws.state_resources();
    assert_eq!(
        after.iter().map(|r| &r.values).collect::<Vec<_>>(),
        before.iter().map(|r| &r.values).collect::<Vec<_>>(),
        "state unchanged"
    );
    let apps = emulator.psoxy_applications(Some(TENANT));
    assert_eq!(apps.len(), 1, "nothing deleted in tenant A");
    assert_eq!(apps[0]["fics"].as_array().map(Vec::len), Some(1));
    assert!(emulator.psoxy_applications(Some(OTHER_TENANT)).is_empty());

    az.login(TENANT);
    ws.terraform(&["destroy", "-auto-approve", "-no-color"])
        .assert_success();
    assert!(emulator.psoxy_applications(Some(TENANT)).is_empty());
}

const CONNECTOR_WITH_SHORT_READ: &str = r#"
provider "psoxy" {}

resource "psoxy_msft_connector" "cal" {
  connectors = ["outlook-cal"]
  timeouts {
    read = "5s"
  }
}
"#;

/// A server that would keep the provider going: each loop ends with its own error,
/// inside its timeout.
#[test]
fn every_loop_is_bounded() {
    let emulator = Emulator::start(&[]);
    let ws = workspace(&emulator, CONNECTOR_WITH_SHORT_READ);
    ws.apply().assert_success();

    // 429 with Retry-After: 0, forever: retried no faster than twice a second, and
    // given up when the read timeout (5 s) runs out.
    emulator.clear_requests();
    emulator.set_fault_rules(json!([
        {"method": "POST", "path": "/$batch", "action": "retry_after_zero", "times": 0}
    ]));
    let started = Instant::now();
    let run = ws.terraform(&["plan", "-no-color"]);
    run.assert_failure();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(run.flat().contains("timeout ran out"), "{}", run.all());
    let throttled = emulator
        .logged_requests()
        .iter()
        .filter(|r| r.fault.as_deref() == Some("retry_after_zero"))
        .count();
    assert!(
        (2..=12).contains(&throttled),
        "{throttled} answers with Retry-After: 0 in 5 s"
    );

    // An answer far larger than any Graph sends: refused, naming the request.
    emulator.set_fault_rules(json!([
        {"method": "POST", "path": "/$batch", "action": "oversized_body", "size_bytes": 40_000_000u64, "times": 0}
    ]));
    let run = ws.terraform(&["plan", "-no-color"]);
    run.assert_failure();
    let text = run.flat();
    assert!(
        text.contains("larger than 32 MiB") && text.contains("$batch"),
        "{text}"
    );

    // A next-page link that never ends: the import's lookup by name stops.
    emulator.set_fault_rules(json!([]));
    let object_id = ws.state_resources()[0].values["object_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ws.write(
        "credential.tf",
        r#"resource "psoxy_federated_credential" "x" {
  application_object_id = psoxy_msft_connector.cal.object_id
  name                  = "psoxy-cal"
  gcp {
    service_account_unique_id = "1"
  }
}
"#,
    );
    emulator.set_fault_rules(json!([
        {"method": "GET", "path": "/applications/*/federatedIdentityCredentials", "action": "endless_next_link", "times": 0}
    ]));
    let started = Instant::now();
    let run = ws.terraform(&[
        "import",
        "-no-color",
        "psoxy_federated_credential.x",
        &format!("{object_id}/psoxy-cal"),
    ]);
    run.assert_failure();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(
        run.flat().contains("same next-page link twice"),
        "{}",
        run.all()
    );
    let endless: Value = json!(
        emulator
            .logged_requests()
            .iter()
            .filter(|r| r.fault.as_deref() == Some("endless_next_link"))
            .count()
    );
    assert_eq!(
        endless,
        json!(2),
        "the repeated link was seen on the second page"
    );
}

const CONNECTOR_WITH_SHORT_CREATE: &str = r#"
provider "psoxy" {}

resource "psoxy_msft_connector" "cal" {
  connectors = ["outlook-cal"]
  timeouts {
    create = "5s"
  }
}
"#;

/// A step after the application exists fails (its service principal throttled past
/// the create's timeout): the application is in state, tainted, with an error saying
/// so; untainted, the next apply completes it and keeps its client id.
#[test]
fn a_failure_after_the_application_exists_keeps_it_in_state() {
    let emulator = Emulator::start(&[]);
    emulator.set_fault_rules(json!([
        {"method": "POST", "path": "/servicePrincipals", "action": "retry_after_zero", "times": 0}
    ]));
    let ws = workspace(&emulator, CONNECTOR_WITH_SHORT_CREATE);
    let run = ws.apply();
    run.assert_failure();
    let text = run.flat();
    assert!(
        text.contains("Application created, but creating its service principal failed"),
        "{text}"
    );
    assert!(text.contains("terraform untaint"), "{text}");
    let apps = emulator.psoxy_applications(None);
    assert_eq!(apps.len(), 1);
    let state = ws.state_resources();
    assert_eq!(state[0].values["object_id"], apps[0]["data"]["id"]);
    assert!(state[0].tainted, "an unfinished create is tainted");
    assert_eq!(state[0].values["service_principal_object_id"], "");

    emulator.set_fault_rules(json!([]));
    ws.terraform(&["untaint", "-no-color", "psoxy_msft_connector.cal"])
        .assert_success();
    ws.apply().assert_success();
    let after = ws.state_resources();
    assert_eq!(after[0].values["client_id"], state[0].values["client_id"]);
    assert_ne!(after[0].values["service_principal_object_id"], "");
    assert_eq!(emulator.psoxy_applications(None).len(), 1);
    ws.assert_plan_empty();
}
