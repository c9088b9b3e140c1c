#[socketio::on]
async fn message() {}

fn main() {}
