//! The markdown document for the administrator who grants admin consent
//! (psoxy's `TODO 1 - setup <connector>.md`, plus what it lacks: the exact
//! role, both links, why each permission is needed and what it opens, the
//! Teams PowerShell steps, and how to check the result).
//!
//! Output is a pure function of its input (no timestamps, fixed order), so the
//! document is stable in Terraform state and does not cause spurious diffs.

use std::fmt::Write as _;

use super::cloud::Cloud;
use super::connectors::{
    AdminStepKind, Connector, connectors as catalog, extra_admin_steps, required_permissions,
};
use super::permissions::{
    CLOUD_APPLICATION_ADMINISTRATOR, MICROSOFT_GRAPH_APP_ID, PRIVILEGED_ROLE_ADMINISTRATOR,
    Permission, TEAMS_ADMINISTRATOR,
};

/// Shown where a value is not known yet (plan time), in Terraform's words.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// What Graph says about admin consent for the application, if anything yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConsentStatus {
    /// Not known (plan time, or not read yet): the status section is omitted.
    #[default]
    Unknown,
    /// Every required app role is assigned to the service principal.
    Granted,
    /// These permission names are not assigned yet.
    Pending { missing: Vec<String> },
}

/// Everything the document shows. Values that may be unknown at plan time are
/// `Option`; the document renders placeholders for them.
#[derive(Debug, Clone)]
pub struct ConsentContext<'a> {
    pub connectors: &'a [&'static Connector],
    pub display_name: &'a str,
    pub client_id: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub service_principal_object_id: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub admin_consent_url: Option<&'a str>,
    pub api_permissions_url: Option<&'a str>,
    /// Entra admin center base URL, for the navigation instructions.
    pub entra_admin_center: &'a str,
    /// Graph base URL (no version), for the verification call.
    pub graph_endpoint: &'a str,
    pub consent: ConsentStatus,
    /// Graph application permissions granted to the application that it does not
    /// need, by name.
    pub excess: Vec<String>,
    /// Terraform grants consent itself (`grant_admin_consent = true`).
    pub granted_by_terraform: bool,
}

impl<'a> ConsentContext<'a> {
    /// A context with every optional value unknown, for the given cloud's hosts.
    pub fn new(connectors: &'a [&'static Connector], display_name: &'a str, cloud: Cloud) -> Self {
        ConsentContext {
            connectors,
            display_name,
            client_id: None,
            object_id: None,
            service_principal_object_id: None,
            tenant_id: None,
            admin_consent_url: None,
            api_permissions_url: None,
            entra_admin_center: cloud.entra_admin_center(),
            graph_endpoint: cloud.graph_endpoint(),
            consent: ConsentStatus::Unknown,
            excess: Vec::new(),
            granted_by_terraform: false,
        }
    }
}

/// Name of the Teams application access policy for an application: its
/// display name reduced to letters, digits and hyphens (safe unquoted or
/// quoted in PowerShell), at most 64 characters. Derived from the display
/// name, not the client id, so it is already known at plan time.
pub fn teams_policy_name(display_name: &str) -> String {
    let mut out = String::new();
    for ch in display_name.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(64).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "Psoxy-Connector".to_owned()
    } else {
        out
    }
}

/// The Teams PowerShell commands, ready to paste.
pub fn teams_powershell(display_name: &str, client_id: Option<&str>) -> String {
    let policy = teams_policy_name(display_name);
    let app_id = client_id.unwrap_or("<client_id>");
    // Single quotes: PowerShell does not expand `$` or backticks inside them.
    let description =
        format!("{display_name}: lets the Psoxy proxy read online meetings and attendance reports")
            .replace('\'', "''");
    format!(
        "Connect-MicrosoftTeams\n\
         New-CsApplicationAccessPolicy -Identity \"{policy}\" -AppIds \"{app_id}\" -Description '{description}'\n\
         Grant-CsApplicationAccessPolicy -PolicyName \"{policy}\" -Global\n"
    )
}

