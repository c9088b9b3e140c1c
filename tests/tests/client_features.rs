//! The async client against an in-process server on a real socket: custom path, headers and
//! query; per-namespace sids; connect errors with the server's message and data; acks in both
//! directions (callbacks, typed handlers whose return value is the ack); the catch-all handler;
//! binary at depth; the transport in use.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use socketio::args::{from_args, to_payload};
use socketio::client::{Client, ClientError, ClientSocket, Transports};
use socketio::engineio::TransportKind;
use socketio::{AckError, ConnectError, EmitError, Payload, SocketIo};
use tokio::sync::mpsc;

use common::eio::within;

const PATH: &str = "/custom-path/";
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts a server on `PATH` with:
/// - `/`: on connect emits `hello` with the `x-probe` header and the `q` query parameter;
///   `ask` makes the server emit `question` with an ack and emit `answer` with the reply;
///   `echo` is acknowledged with its arguments;
/// - `/admin`: refuses everyone with a message and data.
async fn start_server() -> SocketAddr {
    let io = SocketIo::builder()
        .engine(|config| config.path(PATH))
        .namespace("/", |ns| {
            ns.on_connect(|socket| async move {
                let handshake = socket.handshake();
                let header = handshake
                    .headers
                    .get("x-probe")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let query = handshake.query("q").unwrap_or_default();
                let _ = socket.emit("hello", (json!(header), json!(query)));
                Ok(())
            })
            .on("ask", |socket, payload, _| async move {
                let reply: Payload = socket
                    .timeout(ACK_TIMEOUT)
                    .emit_with_ack("question", payload)
                    .await
                    .unwrap_or_default();
                let _ = socket.emit("answer", reply);
            })
            .on("echo", |_socket, payload, ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(payload);
                }
            })
            .on("shout", |socket, payload, _| async move {
                let _ = socket.emit("unknown-to-the-client", payload);
            })
        })
        .namespace("/admin", |ns| {
            ns.middleware(|_socket| async move {
                Err(ConnectError::new("admins only").with_data(json!({ "retry": false })))
            })
        })
        .build()
        .expect("server");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = io
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

type Events = mpsc::UnboundedReceiver<(String, Payload)>;

async fn next(events: &mut Events, name: &str) -> Payload {
    within(&format!("event {name}"), async {
        loop {
            let (event, payload) = events.recv().await.expect("client alive");
            if event == name {
                return payload;
            }
        }
    })
    .await
}

/// A client on `/` over `transports` that records every event it has no handler for, and
/// answers `question` with `("answered", <its args>, <bytes>)` through a typed handler.
async fn connect(addr: SocketAddr, transports: Transports) -> (Client, Events) {
    let (tx, events) = mpsc::unbounded_channel();
    let client = Client::builder(format!("http://{addr}"))
        .path(PATH)
        .transports(transports)
        .header("x-probe", "header-value")
        .query("q", "a b&c")
        .namespace("/", move |ns| {
            ns.on_any(move |_socket, event, payload, _ack| {
                let _ = tx.send((event, payload));
                async {}
            })
            .on_typed(
                "question",
                |_socket: ClientSocket, (text, data): (String, Bytes)| async move {
                    ("answered", text, data, Bytes::from_static(b"\xff"))
                },
            )
        })
        .connect()
        .await
        .expect("connect");
    (client, events)
}

#[tokio::test]
async fn headers_query_path_and_sid_reach_the_server() {
    let addr = start_server().await;
    for transports in [
        Transports::Polling,
        Transports::WebSocket,
        Transports::Upgrade,
    ] {
        let (client, mut events) = connect(addr, transports).await;
        let hello = next(&mut events, "hello").await;
        assert_eq!(
            hello.args,
            [json!("header-value"), json!("a b&c")],
            "{transports:?}"
        );
        assert!(client.socket().sid().is_some_and(|sid| !sid.is_empty()));
        if transports == Transports::Polling {
            assert_eq!(client.transport(), Some(TransportKind::Polling));
        }
        client.disconnect();
        within("disconnect", client.wait()).await;
        assert_eq!(client.transport(), None);
        assert_eq!(client.socket().sid(), None);
    }
}

