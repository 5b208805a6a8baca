//! The Psoxy Microsoft 365 connector catalog (psoxy v0.6.9,
//! `infra/modules/worklytics-connector-specs/msft-365.tf`), plus lookup with
//! "did you mean" suggestions for Terraform diagnostics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::permissions::{
    AI_ENTERPRISE_INTERACTION_READ_ALL, CALENDARS_READ, CALL_RECORDS_READ_ALL,
    CHANNEL_MESSAGE_READ_ALL, CHANNEL_READ_BASIC_ALL, CHAT_READ_ALL, DirectoryRole, FILES_READ_ALL,
    GROUP_READ_ALL, MAIL_READ_BASIC_ALL, MAILBOX_SETTINGS_READ, ONLINE_MEETING_ARTIFACT_READ_ALL,
    ONLINE_MEETINGS_READ_ALL, Permission, TEAM_READ_BASIC_ALL, TEAMS_ADMINISTRATOR, USER_READ_ALL,
};

/// How far along a connector is in Psoxy's own lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Ga,
    Beta,
    Alpha,
    /// Still works, but Terraform should warn and name the replacement.
    Deprecated {
        replacement: &'static str,
    },
}

impl Availability {
    pub fn as_str(&self) -> &'static str {
        match self {
            Availability::Ga => "ga",
            Availability::Beta => "beta",
            Availability::Alpha => "alpha",
            Availability::Deprecated { .. } => "deprecated",
        }
    }

    pub fn replacement(&self) -> Option<&'static str> {
        match self {
            Availability::Deprecated { replacement } => Some(replacement),
            _ => None,
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of extra step; lets the document renderer match exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminStepKind {
    /// Teams PowerShell: New-CsApplicationAccessPolicy + Grant-CsApplicationAccessPolicy.
    TeamsApplicationAccessPolicy,
}

/// A step beyond admin consent that an administrator must take by hand.
#[derive(Debug, PartialEq, Eq)]
pub struct AdminStep {
    /// Stable id, for the data source.
    pub id: &'static str,
    pub kind: AdminStepKind,
    pub title: &'static str,
    /// Directory role of whoever must perform it.
    pub role: DirectoryRole,
    /// One-paragraph explanation, without tenant-specific values.
    pub summary: &'static str,
}

pub static TEAMS_APPLICATION_ACCESS_POLICY: AdminStep = AdminStep {
    id: "teams-application-access-policy",
    kind: AdminStepKind::TeamsApplicationAccessPolicy,
    title: "Teams application access policy",
    role: TEAMS_ADMINISTRATOR,
    summary: "Microsoft Graph serves online meetings and their attendance reports to an \
              application only for users covered by a Teams application access policy \
              that lists the application's client id. A Teams Administrator creates the \
              policy with New-CsApplicationAccessPolicy and grants it tenant-wide with \
              Grant-CsApplicationAccessPolicy -Global, in Teams PowerShell \
              (Connect-MicrosoftTeams). It can take up to 30 minutes to take effect.",
};

/// One Psoxy Microsoft 365 connector.
#[derive(Debug, PartialEq, Eq)]
pub struct Connector {
    /// Psoxy's connector id, e.g. `outlook-cal`.
    pub id: &'static str,
    /// Psoxy's display name, e.g. `Outlook Calendar`.
    pub display_name: &'static str,
    pub availability: Availability,
    /// The connector psoxy enables when none is chosen (pilots start with it).
    pub enabled_by_default: bool,
    /// Graph application permissions, in the reference's order. References
    /// rather than names, so a typo cannot compile.
    pub permissions: &'static [&'static Permission],
    /// Graph endpoints the proxy calls for this connector.
    pub graph_endpoints: &'static [&'static str],
    /// Steps beyond admin consent (only Teams has one).
    pub extra_admin_steps: &'static [&'static AdminStep],
}

impl Connector {
    pub fn permission_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.permissions.iter().map(|p| p.name)
    }

    /// psoxy's app name for this connector, without its environment id and
    /// without its accidental trailing space.
    pub fn default_display_name(&self) -> String {
        format!("{DISPLAY_NAME_PREFIX} - {}", self.display_name)
    }

    /// Text for a Terraform warning diagnostic, for deprecated connectors only.
    pub fn deprecation_warning(&self) -> Option<String> {
        let replacement = self.availability.replacement()?;
        let replacement_name = connector(replacement)
            .map(|c| format!(" ({})", c.display_name))
            .unwrap_or_default();
        Some(format!(
            "The Psoxy connector \"{}\" is deprecated; use \"{replacement}\"{replacement_name} \
             instead. It still works and requests the same permissions, but may be removed \
             in a future release.",
            self.id
        ))
    }
}

