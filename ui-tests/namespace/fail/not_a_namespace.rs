struct Plain;

fn main() {
    let _ = socketio::SocketIo::builder().register_namespace(Plain);
}
