fn is_admin(user: &str) -> bool {
    user == "admin"
}

#[socketio::on("kick", guard = is_admin)]
async fn kick() {}

fn main() {}
