//! Mutual TLS as Terraform does it: the provider presents a fresh certificate for
//! localhost and serves only a client holding the certificate Terraform announced.

mod support;

use std::time::{Duration, Instant};
use support::{ClientCert, connect, launch};
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
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", launched.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let schema = ProviderClient::new(channel)
        .get_schema(get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.provider.is_some());
}
