#[socketio::on("message", namespace = "*", client)]
async fn message() {}

fn main() {}
