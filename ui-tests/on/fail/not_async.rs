#[socketio::on("message")]
fn message(text: String) -> String {
    text
}

fn main() {}
