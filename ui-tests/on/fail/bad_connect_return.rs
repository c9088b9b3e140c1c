#[socketio::on("connect")]
async fn connect() -> String {
    String::new()
}

fn main() {}
