#[socketio::on("message", room = "lobby")]
async fn message() {}

fn main() {}
