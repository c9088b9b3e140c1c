//! The pub/sub manager: rooms in memory, plus a message bus so that several server processes
//! behave as one. Every cross-node operation is applied here first and then published; what
//! other nodes publish is applied to this node's sockets ([`apply`]); our nodes also answer
//! each other's cluster-wide queries ([`queries`]).

mod apply;
mod queries;
mod stats;
mod tasks;

pub use stats::BusStats;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::bus::{BusDriver, BusError, BusEvent, BusFuture};
use super::cluster::{Answer, Peers, Query, SocketInfo};
use super::message::{BusMessage, CallbackRef, EmitRef, Names, Selection};
use super::{
    BroadcastTarget, ClusterEmit, ClusterOp, LocalManager, Manager, RemoteAcks, ServerNode,
};
use crate::args::Payload;
use crate::engineio::Sid;

/// How many outgoing messages may wait for the bus before new ones are dropped (and counted).
const PUBLISH_QUEUE: usize = 4096;

/// How many replies from other nodes to one emit with ack may wait for its reader; more are
/// dropped (and logged), so a flood on the bus cannot grow memory.
const REPLIES_PER_EMIT: usize = 1024;

/// How many requests from one query may be outstanding (one reply per peer is expected).
const REPLIES_PER_QUERY: usize = 256;

/// Where the replies to an emit with ack made here go, by `(room, ack id)`.
type WaitingAcks = HashMap<(String, u64), mpsc::Sender<(String, Payload)>>;

/// A message for the bus: on the main channel (python-socketio's) or on the cluster channel.
enum Outgoing {
    Main(Bytes),
    Cluster(Bytes),
}

/// Configures a [`PubSubManager`]; made by [`PubSubManager::builder`].
pub struct PubSubManagerBuilder {
    bus: Arc<dyn BusDriver>,
    channel: String,
    retry_at_start: bool,
    max_message_size: usize,
    remote_ack_timeout: Duration,
    heartbeat_interval: Duration,
    request_timeout: Duration,
}

impl std::fmt::Debug for PubSubManagerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubManagerBuilder")
            .field("channel", &self.channel)
            .field("retry_at_start", &self.retry_at_start)
            .finish_non_exhaustive()
    }
}

impl PubSubManagerBuilder {
    /// The bus channel shared by every node (default `socketio`, as python-socketio).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// When the bus cannot be reached at start, keep trying instead of failing
    /// [`connect`](Self::connect) (default: fail).
    pub fn retry_at_start(mut self, retry: bool) -> Self {
        self.retry_at_start = retry;
        self
    }

    /// Bus messages larger than this are ignored (default 1 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// How long a client of this node may take to answer an emit with ack made on another
    /// node (default 60 s); the asking node has its own timeout.
    pub fn remote_ack_timeout(mut self, timeout: Duration) -> Self {
        self.remote_ack_timeout = timeout;
        self
    }

    /// How often this node tells the others it is alive (default 2 s). Each heartbeat
    /// carries the interval, so the other nodes stop counting this one after three of
    /// *its* intervals of silence, whatever their own interval is; nodes may differ.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// How long a cluster-wide query waits for the other nodes (default 1 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Subscribes to the bus and returns the manager, ready for
    /// [`SocketIoBuilder::manager`](crate::SocketIoBuilder::manager). Fails when the bus
    /// cannot be reached, unless [`retry_at_start`](Self::retry_at_start) is set.
    pub async fn connect(self) -> Result<PubSubManager, BusError> {
        let cluster_channel = format!("{}-cluster", self.channel);
        let channels = vec![self.channel.clone(), cluster_channel.clone()];
        let mut attempt = 0;
        let subscription = loop {
            match self.bus.subscribe(channels.clone()).await {
                Ok(subscription) => break subscription,
                Err(err) if self.retry_at_start => {
                    tracing::warn!(%err, "message bus unreachable at start; retrying");
                    tokio::time::sleep(super::BusOptions::default().retry_delay(attempt)).await;
                    attempt = attempt.saturating_add(1);
                }
                Err(err) => return Err(err),
            }
        };
        let (outbox, queue) = mpsc::channel(PUBLISH_QUEUE);
        let shared = Arc::new(Shared {
            local: LocalManager::new(),
            channel: self.channel,
            cluster_channel,
            peers: Mutex::new(Peers::new(self.heartbeat_interval)),
            queries: Mutex::new(HashMap::new()),
            next_query: AtomicU64::new(1),
            request_timeout: self.request_timeout,
            heartbeat_interval: self.heartbeat_interval,
            host_id: Sid::generate().to_string(),
            max_message_size: self.max_message_size,
            remote_ack_timeout: self.remote_ack_timeout,
            outbox,
            server: OnceLock::new(),
            subscription: Mutex::new(Some(subscription)),
            waiting_acks: Mutex::new(HashMap::new()),
            next_ack: AtomicU64::new(1),
            stats: Arc::new(BusStats::default()),
        });
        tokio::spawn(tasks::publisher(
            self.bus,
            shared.channel.clone(),
            shared.cluster_channel.clone(),
            queue,
            shared.stats.clone(),
        ));
        tokio::spawn(tasks::heartbeat(
            Arc::downgrade(&shared),
            self.heartbeat_interval,
        ));
        Ok(PubSubManager { shared })
    }
}

