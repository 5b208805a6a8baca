//! The seeded tenant (README "Seeded tenant"): its users, the terraform-ci
//! identity, the Microsoft Graph service principal with its application
//! permissions, and two applications owned by a user without admin roles.

use serde_json::{Value, json};

use crate::state::{
    Application, Directory, GRAPH_APP_ID, MICROSOFT_TENANT, ROLE_CLOUD_APP_ADMIN,
    ROLE_PRIV_ROLE_ADMIN, ServicePrincipal, new_application_data, new_sp_data, random_key,
};
use crate::util::now_ms;

pub const DEFAULT_TENANT: &str = "00000000-0000-4000-8000-00000000a001";
pub const DEFAULT_DOMAIN: &str = "psoxy.test";

pub const USER_APP_ADMIN: &str = "00000000-0000-4000-8000-00000000b001";
pub const USER_OWNER: &str = "00000000-0000-4000-8000-00000000b002";
pub const USER_CONSENT_ADMIN: &str = "00000000-0000-4000-8000-00000000b003";

pub const CI_APP_OBJECT: &str = "00000000-0000-4000-8000-00000000c001";
pub const CI_CLIENT_ID: &str = "00000000-0000-4000-8000-00000000c101";
pub const CI_SP: &str = "00000000-0000-4000-8000-00000000c201";
pub const CI_SECRET: &str = "terraform-ci-secret";

pub const GRAPH_SP: &str = "00000000-0000-4000-8000-00000000d001";

pub const OWNED_APP1_OBJECT: &str = "00000000-0000-4000-8000-00000000e001";
pub const OWNED_APP1_CLIENT: &str = "00000000-0000-4000-8000-00000000e101";
pub const OWNED_APP1_SP: &str = "00000000-0000-4000-8000-00000000e201";
pub const OWNED_APP2_OBJECT: &str = "00000000-0000-4000-8000-00000000e002";
pub const OWNED_APP2_CLIENT: &str = "00000000-0000-4000-8000-00000000e102";

