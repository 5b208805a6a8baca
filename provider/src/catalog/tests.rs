//! The expected values are typed out again here, from the reference, rather
//! than derived from the catalog, so that a typo in either one fails a test.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// Microsoft's application permission ids (permissions-reference, "All permissions and IDs").
const EXPECTED_APP_ROLE_IDS: &[(&str, &str)] = &[
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
    ("Files.Read.All", "01d4889c-1287-42c6-ac1f-5d1e02578ef6"),
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
        "AiEnterpriseInteraction.Read.All",
        "839c90ab-5771-41ee-aef8-a562e8487c1e",
    ),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
];

/// Delegated ids that must never be used as app roles: they are scopes, not roles.
const DELEGATED_IDS: &[&str] = &[
    "a154be20-db9c-4678-8ab7-66f6cc099a59", // User.Read.All (delegated)
    "e1fe6dd8-ba31-4d61-89e7-88639da4683d", // User.Read (delegated)
];

/// psoxy v0.6.9 `msft-365.tf`: id, display name, availability, permissions.
const EXPECTED_CONNECTORS: &[(&str, &str, &str, &[&str])] = &[
    (
        "msft-entra-id",
        "Microsoft Entra ID (former Azure AD)",
        "ga",
        &["User.Read.All", "Group.Read.All", "MailboxSettings.Read"],
    ),
    (
        "azure-ad",
        "Azure Directory (deprecated: use msft-entra-id)",
        "deprecated",
        &["User.Read.All", "Group.Read.All", "MailboxSettings.Read"],
    ),
    (
        "outlook-cal",
        "Outlook Calendar",
        "ga",
        &[
            "Calendars.Read",
            "MailboxSettings.Read",
            "Group.Read.All",
            "User.Read.All",
        ],
    ),
    (
        "outlook-mail",
        "Outlook Mail",
        "ga",
        &[
            "Mail.ReadBasic.All",
            "MailboxSettings.Read",
            "Group.Read.All",
            "User.Read.All",
        ],
    ),
    (
        "msft-onedrive",
        "Microsoft OneDrive",
        "beta",
        &["Files.Read.All", "User.Read.All", "Group.Read.All"],
    ),
    (
        "msft-teams",
        "Microsoft Teams",
        "ga",
        &[
            "User.Read.All",
            "Team.ReadBasic.All",
            "Channel.ReadBasic.All",
            "Chat.Read.All",
            "ChannelMessage.Read.All",
            "CallRecords.Read.All",
            "OnlineMeetings.Read.All",
            "OnlineMeetingArtifact.Read.All",
        ],
    ),
    (
        "msft-copilot",
        "Microsoft 365 Copilot",
        "alpha",
        &["User.Read.All", "AiEnterpriseInteraction.Read.All"],
    ),
];

const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const OBJECT_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const TENANT_ID: &str = "99999999-8888-7777-6666-555555555555";

fn conns(ids: &[&str]) -> Vec<&'static Connector> {
    lookup(ids).expect("known ids")
}

/// The catalog writes ids as Graph does: lower-case hyphenated GUIDs.
fn is_guid(s: &str) -> bool {
    crate::graph::is_guid(s) && !s.chars().any(|c| c.is_ascii_uppercase())
}

// ---------- catalog ----------

