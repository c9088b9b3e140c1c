#[derive(serde::Serialize, socketio::Event)]
#[event("message", namespace = "chat")]
struct Line;

#[derive(serde::Serialize, socketio::Event)]
#[event("message", namespace = "*")]
struct Anywhere;

fn main() {}
