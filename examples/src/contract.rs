//! The Socket.IO namespaces of the contract (docs/PROGRAMS.md, `conformance`) and what the contract
//! programs share.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use socketio::engineio::{CorsOrigins, EngineConfig};
use socketio::{AckError, AckSender, ConnectError, NamespaceBuilder, Payload, Socket};

/// The engine options of the contract: 300 ms pings, 200 ms ping timeout, 1 MB payloads.
pub fn engine_options(config: EngineConfig) -> EngineConfig {
    config
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        // The official JavaScript client sends everything it buffered in one POST; the byte
        // limit above is what bounds a POST here.
        .max_packets_per_post(1024)
        // Test suites may run in a browser page served from another origin.
        .cors_allowed_origins(CorsOrigins::Any)
}

/// `/` and `/custom`: report the auth, echo `message`, acknowledge `message-with-ack`.
///
/// Handlers that must not acknowledge take the `Option<AckSender>` and drop it: a handler's
/// return value is otherwise the ack.
pub fn echo_namespace(ns: NamespaceBuilder) -> NamespaceBuilder {
    ns.on_connect(|socket: Arc<Socket>| async move {
        let _ = socket.emit("auth", socket.auth());
    })
    .on(
        "message",
        |socket: Arc<Socket>, payload: Payload, _no_ack: Option<AckSender>| async move {
            let _ = socket.emit("message-back", payload);
        },
    )
    .on(
        "message-with-ack",
        |payload: Payload| async move { payload },
    )
}

/// `/chat`: the interop contract for official clients.
pub fn chat_namespace(ns: NamespaceBuilder) -> NamespaceBuilder {
    ns.on_connect(|socket: Arc<Socket>| async move {
        if socket.auth().get("token") != Some(&json!("secret")) {
            return Err(ConnectError::new("unauthorized"));
        }
        let _ = socket.emit("auth", socket.auth());
        Ok(())
    })
    .on(
        "echo",
        |socket: Arc<Socket>, payload: Payload, _no_ack: Option<AckSender>| async move {
            let _ = socket.emit("echo", payload);
        },
    )
    .on("echo-ack", |payload: Payload| async move { payload })
    .on("join", |socket: Arc<Socket>, payload: Payload| async move {
        let room = room_of(&payload);
        socket.join(&room);
        room
    })
    .on(
        "leave",
        |socket: Arc<Socket>, payload: Payload| async move {
            let room = room_of(&payload);
            socket.leave(&room);
            room
        },
    )
    .on(
        "to-room",
        |socket: Arc<Socket>, mut payload: Payload| async move {
            let room = room_of(&payload);
            if !payload.args.is_empty() {
                payload.args.remove(0);
            }
            let _ = socket.to(room).emit("room-message", payload);
            "ok"
        },
    )
    .on(
        "request-ack",
        |socket: Arc<Socket>, payload: Payload, _no_ack: Option<AckSender>| async move {
            // The reply arrives in a callback, so this client's next events are not held up.
            let replier = socket.clone();
            socket.timeout(Duration::from_secs(5)).emit_with_callback(
                "ack-request",
                payload,
                move |reply: Result<Payload, AckError>| async move {
                    if let Ok(reply) = reply {
                        let _ = replier.emit("ack-result", reply);
                    }
                },
            );
        },
    )
    .on(
        "disconnect-me",
        |socket: Arc<Socket>, _no_ack: Option<AckSender>| async move {
            socket.disconnect();
        },
    )
    .on_disconnect(|socket: Arc<Socket>| async move {
        announce_departure(&socket);
    })
}

/// The first argument as a room name (a non-string is used as its JSON text).
pub fn room_of(payload: &Payload) -> String {
    match payload.args.first() {
        Some(Value::String(room)) => room.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Tells every other `/chat` socket that `socket` left.
pub fn announce_departure(socket: &Arc<Socket>) {
    let _ = socket.broadcast().emit("peer-left", socket.sid().as_str());
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