const DISPLAY_NAME_PREFIX: &str = "Psoxy Connector";

/// Entra ID limits an application's displayName to 256 characters.
pub const MAX_DISPLAY_NAME_LEN: usize = 256;

// Endpoints: the reference's list, written out as the concrete paths psoxy's
// per-connector docs give for them.
const DIRECTORY_ENDPOINTS: &[&str] = &["/v1.0/users", "/v1.0/groups", "/v1.0/groups/{id}/members"];

static CONNECTORS: [Connector; 7] = [
    Connector {
        id: "msft-entra-id",
        display_name: "Microsoft Entra ID (former Azure AD)",
        availability: Availability::Ga,
        enabled_by_default: false,
        permissions: &[&USER_READ_ALL, &GROUP_READ_ALL, &MAILBOX_SETTINGS_READ],
        graph_endpoints: DIRECTORY_ENDPOINTS,
        extra_admin_steps: &[],
    },
    Connector {
        id: "azure-ad",
        display_name: "Azure Directory (deprecated: use msft-entra-id)",
        availability: Availability::Deprecated {
            replacement: "msft-entra-id",
        },
        enabled_by_default: false,
        permissions: &[&USER_READ_ALL, &GROUP_READ_ALL, &MAILBOX_SETTINGS_READ],
        graph_endpoints: DIRECTORY_ENDPOINTS,
        extra_admin_steps: &[],
    },
    Connector {
        id: "outlook-cal",
        display_name: "Outlook Calendar",
        availability: Availability::Ga,
        enabled_by_default: true,
        permissions: &[
            &CALENDARS_READ,
            &MAILBOX_SETTINGS_READ,
            &GROUP_READ_ALL,
            &USER_READ_ALL,
        ],
        graph_endpoints: &[
            "/v1.0/users",
            "/v1.0/groups",
            "/v1.0/groups/{id}/members",
            "/v1.0/users/{id}/events",
            "/v1.0/users/{id}/calendarView",
            "/v1.0/users/{id}/mailboxSettings",
        ],
        extra_admin_steps: &[],
    },
    Connector {
        id: "outlook-mail",
        display_name: "Outlook Mail",
        availability: Availability::Ga,
        enabled_by_default: false,
        permissions: &[
            &MAIL_READ_BASIC_ALL,
            &MAILBOX_SETTINGS_READ,
            &GROUP_READ_ALL,
            &USER_READ_ALL,
        ],
        graph_endpoints: &[
            "/v1.0/users",
            "/v1.0/groups",
            "/v1.0/groups/{id}/members",
            "/v1.0/users/{id}/mailboxSettings",
            "/v1.0/users/{id}/mailFolders/SentItems/messages",
        ],
        extra_admin_steps: &[],
    },
    Connector {
        id: "msft-onedrive",
        display_name: "Microsoft OneDrive",
        availability: Availability::Beta,
        enabled_by_default: false,
        permissions: &[&FILES_READ_ALL, &USER_READ_ALL, &GROUP_READ_ALL],
        graph_endpoints: &[
            "/v1.0/users",
            "/v1.0/groups",
            "/v1.0/users/{id}/drives",
            "/v1.0/groups/{id}/drives",
            "/v1.0/drives/{id}/root/delta",
            "/v1.0/drives/{id}/activities",
            "/v1.0/drives/{id}/items/{itemId}/activities",
        ],
        extra_admin_steps: &[],
    },
    Connector {
        id: "msft-teams",
        display_name: "Microsoft Teams",
        availability: Availability::Ga,
        enabled_by_default: false,
        permissions: &[
            &USER_READ_ALL,
            &TEAM_READ_BASIC_ALL,
            &CHANNEL_READ_BASIC_ALL,
            &CHAT_READ_ALL,
            &CHANNEL_MESSAGE_READ_ALL,
            &CALL_RECORDS_READ_ALL,
            &ONLINE_MEETINGS_READ_ALL,
            &ONLINE_MEETING_ARTIFACT_READ_ALL,
        ],
        graph_endpoints: &[
            "/v1.0/users",
            "/v1.0/teams",
            "/v1.0/teams/{id}/allChannels",
            "/v1.0/teams/{id}/channels/{channelId}/messages",
            "/v1.0/users/{id}/chats",
            "/v1.0/chats/{id}/messages",
            "/v1.0/communications/callRecords",
            "/v1.0/users/{id}/onlineMeetings",
            "/v1.0/users/{id}/onlineMeetings/{meetingId}/attendanceReports",
        ],
        extra_admin_steps: &[&TEAMS_APPLICATION_ACCESS_POLICY],
    },
    Connector {
        id: "msft-copilot",
        display_name: "Microsoft 365 Copilot",
        availability: Availability::Alpha,
        enabled_by_default: false,
        permissions: &[&USER_READ_ALL, &AI_ENTERPRISE_INTERACTION_READ_ALL],
        graph_endpoints: &[
            "/v1.0/users",
            "/beta/copilot/users/{id}/interactionHistory/getAllEnterpriseInteractions",
        ],
        extra_admin_steps: &[],
    },
];

