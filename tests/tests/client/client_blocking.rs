//! The blocking client and both `SimpleClient`s against the `conformance` example, from plain
//! threads without an async runtime of their own.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use socketio::args::to_payload;
use socketio::client::{
    Client, ClientAck, ClientError, ConnectionState, SimpleClient, Transports, blocking,
};
use socketio::{EmitError, Payload};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn blocking_client_calls_emits_and_disconnects() {
    let server = common::spawn_example("conformance", &[]);
    let (tx, rx) = std::sync::mpsc::channel();
    let builder = Client::builder(server.url())
        .transports(Transports::Polling)
        .on(
            "message-back",
            move |payload: Payload, _ack: Option<ClientAck>| {
                let _ = tx.send(payload);
                async {}
            },
        )
        .namespace("/chat", |ns| ns.auth(json!({ "token": "secret" })));
    let client = blocking::Client::connect(builder).expect("connect");
    assert!(client.connected());
    assert_eq!(client.state(), ConnectionState::Connected);

    let sent = to_payload(&("blocking", Bytes::from_static(b"\x01"))).expect("payload");
    client.emit("message", sent.clone()).expect("emit");
    assert_eq!(rx.recv_timeout(WAIT).expect("message-back"), sent);

    let reply = client
        .timeout(WAIT)
        .emit_with_ack::<socketio::Payload>("message-with-ack", (json!(1), json!(2)))
        .expect("call");
    assert_eq!(reply.args, [json!(1), json!(2)]);

    let chat = client.of("/chat");
    assert!(chat.sid().is_some());
    let reply = chat
        .timeout(WAIT)
        .emit_with_ack::<socketio::Payload>("echo-ack", sent.clone())
        .expect("echo-ack");
    assert_eq!(reply, sent);

    chat.disconnect();
    assert!(chat.sid().is_none());
    assert_eq!(chat.emit("echo", ()), Err(EmitError::Closed));
    client.disconnect();
    client.wait();
    assert_eq!(client.state(), ConnectionState::Disconnected);
}

#[test]
fn blocking_simple_client_receives_events_in_order() {
    let server = common::spawn_example("conformance", &[]);
    let builder = Client::builder(server.url())
        .transports(Transports::WebSocket)
        .namespace("/chat", |ns| {
            ns.auth(json!({ "token": "secret", "who": "simple" }))
        });
    let client = blocking::SimpleClient::connect(builder, "/chat").expect("connect");
    assert!(client.connected());
    assert!(client.sid().is_some());
    let auth = client.receive(Some(WAIT)).expect("auth event");
    assert_eq!(auth.name, "auth");
    assert_eq!(
        auth.payload.args,
        [json!({ "token": "secret", "who": "simple" })]
    );

    for i in 0..20 {
        client.emit("echo", json!(i)).expect("emit");
    }
    for i in 0..20 {
        let event = client.receive(Some(WAIT)).expect("echo");
        let (n,): (u32,) = event.args().expect("one number");
        assert_eq!((event.name.as_str(), n), ("echo", i));
    }
    let reply = client
        .timeout(WAIT)
        .emit_with_ack::<socketio::Payload>("echo-ack", json!("x"))
        .expect("call");
    assert_eq!(reply.args, [json!("x")]);

    assert_eq!(
        client.receive(Some(Duration::from_millis(100))),
        Err(ClientError::Timeout)
    );
    client.disconnect();
    assert_eq!(client.receive(Some(WAIT)), Err(ClientError::Disconnected));
}

#[tokio::test]
async fn async_simple_client_over_the_upgrade() {
    let server = common::spawn_example("conformance", &[]);
    let client = SimpleClient::connect(Client::builder(server.url()), "/")
        .await
        .expect("connect");
    let auth = client.receive(Some(WAIT)).await.expect("auth");
    assert_eq!(
        (auth.name.as_str(), auth.payload.args.into_vec()),
        ("auth", vec![json!({})])
    );
    client.emit("message", json!("hi")).expect("emit");
    let back = client.receive(None).await.expect("message-back");
    assert_eq!(
        (back.name.as_str(), back.payload.args.into_vec()),
        ("message-back", vec![json!("hi")])
    );
    assert!(client.transport().is_some());
    client.disconnect();
    assert_eq!(client.receive(None).await, Err(ClientError::Disconnected));
}

/// The events the typed checks below send to `conformance`'s `/`.
mod to_server {
    #[derive(serde::Serialize, socketio::Event)]
    #[event("message")]
    pub(super) struct Say(pub(super) String, pub(super) bytes::Bytes);

    #[derive(serde::Serialize, socketio::Event)]
    #[event("message-with-ack")]
    pub(super) struct Ask(pub(super) u32, pub(super) String);

    #[socketio::event_set]
    pub(super) enum ToServer {
        Say(Say),
        Ask(Ask),
    }
}

/// Typed emits and acks from the blocking client and the blocking `SimpleClient`: event
/// structs out (binary included), the server's echo back, a typed ack read into a tuple.
#[test]
fn blocking_clients_emit_declared_events() {
    use to_server::{Ask, Say, ToServer};

    let server = common::spawn_example("conformance", &[]);
    let (tx, rx) = std::sync::mpsc::channel();
    let builder = Client::builder(server.url()).on(
        "message-back",
        move |payload: Payload, _no_ack: Option<ClientAck>| {
            let _ = tx.send(payload);
            async {}
        },
    );
    let client = blocking::Client::connect(builder).expect("connect");
    let typed = client.typed::<ToServer>();
    typed
        .emit(&Say("typed".into(), Bytes::from_static(b"\x02")))
        .expect("emit");
    let back = rx.recv_timeout(WAIT).expect("message-back");
    assert_eq!(
        back,
        to_payload(&("typed", Bytes::from_static(b"\x02"))).expect("payload")
    );
    let (n, text): (u32, String) = typed
        .timeout(WAIT)
        .emit_with_ack(&Ask(7, "seven".into()))
        .expect("ack");
    assert_eq!((n, text.as_str()), (7, "seven"));
    client.disconnect();
    client.wait();

    let simple =
        blocking::SimpleClient::connect(Client::builder(server.url()), "/").expect("connect");
    simple
        .typed::<ToServer>()
        .emit(&Say("simple".into(), Bytes::from_static(b"\x03")))
        .expect("emit");
    // `conformance` greets every connection on `/` with `auth` first.
    let greeting = simple.receive(Some(WAIT)).expect("auth");
    assert_eq!(greeting.name, "auth");
    let event = simple.receive(Some(WAIT)).expect("message-back");
    assert_eq!(event.name, "message-back");
    assert_eq!(
        event.payload,
        to_payload(&("simple", Bytes::from_static(b"\x03"))).expect("payload")
    );
    simple.disconnect();
}
