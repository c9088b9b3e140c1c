//! Reconnection of the Rust client against the `conformance` example run as a separate process:
//! the server is killed and restarted on the same port and the client comes back by itself with
//! its namespaces and freshly computed auth; `disconnect()` during the backoff stops it; a
//! limited number of attempts ends in `on_reconnect_failed`.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use socketio::Payload;
use socketio::client::{
    Client, ClientAck, ClientBuilder, ClientSocket, ConnectionState, DisconnectReason,
    Reconnection, Transports,
};
use tokio::sync::mpsc;

use common::eio::within;

/// What the client reported.
#[derive(Debug, PartialEq)]
enum Seen {
    Auth(String, Value),
    Disconnect(String, DisconnectReason),
    Attempt(u32),
    Reconnected(u32),
    Failed,
}

fn fast_reconnection(attempts: u32) -> Reconnection {
    Reconnection {
        attempts,
        delay: Duration::from_millis(100),
        delay_max: Duration::from_millis(300),
        randomization: 0.2,
        ..Reconnection::default()
    }
}

/// A client on `/` and `/chat` whose `/chat` auth counts how often it was computed.
fn builder(url: &str, attempts: u32, tx: mpsc::UnboundedSender<Seen>) -> ClientBuilder {
    let computed = Arc::new(AtomicU32::new(0));
    let mut builder = Client::builder(url)
        .transports(Transports::WebSocket)
        .reconnection(fast_reconnection(attempts));
    for namespace in ["/", "/chat"] {
        let (auth_tx, disconnect_tx) = (tx.clone(), tx.clone());
        let computed = computed.clone();
        builder = builder.namespace(namespace, move |mut ns| {
            if namespace == "/chat" {
                ns = ns.auth_with(move || {
                    let n = computed.fetch_add(1, Ordering::SeqCst) + 1;
                    async move { json!({ "token": "secret", "n": n }) }
                });
            }
            ns.on(
                "auth",
                move |socket: ClientSocket, payload: Payload, _no_ack: Option<ClientAck>| {
                    let _ = auth_tx.send(Seen::Auth(
                        socket.namespace().to_owned(),
                        payload.args.first().cloned().unwrap_or_default(),
                    ));
                    async {}
                },
            )
            .on_disconnect(move |socket: ClientSocket, reason: DisconnectReason| {
                let _ = disconnect_tx.send(Seen::Disconnect(socket.namespace().to_owned(), reason));
                async {}
            })
        });
    }
    let (attempt_tx, success_tx, failed_tx) = (tx.clone(), tx.clone(), tx);
    builder
        .on_reconnect_attempt(move |n| {
            let _ = attempt_tx.send(Seen::Attempt(n));
        })
        .on_reconnect(move |n| {
            let _ = success_tx.send(Seen::Reconnected(n));
        })
        .on_reconnect_failed(move || {
            let _ = failed_tx.send(Seen::Failed);
        })
}

/// A `conformance` server and a client connected to it that reports to the receiver.
async fn connected(
    attempts: u32,
) -> (
    common::ExampleProcess,
    Client,
    mpsc::UnboundedReceiver<Seen>,
) {
    let server = common::spawn_example("conformance", &[]);
    let (tx, rx) = mpsc::unbounded_channel();
    let client = builder(&server.url(), attempts, tx)
        .connect()
        .await
        .expect("connect");
    (server, client, rx)
}

fn kill(server: &mut common::ExampleProcess) {
    server.child.kill().expect("kill the server");
    server.child.wait().expect("reap the server");
}

/// The next report that `pick` accepts; the others are dropped.
async fn next<T>(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    what: &str,
    pick: impl Fn(Seen) -> Option<T>,
) -> T {
    within(what, async {
        loop {
            let seen = rx.recv().await.expect("the client is alive");
            if let Some(found) = pick(seen) {
                return found;
            }
        }
    })
    .await
}

