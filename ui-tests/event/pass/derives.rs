use std::sync::Arc;

use serde::{Deserialize, Serialize};
use socketio::Event;

#[derive(Serialize, Deserialize, socketio::Event)]
#[event("message", namespace = "/chat")]
struct Line {
    room: String,
    text: String,
}

#[derive(Serialize, socketio::Event)]
#[event("typing")]
struct Typing(String, bool);

#[derive(Serialize, socketio::Event)]
#[event("status")]
enum Status {
    Online,
    Away { since: u64 },
}

#[derive(Serialize, socketio::Event)]
#[event("page", namespace = "/list",)]
struct Page<T: Serialize> {
    items: Vec<T>,
}

fn emits(socket: Arc<socketio::Socket>) -> Result<(), socketio::EmitError> {
    socket.emit_event(&Line { room: "a".into(), text: "b".into() })?;
    socket.to("a").emit_event(&Typing("ann".into(), true))?;
    socket.broadcast().emit_event(&Status::Away { since: 1 })?;
    socket.emit_event(&Page { items: vec![1, 2] })?;
    let _ = Status::Online;
    Ok(())
}

fn main() {
    assert_eq!(Line::NAME, "message");
    assert_eq!(Line::NAMESPACE, Some("/chat"));
    assert_eq!(Typing::NAMESPACE, None);
    assert_eq!(<Page<u8>>::NAMESPACE, Some("/list"));
    let _ = emits;
}