#[tokio::test]
async fn a_typed_handler_answers_the_server_ack_with_its_return_value() {
    let addr = start_server().await;
    let (client, mut events) = connect(addr, Transports::WebSocket).await;
    let sent = to_payload(&("why?", Bytes::from_static(b"\x00\x01"))).expect("payload");
    client.emit("ask", sent).expect("emit");
    let answer = next(&mut events, "answer").await;
    let (tag, text, data, extra): (String, String, Bytes, Bytes) =
        from_args(&answer).expect("typed answer");
    assert_eq!(
        (tag.as_str(), text.as_str(), &data[..], &extra[..]),
        ("answered", "why?", &b"\x00\x01"[..], &b"\xff"[..])
    );
    client.disconnect();
}

#[tokio::test]
async fn acks_by_callback_and_by_call_with_binary_at_depth() {
    let addr = start_server().await;
    let (client, mut events) = connect(addr, Transports::Polling).await;
    let nested = json!({ "list": [1, {"deep": "x"}] });
    let mut payload = Payload::from_args(vec![nested]);
    let placeholder = payload.binary(Bytes::from_static(b"bin"));
    payload.args.push(json!({ "a": [placeholder] }));

    let reply = client
        .timeout(ACK_TIMEOUT)
        .emit_with_ack::<Payload>("echo", payload.clone())
        .await
        .expect("call");
    assert_eq!(reply, payload);

    let (tx, mut rx) = mpsc::unbounded_channel();
    client
        .socket()
        .emit_with_callback(
            "echo",
            payload.clone(),
            move |reply: Result<Payload, _>| async move {
                let _ = tx.send(reply);
            },
        )
        .expect("emit with ack");
    let reply = within("the ack callback", rx.recv()).await.expect("reply");
    assert_eq!(reply, Ok(payload));

    // The catch-all sees events without a handler of their own.
    client.emit("shout", json!("hey")).expect("emit");
    let unknown = next(&mut events, "unknown-to-the-client").await;
    assert_eq!(unknown.args, [json!("hey")]);
    client.disconnect();
}

#[tokio::test]
async fn a_refused_namespace_reports_the_server_message_and_data() {
    let addr = start_server().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let outcome = Client::builder(format!("http://{addr}"))
        .path(PATH)
        .transports(Transports::WebSocket)
        .namespace("/admin", move |ns| {
            ns.on_connect_error(move |socket, error| {
                let _ = tx.send((socket.namespace().to_owned(), error));
                async {}
            })
        })
        .connect()
        .await;
    let expected = ClientError::ConnectRefused {
        namespace: "/admin".into(),
        message: "admins only".into(),
        data: Some(json!({ "retry": false })),
    };
    assert_eq!(outcome.expect_err("refused"), expected);
    let (namespace, error) = within("on_connect_error", rx.recv())
        .await
        .expect("handler");
    assert_eq!((namespace.as_str(), error), ("/admin", expected));
}

#[tokio::test]
async fn emitting_on_a_namespace_that_is_not_connected_fails() {
    let addr = start_server().await;
    let (client, _events) = connect(addr, Transports::WebSocket).await;
    let error = client
        .of("/elsewhere")
        .emit("x", ())
        .expect_err("not connected");
    assert_eq!(error, EmitError::Closed);
    let timeout = client
        .timeout(Duration::from_millis(200))
        .emit_with_ack::<Payload>("no-such-ack", ())
        .await
        .expect_err("never answered");
    assert_eq!(timeout, AckError::Timeout);
    client.disconnect();
    let after = client.emit("x", ()).expect_err("disconnected");
    assert_eq!(after, EmitError::Closed);
}

#[tokio::test]
async fn a_disconnected_client_connects_again() {
    let addr = start_server().await;
    let (client, mut events) = connect(addr, Transports::Polling).await;
    next(&mut events, "hello").await;
    let first = client.socket().sid();
    client.disconnect();
    within("connect again", client.connect())
        .await
        .expect("connect again");
    next(&mut events, "hello").await;
    assert_ne!(client.socket().sid(), first);
    let reply = client
        .timeout(ACK_TIMEOUT)
        .emit_with_ack::<Payload>("echo", json!("again"))
        .await
        .expect("call after connecting again");
    assert_eq!(reply.args, [json!("again")]);
    client.disconnect();
    within("disconnect", client.wait()).await;
}
