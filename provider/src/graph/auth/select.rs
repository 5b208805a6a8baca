//! Which way to sign in, decided from the settings and the environment alone (no I/O:
//! Terraform starts the provider several times per command, and sign-in happens on the
//! first Graph call). First match wins:
//!
//! 1. client certificate: `client_id` + `client_certificate_path` or `client_certificate`
//!    (`ARM_CLIENT_CERTIFICATE_PATH`, `ARM_CLIENT_CERTIFICATE`), with
//!    `client_certificate_password` if the file has one (the azuread provider's order:
//!    a certificate before a secret);
//! 2. client secret: `client_id` + `client_secret` (`ARM_CLIENT_ID` + `ARM_CLIENT_SECRET`,
//!    or the `_FILE_PATH` variables);
//! 3. OIDC: `use_oidc` (`ARM_USE_OIDC`) with `client_id` and a token from `oidc_token`
//!    (`ARM_OIDC_TOKEN`), `oidc_token_file_path` (`ARM_OIDC_TOKEN_FILE_PATH`), or the
//!    pipeline's request variables (`ARM_OIDC_REQUEST_URL`/`_TOKEN`, else GitHub's
//!    `ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`, else Azure DevOps' `SYSTEM_OIDCREQUESTURI`/
//!    `SYSTEM_ACCESSTOKEN` with `ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID`);
//! 4. managed identity: `use_msi` (`ARM_USE_MSI`), at `msi_endpoint` (`ARM_MSI_ENDPOINT`),
//!    else App Service's `IDENTITY_ENDPOINT`, else the instance metadata service;
//!    `client_id` picks a user-assigned identity;
//! 5. Azure CLI: `use_cli` (`ARM_USE_CLI`, default true).
//!
//! When none applies, one error lists each source, why it did not apply and what would.

use super::azure_cli::{AzureCliSource, login_command};
use super::certificate::{CertificateOrigin, CertificateSource};
use super::client_secret::ClientSecretSource;
use super::managed_identity::{IdentityEndpoint, ManagedIdentitySource};
use super::oidc::{AssertionSource, OidcSource};
use super::{AuthError, TokenSource};
use crate::config::{ProviderSettings, Secret};
use std::path::PathBuf;
use std::sync::Arc;

pub const SOURCE_CLIENT_CERTIFICATE: &str = "client certificate";
pub const SOURCE_CLIENT_SECRET: &str = "client secret";
pub const SOURCE_MANAGED_IDENTITY: &str = "managed identity";
pub const SOURCE_OIDC: &str = "OIDC token";
pub const SOURCE_AZURE_CLI: &str = "Azure CLI";

