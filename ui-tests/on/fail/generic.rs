#[socketio::on("message")]
async fn message<T: serde::de::DeserializeOwned>(value: T) {
    drop(value);
}

fn main() {}
