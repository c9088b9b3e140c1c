//! The Engine.IO → Socket.IO glue: decodes packets of each connection, connects namespaces,
//! and runs that connection's handlers in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::args::Payload;
use crate::engineio::{self, ConnectRejection, EngineHandler, Message};
use crate::ns::namespace::ConnectRefusal;
use crate::ns::socket::{Connection, DisconnectReason, Socket};
use crate::parser::{DecodeStatus, Decoder, Packet, PacketData};

/// Packets of one connection waiting for their turn; bounded, so a client that floods the
/// server is slowed down instead of growing memory.
const INBOUND_CAPACITY: usize = 256;

/// How long the packets a client sent before its connection ended may take to be handled
/// before its sockets close anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub(crate) use super::registry::Registry as Namespaces;

/// The Engine.IO handler of a Socket.IO server.
pub struct SocketIoHandler {
    namespaces: Arc<Namespaces>,
}

impl std::fmt::Debug for SocketIoHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoHandler")
            .field("namespaces", &self.namespaces.names())
            .finish()
    }
}

impl SocketIoHandler {
    pub(crate) fn new(namespaces: Arc<Namespaces>) -> Self {
        SocketIoHandler { namespaces }
    }
}

/// What a connection's handler task does next, in arrival order.
enum Inbound {
    Connect {
        namespace: String,
        auth: Option<Value>,
    },
    Event {
        namespace: String,
        payload: Payload,
        ack_id: Option<u64>,
    },
    Disconnect {
        namespace: String,
    },
    /// The connection ended: after everything the client sent before, its sockets close.
    Closed {
        reason: DisconnectReason,
    },
}

/// Socket.IO's state for one Engine.IO connection (its packet decoder, its sockets by
/// namespace and its handler queue): the [`EngineHandler::Connection`] of
/// [`SocketIoHandler`]. Opaque; only the engine holds it.
pub struct SocketIoConnection {
    decoder: Mutex<Decoder>,
    sockets: Mutex<HashMap<String, Arc<Socket>>>,
    inbound: Mutex<Option<mpsc::Sender<Inbound>>>,
    parse_error: AtomicBool,
}

impl SocketIoConnection {
    fn socket(&self, namespace: &str) -> Option<Arc<Socket>> {
        lock(&self.sockets).get(namespace).cloned()
    }

