use std::sync::Arc;

use socketio::Socket;

struct NotDeserializable;

#[socketio::on("message")]
async fn message(socket: Arc<Socket>, value: NotDeserializable, n: u32) {
    drop((socket, value, n));
}

fn main() {}
