//! The provider block: its schema and how a configuration, with the environment
//! variables the azuread provider already taught people (`ARM_*`), becomes settings.
//! An attribute in the configuration wins over its environment variable.

use crate::catalog::Cloud;
use std::fmt;
use tfplugin::diagnostics::{AttributePath, Diagnostics};
use tfplugin::schema::{Attribute, Block, Schema, validators};
use tfplugin::value::{Type, Value};

/// A secret that must never reach a log line, a diagnostic or state.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Each setting, its attribute and the environment variables that stand in for it.
pub struct Setting {
    pub attribute: &'static str,
    pub env: &'static [&'static str],
    pub sensitive: bool,
    pub is_bool: bool,
    pub description: &'static str,
}

pub const SETTINGS: &[Setting] = &[
    Setting {
        attribute: "tenant_id",
        env: &["ARM_TENANT_ID"],
        sensitive: false,
        is_bool: false,
        description: "The Entra ID tenant (directory) id in which the connector applications live. \
                      The token the provider signs in with must be for this tenant.",
    },
    Setting {
        attribute: "environment",
        env: &["ARM_ENVIRONMENT"],
        sensitive: false,
        is_bool: false,
        description: "The Microsoft cloud: `global` (default; also `public`), `usgovernmentl4` \
                      (also `usgovernment`), `usgovernmentl5` (also `dod`) or `china`. Selects the \
                      Microsoft Graph and login hosts.",
    },
    Setting {
        attribute: "graph_endpoint",
        env: &["PSOXY_GRAPH_ENDPOINT"],
        sensitive: false,
        is_bool: false,
        description: "Microsoft Graph base URL without the API version, e.g. \
                      `https://graph.microsoft.com`. Overrides the environment's Graph host. \
                      Must be `https://`, except for a loopback host (a local emulator).",
    },
    Setting {
        attribute: "login_endpoint",
        env: &["PSOXY_LOGIN_ENDPOINT"],
        sensitive: false,
        is_bool: false,
        description: "Entra ID login host, e.g. `https://login.microsoftonline.com`. Overrides the \
                      environment's login host. Must be `https://`, except for a loopback host.",
    },
    Setting {
        attribute: "client_id",
        env: &["ARM_CLIENT_ID"],
        sensitive: false,
        is_bool: false,
        description: "Client id of the application the provider signs in as, with \
                      `client_secret`, a client certificate or an OIDC token; with `use_msi`, \
                      the client id of a user-assigned managed identity. Not needed with the \
                      Azure CLI.",
    },
    Setting {
        attribute: "client_id_file_path",
        env: &["ARM_CLIENT_ID_FILE_PATH"],
        sensitive: false,
        is_bool: false,
        description: "A file holding the client id, used when `client_id` is not set (both \
                      set must agree).",
    },
    Setting {
        attribute: "client_secret",
        env: &["ARM_CLIENT_SECRET"],
        sensitive: true,
        is_bool: false,
        description: "Client secret of `client_id`. Prefer OIDC in pipelines: it needs no secret.",
    },
    Setting {
        attribute: "client_secret_file_path",
        env: &["ARM_CLIENT_SECRET_FILE_PATH"],
        sensitive: false,
        is_bool: false,
        description: "A file holding the client secret, used when `client_secret` is not set \
                      (both set must agree).",
    },
    Setting {
        attribute: "client_certificate_path",
        env: &["ARM_CLIENT_CERTIFICATE_PATH"],
        sensitive: false,
        is_bool: false,
        description: "A client certificate of `client_id` with its RSA private key: a PKCS#12 \
                      file (`.pfx`/`.p12`, AES-encrypted) or a PEM file. Read at each sign-in.",
    },
    Setting {
        attribute: "client_certificate",
        env: &["ARM_CLIENT_CERTIFICATE"],
        sensitive: true,
        is_bool: false,
        description: "The same as `client_certificate_path`, given as the file's contents, \
                      base64-encoded.",
    },
    Setting {
        attribute: "client_certificate_password",
        env: &["ARM_CLIENT_CERTIFICATE_PASSWORD"],
        sensitive: true,
        is_bool: false,
        description: "The password of the client certificate file (PKCS#12, or an encrypted \
                      PEM private key), if it has one.",
    },
    Setting {
        attribute: "use_oidc",
        env: &["ARM_USE_OIDC"],
        sensitive: false,
        is_bool: true,
        description: "Sign in as `client_id` with a federated (OIDC) token: `oidc_token`, \
                      `oidc_token_file_path`, or the token GitHub Actions or Azure DevOps provide.",
    },
    Setting {
        attribute: "oidc_token",
        env: &["ARM_OIDC_TOKEN"],
        sensitive: true,
        is_bool: false,
        description: "An OIDC token (JWT) to exchange for a Microsoft Graph token.",
    },
    Setting {
        attribute: "oidc_token_file_path",
        env: &["ARM_OIDC_TOKEN_FILE_PATH"],
        sensitive: false,
        is_bool: false,
        description: "A file holding an OIDC token, read at each sign-in (tokens on disk rotate).",
    },
    Setting {
        attribute: "use_msi",
        env: &["ARM_USE_MSI"],
        sensitive: false,
        is_bool: true,
        description: "Sign in as the managed identity of the Azure resource the provider runs on \
                      (App Service style `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, else the instance \
                      metadata service); `client_id` picks a user-assigned identity.",
    },
    Setting {
        attribute: "msi_endpoint",
        env: &["ARM_MSI_ENDPOINT"],
        sensitive: false,
        is_bool: false,
        description: "The managed identity endpoint to use instead of the one the platform \
                      announces. Must be `https://`, except for a loopback or link-local host.",
    },
    Setting {
        attribute: "use_cli",
        env: &["ARM_USE_CLI"],
        sensitive: false,
        is_bool: true,
        description: "Sign in with the Azure CLI's account (`az login`). Default `true`.",
    },
];

