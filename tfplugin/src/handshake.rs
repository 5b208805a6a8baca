//! The go-plugin handshake: how Terraform launches the provider and learns where to
//! connect. Terraform sets a few environment variables, the provider answers with one
//! line on stdout, `CORE|APP|NET|ADDR|PROTO|CERT`, and everything after that is gRPC.

use base64::Engine as _;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

#[cfg(unix)]
pub use unix::SocketDir;

/// The environment variable carrying the magic cookie.
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
    /// `TF_PLUGIN_MAGIC_COOKIE`.
    pub magic_cookie: Option<String>,
    /// `PLUGIN_PROTOCOL_VERSIONS`, e.g. `5,6`.
    pub protocol_versions: Option<String>,
    /// `PLUGIN_MIN_PORT`.
    pub min_port: Option<String>,
    /// `PLUGIN_MAX_PORT`.
    pub max_port: Option<String>,
    /// `PLUGIN_CLIENT_CERT`: Terraform's client certificate (PEM).
    pub client_cert_pem: Option<String>,
    /// `TF_DISABLE_PLUGIN_TLS` is set.
    pub tls_disabled: bool,
    /// `PLUGIN_UNIX_SOCKET_DIR`.
    pub unix_socket_dir: Option<String>,
}

impl HandshakeEnv {
    /// Reads the process environment.
    pub fn from_process_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the variables through `lookup` (for tests); empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        Self {
            magic_cookie: lookup(MAGIC_COOKIE_KEY),
            protocol_versions: non_empty("PLUGIN_PROTOCOL_VERSIONS"),
            min_port: non_empty("PLUGIN_MIN_PORT"),
            max_port: non_empty("PLUGIN_MAX_PORT"),
            client_cert_pem: non_empty("PLUGIN_CLIENT_CERT"),
            tls_disabled: non_empty("TF_DISABLE_PLUGIN_TLS").is_some(),
            unix_socket_dir: non_empty("PLUGIN_UNIX_SOCKET_DIR"),
        }
    }
}

/// The checked outcome of the handshake environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeSettings {
    /// The TCP ports Terraform allows, if it limits them.
    pub port_range: Option<(u16, u16)>,
    /// Terraform's client certificate (PEM); `None` means plain gRPC without TLS.
    pub client_cert_pem: Option<String>,
    /// Where to make the Unix socket's private directory; `None` is the system's
    /// temporary directory.
    pub unix_socket_dir: Option<PathBuf>,
}

/// Why the provider cannot serve Terraform.
#[derive(Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// Started by hand or by something that is not Terraform.
    NotLaunchedByTerraform,
    /// Terraform offered no protocol version this crate speaks (5).
    UnsupportedProtocol {
        /// The versions offered.
        offered: String,
    },
    /// `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT` do not make a range.
    InvalidPortRange(String),
    /// Every port in the allowed range is taken.
    NoFreePort {
        /// Lowest port allowed.
        min: u16,
        /// Highest port allowed.
        max: u16,
    },
    /// The listener could not be created.
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
                 speaks only version {APP_PROTOCOL_VERSION}. Use Terraform 1.0 or newer."
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

/// Checks the environment Terraform set: launched by Terraform, protocol 5 on offer, a sane
/// port range.
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
        unix_socket_dir: env.unix_socket_dir.as_ref().map(PathBuf::from),
    })
}

/// Where the provider listens for Terraform: bound and non-blocking, before any async
/// runtime exists, so that the handshake line can go out first; the runtime adopts
/// it (`tokio::net::*Listener::from_std`).
#[derive(Debug)]
pub enum Listener {
    /// Loopback TCP: go-plugin's choice on Windows, and the fallback elsewhere.
    Tcp(TcpListener),
    /// A Unix socket in a private directory, removed when the [`SocketDir`] drops.
    #[cfg(unix)]
    Unix(UnixListener, SocketDir),
}

/// The address announced in the handshake line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddr {
    /// A loopback TCP address.
    Tcp(SocketAddr),
    /// The path of a Unix socket.
    Unix(PathBuf),
}

impl ListenAddr {
    /// The handshake line's NET field.
    pub fn network(&self) -> &'static str {
        match self {
            ListenAddr::Tcp(_) => "tcp",
            ListenAddr::Unix(_) => "unix",
        }
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(addr) => write!(f, "{addr}"),
            ListenAddr::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

impl Listener {
    /// The address to announce.
    pub fn addr(&self) -> std::io::Result<ListenAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().map(ListenAddr::Tcp),
            #[cfg(unix)]
            Listener::Unix(_, dir) => Ok(ListenAddr::Unix(dir.socket_path().to_owned())),
        }
    }
}

