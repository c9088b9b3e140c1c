struct Secret;

fn emit(socket: std::sync::Arc<socketio::Socket>) {
    let _ = socket.emit("secret", Secret);
}

fn main() {}