pub fn schema() -> Schema {
    let mut block = Block::new(
        "Connects Microsoft 365 data to a Psoxy deployment: the Entra ID applications, \
         federated credentials and admin-consent documents that Psoxy's connectors need.",
    );
    for s in SETTINGS {
        let ty = if s.is_bool { Type::Bool } else { Type::String };
        let mut attr = Attribute::optional(s.attribute, ty).description(&format!(
            "{} Environment variable: `{}`.",
            s.description,
            s.env.join("`, `")
        ));
        if s.sensitive {
            attr = attr.sensitive();
        }
        attr = match s.attribute {
            "environment" => attr.validator(|v: &Value, p: &AttributePath, d: &mut Diagnostics| {
                if let Some(name) = v.as_str() {
                    check_environment(name, p, d);
                }
            }),
            "graph_endpoint" | "login_endpoint" => {
                attr.validator(|v: &Value, p: &AttributePath, d: &mut Diagnostics| {
                    if let Some(url) = v.as_str()
                        && let Err(why) = check_endpoint(url)
                    {
                        d.attribute_error(p.clone(), "Invalid endpoint", why);
                    }
                })
            }
            "msi_endpoint" => {
                attr.validator(|v: &Value, p: &AttributePath, d: &mut Diagnostics| {
                    if let Some(url) = v.as_str()
                        && let Err(why) = check_msi_endpoint(url)
                    {
                        d.attribute_error(p.clone(), "Invalid endpoint", why);
                    }
                })
            }
            "tenant_id" | "client_id" => attr.validator(validators::length_between(1, 256)),
            _ => attr,
        };
        block = block.attribute(attr);
    }
    Schema::new(0, block)
}

fn check_environment(name: &str, path: &AttributePath, diags: &mut Diagnostics) {
    if Cloud::parse(name).is_none() {
        diags.attribute_error(
            path.clone(),
            "Unknown environment",
            format!(
                "{name:?} is not a Microsoft cloud this provider knows. Use one of: global, \
                 usgovernmentl4, usgovernmentl5, china (or the aliases public, usgovernment, dod)."
            ),
        );
    }
}

