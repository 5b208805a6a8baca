//! Applications, owners and federated identity credentials against the
//! limits and error shapes in msgraph-behaviour.md A1–A4.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn application_crud_and_alternate_key() {
    let emu = start().await;
    let t = emu.ci_token().await;
    let app = emu
        .create_app(&t, json!({"displayName": "Psoxy Connector - Outlook Calendar psoxy ", "tags": ["HideApp"],
            "requiredResourceAccess": [{"resourceAppId": GRAPH_APP, "resourceAccess": [{"id": USER_READ_ALL, "type": "Role"}]}]}))
        .await;
    assert!(
        app["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#applications/$entity")
    );
    for k in [
        "id",
        "appId",
        "createdDateTime",
        "publisherDomain",
        "signInAudience",
        "tags",
        "requiredResourceAccess",
        "identifierUris",
        "web",
        "api",
    ] {
        assert!(app.get(k).is_some(), "missing {k}");
    }
    assert_eq!(app["signInAudience"], "AzureADMyOrg");
    assert_eq!(
        app["displayName"],
        "Psoxy Connector - Outlook Calendar psoxy "
    );
    let created = app["createdDateTime"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 28, "{created}");
    let (id, app_id) = (app["id"].as_str().unwrap(), app["appId"].as_str().unwrap());

    let r = emu
        .graph(&t, "GET", &format!("/applications/{id}"), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some(graph_emulator::errors::GRAPH_JSON)
    );
    assert_eq!(r.header("odata-version"), Some("4.0"));
    assert!(r.header("request-id").is_some());
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/applications(appId='{app_id}')?$select=id,appId"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert!(
        v["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#applications(id,appId)/$entity")
    );
    assert_eq!(v.as_object().unwrap().len(), 3, "{v}");

    let r = emu
        .graph(
            &t,
            "PATCH",
            &format!("/applications(appId='{app_id}')"),
            Some(json!({"notes": "hello", "web": {"homePageUrl": "https://x.test"}})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());
    let v = emu
        .graph(&t, "GET", &format!("/applications/{id}"), None)
        .await
        .json();
    assert_eq!(v["notes"], "hello");
    assert_eq!(v["web"]["homePageUrl"], "https://x.test");
    assert_eq!(v["web"]["redirectUris"], json!([]), "complex values merge");

    // Errors: unknown property, read-only, bad values, malformed id, unknown id.
    let r = emu
        .graph(
            &t,
            "PATCH",
            &format!("/applications/{id}"),
            Some(json!({"bogus": 1})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let r = emu
        .graph(
            &t,
            "PATCH",
            &format!("/applications/{id}"),
            Some(json!({"appId": "x"})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let r = emu
        .graph(
            &t,
            "PATCH",
            &format!("/applications/{id}"),
            Some(json!({"signInAudience": "Nope"})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let r = emu
        .graph(
            &t,
            "POST",
            "/applications",
            Some(json!({"description": "no name"})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let r = emu
        .graph(
            &t,
            "POST",
            "/applications",
            Some(json!({"displayName": "x".repeat(257)})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let r = emu.graph(&t, "GET", "/applications/not-a-guid", None).await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let missing = "11111111-1111-4111-8111-111111111111";
    let r = emu
        .graph(&t, "GET", &format!("/applications/{missing}"), None)
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    assert!(r.message().contains(missing));
    let r = emu
        .graph_h(
            &t,
            "POST",
            "/applications",
            None,
            &[("Content-Type", "application/json")],
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    let r = emu
        .graph(&t, "PUT", &format!("/applications/{id}"), Some(json!({})))
        .await;
    assert_graph_error(&r, 405, "Request_BadRequest");
    let r = emu.graph(&t, "GET", "/nonsense", None).await;
    assert_graph_error(&r, 400, "BadRequest");
    assert_eq!(
        r.message(),
        "Resource not found for the segment 'nonsense'."
    );

    // Delete is soft and takes the SP with it.
    let r = emu
        .graph(
            &t,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp_id = r.json()["id"].as_str().unwrap().to_string();
    let r = emu
        .graph(&t, "DELETE", &format!("/applications/{id}"), None)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        emu.graph(&t, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        emu.graph(&t, "GET", &format!("/servicePrincipals/{sp_id}"), None)
            .await
            .status,
        404
    );
    let del = emu
        .graph(
            &t,
            "GET",
            "/directory/deletedItems/microsoft.graph.application",
            None,
        )
        .await
        .json();
    assert!(
        del["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id && a["deletedDateTime"].is_string())
    );
    let del = emu
        .graph(
            &t,
            "GET",
            "/directory/deletedItems/microsoft.graph.servicePrincipal",
            None,
        )
        .await
        .json();
    assert!(
        del["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == sp_id.as_str())
    );
    let r = emu.graph(&t, "GET", "/directory/deletedItems", None).await;
    assert_eq!(r.status, 400);

    // Restore (200 with the object) brings the SP back; purge removes for good.
    let r = emu
        .graph(
            &t,
            "POST",
            &format!("/directory/deletedItems/{id}/restore"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["id"], id);
    assert_eq!(r.json()["@odata.type"], "#microsoft.graph.application");
    assert_eq!(
        emu.graph(&t, "GET", &format!("/applications/{id}"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        emu.graph(&t, "GET", &format!("/servicePrincipals/{sp_id}"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        emu.graph(&t, "DELETE", &format!("/applications/{id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        emu.graph(&t, "DELETE", &format!("/directory/deletedItems/{id}"), None)
            .await
            .status,
        204
    );
    let r = emu
        .graph(&t, "GET", &format!("/directory/deletedItems/{id}"), None)
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    let r = emu
        .graph(
            &t,
            "POST",
            &format!("/directory/deletedItems/{id}/restore"),
            None,
        )
        .await;
    assert_eq!(r.status, 404);

    // The beta alias serves the same handlers.
    let r = emu
        .raw(
            "GET",
            "/beta/applications?$top=1",
            &[("Authorization", &format!("Bearer {t}"))],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    emu.running.shutdown().await;
}

#[tokio::test]
async fn list_filter_select_and_paging() {
    let emu = start().await;
    let t = emu.ci_token().await;
    for i in 0..7 {
        let tags = if i % 2 == 0 {
            json!(["HideApp", "psoxy"])
        } else {
            json!(["other"])
        };
        emu.create_app(
            &t,
            json!({"displayName": format!("Paging App {i}"), "tags": tags}),
        )
        .await;
    }
    let r = emu.graph(&t, "GET", "/applications?$filter=startswith(displayName,'Paging%20App')&$top=3&$select=id,displayName", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut page = r.json();
    assert!(
        page["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#applications(id,displayName)")
    );
    let mut names: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        for v in page["value"].as_array().unwrap() {
            assert_eq!(v.as_object().unwrap().len(), 2);
            names.push(v["displayName"].as_str().unwrap().to_string());
        }
        let Some(next) = page["@odata.nextLink"].as_str() else {
            break;
        };
        assert!(
            next.starts_with(&emu.base) && next.contains("$skiptoken="),
            "{next}"
        );
        let path = next.strip_prefix(&emu.base).unwrap().to_string();
        let r = emu
            .raw(
                "GET",
                &path,
                &[("Authorization", &format!("Bearer {t}"))],
                b"",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        page = r.json();
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 7);

    let by = |f: &str| {
        let f = f.replace(' ', "%20");
        let emu = &emu;
        let t = t.clone();
        async move {
            emu.graph(&t, "GET", &format!("/applications?$filter={f}"), None)
                .await
        }
    };
    let r = by("displayName eq 'Paging App 3'").await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);
    let app_id = r.json()["value"][0]["appId"].as_str().unwrap().to_string();
    assert_eq!(
        by(&format!("appId eq '{app_id}'")).await.json()["value"][0]["displayName"],
        "Paging App 3"
    );
    assert_eq!(
        by("tags/any(t:t eq 'HideApp')").await.json()["value"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_graph_error(&by("notes eq 'x'").await, 400, "Request_UnsupportedQuery");
    let r = by("endswith(displayName,'3')").await;
    assert_graph_error(&r, 400, "Request_UnsupportedQuery");
    assert!(r.message().contains("endsWith"));
    assert_graph_error(&by("displayName eq").await, 400, "BadRequest");

    // Advanced queries: ConsistencyLevel + $count.
    let r = emu.graph(&t, "GET", "/applications/$count", None).await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    assert_eq!(r.message(), "$count is not currently supported.");
    let r = emu
        .graph_h(
            &t,
            "GET",
            "/applications/$count",
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "10");
    let r = emu
        .graph(&t, "GET", "/applications?$count=true&$top=2", None)
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.json().get("@odata.count").is_none(),
        "silently ignored without the header"
    );
    let r = emu
        .graph_h(
            &t,
            "GET",
            "/applications?$count=true&$top=2&$filter=endswith(displayName,'3')",
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["@odata.count"], 1);
    let r = emu
        .graph(
            &t,
            "GET",
            "/applications?$search=%22displayName:Paging%22",
            None,
        )
        .await;
    assert_graph_error(&r, 400, "Request_UnsupportedQuery");
    let r = emu
        .graph_h(
            &t,
            "GET",
            "/applications?$search=%22displayName:Paging%22",
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 7);
    assert_graph_error(
        &emu.graph(&t, "GET", "/applications?$top=1000", None).await,
        400,
        "Request_BadRequest",
    );
    assert_graph_error(
        &emu.graph(&t, "GET", "/applications?$select=bogus", None)
            .await,
        400,
        "BadRequest",
    );
    let r = emu
        .graph(&t, "GET", "/applications?$skiptoken=garbage", None)
        .await;
    assert_eq!(r.status, 400);

    // $expand=owners.
    let r = emu
        .graph(
            &t,
            "GET",
            &format!("/applications/{OWNED_APP1}?$expand=owners"),
            None,
        )
        .await;
    assert_eq!(r.json()["owners"][0]["id"], OWNER);
    emu.running.shutdown().await;
}

#[tokio::test]
async fn roles_and_ownership() {
    let emu = start().await;
    let owner = emu.user_token("owner@psoxy.test").await;
    let admin = emu.user_token("app-admin@psoxy.test").await;
    let consent = emu.user_token("consent-admin@psoxy.test").await;

    // Users without Cloud Application Administrator cannot register apps.
    for t in [&owner, &consent] {
        let r = emu
            .graph(
                t,
                "POST",
                "/applications",
                Some(json!({"displayName": "nope"})),
            )
            .await;
        assert_graph_error(&r, 403, "Authorization_RequestDenied");
        assert_eq!(
            r.message(),
            "Insufficient privileges to complete the operation."
        );
    }
    // The admin can, binding the owner at create.
    let app = emu
        .create_app(&admin, json!({"displayName": "bound", "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/directoryObjects/{OWNER}")]}))
        .await;
    let id = app["id"].as_str().unwrap();
    let owners = emu
        .graph(&admin, "GET", &format!("/applications/{id}/owners"), None)
        .await
        .json();
    assert_eq!(owners["value"][0]["id"], OWNER);
    assert_eq!(owners["value"][0]["@odata.type"], "#microsoft.graph.user");
    assert!(
        owners["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#directoryObjects")
    );

    // An owner may update its own apps, not others'.
    let r = emu
        .graph(
            &owner,
            "PATCH",
            &format!("/applications/{id}"),
            Some(json!({"displayName": "renamed by owner"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = emu
        .graph(
            &owner,
            "PATCH",
            &format!("/applications/{OWNED_APP2}"),
            Some(json!({"notes": "n"})),
        )
        .await;
    assert_eq!(r.status, 204);
    let other = emu
        .create_app(&admin, json!({"displayName": "not owned"}))
        .await;
    let oid = other["id"].as_str().unwrap();
    let r = emu
        .graph(
            &owner,
            "PATCH",
            &format!("/applications/{oid}"),
            Some(json!({"notes": "n"})),
        )
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    let r = emu
        .graph(&owner, "DELETE", &format!("/applications/{oid}"), None)
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");

    // Owners via $ref: add (204), duplicate (400), remove (204), remove again (404).
    let consent_admin = "00000000-0000-4000-8000-00000000b003";
    let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{consent_admin}")});
    let r = emu
        .graph(
            &owner,
            "POST",
            &format!("/applications/{id}/owners/$ref"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = emu
        .graph(
            &owner,
            "POST",
            &format!("/applications/{id}/owners/$ref"),
            Some(body),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    assert_eq!(
        r.message(),
        "One or more added object references already exist for the following modified properties: 'owners'."
    );
    let r = emu
        .graph(&owner, "POST", &format!("/applications/{id}/owners/$ref"), Some(json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/22222222-2222-4222-8222-222222222222"})))
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    let r = emu
        .graph(
            &owner,
            "DELETE",
            &format!("/applications/{id}/owners/{consent_admin}/$ref"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = emu
        .graph(
            &owner,
            "DELETE",
            &format!("/applications/{id}/owners/{consent_admin}/$ref"),
            None,
        )
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    let app_id = app["appId"].as_str().unwrap();
    let r = emu
        .graph(&admin, "POST", &format!("/applications(appId='{app_id}')/owners/$ref"), Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{consent_admin}")})))
        .await;
    assert_eq!(r.status, 204);

    // Role changes through the admin side apply at once.
    let r = emu.admin("POST", "identities", Some(json!({"kind": "user", "userPrincipalName": "owner@psoxy.test", "roles": ["Cloud Application Administrator"]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = emu
        .graph(
            &owner,
            "POST",
            "/applications",
            Some(json!({"displayName": "now allowed"})),
        )
        .await;
    assert_eq!(r.status, 201);
    emu.running.shutdown().await;
}

#[tokio::test]
async fn federated_identity_credentials() {
    let emu = start().await;
    let owner = emu.user_token("owner@psoxy.test").await;
    let base = format!("/applications/{OWNED_APP1}/federatedIdentityCredentials");
    let fic = |name: &str, sub: &str| json!({"name": name, "issuer": "https://accounts.google.com", "subject": sub, "audiences": ["api://AzureADTokenExchange"], "description": "gcp"});
    let r = emu
        .graph(
            &owner,
            "POST",
            &base,
            Some(fic("GcpFederation", "1234567890")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    assert!(v["@odata.context"].as_str().unwrap().ends_with(&format!(
        "$metadata#applications('{OWNED_APP1}')/federatedIdentityCredentials/$entity"
    )));
    let fid = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["audiences"], json!(["api://AzureADTokenExchange"]));

    // Duplicate name → 409; duplicate issuer+subject → 400.
    let r = emu
        .graph(&owner, "POST", &base, Some(fic("GcpFederation", "other")))
        .await;
    assert_graph_error(&r, 409, "Request_MultipleObjectsWithSameKeyValue");
    assert_eq!(
        r.message(),
        "FederatedIdentityCredential with name GcpFederation already exists."
    );
    let r = emu
        .graph(&owner, "POST", &base, Some(fic("Another", "1234567890")))
        .await;
    assert_graph_error(&r, 400, "InvalidFederatedIdentityCredentialValue");
    assert!(
        r.message().starts_with(
            "The combination of issuer and subject must be unique for the application."
        )
    );

    // Field validation.
    let mut bad: Vec<Value> = Vec::new();
    for name in ["ab", "-abc", "has space", &"a".repeat(121)] {
        bad.push(fic(name, &format!("s-{name}")));
    }
    let mut two_aud = fic("twoaud", "s2");
    two_aud["audiences"] = json!(["a", "b"]);
    bad.push(two_aud);
    let mut no_aud = fic("noaud", "s3");
    no_aud["audiences"] = json!([]);
    bad.push(no_aud);
    let mut long_sub = fic("longsub", "x");
    long_sub["subject"] = json!("s".repeat(601));
    bad.push(long_sub);
    let mut not_url = fic("noturl", "s4");
    not_url["issuer"] = json!("accounts.google.com");
    bad.push(not_url);
    bad.push(fic("wild", "repo:*"));
    let mut long_desc = fic("longdesc", "s5");
    long_desc["description"] = json!("d".repeat(601));
    bad.push(long_desc);
    let mut unknown = fic("unknownprop", "s6");
    unknown["bogus"] = json!(1);
    bad.push(unknown);
    for b in bad {
        let r = emu.graph(&owner, "POST", &base, Some(b.clone())).await;
        assert_graph_error(&r, 400, "Request_BadRequest");
    }
    let ok_max = fic(&"a".repeat(120), "max-name");
    assert_eq!(
        emu.graph(&owner, "POST", &base, Some(ok_max)).await.status,
        201
    );

    // GET, list with filter, by name.
    let r = emu
        .graph(&owner, "GET", &format!("{base}/{fid}"), None)
        .await;
    assert_eq!(r.json()["name"], "GcpFederation");
    let r = emu
        .graph(
            &owner,
            "GET",
            &format!("{base}?$filter=name%20eq%20'GcpFederation'"),
            None,
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);
    let r = emu
        .graph(
            &owner,
            "GET",
            &format!("{base}(name='GcpFederation')"),
            None,
        )
        .await;
    assert_eq!(r.json()["id"], fid.as_str());
    let r = emu
        .graph(&owner, "GET", &format!("{base}(name='missing')"), None)
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    assert_eq!(
        r.message(),
        "FederatedIdentityCredential with name missing not found."
    );

    // PATCH: subject may change, name is immutable.
    let r = emu
        .graph(
            &owner,
            "PATCH",
            &format!("{base}/{fid}"),
            Some(json!({"subject": "999"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = emu
        .graph(
            &owner,
            "PATCH",
            &format!("{base}/{fid}"),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    assert!(r.message().contains("immutable"));

    // Upsert by name with Prefer: create-if-missing → 201 then 204; without the header → 404.
    let upsert = format!("{base}(name='AwsAccess')");
    let body = json!({"issuer": "https://cognito-identity.amazonaws.com", "subject": "us-east-1:abc", "audiences": ["us-east-1:pool"]});
    let r = emu
        .graph(&owner, "PATCH", &upsert, Some(body.clone()))
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
    let r = emu
        .graph_h(
            &owner,
            "PATCH",
            &upsert,
            Some(body.clone()),
            &[("Prefer", "create-if-missing")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["name"], "AwsAccess");
    let mut changed = body.clone();
    changed["description"] = json!("updated");
    let r = emu
        .graph_h(
            &owner,
            "PATCH",
            &upsert,
            Some(changed),
            &[("Prefer", "create-if-missing")],
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        emu.graph(&owner, "GET", &upsert, None).await.json()["description"],
        "updated"
    );

    // At most 20 per application: the 21st fails.
    let list = emu.graph(&owner, "GET", &base, None).await.json();
    let have = list["value"].as_array().unwrap().len();
    for i in have..20 {
        let r = emu
            .graph(
                &owner,
                "POST",
                &base,
                Some(fic(&format!("fill{i}"), &format!("sub{i}"))),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = emu
        .graph(&owner, "POST", &base, Some(fic("twentyfirst", "sub21")))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.message().contains("at most 20"));

    // Someone who is neither owner nor admin cannot manage credentials.
    let consent = emu.user_token("consent-admin@psoxy.test").await;
    let r = emu
        .graph(&consent, "DELETE", &format!("{base}/{fid}"), None)
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    let r = emu
        .graph(&owner, "DELETE", &format!("{base}/{fid}"), None)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        emu.graph(&owner, "GET", &format!("{base}/{fid}"), None)
            .await
            .status,
        404
    );
    emu.running.shutdown().await;
}
