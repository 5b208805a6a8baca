//! What a federated credential trusts, from the three ways of saying it: the AWS and
//! GCP presets (as psoxy's hosts sign in) or an issuer and subject given directly; and
//! the checks Graph and Entra apply to the values (docs/design/graph-behaviour.md,
//! "Federated identity credentials"), run at
//! plan time so that mistakes surface at `terraform validate` with a clear message.

use super::model::{Aws, Config, Gcp};
use tfplugin::model::Attr;

/// The Cognito issuer: a proxy on AWS signs in with a Cognito OpenID token.
pub const AWS_ISSUER: &str = "https://cognito-identity.amazonaws.com";
/// Google's issuer: a proxy on GCP signs in with its service account's identity token.
pub const GCP_ISSUER: &str = "https://accounts.google.com";
/// Entra's recommended audience, used by the GCP preset and by default.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Graph's limit on issuer, subject, audience and description.
pub const MAX_FIELD_LEN: usize = 600;
pub const MIN_NAME_LEN: usize = 3;
pub const MAX_NAME_LEN: usize = 120;

pub const THREE_WAYS: &str = "Give exactly one of:\n\
  - an `aws { identity_pool_id = \"...\", identity_id = \"...\" }` block, for a proxy on AWS \
    (Cognito issuer; subject = identity id; audience = identity pool id);\n\
  - a `gcp { service_account_unique_id = \"...\" }` block, for a proxy on GCP (Google issuer; \
    subject = the service account's numeric unique id; audience api://AzureADTokenExchange);\n\
  - `issuer` and `subject` (and optionally `audience`, default api://AzureADTokenExchange), \
    for any other OpenID Connect identity.";

/// The values sent to Graph as planned: each a known string or unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trust {
    pub issuer: Attr<String>,
    pub subject: Attr<String>,
    pub audience: Attr<String>,
}

/// A block's attribute, unknown while the block itself is.
fn within<B>(block: &Attr<B>, attr: impl Fn(&B) -> &Attr<String>) -> Attr<String> {
    match block {
        Attr::Known(b) => attr(b).clone(),
        _ => Attr::Unknown,
    }
}

/// The issuer, subject and audience a configuration asks for, or None when it does
/// not say (validation reports that).
pub fn trust_from_config(config: &Config) -> Option<Trust> {
    if !config.aws.is_null() {
        return Some(Trust {
            issuer: Attr::Known(AWS_ISSUER.to_owned()),
            subject: within(&config.aws, |b| &b.identity_id),
            audience: within(&config.aws, |b| &b.identity_pool_id),
        });
    }
    if !config.gcp.is_null() {
        return Some(Trust {
            issuer: Attr::Known(GCP_ISSUER.to_owned()),
            subject: within(&config.gcp, |b| &b.service_account_unique_id),
            audience: Attr::Known(TOKEN_EXCHANGE_AUDIENCE.to_owned()),
        });
    }
    if config.issuer.is_null() || config.subject.is_null() {
        return None;
    }
    Some(Trust {
        issuer: config.issuer.clone(),
        subject: config.subject.clone(),
        audience: match &config.audience {
            Attr::Null => Attr::Known(TOKEN_EXCHANGE_AUDIENCE.to_owned()),
            given => given.clone(),
        },
    })
}

/// A problem with how the trust is given: where, a summary, and the detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WayError {
    /// Attribute or block to blame; None for the resource as a whole.
    pub at: Option<&'static str>,
    pub summary: &'static str,
    pub detail: String,
}

