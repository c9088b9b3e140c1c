//! A stateless namespace registers itself with its `Default` value.

use socketio::handler::EventName;

#[derive(Default)]
struct Echo;

#[socketio::namespace("/echo")]
impl Echo {
    async fn on_echo(&self, text: String) -> String {
        text
    }

    #[on("*")]
    async fn anything(&self, EventName(name): EventName) -> String {
        name
    }
}

fn main() {
    let io = socketio::SocketIo::builder().build();
    assert!(io.is_ok());
}
