//! Service principals, app-role assignments (admin consent), the token
//! endpoint (secrets and federated assertions) and Graph's 401/403 answers.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn service_principals_and_assignments() {
    let emu = start().await;
    let ci = emu.ci_token().await;
    let app = emu
        .create_app(&ci, json!({"displayName": "sp test",
            "requiredResourceAccess": [{"resourceAppId": GRAPH_APP, "resourceAccess": [{"id": USER_READ_ALL, "type": "Role"}, {"id": GROUP_READ_ALL, "type": "Role"}]}]}))
        .await;
    let app_id = app["appId"].as_str().unwrap();

    let r = emu
        .graph(
            &ci,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp = r.json();
    assert!(
        sp["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#servicePrincipals/$entity")
    );
    assert_eq!(sp["appId"], app_id);
    assert_eq!(sp["accountEnabled"], true);
    let sp_id = sp["id"].as_str().unwrap();
    let r = emu
        .graph(
            &ci,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_graph_error(&r, 409, "Request_MultipleObjectsWithSameKeyValue");
    let r = emu
        .graph(
            &ci,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": "33333333-3333-4333-8333-333333333333"})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    assert_eq!(
        r.json()["error"]["details"][0]["code"],
        "NoBackingApplicationObject"
    );

    // Lookups: filter, alternate key, $select, PATCH accountEnabled.
    let r = emu
        .graph(
            &ci,
            "GET",
            &format!("/servicePrincipals?$filter=appId%20eq%20'{app_id}'"),
            None,
        )
        .await;
    assert_eq!(r.json()["value"][0]["id"], sp_id);
    let r = emu
        .graph(
            &ci,
            "GET",
            &format!("/servicePrincipals(appId='{GRAPH_APP}')?$select=id,appRoles"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let roles = r.json()["appRoles"].as_array().unwrap().clone();
    for (name, id) in [
        ("User.Read.All", USER_READ_ALL),
        (
            "MailboxSettings.Read",
            "40f97065-369a-49f4-947c-6a255697ae91",
        ),
        (
            "AiEnterpriseInteraction.Read.All",
            "839c90ab-5771-41ee-aef8-a562e8487c1e",
        ),
        (
            "Application.ReadWrite.All",
            "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        ),
    ] {
        let role = roles
            .iter()
            .find(|r| r["value"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(role["id"], id);
        assert_eq!(role["allowedMemberTypes"], json!(["Application"]));
        assert_eq!(role["isEnabled"], true);
    }
    assert_eq!(r.json()["id"], GRAPH_SP);
    let r = emu
        .graph(
            &ci,
            "PATCH",
            &format!("/servicePrincipals/{sp_id}"),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        emu.graph(&ci, "GET", &format!("/servicePrincipals/{sp_id}"), None)
            .await
            .json()["accountEnabled"],
        false
    );
    let r = emu
        .graph(
            &ci,
            "PATCH",
            &format!("/servicePrincipals/{sp_id}"),
            Some(json!({"appId": "x"})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");

    // Graph app roles need a Privileged Role Administrator: CI (Cloud App Admin) is denied.
    let grant = json!({"principalId": sp_id, "resourceId": GRAPH_SP, "appRoleId": USER_READ_ALL});
    let r = emu
        .graph(
            &ci,
            "POST",
            &format!("/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
            Some(grant.clone()),
        )
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    let app_admin = emu.user_token("app-admin@psoxy.test").await;
    let r = emu
        .graph(
            &app_admin,
            "POST",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            Some(grant.clone()),
        )
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    let pra = emu.user_token("consent-admin@psoxy.test").await;
    let r = emu
        .graph(
            &pra,
            "POST",
            &format!("/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
            Some(grant.clone()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let a = r.json();
    assert!(a["@odata.context"].as_str().unwrap().contains(&format!(
        "servicePrincipals('{GRAPH_SP}')/appRoleAssignedTo/$entity"
    )));
    assert_eq!(a["principalType"], "ServicePrincipal");
    assert_eq!(a["resourceDisplayName"], "Microsoft Graph");
    assert_eq!(a["id"].as_str().unwrap().len(), 43);
    let r = emu
        .graph(
            &pra,
            "POST",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            Some(grant.clone()),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    assert_eq!(
        r.message(),
        "Permission being assigned already exists on the object"
    );
    let bad_role = json!({"principalId": sp_id, "resourceId": GRAPH_SP, "appRoleId": "e1fe6dd8-ba31-4d61-89e7-88639da4683d"});
    let r = emu
        .graph(
            &pra,
            "POST",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            Some(bad_role),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let r = emu
        .graph(
            &pra,
            "POST",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            Some(
                json!({"principalId": sp_id, "resourceId": GRAPH_SP, "appRoleId": GROUP_READ_ALL}),
            ),
        )
        .await;
    assert_eq!(r.status, 201);
    let second = r.json()["id"].as_str().unwrap().to_string();

    // Both ends list them; $expand works; delete 204.
    let r = emu
        .graph(
            &ci,
            "GET",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            None,
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 2);
    let r = emu
        .graph(
            &ci,
            "GET",
            &format!("/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
            None,
        )
        .await;
    assert!(
        r.json()["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["principalId"] == sp_id)
    );
    let r = emu
        .graph(
            &ci,
            "GET",
            &format!("/servicePrincipals/{sp_id}?$expand=appRoleAssignments"),
            None,
        )
        .await;
    assert_eq!(r.json()["appRoleAssignments"].as_array().unwrap().len(), 2);
    let r = emu
        .graph(
            &ci,
            "DELETE",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments/{second}"),
            None,
        )
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    let r = emu
        .graph(
            &pra,
            "DELETE",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments/{second}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = emu
        .graph(
            &pra,
            "DELETE",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments/{second}"),
            None,
        )
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");

    // Delete SP (soft), visible in deleted items, restorable.
    assert_eq!(
        emu.graph(&ci, "DELETE", &format!("/servicePrincipals/{sp_id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        emu.graph(&ci, "GET", &format!("/servicePrincipals/{sp_id}"), None)
            .await
            .status,
        404
    );
    let r = emu
        .graph(
            &ci,
            "POST",
            &format!("/directory/deletedItems/{sp_id}/restore"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        emu.graph(
            &ci,
            "GET",
            &format!("/servicePrincipals(appId='{app_id}')"),
            None
        )
        .await
        .status,
        200
    );
    emu.running.shutdown().await;
}

#[tokio::test]
async fn admin_consent_and_import() {
    let emu = start().await;
    let ci = emu.ci_token().await;
    // Import flow: an admin creates the app and makes the CI identity an owner.
    let ci_sp = "00000000-0000-4000-8000-00000000c201";
    let r = emu
        .admin("POST", "applications", Some(json!({"displayName": "imported", "owners": [OWNER, ci_sp],
            "requiredResourceAccess": [{"resourceAppId": GRAPH_APP, "resourceAccess": [{"id": USER_READ_ALL, "type": "Role"}, {"id": GROUP_READ_ALL, "type": "Role"}, {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}]}]})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let app = r.json();
    let app_id = app["appId"].as_str().unwrap().to_string();
    let owners = emu
        .graph(
            &ci,
            "GET",
            &format!("/applications/{}/owners", app["id"].as_str().unwrap()),
            None,
        )
        .await
        .json();
    assert_eq!(owners["value"].as_array().unwrap().len(), 2);
    // Admin-side calls are not logged as Graph requests.
    emu.admin("DELETE", "requests", None).await;

    let r = emu
        .admin(
            "POST",
            "consent",
            Some(json!({"appId": app_id, "roles": ["User.Read.All"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);
    let r = emu
        .admin("POST", "consent", Some(json!({"appId": app_id})))
        .await;
    let v = r.json();
    assert_eq!(v["value"].as_array().unwrap().len(), 2, "{v}");
    let sp_id = v["servicePrincipalId"].as_str().unwrap().to_string();
    let list = emu
        .graph(
            &ci,
            "GET",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            None,
        )
        .await
        .json();
    assert_eq!(list["value"].as_array().unwrap().len(), 2);
    let r = emu
        .admin(
            "DELETE",
            "consent",
            Some(json!({"appId": app_id, "roles": ["Group.Read.All"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = emu
        .graph(
            &ci,
            "GET",
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            None,
        )
        .await
        .json();
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let log = emu.admin("GET", "requests", None).await.json();
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
    emu.running.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_and_graph_auth() {
    let emu = start().await;
    let form = |s: &str| s.to_string();
    let scope = "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";

    let r = emu.token_form(TENANT, &form(&format!("grant_type=client_credentials&client_id={CI_CLIENT}&client_secret={CI_SECRET}&{scope}"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3599);
    assert_eq!(v["ext_expires_in"], 3599);
    let token = v["access_token"].as_str().unwrap().to_string();
    let claims = graph_emulator::auth::decode_unverified(&token).unwrap();
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{TENANT}/"));
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], CI_CLIENT);
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["oid"], "00000000-0000-4000-8000-00000000c201");
    assert_eq!(
        claims["wids"],
        json!(["158c047a-c907-4556-b7ef-446551a6b5f7"])
    );

    let aad = |r: &Res, status: u16, code: u64| {
        assert_eq!(r.status, status, "{}", r.body);
        let v = r.json();
        assert_eq!(v["error_codes"], json!([code]), "{}", r.body);
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .starts_with(&format!("AADSTS{code}:"))
        );
        assert!(
            v["trace_id"].is_string()
                && v["correlation_id"].is_string()
                && v["timestamp"].is_string()
        );
    };
    let r = emu
        .token_form(
            TENANT,
            &format!(
                "grant_type=client_credentials&client_id={CI_CLIENT}&client_secret=wrong&{scope}"
            ),
        )
        .await;
    aad(&r, 401, 7000215);
    assert_eq!(r.json()["error"], "invalid_client");
    let r = emu.token_form(TENANT, &format!("grant_type=client_credentials&client_id=44444444-4444-4444-8444-444444444444&client_secret=x&{scope}")).await;
    aad(&r, 400, 700016);
    let r = emu.token_form("55555555-5555-4555-8555-555555555555", &format!("grant_type=client_credentials&client_id={CI_CLIENT}&client_secret={CI_SECRET}&{scope}")).await;
    aad(&r, 400, 90002);
    let r = emu.token_form(TENANT, &format!("grant_type=client_credentials&client_id={CI_CLIENT}&client_secret={CI_SECRET}&scope=User.Read")).await;
    aad(&r, 400, 1002012);
    let r = emu
        .token_form(
            TENANT,
            &format!(
                "grant_type=client_credentials&client_id={CI_CLIENT}&client_secret={CI_SECRET}"
            ),
        )
        .await;
    aad(&r, 400, 900144);

    // Graph 401s: no token, garbage, expired, other tenant.
    let r = emu.raw("GET", "/v1.0/applications", &[], b"").await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer realm=\"\"")
    );
    let r = emu.graph("garbage", "GET", "/applications", None).await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");
    let expired = emu
        .admin(
            "POST",
            "tokens",
            Some(json!({"client_id": CI_CLIENT, "lifetime_secs": 0})),
        )
        .await
        .json();
    let r = emu
        .graph(
            expired["access_token"].as_str().unwrap(),
            "GET",
            "/applications",
            None,
        )
        .await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");
    assert_eq!(r.message(), "Access token has expired or is not yet valid.");
    let foreign = emu.admin("POST", "tokens", Some(json!({"user": "app-admin@psoxy.test", "tenant": "66666666-6666-4666-8666-666666666666"}))).await.json();
    let r = emu
        .graph(
            foreign["access_token"].as_str().unwrap(),
            "GET",
            "/applications",
            None,
        )
        .await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        emu.graph(&tampered, "GET", "/applications", None)
            .await
            .status,
        401
    );

    // client-request-id is echoed.
    let r = emu
        .graph_h(
            &token,
            "GET",
            "/organization",
            None,
            &[("client-request-id", "abc-123")],
        )
        .await;
    assert_eq!(r.header("client-request-id"), Some("abc-123"));
    assert_eq!(r.json()["value"][0]["id"], TENANT);

    // /me: user tokens only. App callers learn their object id via servicePrincipals.
    let user = emu.user_token("app-admin@psoxy.test").await;
    let me = emu.graph(&user, "GET", "/me", None).await.json();
    assert_eq!(me["userPrincipalName"], "app-admin@psoxy.test");
    let uc = graph_emulator::auth::decode_unverified(&user).unwrap();
    assert_eq!(uc["idtyp"], "user");
    assert_eq!(uc["upn"], "app-admin@psoxy.test");
    let r = emu.graph(&token, "GET", "/me", None).await;
    assert_graph_error(&r, 400, "BadRequest");
    assert_eq!(
        r.message(),
        "/me request is only valid with delegated authentication flow."
    );
    let r = emu
        .graph(
            &token,
            "GET",
            &format!("/servicePrincipals?$filter=appId%20eq%20'{CI_CLIENT}'&$select=id"),
            None,
        )
        .await;
    assert_eq!(
        r.json()["value"][0]["id"],
        "00000000-0000-4000-8000-00000000c201"
    );

    // Metadata document.
    let r = emu
        .raw(
            "GET",
            "/metadata/endpoints?api-version=2022-09-01",
            &[],
            b"",
        )
        .await;
    let m = r.json();
    assert_eq!(m["name"], "GraphEmulator");
    assert!(
        m["microsoftGraphResourceId"]
            .as_str()
            .unwrap()
            .starts_with(&emu.base)
    );
    assert!(
        m["authentication"]["loginEndpoint"]
            .as_str()
            .unwrap()
            .starts_with(&emu.base)
    );
    assert!(m["authentication"]["audiences"].is_array());
    assert!(m["resourceManager"].is_string());
    emu.running.shutdown().await;
}

#[tokio::test]
async fn client_assertion_matches_federated_credential() {
    let emu = start().await;
    let admin = emu.user_token("app-admin@psoxy.test").await;
    let app = emu
        .create_app(&admin, json!({"displayName": "federated"}))
        .await;
    let (id, app_id) = (app["id"].as_str().unwrap(), app["appId"].as_str().unwrap());
    let r = emu
        .graph(&admin, "POST", &format!("/applications/{id}/federatedIdentityCredentials"), Some(json!({"name": "GcpFederation",
            "issuer": "https://accounts.google.com", "subject": "1234567890", "audiences": ["api://AzureADTokenExchange"]})))
        .await;
    assert_eq!(r.status, 201);
    let post = |a: String| {
        let emu = &emu;
        let app_id = app_id.to_string();
        async move {
            emu.token_form(
                TENANT,
                &format!("grant_type=client_credentials&client_id={app_id}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={a}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
            )
            .await
        }
    };
    // Without a service principal the app cannot get tokens.
    let r = post(assertion(
        "https://accounts.google.com",
        "1234567890",
        "api://AzureADTokenExchange",
    ))
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error_codes"], json!([7000229]));
    assert_eq!(
        emu.graph(
            &admin,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app_id}))
        )
        .await
        .status,
        201
    );

    let r = post(assertion(
        "https://accounts.google.com",
        "wrong-subject",
        "api://AzureADTokenExchange",
    ))
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_client");
    assert_eq!(r.json()["error_codes"], json!([70021]));
    assert!(r.json()["error_description"].as_str().unwrap().starts_with(
        "AADSTS70021: No matching federated identity record found for presented assertion."
    ));
    let r = post(assertion(
        "https://accounts.google.com",
        "1234567890",
        "other-aud",
    ))
    .await;
    assert_eq!(r.status, 401);

    // Consent, then a token whose roles reflect it.
    let r = emu.graph(&admin, "PATCH", &format!("/applications/{id}"), Some(json!({"requiredResourceAccess": [{"resourceAppId": GRAPH_APP, "resourceAccess": [{"id": USER_READ_ALL, "type": "Role"}]}]}))).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        emu.admin("POST", "consent", Some(json!({"applicationObjectId": id})))
            .await
            .status,
        200
    );
    let r = post(assertion(
        "https://accounts.google.com",
        "1234567890",
        "api://AzureADTokenExchange",
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let claims =
        graph_emulator::auth::decode_unverified(r.json()["access_token"].as_str().unwrap())
            .unwrap();
    assert_eq!(claims["appid"], app_id);
    assert_eq!(claims["roles"], json!(["User.Read.All"]));
    assert_eq!(claims["idtyp"], "app");
    emu.running.shutdown().await;
}