/// Room membership in memory, shared with other server processes over a message bus (Redis,
/// RabbitMQ), in python-socketio's message format: Python and Rust nodes, and write-only
/// emitters of either, form one cluster.
///
/// ```no_run
/// # #[cfg(feature = "redis")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use socketio::SocketIo;
/// use socketio::manager::{PubSubManager, RedisBus};
///
/// let manager = PubSubManager::builder(RedisBus::new("redis://127.0.0.1:6379/")?)
///     .connect()
///     .await?;
/// let io = SocketIo::builder().manager(manager).build()?;
/// # Ok(())
/// # }
/// ```
///
/// A bus outage never stops the server: local delivery goes on, publishes fail and are
/// counted in [`stats`](Self::stats), and the subscription comes back by itself.
#[derive(Clone)]
pub struct PubSubManager {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PubSubManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubManager")
            .field("channel", &self.shared.channel)
            .field("host_id", &self.shared.host_id)
            .finish_non_exhaustive()
    }
}

struct Shared {
    local: LocalManager,
    channel: String,
    cluster_channel: String,
    peers: Mutex<Peers>,
    /// Cluster-wide queries made here and waiting for answers, by request id.
    queries: Mutex<HashMap<u64, mpsc::Sender<(String, Answer)>>>,
    next_query: AtomicU64,
    request_timeout: Duration,
    /// Announced in every heartbeat, so peers know when this node is overdue.
    heartbeat_interval: Duration,
    host_id: String,
    max_message_size: usize,
    remote_ack_timeout: Duration,
    outbox: mpsc::Sender<Outgoing>,
    server: OnceLock<ServerNode>,
    subscription: Mutex<Option<mpsc::Receiver<BusEvent>>>,
    /// Emits with ack made here and waiting for replies from other nodes, by `(room, id)`.
    waiting_acks: Mutex<WaitingAcks>,
    next_ack: AtomicU64,
    stats: Arc<BusStats>,
}

impl PubSubManager {
    /// Starts configuring a manager on `bus`.
    pub fn builder(bus: impl BusDriver) -> PubSubManagerBuilder {
        PubSubManagerBuilder {
            bus: Arc::new(bus),
            channel: "socketio".to_owned(),
            retry_at_start: false,
            max_message_size: 1 << 20,
            remote_ack_timeout: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(2),
            request_timeout: Duration::from_secs(1),
        }
    }

    /// This node's id on the bus (`host_id` in its messages).
    pub fn host_id(&self) -> &str {
        &self.shared.host_id
    }

    /// What went over the bus so far.
    pub fn stats(&self) -> &BusStats {
        &self.shared.stats
    }
}

impl Manager for PubSubManager {
    fn join(&self, namespace: &str, sid: &Sid, room: &str) {
        self.shared.local.join(namespace, sid, room);
    }

    fn leave(&self, namespace: &str, sid: &Sid, room: &str) {
        self.shared.local.leave(namespace, sid, room);
    }

    fn leave_all(&self, namespace: &str, sid: &Sid) {
        self.shared.local.leave_all(namespace, sid);
    }

    fn rooms_of(&self, namespace: &str, sid: &Sid) -> Vec<String> {
        self.shared.local.rooms_of(namespace, sid)
    }

    fn rooms(&self, namespace: &str) -> Vec<String> {
        self.shared.local.rooms(namespace)
    }

    fn close_room(&self, namespace: &str, room: &str) -> Vec<Sid> {
        self.shared.local.close_room(namespace, room)
    }

    fn select(&self, namespace: &str, target: &BroadcastTarget) -> Vec<Sid> {
        self.shared.local.select(namespace, target)
    }

