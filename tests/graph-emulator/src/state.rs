//! The directory model (users, applications, service principals, app-role
//! assignments) and the seeded default tenant; [`crate::tenants`] persists it.
//!
//! Applications and service principals are kept as Graph JSON objects so that
//! PATCH, `$select` and `$filter` work on exactly what clients see; only the
//! relationships Graph does not return inline (owners, FICs, secrets,
//! directory roles, soft-delete time) live in typed fields beside them.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::util::{graph_time, new_guid, now_ms};

pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
pub const MICROSOFT_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
/// The Azure CLI's public client id: the `appid` claim of user tokens minted by the admin side.
pub const AZ_CLI_APP_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

// Directory role template ids.
pub const ROLE_GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const ROLE_APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
pub const ROLE_CLOUD_APP_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
pub const ROLE_PRIV_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
pub const ROLE_TEAMS_ADMIN: &str = "69091246-20e8-4a56-aa4d-066075b2a7a8";

/// Role names accepted by the admin API, mapped to template ids.
pub fn role_template(name_or_id: &str) -> Option<&'static str> {
    let all = [
        ("Global Administrator", ROLE_GLOBAL_ADMIN),
        ("Application Administrator", ROLE_APP_ADMIN),
        ("Cloud Application Administrator", ROLE_CLOUD_APP_ADMIN),
        ("Privileged Role Administrator", ROLE_PRIV_ROLE_ADMIN),
        ("Teams Administrator", ROLE_TEAMS_ADMIN),
    ];
    all.iter()
        .find(|(n, id)| n.eq_ignore_ascii_case(name_or_id) || id.eq_ignore_ascii_case(name_or_id))
        .map(|(_, id)| *id)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    /// Directory role template ids.
    pub roles: Vec<String>,
    pub seq: u64,
}

