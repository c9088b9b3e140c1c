#[socketio::on("disconnect")]
async fn disconnect() -> u32 {
    1
}

fn main() {}
