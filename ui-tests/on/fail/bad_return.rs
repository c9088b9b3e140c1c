struct NotSerializable;

#[socketio::on("message")]
async fn message() -> NotSerializable {
    NotSerializable
}

fn main() {}
