#[socketio::event_set]
enum ToClient {
    Text(String),
}

fn main() {}