#[test]
fn catalog_matches_reference_exactly() {
    let ids: Vec<&str> = connectors().iter().map(|c| c.id).collect();
    let expected_ids: Vec<&str> = EXPECTED_CONNECTORS.iter().map(|e| e.0).collect();
    assert_eq!(ids, expected_ids, "connector set and order");

    for (id, display, availability, perms) in EXPECTED_CONNECTORS {
        let c = connector(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(c.display_name, *display, "{id} display name");
        assert_eq!(c.availability.as_str(), *availability, "{id} availability");
        let names: Vec<&str> = c.permission_names().collect();
        assert_eq!(names, *perms, "{id} permissions (names and order)");
        assert!(!c.graph_endpoints.is_empty(), "{id} endpoints");
        for e in c.graph_endpoints {
            assert!(
                e.starts_with("/v1.0/") || e.starts_with("/beta/"),
                "{id}: {e}"
            );
        }
    }
}

#[test]
fn only_outlook_cal_is_enabled_by_default() {
    let defaults: Vec<&str> = connectors()
        .iter()
        .filter(|c| c.enabled_by_default)
        .map(|c| c.id)
        .collect();
    assert_eq!(defaults, ["outlook-cal"]);
}

#[test]
fn availability_strings_and_replacement() {
    assert_eq!(Availability::Ga.as_str(), "ga");
    assert_eq!(Availability::Beta.as_str(), "beta");
    assert_eq!(Availability::Alpha.as_str(), "alpha");
    let dep = connector("azure-ad").unwrap().availability;
    assert_eq!(
        dep,
        Availability::Deprecated {
            replacement: "msft-entra-id"
        }
    );
    assert_eq!(dep.to_string(), "deprecated");
    // A replacement must itself be a live connector.
    for c in connectors() {
        if let Some(r) = c.availability.replacement() {
            let rc = connector(r).expect("replacement exists");
            assert!(rc.availability.replacement().is_none());
        }
    }
}

#[test]
fn endpoints_follow_the_reference() {
    let ep = |id: &str| connector(id).unwrap().graph_endpoints;
    for id in ["msft-entra-id", "azure-ad"] {
        assert_eq!(
            ep(id),
            ["/v1.0/users", "/v1.0/groups", "/v1.0/groups/{id}/members"]
        );
    }
    for e in [
        "/v1.0/users",
        "/v1.0/groups/{id}/members",
        "/v1.0/users/{id}/events",
        "/v1.0/users/{id}/calendarView",
        "/v1.0/users/{id}/mailboxSettings",
    ] {
        assert!(ep("outlook-cal").contains(&e), "outlook-cal {e}");
    }
    assert!(ep("outlook-mail").contains(&"/v1.0/users/{id}/mailFolders/SentItems/messages"));
    assert!(ep("msft-onedrive").contains(&"/v1.0/drives/{id}/root/delta"));
    assert!(ep("msft-onedrive").contains(&"/v1.0/users/{id}/drives"));
    assert!(ep("msft-teams").contains(&"/v1.0/teams"));
    assert!(ep("msft-teams").contains(&"/v1.0/communications/callRecords"));
    assert!(
        ep("msft-copilot")
            .contains(&"/beta/copilot/users/{id}/interactionHistory/getAllEnterpriseInteractions")
    );
}

#[test]
fn only_teams_has_the_extra_admin_step() {
    for c in connectors() {
        let has = !c.extra_admin_steps.is_empty();
        assert_eq!(has, c.id == "msft-teams", "{}", c.id);
    }
    let step = connector("msft-teams").unwrap().extra_admin_steps[0];
    assert_eq!(step.id, "teams-application-access-policy");
    assert_eq!(
        step.role.template_id,
        "69091246-20e8-4a56-aa4d-066075b2a7a8"
    );
    assert!(step.summary.contains("New-CsApplicationAccessPolicy"));
    assert!(step.summary.contains("Grant-CsApplicationAccessPolicy"));
}

// ---------- permissions ----------

#[test]
fn permission_table_matches_reference_ids() {
    let expected: BTreeMap<&str, &str> = EXPECTED_APP_ROLE_IDS.iter().copied().collect();
    let actual: BTreeMap<&str, &str> = permissions()
        .iter()
        .map(|p| (p.name, p.app_role_id))
        .collect();
    assert_eq!(actual, expected);
    for (name, id) in EXPECTED_APP_ROLE_IDS {
        let p = permission(name).unwrap();
        assert_eq!(p.app_role_id, *id, "{name}");
        assert_eq!(permission_by_app_role_id(id).unwrap().name, *name);
        assert_eq!(
            permission_by_app_role_id(&id.to_uppercase()).unwrap().name,
            *name
        );
        assert!(is_guid(p.app_role_id), "{name}: {}", p.app_role_id);
        assert!(!p.why.is_empty() && !p.data_opened.is_empty(), "{name}");
    }
    assert!(permission("user.read.all").is_none(), "names are exact");
    assert!(permission("Nope.Read").is_none());
}

#[test]
fn every_connector_permission_is_in_the_table_with_the_reference_id() {
    let expected: BTreeMap<&str, &str> = EXPECTED_APP_ROLE_IDS.iter().copied().collect();
    for c in connectors() {
        for p in c.permissions {
            assert_eq!(
                expected.get(p.name),
                Some(&p.app_role_id),
                "{} {}",
                c.id,
                p.name
            );
            assert!(std::ptr::eq(permission(p.name).unwrap(), *p));
            assert!(!p.reference_only, "{} requests {}", c.id, p.name);
        }
    }
}

#[test]
fn reference_only_permissions_are_not_requested() {
    let requested: BTreeSet<&str> = connectors()
        .iter()
        .flat_map(|c| c.permission_names())
        .collect();
    for name in ["GroupMember.Read.All", "Directory.Read.All"] {
        assert!(permission(name).unwrap().reference_only);
        assert!(!requested.contains(name));
    }
}

#[test]
fn no_delegated_ids_anywhere() {
    for p in permissions() {
        assert!(!DELEGATED_IDS.contains(&p.app_role_id), "{}", p.name);
    }
    let all = required_app_roles(&connectors().iter().collect::<Vec<_>>());
    for id in all.values() {
        assert!(!DELEGATED_IDS.contains(id));
    }
    let doc = consent_document(&full_ctx(&conns(&["msft-teams", "outlook-cal"])));
    for id in DELEGATED_IDS {
        assert!(!doc.contains(id));
    }
}

#[test]
fn directory_roles() {
    assert_eq!(
        PRIVILEGED_ROLE_ADMINISTRATOR.template_id,
        "e8611ab8-c189-46e8-94e1-60213ab1f814"
    );
    assert_eq!(
        CLOUD_APPLICATION_ADMINISTRATOR.template_id,
        "158c047a-c907-4556-b7ef-446551a6b5f7"
    );
    assert_eq!(
        TEAMS_ADMINISTRATOR.template_id,
        "69091246-20e8-4a56-aa4d-066075b2a7a8"
    );
    // psoxy's mislabel: this id is Directory.Read.All, not a directory role.
    for r in [
        PRIVILEGED_ROLE_ADMINISTRATOR,
        CLOUD_APPLICATION_ADMINISTRATOR,
        TEAMS_ADMINISTRATOR,
    ] {
        assert_ne!(r.template_id, "7ab1d382-f21e-4acd-a863-ba3e13f7da61");
    }
}

// ---------- lookup and suggestions ----------

#[test]
fn lookup_resolves_and_dedupes_in_order() {
    let ids: Vec<String> = ["outlook-mail", "outlook-cal", "outlook-mail", "msft-teams"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got: Vec<&str> = lookup(&ids).unwrap().iter().map(|c| c.id).collect();
    assert_eq!(got, ["outlook-mail", "outlook-cal", "msft-teams"]);
    assert!(lookup::<String>(&[]).unwrap().is_empty());
}

#[test]
fn unknown_id_suggests_closest() {
    let err = lookup(&["outlook-cal".to_string(), "outlok-cal".to_string()]).unwrap_err();
    assert_eq!(err.id, "outlok-cal");
    assert_eq!(err.suggestion, Some("outlook-cal"));
    assert_eq!(err.valid, connector_ids());
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "\"outlok-cal\" is not a Psoxy Microsoft 365 connector. Did you mean \"outlook-cal\"? Valid ids: msft-entra-id, azure-ad, outlook-cal,"
        ),
        "{msg}"
    );
    assert!(msg.ends_with("msft-copilot"), "{msg}");
}

