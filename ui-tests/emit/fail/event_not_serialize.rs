#[derive(socketio::Event)]
#[event("secret")]
struct Secret;

fn emit(socket: std::sync::Arc<socketio::Socket>) {
    let _ = socket.emit_event(&Secret);
}

fn main() {}
