use serde::Serialize;

#[derive(Serialize, socketio::Event)]
#[event("line")]
struct Line;

#[socketio::event_set]
enum ToClient {
    Line(Line),
    AgainLine(Line),
}

fn main() {}