#[test]
fn suggestions_for_common_mistakes() {
    let cases: &[(&str, Option<&str>)] = &[
        ("outlok-cal", Some("outlook-cal")),
        ("outlook-cla", Some("outlook-cal")),
        ("Outlook-Cal", Some("outlook-cal")),
        ("outlook_mail", Some("outlook-mail")),
        ("teams", Some("msft-teams")),
        ("msteams", Some("msft-teams")),
        ("onedrive", Some("msft-onedrive")),
        ("copilot", Some("msft-copilot")),
        ("entra-id", Some("msft-entra-id")),
        ("azuread", Some("azure-ad")),
        ("mail", Some("outlook-mail")),
        ("zzzz", None),
        ("slack", None),
        ("gcal", None),
        ("", None),
    ];
    for (input, expected) in cases {
        assert_eq!(suggest(input), *expected, "suggest({input:?})");
    }
    let err = find("zzzz").unwrap_err();
    assert_eq!(err.suggestion, None);
    assert!(!err.to_string().contains("Did you mean"));
    assert!(err.to_string().contains("Valid ids: msft-entra-id"));
}

// ---------- roles, names, deprecation ----------

#[test]
fn union_of_app_roles() {
    let roles = required_app_roles(&conns(&["outlook-cal", "outlook-mail"]));
    let expected: BTreeMap<&str, &str> = [
        ("Calendars.Read", "798ee544-9d2d-430c-a058-570e29e34338"),
        ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b"),
        ("Mail.ReadBasic.All", "693c5e45-0940-467d-9b8a-1022fb9d42ef"),
        (
            "MailboxSettings.Read",
            "40f97065-369a-49f4-947c-6a255697ae91",
        ),
        ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    ]
    .into_iter()
    .collect();
    assert_eq!(roles, expected);

    let teams_copilot = required_app_roles(&conns(&["msft-teams", "msft-copilot"]));
    assert_eq!(teams_copilot.len(), 9);
    assert!(teams_copilot.contains_key("AiEnterpriseInteraction.Read.All"));

    let everything = required_app_roles(&connectors().iter().collect::<Vec<_>>());
    assert_eq!(everything.len(), 14, "all but the two reference-only ones");
    assert!(required_app_roles(&[]).is_empty());

    let ordered: Vec<&str> = required_permissions(&conns(&["outlook-cal", "outlook-mail"]))
        .iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        ordered,
        [
            "Calendars.Read",
            "MailboxSettings.Read",
            "Group.Read.All",
            "User.Read.All",
            "Mail.ReadBasic.All"
        ]
    );
}