/// Checks that exactly one way of giving the trust is used. Unknown values count as
/// given (variables at `terraform validate`).
pub fn check_ways(config: &Config) -> Vec<WayError> {
    let aws = !config.aws.is_null();
    let gcp = !config.gcp.is_null();
    let direct: Vec<&'static str> = [
        ("issuer", &config.issuer),
        ("subject", &config.subject),
        ("audience", &config.audience),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_null())
    .map(|(k, _)| k)
    .collect();
    let mut errors = Vec::new();
    if aws && gcp {
        errors.push(WayError {
            at: Some("gcp"),
            summary: "Both `aws` and `gcp` given",
            detail: format!(
                "A credential trusts one identity, so it takes one preset. Use a separate \
                 `psoxy_federated_credential` for each host.\n\n{THREE_WAYS}"
            ),
        });
    }
    if aws || gcp {
        let preset = if aws { "aws" } else { "gcp" };
        // A value equal to what the preset sets says the same thing twice, as the
        // configuration `terraform plan -generate-config-out` writes for an import does.
        let set_by_preset = trust_from_config(config).expect("a preset says what it trusts");
        for key in direct {
            let (given, preset_value) = match key {
                "issuer" => (&config.issuer, &set_by_preset.issuer),
                "subject" => (&config.subject, &set_by_preset.subject),
                _ => (&config.audience, &set_by_preset.audience),
            };
            if let (Attr::Known(given), Attr::Known(preset_value)) = (given, preset_value)
                && given == preset_value
            {
                continue;
            }
            errors.push(WayError {
                at: Some(key),
                summary: "Preset and explicit values both given",
                detail: format!(
                    "`{key}` cannot be set together with the `{preset}` block: the preset sets \
                     it. Remove `{key}`, or remove the `{preset}` block and give `issuer` and \
                     `subject` yourself.\n\n{THREE_WAYS}"
                ),
            });
        }
        return errors;
    }
    let issuer = direct.contains(&"issuer");
    let subject = direct.contains(&"subject");
    match (issuer, subject) {
        (true, true) => {}
        (true, false) | (false, true) => {
            let (missing, given) = if issuer {
                ("subject", "issuer")
            } else {
                ("issuer", "subject")
            };
            errors.push(WayError {
                at: Some(given),
                summary: "Missing `issuer` or `subject`",
                detail: format!(
                    "`{given}` is given without `{missing}`; a credential needs both.\n\n{THREE_WAYS}"
                ),
            });
        }
        (false, false) => errors.push(WayError {
            at: direct.first().copied(),
            summary: "No identity to trust",
            detail: format!(
                "The credential does not say which identity may sign in as the application.\n\n{THREE_WAYS}"
            ),
        }),
    }
    errors
}

/// Graph's and Entra's name rules: 3–120 characters of letters, digits, `-` and `_`,
/// starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), (&'static str, String)> {
    let len = name.chars().count();
    if !(MIN_NAME_LEN..=MAX_NAME_LEN).contains(&len) {
        return Err((
            "Invalid credential name length",
            format!(
                "A federated credential's name must be {MIN_NAME_LEN} to {MAX_NAME_LEN} \
                 characters long; {name:?} is {len}."
            ),
        ));
    }
    let first = name.chars().next().unwrap_or(' ');
    if !first.is_ascii_alphanumeric() {
        return Err((
            "Invalid first character in credential name",
            format!(
                "A federated credential's name must start with a letter or a digit; {name:?} \
                 starts with {first:?}."
            ),
        ));
    }
    if let Some((i, c)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err((
            "Invalid character in credential name",
            format!(
                "A federated credential's name may contain only letters, digits, '-' and '_' \
                 (it is used in URLs); {name:?} has {c:?} at position {}.",
                i + 1
            ),
        ));
    }
    Ok(())
}

pub fn check_no_wildcard(field: &str, value: &str) -> Result<(), String> {
    if value.contains('*') {
        return Err(format!(
            "Entra ID allows no wildcards in federated credentials: `{field}` must name one \
             exact value, and {value:?} contains '*'. Create one credential per identity \
             (at most 20 per application)."
        ));
    }
    Ok(())
}

