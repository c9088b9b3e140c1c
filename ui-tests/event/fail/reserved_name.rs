#[derive(serde::Serialize, socketio::Event)]
#[event("disconnect")]
struct Bye;

fn main() {}