#[test]
fn display_names() {
    assert_eq!(
        default_display_name(&conns(&["outlook-cal"])),
        "Psoxy Connector - Outlook Calendar"
    );
    assert_eq!(
        connector("msft-teams").unwrap().default_display_name(),
        "Psoxy Connector - Microsoft Teams"
    );
    // Catalog order, whatever the input order; no trailing space.
    let two = default_display_name(&conns(&["outlook-mail", "outlook-cal"]));
    assert_eq!(two, "Psoxy Connector - Outlook Calendar, Outlook Mail");
    assert_eq!(
        two,
        default_display_name(&conns(&["outlook-cal", "outlook-mail", "outlook-cal"]))
    );
    let all = default_display_name(&connectors().iter().collect::<Vec<_>>());
    assert!(all.chars().count() <= MAX_DISPLAY_NAME_LEN, "{all}");
    assert!(all.starts_with("Psoxy Connector - Microsoft Entra ID"));
    for c in connectors() {
        let n = c.default_display_name();
        assert_eq!(n, n.trim());
    }
    assert_eq!(default_display_name(&[]), "Psoxy Connector");
}

#[test]
fn long_display_names_fall_back() {
    static LONG: [Connector; 2] = [
        Connector {
            id: "x-one",
            display_name: "An extremely long connector display name that goes on and on and on and on and on and on and on and on and on and on and on and on and on",
            availability: Availability::Ga,
            enabled_by_default: false,
            permissions: &[],
            graph_endpoints: &[],
            extra_admin_steps: &[],
        },
        Connector {
            id: "x-two",
            display_name: "Another extremely long connector display name that goes on and on and on and on and on and on and on and on and on and on and on and on and on",
            availability: Availability::Ga,
            enabled_by_default: false,
            permissions: &[],
            graph_endpoints: &[],
            extra_admin_steps: &[],
        },
    ];
    let name = default_display_name(&[&LONG[0], &LONG[1]]);
    assert_eq!(name, "Psoxy Connector - x-one, x-two");
}

