//! Every parameter and return form of an event handler.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketio::args::Rest;
use socketio::engineio::Handshake;
use socketio::handler::{Auth, EventName, Session, State};
use socketio::{AckSender, Payload, Socket, SocketIo};

#[derive(Deserialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct Reply {
    data: Bytes,
}

#[derive(Clone, Default)]
struct Nick(String);

#[derive(Clone)]
struct Db;

#[socketio::on("nothing")]
async fn nothing() {}

#[socketio::on("explicit-unit")]
async fn explicit_unit() -> () {}

#[socketio::on("one")]
async fn one(message: Message) -> String {
    message.text
}

#[socketio::on("several", namespace = "/chat")]
async fn several(a: u8, b: Option<String>, Rest(rest): Rest) -> (u8, Option<String>, usize) {
    (a, b, rest.len())
}

#[socketio::on("binary")]
async fn binary(data: Bytes) -> Reply {
    Reply { data }
}

#[socketio::on("result")]
async fn result(n: i32) -> Result<(i32, &'static str), String> {
    if n > 0 { Ok((n, "positive")) } else { Err("not positive".into()) }
}

#[socketio::on("extractors")]
async fn extractors(
    _socket: Arc<Socket>,
    _io: SocketIo,
    State(_db): State<Db>,
    Auth(_auth): Auth<Option<Value>>,
    Session(_nick): Session<Nick>,
    _handshake: Handshake,
    _ack: Option<AckSender>,
    EventName(_name): EventName,
    _value: Value,
    _rest: Payload,
) {
}

#[socketio::on("manual")]
async fn manual(ack: AckSender) {
    let _ = ack.send(Payload::empty());
}

#[socketio::on("*")]
async fn catch_all(EventName(_name): EventName, _payload: Payload) {}

#[socketio::on("hello", namespace = "*")]
async fn every_namespace(socket: Arc<Socket>) -> String {
    socket.namespace().to_owned()
}

fn main() {
    // The functions stay callable as written.
    let _ = one(Message { text: String::new() });
}
