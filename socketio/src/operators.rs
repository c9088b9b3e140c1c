//! Broadcasts: choose sockets with `to` / `except`, then emit to all of them. The packet is
//! encoded once and the same frames go to every chosen socket.

use std::sync::Arc;
use std::time::Duration;

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
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("namespace", &self.ns.name())
            .field("target", &self.target)
            .finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<Namespace>) -> Self {
        BroadcastOperator {
            ns,
            target: BroadcastTarget::default(),
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
            .filter(|socket| socket.send_frames(&frames).is_ok())
            .count()
    }

    /// Emits `event` with an ack to every chosen socket and waits for each reply, or its
    /// timeout, independently. One result per socket.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        payload: impl Into<Payload>,
        timeout: Duration,
    ) -> Vec<(Sid, Result<Payload, AckError>)> {
        let ack_id = self.ns.next_ack_id();
        let packet = payload
            .into()
            .into_event(self.ns.name(), event)
            .with_ack_id(ack_id);
        let frames = Frames::encode(packet);
        let waits = self.sockets().into_iter().map(|socket| {
            let frames = frames.clone();
            async move {
                let reply = socket.expect_ack(ack_id);
                let result = match socket.send_frames(&frames) {
                    Ok(()) => socket.await_ack(ack_id, reply, timeout).await,
                    Err(err) => Err(err.into()),
                };
                (socket.id().clone(), result)
            }
        });
        futures_util::future::join_all(waits).await
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