#[test]
fn deprecation_warning_names_replacement() {
    let w = connector("azure-ad")
        .unwrap()
        .deprecation_warning()
        .unwrap();
    assert!(w.contains("\"azure-ad\" is deprecated"), "{w}");
    assert!(w.contains("\"msft-entra-id\""), "{w}");
    assert!(w.contains("Microsoft Entra ID"), "{w}");
    assert!(
        connector("msft-entra-id")
            .unwrap()
            .deprecation_warning()
            .is_none()
    );
    let ws = deprecation_warnings(&conns(&["outlook-cal", "azure-ad"]));
    assert_eq!(ws.len(), 1);
}

// ---------- clouds and URLs ----------

#[test]
fn cloud_parsing() {
    let cases = [
        ("global", Cloud::Global),
        ("public", Cloud::Global),
        ("Global", Cloud::Global),
        ("usgovernmentl4", Cloud::UsGovL4),
        ("usgovernment", Cloud::UsGovL4),
        ("usgovernmentl5", Cloud::UsGovL5),
        ("dod", Cloud::UsGovL5),
        ("china", Cloud::China),
        (" CHINA ", Cloud::China),
    ];
    for (s, c) in cases {
        assert_eq!(Cloud::parse(s), Some(c), "{s}");
        assert_eq!(s.parse::<Cloud>(), Ok(c));
    }
    for c in Cloud::ALL {
        assert_eq!(Cloud::parse(c.as_str()), Some(c));
    }
    let err = "germany".parse::<Cloud>().unwrap_err();
    assert!(err.to_string().contains("usgovernmentl5"));
    assert_eq!(Cloud::default(), Cloud::Global);
}

#[test]
fn cloud_hosts() {
    let t = |c: Cloud| {
        (
            c.graph_endpoint(),
            c.login_endpoint(),
            c.entra_admin_center(),
        )
    };
    assert_eq!(
        t(Cloud::Global),
        (
            "https://graph.microsoft.com",
            "https://login.microsoftonline.com",
            "https://entra.microsoft.com"
        )
    );
    assert_eq!(
        t(Cloud::UsGovL4),
        (
            "https://graph.microsoft.us",
            "https://login.microsoftonline.us",
            "https://entra.microsoft.us"
        )
    );
    assert_eq!(
        t(Cloud::UsGovL5),
        (
            "https://dod-graph.microsoft.us",
            "https://login.microsoftonline.us",
            "https://entra.microsoft.us"
        )
    );
    assert_eq!(
        t(Cloud::China),
        (
            "https://microsoftgraph.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
            "https://entra.microsoftonline.cn"
        )
    );
}

#[test]
fn admin_consent_urls_per_cloud() {
    let expected = [
        (
            Cloud::Global,
            "https://login.microsoftonline.com/T/adminconsent?client_id=C",
        ),
        (
            Cloud::UsGovL4,
            "https://login.microsoftonline.us/T/adminconsent?client_id=C",
        ),
        (
            Cloud::UsGovL5,
            "https://login.microsoftonline.us/T/adminconsent?client_id=C",
        ),
        (
            Cloud::China,
            "https://login.chinacloudapi.cn/T/adminconsent?client_id=C",
        ),
    ];
    for (cloud, url) in expected {
        assert_eq!(admin_consent_url(cloud.login_endpoint(), "T", "C"), url);
    }
    // Overrides written with a trailing slash, or without a scheme.
    let want =
        format!("https://login.microsoftonline.com/{TENANT_ID}/adminconsent?client_id={CLIENT_ID}");
    assert_eq!(
        admin_consent_url("https://login.microsoftonline.com/", TENANT_ID, CLIENT_ID),
        want
    );
    assert_eq!(
        admin_consent_url("login.microsoftonline.com", TENANT_ID, CLIENT_ID),
        want
    );
    // A local emulator keeps its scheme and port.
    assert_eq!(
        admin_consent_url("http://127.0.0.1:8080//", "contoso.onmicrosoft.com", "C"),
        "http://127.0.0.1:8080/contoso.onmicrosoft.com/adminconsent?client_id=C"
    );
}