    fn fetch_sockets<'a>(
        &'a self,
        namespace: &'a str,
        target: &'a BroadcastTarget,
    ) -> BusFuture<'a, Vec<SocketInfo>> {
        Box::pin(async move {
            let shared = &self.shared;
            let Some(node) = shared.server.get().and_then(ServerNode::local) else {
                return Vec::new();
            };
            let mut sockets = shared.local_sockets(node.as_ref(), namespace, target);
            if target.local {
                return sockets;
            }
            let mut except = target.except.clone();
            except.extend(target.skip.iter().map(Sid::to_string));
            let query = Query::Sockets {
                namespace: namespace.to_owned(),
                rooms: target.rooms.clone(),
                except_rooms: except,
            };
            for (node, answer) in shared.ask_peers(query).await {
                if let Answer::Sockets(found) = answer {
                    sockets.extend(found.into_iter().map(|socket| SocketInfo {
                        sid: socket.id,
                        namespace: namespace.to_owned(),
                        rooms: socket.rooms,
                        node: node.clone(),
                    }));
                }
            }
            sockets
        })
    }

    fn all_rooms<'a>(&'a self, namespace: &'a str) -> BusFuture<'a, Vec<String>> {
        Box::pin(async move {
            let mut rooms: Vec<String> = self.shared.local.rooms(namespace);
            let query = Query::Rooms {
                namespace: namespace.to_owned(),
            };
            for (_, answer) in self.shared.ask_peers(query).await {
                if let Answer::Rooms(found) = answer {
                    rooms.extend(found);
                }
            }
            rooms.sort();
            rooms.dedup();
            rooms
        })
    }

    fn server_count(&self) -> BusFuture<'_, usize> {
        let peers = self
            .shared
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .alive(Instant::now())
            .len();
        Box::pin(async move { peers + 1 })
    }

    fn attach(&self, server: ServerNode) {
        if self.shared.server.set(server).is_err() {
            tracing::warn!("a PubSubManager serves one server; this one is already attached");
            return;
        }
        let subscription = self
            .shared
            .subscription
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(subscription) = subscription {
            tokio::spawn(tasks::listen(self.shared.clone(), subscription));
        }
    }

    fn publish(&self, op: ClusterOp<'_>) {
        self.shared.send(self.shared.encode(op, None));
    }

    fn publish_with_ack(&self, emit: ClusterEmit<'_>, timeout: Duration) -> Option<RemoteAcks> {
        let id = self.shared.next_ack.fetch_add(1, Ordering::Relaxed);
        // python-socketio keys a callback by the one room (a sid) the emit is for.
        let room = match emit.target.rooms.as_slice() {
            [room] => room.clone(),
            _ => format!("{}#{id}", self.shared.host_id),
        };
        let (replies, receiver) = mpsc::channel(REPLIES_PER_EMIT);
        let key = (room.clone(), id);
        self.shared.lock_acks().insert(key.clone(), replies);
        let callback = CallbackRef {
            sid: room,
            namespace: emit.namespace.to_owned(),
            id,
        };
        let message = self.shared.encode(ClusterOp::Emit(emit), Some(&callback));
        self.shared.send(message);
        let shared = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(shared) = shared.upgrade() {
                shared.lock_acks().remove(&key);
            }
        });
        Some(receiver)
    }
}

impl Shared {
    fn lock_acks(&self) -> std::sync::MutexGuard<'_, WaitingAcks> {
        self.waiting_acks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn host(&self) -> Option<String> {
        Some(self.host_id.clone())
    }

    /// The bus message of `op`, encoded; an emit straight from its borrowed payload.
    fn encode(&self, op: ClusterOp<'_>, callback: Option<&CallbackRef>) -> Bytes {
        let message = match op {
            ClusterOp::Emit(emit) => {
                let skip = emit.target.skip.as_ref();
                return EmitRef {
                    host_id: Some(&self.host_id),
                    namespace: emit.namespace,
                    event: emit.event,
                    payload: emit.payload,
                    rooms: &emit.target.rooms,
                    except: &emit.target.except,
                    skip_sids: skip.map_or(Names::List(&[]), |sid| Names::One(sid.as_str())),
                    callback,
                    volatile: emit.volatile,
                }
                .encode();
            }
            ClusterOp::Join {
                namespace,
                target,
                room,
            } => BusMessage::EnterRoom {
                host_id: self.host(),
                namespace: namespace.to_owned(),
                selection: Selection::from_target(target),
                room: room.to_owned(),
            },
            ClusterOp::Leave {
                namespace,
                target,
                room,
            } => BusMessage::LeaveRoom {
                host_id: self.host(),
                namespace: namespace.to_owned(),
                selection: Selection::from_target(target),
                room: room.to_owned(),
            },
            ClusterOp::Disconnect { namespace, target } => BusMessage::Disconnect {
                host_id: self.host(),
                namespace: namespace.to_owned(),
                selection: Selection::from_target(target),
            },
            ClusterOp::CloseRoom { namespace, room } => BusMessage::CloseRoom {
                host_id: self.host(),
                namespace: namespace.to_owned(),
                room: room.to_owned(),
            },
        };
        message.encode()
    }

    /// Queues a message for the publisher task; never waits.
    fn send(&self, message: Bytes) {
        if let Err(err) = self.outbox.try_send(Outgoing::Main(message)) {
            BusStats::add(&self.stats.publish_failures);
            tracing::warn!(%err, "bus publish queue: message dropped");
        }
    }
}