/// Graph and login endpoints must be HTTPS, except on loopback where a local emulator
/// or proxy may serve plain HTTP: a token must never cross a network unencrypted.
pub fn check_endpoint(raw: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(raw).map_err(|e| {
        format!("{raw:?} is not a URL ({e}). Give a base URL such as https://graph.microsoft.com.")
    })?;
    let host = parsed
        .host()
        .ok_or_else(|| format!("{raw:?} has no host."))?;
    let loopback = match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{raw:?} uses plain HTTP. Tokens would cross the network unencrypted; use \
                 https:// (plain http:// is allowed only for a loopback host such as 127.0.0.1)."
            ));
        }
        other => return Err(format!("{raw:?} has scheme {other:?}; use https://.")),
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{raw:?} must be a base URL without a query or fragment."
        ));
    }
    Ok(parsed)
}

/// The managed identity endpoint: plain HTTP is what the platforms serve, on loopback
/// (App Service) or link-local (the instance metadata service) addresses only.
pub fn check_msi_endpoint(raw: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL ({e})."))?;
    let local = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_link_local(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || (ip.segments()[0] & 0xffc0) == 0xfe80,
        None => return Err(format!("{raw:?} has no host.")),
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if local => Ok(parsed),
        _ => Err(format!(
            "{raw:?} must be https:// (plain http:// only on a loopback or link-local host such \
             as 169.254.169.254): the request carries the identity endpoint's secret."
        )),
    }
}

/// The provider's settings after configuration and environment are merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderSettings {
    pub tenant_id: Option<String>,
    pub cloud: Cloud,
    pub graph_endpoint: url::Url,
    pub login_endpoint: url::Url,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub client_certificate_path: Option<String>,
    pub client_certificate: Option<Secret>,
    pub client_certificate_password: Option<Secret>,
    pub use_oidc: bool,
    pub oidc_token: Option<Secret>,
    pub oidc_token_file_path: Option<String>,
    pub use_msi: bool,
    pub msi_endpoint: Option<url::Url>,
    pub use_cli: bool,
}

impl ProviderSettings {
    /// Settings for these endpoints with no sign-in chosen yet and no tenant, in the
    /// global cloud: the base that tests and callers fill in.
    pub fn for_endpoints(graph_endpoint: url::Url, login_endpoint: url::Url) -> Self {
        ProviderSettings {
            tenant_id: None,
            cloud: Cloud::Global,
            graph_endpoint,
            login_endpoint,
            client_id: None,
            client_secret: None,
            client_certificate_path: None,
            client_certificate: None,
            client_certificate_password: None,
            use_oidc: false,
            oidc_token: None,
            oidc_token_file_path: None,
            use_msi: false,
            msi_endpoint: None,
            use_cli: false,
        }
    }