/// The whole catalog, in the reference's order.
pub fn connectors() -> &'static [Connector] {
    &CONNECTORS
}

/// Exact lookup by connector id.
pub fn connector(id: &str) -> Option<&'static Connector> {
    CONNECTORS.iter().find(|c| c.id == id)
}

/// Every valid id, in catalog order.
pub fn connector_ids() -> Vec<&'static str> {
    CONNECTORS.iter().map(|c| c.id).collect()
}

/// An id that is not in the catalog. Its Display is written to be the detail
/// of a Terraform error diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownConnector {
    pub id: String,
    pub valid: Vec<&'static str>,
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for UnknownConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a Psoxy Microsoft 365 connector.", self.id)?;
        if let Some(s) = self.suggestion {
            write!(f, " Did you mean {s:?}?")?;
        }
        write!(f, " Valid ids: {}", self.valid.join(", "))
    }
}

impl std::error::Error for UnknownConnector {}

/// Resolve one id, or explain why not.
pub fn find(id: &str) -> Result<&'static Connector, UnknownConnector> {
    connector(id).ok_or_else(|| UnknownConnector {
        id: id.to_owned(),
        valid: connector_ids(),
        suggestion: suggest(id),
    })
}

/// Resolve ids in order, dropping duplicates (first occurrence wins). Fails on
/// the first unknown id; use [`find`] per element to report each one with its
/// attribute path.
pub fn lookup<S: AsRef<str>>(ids: &[S]) -> Result<Vec<&'static Connector>, UnknownConnector> {
    let mut out: Vec<&'static Connector> = Vec::with_capacity(ids.len());
    for id in ids {
        let c = find(id.as_ref())?;
        if !out.iter().any(|seen| seen.id == c.id) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Minimum Jaro-Winkler similarity for a suggestion: catches typos and
/// transpositions ("outlok-cal", "azuread") without suggesting for noise.
const SUGGESTION_THRESHOLD: f64 = 0.85;

/// The closest valid id, if any is close enough.
///
/// Each id is compared in several forms: the id itself, the id without the
/// `msft-` vendor prefix (people type "teams", "onedrive"), and its
/// hyphen-separated words ("cal", "mail"). Ties go to catalog order, so the
/// answer is deterministic.
pub fn suggest(input: &str) -> Option<&'static str> {
    let input = input.trim().to_ascii_lowercase();
    if input.is_empty() {
        return None;
    }
    let mut best: Option<(&'static str, f64)> = None;
    for c in &CONNECTORS {
        let score = similarity(&input, c.id);
        if score >= SUGGESTION_THRESHOLD && best.is_none_or(|(_, b)| score > b) {
            best = Some((c.id, score));
        }
    }
    best.map(|(id, _)| id)
}

fn similarity(input: &str, id: &str) -> f64 {
    let mut score = strsim::jaro_winkler(input, id);
    if let Some(short) = id.strip_prefix("msft-") {
        score = score.max(strsim::jaro_winkler(input, short));
    }
    // A whole word of the id ("cal", "teams") is a strong hint, but a bit
    // weaker than a near-exact match of the full id.
    if input.len() >= 3 && id.split('-').any(|w| w == input) {
        score = score.max(0.9);
    }
    // Separators are often dropped or changed: "outlook_cal", "msftteams".
    let squash = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    let (a, b) = (squash(input), squash(id));
    if !a.is_empty() && a == b {
        score = score.max(0.99);
    }
    score
}

/// Union of the connectors' Graph application permissions: name → appRole id.
pub fn required_app_roles(connectors: &[&Connector]) -> BTreeMap<&'static str, &'static str> {
    connectors
        .iter()
        .flat_map(|c| c.permissions.iter())
        .map(|p| (p.name, p.app_role_id))
        .collect()
}

/// The connectors an application asking for these Graph application permissions
/// serves, for adopting an application someone made by hand: the smallest set of
/// current (not deprecated) connectors whose permissions cover the ones asked for that
/// any connector needs, preferring sets that ask for fewer permissions beyond them,
/// then catalog order. Also returns the permissions no connector needs, sorted.
pub fn connectors_for_permissions<S: AsRef<str>>(
    permission_names: &[S],
) -> (Vec<&'static Connector>, Vec<String>) {
    let candidates: Vec<&'static Connector> = connectors()
        .iter()
        .filter(|c| c.availability.replacement().is_none())
        .collect();
    let needed: BTreeSet<&str> = permission_names
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| {
            candidates
                .iter()
                .any(|c| c.permission_names().any(|n| n == *p))
        })
        .collect();
    let mut unneeded: Vec<String> = permission_names
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| !needed.contains(p))
        .map(str::to_owned)
        .collect();
    unneeded.sort();
    unneeded.dedup();
    if needed.is_empty() {
        return (Vec::new(), unneeded);
    }
    // The catalog is small (fewer than 16 current connectors): every subset is tried.
    let mut best: Option<(usize, usize, Vec<usize>)> = None;
    for mask in 1u32..(1 << candidates.len()) {
        let indices: Vec<usize> = (0..candidates.len())
            .filter(|i| mask & (1 << i) != 0)
            .collect();
        let covered: BTreeSet<&str> = indices
            .iter()
            .flat_map(|&i| candidates[i].permission_names())
            .collect();
        if !needed.is_subset(&covered) {
            continue;
        }
        let score = (indices.len(), covered.len() - needed.len(), indices);
        if best.as_ref().is_none_or(|b| score < *b) {
            best = Some(score);
        }
    }
    let (_, _, indices) = best.expect("every needed permission is some connector's");
    let chosen = indices.into_iter().map(|i| candidates[i]).collect();
    (chosen, unneeded)
}

