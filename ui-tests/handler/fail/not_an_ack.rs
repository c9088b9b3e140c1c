// An event handler whose return value cannot be an ack.
struct Opaque;

fn main() {
    let _ = socketio::SocketIo::builder()
        .namespace("/", |ns| ns.on("opaque", |n: u32| async move { let _ = n; Opaque }));
}
