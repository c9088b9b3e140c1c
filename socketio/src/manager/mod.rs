//! Managers own room membership and decide who a broadcast reaches. The in-memory
//! [`LocalManager`] is the default; pub/sub managers for several processes wrap it and
//! publish what other nodes must apply.

#[cfg(feature = "amqp")]
mod amqp;
mod bus;
mod cluster;
mod emitter;
pub(crate) mod local;
pub(crate) mod message;
mod node;
mod pubsub;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "amqp")]
#[cfg_attr(docsrs, doc(cfg(feature = "amqp")))]
pub use amqp::AmqpBus;
pub use bus::{BusDriver, BusError, BusEvent, BusFuture, BusOptions};
pub use cluster::SocketInfo;
#[cfg(feature = "amqp")]
pub use emitter::AmqpEmitter;
pub use emitter::Emitter;
#[cfg(feature = "redis")]
pub use emitter::RedisEmitter;
pub use local::LocalManager;
pub use node::ServerNode;
pub(crate) use node::{LocalAcks, LocalNode};
pub use pubsub::{BusStats, PubSubManager, PubSubManagerBuilder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisBus;

use std::time::Duration;

use tokio::sync::mpsc;

use crate::args::Payload;
use crate::engineio::Sid;

/// Who a broadcast is for, within one namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastTarget {
    /// Sockets in any of these rooms; every socket of the namespace when empty.
    pub rooms: Vec<String>,
    /// Minus the sockets in any of these rooms.
    pub except: Vec<String>,
    /// Minus this socket (the sender of a `socket.broadcast()`).
    pub skip: Option<Sid>,
    /// Only sockets of this process: a pub/sub manager does not publish the broadcast.
    pub local: bool,
}

/// Room membership of every namespace of a server.
///
/// Every socket is in the room named by its own id from connect to disconnect, so a
/// broadcast to a socket id reaches that socket.
pub trait Manager: Send + Sync + 'static {
    /// Puts `sid` of `namespace` into `room`.
    fn join(&self, namespace: &str, sid: &Sid, room: &str);

    /// Takes `sid` of `namespace` out of `room`.
    fn leave(&self, namespace: &str, sid: &Sid, room: &str);

    /// Takes `sid` of `namespace` out of every room (it left the namespace).
    fn leave_all(&self, namespace: &str, sid: &Sid);

    /// The rooms `sid` of `namespace` is in, sorted.
    fn rooms_of(&self, namespace: &str, sid: &Sid) -> Vec<String>;

    /// The rooms of `namespace` that have members.
    fn rooms(&self, namespace: &str) -> Vec<String>;

    /// Empties `room` of `namespace`; returns who was in it.
    fn close_room(&self, namespace: &str, room: &str) -> Vec<Sid>;

    /// The sockets of `namespace` that `target` chooses.
    fn select(&self, namespace: &str, target: &BroadcastTarget) -> Vec<Sid>;

    /// The sockets of `namespace` that `target` chooses, on every node: their ids and rooms.
    /// A manager for one process answers from [`select`](Self::select) and
    /// [`rooms_of`](Self::rooms_of).
    fn fetch_sockets<'a>(
        &'a self,
        namespace: &'a str,
        target: &'a BroadcastTarget,
    ) -> BusFuture<'a, Vec<SocketInfo>> {
        let sockets = self
            .select(namespace, target)
            .into_iter()
            .map(|sid| SocketInfo {
                rooms: self.rooms_of(namespace, &sid),
                sid: sid.to_string(),
                namespace: namespace.to_owned(),
                node: "local".to_owned(),
            })
            .collect();
        Box::pin(std::future::ready(sockets))
    }

    /// The rooms of `namespace` that have members on any node, sorted.
    fn all_rooms<'a>(&'a self, namespace: &'a str) -> BusFuture<'a, Vec<String>> {
        let mut rooms = self.rooms(namespace);
        rooms.sort();
        Box::pin(std::future::ready(rooms))
    }

    /// How many server nodes are alive, this one included.
    fn server_count(&self) -> BusFuture<'_, usize> {
        Box::pin(std::future::ready(1))
    }

    /// Called once by [`SocketIoBuilder::build`](crate::SocketIoBuilder::build) with the
    /// server this manager serves, so that a pub/sub manager can apply what other nodes
    /// publish. A manager for one process ignores it.
    fn attach(&self, server: ServerNode) {
        let _ = server;
    }

    /// An operation other nodes must apply too; called after this node applied it to its own
    /// sockets, never for [`BroadcastTarget::local`] targets. A manager for one process
    /// ignores it.
    fn publish(&self, op: ClusterOp<'_>) {
        let _ = op;
    }

    /// Publishes an emit that asks every receiving client for an ack; the replies of clients
    /// on other nodes arrive on the returned channel as `(room, reply)` until `timeout`.
    /// `None` when there are no other nodes (the default).
    fn publish_with_ack(&self, emit: ClusterEmit<'_>, timeout: Duration) -> Option<RemoteAcks> {
        let _ = (emit, timeout);
        None
    }
}

/// An emit to publish: see [`Manager::publish`].
#[derive(Debug, Clone, Copy)]
pub struct ClusterEmit<'a> {
    /// The namespace.
    pub namespace: &'a str,
    /// Who it is for.
    pub target: &'a BroadcastTarget,
    /// The event name.
    pub event: &'a str,
    /// Its arguments.
    pub payload: &'a Payload,
    /// Whether clients that cannot take it right now skip it.
    pub volatile: bool,
}

/// A cross-node operation handed to [`Manager::publish`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ClusterOp<'a> {
    /// Emit an event to the chosen sockets.
    Emit(ClusterEmit<'a>),
    /// The chosen sockets join `room`.
    Join {
        /// The namespace.
        namespace: &'a str,
        /// Who joins.
        target: &'a BroadcastTarget,
        /// The room.
        room: &'a str,
    },
    /// The chosen sockets leave `room`.
    Leave {
        /// The namespace.
        namespace: &'a str,
        /// Who leaves.
        target: &'a BroadcastTarget,
        /// The room.
        room: &'a str,
    },
    /// The chosen sockets are disconnected from the namespace.
    Disconnect {
        /// The namespace.
        namespace: &'a str,
        /// Who is disconnected.
        target: &'a BroadcastTarget,
    },
    /// `room` is emptied.
    CloseRoom {
        /// The namespace.
        namespace: &'a str,
        /// The room.
        room: &'a str,
    },
}

/// Replies from clients on other nodes to an emit with ack, as `(room, reply)`; see
/// [`Manager::publish_with_ack`].
pub type RemoteAcks = mpsc::Receiver<(String, Payload)>;
