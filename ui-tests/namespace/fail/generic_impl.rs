struct Chat<T>(T);

#[socketio::namespace("/chat")]
impl<T: Send + Sync + 'static> Chat<T> {
    async fn on_message(&self) {}
}

fn main() {}
