#[derive(Default)]
struct Chat;

#[socketio::namespace("/chat")]
impl Clone for Chat {
    fn clone(&self) -> Self {
        Chat
    }
}

fn main() {}
