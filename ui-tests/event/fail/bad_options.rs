#[derive(serde::Serialize, socketio::Event)]
#[event(message)]
struct Unquoted;

#[derive(serde::Serialize, socketio::Event)]
#[event("message", room = "lobby")]
struct UnknownOption;

#[derive(serde::Serialize, socketio::Event)]
#[event("one")]
#[event("two")]
struct Twice;

fn main() {}