/// Listens where go-plugin's own servers would: on a Unix socket (Linux, macOS), else
/// on loopback TCP. A Unix socket that cannot be made (an unwritable or too long
/// `PLUGIN_UNIX_SOCKET_DIR`, say) falls back to TCP rather than failing; why is
/// returned beside the listener, for a warning once logging is up.
pub fn bind(
    settings: &HandshakeSettings,
) -> Result<(Listener, Option<std::io::Error>), HandshakeError> {
    #[cfg(unix)]
    let unix_failed = match unix::bind(settings.unix_socket_dir.as_deref()) {
        Ok((listener, dir)) => return Ok((Listener::Unix(listener, dir), None)),
        Err(e) => Some(e),
    };
    #[cfg(not(unix))]
    let unix_failed: Option<std::io::Error> = None;
    match bind_tcp(settings) {
        Ok(tcp) => Ok((Listener::Tcp(tcp), unix_failed)),
        // Both ways failed: say why for each.
        Err(e) => Err(match unix_failed {
            Some(unix) => HandshakeError::Bind(format!("{e}; no Unix socket either: {unix}")),
            None => e,
        }),
    }
}

/// Listens on loopback only: Terraform always connects from the same machine.
pub fn bind_tcp(settings: &HandshakeSettings) -> Result<TcpListener, HandshakeError> {
    let bind = |port| {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        listener.set_nonblocking(true)?;
        Ok::<_, std::io::Error>(listener)
    };
    match settings.port_range {
        None => bind(0).map_err(|e| HandshakeError::Bind(e.to_string())),
        Some((min, max)) => (min..=max)
            .find_map(|port| bind(port).ok())
            .ok_or(HandshakeError::NoFreePort { min, max }),
    }
}

#[cfg(unix)]
mod unix {
    use std::fs::{DirBuilder, Permissions};
    use std::io;
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    use std::os::unix::net::UnixListener;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A directory only this user can enter, holding the socket; both are removed on
    /// drop. The directory, not the socket's own mode, is what keeps other users out:
    /// the socket exists with the umask's mode for an instant before it is narrowed.
    #[derive(Debug)]
    pub struct SocketDir {
        dir: PathBuf,
        socket: PathBuf,
    }

    impl SocketDir {
        /// Makes a fresh directory with mode 0700 under `base` (default: the system's
        /// temporary directory).
        pub fn create(base: Option<&Path>) -> io::Result<SocketDir> {
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let base = base.map_or_else(std::env::temp_dir, Path::to_path_buf);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            // mkdir fails rather than reuse an existing name, so a name someone else
            // took first costs only a retry.
            for attempt in 0..16u32 {
                let unique = nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed) ^ attempt << 24;
                let dir = base.join(format!("plugin-{}-{unique:08x}", std::process::id()));
                match DirBuilder::new().mode(0o700).create(&dir) {
                    Ok(()) => {
                        let created = SocketDir {
                            socket: dir.join("plugin.sock"),
                            dir,
                        };
                        // The umask may have narrowed 0700 further; make it exact.
                        std::fs::set_permissions(&created.dir, Permissions::from_mode(0o700))?;
                        return Ok(created);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "no unused directory name for the plugin socket",
            ))
        }

        /// The private directory.
        pub fn dir(&self) -> &Path {
            &self.dir
        }

        /// The socket inside it.
        pub fn socket_path(&self) -> &Path {
            &self.socket
        }

        /// Listens on the socket, readable and writable by this user only.
        pub fn bind(&self) -> io::Result<UnixListener> {
            let listener = UnixListener::bind(&self.socket)?;
            std::fs::set_permissions(&self.socket, Permissions::from_mode(0o600))?;
            listener.set_nonblocking(true)?;
            Ok(listener)
        }
    }

    impl Drop for SocketDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.socket);
            let _ = std::fs::remove_dir(&self.dir);
        }
    }

    pub(super) fn bind(base: Option<&Path>) -> io::Result<(UnixListener, SocketDir)> {
        let dir = SocketDir::create(base)?;
        let listener = dir.bind()?;
        Ok((listener, dir))
    }
}