/// The first applicable source; see the module documentation for the order.
pub fn select_source(
    settings: &ProviderSettings,
    http: reqwest::Client,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn TokenSource>, AuthError> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let tenant = settings.tenant_id.as_deref();
    let client_id = settings
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let mut tried: Vec<(&str, String)> = Vec::new();

    // 1. Client certificate.
    let origin = match (
        &settings.client_certificate_path,
        &settings.client_certificate,
    ) {
        (Some(path), _) if !path.trim().is_empty() => {
            Some(CertificateOrigin::Path(PathBuf::from(path.trim())))
        }
        (_, Some(inline)) if !inline.expose().trim().is_empty() => {
            Some(CertificateOrigin::Inline(inline.clone()))
        }
        _ => None,
    };
    match (client_id, origin) {
        (Some(client_id), Some(origin)) => {
            let source = CertificateSource::new(
                http,
                &settings.login_endpoint,
                &settings.graph_endpoint,
                tenant,
                client_id,
                origin,
                settings.client_certificate_password.clone(),
            )?;
            return Ok(chosen(source));
        }
        (None, Some(origin)) => tried.push((
            SOURCE_CLIENT_CERTIFICATE,
            format!(
                "{} is set but client_id (ARM_CLIENT_ID) is not; set ARM_CLIENT_ID to the \
                 application (client) id.",
                origin.setting()
            ),
        )),
        _ => tried.push((
            SOURCE_CLIENT_CERTIFICATE,
            "client_certificate_path and client_certificate are not set; to sign in as an \
             application with a certificate, set ARM_CLIENT_ID + ARM_CLIENT_CERTIFICATE_PATH (and \
             ARM_CLIENT_CERTIFICATE_PASSWORD if the file has one)."
                .into(),
        )),
    }

    // 2. Client secret.
    match (client_id, &settings.client_secret) {
        (Some(client_id), Some(secret)) => {
            let source = ClientSecretSource::new(
                http,
                &settings.login_endpoint,
                &settings.graph_endpoint,
                tenant,
                client_id,
                secret.clone(),
            )?;
            return Ok(chosen(source));
        }
        (None, Some(_)) => tried.push((
            SOURCE_CLIENT_SECRET,
            "client_secret (ARM_CLIENT_SECRET) is set but client_id (ARM_CLIENT_ID) is not; \
             set ARM_CLIENT_ID to the application (client) id."
                .into(),
        )),
        _ => tried.push((
            SOURCE_CLIENT_SECRET,
            "client_id and client_secret are not both set; to sign in as an application with \
             a secret, set ARM_CLIENT_ID + ARM_CLIENT_SECRET (and ARM_TENANT_ID)."
                .into(),
        )),
    }

    // 3. OIDC.
    const OIDC_FIX: &str = "the token comes from ARM_OIDC_TOKEN, ARM_OIDC_TOKEN_FILE_PATH, \
         GitHub Actions (give the job `permissions: id-token: write`) or Azure DevOps \
         (ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID + SYSTEM_ACCESSTOKEN)";
    if !settings.use_oidc {
        tried.push((
            SOURCE_OIDC,
            format!(
                "use_oidc (ARM_USE_OIDC) is not true; to sign in with a federated token, set \
                 ARM_USE_OIDC=true, ARM_CLIENT_ID and ARM_TENANT_ID; {OIDC_FIX}."
            ),
        ));
    } else if client_id.is_none() {
        tried.push((
            SOURCE_OIDC,
            "use_oidc is true but client_id (ARM_CLIENT_ID) is not set; set it to the client \
             id of the application whose federated credential matches the token."
                .into(),
        ));
    } else {
        match oidc_assertion(settings, &env)? {
            Ok(assertion) => {
                let source = OidcSource::new(
                    http,
                    &settings.login_endpoint,
                    &settings.graph_endpoint,
                    tenant,
                    client_id.unwrap_or_default(),
                    assertion,
                )?;
                return Ok(chosen(source));
            }
            Err(why) => tried.push((SOURCE_OIDC, format!("{why}; {OIDC_FIX}."))),
        }
    }

    // 4. Managed identity.
    if settings.use_msi {
        let endpoint = match (&settings.msi_endpoint, env("IDENTITY_ENDPOINT")) {
            (Some(url), _) => IdentityEndpoint::Configured(url.clone()),
            (None, Some(url)) if env("IDENTITY_HEADER").is_some() => {
                IdentityEndpoint::AppService(url)
            }
            _ => IdentityEndpoint::Imds,
        };
        let source =
            ManagedIdentitySource::new(http, &settings.graph_endpoint, client_id, endpoint);
        return Ok(chosen(source));
    }
    tried.push((
        SOURCE_MANAGED_IDENTITY,
        "use_msi (ARM_USE_MSI) is not true; on an Azure resource with a managed identity, set \
         ARM_USE_MSI=true (and ARM_CLIENT_ID for a user-assigned one)."
            .into(),
    ));

    // 5. Azure CLI.
    let login = login_command(tenant, settings.cloud);
    if settings.use_cli {
        let source = AzureCliSource::new(&settings.graph_endpoint, tenant, settings.cloud);
        return Ok(chosen(source));
    }
    tried.push((
        SOURCE_AZURE_CLI,
        format!(
            "use_cli (ARM_USE_CLI) is false; to sign in as yourself, set ARM_USE_CLI=true (the \
             default) and run `{login}`."
        ),
    ));

    for (source, why) in &tried {
        tracing::debug!(source, reason = %why, "credential source not applicable");
    }
    let mut detail = String::from("Tried, in order (first match wins):");
    for (source, why) in &tried {
        detail.push_str(&format!("\n- {source}: {why}"));
    }
    Err(AuthError::new(
        "No credentials to sign in to Microsoft Graph",
        detail,
    ))
}

