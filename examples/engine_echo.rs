//! A standalone Engine.IO server next to an ordinary axum app, like python-engineio's
//! `WSGIApp(eio, app)`: the engine answers on `/engine.io/`, a static page on `/`, and the
//! app's own routes everywhere else.
//!
//! Run: `cargo run --example engine_echo`, then open <http://127.0.0.1:3000/>.

use axum::routing::get;
use socketio::engineio::{EngineConfig, EngineIo, StaticFiles};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let static_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/static/engine_echo/");
    let engine = EngineIo::builder()
        .config(EngineConfig::default().static_files(StaticFiles::new().route("/", static_dir)))
        .on_connect(|socket| async move {
            tracing::info!(sid = %socket.sid(), "connected");
            Ok(())
        })
        .on_message(|socket, message| async move {
            let _ = socket.send(message);
        })
        .on_disconnect(|socket, reason| async move {
            tracing::info!(sid = %socket.sid(), %reason, "disconnected");
        })
        .build();

    let app = axum::Router::new()
        .route("/hello", get(|| async { "hello from the wrapped app" }))
        .layer(engine.layer());

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = socketio::bind(format!("127.0.0.1:{port}")).await?;
    println!("engine_echo listening on http://{}", listener.local_addr()?);
    socketio::serve(listener, app).await
}
