//! The program the official protocol test suites drive (docs/CONTRACTS.md §1).
//!
//! `/engine.io/` is a bare Engine.IO echo server: every message goes back to the session
//! that sent it, text as text and binary as binary. `/socket.io/` is a Socket.IO server with
//! the namespaces `/`, `/custom` and `/chat` of the contract.
//!
//! Run: `PORT=3000 cargo run --release --example conformance`

use std::net::SocketAddr;
use std::time::Duration;

use socketio::SocketIo;
use socketio::engineio::{EngineConfig, EngineIo};
use socketio_examples::contract::{
    chat_namespace, echo_namespace, engine_options, shutdown_signal,
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let engine = EngineIo::builder()
        .config(engine_options(EngineConfig::default()).path("/engine.io/"))
        .on_message(|socket, message| async move {
            // A full queue means the client stopped reading; it will time out.
            let _ = socket.send(message);
        })
        .build();

    let io = SocketIo::builder()
        .engine(|config| engine_options(config).connect_timeout(Duration::from_secs(1)))
        .namespace("/", echo_namespace)
        .namespace("/custom", echo_namespace)
        .namespace("/chat", chat_namespace)
        .build()
        .expect("valid namespaces");

    // `/engine.io/` first, then `/socket.io/`, then 404.
    let app = axum::Router::new()
        .fallback_service(tower_layer::Layer::layer(&engine.layer(), io.service()));

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("conformance listening on {}", listener.local_addr()?);

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Ends pending polls and WebSockets so the graceful shutdown has nothing to wait for.
        engine.shutdown();
        io.shutdown();
    })
    .await
}
