//! Broadcasts: choose sockets with `to` / `except`, then emit to all of them. The packet is
//! encoded once and the same frames go to every chosen socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::FuturesUnordered;

use crate::engineio::Sid;
use crate::manager::BroadcastTarget;
use crate::ns::ack::AckError;
use crate::ns::namespace::Namespace;
use crate::ns::payload::{Frames, Payload};
use crate::ns::socket::Socket;

/// Selects sockets of one namespace for a broadcast.
///
/// Made by [`SocketIo::of`](crate::SocketIo::of), [`SocketIo::to`](crate::SocketIo::to),
/// [`Socket::to`] and [`Socket::broadcast`] (the last two skip the sender).
#[derive(Clone)]
pub struct BroadcastOperator {
    ns: Arc<Namespace>,
    target: BroadcastTarget,
    volatile: bool,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("namespace", &self.ns.name())
            .field("target", &self.target)
            .field("volatile", &self.volatile)
            .finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<Namespace>) -> Self {
        BroadcastOperator {
            ns,
            target: BroadcastTarget::default(),
            volatile: false,
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

    pub(crate) fn skip(mut self, sid: Sid) -> Self {
        self.target.skip = Some(sid);
        self
    }

    /// The chosen sockets.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.ns.select(&self.target)
    }

    /// Emits `event` to every chosen socket; returns how many were reached.
    pub fn emit(&self, event: &str, payload: impl Into<Payload>) -> usize {
        let frames = Frames::encode(payload.into().into_event(self.ns.name(), event));
        self.sockets()
            .iter()
            .filter(|socket| !self.volatile || socket.engine_socket().is_writable())
            .filter(|socket| socket.send_frames(&frames).is_ok())
            .count()
    }

    /// Emits `event` with an ack to every chosen socket now, and returns the replies as a
    /// stream, in the order they arrive: one item per socket, its reply or its own timeout.
    ///
    /// ```no_run
    /// # async fn demo(io: socketio::SocketIo) {
    /// use futures_util::StreamExt;
    /// use std::time::Duration;
    ///
    /// let mut replies = io.to("voters").emit_with_ack("vote?", Vec::new(), Duration::from_secs(5));
    /// while let Some((sid, reply)) = replies.next().await {
    ///     println!("{sid}: {reply:?}");
    /// }
    /// # }
    /// ```
    pub fn emit_with_ack(
        &self,
        event: &str,
        payload: impl Into<Payload>,
        timeout: Duration,
    ) -> AckStream {
        let ack_id = self.ns.next_ack_id();
        let packet = payload
            .into()
            .into_event(self.ns.name(), event)
            .with_ack_id(ack_id);
        let frames = Frames::encode(packet);
        let pending = FuturesUnordered::new();
        for socket in self.sockets() {
            let reply = socket.expect_ack(ack_id);
            let sent = socket.send_frames(&frames);
            pending.push(Box::pin(async move {
                let result = match sent {
                    Ok(()) => socket.await_ack(ack_id, reply, timeout).await,
                    Err(err) => Err(err.into()),
                };
                (socket.id().clone(), result)
            }) as PendingAck);
        }
        AckStream { pending }
    }

    /// Makes every chosen socket join `room`.
    pub fn join(&self, room: &str) {
        for socket in self.sockets() {
            socket.join(room);
        }
    }

    /// Makes every chosen socket leave `room`.
    pub fn leave(&self, room: &str) {
        for socket in self.sockets() {
            socket.leave(room);
        }
    }

    /// Disconnects every chosen socket.
    pub fn disconnect(&self) {
        for socket in self.sockets() {
            socket.disconnect();
        }
    }
}

type PendingAck = Pin<Box<dyn Future<Output = (Sid, Result<Payload, AckError>)> + Send>>;

/// The replies to a broadcast with ack ([`BroadcastOperator::emit_with_ack`]), as they
/// arrive; each socket yields once, with its reply or its error.
#[must_use = "the replies are only gathered when the stream is polled"]
pub struct AckStream {
    pending: FuturesUnordered<PendingAck>,
}

impl std::fmt::Debug for AckStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckStream")
            .field("waiting", &self.pending.len())
            .finish()
    }
}

impl AckStream {
    /// Waits for every socket and returns all results.
    pub async fn collect_all(self) -> Vec<(Sid, Result<Payload, AckError>)> {
        futures_util::StreamExt::collect(self).await
    }

    /// How many sockets have not answered or timed out yet.
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }
}

impl Stream for AckStream {
    type Item = (Sid, Result<Payload, AckError>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.pending).poll_next(cx)
    }
}
