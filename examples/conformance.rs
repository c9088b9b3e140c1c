//! The program the official protocol test suites drive (docs/PROGRAMS.md, `conformance`).
//!
//! `/engine.io/` is a bare Engine.IO echo server: every message goes back to the session
//! that sent it, text as text and binary as binary. `/socket.io/` is a Socket.IO server with
//! the namespaces `/`, `/custom` and `/chat` of the contract.
//!
//! Run: `PORT=3000 cargo run --release --example conformance`
//!
//! `--stats` (opt-in, for the soak tool) also serves `GET /stats`: the open sessions of both
//! paths and the sockets of each namespace as JSON, read through the public API only. Without
//! it nothing else changes.
//!
//! `--ping-interval MS` and `--ping-timeout MS` (opt-in, for long soak runs with many clients)
//! replace the contract's 300 ms / 200 ms heartbeat on both paths.

use std::time::Duration;

use socketio::SocketIo;
use socketio::engineio::{EngineConfig, EngineIo};
use socketio_examples::contract::{
    chat_namespace, echo_namespace, engine_options, shutdown_signal,
};

/// Between a CONNECT reply and the `auth` event that follows it over WebSocket.
const CONNECT_REPLY_PAUSE: Duration = Duration::from_millis(5);

/// mimalloc rather than glibc's malloc, so that the resident set follows the live heap and a
/// soak run's RSS check finds leaks: under glibc a 10-minute churn of 10 000 clients grows the
/// RSS by 16 % through fragmentation while heaptrack shows the live heap flat
/// (docs/RELIABILITY.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    // Other arguments are left alone, as they always were.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stats = args.iter().any(|arg| arg == "--stats");
    let ping_interval = millis_after(&args, "--ping-interval");
    let ping_timeout = millis_after(&args, "--ping-timeout");
    let engine_options = move |config: EngineConfig| {
        let config = engine_options(config);
        let config = match ping_interval {
            Some(interval) => config.ping_interval(interval),
            None => config,
        };
        match ping_timeout {
            Some(timeout) => config.ping_timeout(timeout),
            None => config,
        }
    };

    let engine = EngineIo::builder()
        .config(engine_options(EngineConfig::default()).path("/engine.io/"))
        .on_message(|socket, message| async move {
            // A full queue means the client stopped reading; it will time out.
            let _ = socket.send(message);
        })
        .build();

    let io = SocketIo::builder()
        .engine(|config| engine_options(config).connect_timeout(Duration::from_secs(1)))
        // The official socket.io-protocol suite (on Node's `ws`) listens for `auth` only after
        // it handled the CONNECT reply: the reply must arrive in a read of its own.
        .connect_reply_pause(CONNECT_REPLY_PAUSE)
        .namespace("/", echo_namespace)
        .namespace("/custom", echo_namespace)
        .namespace("/chat", chat_namespace)
        .build()
        .expect("valid namespaces");

    // `/engine.io/` first, then `/socket.io/`, then 404.
    let mut app = axum::Router::new();
    if stats {
        let (engine, io) = (engine.clone(), io.clone());
        app = app.route(
            "/stats",
            axum::routing::get(move || std::future::ready(stats_json(&engine, &io))),
        );
    }
    let app = app.fallback_service(tower_layer::Layer::layer(&engine.layer(), io.service()));

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = socketio::bind(format!("127.0.0.1:{port}")).await?;
    println!("conformance listening on {}", listener.local_addr()?);

    socketio::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Ends pending polls and WebSockets so the graceful shutdown has nothing to wait for.
            engine.shutdown();
            io.shutdown();
        })
        .await
}

/// `GET /stats`: `{"engine_sessions":N,"socketio_sessions":N,"sockets":{"/":N,…}}`, where
/// `engine_sessions` counts the open sessions of `/engine.io/` and `socketio_sessions` those of
/// `/socket.io/`. A soak run reads it to see the server come back to zero.
fn stats_json(
    engine: &EngineIo,
    io: &SocketIo,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let sockets: serde_json::Map<String, serde_json::Value> = ["/", "/custom", "/chat"]
        .into_iter()
        .map(|ns| {
            let count = io.of(ns).map_or(0, |sockets| sockets.sockets().len());
            (ns.to_owned(), count.into())
        })
        .collect();
    let body = serde_json::json!({
        "engine_sessions": engine.sockets().len(),
        "socketio_sessions": io.engine().sockets().len(),
        "sockets": sockets,
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

/// The number of milliseconds after `flag` in `args`, if the flag is there with a number.
fn millis_after(args: &[String], flag: &str) -> Option<Duration> {
    let position = args.iter().position(|arg| arg == flag)?;
    let millis = args.get(position + 1)?.parse().ok()?;
    Some(Duration::from_millis(millis))
}
