//! Message buses for the cluster tests: a private `redis-server` per test on a free port, the
//! machine's RabbitMQ, and cluster nodes (ours and python-socketio's) on them.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::Arc;

use socketio::client::ClientAck;
use socketio::handler::EventName;
use socketio::{AckSender, Payload, Socket};

use super::{ExampleProcess, example_binary, require_venv_python, spawn_until_ready};

/// Where a test's `redis-server` listens.
#[derive(Clone)]
pub enum Listen {
    /// Plain TCP on this loopback port.
    Tcp(u16),
    /// A unix socket at this path (no TCP port).
    Unix(PathBuf),
    /// TLS only on this loopback port, with this certificate and key (PEM files).
    Tls(u16, PathBuf, PathBuf),
    /// A Redis Cluster master on `port`, with its cluster bus on `bus_port` and its
    /// `nodes.conf` in `dir` (kept across restarts, so a restarted master takes its slots
    /// back).
    ClusterNode {
        /// The client port.
        port: u16,
        /// The port the masters talk to each other on.
        bus_port: u16,
        /// Where its `nodes-PORT.conf` is.
        dir: PathBuf,
    },
}

/// A `redis-server` of this test only, killed when dropped.
pub struct RedisServer {
    child: Option<Child>,
    listen: Listen,
}

impl RedisServer {
    /// Starts one on a free loopback port and waits until it accepts connections.
    pub fn start() -> RedisServer {
        // Another test may take the free port before redis-server binds it; then the server
        // that answers is not ours, so try another port.
        for _ in 0..5 {
            let port = free_port();
            let server = RedisServer::listening(Listen::Tcp(port));
            if server
                .child
                .as_ref()
                .is_some_and(|child| redis_runs_as(port, child.id()))
            {
                return server;
            }
        }
        panic!("no redis-server of this test's own after 5 ports");
    }

    /// Starts one on a unix socket at `path`.
    pub fn unix(path: PathBuf) -> RedisServer {
        RedisServer::listening(Listen::Unix(path))
    }

    /// Starts one speaking only TLS, on a free port, with this certificate and key.
    pub fn tls(cert: PathBuf, key: PathBuf) -> RedisServer {
        RedisServer::listening(Listen::Tls(free_port(), cert, key))
    }

    /// Starts one in cluster mode, to be made a master of a cluster with `redis-cli --cluster
    /// create`.
    pub fn cluster_node(port: u16, bus_port: u16, dir: PathBuf) -> RedisServer {
        RedisServer::listening(Listen::ClusterNode {
            port,
            bus_port,
            dir,
        })
    }

    /// Fails (never skips) when `scripts/test.sh` has not installed `redis-server`.
    fn listening(listen: Listen) -> RedisServer {
        let mut server = RedisServer {
            child: None,
            listen,
        };
        server.restart();
        server
    }

    /// The TCP port (plain or TLS).
    pub fn port(&self) -> u16 {
        match self.listen {
            Listen::Tcp(port) | Listen::Tls(port, ..) | Listen::ClusterNode { port, .. } => port,
            Listen::Unix(_) => panic!("a unix socket server has no port"),
        }
    }

