//! Mutual TLS as Terraform does it: the provider presents a fresh certificate for
//! localhost and serves only a client holding the certificate Terraform announced.

mod support;

use std::time::{Duration, Instant};
use support::{ClientCert, connect, connect_presenting, launch, launch_logging, launch_with_env};
use tfplugin::proto::go_plugin::{Empty, grpc_controller_client::GrpcControllerClient};
use tfplugin::proto::tfplugin5::{get_provider_schema, provider_client::ProviderClient};

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-psoxy");

#[tokio::test]
async fn serves_terraforms_certificate_and_refuses_others() {
    let terraform = ClientCert::generate();
    let launched = launch(BINARY, Some(&terraform.cert_pem));
    assert!(
        launched.server_cert_pem.is_some(),
        "TLS on: certificate in the handshake"
    );

    // The holder of Terraform's certificate gets the schema.
    let channel = connect(&launched, Some(&terraform))
        .await
        .expect("mTLS connect");
    let schema = ProviderClient::new(channel)
        .get_schema(get_provider_schema::Request {})
        .await
        .expect("GetSchema over mTLS")
        .into_inner();
    assert!(
        schema
            .data_source_schemas
            .contains_key("psoxy_msft_connector_specs")
    );

    // No client certificate: the TLS handshake or the first call fails.
    let refused = match connect(&launched, None).await {
        Err(_) => true,
        Ok(ch) => ProviderClient::new(ch)
            .get_schema(get_provider_schema::Request {})
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");

    // A P-521 certificate that is not Terraform's is refused too.
    let stranger = ClientCert::generate();
    let refused = match connect(&launched, Some(&stranger)).await {
        Err(_) => true,
        Ok(ch) => ProviderClient::new(ch)
            .get_schema(get_provider_schema::Request {})
            .await
            .is_err(),
    };
    assert!(refused, "a client with another certificate was served");
}

#[tokio::test]
async fn shutdown_ends_the_process_cleanly() {
    let terraform = ClientCert::generate();
    let mut launched = launch(BINARY, Some(&terraform.cert_pem));
    assert_eq!(launched.network, "unix", "{}", launched.handshake_line);
    let socket = std::path::PathBuf::from(&launched.addr);
    let socket_dir = socket.parent().unwrap().to_owned();
    assert!(socket.exists());
    let channel = connect(&launched, Some(&terraform)).await.unwrap();
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    // Terraform waits two seconds before killing a plugin.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if let Some(status) = launched.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            assert!(!socket.exists(), "socket left behind");
            assert!(!socket_dir.exists(), "socket directory left behind");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "provider still running after Shutdown"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn without_a_client_certificate_tls_is_off() {
    // TF_DISABLE_PLUGIN_TLS: Terraform sends no certificate and connects in plain text.
    let launched = launch(BINARY, None);
    assert!(
        launched.handshake_line.ends_with("|grpc|"),
        "{}",
        launched.handshake_line
    );
    let channel = connect(&launched, None).await.unwrap();
    let schema = ProviderClient::new(channel)
        .get_schema(get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.provider.is_some());
}

async fn schema_served(channel: tonic::transport::Channel) -> bool {
    ProviderClient::new(channel)
        .get_schema(get_provider_schema::Request {})
        .await
        .is_ok()
}

#[tokio::test]
async fn terraforms_certificate_presented_with_a_different_key_is_refused() {
    let terraform = ClientCert::generate();
    let launched = launch(BINARY, Some(&terraform.cert_pem));
    // The same hand-built client is served when it holds the key: what follows fails
    // for the key alone.
    let holder = connect_presenting(&launched, &terraform.cert_pem, &terraform.key_pem)
        .await
        .expect("connect with Terraform's certificate and key");
    assert!(schema_served(holder).await, "the key holder was refused");

    let impostor_key = ClientCert::generate().key_pem;
    let served = match connect_presenting(&launched, &terraform.cert_pem, &impostor_key).await {
        Err(_) => false,
        Ok(channel) => schema_served(channel).await,
    };
    assert!(
        !served,
        "a client with Terraform's certificate but another key was served"
    );
}

#[tokio::test]
async fn falls_back_to_tcp_and_keeps_mutual_tls() {
    // A socket directory that cannot be used: the provider announces TCP instead.
    let missing = tempfile::tempdir().unwrap().path().join("gone");
    let terraform = ClientCert::generate();
    let launched = launch_with_env(
        BINARY,
        Some(&terraform.cert_pem),
        &[("PLUGIN_UNIX_SOCKET_DIR", missing.to_str().unwrap())],
    );
    assert_eq!(launched.network, "tcp", "{}", launched.handshake_line);
    assert!(launched.addr.starts_with("127.0.0.1:"), "{}", launched.addr);
    let channel = connect(&launched, Some(&terraform)).await.unwrap();
    assert!(schema_served(channel).await);
    let stranger = ClientCert::generate();
    let refused = match connect(&launched, Some(&stranger)).await {
        Err(_) => true,
        Ok(channel) => !schema_served(channel).await,
    };
    assert!(refused, "a stranger was served over TCP");
}

/// The fallback is decided before the handshake line, logging starts after it: the
/// warning must still reach Terraform's log.
#[tokio::test]
async fn the_fallback_to_tcp_is_logged() {
    let missing = tempfile::tempdir().unwrap().path().join("gone");
    let terraform = ClientCert::generate();
    let mut launched = launch_logging(
        BINARY,
        Some(&terraform.cert_pem),
        &[
            ("PLUGIN_UNIX_SOCKET_DIR", missing.to_str().unwrap()),
            ("TF_LOG", "warn"),
        ],
    );
    assert_eq!(launched.network, "tcp");
    // Served means the runtime, and so logging, is up.
    assert!(schema_served(connect(&launched, Some(&terraform)).await.unwrap()).await);
    let mut stderr = launched.child.stderr.take().unwrap();
    launched.child.kill().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
    assert!(
        log.contains("cannot serve on a Unix socket, using TCP on loopback"),
        "{log}"
    );
}

#[tokio::test]
async fn honours_plugin_unix_socket_dir() {
    let base = tempfile::tempdir().unwrap();
    let terraform = ClientCert::generate();
    let launched = launch_with_env(
        BINARY,
        Some(&terraform.cert_pem),
        &[("PLUGIN_UNIX_SOCKET_DIR", base.path().to_str().unwrap())],
    );
    assert_eq!(launched.network, "unix");
    assert!(
        std::path::Path::new(&launched.addr).starts_with(base.path()),
        "{}",
        launched.addr
    );
    assert!(schema_served(connect(&launched, Some(&terraform)).await.unwrap()).await);
}

/// A failure before the handshake line (here Terraform's certificate cannot be read)
/// reaches Terraform's log as an error record, although logging otherwise starts only
/// after the line.
#[test]
fn a_failure_before_the_handshake_is_logged_as_an_error() {
    let out = std::process::Command::new(BINARY)
        .env("TF_PLUGIN_MAGIC_COOKIE", support::COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .env("PLUGIN_CLIENT_CERT", "not a certificate")
        .env("TF_LOG", "error")
        .env_remove("TF_DISABLE_PLUGIN_TLS")
        .env_remove("TF_LOG_PROVIDER")
        .output()
        .expect("run the provider");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no handshake line: {:?}", out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error_record = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["@level"] == "error")
        .unwrap_or_else(|| panic!("no error record in:\n{stderr}"));
    assert!(
        error_record["@message"]
            .as_str()
            .is_some_and(|m| m.contains("PLUGIN_CLIENT_CERT does not hold a PEM certificate")),
        "{error_record}"
    );
}
