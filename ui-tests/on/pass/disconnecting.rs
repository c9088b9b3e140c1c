// `disconnecting` runs before `disconnect`, still in the rooms; it returns nothing.
use std::sync::Arc;

use socketio::{DisconnectReason, Socket};

#[socketio::on("disconnecting")]
async fn leaving(socket: Arc<Socket>, reason: DisconnectReason) {
    for room in socket.rooms() {
        let _ = socket.to(room).emit("leaving", reason.as_str());
    }
}

fn main() {}