async fn auth_of(rx: &mut mpsc::UnboundedReceiver<Seen>, namespace: &str) -> Value {
    next(rx, &format!("auth on {namespace}"), |seen| match seen {
        Seen::Auth(ns, auth) if ns == namespace => Some(auth),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn comes_back_after_a_server_restart_with_its_namespaces_and_fresh_auth() {
    let (mut server, client, mut rx) = connected(0).await;
    let port = server.addr.port().to_string();
    assert_eq!(auth_of(&mut rx, "/").await, json!({}));
    assert_eq!(
        auth_of(&mut rx, "/chat").await,
        json!({ "token": "secret", "n": 1 })
    );
    let first_sid = client.of("/chat").sid().expect("/chat sid");

    kill(&mut server);
    let reason = next(&mut rx, "the disconnect", |seen| match seen {
        Seen::Disconnect(_, reason) => Some(reason),
        _ => None,
    })
    .await;
    assert!(
        matches!(
            reason,
            DisconnectReason::TransportClose | DisconnectReason::TransportError(_)
        ),
        "{reason:?}"
    );
    assert_eq!(client.state(), ConnectionState::Reconnecting);
    // At least one attempt fails while the server is down.
    next(&mut rx, "a reconnection attempt", |seen| {
        matches!(seen, Seen::Attempt(_)).then_some(())
    })
    .await;

    let _restarted = common::spawn_example("conformance", &[("PORT", &port)]);
    next(&mut rx, "the reconnection", |seen| {
        matches!(seen, Seen::Reconnected(_)).then_some(())
    })
    .await;
    assert_eq!(auth_of(&mut rx, "/").await, json!({}));
    let auth = auth_of(&mut rx, "/chat").await;
    assert_eq!(auth["token"], "secret");
    assert!(
        auth["n"].as_u64().unwrap_or_default() >= 2,
        "auth computed again: {auth}"
    );
    let new_sid = client
        .of("/chat")
        .sid()
        .expect("/chat sid after the restart");
    assert_ne!(new_sid, first_sid);
    assert!(client.connected());

    let reply = client
        .of("/chat")
        .timeout(Duration::from_secs(5))
        .emit_with_ack::<Payload>("echo-ack", json!("back"))
        .await
        .expect("echo-ack after the restart");
    assert_eq!(reply.args, [json!("back")]);
    client.disconnect();
    within("the client to stop", client.wait()).await;
}

#[tokio::test]
async fn disconnect_during_the_backoff_stops_reconnecting() {
    let (mut server, client, mut rx) = connected(0).await;
    let port = server.addr.port().to_string();
    kill(&mut server);
    let attempt = next(&mut rx, "a reconnection attempt", |seen| match seen {
        Seen::Attempt(n) => Some(n),
        _ => None,
    })
    .await;
    assert_eq!(attempt, 1);

    client.disconnect();
    within("wait() after disconnect", client.wait()).await;
    assert_eq!(client.state(), ConnectionState::Disconnected);

    // With the server back, a client that still tried would be connected within a few delays.
    let _restarted = common::spawn_example("conformance", &[("PORT", &port)]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(client.state(), ConnectionState::Disconnected);
    assert!(!client.of("/chat").connected());
    while let Ok(seen) = rx.try_recv() {
        assert!(
            !matches!(seen, Seen::Reconnected(_) | Seen::Auth(..)),
            "the client came back after disconnect(): {seen:?}"
        );
    }
}

#[tokio::test]
async fn gives_up_after_the_configured_attempts() {
    let (mut server, client, mut rx) = connected(2).await;
    kill(&mut server);
    let mut attempts = Vec::new();
    within("reconnection to give up", async {
        loop {
            match rx.recv().await.expect("the client is alive") {
                Seen::Attempt(n) => attempts.push(n),
                Seen::Failed => break,
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(attempts, [1, 2]);
    within("wait() after giving up", client.wait()).await;
    assert_eq!(client.state(), ConnectionState::Disconnected);
}
