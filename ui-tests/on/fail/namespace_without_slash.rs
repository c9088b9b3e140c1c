#[socketio::on("message", namespace = "chat")]
async fn message() {}

fn main() {}
