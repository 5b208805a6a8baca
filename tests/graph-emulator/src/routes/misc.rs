//! Who-am-I endpoints (`/me`, `/organization`, `/users`, `/directoryObjects`)
//! and the discovery documents other Azure clients read.

use serde_json::{Value, json};

use super::{Ctx, Seg, entity};
use crate::Emulator;
use crate::auth::Kind;
use crate::errors::{GResult, GraphError, Resp};
use crate::lock;
use crate::odata::Resource;

const USERS: Resource = Resource {
    type_name: "microsoft.graph.user",
    label: "User",
    entities: &["user"],
    filterable: &["id", "userPrincipalName", "displayName", "mail"],
    expandable: &[],
};

const ORGANIZATION: Resource = Resource {
    type_name: "microsoft.graph.organization",
    label: "Organization",
    entities: &["organization"],
    filterable: &["id"],
    expandable: &[],
};

pub fn organization(ctx: &Ctx) -> Value {
    let mut org = json!({
        "id": ctx.dir.tenant_id,
        "deletedDateTime": null,
        "businessPhones": [],
        "city": null,
        "country": null,
        "countryLetterCode": "US",
        "createdDateTime": "2024-01-01T00:00:00Z",
        "displayName": ctx.dir.org_name,
        "tenantType": "AAD",
        "mobileDeviceManagementAuthority": "unknown",
        "onPremisesSyncEnabled": null,
        "verifiedDomains": [
            {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true, "isInitial": true,
             "name": ctx.dir.domain, "type": "Managed"}
        ],
    });
    if let Value::Object(m) = &mut org {
        crate::schema::schema().complete("organization", m);
    }
    org
}

pub fn route(ctx: &mut Ctx, segs: &[Seg]) -> GResult {
    let names: Vec<&str> = segs.iter().map(|s| s.name.as_str()).collect();
    if ctx.req.method != "GET" {
        return Err(GraphError::method_not_allowed());
    }
    match names.as_slice() {
        ["me"] => {
            if ctx.who.kind != Kind::User {
                return Err(GraphError::new(
                    400,
                    "BadRequest",
                    "/me request is only valid with delegated authentication flow.",
                ));
            }
            let u = ctx
                .dir
                .user(&ctx.who.oid)
                .ok_or_else(|| GraphError::not_found(&ctx.who.oid))?;
            let q = ctx.entity_query(&USERS)?;
            let mut v = u.to_graph();
            if let Value::Object(m) = &mut v {
                m.remove("@odata.type");
            }
            Ok(Resp::ok(entity(
                ctx.context(&format!("{}/$entity", q.context("users"))),
                q.project(v),
            )))
        }
        ["organization"] => {
            let q = ctx.list_query(&ORGANIZATION)?;
            let context = ctx.context(&q.context("organization"));
            Ok(Resp::ok(q.page(
                vec![organization(ctx)],
                &context,
                &ctx.self_url(),
            )))
        }
        ["organization", id] => {
            if !id.eq_ignore_ascii_case(&ctx.dir.tenant_id) {
                return Err(GraphError::not_found(id));
            }
            let q = ctx.entity_query(&ORGANIZATION)?;
            Ok(Resp::ok(entity(
                ctx.context(&format!("{}/$entity", q.context("organization"))),
                q.project(organization(ctx)),
            )))
        }
        ["users"] => {
            let q = ctx.list_query(&USERS)?;
            let items: Vec<Value> = ctx
                .dir
                .users
                .iter()
                .map(|u| {
                    let mut v = u.to_graph();
                    if let Value::Object(m) = &mut v {
                        m.remove("@odata.type");
                    }
                    v
                })
                .filter(|v| q.matches(v))
                .collect();
            let context = ctx.context(&q.context("users"));
            Ok(Resp::ok(q.page(items, &context, &ctx.self_url())))
        }
        ["users", id] => {
            let q = ctx.entity_query(&USERS)?;
            let u = ctx.dir.user(id).ok_or_else(|| GraphError::not_found(id))?;
            let mut v = u.to_graph();
            if let Value::Object(m) = &mut v {
                m.remove("@odata.type");
            }
            Ok(Resp::ok(entity(
                ctx.context(&format!("{}/$entity", q.context("users"))),
                q.project(v),
            )))
        }
        ["directoryObjects", id] => {
            let v = ctx
                .dir
                .directory_object(id)
                .ok_or_else(|| GraphError::not_found(id))?;
            Ok(Resp::ok(entity(ctx.context("directoryObjects/$entity"), v)))
        }
        _ => Err(GraphError::segment(
            &segs.last().map(|s| s.raw.clone()).unwrap_or_default(),
        )),
    }
}

/// `/metadata/endpoints?api-version=2022-09-01`: one cloud whose Graph, login
/// and resource manager are all this emulator.
pub fn cloud_metadata(emu: &Emulator) -> Resp {
    let b = &emu.base_url;
    let tenant = lock(&emu.tenants).home_tenant.clone();
    Resp::ok(json!({
        "name": "GraphEmulator",
        "portal": b,
        "resourceManager": format!("{b}/"),
        "graph": format!("{b}/"),
        "graphAudience": b,
        "microsoftGraphResourceId": format!("{b}/"),
        "gallery": b,
        "media": b,
        "batch": b,
        "sqlManagement": b,
        "vmImageAliasDoc": format!("{b}/vmImageAliases.json"),
        "activeDirectoryDataLake": b,
        "appInsightsResourceId": b,
        "appInsightsTelemetryChannelResourceId": b,
        "attestationResourceId": b,
        "synapseAnalyticsResourceId": b,
        "logAnalyticsResourceId": b,
        "ossrDbmsResourceId": b,
        "authentication": {
            "loginEndpoint": format!("{b}/"),
            "audiences": [b, format!("{b}/")],
            "tenant": tenant,
            "identityProvider": "AAD"
        },
        "suffixes": {
            "acrLoginServer": "azurecr.io",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "keyVaultDns": "vault.azure.net",
            "mariadbServerEndpoint": "mariadb.database.azure.com",
            "mhsmDns": "managedhsm.azure.net",
            "mysqlServerEndpoint": "mysql.database.azure.com",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
            "sqlServerHostname": "database.windows.net",
            "storage": "core.windows.net",
            "storageSyncEndpointSuffix": "afs.azure.net",
            "synapseAnalytics": "dev.azuresynapse.net"
        }
    }))
    .with_header("Content-Type", "application/json; charset=utf-8")
}

pub fn openid_configuration(emu: &Emulator, tenant: &str) -> Resp {
    let b = &emu.base_url;
    Resp::ok(json!({
        "issuer": format!("https://sts.windows.net/{tenant}/"),
        "token_endpoint": format!("{b}/{tenant}/oauth2/v2.0/token"),
        "authorization_endpoint": format!("{b}/{tenant}/oauth2/v2.0/authorize"),
        "jwks_uri": format!("{b}/{tenant}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
        "grant_types_supported": ["client_credentials"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "graph-emulator",
    }))
    .with_header("Content-Type", "application/json; charset=utf-8")
}
