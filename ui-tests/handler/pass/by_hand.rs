// Hand-registered handlers of every kind, with extractors, event arguments and typed returns.
use std::sync::Arc;

use socketio::handler::{Args, EventName, HandlerError, State};
use socketio::{AckSender, ConnectError, DisconnectReason, Payload, Socket, SocketIo};

#[derive(serde::Deserialize)]
struct Pair(String, u32);

#[derive(Clone)]
struct Motd(String);

async fn parse(text: String) -> Result<u32, HandlerError> {
    Ok(text.parse::<u32>()?)
}

fn main() {
    let io = SocketIo::builder()
        .state(Motd("hi".into()))
        .namespace("/", |ns| {
            ns.middleware(|socket: Arc<Socket>| async move { !socket.sid().as_str().is_empty() })
                .on_connect(|socket: Arc<Socket>| async move {
                    if socket.auth().is_null() {
                        return Err(ConnectError::new("auth, please"));
                    }
                    Ok(())
                })
                .on("parse", parse)
                .on("motd", |State(Motd(motd)): State<Motd>| async move { motd })
                .on("pair", |Args(Pair(text, n)): Args<Pair>| async move { (text, n) })
                .on("fallible", |n: i64| async move {
                    if n < 0 { Err(format!("{n} is negative")) } else { Ok(n) }
                })
                .on("raw", |payload: Payload, ack: AckSender| async move {
                    let _ = ack.send(payload);
                })
                .on_any(|EventName(name): EventName| async move { name })
                .on_disconnecting(|_reason: DisconnectReason| async {})
                .on_disconnect(|| async {})
        })
        .build()
        .unwrap();
    let _ = io;
}
