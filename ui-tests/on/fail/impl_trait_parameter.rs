#[socketio::on("message")]
async fn message(value: impl serde::de::DeserializeOwned) {
    drop(value);
}

fn main() {}
