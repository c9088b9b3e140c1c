//! Client handlers: `client` on `#[socketio::on]` and `#[socketio::namespace]`.

use bytes::Bytes;
use serde_json::Value;
use socketio::client::{ClientAck, ClientSocket, DisconnectReason};
use socketio::handler::EventName;
use socketio::Payload;

#[socketio::on("connect", client)]
async fn connect(_socket: ClientSocket) {}

#[socketio::on("connect_error", namespace = "/chat", client)]
async fn refused(error: Value) {
    drop(error);
}

#[socketio::on("disconnect", client)]
async fn disconnect(_reason: DisconnectReason) {}

#[socketio::on("question", client)]
async fn question(text: String, data: Option<Bytes>) -> (String, usize) {
    (text, data.map_or(0, |d| d.len()))
}

#[socketio::on("manual", client)]
async fn manual(ack: ClientAck, payload: Payload) {
    let _ = ack.send(payload);
}

#[socketio::on("*", client)]
async fn anything(EventName(_name): EventName) {}

#[derive(Default)]
struct Chat;

#[socketio::namespace("/chat", client)]
impl Chat {
    async fn on_message(&self, socket: ClientSocket, text: String) {
        let _ = socket.emit("seen", Payload::from_args(vec![Value::String(text)]));
    }
}

fn main() {
    let _client = socketio::client::Client::builder("http://127.0.0.1:3000").build();
}
