//! The async client against an in-process server on a real socket: custom path, headers and
//! query; per-namespace sids; connect errors with the server's message and data; acks in both
//! directions (callbacks, typed handlers whose return value is the ack); the catch-all handler;
//! binary at depth; the transport in use. `official_node` checks the typed API against the
//! official Node `socket.io` server (`tests/js/typed_server.mjs`).

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use socketio::args::{from_args, to_payload};
use std::sync::Arc;

use socketio::client::{Client, ClientAck, ClientError, ClientSocket, Transports};
use socketio::engineio::TransportKind;
use socketio::handler::EventName;
use socketio::{AckError, AckSender, ConnectError, EmitError, Payload, Socket, SocketIo};
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
            ns.on_connect(|socket: Arc<Socket>| async move {
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
            .on(
                "ask",
                |socket: Arc<Socket>, payload: Payload, _ack: Option<AckSender>| async move {
                    let reply: Payload = socket
                        .timeout(ACK_TIMEOUT)
                        .emit_with_ack("question", payload)
                        .await
                        .unwrap_or_default();
                    let _ = socket.emit("answer", reply);
                },
            )
            .on(
                "echo",
                |payload: Payload, ack: Option<AckSender>| async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(payload);
                    }
                },
            )
            .on(
                "shout",
                |socket: Arc<Socket>, payload: Payload, _ack: Option<AckSender>| async move {
                    let _ = socket.emit("unknown-to-the-client", payload);
                },
            )
        })
        .namespace("/notes", |ns| {
            ns.on("note", |socket: Arc<Socket>, text: String| async move {
                let _ = socket.emit("noted", (socket.namespace(), text));
            })
        })
        .namespace("/admin", |ns| {
            ns.middleware(|| async move {
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
            ns.on_any(
                move |EventName(event): EventName, payload: Payload, _ack: Option<ClientAck>| {
                    let _ = tx.send((event, payload));
                    async {}
                },
            )
            .on("question", |text: String, data: Bytes| async move {
                ("answered", text, data, Bytes::from_static(b"\xff"))
            })
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

/// A typed handler whose arguments do not fit answers the server's ack with the error object a
/// server handler would send, instead of leaving the server to time out.
#[tokio::test]
async fn a_typed_handler_refuses_arguments_that_do_not_fit_with_an_error_ack() {
    let addr = start_server().await;
    let (client, mut events) = connect(addr, Transports::WebSocket).await;
    client.emit("ask", (1, 2)).expect("emit");
    let answer = next(&mut events, "answer").await;
    assert_eq!(answer.args.len(), 1, "{answer:?}");
    let message = answer.args[0]["error"].as_str().unwrap_or_default();
    assert!(message.starts_with("invalid arguments: "), "{answer:?}");
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
            ns.on_connect_error(move |socket: ClientSocket, refusal: serde_json::Value| {
                let _ = tx.send((socket.namespace().to_owned(), refusal));
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
    let (namespace, refusal) = within("on_connect_error", rx.recv())
        .await
        .expect("handler");
    let refusal_seen = json!({ "message": "admins only", "data": { "retry": false } });
    assert_eq!((namespace.as_str(), refusal), ("/admin", refusal_seen));
}

/// An event declared with a namespace goes there from the client handle, which otherwise
/// emits on `/`.
#[tokio::test]
async fn the_client_handle_emits_an_event_on_its_declared_namespace() {
    #[derive(serde::Serialize, socketio::Event)]
    #[event("note", namespace = "/notes")]
    struct Note(String);

    let addr = start_server().await;
    let (tx, mut noted) = mpsc::unbounded_channel();
    let client = Client::builder(format!("http://{addr}"))
        .path(PATH)
        .namespace("/notes", move |ns| {
            ns.on("noted", move |namespace: String, text: String| {
                let _ = tx.send((namespace, text));
                async {}
            })
        })
        .connect()
        .await
        .expect("connect");
    client.emit_event(&Note("hello".into())).expect("emit");
    let seen = within("noted", noted.recv()).await.expect("handler");
    assert_eq!(seen, ("/notes".to_owned(), "hello".to_owned()));
    client.disconnect();
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

/// The typed API of the client against the official Node `socket.io` server
/// (`tests/js/typed_server.mjs`), over polling, WebSocket, and polling upgraded to WebSocket:
/// typed emits of an event struct and of tuples with binary, awaited acks read into structs,
/// tuples with `Bytes` and a type that does not fit, a typed ack callback, event structs from
/// the server read by typed handlers, and a typed handler whose return value answers the
/// server's `emitWithAck`.
mod official_node {
    use std::process::Command;

    use bytes::Bytes;
    use serde::{Deserialize, Serialize};
    use socketio::client::{Client, ClientAck, Transports};
    use socketio::engineio::TransportKind;
    use socketio::handler::{Args, EventName};
    use socketio::{AckError, Event, Payload};
    use tokio::sync::{mpsc, oneshot};

    use super::{ACK_TIMEOUT, common, within};

    /// The client's typed emit: one object argument with a binary field.
    #[derive(Serialize, socketio::Event)]
    #[event("order")]
    struct Order {
        item: String,
        qty: u32,
        note: Bytes,
    }

    /// What the client sends through a typed handle.
    #[socketio::event_set]
    enum ToServer {
        Order(Order),
    }

    /// What the server emits back for an order (an object), and the ack of `price`.
    #[derive(Debug, PartialEq, Deserialize, socketio::Event)]
    #[event("receipt")]
    struct Receipt {
        item: String,
        qty: u32,
        total: u32,
    }

    /// What the server emits back for an order too: one argument per field, the second binary.
    #[derive(Debug, PartialEq, Deserialize, socketio::Event)]
    #[event("stamp")]
    struct Stamp(String, Bytes);

    /// The argument of `inspect`: binary nested in an array in an object.
    #[derive(Serialize)]
    struct Report {
        name: &'static str,
        parts: Vec<Bytes>,
    }

    /// The ack of `inspect`.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Inspection {
        name: String,
        sizes: Vec<usize>,
        joined: Bytes,
    }

    /// What the client's handlers saw, in order.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Receipt(Receipt),
        Stamp(Stamp),
        /// The server's `question` (its arguments), which the handler answered.
        Question(String, Bytes),
        /// The server could not answer: what it got was not of the expected shape.
        Problem(String),
        /// Any other event.
        Other(String, Payload),
    }

    /// `node tests/js/typed_server.mjs` on a free port; killed when dropped.
    fn start_node_server() -> common::ExampleProcess {
        common::require_npm_package("socket.io");
        let mut cmd = Command::new("node");
        cmd.arg("tests/js/typed_server.mjs")
            .env("PORT", "0")
            .current_dir(common::workspace_root());
        common::spawn_until_ready(cmd, "typed_server.mjs")
    }

    /// A client on `/` whose typed handlers report to the returned receiver; the `question`
    /// handler answers the server's ack with `(42, bytes 04 02)`.
    async fn connect(
        server: &common::ExampleProcess,
        transports: Transports,
    ) -> (Client, mpsc::UnboundedReceiver<Seen>) {
        let (tx, seen) = mpsc::unbounded_channel();
        let client = Client::builder(server.url())
            .transports(transports)
            .namespace("/", move |ns| {
                let (receipts, stamps, questions, problems, others) =
                    (tx.clone(), tx.clone(), tx.clone(), tx.clone(), tx);
                ns.on(Receipt::NAME, move |receipt: Receipt| {
                    let _ = receipts.send(Seen::Receipt(receipt));
                    async {}
                })
                .on(Stamp::NAME, move |Args(stamp): Args<Stamp>| {
                    let _ = stamps.send(Seen::Stamp(stamp));
                    async {}
                })
                .on("question", move |text: String, data: Bytes| {
                    let _ = questions.send(Seen::Question(text, data));
                    async { (42_u32, Bytes::from_static(b"\x04\x02")) }
                })
                .on("problem", move |text: String| {
                    let _ = problems.send(Seen::Problem(text));
                    async {}
                })
                .on_any(
                    move |EventName(event): EventName,
                          payload: Payload,
                          _ack: Option<ClientAck>| {
                        let _ = others.send(Seen::Other(event, payload));
                        async {}
                    },
                )
            })
            .connect()
            .await
            .expect("connect to the Node server");
        (client, seen)
    }

    /// The next thing the handlers saw must be `expected`.
    async fn expect_next(seen: &mut mpsc::UnboundedReceiver<Seen>, expected: Seen) {
        let what = format!("{expected:?}");
        let got = within(&what, seen.recv())
            .await
            .expect("the client is alive");
        assert_eq!(got, expected);
    }

    /// Every check over `transports`; the server must report the connection as opened on
    /// `opened_on` and, by the end, on `ends_on`.
    async fn typed_round_trips(transports: Transports, opened_on: &str, ends_on: TransportKind) {
        let server = start_node_server();
        let (client, mut seen) = connect(&server, transports).await;

        // An event struct out; event structs back, read by typed handlers.
        let order = Order {
            item: "tea".into(),
            qty: 3,
            note: Bytes::from_static(b"\x00\x01\xff"),
        };
        // Through the declared set: only `Order` can go out this way.
        client
            .typed::<ToServer>()
            .emit(&order)
            .expect("emit the order");
        let receipt = Receipt {
            item: "tea".into(),
            qty: 3,
            total: 750,
        };
        expect_next(&mut seen, Seen::Receipt(receipt)).await;
        let stamp = Stamp("tea".into(), Bytes::from_static(b"\xff\x01\x00"));
        expect_next(&mut seen, Seen::Stamp(stamp)).await;

        // A JSON ack read into a struct; the same ack read into a type it does not fit.
        let price: Receipt = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack("price", ("scone", 2))
            .await
            .expect("the price ack");
        let expected = Receipt {
            item: "scone".into(),
            qty: 2,
            total: 500,
        };
        assert_eq!(price, expected);
        let wrong = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack::<u32>("price", ("scone", 2))
            .await;
        assert!(matches!(wrong, Err(AckError::Decode(_))), "{wrong:?}");

        // A binary argument out; a tuple with binary back.
        let reversed: (String, Bytes, usize) = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack("reverse", ("abc", Bytes::from_static(b"\x01\x02\x03\x04")))
            .await
            .expect("the reverse ack");
        assert_eq!(
            reversed,
            ("ABC".into(), Bytes::from_static(b"\x04\x03\x02\x01"), 4)
        );
        // `Bytes` also reads an array of numbers: the raw reply shows the bytes came as an
        // attachment.
        let raw: Payload = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack("reverse", ("abc", Bytes::from_static(b"\x01\x02\x03\x04")))
            .await
            .expect("the raw reverse ack");
        assert_eq!(raw.attachments, [Bytes::from_static(b"\x04\x03\x02\x01")]);

        // Binary nested in an object both ways.
        let report = Report {
            name: "parts",
            parts: vec![Bytes::from_static(b"\x0a\x0b"), Bytes::from_static(b"\x0c")],
        };
        let inspection: Inspection = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack("inspect", &report)
            .await
            .expect("the inspect ack");
        let expected = Inspection {
            name: "parts".into(),
            sizes: vec![2, 1],
            joined: Bytes::from_static(b"\x0a\x0b\x0c"),
        };
        assert_eq!(inspection, expected);
        let raw: Payload = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack("inspect", &report)
            .await
            .expect("the raw inspect ack");
        assert_eq!(raw.attachments, [Bytes::from_static(b"\x0a\x0b\x0c")]);

        // A typed ack callback.
        let (tx, rx) = oneshot::channel();
        client
            .socket()
            .timeout(ACK_TIMEOUT)
            .emit_with_callback(
                "reverse",
                ("cb", Bytes::from_static(b"\x00\x10")),
                move |reply: Result<(String, Bytes, usize), AckError>| async move {
                    let _ = tx.send(reply);
                },
            )
            .expect("emit with a callback");
        let reply = within("the ack callback", rx)
            .await
            .expect("the callback ran");
        assert_eq!(reply, Ok(("CB".into(), Bytes::from_static(b"\x10\x00"), 2)));

        // The server's emitWithAck, answered by the typed `question` handler; the server acks
        // the quiz with the reply it got and whether its second argument arrived as binary.
        let quiz: (u32, Bytes, bool) = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack("quiz", ())
            .await
            .expect("the quiz ack");
        expect_next(
            &mut seen,
            Seen::Question("6 x 7?".into(), Bytes::from_static(b"\x06\x07")),
        )
        .await;
        assert_eq!(quiz, (42, Bytes::from_static(b"\x04\x02"), true));

        // The transport, on both sides: the server answers once the connection is on the
        // wanted one (after the upgrade, when there is one).
        let wanted = match ends_on {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        };
        let (opened, now): (String, String) = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack("transport", wanted)
            .await
            .expect("the transport ack");
        assert_eq!((opened.as_str(), now.as_str()), (opened_on, wanted));
        assert_eq!(client.transport(), Some(ends_on));

        // Binary once more, on the transport the session ends on.
        let last: (String, Bytes, usize) = client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack("reverse", ("end", Bytes::from_static(b"\xfe\xff")))
            .await
            .expect("the last reverse ack");
        assert_eq!(last, ("END".into(), Bytes::from_static(b"\xff\xfe"), 2));

        // Nothing else arrived: no problem reports, no unexpected events.
        if let Ok(extra) = seen.try_recv() {
            panic!("unexpected after the last check: {extra:?}");
        }
        client.disconnect();
        within("disconnect", client.wait()).await;
    }

    #[tokio::test]
    async fn typed_round_trips_over_polling() {
        typed_round_trips(Transports::Polling, "polling", TransportKind::Polling).await;
    }

    #[tokio::test]
    async fn typed_round_trips_over_websocket() {
        typed_round_trips(Transports::WebSocket, "websocket", TransportKind::WebSocket).await;
    }

    #[tokio::test]
    async fn typed_round_trips_over_polling_then_upgrade() {
        typed_round_trips(Transports::Upgrade, "polling", TransportKind::WebSocket).await;
    }
}
