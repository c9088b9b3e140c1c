//! Write-only emitters: processes without clients (a job worker, a script) that reach the
//! clients of a cluster through its bus, like python-socketio's `write_only=True` managers.

use std::sync::Arc;

use super::BroadcastTarget;
use super::bus::{BusDriver, BusError};
use super::message::{BusMessage, Selection};
use crate::args::{Contains, EmitError, Event, EventSet, IntoPayload, Typed};
use crate::engineio::Sid;
use serde::Serialize;

/// Publishes emits, room changes and disconnects on a cluster's bus without serving clients.
///
/// Built on any [`BusDriver`]; [`RedisEmitter`](crate::manager::RedisEmitter) and
/// [`AmqpEmitter`](crate::manager::AmqpEmitter) name the two that ship. Each call publishes one
/// message and returns once the bus took it; the servers of the cluster deliver it.
///
/// ```no_run
/// # #[cfg(feature = "redis")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use socketio::manager::RedisEmitter;
///
/// let emitter = RedisEmitter::new("redis://127.0.0.1:6379/")?;
/// emitter
///     .of("/chat")
///     .to("lobby")
///     .emit("room-message", "the build is green")
///     .await?;
/// # Ok(())
/// # }
/// ```
pub struct Emitter<B> {
    bus: Arc<B>,
    channel: String,
    host_id: String,
    namespace: String,
    target: BroadcastTarget,
}

impl<B> Clone for Emitter<B> {
    fn clone(&self) -> Self {
        Emitter {
            bus: self.bus.clone(),
            channel: self.channel.clone(),
            host_id: self.host_id.clone(),
            namespace: self.namespace.clone(),
            target: self.target.clone(),
        }
    }
}

impl<B> std::fmt::Debug for Emitter<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("channel", &self.channel)
            .field("namespace", &self.namespace)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<B: BusDriver> Emitter<B> {
    /// An emitter on `bus`, for every socket of namespace `/`, on channel `socketio`.
    pub fn with_bus(bus: B) -> Self {
        Emitter {
            bus: Arc::new(bus),
            channel: "socketio".to_owned(),
            host_id: Sid::generate().to_string(),
            namespace: "/".to_owned(),
            target: BroadcastTarget::default(),
        }
    }

    /// Uses bus channel `channel` (the servers' channel; default `socketio`).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The same emitter for namespace `namespace`, with no room chosen.
    pub fn of(&self, namespace: impl Into<String>) -> Self {
        Emitter {
            namespace: namespace.into(),
            target: BroadcastTarget::default(),
            ..self.clone()
        }
    }

    /// Adds a room (a socket id is a room too): the sockets in any chosen room are reached.
    pub fn to(&self, room: impl Into<String>) -> Self {
        let mut next = self.clone();
        next.target.rooms.push(room.into());
        next
    }

    /// Leaves out the sockets in `room`.
    pub fn except(&self, room: impl Into<String>) -> Self {
        let mut next = self.clone();
        next.target.except.push(room.into());
        next
    }

    /// Emits `event` with `args` (typed like [`Socket::emit`](crate::Socket::emit)'s) to
    /// the chosen sockets on every node, once the bus has taken the message.
    pub async fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        let payload = args.into_payload()?;
        self.publish(BusMessage::Emit {
            host_id: Some(self.host_id.clone()),
            namespace: self.namespace.clone(),
            event: event.to_owned(),
            payload,
            rooms: self.target.rooms.clone(),
            except: self.target.except.clone(),
            skip_sids: Vec::new(),
            callback: None,
            volatile: false,
        })
        .await
        .map_err(|error| EmitError::Bus(error.to_string()))
    }

    /// Emits an [`Event`] value under its own name; see [`emit`](Self::emit).
    pub async fn emit_event<E: Event + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.emit(E::NAME, event).await
    }

    /// Makes the chosen sockets join `room`. With one room chosen this is python-socketio's
    /// `enter_room` for that sid, which Python servers apply too.
    pub async fn join(&self, room: &str) -> Result<(), BusError> {
        self.publish(BusMessage::EnterRoom {
            host_id: Some(self.host_id.clone()),
            namespace: self.namespace.clone(),
            selection: Selection::from_target(&self.target),
            room: room.to_owned(),
        })
        .await
    }

    /// Makes the chosen sockets leave `room`.
    pub async fn leave(&self, room: &str) -> Result<(), BusError> {
        self.publish(BusMessage::LeaveRoom {
            host_id: Some(self.host_id.clone()),
            namespace: self.namespace.clone(),
            selection: Selection::from_target(&self.target),
            room: room.to_owned(),
        })
        .await
    }

    /// Empties `room` of this emitter's namespace on every node.
    pub async fn close_room(&self, room: &str) -> Result<(), BusError> {
        self.publish(BusMessage::CloseRoom {
            host_id: Some(self.host_id.clone()),
            namespace: self.namespace.clone(),
            room: room.to_owned(),
        })
        .await
    }

    /// Disconnects the chosen sockets from this emitter's namespace.
    pub async fn disconnect(&self) -> Result<(), BusError> {
        self.publish(BusMessage::Disconnect {
            host_id: Some(self.host_id.clone()),
            namespace: self.namespace.clone(),
            selection: Selection::from_target(&self.target),
        })
        .await
    }

    async fn publish(&self, message: BusMessage) -> Result<(), BusError> {
        self.bus.publish(&self.channel, message.encode()).await
    }
}

