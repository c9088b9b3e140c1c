//! The Engine.IO → Socket.IO glue: decodes packets of each connection, connects namespaces,
//! and runs that connection's handlers in order.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use crate::args::Payload;
use crate::engineio::{self, ConnectRejection, EngineHandler, Message};
use crate::ns::namespace::{Completion, ConnectRefusal, HandlerFuture, Namespace};
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

/// What a connection's handlers do next, in arrival order.
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
    /// One per namespace joined. SipHash (the default): the names come from the client,
    /// and with a dynamic namespace it may join as many as it likes.
    sockets: Mutex<HashMap<String, Arc<Socket>>>,
    turns: Mutex<Turns>,
    /// Woken when the queue has room again, for a reader that found it full.
    room: Notify,
    parse_error: AtomicBool,
}

/// The connection's packets waiting for their handlers, which run one after another.
///
/// Whoever hands over a packet while no one is running them runs it at once, in its own task
/// (the transport's reader, usually), and then the ones queued behind it, for as long as they
/// finish without waiting. The first that waits (for an ack, a timer, the bus…) goes on in a
/// task of its own with the rest of the queue. So an event whose handler answers at once costs
/// no task switch, and an idle connection has no handler task at all.
#[derive(Default)]
struct Turns {
    queue: VecDeque<Inbound>,
    /// Someone is running the queue: new packets wait in it.
    running: bool,
    /// The connection ended: packets handed over now are dropped.
    closed: bool,
}

/// What the task a waiting packet moved to needs to go on with the queue.
struct Runner {
    namespaces: Arc<Namespaces>,
    engine: Arc<engineio::Socket>,
    conn: Arc<SocketIoConnection>,
}

impl SocketIoConnection {
    fn socket(&self, namespace: &str) -> Option<Arc<Socket>> {
        lock(&self.sockets).get(namespace).cloned()
    }

    /// Takes the next queued packet, or gives the turn back when there is none.
    fn next_turn(&self) -> Option<Inbound> {
        let mut turns = lock(&self.turns);
        // Only a full queue keeps readers waiting, so only taking from one makes room.
        let was_full = turns.queue.len() >= INBOUND_CAPACITY;
        let next = turns.queue.pop_front();
        if next.is_none() {
            turns.running = false;
        }
        drop(turns);
        if was_full {
            self.room.notify_waiters();
        }
        next
    }
}

impl SocketIoHandler {
    /// Hands `item` over: queued behind the running ones, or run now when none runs. Waits
    /// while the queue is full, so a client that floods the server is slowed down instead of
    /// growing memory.
    async fn submit(
        &self,
        engine: &Arc<engineio::Socket>,
        conn: &Arc<SocketIoConnection>,
        item: Inbound,
    ) {
        // Registered for a wake-up only once the queue was found full (the rare case).
        let mut waiting_for_room = false;
        loop {
            let room = conn.room.notified();
            tokio::pin!(room);
            if waiting_for_room {
                room.as_mut().enable();
            }
            {
                let mut turns = lock(&conn.turns);
                if turns.closed {
                    return;
                }
                if !turns.running {
                    // Nobody runs the queue, so it is empty: this packet is next.
                    turns.running = true;
                    break;
                }
                if turns.queue.len() < INBOUND_CAPACITY {
                    turns.queue.push_back(item);
                    return;
                }
            }
            if waiting_for_room {
                room.await;
            }
            // Full: look again once registered, so that room made meanwhile is not missed.
            waiting_for_room = true;
        }
        self.run_from(engine, conn, item).await;
    }

    /// Runs `item` and the queue behind it here while each finishes at once; moves to a task
    /// of its own at the first that waits. The caller holds the turn. Nothing is cloned for a
    /// packet that finishes here but what its own handling needs.
    async fn run_from(
        &self,
        engine: &Arc<engineio::Socket>,
        conn: &Arc<SocketIoConnection>,
        item: Inbound,
    ) {
        let mut next = Some(item);
        while let Some(item) = next {
            let mut run = handling(&self.namespaces, engine, conn, item);
            let first = std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await;
            if first.is_pending() {
                let runner = Runner {
                    namespaces: self.namespaces.clone(),
                    engine: engine.clone(),
                    conn: conn.clone(),
                };
                tokio::spawn(async move {
                    run.await;
                    runner.run_rest().await;
                });
                return;
            }
            next = conn.next_turn();
        }
    }
}

impl Runner {
    /// The rest of the queue, in the task a waiting packet moved to.
    async fn run_rest(self) {
        while let Some(item) = self.conn.next_turn() {
            handling(&self.namespaces, &self.engine, &self.conn, item).await;
        }
    }
}

