#[socketio::namespace("/chat")]
async fn on_message() {}

fn main() {}