fn chosen<S: TokenSource + 'static>(source: S) -> Arc<dyn TokenSource> {
    tracing::debug!(source = %source.describe(), "signing in to Microsoft Graph with this source");
    Arc::new(source)
}

/// The OIDC token's origin: `Ok(Ok(_))` found, `Ok(Err(why))` none configured, `Err`
/// configured but unusable.
fn oidc_assertion(
    settings: &ProviderSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Result<AssertionSource, String>, AuthError> {
    if let Some(token) = settings
        .oidc_token
        .as_ref()
        .filter(|t| !t.expose().trim().is_empty())
    {
        return Ok(Ok(AssertionSource::Token(token.clone())));
    }
    if let Some(path) = settings
        .oidc_token_file_path
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        return Ok(Ok(AssertionSource::File(PathBuf::from(path))));
    }
    let first = |names: &[&'static str]| {
        names
            .iter()
            .find_map(|n| env(n).map(|v| (*n, v.trim().to_owned())))
    };
    let url = first(&[
        "ARM_OIDC_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "SYSTEM_OIDCREQUESTURI",
    ]);
    let token = first(&[
        "ARM_OIDC_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "SYSTEM_ACCESSTOKEN",
    ]);
    let service_connection = first(&[
        "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
        "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID",
    ]);
    let (url_var, url, token) = match (url, token) {
        (None, None) => {
            return Ok(Err(
                "use_oidc is true but no token is available: oidc_token, oidc_token_file_path \
                 and the request variables (ARM_OIDC_REQUEST_URL/ARM_OIDC_REQUEST_TOKEN, \
                 ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN, \
                 SYSTEM_OIDCREQUESTURI/SYSTEM_ACCESSTOKEN) are all unset"
                    .into(),
            ));
        }
        (Some((var, _)), None) => {
            return Ok(Err(format!(
                "{var} is set but no request token is (ARM_OIDC_REQUEST_TOKEN, \
                 ACTIONS_ID_TOKEN_REQUEST_TOKEN or SYSTEM_ACCESSTOKEN)"
            )));
        }
        (None, Some((var, _))) => {
            return Ok(Err(format!(
                "{var} is set but no request URL is (ARM_OIDC_REQUEST_URL, \
                 ACTIONS_ID_TOKEN_REQUEST_URL or SYSTEM_OIDCREQUESTURI)"
            )));
        }
        (Some((url_var, url)), Some((_, token))) => (url_var, url, Secret::new(token)),
    };
    let request_url = parse_request_url(url_var, &url)?;
    Ok(match service_connection {
        Some((_, id)) => Ok(AssertionSource::AzureDevOps {
            request_url,
            request_token: token,
            service_connection_id: id,
        }),
        None if url_var == "SYSTEM_OIDCREQUESTURI" => Err(
            "SYSTEM_OIDCREQUESTURI is set (Azure DevOps) but no service connection id is; set \
             ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID to the id of the Azure Resource Manager \
             service connection"
                .into(),
        ),
        None => Ok(AssertionSource::GitHubActions {
            request_url,
            request_token: token,
        }),
    })
}

