//! The program the official protocol test suites drive (docs/CONTRACTS.md §1).
//!
//! `/engine.io/` is a bare Engine.IO echo server: every message goes back to the session
//! that sent it, text as text and binary as binary.
//!
//! Run: `PORT=3000 cargo run --release --example conformance`

use std::net::SocketAddr;
use std::time::Duration;

use socketio::engineio::{CorsOrigins, EngineConfig, EngineIo};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let engine = EngineIo::builder()
        .config(
            EngineConfig::default()
                .path("/engine.io/")
                .ping_interval(Duration::from_millis(300))
                .ping_timeout(Duration::from_millis(200))
                .max_payload(1_000_000)
                // The official JavaScript client sends everything it buffered in one POST;
                // the byte limit above is what bounds a POST here.
                .max_packets_per_post(1024)
                // Test suites may run in a browser page served from another origin.
                .cors_allowed_origins(CorsOrigins::Any),
        )
        .on_message(|socket, message| async move {
            // A full queue means the client stopped reading; it will time out.
            let _ = socket.send(message);
        })
        .build();

    let app = engine.router();

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
    })
    .await
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
