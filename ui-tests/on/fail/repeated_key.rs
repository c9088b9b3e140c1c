#[socketio::on("message", namespace = "/a", namespace = "/b")]
async fn message() {}

fn main() {}
