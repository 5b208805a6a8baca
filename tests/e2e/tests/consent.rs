//! Consent in the same apply, least privilege held, a disabled service principal
//! repaired, and admin-created applications adopted with `-generate-config-out`: real
//! terraform against the Graph emulator.

use e2e::{Emulator, Workspace};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// An identity holding Privileged Role Administrator (and Cloud Application
/// Administrator), made by the emulator's `--admin-client`.
const ADMIN_CLIENT: &str = "00000000-0000-4000-8000-0000000ad111";
const ADMIN_SECRET: &str = "admin-secret";

const CAL_ROLES: [&str; 4] = [
    "Calendars.Read",
    "Group.Read.All",
    "MailboxSettings.Read",
    "User.Read.All",
];

fn emulator() -> Emulator {
    Emulator::start(&["--admin-client", &format!("{ADMIN_CLIENT}:{ADMIN_SECRET}")])
}

/// Signed in as the administrator who may grant, or as `terraform-ci`, who may not.
fn workspace(emulator: &Emulator, main_tf: &str, as_admin: bool) -> Workspace {
    let mut env = emulator.provider_env();
    if as_admin {
        env.retain(|(k, _)| k != "ARM_CLIENT_ID" && k != "ARM_CLIENT_SECRET");
        env.push(("ARM_CLIENT_ID".into(), ADMIN_CLIENT.into()));
        env.push(("ARM_CLIENT_SECRET".into(), ADMIN_SECRET.into()));
    }
    Workspace::new(main_tf).with_env(env)
}

fn connector(connectors: &[&str], grant: bool) -> String {
    let list = connectors
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
provider "psoxy" {{}}

resource "psoxy_msft_connector" "x" {{
  connectors          = [{list}]
  display_name        = "Psoxy consent test"
  grant_admin_consent = {grant}
}}
"#
    )
}

fn state(ws: &Workspace) -> Value {
    ws.state_resources()
        .into_iter()
        .find(|r| r.address == "psoxy_msft_connector.x")
        .expect("the connector in state")
        .values
}