    /// `redis://127.0.0.1:PORT/`, `unix://PATH` or `rediss://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        match &self.listen {
            Listen::Tcp(port) | Listen::ClusterNode { port, .. } => {
                format!("redis://127.0.0.1:{port}/")
            }
            Listen::Unix(path) => format!("unix://{}", path.display()),
            Listen::Tls(port, ..) => format!("rediss://127.0.0.1:{port}/"),
        }
    }

    /// Whether it runs (it was not killed, or was restarted since).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL: no goodbye to its clients, as in a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again where it listened and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let mut command = Command::new("redis-server");
        command.args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]);
        match &self.listen {
            Listen::Tcp(port) => command.args(["--port", &port.to_string()]),
            Listen::Unix(path) => command
                .args(["--port", "0", "--unixsocketperm", "700", "--unixsocket"])
                .arg(path),
            Listen::Tls(port, cert, key) => command
                .args(["--port", "0", "--tls-auth-clients", "no"])
                .args(["--tls-port", &port.to_string()])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key),
            Listen::ClusterNode {
                port,
                bus_port,
                dir,
            } => command
                .args(["--port", &port.to_string()])
                .args(["--cluster-port", &bus_port.to_string()])
                .args(["--cluster-enabled", "yes"])
                .arg("--cluster-config-file")
                .arg(dir.join(format!("nodes-{port}.conf")))
                .arg("--dir")
                .arg(dir),
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server is installed (scripts/test.sh installs it)");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Polls until the server accepts connections (a process start has no event to await).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = match &self.listen {
                Listen::Tcp(port) | Listen::Tls(port, ..) | Listen::ClusterNode { port, .. } => {
                    TcpStream::connect(("127.0.0.1", *port)).is_ok()
                }
                Listen::Unix(path) => std::os::unix::net::UnixStream::connect(path).is_ok(),
            };
            if ready {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!("redis-server exited early: {status}");
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The RabbitMQ the test command makes sure of (`SOCKETIO_TEST_AMQP_URL` overrides it).
pub fn amqp_url() -> String {
    std::env::var("SOCKETIO_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A bus channel no other test uses, so tests sharing one broker never see each other.
pub fn unique_channel(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Which bus a node joins.
#[derive(Clone)]
pub enum Bus {
    /// A Redis URL.
    Redis(String),
    /// An AMQP URL.
    Amqp(String),
}

impl Bus {
    fn flag(&self) -> [&str; 2] {
        match self {
            Bus::Redis(url) => ["--redis", url],
            Bus::Amqp(url) => ["--amqp", url],
        }
    }
}

/// Starts our `cluster_node` example on `bus` and `channel`.
pub fn rust_node(bus: &Bus, channel: &str) -> ExampleProcess {
    let mut cmd = Command::new(example_binary("cluster_node"));
    cmd.args(["--port", "0"])
        .args(bus.flag())
        .args(["--channel", channel]);
    spawn_until_ready(cmd, "cluster_node")
}

/// Starts a python-socketio node (tests/python/cluster_node.py) on `bus` and `channel`.
pub fn python_node(bus: &Bus, channel: &str) -> ExampleProcess {
    let mut cmd = Command::new(require_venv_python());
    cmd.current_dir(super::workspace_root())
        .arg("tests/python/cluster_node.py")
        .args(["--port", "0"])
        .args(bus.flag())
        .args(["--channel", channel]);
    spawn_until_ready(cmd, "python cluster_node.py")
}

/// `node tests/js/cluster_checks.mjs --nodes …` plus `extra`, asserted to pass.
pub fn run_cluster_checks(nodes: &[&ExampleProcess], extra: &[&str]) {
    super::require_npm_package("socket.io-client");
    let urls: Vec<String> = nodes.iter().map(|node| node.url()).collect();
    let mut cmd = Command::new("node");
    cmd.arg("tests/js/cluster_checks.mjs")
        .args(["--nodes", &urls.join(",")])
        .args(extra);
    super::assert_script_passes(cmd, "cluster_checks.mjs");
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// A node started by [`start_redis_node`].
pub struct Node {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its manager (host id, stats).
    pub manager: socketio::manager::PubSubManager,
    /// Its server handle.
    pub io: socketio::SocketIo,
}

/// An in-process node on `redis_url`: namespace `/` where every socket joins room `r` on
/// connect, `to-room` (room, …args) emits `room-message` (…args) to that room except the
/// sender, then acks `"ok"`, and `join` (room) joins a room and acks.
pub async fn start_redis_node(redis_url: &str) -> Node {
    use socketio::manager::{PubSubManager, RedisBus};

    let manager = PubSubManager::builder(RedisBus::new(redis_url).expect("redis url"))
        .connect()
        .await
        .expect("redis reachable");
    start_node(manager).await
}

/// The node of [`start_redis_node`] on any manager.
pub async fn start_node(manager: socketio::manager::PubSubManager) -> Node {
    use serde_json::{Value, json};
    use socketio::SocketIo;

    let io = SocketIo::builder()
        .manager(manager.clone())
        // Room for a whole burst (the cluster tests' burst sends 3000): a client still on polling, or
        // mid-upgrade, when a burst lands would otherwise be dropped as a slow client, the
        // documented policy that the load tests' overload.rs checks.
        .engine(|config| config.queue_capacity(8192))
        .namespace("/", |ns| {
            ns.on_connect(|socket: Arc<Socket>| async move {
                socket.join("r");
                Ok(())
            })
            .on(
                "to-room",
                |socket: Arc<Socket>, mut payload: Payload, ack: Option<AckSender>| async move {
                    let room = match payload.args.first() {
                        Some(Value::String(room)) => room.clone(),
                        _ => return,
                    };
                    payload.args.remove(0);
                    let _ = socket.to(room).emit("room-message", payload);
                    if let Some(ack) = ack {
                        let _ = ack.send(json!("ok"));
                    }
                },
            )
            .on(
                "join",
                |socket: Arc<Socket>, payload: Payload, ack: Option<AckSender>| async move {
                    if let Some(Value::String(room)) = payload.args.first() {
                        socket.join(room);
                    }
                    if let Some(ack) = ack {
                        let _ = ack.send(payload);
                    }
                },
            )
        })
        .build()
        .expect("server");
    let addr = super::serve(&io).await;
    Node { addr, manager, io }
}

/// Events a test client received, in order.
pub type Events = tokio::sync::mpsc::UnboundedReceiver<(String, socketio::Payload)>;

/// Our client on `/` of the server at `addr`, recording every event, answering every ack
/// request with `("got", …args)`, and recording a disconnect as the event `disconnect` with
/// the reason as its argument.
pub async fn recording_client(addr: SocketAddr) -> (socketio::client::Client, Events) {
    recording_client_on(addr, "/", serde_json::Value::Null).await
}

/// Like [`recording_client`], on namespace `namespace` with `auth`.
pub async fn recording_client_on(
    addr: SocketAddr,
    namespace: &str,
    auth: serde_json::Value,
) -> (socketio::client::Client, Events) {
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let on_leave = tx.clone();
    let client = socketio::client::Client::builder(format!("http://{addr}"))
        .namespace(namespace, move |ns| {
            let ns = if auth.is_null() { ns } else { ns.auth(auth) };
            ns.on_any(
                move |EventName(event): EventName, payload: Payload, ack: Option<ClientAck>| {
                    if let Some(ack) = ack {
                        let mut reply = payload.clone();
                        reply.args.insert(0, serde_json::json!("got"));
                        let _ = ack.send(reply);
                    }
                    let _ = tx.send((event, payload));
                    async {}
                },
            )
            .on_disconnect(move |reason: socketio::client::DisconnectReason| {
                let reason = serde_json::Value::String(reason.as_str().to_owned());
                let _ = on_leave.send(("disconnect".to_owned(), vec![reason].into()));
                async {}
            })
        })
        .connect()
        .await
        .expect("connect");
    (client, events)
}

/// The next event named `name`, skipping others.
pub async fn next_event(events: &mut Events, name: &str) -> socketio::Payload {
    super::eio::within(&format!("event {name}"), async {
        loop {
            let (event, payload) = events.recv().await.expect("client alive");
            if event == name {
                return payload;
            }
        }
    })
    .await
}

/// The next event, whatever it is.
pub async fn next_any(events: &mut Events) -> (String, socketio::Payload) {
    super::eio::within("an event", events.recv())
        .await
        .expect("client alive")
}

/// A directory of one test, removed when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// A fresh directory whose name starts with `socketio-<name>`.
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "socketio-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the Redis answering on loopback `port` is the process `pid` (its `INFO server`
/// names it): another test may have taken the same free port first.
pub fn redis_runs_as(port: u16, pid: u32) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"INFO server\r\n").is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..n]);
        if String::from_utf8_lossy(&reply).contains("process_id:") && reply.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&reply).contains(&format!("process_id:{pid}\r\n"))
}
