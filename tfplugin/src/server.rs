//! Serving Terraform: handshake, listener, TLS, the provider service and go-plugin's
//! side services, until Terraform says Shutdown.

use super::framework::Provider;
use super::handshake::{self, HandshakeEnv, HandshakeError, Listener};
use super::logging::ProviderModules;
use super::proto::go_plugin::{
    Empty, StdioData,
    grpc_controller_server::{GrpcController, GrpcControllerServer},
    grpc_stdio_server::{GrpcStdio, GrpcStdioServer},
};
use super::proto::tfplugin5::provider_server::ProviderServer;
use super::rpc::PluginService;
use super::tls;
use futures_util::StreamExt as _;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::transport::server::{Connected, Router};
use tonic::{Request, Response, Status};

const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Who the provider is, for what `serve` says and logs on its behalf.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    binary_name: String,
    registry_address: String,
    install_hint: Option<String>,
    log_modules: ProviderModules,
}

impl ServeOptions {
    /// `binary_name` as in `terraform-provider-example` (prefixes error messages and
    /// names the provider in its TLS certificate); `registry_address` as in
    /// `example/example` (named when someone runs the binary by hand).
    ///
    /// By default the provider's logs are those of the crate named like the binary
    /// (`terraform_provider_example`), shown with the provider's type name (`example`)
    /// as their module.
    pub fn new(binary_name: impl Into<String>, registry_address: impl Into<String>) -> Self {
        let binary_name = binary_name.into();
        let registry_address = registry_address.into();
        let type_name = registry_address
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Self {
            log_modules: ProviderModules {
                crates: vec![binary_name.replace('-', "_")],
                prefix: type_name,
            },
            binary_name,
            registry_address,
            install_hint: None,
        }
    }

    /// Where to find installation instructions, added to the message shown when the
    /// binary is run by hand, e.g. ``"see `make install` in the project README"``.
    pub fn install_hint(mut self, hint: impl Into<String>) -> Self {
        self.install_hint = Some(hint.into());
        self
    }

    /// The crates (log target roots) whose logs are the provider's: they are logged at
    /// the level `TF_LOG` asks for, other crates at warn at most.
    pub fn log_crates<S: Into<String>>(mut self, crates: impl IntoIterator<Item = S>) -> Self {
        self.log_modules.crates = crates.into_iter().map(Into::into).collect();
        self
    }

    /// What the provider's crate names become in a log line's `@module`:
    /// `example_provider::graph::client` is shown as `<prefix>.graph`.
    pub fn log_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.log_modules.prefix = prefix.into();
        self
    }

    /// The binary's name, as given to [`ServeOptions::new`].
    pub fn binary_name(&self) -> &str {
        &self.binary_name
    }

    /// The provider's registry address, as given to [`ServeOptions::new`].
    pub fn registry_address(&self) -> &str {
        &self.registry_address
    }

    /// What a person who runs the binary by hand reads.
    pub fn run_by_hand_message(&self) -> String {
        let hint = self
            .install_hint
            .as_ref()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        format!(
            "This binary is a plugin for Terraform (the {} provider). It is not meant to be \
             run directly: Terraform starts it itself.\nPut it where `terraform init` finds \
             it{hint}, then run `terraform init` and `terraform plan`.",
            self.registry_address
        )
    }
}

/// Runs the provider as Terraform's plugin; returns when Terraform shuts it down.
/// Everything happens on the caller's runtime; [`serve_blocking`] answers the
/// handshake sooner.
pub async fn serve(provider: Arc<dyn Provider>, options: ServeOptions) -> ExitCode {
    match answer_handshake(&options) {
        Ok(answered) => serve_answered(provider, answered, &options).await,
        Err(code) => code,
    }
}

/// Like [`serve`], but answers the handshake before `build_runtime` runs: Terraform
/// connects while the runtime starts its threads, and the connection waits in the
/// listener's backlog. Returns when Terraform shuts the provider down.
pub fn serve_blocking(
    provider: Arc<dyn Provider>,
    options: ServeOptions,
    build_runtime: impl FnOnce() -> std::io::Result<tokio::runtime::Runtime>,
) -> ExitCode {
    let answered = match answer_handshake(&options) {
        Ok(answered) => answered,
        Err(code) => return code,
    };
    match build_runtime() {
        Ok(runtime) => runtime.block_on(serve_answered(provider, answered, &options)),
        Err(e) => stopped_before_serving(&options, &format!("cannot start the async runtime: {e}")),
    }
}

/// What the handshake line announced: where to serve, and how.
struct Answered {
    listener: Listener,
    addr: handshake::ListenAddr,
    /// Why the listener is not a Unix socket, when one was tried.
    unix_socket_failed: Option<std::io::Error>,
    /// The certificate announced and Terraform's; their TLS configuration is built
    /// after the line, while Terraform dials.
    tls: Option<(tls::ServerIdentity, tls::TerraformCert)>,
}