fn keys(map: &Value) -> BTreeSet<String> {
    map.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The Graph application permissions the emulator holds as granted to the
/// application's service principal, by name.
fn granted_in_graph(emulator: &Emulator, client_id: &str) -> BTreeSet<String> {
    let dir = emulator.directory(None);
    let sp_id = dir["service_principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["data"]["appId"] == client_id && sp["deleted_ms"].is_null())
        .map(|sp| sp["data"]["id"].as_str().unwrap().to_owned())
        .expect("the service principal");
    let graph_roles = dir["service_principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["data"]["appId"] == "00000003-0000-0000-c000-000000000000")
        .map(|sp| sp["data"]["appRoles"].clone())
        .unwrap();
    dir["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| if a["data"].is_object() { &a["data"] } else { a })
        .filter(|a| a["principalId"] == sp_id.as_str())
        .filter_map(|a| {
            graph_roles
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == a["appRoleId"])
                .and_then(|r| r["value"].as_str().map(str::to_owned))
        })
        .collect()
}

fn names(roles: &[&str]) -> BTreeSet<String> {
    roles.iter().map(|r| (*r).to_owned()).collect()
}

#[test]
fn consent_granted_in_one_apply_and_revoked_with_its_connector() {
    let emulator = emulator();
    let ws = workspace(&emulator, &connector(&["outlook-cal"], true), true);
    let run = ws.apply();
    run.assert_success();
    assert!(
        !run.flat().contains("Admin consent pending"),
        "nothing is pending:\n{}",
        run.all()
    );
    let values = state(&ws);
    assert_eq!(values["consent_granted"], true);
    assert_eq!(keys(&values["granted_app_roles"]), names(&CAL_ROLES));
    assert_eq!(keys(&values["excess_app_roles"]), BTreeSet::new());
    let client_id = values["client_id"].as_str().unwrap().to_owned();
    assert_eq!(granted_in_graph(&emulator, &client_id), names(&CAL_ROLES));
    let doc = values["consent_instructions"].as_str().unwrap();
    assert!(doc.contains("Admin consent: **granted**. "), "{doc}");
    assert!(doc.contains("Terraform granted it"), "{doc}");
    ws.assert_plan_empty();

    // A second connector's roles are granted in the apply that adds it...
    ws.write("main.tf", &connector(&["outlook-cal", "msft-teams"], true));
    ws.apply().assert_success();
    let teams_and_cal = keys(&state(&ws)["required_app_roles"]);
    assert!(teams_and_cal.len() > CAL_ROLES.len());
    assert_eq!(granted_in_graph(&emulator, &client_id), teams_and_cal);
    ws.assert_plan_empty();
    // ...and revoked in the apply that removes it.
    ws.write("main.tf", &connector(&["outlook-cal"], true));
    ws.apply().assert_success();
    assert_eq!(granted_in_graph(&emulator, &client_id), names(&CAL_ROLES));
    assert_eq!(keys(&state(&ws)["granted_app_roles"]), names(&CAL_ROLES));
    ws.assert_plan_empty();
}

#[test]
fn a_caller_who_may_not_grant_is_refused_before_anything_is_written() {
    let emulator = emulator();
    // terraform-ci holds Cloud Application Administrator only.
    let ws = workspace(&emulator, &connector(&["outlook-cal"], true), false);
    let run = ws.apply();
    run.assert_failure();
    let text = run.flat();
    assert!(
        text.contains("Not allowed to grant admin consent"),
        "{text}"
    );
    assert!(
        text.contains("Privileged Role Administrator") && text.contains("consent_instructions"),
        "{text}"
    );
    assert!(
        text.contains("grant_admin_consent = true"),
        "the diagnostic points at the attribute:\n{text}"
    );
    assert!(
        emulator.psoxy_applications(None).is_empty(),
        "nothing was written"
    );
}

#[test]
fn an_extra_role_granted_by_hand_is_flagged_then_revoked() {
    let emulator = emulator();
    let ws = workspace(&emulator, &connector(&["outlook-cal"], false), true);
    ws.apply().assert_success();
    let client_id = state(&ws)["client_id"].as_str().unwrap().to_owned();
    emulator.admin(
        "POST",
        "consent",
        Some(&json!({"appId": client_id, "roles": CAL_ROLES, "extra_roles": ["Mail.Read"]})),
    );

    let plan = ws.terraform(&["plan", "-no-color"]);
    plan.assert_success();
    let text = plan.flat();
    assert!(
        text.contains("Permissions granted beyond what the connectors need: Mail.Read"),
        "{text}"
    );
    assert!(text.contains("revoke"), "says how to revoke it:\n{text}");
    ws.terraform(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
        .assert_success();
    let values = state(&ws);
    assert_eq!(keys(&values["excess_app_roles"]), names(&["Mail.Read"]));
    assert!(
        values["consent_instructions"]
            .as_str()
            .unwrap()
            .contains("## Granted but not needed"),
        "the document lists it"
    );

    ws.write("main.tf", &connector(&["outlook-cal"], true));
    ws.apply().assert_success();
    assert_eq!(granted_in_graph(&emulator, &client_id), names(&CAL_ROLES));
    assert_eq!(keys(&state(&ws)["excess_app_roles"]), BTreeSet::new());
    ws.assert_plan_empty();
}

#[test]
fn a_disabled_service_principal_is_repaired() {
    let emulator = emulator();
    let ws = workspace(&emulator, &connector(&["outlook-cal"], false), false);
    ws.apply().assert_success();
    let client_id = state(&ws)["client_id"].as_str().unwrap().to_owned();
    emulator.admin(
        "POST",
        &format!("service-principals/{client_id}/disable"),
        None,
    );
    let plan = ws.terraform(&["plan", "-no-color"]);
    plan.assert_success();
    let text = plan.flat();
    assert!(
        text.contains("~ service_principal_enabled = false -> true"),
        "{text}"
    );
    assert!(
        text.contains("0 to add, 1 to change, 0 to destroy"),
        "{text}"
    );
    ws.apply().assert_success();
    let sp = emulator.directory(None)["service_principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["data"]["appId"] == client_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(sp["data"]["accountEnabled"], true);
    ws.assert_plan_empty();
}

/// `terraform plan -generate-config-out` for each admin-created application the
/// emulator seeds writes a configuration that validates and plans no replacement.
#[test]
fn generated_configuration_adopts_each_admin_created_application() {
    let emulator = emulator();
    for (object_id, expected) in [
        ("00000000-0000-4000-8000-00000000e001", "outlook-cal"),
        ("00000000-0000-4000-8000-00000000e002", "outlook-mail"),
    ] {
        let ws = workspace(
            &emulator,
            &format!(
                "provider \"psoxy\" {{}}\n\nimport {{\n  to = psoxy_msft_connector.adopted\n  id = \"{object_id}\"\n}}\n"
            ),
            false,
        );
        let generate = ws.terraform(&["plan", "-generate-config-out=generated.tf", "-no-color"]);
        generate.assert_success();
        let generated =
            std::fs::read_to_string(ws.path().join("generated.tf")).expect("generated.tf");
        assert!(
            generated.contains("connectors") && generated.contains(&format!("\"{expected}\"")),
            "{object_id}: {generated}"
        );
        ws.terraform(&["validate", "-no-color"]).assert_success();
        let plan = ws.terraform(&["plan", "-no-color"]);
        plan.assert_success();
        let text = plan.flat();
        assert!(text.contains("1 to import"), "{text}");
        assert!(
            !text.contains("must be replaced")
                && text.contains("0 to add")
                && text.contains("0 to destroy"),
            "{text}"
        );
    }
}

/// The same for a federated credential: the `gcp` block is inferred from issuer and
/// audience, and the values written twice are accepted.
#[test]
fn generated_configuration_adopts_a_credential() {
    let emulator = emulator();
    let app = "00000000-0000-4000-8000-00000000e001";
    let (status, created) = emulator.portal(
        "POST",
        &format!("/applications/{app}/federatedIdentityCredentials"),
        Some(&json!({
            "name": "psoxy-outlook-cal-gcp",
            "issuer": "https://accounts.google.com",
            "subject": "112233445566778899001",
            "audiences": ["api://AzureADTokenExchange"]
        })),
    );
    assert_eq!(status, 201, "{created}");
    let ws = workspace(
        &emulator,
        &format!(
            "provider \"psoxy\" {{}}\n\nimport {{\n  to = psoxy_federated_credential.adopted\n  id = \"{app}/psoxy-outlook-cal-gcp\"\n}}\n"
        ),
        false,
    );
    ws.terraform(&["plan", "-generate-config-out=generated.tf", "-no-color"])
        .assert_success();
    let generated = std::fs::read_to_string(ws.path().join("generated.tf")).unwrap();
    assert!(
        generated.contains("gcp {") && generated.contains("112233445566778899001"),
        "{generated}"
    );
    ws.terraform(&["validate", "-no-color"]).assert_success();
    let plan = ws.terraform(&["plan", "-detailed-exitcode", "-no-color"]);
    let text = plan.flat();
    assert!(
        text.contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "{text}"
    );
}

/// A plan that keeps consent as the prior state has it (here, only `purge_on_destroy`
/// changes), applied after an administrator granted consent in between: apply answers
/// what was planned, and the next refresh shows the grant.
#[test]
fn consent_granted_between_plan_and_apply_is_no_inconsistent_result() {
    let emulator = emulator();
    let ws = workspace(&emulator, &connector(&["outlook-cal"], false), false);
    ws.apply().assert_success();
    assert_eq!(state(&ws)["consent_granted"], false);
    let client_id = state(&ws)["client_id"].as_str().unwrap().to_owned();
    ws.write(
        "main.tf",
        &connector(&["outlook-cal"], false).replace(
            "grant_admin_consent = false",
            "grant_admin_consent = false\n  purge_on_destroy    = true",
        ),
    );
    ws.terraform(&["plan", "-out=tfplan", "-no-color"])
        .assert_success();
    emulator.admin(
        "POST",
        "consent",
        Some(&json!({"appId": client_id, "roles": CAL_ROLES})),
    );
    ws.terraform(&["apply", "-no-color", "tfplan"])
        .assert_success();
    ws.terraform(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
        .assert_success();
    assert_eq!(state(&ws)["consent_granted"], true);
    ws.assert_plan_empty();
}