/// The request token goes to this URL: HTTPS only, except loopback.
fn parse_request_url(var: &str, raw: &str) -> Result<url::Url, AuthError> {
    let bad = |why: &str| {
        AuthError::new(
            "Invalid OIDC request URL",
            format!("{var} is not usable: {why}."),
        )
    };
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("it has no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(bad(
            "it must be https:// (the request token would cross the network unencrypted)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Cloud;
    use std::collections::HashMap;

    fn settings() -> ProviderSettings {
        ProviderSettings {
            tenant_id: Some("00000000-0000-4000-8000-00000000a001".into()),
            use_cli: true,
            ..ProviderSettings::for_endpoints(
                url::Url::parse("https://graph.microsoft.com").unwrap(),
                url::Url::parse("https://login.microsoftonline.com").unwrap(),
            )
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn pick(s: &ProviderSettings, e: &[(&str, &str)]) -> Result<String, AuthError> {
        select_source(s, reqwest::Client::new(), &env(e)).map(|s| s.describe())
    }

    #[test]
    fn the_cli_is_the_default() {
        let d = pick(&settings(), &[]).unwrap();
        assert!(d.starts_with("Azure CLI"), "{d}");
        assert!(d.contains("00000000-0000-4000-8000-00000000a001"), "{d}");
    }

    #[test]
    fn a_client_secret_wins_over_oidc_and_cli() {
        let mut s = settings();
        s.client_id = Some("cid".into());
        s.client_secret = Some(Secret::new("super-secret-1"));
        s.use_oidc = true;
        s.oidc_token = Some(Secret::new("a.b.c"));
        let d = pick(&s, &[]).unwrap();
        assert!(d.starts_with("client secret for client id cid"), "{d}");
        assert!(!d.contains("super-secret-1"));
    }

    #[test]
    fn oidc_wins_over_the_cli_and_takes_its_token_in_order() {
        let mut s = settings();
        s.client_id = Some("cid".into());
        s.use_oidc = true;
        let gh = [
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "https://gh.example/idtoken?api-version=2.0",
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token"),
        ];
        assert!(
            pick(&s, &gh)
                .unwrap()
                .contains("GitHub Actions' ID token (gh.example)")
        );
        s.oidc_token_file_path = Some("/run/token".into());
        assert!(pick(&s, &gh).unwrap().contains("the token file /run/token"));
        s.oidc_token = Some(Secret::new("literal-token"));
        let d = pick(&s, &gh).unwrap();
        assert!(
            d.starts_with("OIDC token from oidc_token for client id cid"),
            "{d}"
        );
        assert!(!d.contains("literal-token"));
    }

    #[test]
    fn arm_request_variables_override_the_pipelines_own() {
        let mut s = settings();
        s.client_id = Some("cid".into());
        s.use_oidc = true;
        let e = [
            ("ARM_OIDC_REQUEST_URL", "https://arm.example/token"),
            ("ARM_OIDC_REQUEST_TOKEN", "arm-token"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh.example/idtoken"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-token"),
        ];
        assert!(pick(&s, &e).unwrap().contains("(arm.example)"));
        let ado = [
            ("SYSTEM_OIDCREQUESTURI", "https://dev.azure.com/org/oidc"),
            ("SYSTEM_ACCESSTOKEN", "ado-token"),
            ("ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID", "sc-1"),
        ];
        assert!(
            pick(&s, &ado)
                .unwrap()
                .contains("Azure DevOps service connection sc-1")
        );
        // Azure DevOps without a service connection id: OIDC does not apply, the CLI does.
        let d = pick(&s, &ado[..2]).unwrap();
        assert!(d.starts_with("Azure CLI"), "{d}");
    }

    #[test]
    fn a_plain_http_request_url_is_refused_off_loopback() {
        let mut s = settings();
        s.client_id = Some("cid".into());
        s.use_oidc = true;
        let e = pick(
            &s,
            &[
                ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://gh.example/idtoken"),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-token"),
            ],
        )
        .unwrap_err();
        assert!(e.detail.contains("ACTIONS_ID_TOKEN_REQUEST_URL"), "{e}");
        assert!(!e.to_string().contains("gh-token"));
    }

    #[test]
    fn application_flows_need_a_tenant() {
        let mut s = settings();
        s.tenant_id = None;
        s.client_id = Some("cid".into());
        s.client_secret = Some(Secret::new("x"));
        let e = pick(&s, &[]).unwrap_err();
        assert!(e.detail.contains("set tenant_id or ARM_TENANT_ID"), "{e}");
        // The CLI does not: it uses its default tenant.
        let mut s = settings();
        s.tenant_id = None;
        assert!(pick(&s, &[]).unwrap().contains("default tenant"));
    }

    #[test]
    fn nothing_applicable_lists_every_source_and_its_fix() {
        let mut s = settings();
        s.use_cli = false;
        s.client_secret = Some(Secret::new("orphan-secret"));
        s.use_oidc = true;
        let e = pick(&s, &[]).unwrap_err();
        assert_eq!(e.summary, "No credentials to sign in to Microsoft Graph");
        let text = e.to_string();
        let lines: Vec<&str> = e.detail.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert!(lines[1].starts_with("- client certificate: client_certificate_path and"));
        assert!(lines[2].starts_with(
            "- client secret: client_secret (ARM_CLIENT_SECRET) is set but client_id"
        ));
        assert!(lines[3].starts_with("- OIDC token: use_oidc is true but client_id"));
        assert!(lines[4].starts_with("- managed identity: use_msi (ARM_USE_MSI) is not true"));
        assert!(lines[5].starts_with("- Azure CLI: use_cli (ARM_USE_CLI) is false"));
        assert!(text.contains("az login --tenant 00000000-0000-4000-8000-00000000a001"));
        assert!(!text.contains("orphan-secret"));

        let mut s = settings();
        s.use_cli = false;
        s.tenant_id = None;
        s.cloud = Cloud::China;
        let e = pick(&s, &[]).unwrap_err();
        assert!(
            e.detail.contains("ARM_CLIENT_ID + ARM_CLIENT_SECRET"),
            "{e}"
        );
        assert!(e.detail.contains("ARM_USE_OIDC=true"), "{e}");
        assert!(e.detail.contains("id-token: write"), "{e}");
        assert!(
            e.detail
                .contains("az cloud set --name AzureChinaCloud && az login --tenant <tenant-id>"),
            "{e}"
        );
    }

    #[test]
    fn oidc_without_a_token_says_which_variables_are_missing() {
        let mut s = settings();
        s.use_cli = false;
        s.client_id = Some("cid".into());
        s.use_oidc = true;
        let e = pick(
            &s,
            &[("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh.example/x")],
        )
        .unwrap_err();
        assert!(
            e.detail
                .contains("ACTIONS_ID_TOKEN_REQUEST_URL is set but no request token is"),
            "{e}"
        );
    }

    #[test]
    fn a_certificate_wins_over_a_secret() {
        let mut s = settings();
        s.client_id = Some("cid".into());
        s.client_secret = Some(Secret::new("super-secret-1"));
        s.client_certificate_path = Some("/run/cert.pfx".into());
        s.client_certificate_password = Some(Secret::new("pfx-password"));
        let d = pick(&s, &[]).unwrap();
        assert!(
            d.starts_with("client certificate from /run/cert.pfx for client id cid"),
            "{d}"
        );
        assert!(!d.contains("pfx-password"));
        s.client_certificate_path = None;
        s.client_certificate = Some(Secret::new("QUJD"));
        let d = pick(&s, &[]).unwrap();
        assert!(
            d.starts_with("client certificate from client_certificate"),
            "{d}"
        );
        assert!(!d.contains("QUJD"));
    }

    #[test]
    fn managed_identity_wins_over_the_cli_and_finds_its_endpoint() {
        let mut s = settings();
        s.use_msi = true;
        let d = pick(&s, &[]).unwrap();
        assert!(
            d.starts_with("managed identity (the system-assigned"),
            "{d}"
        );
        assert!(d.contains("instance metadata service"), "{d}");
        let app_service = [
            ("IDENTITY_ENDPOINT", "http://localhost:8081/msi/token"),
            ("IDENTITY_HEADER", "header-secret"),
        ];
        let d = pick(&s, &app_service).unwrap();
        assert!(
            d.contains("IDENTITY_ENDPOINT (http://localhost:8081/msi/token"),
            "{d}"
        );
        assert!(!d.contains("header-secret"));
        s.client_id = Some("mi-client".into());
        s.msi_endpoint = Some(url::Url::parse("http://169.254.169.254/custom").unwrap());
        let d = pick(&s, &app_service).unwrap();
        assert!(
            d.contains("user-assigned managed identity with client id mi-client"),
            "{d}"
        );
        assert!(
            d.contains("ARM_MSI_ENDPOINT (http://169.254.169.254/custom)"),
            "{d}"
        );
        // OIDC comes first.
        s.use_oidc = true;
        s.oidc_token = Some(Secret::new("a.b.c"));
        assert!(pick(&s, &[]).unwrap().starts_with("OIDC token"));
    }

    #[test]
    fn a_certificate_without_a_client_id_says_so() {
        let mut s = settings();
        s.use_cli = false;
        s.client_certificate_path = Some("/run/cert.pem".into());
        let e = pick(&s, &[]).unwrap_err();
        assert!(
            e.detail.contains(
                "- client certificate: client_certificate_path / ARM_CLIENT_CERTIFICATE_PATH \
                 (/run/cert.pem) is set but client_id (ARM_CLIENT_ID) is not"
            ),
            "{e}"
        );
    }
}
