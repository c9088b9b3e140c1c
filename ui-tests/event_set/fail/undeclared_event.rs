use std::sync::Arc;

use serde::Serialize;

#[derive(Serialize, socketio::Event)]
#[event("line")]
struct Line {
    text: String,
}

#[derive(Serialize, socketio::Event)]
#[event("secret")]
struct Secret;

#[socketio::event_set]
enum ToClient {
    Line(Line),
}

fn socket(socket: Arc<socketio::Socket>) {
    let _ = socket.typed::<ToClient>().emit(&Secret);
}

fn broadcast(socket: Arc<socketio::Socket>) {
    let _ = socket.typed::<ToClient>().to("room").emit(&Secret);
}

fn client(client: socketio::client::Client) {
    let _ = client.typed::<ToClient>().emit(&Secret);
}

fn blocking(client: socketio::client::blocking::Client) {
    let _ = client.of("/chat").typed::<ToClient>().emit(&Secret);
}

async fn emitter<B: socketio::manager::BusDriver>(emitter: socketio::manager::Emitter<B>) {
    let _ = emitter.typed::<ToClient>().emit(&Secret).await;
}

fn main() {}