pub fn check_length(field: &str, value: &str) -> Result<(), String> {
    let n = value.chars().count();
    if n > MAX_FIELD_LEN {
        return Err(format!(
            "`{field}` may be at most {MAX_FIELD_LEN} characters long; this is {n}."
        ));
    }
    Ok(())
}

/// An issuer is an `https://` URL with a host.
pub fn check_issuer(value: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "The issuer must be the identity provider's `https://` URL, as in the `iss` claim of \
             its tokens (e.g. {AWS_ISSUER} or {GCP_ISSUER}); {value:?} is not."
        )
    };
    let url = url::Url::parse(value).map_err(|_| bad())?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    if value.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    Ok(())
}

/// An AWS region name such as `us-east-1`, `eu-central-1` or `us-gov-west-1`.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// A Cognito identity pool id or identity id: `<region>:<uuid>`.
pub fn is_cognito_id(s: &str) -> bool {
    s.split_once(':')
        .is_some_and(|(region, id)| is_region(region) && crate::resources::common::is_guid(id))
}

pub fn check_cognito_id(field: &str, what: &str, value: &str) -> Result<(), String> {
    if is_cognito_id(value) {
        return Ok(());
    }
    let hint = if value.starts_with("arn:") {
        " That looks like an ARN; give the id itself, not the ARN."
    } else {
        ""
    };
    Err(format!(
        "`{field}` must be a Cognito {what}: the AWS region, a colon and a UUID, such as \
         `us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b`; {value:?} is not.{hint}"
    ))
}

pub fn check_gcp_unique_id(value: &str) -> Result<(), String> {
    if !value.is_empty() && value.len() <= 64 && value.chars().all(|c| c.is_ascii_digit()) {
        return Ok(());
    }
    let hint = if value.contains('@') {
        " That is the service account's email; use its numeric unique id instead \
         (`gcloud iam service-accounts describe EMAIL --format='value(uniqueId)'`, or the \
         `unique_id` attribute of `google_service_account`)."
    } else {
        ""
    };
    Err(format!(
        "`service_account_unique_id` must be the GCP service account's numeric unique id \
         (digits only, usually 21 of them, e.g. `112233445566778899001`): Google puts it in the \
         `sub` claim of the proxy's identity tokens. {value:?} is not numeric.{hint}"
    ))
}

