struct Opaque;

async fn ask(socket: std::sync::Arc<socketio::Socket>) {
    let _ = socket.emit_with_ack::<Opaque>("question", ()).await;
}

fn main() {}
