#[socketio::event_set]
struct ToClient {
    line: String,
}

fn main() {}
