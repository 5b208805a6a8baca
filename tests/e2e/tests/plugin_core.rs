//! The plugin core as real Terraform sees it: validate, schema, plan/apply of the
//! connector catalog data source, diagnostics and logs.

use e2e::{Workspace, provider_binary};

const SPECS: &str = r#"
terraform {
  required_providers {
    psoxy = { source = "psoxy/psoxy" }
  }
}

provider "psoxy" {}

data "psoxy_msft_connector_specs" "teams" {
  ids = ["msft-teams"]
}

output "teams_permissions" {
  value = [for p in data.psoxy_msft_connector_specs.teams.connectors[0].permissions : p.name]
}

output "teams_roles" {
  value = data.psoxy_msft_connector_specs.teams.required_app_roles
}

output "teams_admin_step_role" {
  value = data.psoxy_msft_connector_specs.teams.connectors[0].extra_admin_steps[0].role
}
"#;

#[test]
fn validate_accepts_a_configuration_using_the_provider() {
    let ws = Workspace::new(SPECS);
    let run = ws.terraform(&["validate", "-no-color"]);
    run.assert_success();
    assert!(
        run.stdout.contains("The configuration is valid"),
        "{}",
        run.all()
    );
}

#[test]
fn schema_is_served_to_terraform() {
    let ws = Workspace::new(SPECS);
    let schema = ws
        .terraform(&["providers", "schema", "-json"])
        .assert_success()
        .json();
    let provider = &schema["provider_schemas"]["registry.terraform.io/psoxy/psoxy"];
    let attrs = &provider["provider"]["block"]["attributes"];
    assert_eq!(attrs["client_secret"]["sensitive"], true);
    assert_eq!(attrs["oidc_token"]["sensitive"], true);
    assert_eq!(attrs["tenant_id"]["optional"], true);
    assert_eq!(attrs["tenant_id"]["description_kind"], "markdown");
    let ds = &provider["data_source_schemas"]["psoxy_msft_connector_specs"]["block"]["attributes"];
    assert_eq!(ds["ids"]["optional"], true);
    assert_eq!(ds["connectors"]["computed"], true);
}

#[test]
fn apply_reads_the_teams_permissions() {
    let ws = Workspace::new(SPECS);
    ws.terraform(&["apply", "-auto-approve", "-no-color"])
        .assert_success();
    let outputs = ws.terraform(&["output", "-json"]).assert_success().json();
    let permissions: Vec<&str> = outputs["teams_permissions"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        permissions,
        [
            "User.Read.All",
            "Team.ReadBasic.All",
            "Channel.ReadBasic.All",
            "Chat.Read.All",
            "ChannelMessage.Read.All",
            "CallRecords.Read.All",
            "OnlineMeetings.Read.All",
            "OnlineMeetingArtifact.Read.All",
        ]
    );
    assert_eq!(
        outputs["teams_roles"]["value"]["Chat.Read.All"],
        "6b7d71aa-70aa-4810-a8d9-5d9fb2830017"
    );
    assert_eq!(
        outputs["teams_admin_step_role"]["value"],
        "Teams Administrator"
    );
    // Reading a data source again plans nothing.
    let plan = ws.terraform(&["plan", "-no-color", "-detailed-exitcode"]);
    assert!(plan.success, "second plan shows changes:\n{}", plan.all());
}

#[test]
fn an_unknown_connector_fails_with_a_suggestion() {
    let ws = Workspace::new(
        r#"
data "psoxy_msft_connector_specs" "x" {
  ids = ["outlook-cal", "outlok-mail"]
}
"#,
    );
    let run = ws.terraform(&["validate", "-no-color"]);
    run.assert_failure();
    let all = run.flat();
    assert!(all.contains("Unknown connector id"), "{all}");
    assert!(all.contains("Did you mean \"outlook-mail\"?"), "{all}");
    assert!(all.contains("msft-entra-id"), "{all}");

    // The diagnostic names the attribute path `ids[1]`: Terraform then points at that
    // element of the list (the whole list for `ids`, no source at all for no path).
    let json = ws.terraform(&["validate", "-json", "-no-color"]).json();
    let diagnostic = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["summary"] == "Unknown connector id")
        .unwrap_or_else(|| panic!("no diagnostic: {json}"))
        .clone();
    assert_eq!(highlighted(&diagnostic), r#""outlok-mail""#, "{diagnostic}");
    assert_eq!(diagnostic["range"]["start"]["line"], 3, "{diagnostic}");
}

/// The source a diagnostic points at (`terraform … -json`): the expression at the
/// diagnostic's attribute path.
#[track_caller]
fn highlighted(diagnostic: &serde_json::Value) -> &str {
    let snippet = &diagnostic["snippet"];
    let code = snippet["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no source: {diagnostic}"));
    let offset = |key: &str| snippet[key].as_u64().unwrap() as usize;
    code.get(offset("highlight_start_offset")..offset("highlight_end_offset"))
        .unwrap_or_else(|| panic!("{diagnostic}"))
}

#[test]
fn a_bad_provider_setting_names_the_attribute() {
    let ws = Workspace::new(
        r#"
provider "psoxy" {
  graph_endpoint = "http://graph.example.com"
}
data "psoxy_msft_connector_specs" "x" {}
"#,
    );
    let run = ws.terraform(&["plan", "-no-color"]);
    run.assert_failure();
    let all = run.flat();
    assert!(all.contains("plain HTTP"), "{all}");
    // The diagnostic names `graph_endpoint` (the echoed source line would contain the
    // name whatever the path): Terraform then points at its value.
    let plan = ws.terraform(&["plan", "-json", "-no-color"]);
    plan.assert_failure();
    let diagnostic = plan
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|l| l["diagnostic"].clone())
        .find(|d| d["summary"] == "Invalid endpoint")
        .unwrap_or_else(|| panic!("no diagnostic: {}", plan.stdout));
    assert_eq!(
        highlighted(&diagnostic),
        r#""http://graph.example.com""#,
        "{diagnostic}"
    );
}

#[test]
fn debug_logging_shows_the_providers_own_lines() {
    let ws = Workspace::new(SPECS);
    let run = ws.terraform_with_env(&["plan", "-no-color"], &[("TF_LOG", "debug")]);
    run.assert_success();
    let all = run.all();
    let provider_lines: Vec<&str> = all
        .lines()
        .filter(|l| {
            l.contains("provider.terraform-provider-psoxy") && l.contains("provider configured")
        })
        .collect();
    assert!(
        !provider_lines.is_empty(),
        "no provider log line in:\n{all}"
    );
    assert!(
        provider_lines[0].contains("[DEBUG]"),
        "{}",
        provider_lines[0]
    );
    // Raw JSON must not leak through: go-plugin parsed it.
    assert!(!all.contains("\"@message\""), "unparsed JSON log lines");
}

#[test]
fn running_the_binary_by_hand_explains_itself() {
    let out = std::process::Command::new(provider_binary())
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no handshake line without Terraform");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("plugin for Terraform"), "{stderr}");
}