/// The handling of one packet, as a future that owns what it needs, so that it can move to a
/// task of its own if it has to wait.
fn handling(
    namespaces: &Arc<Namespaces>,
    engine: &Arc<engineio::Socket>,
    conn: &Arc<SocketIoConnection>,
    item: Inbound,
) -> HandlerFuture {
    match item {
        Inbound::Connect { namespace, auth } => {
            let (namespaces, engine, conn) = (namespaces.clone(), engine.clone(), conn.clone());
            Box::pin(async move {
                connect(&namespaces, &engine, &conn, namespace, auth).await;
                Completion::done()
            })
        }
        Inbound::Event {
            namespace,
            payload,
            ack_id,
        } => {
            let started = conn
                .socket(&namespace)
                .and_then(|socket| Namespace::dispatch(&socket, payload, ack_id));
            started.unwrap_or_else(|| Box::pin(async { Completion::done() }))
        }
        Inbound::Disconnect { namespace } => {
            let socket = lock(&conn.sockets).remove(&namespace);
            Box::pin(async move {
                if let Some(socket) = socket {
                    socket.close(DisconnectReason::ClientDisconnect).await;
                }
                Completion::done()
            })
        }
        Inbound::Closed { reason } => {
            let conn = conn.clone();
            Box::pin(async move {
                close_all(&conn, reason).await;
                Completion::done()
            })
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
        _engine: &Arc<engineio::Socket>,
    ) -> Result<Arc<SocketIoConnection>, ConnectRejection> {
        let conn = Arc::new(SocketIoConnection {
            decoder: Mutex::new(Decoder::with_limits(*self.namespaces.parser_limits())),
            sockets: Mutex::new(HashMap::new()),
            turns: Mutex::new(Turns::default()),
            room: Notify::new(),
            parse_error: AtomicBool::new(false),
        });
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
                Message::Text(text) => decoder.feed_str(&text),
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
                self.submit(engine, conn, Inbound::Connect { namespace, auth })
                    .await;
            }
            PacketData::Event { args, attachments } => {
                let payload = Payload { args, attachments };
                let item = Inbound::Event {
                    namespace,
                    payload,
                    ack_id,
                };
                self.submit(engine, conn, item).await;
            }
            PacketData::Disconnect => {
                self.submit(engine, conn, Inbound::Disconnect { namespace })
                    .await;
            }
            PacketData::ConnectError(_) => {
                conn.parse_error.store(true, Ordering::Release);
                engine.close(engineio::DisconnectReason::TransportError);
            }
        }
    }

    async fn on_disconnect(
        &self,
        engine: &Arc<engineio::Socket>,
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
        // DISCONNECT right before it hangs up keeps its reason), in the handlers' turn.
        let closing = Inbound::Closed { reason };
        let run_now = {
            let mut turns = lock(&conn.turns);
            turns.closed = true;
            if turns.running {
                turns.queue.push_back(closing);
                None
            } else {
                turns.running = true;
                Some(closing)
            }
        };
        // A reader waiting for room gives up now that the connection is closed.
        conn.room.notify_waiters();
        if let Some(closing) = run_now {
            self.run_from(engine, conn, closing).await;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Wake, Waker};

    use super::*;
    use crate::manager::LocalManager;
    use crate::ns::namespace::ConnectOptions;
    use crate::parser::ParserLimits;

    /// Counts its wake-ups.
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A server handler, an engine session and its connection, without any transport.
    fn connection() -> (
        SocketIoHandler,
        Arc<engineio::Socket>,
        Arc<SocketIoConnection>,
    ) {
        let namespaces = Namespaces::new(
            HashMap::new(),
            Vec::new(),
            Arc::new(LocalManager::new()),
            ConnectOptions::default(),
            ParserLimits::default(),
        );
        let handshake = engineio::Handshake {
            headers: http::HeaderMap::new(),
            uri: http::Uri::from_static("/socket.io/?EIO=4&transport=websocket"),
            remote_addr: None,
            issued_at: std::time::SystemTime::now(),
        };
        let conn = Arc::new(SocketIoConnection {
            decoder: Mutex::new(Decoder::new()),
            sockets: Mutex::new(HashMap::new()),
            turns: Mutex::new(Turns::default()),
            room: Notify::new(),
            parse_error: AtomicBool::new(false),
        });
        (
            SocketIoHandler::new(Arc::new(namespaces)),
            engineio::Socket::new(engineio::TransportKind::WebSocket, handshake, 16),
            conn,
        )
    }

    fn packet() -> Inbound {
        Inbound::Disconnect {
            namespace: "/elsewhere".to_owned(),
        }
    }

    /// While a handler runs, packets queue; at a full queue the one handing over waits, and
    /// goes on (woken) as soon as the running handler takes the next packet.
    #[test]
    fn a_full_queue_holds_the_reader_until_a_packet_is_taken() {
        let (handler, engine, conn) = connection();
        lock(&conn.turns).running = true;
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..INBOUND_CAPACITY {
            let mut queued = Box::pin(handler.submit(&engine, &conn, packet()));
            assert!(queued.as_mut().poll(&mut cx).is_ready());
        }
        let mut held = Box::pin(handler.submit(&engine, &conn, packet()));
        assert!(
            held.as_mut().poll(&mut cx).is_pending(),
            "a full queue holds it"
        );
        assert_eq!(lock(&conn.turns).queue.len(), INBOUND_CAPACITY);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);

        assert!(conn.next_turn().is_some());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "taking one wakes it");
        assert!(held.as_mut().poll(&mut cx).is_ready());
        assert_eq!(lock(&conn.turns).queue.len(), INBOUND_CAPACITY);
    }
}
