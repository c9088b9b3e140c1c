//! One node of a cluster (docs/PROGRAMS.md, `cluster_node`): the `/`, `/custom` and `/chat` namespaces of `conformance`
//! with a pub/sub manager, so that any number of nodes on one Redis or RabbitMQ bus behave as
//! one server, python-socketio nodes included.
//!
//! Run: `cargo run --example cluster_node -- --port 3001 --redis redis://127.0.0.1:6379/`
//! (or `--amqp amqp://guest:guest@127.0.0.1:5672/%2f`; `--channel NAME` picks the bus
//! channel, default `socketio`; `--heartbeat-ms N` how often this node tells the others it
//! is alive, default 2000, so they stop counting it three intervals after it dies). Without
//! `--port` the `PORT` variable is used (default 3000).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use socketio::manager::{AmqpBus, PubSubManager, RedisBus};
use socketio::{AckSender, NamespaceBuilder, Payload, Socket, SocketIo};
use socketio_examples::contract::{
    chat_namespace, echo_namespace, engine_options, shutdown_signal,
};

/// How long `request-ack-to` waits for the target's reply.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

struct Options {
    port: String,
    bus: Bus,
    channel: String,
    heartbeat: Option<Duration>,
}

enum Bus {
    Redis(String),
    Amqp(String),
}

fn parse_options() -> Result<Options, String> {
    let mut port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let mut bus = None;
    let mut channel = "socketio".to_owned();
    let mut heartbeat = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => port = value()?,
            "--redis" => bus = Some(Bus::Redis(value()?)),
            "--amqp" => bus = Some(Bus::Amqp(value()?)),
            "--channel" => channel = value()?,
            "--heartbeat-ms" => {
                let ms = value()?;
                let ms: u64 = ms.parse().map_err(|_| format!("bad --heartbeat-ms {ms}"))?;
                heartbeat = Some(Duration::from_millis(ms.max(1)));
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let bus = bus.ok_or("one of --redis URL or --amqp URL is required")?;
    Ok(Options {
        port,
        bus,
        channel,
        heartbeat,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let options = parse_options().inspect_err(|_| {
        eprintln!(
            "usage: cluster_node [--port P] (--redis URL | --amqp URL) [--channel NAME] \
             [--heartbeat-ms N]"
        );
    })?;

    let mut manager = match &options.bus {
        Bus::Redis(url) => PubSubManager::builder(RedisBus::new(url)?),
        Bus::Amqp(url) => PubSubManager::builder(AmqpBus::new(url)?),
    }
    .channel(&options.channel);
    if let Some(interval) = options.heartbeat {
        manager = manager.heartbeat_interval(interval);
    }
    let manager = manager.connect().await?;

    let io = SocketIo::builder()
        .engine(|config| engine_options(config).connect_timeout(Duration::from_secs(1)))
        .manager(manager)
        .namespace("/", echo_namespace)
        .namespace("/custom", echo_namespace)
        .namespace("/chat", |ns| request_ack_to(chat_namespace(ns)))
        .build()?;

    let listener = socketio::bind(format!("127.0.0.1:{}", options.port)).await?;
    println!("cluster_node listening on {}", listener.local_addr()?);

    let app = io.router();
    socketio::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            io.shutdown();
        })
        .await?;
    Ok(())
}

/// `request-ack-to` (sid, …args): emit `ack-request` (…args) with an ack to socket `sid`
/// wherever it is connected, and hand its reply to the requester as `ack-result`.
fn request_ack_to(ns: NamespaceBuilder) -> NamespaceBuilder {
    ns.on(
        "request-ack-to",
        |socket: Arc<Socket>, mut payload: Payload, _no_ack: Option<AckSender>| async move {
            if payload.args.is_empty() {
                return;
            }
            let target = match payload.args.remove(0) {
                Value::String(sid) => sid,
                other => other.to_string(),
            };
            let Ok(mut replies) = socket
                .namespace_sockets()
                .to(target)
                .timeout(ACK_TIMEOUT)
                .emit_with_ack::<Payload>("ack-request", payload)
            else {
                return;
            };
            // The reply may come from another node, so this waits in its own task and the
            // requester's next events are not held up.
            tokio::spawn(async move {
                if let Some((_, Ok(reply))) = replies.next().await {
                    let _ = socket.emit("ack-result", reply);
                }
            });
        },
    )
}
