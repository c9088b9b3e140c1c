#[derive(Default)]
struct Chat;

#[socketio::namespace("/chat")]
impl Chat {
    async fn on_message(&self) {}

    #[on("message")]
    async fn message_again(&self) {}
}

fn main() {}
