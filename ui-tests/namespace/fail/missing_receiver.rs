struct Chat;

#[socketio::namespace("/chat")]
impl Chat {
    async fn on_message(text: String) {
        drop(text);
    }
}

fn main() {}