/// Checks that Terraform started the process, listens, makes the TLS identity and
/// prints the handshake line. Needs no async runtime, and leaves everything else
/// (logging included: errors here go to stderr, which Terraform logs) until after
/// the line.
fn answer_handshake(options: &ServeOptions) -> Result<Answered, ExitCode> {
    let name = options.binary_name();
    let settings = match handshake::check(&HandshakeEnv::from_process_env()) {
        Ok(s) => s,
        Err(HandshakeError::NotLaunchedByTerraform) => {
            eprintln!("{}", options.run_by_hand_message());
            return Err(ExitCode::FAILURE);
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            return Err(ExitCode::FAILURE);
        }
    };
    let announce = || -> Result<Answered, Box<dyn std::error::Error>> {
        let (listener, unix_socket_failed) = handshake::bind(&settings)?;
        let addr = listener.addr()?;
        let tls = match &settings.client_cert_pem {
            Some(pem) => Some((
                tls::generate_server_identity(&options.binary_name)?,
                tls::TerraformCert::from_pem(pem)?,
            )),
            None => None,
        };
        let cert_der = tls
            .as_ref()
            .map(|(identity, _)| identity.cert_der.as_slice());
        // The handshake line goes out only once the listener exists: Terraform
        // connects right after reading it.
        let line = handshake::handshake_line(&addr, cert_der);
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{line}")?;
            stdout.flush()?;
        }
        Ok(Answered {
            listener,
            addr,
            unix_socket_failed,
            tls,
        })
    };
    announce().map_err(|e| stopped_before_serving(options, &e.to_string()))
}

/// [`stopped`] before logging has started: starts it, so that the failure is an
/// error record in Terraform's log, as failures while serving are.
fn stopped_before_serving(options: &ServeOptions, error: &str) -> ExitCode {
    super::logging::init(&options.log_modules);
    stopped(options, error)
}

/// Says why the provider stops, in its log (once logging is up) and on stderr.
fn stopped(options: &ServeOptions, error: &str) -> ExitCode {
    tracing::error!("provider stopped: {error}");
    eprintln!("{}: {error}", options.binary_name());
    ExitCode::FAILURE
}

/// Serves the provider and go-plugin's side services until Terraform says Shutdown.
async fn serve_answered(
    provider: Arc<dyn Provider>,
    answered: Answered,
    options: &ServeOptions,
) -> ExitCode {
    // First, to keep short the moment in which Ctrl-C would still kill the process.
    ignore_interrupts();
    super::logging::init(&options.log_modules);
    if let Some(e) = &answered.unix_socket_failed {
        tracing::warn!("cannot serve on a Unix socket, using TCP on loopback: {e}");
    }
    let addr = &answered.addr;
    tracing::debug!(%addr, network = addr.network(), tls = answered.tls.is_some(), "serving Terraform");
    if answered.tls.is_none() {
        tracing::warn!("serving without TLS: Terraform sent no client certificate");
    }
    match serve_until_shutdown(provider, answered).await {
        Ok(()) => {
            tracing::debug!("shut down by Terraform");
            ExitCode::SUCCESS
        }
        Err(e) => stopped(options, &e.to_string()),
    }
}

async fn serve_until_shutdown(
    provider: Arc<dyn Provider>,
    Answered { listener, tls, .. }: Answered,
) -> Result<(), Box<dyn std::error::Error>> {
    let tls_config = match tls {
        Some((identity, terraform)) => Some(Arc::new(tls::server_config(&identity, &terraform)?)),
        None => None,
    };
    let shutdown = CancellationToken::new();
    let router = Server::builder()
        // Terraform's Go SDKs accept messages up to 256 MiB; tonic's default is 4 MiB,
        // which a large state could pass.
        .add_service(
            ProviderServer::new(PluginService::new(provider))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: shutdown.clone(),
        }))
        .add_service(GrpcStdioServer::new(Stdio {
            shutdown: shutdown.clone(),
        }));
    match listener {
        Listener::Tcp(tcp) => {
            serve_on(router, TcpListener::from_std(tcp)?, tls_config, shutdown).await?
        }
        #[cfg(unix)]
        Listener::Unix(unix, socket_dir) => {
            let unix = tokio::net::UnixListener::from_std(unix)?;
            let served = serve_on(router, unix, tls_config, shutdown).await;
            // Removes the socket and its directory.
            drop(socket_dir);
            served?
        }
    }
    Ok(())
}

async fn serve_on<L: Accept>(
    router: Router,
    listener: L,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    match tls_config {
        Some(config) => {
            router
                .serve_with_incoming_shutdown(
                    tls_incoming(listener, config),
                    shutdown.cancelled_owned(),
                )
                .await
        }
        None => {
            router
                .serve_with_incoming_shutdown(plain_incoming(listener), shutdown.cancelled_owned())
                .await
        }
    }
}