/// Render the administrator's document.
pub fn consent_document(ctx: &ConsentContext<'_>) -> String {
    let connectors = in_catalog_order(ctx.connectors);
    let doc = Document {
        ctx,
        permissions: required_permissions(&connectors),
        needs_teams: extra_admin_steps(&connectors)
            .iter()
            .any(|s| s.kind == AdminStepKind::TeamsApplicationAccessPolicy),
        client_id: ctx.client_id.filter(|s| !s.is_empty()),
        tenant: ctx.tenant_id.filter(|s| !s.is_empty()),
        entra: ctx.entra_admin_center.trim_end_matches('/'),
        graph: ctx.graph_endpoint.trim_end_matches('/'),
        connectors,
    };
    let mut d = String::new();
    doc.introduction(&mut d);
    // Status first: it is what a returning reader looks for.
    doc.status(&mut d);
    doc.excess_grants(&mut d);
    doc.who_must_act(&mut d);
    doc.application(&mut d);
    doc.permissions(&mut d);
    doc.grant_consent(&mut d);
    if doc.needs_teams {
        doc.teams_policy(&mut d);
    }
    doc.check(&mut d);
    d
}

/// The document's inputs and what its sections derive from them. `write!` to a
/// String cannot fail; its results are ignored on purpose throughout.
struct Document<'c, 'a> {
    ctx: &'c ConsentContext<'a>,
    connectors: Vec<&'static Connector>,
    permissions: Vec<&'static Permission>,
    needs_teams: bool,
    client_id: Option<&'a str>,
    tenant: Option<&'a str>,
    entra: &'a str,
    graph: &'a str,
}

impl Document<'_, '_> {
    /// The title, the connectors and what the application is for.
    fn introduction(&self, d: &mut String) {
        let name = self.ctx.display_name;
        let _ = writeln!(d, "# Grant admin consent: {name}");
        d.push('\n');
        let listed = self
            .connectors
            .iter()
            .map(|c| format!("{} (`{}`)", c.display_name, c.id))
            .collect::<Vec<_>>();
        let _ = writeln!(
            d,
            "Psoxy Microsoft 365 connector{}: {}.",
            if listed.len() == 1 { "" } else { "s" },
            if listed.is_empty() {
                "none selected".to_owned()
            } else {
                listed.join(", ")
            }
        );
        d.push('\n');
        let _ = writeln!(
            d,
            "This Microsoft Entra ID application lets a Psoxy proxy, which your organization runs \
             in its own cloud account, read work metadata from Microsoft 365 through Microsoft \
             Graph and pseudonymize it before it reaches Worklytics. It holds read-only Microsoft \
             Graph application permissions, which do nothing until an administrator grants \
             tenant-wide admin consent. The proxy signs in with a federated identity credential: \
             there is no client secret or certificate to protect."
        );
        for c in &self.connectors {
            if let Some(w) = c.deprecation_warning() {
                d.push('\n');
                let _ = writeln!(d, "> Note: {w}");
            }
        }

        // Status first: it is what a returning reader looks for.
    }

