//! A refresh costs a handful of Graph operations whatever the number of resources and
//! whatever else the tenant holds, and still sees what changed in the tenant between
//! two Terraform commands.

use e2e::{Emulator, Workspace};
use serde_json::json;

fn config(n: usize) -> String {
    format!(
        r#"
provider "psoxy" {{}}

resource "psoxy_msft_connector" "c" {{
  count        = {n}
  connectors   = ["outlook-cal"]
  display_name = "Psoxy refresh ${{count.index}}"
}}

resource "psoxy_federated_credential" "f" {{
  count                 = {n}
  application_object_id = psoxy_msft_connector.c[count.index].object_id
  name                  = "psoxy-refresh-${{count.index}}"
  gcp {{
    service_account_unique_id = "1000${{count.index}}"
  }}
}}
"#
    )
}

/// The Graph operations (a `$batch`'s items one by one) a `terraform plan` costs, by
/// path, and what the plan printed.
fn plan_reads(emulator: &Emulator, ws: &Workspace, args: &[&str]) -> (Vec<String>, String) {
    emulator.clear_requests();
    let run = ws.terraform(args);
    assert!(run.success, "{}", run.all());
    let reads = emulator
        .logged_requests()
        .into_iter()
        .filter(|r| r.path != "/v1.0/$batch")
        .map(|r| r.path)
        .collect();
    (reads, run.flat())
}

/// How many Graph operations a `terraform plan` costs, and what it printed.
fn plan_operations(emulator: &Emulator, ws: &Workspace) -> (usize, String) {
    let (reads, text) = plan_reads(emulator, ws, &["plan", "-no-color"]);
    (reads.len(), text)
}

/// A value of the second connector in state.
fn second_connector(ws: &Workspace, attribute: &str) -> String {
    ws.state_resources()
        .into_iter()
        .find(|r| r.address == "psoxy_msft_connector.c[1]")
        .map(|r| r.values[attribute].as_str().unwrap().to_owned())
        .unwrap()
}

#[test]
fn a_refresh_costs_the_same_for_five_resources_or_a_crowded_tenant() {
    let emulator = Emulator::start(&[]);
    let ws = Workspace::new(&config(5)).with_env(emulator.provider_env());
    ws.apply().assert_success();
    let (quiet, text) = plan_operations(&emulator, &ws);
    assert!(text.contains("No changes."), "{text}");
    // Three tagged listings and Microsoft Graph's service principal.
    assert_eq!(quiet, 4, "ten resources refreshed in {quiet} operations");

    // Three hundred applications that are not the provider's change nothing.
    for i in 0..300 {
        emulator.admin(
            "POST",
            "applications",
            Some(&json!({"displayName": format!("Someone else's app {i}")})),
        );
    }
    let (crowded, text) = plan_operations(&emulator, &ws);
    assert!(text.contains("No changes."), "{text}");
    assert_eq!(
        crowded, quiet,
        "a crowded tenant refreshed in {crowded} operations"
    );
}

#[test]
fn a_change_between_two_commands_is_seen() {
    let emulator = Emulator::start(&[]);
    let ws = Workspace::new(&config(2)).with_env(emulator.provider_env());
    ws.apply().assert_success();
    let object_id = second_connector(&ws, "object_id");
    let (status, _) = emulator.portal(
        "PATCH",
        &format!("/applications/{object_id}"),
        Some(&json!({"displayName": "Renamed in the portal"})),
    );
    assert_eq!(status, 204);
    let (operations, text) = plan_operations(&emulator, &ws);
    assert_eq!(operations, 4, "served from one listing");
    assert!(
        text.contains(r#"~ display_name = "Renamed in the portal" -> "Psoxy refresh 1""#),
        "{text}"
    );
    assert!(
        text.contains("0 to add, 1 to change, 0 to destroy"),
        "{text}"
    );
}

/// A service principal the tagged listing does not hold (made by an earlier version of
/// the provider, without the `psoxy:managed` tag) costs a read of that service
/// principal alone: the listed application is not read again.
#[test]
fn a_service_principal_missing_from_the_listing_is_read_on_its_own() {
    let emulator = Emulator::start(&[]);
    let ws = Workspace::new(&config(2)).with_env(emulator.provider_env());
    ws.apply().assert_success();
    let object_id = second_connector(&ws, "object_id");
    let client_id = second_connector(&ws, "client_id");
    let sp_id = second_connector(&ws, "service_principal_object_id");
    let (status, _) = emulator.portal(
        "PATCH",
        &format!("/servicePrincipals/{sp_id}"),
        Some(&json!({"tags": ["WindowsAzureActiveDirectoryIntegratedApp"]})),
    );
    assert_eq!(status, 204);

    // -detailed-exitcode: success only when the plan has no changes.
    let (reads, _) = plan_reads(&emulator, &ws, &["plan", "-detailed-exitcode", "-no-color"]);
    assert!(
        reads
            .iter()
            .any(|p| p == &format!("/v1.0/servicePrincipals(appId='{client_id}')")),
        "the untagged service principal was not read directly: {reads:?}"
    );
    assert!(
        !reads
            .iter()
            .any(|p| p.starts_with(&format!("/v1.0/applications/{object_id}"))),
        "the listed application was read again: {reads:?}"
    );
    // The four of the listing, and the one service principal.
    assert_eq!(reads.len(), 5, "{reads:?}");
}