/// A write-only emitter on Redis.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub type RedisEmitter = Emitter<super::RedisBus>;

/// The emitter, emitting only the events of a declared set (see
/// [`event_set`](macro@crate::event_set)).
impl<B: BusDriver> Emitter<B> {
    /// This emitter, emitting only the events of `S`: emitting a type `S` does not declare is
    /// a compile error.
    pub fn typed<S: EventSet>(&self) -> Typed<Emitter<B>, S> {
        Typed::new(self.clone())
    }
}

impl<B: BusDriver, S: EventSet> Typed<Emitter<B>, S> {
    /// Another namespace; see [`Emitter::of`].
    pub fn of(&self, namespace: impl Into<String>) -> Self {
        Typed::new(self.untyped().of(namespace))
    }

    /// Adds a room; see [`Emitter::to`].
    pub fn to(&self, room: impl Into<String>) -> Self {
        Typed::new(self.untyped().to(room))
    }

    /// Leaves out a room; see [`Emitter::except`].
    pub fn except(&self, room: impl Into<String>) -> Self {
        Typed::new(self.untyped().except(room))
    }

    /// Publishes an event of the set; see [`Emitter::emit_event`].
    pub async fn emit<E>(&self, event: &E) -> Result<(), EmitError>
    where
        S: Contains<E>,
        E: Event + Serialize,
    {
        self.untyped().emit_event(event).await
    }
}

#[cfg(feature = "redis")]
impl Emitter<super::RedisBus> {
    /// An emitter on the Redis server at `url` (`redis://`, `rediss://`, `unix://`). Connects
    /// on the first emit.
    pub fn new(url: &str) -> Result<Self, BusError> {
        Ok(Emitter::with_bus(super::RedisBus::new(url)?))
    }
}

/// A write-only emitter on RabbitMQ (AMQP).
#[cfg(feature = "amqp")]
#[cfg_attr(docsrs, doc(cfg(feature = "amqp")))]
pub type AmqpEmitter = Emitter<super::AmqpBus>;

#[cfg(feature = "amqp")]
impl Emitter<super::AmqpBus> {
    /// An emitter on the AMQP broker at `url` (`amqp://`, `amqps://`). Connects on the first
    /// emit.
    pub fn new(url: &str) -> Result<Self, BusError> {
        Ok(Emitter::with_bus(super::AmqpBus::new(url)?))
    }
}
