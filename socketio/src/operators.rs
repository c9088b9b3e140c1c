//! Broadcasts: choose sockets with `to` / `except`, then emit to all of them. The packet is
//! encoded once and the same frames go to every chosen socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::FuturesUnordered;

use crate::args::Payload;
use crate::args::{
    AckError, DEFAULT_ACK_TIMEOUT, EmitError, Event, FromPayload, IntoPayload, decode_reply,
};
use crate::engineio::Sid;
use crate::manager::{BroadcastTarget, ClusterEmit, ClusterOp, RemoteAcks};
use crate::ns::namespace::Namespace;
use crate::ns::socket::Socket;
use serde::Serialize;

/// Selects sockets of one namespace for a broadcast.
///
/// Made by [`SocketIo::of`](crate::SocketIo::of), [`SocketIo::to`](crate::SocketIo::to),
/// [`Socket::to`] and [`Socket::broadcast`] (the last two skip the sender).
#[derive(Clone)]
pub struct BroadcastOperator {
    ns: Arc<Namespace>,
    target: BroadcastTarget,
    volatile: bool,
    timeout: Duration,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("namespace", &self.ns.name())
            .field("target", &self.target)
            .field("volatile", &self.volatile)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Broadcasts that start from a socket. They live here, not in `ns`, because the operator
/// sits above the namespace layer.
impl Socket {
    /// A broadcast to `room` that skips this socket.
    pub fn to(&self, room: impl Into<String>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Every socket of this namespace, this one included.
    pub fn namespace_sockets(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.ns().clone())
    }

    /// A broadcast to the whole namespace that skips this socket.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.ns().clone()).skip(self.sid().clone())
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<Namespace>) -> Self {
        BroadcastOperator {
            ns,
            target: BroadcastTarget::default(),
            volatile: false,
            timeout: DEFAULT_ACK_TIMEOUT,
        }
    }

    /// Adds a room: sockets in any of the chosen rooms are reached (all sockets when no room
    /// is chosen). A socket id is also a room.
    pub fn to(mut self, room: impl Into<String>) -> Self {
        self.target.rooms.push(room.into());
        self
    }

