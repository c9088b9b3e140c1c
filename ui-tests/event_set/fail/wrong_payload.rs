// The set declares "line" with `Line`; a different type under the same name is refused.
use std::sync::Arc;

use serde::Serialize;

#[derive(Serialize, socketio::Event)]
#[event("line")]
struct Line {
    text: String,
}

#[derive(Serialize, socketio::Event)]
#[event("line")]
struct NumberedLine(u32, String);

#[socketio::event_set]
enum ToClient {
    Line(Line),
}

async fn ask(socket: Arc<socketio::Socket>) {
    let _ = socket.typed::<ToClient>().emit(&NumberedLine(1, "one".into()));
    let _: Result<bool, _> = socket
        .typed::<ToClient>()
        .emit_with_ack(&NumberedLine(2, "two".into()))
        .await;
}

fn main() {}