    async fn enqueue(&self, item: Inbound) {
        let sender = lock(&self.inbound).clone();
        if let Some(sender) = sender {
            let _ = sender.send(item).await;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Connection for SocketIoConnection {
    fn forget_socket(&self, namespace: &str) {
        lock(&self.sockets).remove(namespace);
    }
}

impl EngineHandler for SocketIoHandler {
    type Connection = Arc<SocketIoConnection>;

    async fn on_connect(
        &self,
        engine: &Arc<engineio::Socket>,
    ) -> Result<Arc<SocketIoConnection>, ConnectRejection> {
        let (sender, receiver) = mpsc::channel(INBOUND_CAPACITY);
        let conn = Arc::new(SocketIoConnection {
            decoder: Mutex::new(Decoder::with_limits(*self.namespaces.parser_limits())),
            sockets: Mutex::new(HashMap::new()),
            inbound: Mutex::new(Some(sender)),
            parse_error: AtomicBool::new(false),
        });
        tokio::spawn(run_handlers(
            self.namespaces.clone(),
            Arc::downgrade(engine),
            Arc::downgrade(&conn),
            receiver,
        ));
        Ok(conn)
    }

    async fn on_message(
        &self,
        engine: &Arc<engineio::Socket>,
        conn: &Arc<SocketIoConnection>,
        message: Message,
    ) {
        let status = {
            let mut decoder = lock(&conn.decoder);
            match message {
                Message::Text(text) => decoder.feed_text(&text),
                Message::Binary(data) => decoder.feed_binary(data),
            }
        };
        let packet = match status {
            Ok(DecodeStatus::Complete(packet)) => packet,
            Ok(DecodeStatus::Incomplete { .. }) => return,
            Err(err) => {
                tracing::debug!(sid = %engine.sid(), %err, "bad Socket.IO packet");
                conn.parse_error.store(true, Ordering::Release);
                engine.close(engineio::DisconnectReason::TransportError);
                return;
            }
        };
        let Packet {
            namespace,
            ack_id,
            data,
        } = packet;
        match data {
            PacketData::Ack { args, attachments } => {
                // Acks skip the queue: a handler may be waiting for this very reply.
                if let (Some(socket), Some(id)) = (conn.socket(&namespace), ack_id) {
                    socket.resolve_ack(id, Payload { args, attachments });
                }
            }
            PacketData::Connect(auth) => {
                conn.enqueue(Inbound::Connect { namespace, auth }).await;
            }
            PacketData::Event { args, attachments } => {
                let payload = Payload { args, attachments };
                conn.enqueue(Inbound::Event {
                    namespace,
                    payload,
                    ack_id,
                })
                .await;
            }
            PacketData::Disconnect => conn.enqueue(Inbound::Disconnect { namespace }).await,
            PacketData::ConnectError(_) => {
                conn.parse_error.store(true, Ordering::Release);
                engine.close(engineio::DisconnectReason::TransportError);
            }
        }
    }

    async fn on_disconnect(
        &self,
        _engine: &Arc<engineio::Socket>,
        conn: &Arc<SocketIoConnection>,
        reason: engineio::DisconnectReason,
    ) {
        let reason = if conn.parse_error.load(Ordering::Acquire) {
            DisconnectReason::ParseError
        } else {
            socket_reason(reason)
        };
        // Replies this connection will never send: handlers waiting for them stop now.
        for socket in lock(&conn.sockets).values() {
            socket.abandon_acks();
        }
        // The sockets close after the packets that arrived before the end (a client's
        // DISCONNECT right before it hangs up keeps its reason), in the handler task.
        let sender = lock(&conn.inbound).take();
        let queued =
            sender.is_some_and(|sender| sender.try_send(Inbound::Closed { reason }).is_ok());
        if !queued {
            close_all(conn, reason).await;
            return;
        }
        // A handler that does not finish must not keep the connection's sockets open.
        let conn = conn.clone();
        tokio::spawn(async move {
            tokio::time::sleep(CLOSE_GRACE).await;
            close_all(&conn, reason).await;
        });
    }
}

/// Closes every socket of a connection that ended.
async fn close_all(conn: &SocketIoConnection, reason: DisconnectReason) {
    let sockets: Vec<Arc<Socket>> = lock(&conn.sockets).drain().map(|(_, s)| s).collect();
    for socket in sockets {
        socket.close(reason).await;
    }
}

fn socket_reason(reason: engineio::DisconnectReason) -> DisconnectReason {
    use engineio::DisconnectReason as Engine;
    match reason {
        Engine::ClientClose => DisconnectReason::ClientDisconnect,
        Engine::PingTimeout => DisconnectReason::PingTimeout,
        Engine::TransportError => DisconnectReason::TransportError,
        Engine::ServerShutdown => DisconnectReason::ServerShutdown,
        Engine::SlowClient => DisconnectReason::SlowClient,
        Engine::ServerClose | Engine::ConnectTimeout => DisconnectReason::ServerDisconnect,
        _ => DisconnectReason::TransportClose,
    }
}

/// Runs a connection's connects, events and disconnects one after another, so handlers see
/// a client's packets in the order it sent them.
async fn run_handlers(
    namespaces: Arc<Namespaces>,
    engine: Weak<engineio::Socket>,
    conn: Weak<SocketIoConnection>,
    mut inbound: mpsc::Receiver<Inbound>,
) {
    while let Some(item) = inbound.recv().await {
        let Some(conn) = conn.upgrade() else {
            return;
        };
        match item {
            Inbound::Connect { namespace, auth } => {
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                connect(&namespaces, &engine, &conn, namespace, auth).await;
            }
            Inbound::Event {
                namespace,
                payload,
                ack_id,
            } => {
                if let Some(socket) = conn.socket(&namespace) {
                    socket.ns().dispatch(&socket, payload, ack_id).await;
                }
            }
            Inbound::Disconnect { namespace } => {
                let socket = lock(&conn.sockets).remove(&namespace);
                if let Some(socket) = socket {
                    socket.close(DisconnectReason::ClientDisconnect).await;
                }
            }
            Inbound::Closed { reason } => {
                close_all(&conn, reason).await;
                return;
            }
        }
    }
}

async fn connect(
    namespaces: &Namespaces,
    engine: &Arc<engineio::Socket>,
    conn: &Arc<SocketIoConnection>,
    namespace: String,
    auth: Option<Value>,
) {
    if conn.socket(&namespace).is_some() {
        return;
    }
    let refuse = |data: Value| {
        let _ = engine.send_frame_group(&Packet::connect_error(&namespace, data).into_frames());
    };
    let Some(ns) = namespaces.resolve(&namespace) else {
        refuse(serde_json::json!({ "message": "Invalid namespace" }));
        return;
    };
    let home: Weak<dyn Connection> = Arc::downgrade(conn) as Weak<SocketIoConnection>;
    let socket = Socket::new(ns.clone(), engine.clone(), auth, home);
    match ns.connect(&socket, namespaces.connect_options()).await {
        Ok(()) => {}
        Err(ConnectRefusal::BeforeConnect(err)) => {
            // A refused socket keeps nothing: rooms a handler joined go too.
            socket.leave_all();
            refuse(err.to_json());
            return;
        }
        Err(ConnectRefusal::AfterConnect(err)) => {
            tracing::debug!(ns = %namespace, %err, "connect handler refused a connected socket");
            // Already connected: take it back the way a server disconnect does.
            let _ = socket.send_packet(Packet::disconnect(&namespace));
            socket.close(DisconnectReason::ServerDisconnect).await;
            return;
        }
    }
    lock(&conn.sockets).insert(namespace, socket.clone());
    engine.mark_ready();
    if engine.is_closed() {
        // The connection ended while the connect handler ran.
        lock(&conn.sockets).remove(socket.namespace());
        socket.close(DisconnectReason::TransportClose).await;
    }
}