/// A listener whose connections tonic can serve.
trait Accept: Send + Sync + 'static {
    type Io: AsyncRead
        + AsyncWrite
        + Connected<ConnectInfo: Clone + Send + Sync + 'static>
        + Unpin
        + Send
        + 'static;

    /// The next connection and a description of its peer for logs.
    fn accept_io(&self) -> impl Future<Output = std::io::Result<(Self::Io, String)>> + Send;
}

impl Accept for TcpListener {
    type Io = TcpStream;

    /// With Nagle's algorithm off: gRPC sends small frames and waits for answers, and
    /// delayed ACKs would otherwise add ~40 ms to every request.
    async fn accept_io(&self) -> std::io::Result<(TcpStream, String)> {
        let (tcp, peer) = self.accept().await?;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("could not set TCP_NODELAY: {e}");
        }
        Ok((tcp, peer.to_string()))
    }
}

#[cfg(unix)]
impl Accept for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept_io(&self) -> std::io::Result<(tokio::net::UnixStream, String)> {
        let (stream, _) = self.accept().await?;
        Ok((stream, "unix socket peer".to_owned()))
    }
}

async fn accept<L: Accept>(listener: &L) -> Option<(L::Io, String)> {
    match listener.accept_io().await {
        Ok(accepted) => Some(accepted),
        Err(e) => {
            tracing::warn!("accept failed: {e}");
            // Out of file descriptors and the like: do not spin.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            None
        }
    }
}

fn plain_incoming<L: Accept>(listener: L) -> impl Stream<Item = std::io::Result<L::Io>> {
    futures_util::stream::unfold(listener, |listener| async move {
        loop {
            if let Some((io, _)) = accept(&listener).await {
                return Some((Ok(io), listener));
            }
        }
    })
}

/// Connections that completed the TLS handshake; the rest are logged and dropped, so
/// that a stranger's connection attempt cannot disturb Terraform's.
fn tls_incoming<L: Accept>(
    listener: L,
    config: Arc<rustls::ServerConfig>,
) -> impl Stream<Item = std::io::Result<TlsStream<L::Io>>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let Some((io, peer)) = accept(&listener).await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                // A client that never finishes the handshake must not hold a socket.
                match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(io))
                    .await
                {
                    Ok(Ok(stream)) => {
                        let _ = sender.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => tracing::warn!(%peer, "refused a TLS connection: {e}"),
                    Err(_) => tracing::warn!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(receiver)
}

/// Terraform forwards Ctrl-C as the Stop RPC; the signal itself must not kill the
/// provider mid-write (go-plugin servers ignore it too).
fn ignore_interrupts() {
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            tracing::debug!("ignoring interrupt: Terraform sends Stop instead");
        }
    });
}

struct Controller {
    shutdown: CancellationToken,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        self.shutdown.cancel();
        Ok(Response::new(Empty {}))
    }
}

struct Stdio {
    shutdown: CancellationToken,
}

type StdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send>>;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;

    /// Logs go to stderr directly, so this stream carries nothing; it ends at shutdown
    /// so that it does not hold the server open.
    async fn stream_stdio(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<StdioStream>, Status> {
        Ok(Response::new(Box::pin(silent_until(self.shutdown.clone()))))
    }
}

/// A stream that yields nothing and ends when the server shuts down.
fn silent_until(
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<StdioData, Status>> + Send {
    futures_util::stream::once(async move { shutdown.cancelled_owned().await })
        .filter_map(|()| async { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_to_the_binary_and_registry_names() {
        let options = ServeOptions::new("terraform-provider-example", "acme/example");
        assert_eq!(options.binary_name(), "terraform-provider-example");
        assert_eq!(options.registry_address(), "acme/example");
        assert_eq!(
            options.log_modules,
            ProviderModules {
                crates: vec!["terraform_provider_example".into()],
                prefix: "example".into(),
            }
        );
        let message = options.run_by_hand_message();
        assert!(message.contains("(the acme/example provider)"), "{message}");
        assert!(message.contains("finds it, then run"), "{message}");
    }

    #[test]
    fn options_take_an_install_hint_and_log_crates() {
        let options = ServeOptions::new("terraform-provider-example", "acme/example")
            .install_hint("see the README")
            .log_crates(["example_lib", "terraform_provider_example"])
            .log_prefix("ex");
        assert_eq!(
            options.log_modules.crates,
            ["example_lib", "terraform_provider_example"]
        );
        assert_eq!(options.log_modules.prefix, "ex");
        assert!(
            options
                .run_by_hand_message()
                .contains("finds it (see the README), then run")
        );
    }
}