/// Microsoft Graph application permissions (appRole ids): psoxy-msft-connectors.md §2
/// plus msgraph-behaviour.md A13.
pub const GRAPH_APP_ROLES: &[(&str, &str)] = &[
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b"),
    (
        "GroupMember.Read.All",
        "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    ),
    (
        "MailboxSettings.Read",
        "40f97065-369a-49f4-947c-6a255697ae91",
    ),
    ("Calendars.Read", "798ee544-9d2d-430c-a058-570e29e34338"),
    ("Mail.ReadBasic.All", "693c5e45-0940-467d-9b8a-1022fb9d42ef"),
    ("Mail.ReadBasic", "6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a"),
    ("Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    ("Files.Read.All", "01d4889c-1287-42c6-ac1f-5d1e02578ef6"),
    ("Sites.Read.All", "332a536c-c7ef-4017-ab91-336970924f0d"),
    ("Team.ReadBasic.All", "2280dda6-0bfd-44ee-a2f4-cb867cfc4c1e"),
    (
        "Channel.ReadBasic.All",
        "59a6b24b-4225-4393-8165-ebaec5f55d7a",
    ),
    ("Chat.Read.All", "6b7d71aa-70aa-4810-a8d9-5d9fb2830017"),
    (
        "ChannelMessage.Read.All",
        "7b2449af-6ccd-4f4d-9f78-e550c193f0d1",
    ),
    (
        "CallRecords.Read.All",
        "45bbb07e-7321-4fd7-a8f6-3ff27e6a81c8",
    ),
    (
        "OnlineMeetings.Read.All",
        "c1684f21-1984-47fa-9d61-2dc8c296bb70",
    ),
    (
        "OnlineMeetingArtifact.Read.All",
        "df01ed3b-eb61-4eca-9965-6b3d789751b2",
    ),
    (
        "OnlineMeetingTranscript.Read.All",
        "a4a80d8d-d283-4bd8-8504-555ec3870630",
    ),
    (
        "OnlineMeetingRecording.Read.All",
        "a4a08342-c95d-476b-b943-97e100569c8d",
    ),
    (
        "AiEnterpriseInteraction.Read.All",
        "839c90ab-5771-41ee-aef8-a562e8487c1e",
    ),
    ("Place.Read.All", "913b9306-0ce1-42b8-9137-6a7df690a760"),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
    (
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    ),
    (
        "Organization.Read.All",
        "498476ce-e0fe-48b0-b801-37ba7e2685c6",
    ),
    (
        "Application.ReadWrite.OwnedBy",
        "18a4783c-866b-4cc7-a460-3d5e5662c884",
    ),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
    ),
];

fn graph_sp(now: u64) -> ServicePrincipal {
    let roles: Vec<Value> = GRAPH_APP_ROLES
        .iter()
        .map(|(name, id)| {
            json!({
                "allowedMemberTypes": ["Application"],
                "description": format!("Allows the app to use the {name} permission without a signed-in user."),
                "displayName": format!("{name} (application permission)"),
                "id": id,
                "isEnabled": true,
                "origin": "Application",
                "value": name,
            })
        })
        .collect();
    let scopes = json!([
        {"adminConsentDescription": "Allows users to sign-in to the app, and allows the app to read the profile of signed-in users.",
         "adminConsentDisplayName": "Sign in and read user profile", "id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
         "isEnabled": true, "type": "User", "userConsentDescription": null, "userConsentDisplayName": null, "value": "User.Read"},
        {"adminConsentDescription": "Allows the app to read the full set of profile properties of all users on behalf of the signed-in user.",
         "adminConsentDisplayName": "Read all users' full profiles", "id": "a154be20-db9c-4678-8ab7-66f6cc099a59",
         "isEnabled": true, "type": "Admin", "userConsentDescription": null, "userConsentDisplayName": null, "value": "User.Read.All"}
    ]);
    let mut app = new_application_data("", GRAPH_APP_ID, "Microsoft Graph", "microsoft.com", now);
    app.insert("appRoles".into(), Value::Array(roles));
    app.insert(
        "identifierUris".into(),
        json!([
            "https://graph.microsoft.com",
            "https://graph.microsoft.com/"
        ]),
    );
    app.insert("signInAudience".into(), json!("AzureADMultipleOrgs"));
    app.get_mut("api")
        .and_then(Value::as_object_mut)
        .map(|a| a.insert("oauth2PermissionScopes".into(), scopes));
    let mut data = new_sp_data(GRAPH_SP, &app, MICROSOFT_TENANT);
    data.insert(
        "servicePrincipalNames".into(),
        json!([
            GRAPH_APP_ID,
            "https://graph.microsoft.com",
            "https://graph.microsoft.com/"
        ]),
    );
    data.insert("appDescription".into(), Value::Null);
    ServicePrincipal {
        data,
        roles: vec![],
        owners: vec![],
        deleted_ms: None,
        seq: 0,
    }
}

impl Directory {
    /// The seeded default tenant (see README "Seeded tenant").
    pub fn seeded(tenant_id: &str, signing_key: Option<String>) -> Directory {
        let now = now_ms();
        let mut d = Directory {
            tenant_id: tenant_id.to_string(),
            domain: DEFAULT_DOMAIN.into(),
            org_name: "Psoxy Test Tenant".into(),
            signing_key: signing_key.unwrap_or_else(random_key),
            users: vec![],
            applications: vec![],
            service_principals: vec![],
            assignments: vec![],
            seq: 0,
        };
        d.add_user(
            USER_APP_ADMIN,
            "app-admin@psoxy.test",
            "App Admin",
            vec![ROLE_CLOUD_APP_ADMIN.into()],
        );
        d.add_user(USER_OWNER, "owner@psoxy.test", "App Owner", vec![]);
        d.add_user(
            USER_CONSENT_ADMIN,
            "consent-admin@psoxy.test",
            "Consent Admin",
            vec![ROLE_PRIV_ROLE_ADMIN.into()],
        );

        let mut gsp = graph_sp(now);
        gsp.seq = d.next_seq();
        d.service_principals.push(gsp);

        d.add_app_identity(
            CI_APP_OBJECT,
            CI_CLIENT_ID,
            CI_SP,
            "terraform-ci",
            CI_SECRET,
            vec![ROLE_CLOUD_APP_ADMIN.into()],
        );

        // Made by an administrator as psoxy's documentation says, before Terraform:
        // App One asks for what the Outlook Calendar connector needs, App Two for the
        // Outlook Mail connector's permissions plus one no connector needs.
        let outlook_cal = [
            "798ee544-9d2d-430c-a058-570e29e34338", // Calendars.Read
            "40f97065-369a-49f4-947c-6a255697ae91", // MailboxSettings.Read
            "5b567255-7703-4780-807c-7be8301ae99b", // Group.Read.All
            "df021288-bdef-4463-88db-98f22de89214", // User.Read.All
        ];
        let outlook_mail_and_more = [
            "693c5e45-0940-467d-9b8a-1022fb9d42ef", // Mail.ReadBasic.All
            "40f97065-369a-49f4-947c-6a255697ae91", // MailboxSettings.Read
            "5b567255-7703-4780-807c-7be8301ae99b", // Group.Read.All
            "df021288-bdef-4463-88db-98f22de89214", // User.Read.All
            "810c84a8-4a9e-49e6-bf7d-12d183f40d01", // Mail.Read
        ];
        for (obj, client, name, roles) in [
            (
                OWNED_APP1_OBJECT,
                OWNED_APP1_CLIENT,
                "Owned App One",
                &outlook_cal[..],
            ),
            (
                OWNED_APP2_OBJECT,
                OWNED_APP2_CLIENT,
                "Owned App Two",
                &outlook_mail_and_more[..],
            ),
        ] {
            let mut data = new_application_data(obj, client, name, DEFAULT_DOMAIN, now);
            data.insert(
                "requiredResourceAccess".into(),
                json!([{
                    "resourceAppId": GRAPH_APP_ID,
                    "resourceAccess": roles
                        .iter()
                        .map(|id| json!({"id": id, "type": "Role"}))
                        .collect::<Vec<_>>(),
                }]),
            );
            let seq = d.next_seq();
            d.applications.push(Application {
                data,
                owners: vec![USER_OWNER.into()],
                fics: vec![],
                secrets: vec![],
                deleted_ms: None,
                seq,
            });
        }
        let app1 = d
            .applications
            .iter()
            .find(|a| a.id() == OWNED_APP1_OBJECT)
            .map(|a| a.data.clone());
        if let Some(app1) = app1 {
            let data = new_sp_data(OWNED_APP1_SP, &app1, tenant_id);
            let seq = d.next_seq();
            d.service_principals.push(ServicePrincipal {
                data,
                roles: vec![],
                owners: vec![],
                deleted_ms: None,
                seq,
            });
        }
        d
    }
}