/// Union of the connectors' permissions, each once, in first-seen order (for
/// documents, where the reference's order reads better than alphabetical).
pub fn required_permissions(connectors: &[&Connector]) -> Vec<&'static Permission> {
    let mut out: Vec<&'static Permission> = Vec::new();
    for p in connectors
        .iter()
        .flat_map(|c| c.permissions.iter().copied())
    {
        if !out.iter().any(|q| q.name == p.name) {
            out.push(p);
        }
    }
    out
}

/// Extra admin steps needed by any of the connectors, each once.
pub fn extra_admin_steps(connectors: &[&Connector]) -> Vec<&'static AdminStep> {
    let mut out: Vec<&'static AdminStep> = Vec::new();
    for s in connectors
        .iter()
        .flat_map(|c| c.extra_admin_steps.iter().copied())
    {
        if !out.iter().any(|t| t.id == s.id) {
            out.push(s);
        }
    }
    out
}

/// Warnings for the deprecated connectors among these, in order.
pub fn deprecation_warnings(connectors: &[&Connector]) -> Vec<String> {
    connectors
        .iter()
        .filter_map(|c| c.deprecation_warning())
        .collect()
}

/// A default application display name.
///
/// One connector: psoxy's `Psoxy Connector - <display name>`. Several: their
/// display names joined by ", " in catalog order, so that reordering the
/// Terraform list does not rename the app. Kept within Entra's 256 characters
/// by falling back to the ids, then to a count.
pub fn default_display_name(connectors: &[&Connector]) -> String {
    let mut selected: Vec<&Connector> = CONNECTORS
        .iter()
        .filter(|c| connectors.iter().any(|d| d.id == c.id))
        .collect();
    // Connectors built outside the catalog (tests, future callers) still count.
    for c in connectors {
        if !selected.iter().any(|s| s.id == c.id) {
            selected.push(c);
        }
    }
    match selected.as_slice() {
        [] => DISPLAY_NAME_PREFIX.to_owned(),
        [one] => one.default_display_name(),
        many => {
            let by_name = joined(many.iter().map(|c| c.display_name));
            if by_name.chars().count() <= MAX_DISPLAY_NAME_LEN {
                return by_name;
            }
            let by_id = joined(many.iter().map(|c| c.id));
            if by_id.chars().count() <= MAX_DISPLAY_NAME_LEN {
                return by_id;
            }
            format!(
                "{DISPLAY_NAME_PREFIX} - {} Microsoft 365 connectors",
                many.len()
            )
        }
    }
}

fn joined<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    format!(
        "{DISPLAY_NAME_PREFIX} - {}",
        parts.collect::<Vec<_>>().join(", ")
    )
}
