#[derive(serde::Serialize, socketio::Event)]
#[event("")]
struct Nameless;

fn main() {}