    /// Merges configuration and environment; reports bad values against the attribute
    /// (or the environment variable) they came from.
    pub fn resolve(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
        diags: &mut Diagnostics,
    ) -> Option<ProviderSettings> {
        let get = |name: &str| -> Option<(String, Source)> {
            let setting = SETTINGS.iter().find(|s| s.attribute == name)?;
            if let Some(v) = config.get_attr(name).and_then(Value::as_str) {
                return Some((v.to_owned(), Source::Attribute(setting.attribute)));
            }
            setting.env.iter().find_map(|var| {
                env(var)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (v, Source::Env(var)))
            })
        };
        let get_bool = |name: &str, default: bool, diags: &mut Diagnostics| -> bool {
            if let Some(b) = config.get_attr(name).and_then(Value::as_bool) {
                return b;
            }
            match get(name) {
                None => default,
                Some((v, source)) => match v.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" => true,
                    "0" | "false" | "no" => false,
                    _ => {
                        source.error(
                            diags,
                            "Invalid boolean",
                            format!("{v:?} is not true or false."),
                        );
                        default
                    }
                },
            }
        };
        let errors_before = diags.0.len();
        // A setting that is unknown until apply (taken from a resource not created yet)
        // must not be replaced by an environment variable or a default: the provider
        // would quietly talk to another tenant or cloud.
        for s in SETTINGS {
            if config.get_attr(s.attribute).is_some_and(Value::is_unknown) {
                diags.attribute_error(
                    AttributePath::attr(s.attribute),
                    "Provider setting unknown until apply",
                    format!(
                        "`{}` depends on a value Terraform only knows after apply, but the provider \
                         needs it to plan. Give it a known value (a variable or a data source), or \
                         apply the resource it comes from first with -target.",
                        s.attribute
                    ),
                );
            }
        }
        if diags.0[errors_before..]
            .iter()
            .any(|d| d.severity == tfplugin::diagnostics::Severity::Error)
        {
            return None;
        }
        let cloud = match get("environment") {
            None => Cloud::Global,
            Some((name, source)) => Cloud::parse(&name).unwrap_or_else(|| {
                let mut d = Diagnostics::new();
                check_environment(&name, &AttributePath::root(), &mut d);
                for diag in d.0 {
                    source.error(diags, &diag.summary, diag.detail);
                }
                Cloud::Global
            }),
        };
        let endpoint = |name: &str, default: &str, diags: &mut Diagnostics| {
            let (raw, source) = get(name).unwrap_or((default.to_owned(), Source::Default));
            check_endpoint(&raw)
                .map_err(|why| source.error(diags, "Invalid endpoint", why))
                .ok()
        };
        let graph_endpoint = endpoint("graph_endpoint", cloud.graph_endpoint(), diags);
        let login_endpoint = endpoint("login_endpoint", cloud.login_endpoint(), diags);
        let msi_endpoint = get("msi_endpoint").and_then(|(raw, source)| {
            check_msi_endpoint(&raw)
                .map_err(|why| source.error(diags, "Invalid endpoint", why))
                .ok()
        });
        // A value, or the contents of the file the `_file_path` setting names; both
        // given must agree (as in the azuread provider).
        let from_file = |name: &str, file_setting: &str, diags: &mut Diagnostics| {
            let direct = get(name).map(|(v, _)| v);
            let Some((path, source)) = get(file_setting) else {
                return direct;
            };
            let contents = match std::fs::read_to_string(&path) {
                Ok(c) => c.trim().to_owned(),
                Err(e) => {
                    source.error(
                        diags,
                        "Cannot read file",
                        format!("Reading {path}: {e}. Fix {file_setting} or set {name}."),
                    );
                    return direct;
                }
            };
            match direct {
                Some(d) if d.trim() != contents => {
                    source.error(
                        diags,
                        "Conflicting settings",
                        format!(
                            "{name} and the contents of {file_setting} ({path}) differ; set \
                             only one of them."
                        ),
                    );
                    Some(d)
                }
                Some(d) => Some(d),
                None if contents.is_empty() => {
                    source.error(diags, "Empty file", format!("{path} is empty."));
                    None
                }
                None => Some(contents),
            }
        };
        let client_id = from_file("client_id", "client_id_file_path", diags);
        let client_secret = from_file("client_secret", "client_secret_file_path", diags);
        let settings = ProviderSettings {
            tenant_id: get("tenant_id").map(|(v, _)| v),
            cloud,
            graph_endpoint: graph_endpoint?,
            login_endpoint: login_endpoint?,
            client_id,
            client_secret: client_secret.map(Secret),
            client_certificate_path: get("client_certificate_path").map(|(v, _)| v),
            client_certificate: get("client_certificate").map(|(v, _)| Secret(v)),
            client_certificate_password: get("client_certificate_password").map(|(v, _)| Secret(v)),
            use_oidc: get_bool("use_oidc", false, diags),
            oidc_token: get("oidc_token").map(|(v, _)| Secret(v)),
            oidc_token_file_path: get("oidc_token_file_path").map(|(v, _)| v),
            use_msi: get_bool("use_msi", false, diags),
            msi_endpoint,
            use_cli: get_bool("use_cli", true, diags),
        };
        let new_errors = diags.0[errors_before..]
            .iter()
            .any(|d| d.severity == tfplugin::diagnostics::Severity::Error);
        (!new_errors).then_some(settings)
    }
}

