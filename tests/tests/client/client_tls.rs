//! The client over TLS (`https://`, and `wss://` for the WebSocket): a TLS-terminating proxy
//! with a freshly generated self-signed certificate sits in front of an in-process server. The
//! client trusts that certificate through `tls_config`; with the default roots it refuses it.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use socketio::client::{Client, ClientError, Transports};
use socketio::{AckSender, Payload, SocketIo};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::{self, pki_types};

use common::eio::within;

/// An echo server on plain HTTP: `echo` is acknowledged with its arguments.
async fn plain_server() -> SocketAddr {
    let io = SocketIo::builder()
        .namespace("/", |ns| {
            ns.on(
                "echo",
                |payload: Payload, ack: Option<AckSender>| async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(payload);
                    }
                },
            )
        })
        .build()
        .expect("server");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = io
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A TLS proxy for `localhost` in front of `backend`; returns its port and the certificate.
async fn tls_proxy(backend: SocketAddr) -> (u16, pki_types::CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("self-signed certificate");
    let cert = certified.cert.der().clone();
    let key = pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key)
    .expect("server TLS config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    (port, cert)
}

fn trusting(cert: pki_types::CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("add the test root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

#[tokio::test]
async fn https_and_wss_with_a_trusted_certificate() {
    let (port, cert) = tls_proxy(plain_server().await).await;
    let config = trusting(cert);
    for (scheme, transports) in [
        ("https", Transports::Polling),
        ("wss", Transports::WebSocket),
        ("https", Transports::Upgrade),
    ] {
        let client = within(
            "connect over TLS",
            Client::builder(format!("{scheme}://localhost:{port}"))
                .transports(transports)
                .tls_config(config.clone())
                .connect(),
        )
        .await
        .unwrap_or_else(|e| panic!("{scheme} {transports:?}: {e}"));
        let reply = client
            .timeout(Duration::from_secs(5))
            .emit_with_ack::<socketio::Payload>("echo", json!("over tls"))
            .await
            .expect("ack over TLS");
        assert_eq!(reply.args, [json!("over tls")], "{scheme} {transports:?}");
        client.disconnect();
        within("disconnect", client.wait()).await;
    }
}

#[tokio::test]
async fn the_default_roots_refuse_a_self_signed_certificate() {
    let (port, _) = tls_proxy(plain_server().await).await;
    for transports in [Transports::Polling, Transports::WebSocket] {
        let error = within(
            "connect over TLS",
            Client::builder(format!("https://localhost:{port}"))
                .transports(transports)
                .connect(),
        )
        .await
        .expect_err("an untrusted certificate must be refused");
        match error {
            ClientError::Transport(message) => {
                assert!(message.contains("certificate"), "{transports:?}: {message}");
            }
            other => panic!("{transports:?}: expected a transport error, got {other:?}"),
        }
    }
}
