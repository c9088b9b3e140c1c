#[derive(Default)]
struct Chat;

#[socketio::namespace("/chat", namespace = "/other")]
impl Chat {
    async fn on_message(&self) {}
}

fn main() {}
