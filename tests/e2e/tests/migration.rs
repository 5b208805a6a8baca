//! `examples/migrate-from-azuread` against a tenant where psoxy's azuread modules left
//! their applications and federated credentials: the plan imports them all, adds and
//! destroys nothing, the apply succeeds, and the next plan is empty. Client ids, names,
//! credentials and consent already granted all survive.
//!
//! The psoxy side is built the way psoxy's modules build it
//! (psoxy's own modules): one application per connector named
//! `Psoxy Connector - <name> <environment id> ` (trailing space), tag `HideApp`,
//! `requiredResourceAccess` with the connector's Graph roles, the caller as owner, no
//! service principal; credentials named `<env>AccessFromAWS` / `GcpFederation`. The
//! `removed {}` half of the migration runs in the old configuration with the azuread
//! provider, which cannot be installed here; the guide documents it.

use e2e::{Emulator, Workspace, workspace_root};
use serde_json::{Value, json};

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const POOL: &str = "us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const IDENTITY: &str = "us-east-1:22222222-2222-4222-8222-222222222222";
const GCP_UNIQUE_ID: &str = "112233445566778899001";
/// The user who ran psoxy's Terraform (Cloud Application Administrator).
const PSOXY_RUNNER: &str = "00000000-0000-4000-8000-00000000b001";

const CAL_NAME: &str = "Psoxy Connector - Outlook Calendar psoxy ";
const ENTRA_NAME: &str = "Psoxy Connector - Microsoft Entra ID (former Azure AD) psoxy ";
const AWS_DESCRIPTION: &str =
    "AWS federation to be used for psoxy Connector - Outlook Calendar psoxy ";

/// An application as psoxy's azuread-connection module creates it.
fn psoxy_application(emulator: &Emulator, name: &str, roles: &[&str]) -> Value {
    emulator.admin(
        "POST",
        "applications",
        Some(&json!({
            "displayName": name,
            "signInAudience": "AzureADMyOrg",
            "tags": ["HideApp"],
            "requiredResourceAccess": [{
                "resourceAppId": GRAPH,
                "resourceAccess": roles.iter().map(|id| json!({"id": id, "type": "Role"})).collect::<Vec<_>>(),
            }],
            "owners": [PSOXY_RUNNER],
        })),
    )
}

/// A credential as psoxy's azuread-federated-credentials module creates it.
fn psoxy_credential(emulator: &Emulator, object_id: &str, body: Value) -> Value {
    let (status, created) = emulator.portal(
        "POST",
        &format!("/applications/{object_id}/federatedIdentityCredentials"),
        Some(&body),
    );
    assert_eq!(status, 201, "{created}");
    created
}