#[derive(Clone, Copy)]
enum Source {
    Attribute(&'static str),
    Env(&'static str),
    Default,
}

impl Source {
    fn error(self, diags: &mut Diagnostics, summary: &str, detail: String) {
        match self {
            Source::Attribute(name) => {
                diags.attribute_error(AttributePath::attr(name), summary, detail)
            }
            Source::Env(var) => diags.error(
                summary,
                format!("From the environment variable {var}: {detail}"),
            ),
            Source::Default => diags.error(summary, detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut map: BTreeMap<String, Value> = SETTINGS
            .iter()
            .map(|s| (s.attribute.to_owned(), Value::Null))
            .collect();
        for (k, v) in pairs {
            map.insert((*k).to_owned(), v.clone());
        }
        Value::Object(map)
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_global_cloud_with_the_cli() {
        let mut diags = Diagnostics::new();
        let s = ProviderSettings::resolve(&config(&[]), env(&[]), &mut diags).unwrap();
        assert_eq!(s.cloud, Cloud::Global);
        assert_eq!(s.graph_endpoint.as_str(), "https://graph.microsoft.com/");
        assert_eq!(
            s.login_endpoint.as_str(),
            "https://login.microsoftonline.com/"
        );
        assert!(s.use_cli && !s.use_oidc);
        assert!(diags.is_empty());
    }

    #[test]
    fn environment_variables_fill_in_and_attributes_win() {
        let mut diags = Diagnostics::new();
        let e = env(&[
            ("ARM_TENANT_ID", "t-env"),
            ("ARM_CLIENT_ID", "c-env"),
            ("ARM_CLIENT_SECRET", "s3cret"),
            ("ARM_USE_CLI", "false"),
            ("ARM_ENVIRONMENT", "dod"),
            ("PSOXY_GRAPH_ENDPOINT", "http://127.0.0.1:8080"),
        ]);
        let c = config(&[("tenant_id", Value::String("t-config".into()))]);
        let s = ProviderSettings::resolve(&c, e, &mut diags).unwrap();
        assert_eq!(s.tenant_id.as_deref(), Some("t-config"));
        assert_eq!(s.client_id.as_deref(), Some("c-env"));
        assert_eq!(s.client_secret.as_ref().map(Secret::expose), Some("s3cret"));
        assert!(!s.use_cli);
        assert_eq!(s.cloud, Cloud::UsGovL5);
        assert_eq!(s.graph_endpoint.as_str(), "http://127.0.0.1:8080/");
        // L5 shares L4's login host.
        assert_eq!(
            s.login_endpoint.as_str(),
            "https://login.microsoftonline.us/"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        assert!(check_endpoint("http://127.0.0.1:1234").is_ok());
        assert!(check_endpoint("http://localhost:1234").is_ok());
        assert!(check_endpoint("http://[::1]:1234").is_ok());
        assert!(check_endpoint("https://graph.microsoft.com").is_ok());
        let err = check_endpoint("http://graph.example.com").unwrap_err();
        assert!(err.contains("plain HTTP"), "{err}");
        assert!(check_endpoint("ftp://x").is_err());
        assert!(check_endpoint("graph.microsoft.com").is_err());
    }

    #[test]
    fn a_bad_endpoint_in_config_names_the_attribute() {
        let mut diags = Diagnostics::new();
        let c = config(&[("graph_endpoint", Value::String("http://10.0.0.1".into()))]);
        assert!(ProviderSettings::resolve(&c, env(&[]), &mut diags).is_none());
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr("graph_endpoint"))
        );
    }

    #[test]
    fn a_bad_environment_variable_is_named() {
        let mut diags = Diagnostics::new();
        let r = ProviderSettings::resolve(
            &config(&[]),
            env(&[("ARM_ENVIRONMENT", "mars")]),
            &mut diags,
        );
        assert!(r.is_none());
        assert!(diags.0[0].detail.contains("ARM_ENVIRONMENT"));
    }

    #[test]
    fn schema_validators_catch_bad_values_at_validate_time() {
        let mut diags = Diagnostics::new();
        let c = config(&[("environment", Value::String("mars".into()))]);
        schema()
            .block
            .validate(&c, &AttributePath::root(), &mut diags);
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr("environment"))
        );
        let proto = schema().to_proto();
        let secret = proto
            .block
            .unwrap()
            .attributes
            .into_iter()
            .find(|a| a.name == "client_secret")
            .unwrap();
        assert!(secret.sensitive);
        assert!(secret.description.contains("ARM_CLIENT_SECRET"));
    }

    #[test]
    fn unknown_settings_are_refused_not_replaced_by_the_environment() {
        let mut diags = Diagnostics::new();
        let c = config(&[("tenant_id", Value::unknown())]);
        let r = ProviderSettings::resolve(&c, env(&[("ARM_TENANT_ID", "from-env")]), &mut diags);
        assert!(r.is_none());
        assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("tenant_id")));
    }