impl User {
    pub fn to_graph(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.user",
            "id": self.id,
            "businessPhones": [],
            "displayName": self.display_name,
            "givenName": null,
            "jobTitle": null,
            "mail": self.upn,
            "mobilePhone": null,
            "officeLocation": null,
            "preferredLanguage": null,
            "surname": null,
            "userPrincipalName": self.upn,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Secret {
    pub key_id: String,
    pub display_name: Option<String>,
    pub secret: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Application {
    /// The Graph representation (without `@odata.context`).
    pub data: Map<String, Value>,
    pub owners: Vec<String>,
    /// Federated identity credentials as Graph returns them.
    pub fics: Vec<Map<String, Value>>,
    pub secrets: Vec<Secret>,
    pub deleted_ms: Option<u64>,
    pub seq: u64,
}

impl Application {
    pub fn id(&self) -> &str {
        text(&self.data, "id")
    }
    pub fn app_id(&self) -> &str {
        text(&self.data, "appId")
    }
    pub fn display_name(&self) -> &str {
        text(&self.data, "displayName")
    }
    /// The Graph view, with `passwordCredentials` rebuilt from the secrets (never
    /// their text), and every property of Graph's metadata present.
    pub fn to_graph(&self) -> Value {
        let mut d = self.data.clone();
        crate::schema::schema().complete("application", &mut d);
        // Key values are returned only to `$select=keyCredentials` on one object.
        if let Some(Value::Array(keys)) = d.get_mut("keyCredentials") {
            for k in keys.iter_mut() {
                if let Some(m) = k.as_object_mut() {
                    m.insert("key".into(), Value::Null);
                }
            }
        }
        d.insert(
            "passwordCredentials".into(),
            Value::Array(self.secrets.iter().map(secret_view).collect()),
        );
        d.insert(
            "deletedDateTime".into(),
            self.deleted_ms
                .map(|m| Value::String(graph_time(m)))
                .unwrap_or(Value::Null),
        );
        Value::Object(d)
    }
}

/// A string property of a Graph object, "" when absent.
fn text<'a>(data: &'a Map<String, Value>, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or_default()
}

pub fn secret_view(s: &Secret) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": s.display_name,
        "endDateTime": graph_time(s.end_ms),
        "hint": s.secret.chars().take(3).collect::<String>(),
        "keyId": s.key_id,
        "secretText": null,
        "startDateTime": graph_time(s.start_ms),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServicePrincipal {
    pub data: Map<String, Value>,
    /// Directory role template ids held by this identity (for app identities).
    pub roles: Vec<String>,
    pub owners: Vec<String>,
    pub deleted_ms: Option<u64>,
    pub seq: u64,
}

impl ServicePrincipal {
    pub fn id(&self) -> &str {
        text(&self.data, "id")
    }
    pub fn app_id(&self) -> &str {
        text(&self.data, "appId")
    }
    pub fn display_name(&self) -> &str {
        text(&self.data, "displayName")
    }
    pub fn to_graph(&self) -> Value {
        let mut d = self.data.clone();
        crate::schema::schema().complete("servicePrincipal", &mut d);
        d.insert(
            "deletedDateTime".into(),
            self.deleted_ms
                .map(|m| Value::String(graph_time(m)))
                .unwrap_or(Value::Null),
        );
        Value::Object(d)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Assignment {
    pub data: Map<String, Value>,
    pub seq: u64,
}

impl Assignment {
    pub fn get(&self, k: &str) -> &str {
        self.data.get(k).and_then(Value::as_str).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Directory {
    pub tenant_id: String,
    pub domain: String,
    pub org_name: String,
    /// HS256 key for the emulator's tokens, base64; persisted so tokens survive restarts.
    pub signing_key: String,
    pub users: Vec<User>,
    pub applications: Vec<Application>,
    pub service_principals: Vec<ServicePrincipal>,
    pub assignments: Vec<Assignment>,
    pub seq: u64,
}

pub(crate) fn random_key() -> String {
    let mut k = [0u8; 32];
    if aws_lc_rs::rand::fill(&mut k).is_err() {
        // Never expected; fall back to uuid randomness rather than a fixed key.
        k[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        k[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(k)
}

/// A new application's Graph JSON with every default Graph returns at create.
pub fn new_application_data(
    id: &str,
    app_id: &str,
    display_name: &str,
    domain: &str,
    now: u64,
) -> Map<String, Value> {
    let v = json!({
        "id": id,
        "deletedDateTime": null,
        "appId": app_id,
        "applicationTemplateId": null,
        "disabledByMicrosoftStatus": null,
        "createdDateTime": graph_time(now),
        "displayName": display_name,
        "description": null,
        "groupMembershipClaims": null,
        "identifierUris": [],
        "isDeviceOnlyAuthSupported": null,
        "isFallbackPublicClient": null,
        "nativeAuthenticationApisEnabled": null,
        "notes": null,
        "publisherDomain": domain,
        "serviceManagementReference": null,
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "tokenEncryptionKeyId": null,
        "uniqueName": null,
        "samlMetadataUrl": null,
        "defaultRedirectUri": null,
        "certification": null,
        "optionalClaims": null,
        "requestSignatureVerification": null,
        "servicePrincipalLockConfiguration": null,
        "addIns": [],
        "api": {
            "acceptMappedClaims": null,
            "knownClientApplications": [],
            "requestedAccessTokenVersion": null,
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": []
        },
        "appRoles": [],
        "info": {
            "logoUrl": null,
            "marketingUrl": null,
            "privacyStatementUrl": null,
            "supportUrl": null,
            "termsOfServiceUrl": null
        },
        "keyCredentials": [],
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [],
        "publicClient": {"redirectUris": []},
        "requiredResourceAccess": [],
        "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
        "web": {
            "homePageUrl": null,
            "logoutUrl": null,
            "redirectUris": [],
            "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
            "redirectUriSettings": []
        },
        "spa": {"redirectUris": []}
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A service principal's Graph JSON for an application (copies what Graph copies).
pub fn new_sp_data(id: &str, app: &Map<String, Value>, owner_tenant: &str) -> Map<String, Value> {
    let g = |k: &str| app.get(k).cloned().unwrap_or(Value::Null);
    let app_id = g("appId");
    let mut spns = vec![app_id.clone()];
    if let Some(Value::Array(uris)) = app.get("identifierUris") {
        spns.extend(uris.iter().cloned());
    }
    let scopes = app
        .get("api")
        .and_then(|a| a.get("oauth2PermissionScopes"))
        .cloned()
        .unwrap_or(json!([]));
    let v = json!({
        "id": id,
        "deletedDateTime": null,
        "accountEnabled": true,
        "alternativeNames": [],
        "appDisplayName": g("displayName"),
        "appDescription": g("description"),
        "appId": app_id,
        "applicationTemplateId": null,
        "appOwnerOrganizationId": owner_tenant,
        "appRoleAssignmentRequired": false,
        "description": null,
        "disabledByMicrosoftStatus": null,
        "displayName": g("displayName"),
        "homepage": null,
        "loginUrl": null,
        "logoutUrl": null,
        "notes": null,
        "notificationEmailAddresses": [],
        "preferredSingleSignOnMode": null,
        "preferredTokenSigningKeyThumbprint": null,
        "replyUrls": [],
        "servicePrincipalNames": spns,
        "servicePrincipalType": "Application",
        "signInAudience": g("signInAudience"),
        "tags": app.get("tags").cloned().unwrap_or(json!([])),
        "tokenEncryptionKeyId": null,
        "info": g("info"),
        "addIns": [],
        "appRoles": app.get("appRoles").cloned().unwrap_or(json!([])),
        "keyCredentials": [],
        "oauth2PermissionScopes": scopes,
        "passwordCredentials": [],
        "resourceSpecificApplicationPermissions": [],
        "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null}
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

impl Directory {
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn add_user(&mut self, id: &str, upn: &str, name: &str, roles: Vec<String>) -> &User {
        let seq = self.next_seq();
        self.users.push(User {
            id: id.into(),
            upn: upn.into(),
            display_name: name.into(),
            roles,
            seq,
        });
        self.users.last().expect("just pushed")
    }

    /// An application identity: app registration + service principal + secret +
    /// directory roles, the way a CI service principal is set up in a real tenant.
    pub fn add_app_identity(
        &mut self,
        object_id: &str,
        client_id: &str,
        sp_id: &str,
        name: &str,
        secret: &str,
        roles: Vec<String>,
    ) {
        let now = now_ms();
        let domain = self.domain.clone();
        let tenant = self.tenant_id.clone();
        let data = new_application_data(object_id, client_id, name, &domain, now);
        let seq = self.next_seq();
        let app = Application {
            data,
            owners: vec![],
            fics: vec![],
            secrets: vec![Secret {
                key_id: new_guid(),
                display_name: Some("emulator".into()),
                secret: secret.into(),
                start_ms: now,
                end_ms: now + 2 * 365 * 86_400_000,
            }],
            deleted_ms: None,
            seq,
        };
        let sp_data = new_sp_data(sp_id, &app.data, &tenant);
        self.applications.push(app);
        let seq = self.next_seq();
        self.service_principals.push(ServicePrincipal {
            data: sp_data,
            roles,
            owners: vec![],
            deleted_ms: None,
            seq,
        });
    }

    /// Ensures an `--admin-client` identity exists with its secret and both admin roles.
    pub fn ensure_admin_client(&mut self, client_id: &str, secret: &str) {
        let roles = vec![
            ROLE_CLOUD_APP_ADMIN.to_string(),
            ROLE_PRIV_ROLE_ADMIN.to_string(),
        ];
        if let Some(app) = self
            .applications
            .iter_mut()
            .find(|a| a.app_id() == client_id)
        {
            if !app.secrets.iter().any(|s| s.secret == secret) {
                let now = now_ms();
                app.secrets.push(Secret {
                    key_id: new_guid(),
                    display_name: Some("emulator".into()),
                    secret: secret.into(),
                    start_ms: now,
                    end_ms: now + 2 * 365 * 86_400_000,
                });
            }
            if let Some(sp) = self
                .service_principals
                .iter_mut()
                .find(|s| s.app_id() == client_id)
            {
                for r in roles {
                    if !sp.roles.contains(&r) {
                        sp.roles.push(r);
                    }
                }
            }
            return;
        }
        let name = format!("admin-client {client_id}");
        self.add_app_identity(&new_guid(), client_id, &new_guid(), &name, secret, roles);
    }

    /// Ensures the `--managed-identity`: an identity with both admin roles whose
    /// service principal is of type `ManagedIdentity`; it signs in only through
    /// the managed-identity endpoint (its secret is random and never shown).
    pub fn ensure_managed_identity(&mut self, client_id: &str) {
        if self.live_sp_by_app_id(client_id).is_none() {
            let roles = vec![
                ROLE_CLOUD_APP_ADMIN.to_string(),
                ROLE_PRIV_ROLE_ADMIN.to_string(),
            ];
            let name = format!("managed identity {client_id}");
            let secret = random_key();
            self.add_app_identity(&new_guid(), client_id, &new_guid(), &name, &secret, roles);
            if let Some(app) = self
                .applications
                .iter_mut()
                .find(|a| a.app_id() == client_id)
            {
                app.secrets.clear();
            }
        }
        if let Some(sp) = self
            .service_principals
            .iter_mut()
            .find(|s| s.deleted_ms.is_none() && s.app_id().eq_ignore_ascii_case(client_id))
        {
            sp.data
                .insert("servicePrincipalType".into(), json!("ManagedIdentity"));
        }
    }

    pub fn app(&self, id: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.id() == id)
    }
    pub fn app_mut(&mut self, id: &str) -> Option<&mut Application> {
        self.applications.iter_mut().find(|a| a.id() == id)
    }
    pub fn live_app_by_app_id(&self, app_id: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| a.deleted_ms.is_none() && a.app_id().eq_ignore_ascii_case(app_id))
    }
    pub fn sp(&self, id: &str) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.id() == id)
    }
    pub fn sp_mut(&mut self, id: &str) -> Option<&mut ServicePrincipal> {
        self.service_principals.iter_mut().find(|s| s.id() == id)
    }
    pub fn live_sp_by_app_id(&self, app_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals
            .iter()
            .find(|s| s.deleted_ms.is_none() && s.app_id().eq_ignore_ascii_case(app_id))
    }
    pub fn user(&self, id_or_upn: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(id_or_upn) || u.upn.eq_ignore_ascii_case(id_or_upn))
    }

    /// Any live directory object by id, in Graph's `directoryObject` form.
    pub fn directory_object(&self, id: &str) -> Option<Value> {
        if let Some(u) = self.user(id).filter(|u| u.id.eq_ignore_ascii_case(id)) {
            return Some(u.to_graph());
        }
        if let Some(sp) = self.sp(id).filter(|s| s.deleted_ms.is_none()) {
            let mut v = sp.to_graph();
            v["@odata.type"] = json!("#microsoft.graph.servicePrincipal");
            return Some(v);
        }
        if let Some(a) = self.app(id).filter(|a| a.deleted_ms.is_none()) {
            let mut v = a.to_graph();
            v["@odata.type"] = json!("#microsoft.graph.application");
            return Some(v);
        }
        None
    }

    /// Graph app-role values granted to a service principal on the Graph SP
    /// (these become the `roles` claim and app-only permissions).
    pub fn graph_permissions_of(&self, sp_id: &str) -> Vec<String> {
        let Some(gsp) = self.live_sp_by_app_id(GRAPH_APP_ID) else {
            return vec![];
        };
        self.assignments
            .iter()
            .filter(|a| a.get("principalId") == sp_id && a.get("resourceId") == gsp.id())
            .filter_map(|a| {
                let rid = a.get("appRoleId");
                crate::seed::GRAPH_APP_ROLES
                    .iter()
                    .find(|(_, id)| *id == rid)
                    .map(|(n, _)| n.to_string())
            })
            .collect()
    }

    /// Whether an assignment is visible: both ends must be live service principals
    /// (or a user principal).
    pub fn assignment_live(&self, a: &Assignment) -> bool {
        let live = |id: &str| {
            self.sp(id).map(|s| s.deleted_ms.is_none()).unwrap_or(false) || self.user(id).is_some()
        };
        live(a.get("principalId")) && live(a.get("resourceId"))
    }
}