fn psoxy_applications(emulator: &Emulator) -> Vec<Value> {
    let (status, body) = emulator.portal(
        "GET",
        "/applications?$filter=startswith(displayName,'Psoxy')",
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["value"].as_array().unwrap().clone()
}

#[test]
fn migration_example_adopts_psoxy_made_applications_and_credentials_without_replacing_them() {
    let emulator = Emulator::start(&[]);

    // What psoxy's modules left: Outlook Calendar on AWS (consent never granted), and
    // Entra ID on GCP, whose consent an administrator granted in the portal (which
    // created its service principal).
    let cal = psoxy_application(
        &emulator,
        CAL_NAME,
        &[
            "798ee544-9d2d-430c-a058-570e29e34338", // Calendars.Read
            "40f97065-369a-49f4-947c-6a255697ae91", // MailboxSettings.Read
            "5b567255-7703-4780-807c-7be8301ae99b", // Group.Read.All
            "df021288-bdef-4463-88db-98f22de89214", // User.Read.All
        ],
    );
    let entra = psoxy_application(
        &emulator,
        ENTRA_NAME,
        &[
            "df021288-bdef-4463-88db-98f22de89214", // User.Read.All
            "5b567255-7703-4780-807c-7be8301ae99b", // Group.Read.All
            "40f97065-369a-49f4-947c-6a255697ae91", // MailboxSettings.Read
        ],
    );
    let cal_id = cal["id"].as_str().unwrap().to_owned();
    let cal_client = cal["appId"].as_str().unwrap().to_owned();
    let entra_id = entra["id"].as_str().unwrap().to_owned();
    let entra_client = entra["appId"].as_str().unwrap().to_owned();
    emulator.admin(
        "POST",
        "consent",
        Some(&json!({"applicationObjectId": entra_id})),
    );
    let aws = psoxy_credential(
        &emulator,
        &cal_id,
        json!({
            "name": "psoxyAccessFromAWS",
            "description": AWS_DESCRIPTION,
            "issuer": "https://cognito-identity.amazonaws.com",
            "subject": IDENTITY,
            "audiences": [POOL],
        }),
    );
    let gcp = psoxy_credential(
        &emulator,
        &entra_id,
        json!({
            "name": "GcpFederation",
            "issuer": "https://accounts.google.com",
            "subject": GCP_UNIQUE_ID,
            "audiences": ["api://AzureADTokenExchange"],
        }),
    );
    let gcp_credential_id = gcp["id"].as_str().unwrap();

    // The example, with the tfvars a psoxy operator would write: the calendar
    // application by object id and its credential by psoxy's default name; the Entra
    // ID application by client id and its credential by credential id.
    let dir = workspace_root().join("examples/migrate-from-azuread");
    let ws = Workspace::new(&std::fs::read_to_string(dir.join("main.tf")).unwrap())
        .with_env(emulator.provider_env());
    ws.write(
        "terraform.tfvars",
        &format!(
            r#"
environment_id       = "psoxy"
aws_identity_pool_id = "{POOL}"
connectors = {{
  "outlook-cal" = {{
    application_id = "{cal_id}"
    aws_credential = {{
      identity_id = "{IDENTITY}"
      description = "{AWS_DESCRIPTION}"
    }}
  }}
  "msft-entra-id" = {{
    application_id = "{entra_client}"
    gcp_credential = {{
      service_account_unique_id = "{GCP_UNIQUE_ID}"
      credential_id             = "{gcp_credential_id}"
    }}
  }}
}}
"#
        ),
    );

    // The plan: four imports, nothing added, nothing destroyed, nothing replaced.
    let plan = ws.terraform(&["plan", "-out=migration.tfplan", "-no-color"]);
    plan.assert_success();
    let flat = plan.flat();
    assert!(
        flat.contains("Plan: 4 to import, 0 to add,") && flat.contains(", 0 to destroy."),
        "{}",
        plan.all()
    );
    let shown = ws
        .terraform(&["show", "-json", "migration.tfplan"])
        .assert_success()
        .json();
    let changes = shown["resource_changes"].as_array().unwrap();
    let mut imported = Vec::new();
    for change in changes {
        let address = change["address"].as_str().unwrap();
        let actions: Vec<&str> = change["change"]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(
            !actions.contains(&"create") && !actions.contains(&"delete"),
            "{address} would be {actions:?}:\n{}",
            plan.all()
        );
        if change["change"]["importing"].is_object() {
            imported.push(address.to_owned());
        }
    }
    imported.sort();
    assert_eq!(
        imported,
        [
            "psoxy_federated_credential.aws[\"outlook-cal\"]",
            "psoxy_federated_credential.gcp[\"msft-entra-id\"]",
            "psoxy_msft_connector.connector[\"msft-entra-id\"]",
            "psoxy_msft_connector.connector[\"outlook-cal\"]",
        ]
    );
    // psoxy's names are kept, trailing space and all: no rename.
    for change in changes
        .iter()
        .filter(|c| c["type"] == "psoxy_msft_connector")
    {
        let before = &change["change"]["before"]["display_name"];
        assert!(before.as_str().unwrap().ends_with(" psoxy "), "{before}");
        assert_eq!(
            before, &change["change"]["after"]["display_name"],
            "the plan renames {}",
            change["address"]
        );
    }

    ws.terraform(&["apply", "-no-color", "migration.tfplan"])
        .assert_success();
    let again = ws.terraform(&["plan", "-detailed-exitcode", "-no-color"]);
    assert!(again.success, "second plan not empty:\n{}", again.all());

    // Same applications (no new one), same client ids and names, same credentials,
    // consent kept.
    let apps = psoxy_applications(&emulator);
    assert_eq!(apps.len(), 2, "{apps:?}");
    for (id, client, name) in [
        (&cal_id, &cal_client, CAL_NAME),
        (&entra_id, &entra_client, ENTRA_NAME),
    ] {
        let app = apps.iter().find(|a| a["id"] == id.as_str()).unwrap();
        assert_eq!(app["appId"], client.as_str());
        assert_eq!(app["displayName"], name);
    }
    let out = ws.terraform(&["output", "-json"]).assert_success().json();
    assert_eq!(
        out["client_ids"]["value"]["outlook-cal"],
        cal_client.as_str()
    );
    assert_eq!(
        out["client_ids"]["value"]["msft-entra-id"],
        entra_client.as_str()
    );
    assert_eq!(out["consent_granted"]["value"]["msft-entra-id"], true);
    assert_eq!(out["consent_granted"]["value"]["outlook-cal"], false);
    let state = ws.terraform(&["show", "-json"]).assert_success().json();
    let resources = state["values"]["root_module"]["resources"]
        .as_array()
        .unwrap();
    let credential = |address: &str| {
        resources
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} not in state"))["values"]
            .clone()
    };
    assert_eq!(
        credential("psoxy_federated_credential.aws[\"outlook-cal\"]")["credential_id"],
        aws["id"]
    );
    assert_eq!(
        credential("psoxy_federated_credential.gcp[\"msft-entra-id\"]")["credential_id"],
        gcp["id"]
    );
    // The calendar application had no service principal; it has one now, ready for
    // consent.
    let (status, sp) = emulator.portal(
        "GET",
        &format!("/servicePrincipals(appId='{cal_client}')"),
        None,
    );
    assert_eq!(status, 200, "{sp}");
}