/// The one line Terraform reads. The certificate field is unpadded standard base64 of
/// the DER certificate, as go-plugin expects; empty when TLS is off.
pub fn handshake_line(addr: &ListenAddr, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    let network = addr.network();
    format!("{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|{network}|{addr}|grpc|{cert}")
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
            unix_socket_dir: None,
        };
        let listener = bind_tcp(&settings).unwrap();
        assert_eq!(listener.local_addr().unwrap().port(), port);
        // The only port is now taken: binding again must fail clearly.
        assert_eq!(
            bind_tcp(&settings).unwrap_err(),
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
        let addr = ListenAddr::Tcp("127.0.0.1:4242".parse().unwrap());
        let line = handshake_line(&addr, Some(&[1, 2, 3, 4]));
        assert_eq!(line, "1|5|tcp|127.0.0.1:4242|grpc|AQIDBA");
        assert!(!line.contains('\n'));
        assert_eq!(handshake_line(&addr, None), "1|5|tcp|127.0.0.1:4242|grpc|");
    }

    #[test]
    fn handshake_line_for_a_unix_socket() {
        let addr = ListenAddr::Unix(PathBuf::from("/tmp/plugin-1-ab/plugin.sock"));
        assert_eq!(
            handshake_line(&addr, Some(&[1, 2, 3, 4])),
            "1|5|unix|/tmp/plugin-1-ab/plugin.sock|grpc|AQIDBA"
        );
    }

    #[test]
    fn reads_the_unix_socket_directory() {
        let e = env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_UNIX_SOCKET_DIR", "/run/tf"),
        ]);
        assert_eq!(
            check(&e).unwrap().unix_socket_dir,
            Some(PathBuf::from("/run/tf"))
        );
        let unset = env(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)]);
        assert_eq!(check(&unset).unwrap().unix_socket_dir, None);
    }

    #[cfg(unix)]
    mod unix_socket {
        use super::*;
        use std::os::unix::fs::PermissionsExt;
        use std::path::Path;

        fn mode(path: &Path) -> u32 {
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        }

        fn settings(dir: Option<&Path>) -> HandshakeSettings {
            HandshakeSettings {
                port_range: None,
                client_cert_pem: None,
                unix_socket_dir: dir.map(Path::to_path_buf),
            }
        }

        #[tokio::test]
        async fn the_socket_sits_in_a_private_directory() {
            let base = tempfile::tempdir().unwrap();
            let (Listener::Unix(_listener, dir), None) =
                bind(&settings(Some(base.path()))).unwrap()
            else {
                panic!("expected a Unix socket");
            };
            assert_eq!(dir.dir().parent(), Some(base.path()));
            assert_eq!(mode(dir.dir()), 0o700);
            assert_eq!(mode(dir.socket_path()), 0o600);
            let (socket, private) = (dir.socket_path().to_owned(), dir.dir().to_owned());
            drop(dir);
            assert!(!socket.exists() && !private.exists(), "removed on drop");
        }

        #[tokio::test]
        async fn two_providers_get_two_directories() {
            let base = tempfile::tempdir().unwrap();
            let a = SocketDir::create(Some(base.path())).unwrap();
            let b = SocketDir::create(Some(base.path())).unwrap();
            assert_ne!(a.dir(), b.dir());
        }

        #[tokio::test]
        async fn defaults_to_the_temporary_directory() {
            let (listener, _) = bind(&settings(None)).unwrap();
            let addr = listener.addr().unwrap();
            let ListenAddr::Unix(path) = &addr else {
                panic!("expected a Unix socket, got {addr:?}");
            };
            assert!(path.starts_with(std::env::temp_dir()), "{path:?}");
        }

        #[tokio::test]
        async fn falls_back_to_tcp_when_no_socket_can_be_made() {
            let base = tempfile::tempdir().unwrap();
            let missing = base.path().join("does-not-exist");
            let (listener, why) = bind(&settings(Some(&missing))).unwrap();
            assert!(matches!(listener.addr().unwrap(), ListenAddr::Tcp(_)));
            assert_eq!(why.unwrap().kind(), std::io::ErrorKind::NotFound);
            // A path longer than a socket address can hold fails at bind, and the
            // directory made for it is removed again.
            let long = base.path().join("x".repeat(120));
            std::fs::create_dir(&long).unwrap();
            let (listener, why) = bind(&settings(Some(&long))).unwrap();
            assert!(why.is_some());
            assert!(matches!(listener.addr().unwrap(), ListenAddr::Tcp(_)));
            assert_eq!(std::fs::read_dir(&long).unwrap().count(), 0);
        }

        #[test]
        fn when_both_ways_fail_both_reasons_are_given() {
            let base = tempfile::tempdir().unwrap();
            let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = taken.local_addr().unwrap().port();
            let settings = HandshakeSettings {
                port_range: Some((port, port)),
                client_cert_pem: None,
                unix_socket_dir: Some(base.path().join("does-not-exist")),
            };
            let message = bind(&settings).unwrap_err().to_string();
            assert!(
                message.contains(&format!(
                    "no free port for the plugin between {port} and {port}"
                )) && message.contains("no Unix socket either")
                    && message.contains("No such file or directory"),
                "{message}"
            );
        }
    }
}
