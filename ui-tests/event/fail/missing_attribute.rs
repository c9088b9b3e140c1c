#[derive(serde::Serialize, socketio::Event)]
struct Line {
    text: String,
}

fn main() {}