/// For an import: the preset block that gives exactly these values, so that a
/// configuration using the preset plans no change after the import.
pub fn infer_preset(issuer: &str, subject: &str, audience: &str) -> (Option<Aws>, Option<Gcp>) {
    if issuer == AWS_ISSUER && is_cognito_id(subject) && is_cognito_id(audience) {
        let aws = Aws {
            identity_pool_id: audience.to_owned(),
            identity_id: subject.to_owned(),
        };
        return (Some(aws), None);
    }
    if issuer == GCP_ISSUER
        && audience == TOKEN_EXCHANGE_AUDIENCE
        && check_gcp_unique_id(subject).is_ok()
    {
        let gcp = Gcp {
            service_account_unique_id: subject.to_owned(),
        };
        return (None, Some(gcp));
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::value::Value;

    const POOL: &str = "us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
    const IDENTITY: &str = "us-east-1:11111111-2222-4333-8444-555555555555";

    fn config(pairs: &[(&str, Value)]) -> Config {
        let mut c = Value::object([
            ("aws", Value::Null),
            ("gcp", Value::Null),
            ("issuer", Value::Null),
            ("subject", Value::Null),
            ("audience", Value::Null),
        ]);
        for (k, v) in pairs {
            c.set_attr(*k, v.clone()).unwrap();
        }
        tfplugin::model::from_value(&c).expect("a configuration")
    }

    fn known(s: &str) -> Attr<String> {
        Attr::Known(s.to_owned())
    }

    fn aws() -> Value {
        Value::object([
            ("identity_pool_id", Value::string(POOL)),
            ("identity_id", Value::string(IDENTITY)),
        ])
    }

    fn gcp(id: &str) -> Value {
        Value::object([("service_account_unique_id", Value::string(id))])
    }

    #[test]
    fn aws_preset_maps_pool_to_audience_and_identity_to_subject() {
        let t = trust_from_config(&config(&[("aws", aws())])).unwrap();
        assert_eq!(t.issuer, known(AWS_ISSUER));
        assert_eq!(t.subject, known(IDENTITY));
        assert_eq!(t.audience, known(POOL));
    }

    #[test]
    fn gcp_preset_uses_the_token_exchange_audience() {
        let t = trust_from_config(&config(&[("gcp", gcp("112233445566778899001"))])).unwrap();
        assert_eq!(t.issuer, known(GCP_ISSUER));
        assert_eq!(t.subject, known("112233445566778899001"));
        assert_eq!(t.audience, known(TOKEN_EXCHANGE_AUDIENCE));
    }

    #[test]
    fn direct_values_default_the_audience() {
        let direct = [
            (
                "issuer",
                Value::string("https://token.actions.githubusercontent.com"),
            ),
            ("subject", Value::string("repo:o/r:ref:refs/heads/main")),
        ];
        let t = trust_from_config(&config(&direct)).unwrap();
        assert_eq!(t.audience, known(TOKEN_EXCHANGE_AUDIENCE));
        let mut with_audience = direct.to_vec();
        with_audience.push(("audience", Value::string("custom")));
        assert_eq!(
            trust_from_config(&config(&with_audience)).unwrap().audience,
            known("custom")
        );
    }

    #[test]
    fn unknown_preset_inputs_plan_unknown_values() {
        let block = Value::object([
            ("identity_pool_id", Value::unknown()),
            ("identity_id", Value::string(IDENTITY)),
        ]);
        let t = trust_from_config(&config(&[("aws", block)])).unwrap();
        assert_eq!(t.issuer, known(AWS_ISSUER));
        assert!(t.audience.is_unknown());
        let t = trust_from_config(&config(&[("gcp", Value::unknown())])).unwrap();
        assert!(t.subject.is_unknown());
    }

    #[test]
    fn exactly_one_way() {
        assert!(check_ways(&config(&[("aws", aws())])).is_empty());
        assert!(check_ways(&config(&[("gcp", gcp("1"))])).is_empty());
        assert!(
            check_ways(&config(&[
                ("issuer", Value::string("https://x")),
                ("subject", Value::string("s"))
            ]))
            .is_empty()
        );
        let both = check_ways(&config(&[("aws", aws()), ("gcp", gcp("1"))]));
        assert_eq!(both[0].at, Some("gcp"));
        assert_eq!(both[0].summary, "Both `aws` and `gcp` given");
        let mixed = check_ways(&config(&[("aws", aws()), ("audience", Value::string("a"))]));
        assert_eq!(mixed.len(), 1);
        assert_eq!(mixed[0].at, Some("audience"));
        // The same values twice, as generated configuration writes them, are fine.
        let generated = check_ways(&config(&[
            ("aws", aws()),
            ("issuer", Value::string(AWS_ISSUER)),
            ("subject", Value::string(IDENTITY)),
            ("audience", Value::string(POOL)),
        ]));
        assert!(generated.is_empty(), "{generated:?}");
        let none = check_ways(&config(&[]));
        assert_eq!(none[0].summary, "No identity to trust");
        assert!(none[0].detail.contains("`gcp {"));
        let half = check_ways(&config(&[("issuer", Value::string("https://x"))]));
        assert_eq!(half[0].at, Some("issuer"));
        let audience_only = check_ways(&config(&[("audience", Value::string("a"))]));
        assert_eq!(audience_only[0].at, Some("audience"));
        // Unknown values count as given (variables at `terraform validate`).
        assert!(
            check_ways(&config(&[
                ("issuer", Value::unknown()),
                ("subject", Value::unknown())
            ]))
            .is_empty()
        );
    }

    #[test]
    fn name_rules_each_have_their_message() {
        assert!(check_name("psoxy-outlook-cal-aws").is_ok());
        assert!(check_name("GcpFederation").is_ok());
        assert!(check_name("a_1").is_ok());
        assert!(check_name(&"a".repeat(120)).is_ok());
        assert_eq!(
            check_name("ab").unwrap_err().0,
            "Invalid credential name length"
        );
        assert_eq!(
            check_name(&"a".repeat(121)).unwrap_err().0,
            "Invalid credential name length"
        );
        assert_eq!(
            check_name("-abc").unwrap_err().0,
            "Invalid first character in credential name"
        );
        assert_eq!(
            check_name("_abc").unwrap_err().0,
            "Invalid first character in credential name"
        );
        let (summary, detail) = check_name("my cred").unwrap_err();
        assert_eq!(summary, "Invalid character in credential name");
        assert!(detail.contains("position 3"), "{detail}");
        assert!(check_name("a.b.c").is_err());
        assert!(check_name("a*bc").is_err());
    }

    #[test]
    fn cognito_ids_are_region_colon_uuid() {
        assert!(is_cognito_id(POOL));
        assert!(is_cognito_id(
            "us-gov-west-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
        ));
        assert!(is_cognito_id(
            "ap-southeast-2:0F2B6A8E-3C4D-4E5F-8A9B-0C1D2E3F4A5B"
        ));
        assert!(!is_cognito_id("0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"));
        assert!(!is_cognito_id("us-east-1"));
        assert!(!is_cognito_id(
            "useast1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
        ));
        assert!(!is_cognito_id("us-east-1:not-a-uuid"));
        let arn = check_cognito_id(
            "identity_pool_id",
            "identity pool id",
            "arn:aws:cognito-identity:us-east-1:123:identitypool/us-east-1:x",
        )
        .unwrap_err();
        assert!(arn.contains("ARN"), "{arn}");
    }

    #[test]
    fn gcp_unique_ids_are_numeric() {
        assert!(check_gcp_unique_id("112233445566778899001").is_ok());
        assert!(check_gcp_unique_id("").is_err());
        assert!(check_gcp_unique_id("12a").is_err());
        let email = check_gcp_unique_id("psoxy@project.iam.gserviceaccount.com").unwrap_err();
        assert!(email.contains("email"), "{email}");
    }

    #[test]
    fn issuers_are_https_urls() {
        assert!(check_issuer(AWS_ISSUER).is_ok());
        assert!(check_issuer("https://token.actions.githubusercontent.com").is_ok());
        assert!(check_issuer("http://accounts.google.com").is_err());
        assert!(check_issuer("accounts.google.com").is_err());
        assert!(check_issuer("https://").is_err());
        assert!(check_issuer("https://a b").is_err());
    }

    #[test]
    fn wildcards_and_lengths() {
        assert!(check_no_wildcard("subject", "repo:o/*").is_err());
        assert!(check_no_wildcard("subject", "repo:o/r").is_ok());
        assert!(check_length("description", &"x".repeat(600)).is_ok());
        assert!(check_length("description", &"x".repeat(601)).is_err());
    }

    #[test]
    fn imports_recognise_the_presets() {
        let (a, g) = infer_preset(AWS_ISSUER, IDENTITY, POOL);
        assert_eq!(
            a,
            Some(Aws {
                identity_pool_id: POOL.into(),
                identity_id: IDENTITY.into()
            })
        );
        assert!(g.is_none());
        let (a, g) = infer_preset(GCP_ISSUER, "123", TOKEN_EXCHANGE_AUDIENCE);
        assert!(a.is_none());
        assert_eq!(
            g,
            Some(Gcp {
                service_account_unique_id: "123".into()
            })
        );
        let (a, g) = infer_preset(GCP_ISSUER, "123", "other");
        assert!(a.is_none() && g.is_none());
    }
}