#[test]
fn api_permissions_urls() {
    let want = format!(
        "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/CallAnAPI/appId/{CLIENT_ID}/isMSAApp~/false"
    );
    assert_eq!(
        api_permissions_url("https://entra.microsoft.com", CLIENT_ID),
        want
    );
    assert_eq!(
        api_permissions_url("https://entra.microsoft.com/", CLIENT_ID),
        want
    );
    assert_eq!(api_permissions_url("entra.microsoft.com", CLIENT_ID), want);
    assert!(
        api_permissions_url(Cloud::UsGovL4.entra_admin_center(), "C")
            .starts_with("https://entra.microsoft.us/#view/")
    );
}

// ---------- consent document ----------

fn full_ctx<'a>(cs: &'a [&'static Connector]) -> ConsentContext<'a> {
    // Leaked so the context can borrow them for the test's duration.
    let name: &'static str = Box::leak(default_display_name(cs).into_boxed_str());
    let consent: &'static str = Box::leak(
        admin_consent_url(Cloud::Global.login_endpoint(), TENANT_ID, CLIENT_ID).into_boxed_str(),
    );
    let perms: &'static str = Box::leak(
        api_permissions_url(Cloud::Global.entra_admin_center(), CLIENT_ID).into_boxed_str(),
    );
    ConsentContext {
        client_id: Some(CLIENT_ID),
        object_id: Some(OBJECT_ID),
        service_principal_object_id: Some("12121212-3434-5656-7878-909090909090"),
        tenant_id: Some(TENANT_ID),
        admin_consent_url: Some(consent),
        api_permissions_url: Some(perms),
        ..ConsentContext::new(cs, name, Cloud::Global)
    }
}

#[test]
fn document_contains_everything_for_the_admin() {
    let cs = conns(&["outlook-cal", "outlook-mail"]);
    let ctx = full_ctx(&cs);
    let doc = consent_document(&ctx);

    assert!(
        doc.starts_with(
            "# Grant admin consent: Psoxy Connector - Outlook Calendar, Outlook Mail\n"
        )
    );
    assert!(doc.contains("Outlook Calendar (`outlook-cal`)"));
    assert!(doc.contains("Outlook Mail (`outlook-mail`)"));
    assert!(doc.contains("Privileged Role Administrator"));
    assert!(doc.contains("e8611ab8-c189-46e8-94e1-60213ab1f814"));
    assert!(doc.contains("Cloud Application Administrator"));
    assert!(doc.contains("cannot grant"));
    assert!(doc.contains(CLIENT_ID));
    assert!(doc.contains(OBJECT_ID));
    assert!(doc.contains(TENANT_ID));
    assert!(doc.contains(ctx.admin_consent_url.unwrap()));
    assert!(doc.contains(ctx.api_permissions_url.unwrap()));
    assert!(doc.contains("Grant admin consent for"));
    for (name, id) in required_app_roles(&cs) {
        let p = permission(name).unwrap();
        let row = format!(
            "| `{name}` | Application | `{id}` | {} | {} |",
            p.why, p.data_opened
        );
        assert!(doc.contains(&row), "missing row for {name}");
    }
    assert!(doc.contains("Never message bodies, body previews or attachments"));
    // No Teams step without msft-teams.
    assert!(!doc.contains("CsApplicationAccessPolicy"));
    assert!(!doc.contains("Teams Administrator"));
    // Verification paths.
    assert!(doc.contains("Enterprise applications"));
    assert!(doc.contains("terraform apply -refresh-only"));
    assert!(doc.contains("consent_granted = true"));
    assert!(doc.contains(&format!(
        "GET https://graph.microsoft.com/v1.0/servicePrincipals(appId='{CLIENT_ID}')/appRoleAssignments"
    )));
    // Unknown status: no status section.
    assert!(!doc.contains("## Status"));
    assert!(!doc.contains(KNOWN_AFTER_APPLY));
}