    #[test]
    fn ids_and_secrets_may_come_from_files_which_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        let id_file = dir.path().join("id");
        let secret_file = dir.path().join("secret");
        std::fs::write(&id_file, "c-file\n").unwrap();
        std::fs::write(&secret_file, "s-file\n").unwrap();
        let (id, secret) = (
            id_file.to_str().unwrap().to_owned(),
            secret_file.to_str().unwrap().to_owned(),
        );
        let mut diags = Diagnostics::new();
        let vars = [
            ("ARM_CLIENT_ID_FILE_PATH", id.as_str()),
            ("ARM_CLIENT_SECRET_FILE_PATH", secret.as_str()),
        ];
        let e = env(&vars);
        let s = ProviderSettings::resolve(&config(&[]), e, &mut diags).unwrap();
        assert_eq!(s.client_id.as_deref(), Some("c-file"));
        assert_eq!(s.client_secret.as_ref().map(Secret::expose), Some("s-file"));

        let mut diags = Diagnostics::new();
        let vars = [
            ("ARM_CLIENT_ID", "other"),
            ("ARM_CLIENT_ID_FILE_PATH", id.as_str()),
        ];
        let e = env(&vars);
        assert!(ProviderSettings::resolve(&config(&[]), e, &mut diags).is_none());
        assert!(
            diags.0[0].detail.contains("ARM_CLIENT_ID_FILE_PATH"),
            "{:?}",
            diags.0
        );
        assert!(diags.0[0].detail.contains("differ"), "{:?}", diags.0);

        let mut diags = Diagnostics::new();
        let c = config(&[(
            "client_secret_file_path",
            Value::String(dir.path().join("missing").to_str().unwrap().into()),
        )]);
        assert!(ProviderSettings::resolve(&c, env(&[]), &mut diags).is_none());
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr("client_secret_file_path"))
        );
    }

    #[test]
    fn managed_identity_and_certificate_settings_resolve() {
        let mut diags = Diagnostics::new();
        let e = env(&[
            ("ARM_USE_MSI", "true"),
            (
                "ARM_MSI_ENDPOINT",
                "http://169.254.169.254/metadata/identity/oauth2/token",
            ),
            ("ARM_CLIENT_CERTIFICATE_PATH", "/run/c.pfx"),
            ("ARM_CLIENT_CERTIFICATE_PASSWORD", "pw"),
        ]);
        let s = ProviderSettings::resolve(&config(&[]), e, &mut diags).unwrap();
        assert!(s.use_msi);
        assert_eq!(s.msi_endpoint.unwrap().host_str(), Some("169.254.169.254"));
        assert_eq!(s.client_certificate_path.as_deref(), Some("/run/c.pfx"));
        assert_eq!(s.client_certificate_password.unwrap().expose(), "pw");
        assert!(check_msi_endpoint("http://10.1.2.3/token").is_err());
        assert!(check_msi_endpoint("https://10.1.2.3/token").is_ok());
        assert!(check_msi_endpoint("http://[fe80::1]/token").is_ok());
        let mut diags = Diagnostics::new();
        let e = env(&[("ARM_MSI_ENDPOINT", "http://example.com/x")]);
        assert!(ProviderSettings::resolve(&config(&[]), e, &mut diags).is_none());
        assert!(
            diags.0[0].detail.contains("ARM_MSI_ENDPOINT"),
            "{:?}",
            diags.0
        );
        let proto = schema().to_proto().block.unwrap().attributes;
        for sensitive in ["client_certificate", "client_certificate_password"] {
            assert!(
                proto
                    .iter()
                    .find(|a| a.name == sensitive)
                    .unwrap()
                    .sensitive
            );
        }
    }
}
