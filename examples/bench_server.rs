//! The server the load generator measures (docs/PROGRAMS.md, `bench_server`).
//!
//! Namespace `/`: `echo` acknowledges with its arguments; `broadcast` sends `bcast` with its
//! arguments to every socket of `/`, the sender included, encoded once for all of them.
//!
//! Run: `PORT=3000 cargo run --release --example bench_server`

use std::sync::Arc;

use socketio::{Payload, Socket, SocketIo};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Quiet by default: no per-connection or per-message logging unless RUST_LOG asks.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let io = SocketIo::builder()
        .namespace("/", |ns| {
            // The arguments, untouched, are the ack.
            ns.on("echo", |payload: Payload| async move { payload })
                // Acked with no arguments, when the client asks.
                .on(
                    "broadcast",
                    |socket: Arc<Socket>, payload: Payload| async move {
                        // Everyone in the namespace, the sender included.
                        let _ = socket.namespace_sockets().emit("bcast", payload);
                    },
                )
        })
        .build()
        .expect("valid namespaces");

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = socketio::bind(format!("127.0.0.1:{port}")).await?;
    println!("bench_server listening on {}", listener.local_addr()?);

    let app = io.router();
    socketio::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            io.shutdown();
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