#[test]
fn document_has_teams_steps_only_with_teams() {
    let cs = conns(&["msft-teams"]);
    let doc = consent_document(&full_ctx(&cs));
    assert!(doc.contains("Teams Administrator"));
    assert!(doc.contains("69091246-20e8-4a56-aa4d-066075b2a7a8"));
    assert!(doc.contains("```powershell\nConnect-MicrosoftTeams\n"));
    assert!(doc.contains(&format!(
        "New-CsApplicationAccessPolicy -Identity \"Psoxy-Connector-Microsoft-Teams\" -AppIds \"{CLIENT_ID}\" -Description '"
    )));
    assert!(doc.contains(
        "Grant-CsApplicationAccessPolicy -PolicyName \"Psoxy-Connector-Microsoft-Teams\" -Global"
    ));
    assert!(doc.contains("30 minutes"));
    for name in connector("msft-teams").unwrap().permission_names() {
        assert!(doc.contains(&format!("`{name}`")), "{name}");
    }

    // With other connectors too, the step appears once.
    let cs = conns(&["outlook-cal", "msft-teams"]);
    let doc = consent_document(&full_ctx(&cs));
    assert_eq!(doc.matches("New-CsApplicationAccessPolicy").count(), 1);

    for id in [
        "msft-entra-id",
        "azure-ad",
        "outlook-cal",
        "outlook-mail",
        "msft-onedrive",
        "msft-copilot",
    ] {
        let doc = consent_document(&full_ctx(&conns(&[id])));
        assert!(!doc.contains("CsApplicationAccessPolicy"), "{id}");
    }
}

#[test]
fn document_renders_with_unknown_values() {
    let cs = conns(&["msft-teams"]);
    let ctx = ConsentContext::new(&cs, "Psoxy Connector - Microsoft Teams", Cloud::UsGovL4);
    let doc = consent_document(&ctx);
    assert!(doc.contains(&format!(
        "| Application (client) ID | {KNOWN_AFTER_APPLY} |"
    )));
    assert!(doc.contains(&format!("| Tenant ID | {KNOWN_AFTER_APPLY} |")));
    assert!(doc.contains("`admin_consent_url`"));
    assert!(doc.contains("`api_permissions_url`"));
    assert!(doc.contains("-AppIds \"<client_id>\""));
    assert!(doc.contains("Replace `<client_id>`"));
    assert!(doc.contains("https://entra.microsoft.us"));
    assert!(doc.contains("https://graph.microsoft.us/v1.0/servicePrincipals(appId='<client_id>')"));
    assert!(!doc.contains("## Status"));
    // Still lists every permission and id.
    for p in connector("msft-teams").unwrap().permissions {
        assert!(doc.contains(p.app_role_id), "{}", p.name);
    }
    // Empty strings count as unknown.
    let ctx = ConsentContext {
        client_id: Some(""),
        ..ctx
    };
    assert!(consent_document(&ctx).contains("-AppIds \"<client_id>\""));
}

#[test]
fn document_status_lines() {
    let cs = conns(&["outlook-cal"]);
    let base = full_ctx(&cs);
    let granted = consent_document(&ConsentContext {
        consent: ConsentStatus::Granted,
        ..base.clone()
    });
    assert!(granted.contains("## Status\n\nAdmin consent: **granted**."));

    let pending = consent_document(&ConsentContext {
        consent: ConsentStatus::Pending {
            missing: vec![
                "User.Read.All".into(),
                "Calendars.Read".into(),
                "User.Read.All".into(),
            ],
        },
        ..base.clone()
    });
    assert!(pending.contains(
        "Admin consent: **pending**. Not yet granted: `Calendars.Read`, `User.Read.All`."
    ));

    let teams = conns(&["msft-teams"]);
    let granted_teams = consent_document(&ConsentContext {
        consent: ConsentStatus::Granted,
        ..full_ctx(&teams)
    });
    assert!(granted_teams.contains("cannot be checked from"));
}

