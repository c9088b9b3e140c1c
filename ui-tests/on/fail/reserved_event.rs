#[socketio::on("connect_error")]
async fn connect_error() {}

fn main() {}
