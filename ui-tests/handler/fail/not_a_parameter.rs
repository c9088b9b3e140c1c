// A closure parameter that is neither an extractor nor a Deserialize event argument.
struct Secret;

fn main() {
    let _ = socketio::SocketIo::builder()
        .namespace("/", |ns| ns.on("peek", |_secret: Secret| async {}));
}
