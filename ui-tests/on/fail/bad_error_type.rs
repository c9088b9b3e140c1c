struct NotDisplay;

#[socketio::on("message")]
async fn message() -> Result<u32, NotDisplay> {
    Err(NotDisplay)
}

fn main() {}
