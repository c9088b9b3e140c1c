#[derive(Default)]
struct Chat;

struct NotDeserializable;

#[socketio::namespace("/chat")]
impl Chat {
    async fn on_message(&self, value: NotDeserializable) {
        drop(value);
    }
}

fn main() {}
