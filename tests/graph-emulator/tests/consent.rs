//! Admin consent as Graph does it: who may grant and revoke app roles on
//! Microsoft Graph, duplicates, hand-granted extra roles, and disabling a
//! service principal (through the admin side and through Graph's PATCH).

mod common;

use common::*;
use serde_json::{Value, json};

const CI_SP: &str = "00000000-0000-4000-8000-00000000c201";
const MAIL_READ: &str = "810c84a8-4a9e-49e6-bf7d-12d183f40d01";

fn grant_body(role: &str) -> Value {
    json!({"principalId": CI_SP, "resourceId": GRAPH_SP, "appRoleId": role})
}

#[tokio::test]
async fn granting_and_revoking_graph_app_roles_takes_a_privileged_caller() {
    let emu = start().await;
    let to = format!("/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo");
    let from = format!("/servicePrincipals/{CI_SP}/appRoleAssignments");

    // Cloud Application Administrators and users without roles may not.
    let ci = emu.ci_token().await;
    let app_admin = emu.user_token("app-admin@psoxy.test").await;
    let nobody = emu.user_token("owner@psoxy.test").await;
    for t in [&ci, &app_admin, &nobody] {
        for path in [&to, &from] {
            let r = emu
                .graph(t, "POST", path, Some(grant_body(USER_READ_ALL)))
                .await;
            assert_graph_error(&r, 403, "Authorization_RequestDenied");
            assert_eq!(
                r.message(),
                "Insufficient privileges to complete the operation."
            );
        }
    }

    // A Privileged Role Administrator may, from either end.
    let pra = emu.user_token("consent-admin@psoxy.test").await;
    let r = emu
        .graph(&pra, "POST", &to, Some(grant_body(USER_READ_ALL)))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let a1 = r.json()["id"].as_str().unwrap().to_string();
    let r = emu
        .graph(&pra, "POST", &from, Some(grant_body(GROUP_READ_ALL)))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let a2 = r.json()["id"].as_str().unwrap().to_string();
    // A duplicate, from either end.
    for path in [&to, &from] {
        let r = emu
            .graph(&pra, "POST", path, Some(grant_body(USER_READ_ALL)))
            .await;
        assert_graph_error(&r, 400, "Request_BadRequest");
        assert_eq!(
            r.message(),
            "Permission being assigned already exists on the object"
        );
    }
    // The granted roles are in a new token of the app.
    let claims = |t: &str| {
        use base64::Engine;
        let p = t.split('.').nth(1).unwrap();
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap();
        serde_json::from_slice::<Value>(&b).unwrap()
    };
    let roles = claims(&emu.ci_token().await)["roles"].clone();
    assert_eq!(roles, json!(["User.Read.All", "Group.Read.All"]));

    // Revoking takes the same privilege.
    for t in [&ci, &app_admin] {
        let r = emu.graph(t, "DELETE", &format!("{to}/{a1}"), None).await;
        assert_graph_error(&r, 403, "Authorization_RequestDenied");
        let r = emu.graph(t, "DELETE", &format!("{from}/{a2}"), None).await;
        assert_graph_error(&r, 403, "Authorization_RequestDenied");
    }
    assert_eq!(
        emu.graph(&pra, "DELETE", &format!("{to}/{a1}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        emu.graph(&pra, "DELETE", &format!("{from}/{a2}"), None)
            .await
            .status,
        204
    );

    // So may an application holding AppRoleAssignment.ReadWrite.All.
    let r = emu
        .admin("POST", "identities", Some(json!({"kind": "app", "displayName": "granter", "appRoles": ["AppRoleAssignment.ReadWrite.All"]})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let granter = r.json();
    let tok = emu
        .token_form(
            TENANT,
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
                granter["clientId"].as_str().unwrap(),
                granter["clientSecret"].as_str().unwrap()
            ),
        )
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = emu
        .graph(&tok, "POST", &to, Some(grant_body(USER_READ_ALL)))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        emu.graph(&tok, "DELETE", &format!("{from}/{id}"), None)
            .await
            .status,
        204
    );
    emu.running.shutdown().await;
}

#[tokio::test]
async fn extra_roles_by_hand_and_disabled_service_principals() {
    let emu = start().await;
    let ci = emu.ci_token().await;
    let app = emu
        .create_app(&ci, json!({"displayName": "reader", "requiredResourceAccess": [{"resourceAppId": GRAPH_APP, "resourceAccess": [{"id": USER_READ_ALL, "type": "Role"}]}]}))
        .await;
    let app_id = app["appId"].as_str().unwrap().to_string();
    // Mail.Read is not requested; an admin grants it by hand, and only it.
    let r = emu
        .admin(
            "POST",
            "consent",
            Some(json!({"appId": app_id, "extra_roles": ["Mail.Read"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["value"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["value"][0]["appRoleId"], MAIL_READ);
    let sp_id = v["servicePrincipalId"].as_str().unwrap().to_string();
    // With the requested ones too.
    let r = emu
        .admin(
            "POST",
            "consent",
            Some(
                json!({"appId": app_id, "roles": ["User.Read.All"], "extra_roles": ["Mail.Read"]}),
            ),
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 2);
    let r = emu
        .admin(
            "POST",
            "consent",
            Some(json!({"appId": app_id, "extra_roles": ["Mail.Write.Everything"]})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = emu
        .admin(
            "DELETE",
            "consent",
            Some(json!({"appId": app_id, "extra_roles": ["Mail.Read"]})),
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);
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
    assert_eq!(list["value"][0]["appRoleId"], USER_READ_ALL);

    // Disabled by an admin: the app can no longer get tokens.
    let pw = emu
        .graph(
            &ci,
            "POST",
            &format!("/applications/{}/addPassword", app["id"].as_str().unwrap()),
            Some(json!({})),
        )
        .await
        .json();
    let form = format!(
        "grant_type=client_credentials&client_id={app_id}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        pw["secretText"].as_str().unwrap()
    );
    assert_eq!(emu.token_form(TENANT, &form).await.status, 200);
    let r = emu
        .admin("POST", &format!("service-principals/{sp_id}/disable"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accountEnabled"], false);
    let r = emu.token_form(TENANT, &form).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error_codes"][0], 7000112);
    let r = emu
        .admin("POST", &format!("service-principals/{app_id}/enable"), None)
        .await;
    assert_eq!(r.json()["accountEnabled"], true, "by appId too");
    assert_eq!(emu.token_form(TENANT, &form).await.status, 200);
    assert_eq!(
        emu.admin(
            "POST",
            "service-principals/00000000-0000-4000-8000-0000000000ff/disable",
            None
        )
        .await
        .status,
        404
    );

    // Through Graph: a user without roles who does not own it may not; an
    // application administrator may.
    let nobody = emu.user_token("owner@psoxy.test").await;
    let path = format!("/servicePrincipals/{sp_id}");
    let r = emu
        .graph(
            &nobody,
            "PATCH",
            &path,
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    let r = emu
        .graph(&ci, "PATCH", &path, Some(json!({"accountEnabled": false})))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        emu.graph(&ci, "GET", &path, None).await.json()["accountEnabled"],
        false
    );
    assert_eq!(
        emu.token_form(TENANT, &form).await.json()["error_codes"][0],
        7000112
    );
    emu.running.shutdown().await;
}
