struct NotSerializable;

#[socketio::on("message")]
async fn message() -> (u32, NotSerializable) {
    (1, NotSerializable)
}

fn main() {}
