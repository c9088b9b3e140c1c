// `#[socketio::on(Type)]`: the event name, and the namespace unless given, come from the
// type; the parameter written as the type takes every argument.
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use socketio::Socket;

#[derive(Deserialize, socketio::Event)]
#[event("line", namespace = "/chat")]
struct Line {
    text: String,
}

#[derive(Deserialize, socketio::Event)]
#[event("pair")]
struct Pair(String, Bytes);

#[socketio::on(Line)]
async fn on_line(socket: Arc<Socket>, line: Line) -> usize {
    let _ = socket.sid();
    line.text.len()
}

#[socketio::on(Pair, namespace = "/files")]
async fn on_pair(Pair(name, data): Pair) -> (String, usize) {
    (name, data.len())
}

#[socketio::on(Pair, client)]
async fn on_pair_client(pair: Pair) {
    let _ = pair.1;
}

fn main() {}