    /// Whether consent is granted, when known.
    fn status(&self, d: &mut String) {
        match &self.ctx.consent {
            ConsentStatus::Unknown => {}
            ConsentStatus::Granted => {
                d.push_str("\n## Status\n\n");
                let _ = writeln!(
                    d,
                    "Admin consent: **granted**. Every permission below is assigned to the \
                     application's service principal; nothing more is needed for consent."
                );
                if self.ctx.granted_by_terraform {
                    let _ = writeln!(
                        d,
                        "Terraform granted it (`grant_admin_consent = true`), signed in as an \
                         identity allowed to; step 1 below is for reference."
                    );
                }
                if self.needs_teams {
                    let _ = writeln!(
                        d,
                        "The Teams application access policy (step 2) cannot be checked from \
                         Microsoft Graph; make sure it has been done."
                    );
                }
            }
            ConsentStatus::Pending { missing } => {
                d.push_str("\n## Status\n\n");
                let mut missing: Vec<&str> = missing.iter().map(String::as_str).collect();
                missing.sort_unstable();
                missing.dedup();
                if missing.is_empty() {
                    let _ = writeln!(d, "Admin consent: **pending**.");
                } else {
                    let _ = writeln!(
                        d,
                        "Admin consent: **pending**. Not yet granted: {}.",
                        missing
                            .iter()
                            .map(|m| format!("`{m}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
    }

    /// Permissions granted that no connector needs, and how they go.
    fn excess_grants(&self, d: &mut String) {
        if self.ctx.excess.is_empty() {
            return;
        }
        d.push_str("\n## Granted but not needed\n\n");
        let _ = writeln!(
            d,
            "These Microsoft Graph application permissions are granted to the application, \
             but none of its connectors needs them: {}.",
            self.ctx
                .excess
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if self.ctx.granted_by_terraform {
            let _ = writeln!(
                d,
                "Terraform revokes them at the next apply (`grant_admin_consent = true`)."
            );
        } else {
            let _ = writeln!(
                d,
                "To keep to least privilege, revoke them: in <{}>, **Applications** > \
                 **Enterprise applications**, open the application, **Permissions**, and \
                 revoke each; or set `grant_admin_consent = true` on the Terraform resource, \
                 and the next apply revokes them.",
                self.entra
            );
        }
    }

    /// The roles that can act.
    fn who_must_act(&self, d: &mut String) {
        d.push_str("\n## Who must act\n\n");
        let _ = writeln!(
            d,
            "- Admin consent: a **{}** (role template id `{}`), or a Global Administrator. A {} \
             or Application Administrator can create and edit the application but cannot grant \
             consent to Microsoft Graph application permissions.",
            PRIVILEGED_ROLE_ADMINISTRATOR.name,
            PRIVILEGED_ROLE_ADMINISTRATOR.template_id,
            CLOUD_APPLICATION_ADMINISTRATOR.name,
        );
        if self.needs_teams {
            let _ = writeln!(
                d,
                "- Teams application access policy (step 2): a **{}** (role template id `{}`).",
                TEAMS_ADMINISTRATOR.name, TEAMS_ADMINISTRATOR.template_id
            );
        }
    }

    /// The ids to find the application by.
    fn application(&self, d: &mut String) {
        let name = self.ctx.display_name;
        d.push_str("\n## The application\n\n");
        let placeholder = |v: Option<&str>| match v.filter(|s| !s.is_empty()) {
            Some(v) => format!("`{v}`"),
            None => KNOWN_AFTER_APPLY.to_owned(),
        };
        d.push_str("| | |\n|---|---|\n");
        let _ = writeln!(d, "| Display name | {} |", md_cell(name));
        let _ = writeln!(
            d,
            "| Application (client) ID | {} |",
            placeholder(self.ctx.client_id)
        );
        let _ = writeln!(d, "| Object ID | {} |", placeholder(self.ctx.object_id));
        let _ = writeln!(
            d,
            "| Service principal object ID | {} |",
            placeholder(self.ctx.service_principal_object_id)
        );
        let _ = writeln!(d, "| Tenant ID | {} |", placeholder(self.ctx.tenant_id));
        d.push('\n');
        let _ = writeln!(
            d,
            "Search for the application by its client ID: display names need not be unique."
        );
    }

    /// Each permission, why Psoxy needs it and what it opens.
    fn permissions(&self, d: &mut String) {
        d.push_str("\n## Permissions requested\n\n");
        let _ = writeln!(
            d,
            "All {} are Microsoft Graph (resource appId `{MICROSOFT_GRAPH_APP_ID}`) **application** \
             permissions: they apply to the whole tenant without a signed-in user. All are \
             read-only; none is a delegated permission.",
            self.permissions.len()
        );
        d.push('\n');
        d.push_str("| Permission | Type | appRole id | Why Psoxy needs it | What it opens |\n");
        d.push_str("|---|---|---|---|---|\n");
        for p in &self.permissions {
            let _ = writeln!(
                d,
                "| `{}` | {} | `{}` | {} | {} |",
                p.name,
                Permission::KIND,
                p.app_role_id,
                md_cell(p.why),
                md_cell(p.data_opened)
            );
        }
    }

    /// Step 1: the two ways to grant consent.
    fn grant_consent(&self, d: &mut String) {
        let entra = self.entra;
        d.push_str("\n## Step 1: grant admin consent\n\n");
        let _ = writeln!(
            d,
            "Signed in as a {}, use either option.",
            PRIVILEGED_ROLE_ADMINISTRATOR.name
        );
        d.push_str("\n### Option A: the admin consent link\n\n");
        match self.ctx.admin_consent_url.filter(|s| !s.is_empty()) {
            Some(url) => {
                let _ = writeln!(d, "1. Open <{url}>");
            }
            None => {
                let _ = writeln!(
                    d,
                    "1. Open the admin consent link: {KNOWN_AFTER_APPLY}. It is this resource's \
                     `admin_consent_url` attribute once the application exists."
                );
            }
        }
        let _ = writeln!(
            d,
            "2. Check that the page lists the permissions above, then choose **Accept**."
        );
        let _ = writeln!(
            d,
            "3. The application has no sign-in redirect address, so the browser may end on an \
             error page about a reply address after you accept. Consent is recorded all the \
             same; confirm it as described under \"Check that it worked\"."
        );

        d.push_str("\n### Option B: the Microsoft Entra admin center\n\n");
        match self.ctx.api_permissions_url.filter(|s| !s.is_empty()) {
            Some(url) => {
                let _ = writeln!(d, "1. Open the application's API permissions page: <{url}>");
            }
            None => {
                let _ = writeln!(
                    d,
                    "1. Open the application's API permissions page: {KNOWN_AFTER_APPLY}. It is \
                     this resource's `api_permissions_url` attribute once the application exists."
                );
            }
        }
        let _ = writeln!(
            d,
            "   Or, in <{entra}>: **Applications** > **App registrations** > **All applications**, \
             search for {}, open it, then **API permissions**.",
            match self.client_id {
                Some(id) => format!("`{id}`"),
                None => "the client ID".to_owned(),
            }
        );
        let _ = writeln!(
            d,
            "2. Check that the list matches the permissions above, each of type **Application**."
        );
        let _ = writeln!(
            d,
            "3. Choose **Grant admin consent for** *your organization's name*, then **Yes**."
        );
        let _ = writeln!(
            d,
            "4. The **Status** column now shows **Granted for** *your organization's name* on \
             every row."
        );
    }

    /// Step 2, for connectors that read Teams meetings.
    fn teams_policy(&self, d: &mut String) {
        let name = self.ctx.display_name;
        d.push_str("\n## Step 2: Teams application access policy\n\n");
        let _ = writeln!(
            d,
            "Microsoft Teams serves online meetings and their attendance reports to an \
             application only for users covered by an application access policy that lists \
             the application. A **{}** runs, in PowerShell with the MicrosoftTeams module \
             (`Install-Module MicrosoftTeams`):",
            TEAMS_ADMINISTRATOR.name
        );
        d.push_str("\n```powershell\n");
        d.push_str(&teams_powershell(name, self.client_id));
        d.push_str("```\n\n");
        if self.client_id.is_none() {
            let _ = writeln!(
                d,
                "Replace `<client_id>` with the application (client) ID above once it is known."
            );
        }
        let _ = writeln!(
            d,
            "- The policy can take up to 30 minutes to take effect; until then the proxy gets \
             authorization errors for online meetings."
        );
        let _ = writeln!(
            d,
            "- `-Global` covers every user in the tenant. To cover only some users, run \
             `Grant-CsApplicationAccessPolicy -PolicyName \"{}\" -Identity <user>` for each \
             instead.",
            teams_policy_name(name)
        );
        let _ = writeln!(
            d,
            "- Only one application access policy can be granted with `-Global`; granting \
             this one replaces any other for users without their own. If another policy is \
             already granted tenant-wide, add this application to it instead of the last two \
             commands: `Set-CsApplicationAccessPolicy -Identity <existing policy> -AppIds \
             @{{Add=\"{}\"}}`.",
            self.client_id.unwrap_or("<client_id>")
        );
    }

    /// How to check that consent took effect.
    fn check(&self, d: &mut String) {
        let entra = self.entra;
        let graph = self.graph;
        d.push_str("\n## Check that it worked\n\n");
        let _ = writeln!(
            d,
            "- Entra admin center (<{entra}>): **Applications** > **Enterprise applications**, \
             open the application, then **Permissions**: every permission above is listed under \
             admin consent. Under **App registrations** > the application > **API permissions**, \
             each row shows **Granted for** *your organization's name*."
        );
        let _ = writeln!(
            d,
            "- Terraform: `terraform apply -refresh-only` (or `terraform plan`) shows \
             `consent_granted = true` and an empty `missing_app_roles` for this resource."
        );
        let graph_call = format!(
            "{graph}/v1.0/servicePrincipals(appId='{}')/appRoleAssignments",
            self.client_id.unwrap_or("<client_id>")
        );
        let _ = writeln!(
            d,
            "- Microsoft Graph: `GET {graph_call}` (for example `az rest --method get --url \
             \"{graph_call}\"`) returns one assignment per permission, its `appRoleId` matching \
             the table above."
        );
        let _ = writeln!(
            d,
            "\nIf the proxy reports `Authorization_IdentityNotFound`, consent is still missing{}. \
             Adding connectors to this application later adds permissions, which need consent \
             again.",
            match self.tenant {
                Some(t) => format!(" in tenant `{t}`"),
                None => String::new(),
            }
        );
    }
}

/// The connectors deduplicated, in catalog order, so that the document does
/// not change when the Terraform list is reordered.
fn in_catalog_order(given: &[&'static Connector]) -> Vec<&'static Connector> {
    let mut out: Vec<&'static Connector> = catalog()
        .iter()
        .filter(|c| given.iter().any(|g| g.id == c.id))
        .collect();
    for g in given {
        if !out.iter().any(|c| c.id == g.id) {
            out.push(g);
        }
    }
    out
}

/// Make text safe inside a markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
