#[socketio::on("message")]
struct Message {
    text: String,
}

fn main() {}
