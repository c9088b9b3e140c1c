#[derive(Default)]
struct Chat;

#[socketio::namespace("/chat")]
impl Chat {
    fn on_message(&self, text: String) -> String {
        text
    }
}

fn main() {}
