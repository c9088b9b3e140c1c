struct Chat;

impl Chat {
    #[socketio::on("message")]
    async fn message(&self) {}
}

fn main() {}