#[test]
fn document_is_deterministic_and_order_independent() {
    let a = conns(&["outlook-mail", "outlook-cal"]);
    let b = conns(&["outlook-cal", "outlook-mail"]);
    let name = "Psoxy Connector - Outlook Calendar, Outlook Mail";
    let da = consent_document(&ConsentContext::new(&a, name, Cloud::Global));
    let db = consent_document(&ConsentContext::new(&b, name, Cloud::Global));
    assert_eq!(da, db);
    assert_eq!(
        da,
        consent_document(&ConsentContext::new(&a, name, Cloud::Global))
    );
}

#[test]
fn document_notes_deprecation_and_escapes_table_cells() {
    let cs = conns(&["azure-ad"]);
    let ctx = ConsentContext::new(&cs, "odd | name", Cloud::Global);
    let doc = consent_document(&ctx);
    assert!(doc.contains("> Note: The Psoxy connector \"azure-ad\" is deprecated"));
    assert!(doc.contains("| Display name | odd \\| name |"));
}

#[test]
fn teams_policy_names() {
    assert_eq!(
        teams_policy_name("Psoxy Connector - Microsoft Teams"),
        "Psoxy-Connector-Microsoft-Teams"
    );
    assert_eq!(teams_policy_name("  $weird\"name'`  "), "weird-name");
    assert_eq!(teams_policy_name("---"), "Psoxy-Connector");
    assert!(teams_policy_name(&"ab ".repeat(100)).len() <= 64);
    assert!(!teams_policy_name(&"ab ".repeat(100)).ends_with('-'));
    // Single quotes in the description are doubled for PowerShell.
    let ps = teams_powershell("O'Brien's app", Some(CLIENT_ID));
    assert!(ps.contains("-Description 'O''Brien''s app:"), "{ps}");
}

// ---------- adoption: connectors from the permissions an application asks for ----------

fn ids_for(permissions: &[&str]) -> (Vec<&'static str>, Vec<String>) {
    let (chosen, unneeded) = connectors_for_permissions(permissions);
    (chosen.iter().map(|c| c.id).collect(), unneeded)
}

#[test]
fn each_connectors_own_permissions_infer_that_connector() {
    for c in connectors() {
        if c.availability.replacement().is_some() {
            continue;
        }
        let names: Vec<&str> = c.permission_names().collect();
        let (ids, unneeded) = ids_for(&names);
        assert_eq!(ids, [c.id], "{names:?}");
        assert!(unneeded.is_empty());
    }
}

#[test]
fn several_connectors_and_permissions_no_connector_needs() {
    let mut names: Vec<&str> = conns(&["outlook-cal"])[0].permission_names().collect();
    names.extend(conns(&["msft-teams"])[0].permission_names());
    names.push("Mail.Read");
    names.push("Directory.ReadWrite.All");
    let (ids, unneeded) = ids_for(&names);
    assert_eq!(ids, ["outlook-cal", "msft-teams"]);
    assert_eq!(unneeded, ["Directory.ReadWrite.All", "Mail.Read"]);
    // A deprecated connector is never inferred, and nothing needed infers nothing.
    let (ids, _) = ids_for(&["User.Read.All", "Group.Read.All", "MailboxSettings.Read"]);
    assert_eq!(ids, ["msft-entra-id"]);
    assert_eq!(
        ids_for(&["Mail.Read"]),
        (vec![], vec!["Mail.Read".to_owned()])
    );
    assert_eq!(ids_for(&[]), (vec![], vec![]));
}
