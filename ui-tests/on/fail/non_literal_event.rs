const EVENT: &str = "message";

#[socketio::on(EVENT)]
async fn message() {}

fn main() {}
