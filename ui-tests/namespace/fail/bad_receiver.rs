struct Chat;

#[socketio::namespace("/chat")]
impl Chat {
    async fn on_message(&mut self, text: String) {
        drop(text);
    }
}

fn main() {}
