//! `crate = "…"` for a renamed or re-exported runtime crate.

mod reexport {
    pub use socketio as runtime;
}

#[socketio::on("ping", crate = "reexport::runtime")]
async fn ping() -> &'static str {
    "pong"
}

fn main() {}
