//! The go-plugin handshake: how Terraform launches the provider and learns where to
//! connect. Terraform sets a few environment variables, the provider answers with one
//! line on stdout, `CORE|APP|NET|ADDR|PROTO|CERT`, and everything after that is gRPC.

use base64::Engine as _;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use tokio::net::TcpListener;

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Fixed by Terraform for every provider, forever; it only proves the launcher is Terraform.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version (the first field of the handshake line).
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol this provider speaks.
pub const APP_PROTOCOL_VERSION: u32 = 5;

/// What Terraform told the provider through its environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandshakeEnv {
    pub magic_cookie: Option<String>,
    pub protocol_versions: Option<String>,
    pub min_port: Option<String>,
    pub max_port: Option<String>,
    pub client_cert_pem: Option<String>,
    pub tls_disabled: bool,
}

impl HandshakeEnv {
    pub fn from_process_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        Self {
            magic_cookie: lookup(MAGIC_COOKIE_KEY),
            protocol_versions: non_empty("PLUGIN_PROTOCOL_VERSIONS"),
            min_port: non_empty("PLUGIN_MIN_PORT"),
            max_port: non_empty("PLUGIN_MAX_PORT"),
            client_cert_pem: non_empty("PLUGIN_CLIENT_CERT"),
            tls_disabled: non_empty("TF_DISABLE_PLUGIN_TLS").is_some(),
        }
    }
}

/// The checked outcome of the handshake environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeSettings {
    pub port_range: Option<(u16, u16)>,
    /// Terraform's client certificate (PEM); `None` means plain gRPC without TLS.
    pub client_cert_pem: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// Started by hand or by something that is not Terraform.
    NotLaunchedByTerraform,
    UnsupportedProtocol {
        offered: String,
    },
    InvalidPortRange(String),
    NoFreePort {
        min: u16,
        max: u16,
    },
    Bind(String),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotLaunchedByTerraform => write!(
                f,
                "This binary is a plugin for Terraform. It is not meant to be run \
                 directly: Terraform starts it itself."
            ),
            Self::UnsupportedProtocol { offered } => write!(
                f,
                "Terraform offered plugin protocol versions {offered}, but this provider \
                 speaks only version {APP_PROTOCOL_VERSION}. Use Terraform 0.12 or newer."
            ),
            Self::InvalidPortRange(why) => write!(f, "invalid plugin port range: {why}"),
            Self::NoFreePort { min, max } => {
                write!(f, "no free port for the plugin between {min} and {max}")
            }
            Self::Bind(why) => write!(f, "could not listen for Terraform: {why}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

pub fn check(env: &HandshakeEnv) -> Result<HandshakeSettings, HandshakeError> {
    if env.magic_cookie.as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotLaunchedByTerraform);
    }
    if let Some(offered) = &env.protocol_versions {
        let speaks_ours = offered
            .split(',')
            .any(|v| v.trim().parse::<u32>().ok() == Some(APP_PROTOCOL_VERSION));
        if !speaks_ours {
            return Err(HandshakeError::UnsupportedProtocol {
                offered: offered.clone(),
            });
        }
    }
    let port_range = match (&env.min_port, &env.max_port) {
        (None, None) => None,
        (min, max) => {
            let parse = |name: &str, v: &Option<String>, default: u16| match v {
                None => Ok(default),
                Some(s) => s.trim().parse::<u16>().map_err(|_| {
                    HandshakeError::InvalidPortRange(format!("{name}={s:?} is not a port"))
                }),
            };
            let min = parse("PLUGIN_MIN_PORT", min, 1024)?;
            let max = parse("PLUGIN_MAX_PORT", max, u16::MAX)?;
            if min > max {
                return Err(HandshakeError::InvalidPortRange(format!(
                    "PLUGIN_MIN_PORT {min} is above PLUGIN_MAX_PORT {max}"
                )));
            }
            Some((min, max))
        }
    };
    Ok(HandshakeSettings {
        port_range,
        client_cert_pem: if env.tls_disabled {
            None
        } else {
            env.client_cert_pem.clone()
        },
    })
}

/// Listens on loopback only: Terraform always connects from the same machine.
pub async fn bind(settings: &HandshakeSettings) -> Result<TcpListener, HandshakeError> {
    match settings.port_range {
        None => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| HandshakeError::Bind(e.to_string())),
        Some((min, max)) => {
            for port in min..=max {
                if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                    return Ok(listener);
                }
            }
            Err(HandshakeError::NoFreePort { min, max })
        }
    }
}

/// The one line Terraform reads. The certificate field is unpadded standard base64 of
/// the DER certificate, as go-plugin expects; empty when TLS is off.
pub fn handshake_line(addr: SocketAddr, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HandshakeEnv {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HandshakeEnv::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn refuses_to_run_without_the_cookie() {
        assert_eq!(
            check(&env(&[])),
            Err(HandshakeError::NotLaunchedByTerraform)
        );
        let wrong = env(&[(MAGIC_COOKIE_KEY, "nope")]);
        assert_eq!(check(&wrong), Err(HandshakeError::NotLaunchedByTerraform));
        let message = HandshakeError::NotLaunchedByTerraform.to_string();
        assert!(message.contains("plugin for Terraform"), "{message}");
    }

    #[test]
    fn accepts_terraforms_offer_and_picks_five() {
        let e = env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
        ]);
        let settings = check(&e).unwrap();
        assert_eq!(settings.port_range, None);
        assert_eq!(settings.client_cert_pem, None);
    }

    #[test]
    fn rejects_an_offer_without_five() {
        let e = env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "6"),
        ]);
        assert!(matches!(
            check(&e),
            Err(HandshakeError::UnsupportedProtocol { .. })
        ));
    }

    #[test]
    fn honours_the_port_range() {
        let e = env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_MIN_PORT", "10000"),
            ("PLUGIN_MAX_PORT", "10010"),
        ]);
        assert_eq!(check(&e).unwrap().port_range, Some((10000, 10010)));
        let reversed = env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_MIN_PORT", "10"),
            ("PLUGIN_MAX_PORT", "5"),
        ]);
        assert!(matches!(
            check(&reversed),
            Err(HandshakeError::InvalidPortRange(_))
        ));
    }

    #[tokio::test]
    async fn binds_inside_the_range() {
        // Find a free port, then ask for a one-port range around it.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let settings = HandshakeSettings {
            port_range: Some((port, port)),
            client_cert_pem: None,
        };
        let listener = bind(&settings).await.unwrap();
        assert_eq!(listener.local_addr().unwrap().port(), port);
        // The only port is now taken: binding again must fail clearly.
        assert_eq!(
            bind(&settings).await.unwrap_err(),
            HandshakeError::NoFreePort {
                min: port,
                max: port
            }
        );
    }

    #[test]
    fn tls_can_be_disabled_even_with_a_certificate() {
        let e = env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"),
            ("TF_DISABLE_PLUGIN_TLS", "1"),
        ]);
        assert_eq!(check(&e).unwrap().client_cert_pem, None);
    }

    #[test]
    fn handshake_line_has_six_fields_and_unpadded_cert() {
        let addr: SocketAddr = "127.0.0.1:4242".parse().unwrap();
        let line = handshake_line(addr, Some(&[1, 2, 3, 4]));
        assert_eq!(line, "1|5|tcp|127.0.0.1:4242|grpc|AQIDBA");
        assert!(!line.contains('\n'));
        assert_eq!(handshake_line(addr, None), "1|5|tcp|127.0.0.1:4242|grpc|");
    }
}
