//! Bad input from a server: a bad open packet, HTTP errors, oversize payloads, malformed
//! Engine.IO and Socket.IO packets. The client must fail with a clear error or disconnect with a
//! clear reason, and never panic. The servers here are hand-written on real sockets.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio::client::{Client, ClientError, DisconnectReason, Reconnection, Transports};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use common::eio::within;

/// A server that answers every HTTP request with `status` and `body`, then closes.
async fn http_server(status: u16, body: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                read_request_head(&mut stream).await;
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

async fn read_request_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
}

/// A WebSocket server that sends a valid open packet, answers the namespace CONNECT of `/`,
/// then sends `frames` as they are.
async fn websocket_server(frames: Vec<Message>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let frames = frames.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let open = r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
                let _ = ws.send(Message::text(open)).await;
                // The client's CONNECT for `/`.
                let _ = ws.next().await;
                let _ = ws.send(Message::text(r#"40{"sid":"n1"}"#)).await;
                for frame in frames {
                    let _ = ws.send(frame).await;
                }
                // Keep the connection open until the client leaves.
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    addr
}

fn no_reconnection() -> Reconnection {
    Reconnection {
        enabled: false,
        ..Reconnection::default()
    }
}

async fn polling_connect_error(status: u16, body: &[u8]) -> ClientError {
    let addr = http_server(status, body.to_vec()).await;
    let outcome = within(
        "connect",
        Client::builder(format!("http://{addr}"))
            .transports(Transports::Polling)
            .max_payload(4096)
            .connect(),
    )
    .await;
    outcome.expect_err("the connection must fail")
}

#[tokio::test]
async fn a_bad_open_packet_is_a_handshake_error() {
    for body in [
        &b"0{\"nope\":1}"[..],
        b"0not json",
        b"4hello",
        b"0{\"sid\":\"a\",\"upgrades\":[],\"pingInterval\":-5,\"pingTimeout\":1}",
        b"",
    ] {
        let error = polling_connect_error(200, body).await;
        assert!(
            matches!(error, ClientError::Handshake(_) | ClientError::Protocol(_)),
            "{:?} gave {error:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[tokio::test]
async fn an_http_error_status_is_reported_with_its_body() {
    let error = polling_connect_error(400, br#"{"code":0,"message":"Transport unknown"}"#).await;
    match error {
        ClientError::Http { status, body } => {
            assert_eq!(status, 400);
            assert!(body.contains("Transport unknown"), "{body}");
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_oversize_polling_response_is_refused() {
    let error = polling_connect_error(200, &vec![b'4'; 10_000]).await;
    assert_eq!(error, ClientError::PayloadTooLarge { limit: 4096 });
}

#[tokio::test]
async fn a_refused_websocket_handshake_is_an_http_error() {
    let addr = http_server(403, b"go away".to_vec()).await;
    let error = within(
        "connect",
        Client::builder(format!("ws://{addr}"))
            .transports(Transports::WebSocket)
            .connect(),
    )
    .await
    .expect_err("the connection must fail");
    assert!(
        matches!(error, ClientError::Http { status: 403, .. }),
        "{error:?}"
    );
}

/// Connects to a WebSocket server that sends `frames` after the CONNECT reply and returns the
/// reason the client then disconnected `/` for.
async fn disconnect_reason_after(frames: Vec<Message>, max_payload: usize) -> DisconnectReason {
    let addr = websocket_server(frames).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let client = within(
        "connect",
        Client::builder(format!("http://{addr}"))
            .transports(Transports::WebSocket)
            .max_payload(max_payload)
            .reconnection(no_reconnection())
            .namespace("/", move |ns| {
                ns.on_disconnect(move |reason: DisconnectReason| {
                    let _ = tx.send(reason);
                    async {}
                })
            })
            .connect(),
    )
    .await
    .expect("the open packet and CONNECT reply are valid");
    let reason = within("the disconnect", rx.recv()).await.expect("a reason");
    within("the client to stop", client.wait()).await;
    reason
}

async fn assert_parse_errors(frames: &[&str]) {
    for bad in frames {
        let reason = disconnect_reason_after(vec![Message::text(*bad)], 1_000_000).await;
        assert!(
            matches!(reason, DisconnectReason::ParseError(_)),
            "{bad:?} gave {reason:?}"
        );
    }
}

#[tokio::test]
async fn malformed_socketio_packets_end_the_session_with_a_parse_error() {
    assert_parse_errors(&[
        "4abc",
        "42{}",
        r#"42abc["x"]"#,
        "45-[]",
        r#"43["no id"]"#,
        "49",
    ])
    .await;
}

#[tokio::test]
async fn malformed_engineio_packets_end_the_session_with_a_parse_error() {
    assert_parse_errors(&["9", "", "x"]).await;
}

#[tokio::test]
async fn an_unexpected_binary_frame_is_a_parse_error() {
    let reason = disconnect_reason_after(vec![Message::binary(vec![1, 2, 3])], 1_000_000).await;
    assert!(
        matches!(reason, DisconnectReason::ParseError(_)),
        "{reason:?}"
    );
}

#[tokio::test]
async fn an_oversize_websocket_message_is_a_transport_error() {
    let big = format!(r#"42["big","{}"]"#, "x".repeat(10_000));
    let reason = disconnect_reason_after(vec![Message::text(big)], 4096).await;
    assert!(
        matches!(reason, DisconnectReason::TransportError(_)),
        "{reason:?}"
    );
}

#[tokio::test]
async fn a_silent_server_is_a_ping_timeout() {
    // This server promises a ping every 100 ms and never sends one.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(stream).await.expect("ws");
        let open =
            r#"0{"sid":"s1","upgrades":[],"pingInterval":100,"pingTimeout":100,"maxPayload":1000}"#;
        ws.send(Message::text(open)).await.expect("open");
        let _ = ws.next().await;
        ws.send(Message::text(r#"40{"sid":"n1"}"#))
            .await
            .expect("reply");
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let (tx, mut rx) = mpsc::unbounded_channel();
    let client = Client::builder(format!("http://{addr}"))
        .transports(Transports::WebSocket)
        .reconnection(no_reconnection())
        .namespace("/", move |ns| {
            ns.on_disconnect(move |reason: DisconnectReason| {
                let _ = tx.send(reason);
                async {}
            })
        })
        .connect()
        .await
        .expect("connect");
    let reason = within("the disconnect", rx.recv()).await.expect("a reason");
    assert_eq!(reason, DisconnectReason::PingTimeout);
    within("the client to stop", client.wait()).await;
}
