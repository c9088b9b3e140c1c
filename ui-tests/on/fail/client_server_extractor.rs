use std::sync::Arc;

use socketio::Socket;

#[socketio::on("message", client)]
async fn message(socket: Arc<Socket>) {
    drop(socket);
}

fn main() {}
