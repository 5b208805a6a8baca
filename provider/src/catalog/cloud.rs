//! Microsoft clouds and the links the administrator's document points at.

use std::fmt;
use std::str::FromStr;

/// A Microsoft cloud instance. Tokens, apps and consent do not cross clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    #[default]
    Global,
    /// US Government L4 (GCC High).
    UsGovL4,
    /// US Government L5 (DoD).
    UsGovL5,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsGovL4, Cloud::UsGovL5, Cloud::China];

    /// Canonical name, as the provider's `environment` attribute takes it
    /// (the same values as the azuread provider's `ARM_ENVIRONMENT`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGovL4 => "usgovernmentl4",
            Cloud::UsGovL5 => "usgovernmentl5",
            Cloud::China => "china",
        }
    }

    /// Parse a name case-insensitively; accepts the azuread aliases
    /// `public`, `usgovernment` (L4) and `dod` (L5).
    pub fn parse(name: &str) -> Option<Cloud> {
        match name.trim().to_ascii_lowercase().as_str() {
            "global" | "public" => Some(Cloud::Global),
            "usgovernmentl4" | "usgovernment" => Some(Cloud::UsGovL4),
            "usgovernmentl5" | "dod" => Some(Cloud::UsGovL5),
            "china" => Some(Cloud::China),
            _ => None,
        }
    }

    /// Graph base URL, without API version (MGD `concepts/deployments.md`).
    pub fn graph_endpoint(&self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGovL4 => "https://graph.microsoft.us",
            Cloud::UsGovL5 => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// Entra ID login host. L5 shares L4's. For China this is the host
    /// go-azure-sdk (and so the azuread provider) uses; Microsoft's own docs
    /// also show `https://login.partner.microsoftonline.cn`, which serves the
    /// same tenants. The provider's `login_endpoint` overrides either.
    pub fn login_endpoint(&self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGovL4 | Cloud::UsGovL5 => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// Microsoft Entra admin center. The three hosts are the ones Learn's
    /// Entra FAQ lists for firewall allow-lists (entra.microsoft.com,
    /// entra.microsoft.us, entra.microsoftonline.cn); DoD uses the US
    /// Government admin center as it does the login host.
    pub fn entra_admin_center(&self) -> &'static str {
        match self {
            Cloud::Global => "https://entra.microsoft.com",
            Cloud::UsGovL4 | Cloud::UsGovL5 => "https://entra.microsoft.us",
            Cloud::China => "https://entra.microsoftonline.cn",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cloud name that [`Cloud::parse`] does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCloud(pub String);

impl fmt::Display for UnknownCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a Microsoft cloud environment. Valid values: global (or public), \
             usgovernmentl4 (or usgovernment), usgovernmentl5 (or dod), china",
            self.0
        )
    }
}

impl std::error::Error for UnknownCloud {}

impl FromStr for Cloud {
    type Err = UnknownCloud;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cloud::parse(s).ok_or_else(|| UnknownCloud(s.to_owned()))
    }
}

/// `https://host` from `host`, `https://host/` or `https://host`; so that
/// endpoint overrides written either way give the same links.
fn base_url(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.contains("://") {
        host.to_owned()
    } else {
        format!("https://{host}")
    }
}

/// Tenant-wide admin consent link (the v1 `adminconsent` endpoint, which
/// grants every permission the application requests). `tenant_id` may be the
/// tenant GUID or a verified domain.
pub fn admin_consent_url(login_endpoint: &str, tenant_id: &str, client_id: &str) -> String {
    format!(
        "{}/{}/adminconsent?client_id={}",
        base_url(login_endpoint),
        tenant_id.trim(),
        client_id.trim()
    )
}

/// The application's "API permissions" page in the Entra admin center, where
/// "Grant admin consent for <tenant>" is. Not an officially documented URL,
/// but the one psoxy and many scripts use.
pub fn api_permissions_url(entra_host: &str, client_id: &str) -> String {
    format!(
        "{}/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/CallAnAPI/appId/{}/isMSAApp~/false",
        base_url(entra_host),
        client_id.trim()
    )
}
