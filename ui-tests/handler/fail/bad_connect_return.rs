// A connect handler registered by hand returns what only an event handler may.
use std::sync::Arc;

use socketio::Socket;

fn main() {
    let _ = socketio::SocketIo::builder().namespace("/", |ns| {
        ns.on_connect(|socket: Arc<Socket>| async move { socket.sid().to_string() })
    });
}
