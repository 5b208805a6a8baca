//! The four failures a third-party Graph client (a Terraform provider on
//! Microsoft's Go SDK) met, each as Graph answers it, plus service principal
//! owners and `/beta`.

mod common;

use common::*;
use serde_json::json;

/// (1) `+` in a query string is a space, as Graph decodes it.
#[tokio::test]
async fn plus_in_query_options_is_a_space() {
    let emu = start().await;
    let t = emu.ci_token().await;
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/servicePrincipals?$filter=appId+eq+'{GRAPH_APP}'&$select=id,+appId"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["value"][0]["id"], GRAPH_SP);
    assert_eq!(r.json()["value"][0]["appId"], GRAPH_APP);
    let r = emu
        .graph(
            &t,
            "GET",
            "/applications?$orderby=displayName+desc&$top=2&$select=displayName",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = emu
        .graph_h(
            &t,
            "GET",
            "/applications?$search=%22displayName:Owned+App%22&$count=true",
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["@odata.count"], 2);
    emu.running.shutdown().await;
}

/// (2) `$select` takes documented properties; on /beta a property v1.0 does not
/// declare (a beta-only one) is answered as null.
#[tokio::test]
async fn select_takes_documented_properties() {
    let emu = start().await;
    let t = emu.ci_token().await;
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/applications/{OWNED_APP1}?$select=id,oauth2RequirePostResponse"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["oauth2RequirePostResponse"], false);
    let r = emu
        .raw(
            "GET",
            &format!(
                "/beta/servicePrincipals?$filter=appId+eq+'{GRAPH_APP}'&$select=id,samlMetadataUrl"
            ),
            &[("Authorization", &format!("Bearer {t}"))],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sp = &r.json()["value"][0];
    assert_eq!(sp["id"], GRAPH_SP);
    assert!(
        sp.get("samlMetadataUrl").is_some_and(|v| v.is_null()),
        "{sp}"
    );
    // v1.0 does not declare it on servicePrincipal.
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/servicePrincipals/{GRAPH_SP}?$select=samlMetadataUrl"),
            None,
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    assert!(r.message().contains("Could not find a property named 'samlMetadataUrl' on type 'microsoft.graph.servicePrincipal'"));
    emu.running.shutdown().await;
}

/// (3) and (4): `owners@odata.bind` and `samlSingleSignOnSettings` on a service
/// principal create; owners endpoints on service principals.
#[tokio::test]
async fn service_principal_create_takes_owners_and_saml_settings() {
    let emu = start().await;
    let t = emu.ci_token().await;
    let app = emu
        .create_app(&t, json!({"displayName": "sp-owners"}))
        .await;
    let app_id = app["appId"].as_str().unwrap();
    let r = emu
        .graph(
            &t,
            "POST",
            "/servicePrincipals",
            Some(json!({
                "@odata.type": "#microsoft.graph.servicePrincipal",
                "appId": app_id,
                "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/directoryObjects/{OWNER}")],
                "samlSingleSignOnSettings": {"relayState": "https://app.example/start"},
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp = r.json();
    assert_eq!(
        sp["samlSingleSignOnSettings"]["relayState"],
        "https://app.example/start"
    );
    let sp_id = sp["id"].as_str().unwrap();
    let owners = format!("/servicePrincipals/{sp_id}/owners");
    let r = emu.graph(&t, "GET", &owners, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["value"][0]["id"], OWNER);
    let r = emu.graph(&t, "GET", &format!("{owners}/$ref"), None).await;
    assert!(
        r.json()["value"][0]["@odata.id"]
            .as_str()
            .unwrap()
            .ends_with(OWNER)
    );
    // Add terraform-ci's SP as a second owner; a duplicate is Graph's 400.
    let ci_sp = "00000000-0000-4000-8000-00000000c201";
    let add =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{ci_sp}")});
    let r = emu
        .graph(&t, "POST", &format!("{owners}/$ref"), Some(add.clone()))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = emu
        .graph(&t, "POST", &format!("{owners}/$ref"), Some(add))
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/servicePrincipals/{sp_id}?$expand=owners"),
            None,
        )
        .await;
    assert_eq!(r.json()["owners"].as_array().unwrap().len(), 2);
    let r = emu
        .graph(&t, "DELETE", &format!("{owners}/{OWNER}/$ref"), None)
        .await;
    assert_eq!(r.status, 204);
    let r = emu
        .graph(&t, "DELETE", &format!("{owners}/{OWNER}/$ref"), None)
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    // A user without admin roles who does not own it may not change owners.
    let owner_t = emu.user_token("owner@psoxy.test").await;
    let r = emu
        .graph(&owner_t, "POST", &format!("{owners}/$ref"), Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{OWNER}")})))
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");

    // Undeclared properties and foreign types are refused with Graph's words.
    let app2 = emu.create_app(&t, json!({"displayName": "sp-bad"})).await;
    let r = emu
        .graph(
            &t,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app2["appId"], "samlSingleSignOnSetting": {}})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    assert_eq!(
        r.message(),
        "Property 'samlSingleSignOnSetting' does not exist as a declared property or extension property."
    );
    let r = emu
        .graph(
            &t,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app2["appId"], "@odata.type": "#microsoft.graph.user"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = emu
        .graph(
            &t,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app2["appId"], "accountEnabled": "yes"})),
        )
        .await;
    assert_eq!(
        r.message(),
        "Invalid value specified for property 'accountEnabled' of resource 'ServicePrincipal'."
    );
    let r = emu
        .graph(&t, "POST", "/applications", Some(json!({"displayName": "typed", "@odata.type": "microsoft.graph.application", "nativeAuthenticationApisEnabled": "sometimes"})))
        .await;
    assert_eq!(
        r.message(),
        "Invalid value specified for property 'nativeAuthenticationApisEnabled' of resource 'Application'."
    );
    emu.running.shutdown().await;
}
