//! Managers own room membership and decide who a broadcast reaches. The in-memory
//! [`LocalManager`] is the default; pub/sub managers for several processes wrap it and
//! publish what other nodes must apply.

#[cfg(feature = "amqp")]
mod amqp;
mod bus;
pub(crate) mod local;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "amqp")]
#[cfg_attr(docsrs, doc(cfg(feature = "amqp")))]
pub use amqp::AmqpBus;
pub use bus::{BusDriver, BusError, BusEvent, BusFuture, BusOptions};
pub use local::LocalManager;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisBus;

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
}