    /// Leaves out the sockets in `room`.
    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.target.except.push(room.into());
        self
    }

    /// Reaches only the sockets of this process, even with a pub/sub manager.
    pub fn local(mut self) -> Self {
        self.target.local = true;
        self
    }

    /// Skips sockets that cannot take the message right now (a polling client between two
    /// polls, an upgrade in progress) instead of queueing it: for data that is stale a moment
    /// later, like positions in a game.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sets how long [`emit_with_ack`](Self::emit_with_ack) waits for each socket's ack
    /// (otherwise [`DEFAULT_ACK_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn skip(mut self, sid: Sid) -> Self {
        self.target.skip = Some(sid);
        self
    }

    pub(crate) fn with_target(ns: Arc<Namespace>, target: BroadcastTarget) -> Self {
        BroadcastOperator {
            ns,
            target,
            volatile: false,
            timeout: DEFAULT_ACK_TIMEOUT,
        }
    }

    pub(crate) fn volatile_if(mut self, volatile: bool) -> Self {
        self.volatile = volatile;
        self
    }

    /// Whether other nodes must hear of this operation: not for a local target, nor for one
    /// room that is the id of a socket of this node (sids are unique across nodes).
    fn reaches_other_nodes(&self) -> bool {
        if self.target.local {
            return false;
        }
        match self.target.rooms.as_slice() {
            [room] => !self.ns.has_socket(room),
            _ => true,
        }
    }

    fn publish(&self, op: ClusterOp<'_>) {
        if self.reaches_other_nodes() {
            self.ns.manager().publish(op);
        }
    }

    fn cluster_emit<'a>(&'a self, event: &'a str, payload: &'a Payload) -> ClusterEmit<'a> {
        ClusterEmit {
            namespace: self.ns.name(),
            target: &self.target,
            event,
            payload,
            volatile: self.volatile,
        }
    }

    /// The chosen sockets of this node.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.ns.select(&self.target)
    }

    /// The chosen sockets of every node (of this one with a [`local`](Self::local) target
    /// or a manager for one process): ids, rooms and the node each is on. Other nodes have
    /// the manager's request timeout to answer; python-socketio nodes never do.
    ///
    /// ```no_run
    /// # async fn demo(io: socketio::SocketIo) {
    /// for socket in io.to("lobby").fetch_sockets().await {
    ///     println!("{} on {} is in {:?}", socket.sid, socket.node, socket.rooms);
    /// }
    /// # }
    /// ```
    pub async fn fetch_sockets(&self) -> Vec<crate::manager::SocketInfo> {
        self.ns
            .manager()
            .fetch_sockets(self.ns.name(), &self.target)
            .await
    }

    /// Emits `event` with `args` (typed like [`Socket::emit`]'s) to every chosen socket, on
    /// every node with a pub/sub manager. The packet is encoded once for all of them. A
    /// socket whose queue is full is disconnected as a slow client; the emit itself fails
    /// only when `args` cannot be encoded.
    ///
    /// ```
    /// # fn demo(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// io.to("lobby").except("muted").emit("notice", ("maintenance", 5))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        let payload = args.into_payload()?;
        self.publish(ClusterOp::Emit(self.cluster_emit(event, &payload)));
        let frames = payload.into_event(self.ns.name(), event).into_frames();
        self.ns.for_each_selected(&self.target, |socket| {
            if !self.volatile || socket.engine_socket().is_writable() {
                let _ = socket.send_frames(&frames);
            }
        });
        Ok(())
    }

    /// Emits an [`Event`] value under its own name to every chosen socket; see
    /// [`emit`](Self::emit).
    pub fn emit_event<E: Event + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.emit(E::NAME, event)
    }

    /// Emits `event` with an ack to every chosen socket now, and returns the replies, read
    /// into `R`, as a stream in the order they arrive: one item per socket of this node, its
    /// reply or its own timeout (see [`timeout`](Self::timeout)).
    ///
    /// With a pub/sub manager the emit also reaches the chosen sockets of other nodes, and
    /// their replies join the stream as they come back, keyed by the room the emit was for
    /// (python-socketio's `callback` mechanism; meant for one room, usually a socket id).
    /// How many will answer is not known, so the stream then ends at the timeout.
    ///
    /// ```no_run
    /// # async fn demo(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// use futures_util::StreamExt;
    /// use std::time::Duration;
    ///
    /// let mut votes = io
    ///     .to("voters")
    ///     .timeout(Duration::from_secs(5))
    ///     .emit_with_ack::<bool>("vote?", "lunch at noon")?;
    /// while let Some((sid, vote)) = votes.next().await {
    ///     println!("{sid}: {vote:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn emit_with_ack<R: FromPayload>(
        &self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<AckStream<R>, EmitError> {
        let payload = args.into_payload()?;
        let timeout = self.timeout;
        let remote = if self.reaches_other_nodes() {
            let emit = self.cluster_emit(event, &payload);
            self.ns.manager().publish_with_ack(emit, timeout)
        } else {
            None
        };
        let ack_id = self.ns.next_ack_id();
        let packet = payload
            .into_event(self.ns.name(), event)
            .with_ack_id(ack_id);
        let frames = packet.into_frames();
        let pending = FuturesUnordered::new();
        for socket in self.sockets() {
            let reply = socket.expect_ack(ack_id);
            let reply = match socket.send_frames(&frames) {
                Ok(()) => Ok(socket.await_ack(ack_id, reply, timeout)),
                Err(error) => Err(AckError::from(error)),
            };
            let sid = socket.sid().clone();
            pending.push(Box::pin(async move {
                let result = match reply {
                    Ok(reply) => reply.await,
                    Err(error) => Err(error),
                };
                (sid, result)
            }) as PendingAck);
        }
        Ok(AckStream {
            pending,
            remote: remote.map(|replies| RemoteReplies {
                replies,
                deadline: Box::pin(tokio::time::sleep(timeout)),
            }),
            reply: std::marker::PhantomData,
        })
    }

    /// Makes every chosen socket join `room`, on every node with a pub/sub manager.
    pub fn join(&self, room: &str) {
        for socket in self.sockets() {
            socket.join(room);
        }
        self.publish(ClusterOp::Join {
            namespace: self.ns.name(),
            target: &self.target,
            room,
        });
    }

    /// Makes every chosen socket leave `room`, on every node with a pub/sub manager.
    pub fn leave(&self, room: &str) {
        for socket in self.sockets() {
            socket.leave(room);
        }
        self.publish(ClusterOp::Leave {
            namespace: self.ns.name(),
            target: &self.target,
            room,
        });
    }

    /// Disconnects every chosen socket, on every node with a pub/sub manager.
    pub fn disconnect(&self) {
        for socket in self.sockets() {
            socket.disconnect();
        }
        self.publish(ClusterOp::Disconnect {
            namespace: self.ns.name(),
            target: &self.target,
        });
    }
}

/// Replies from other nodes, until the emit's timeout.
struct RemoteReplies {
    replies: RemoteAcks,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

type PendingAck = Pin<Box<dyn Future<Output = (Sid, Result<Payload, AckError>)> + Send>>;

/// The replies to a broadcast with ack ([`BroadcastOperator::emit_with_ack`]), read into
/// `R`, as they arrive; each socket yields once, with its reply or its error.
#[must_use = "the replies are only gathered when the stream is polled"]
pub struct AckStream<R = Payload> {
    pending: FuturesUnordered<PendingAck>,
    remote: Option<RemoteReplies>,
    reply: std::marker::PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for AckStream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckStream")
            .field("waiting", &self.pending.len())
            .finish()
    }
}

impl<R: FromPayload> AckStream<R> {
    /// Waits for every socket and returns all results.
    pub async fn collect_all(self) -> Vec<(Sid, Result<R, AckError>)> {
        futures_util::StreamExt::collect(self).await
    }
}

impl<R> AckStream<R> {
    /// How many sockets of this node have not answered or timed out yet.
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }

    /// The next raw reply, from this node or another.
    fn poll_payload(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(Sid, Result<Payload, AckError>)>> {
        let local = match Pin::new(&mut self.pending).poll_next(cx) {
            Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
            Poll::Ready(None) => true,
            Poll::Pending => false,
        };
        let Some(remote) = &mut self.remote else {
            return if local {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        };
        if let Poll::Ready(Some((room, reply))) = remote.replies.poll_recv(cx) {
            return Poll::Ready(Some((Sid::from(room.as_str()), Ok(reply))));
        }
        if remote.deadline.as_mut().poll(cx).is_ready() {
            self.remote = None;
            if local {
                return Poll::Ready(None);
            }
        }
        Poll::Pending
    }
}

impl<R: FromPayload> Stream for AckStream<R> {
    type Item = (Sid, Result<R, AckError>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_payload(cx)
            .map(|item| item.map(|(sid, reply)| (sid, reply.and_then(decode_reply))))
    }
}
