//! The narrow view a manager has of the server it serves: this node's own sockets, for the
//! operations other nodes publish. The server implements it, so the manager never names the
//! namespace or operator layers above it.

use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::Stream;

use super::{BroadcastTarget, SocketInfo};
use crate::args::{AckError, Payload};

/// Replies of this node's clients to an emit with ack: how many are awaited, and the replies
/// as they come (each ends with its reply or its error, the stream ends with the last one).
pub(crate) struct LocalAcks {
    pub(crate) waiting: usize,
    pub(crate) replies: Pin<Box<dyn Stream<Item = Result<Payload, AckError>> + Send>>,
}

/// This node's sockets, as a pub/sub manager applies what other nodes publish. Every
/// operation is local (nothing is published again) and answers `None` or `false` when the
/// namespace does not exist on this node.
pub(crate) trait LocalNode: Send + Sync {
    /// Emits `event` to the chosen sockets of `namespace`.
    fn emit(
        &self,
        namespace: &str,
        target: BroadcastTarget,
        event: &str,
        payload: Payload,
        volatile: bool,
    ) -> bool;

    /// Emits `event` to the chosen sockets and waits up to `timeout` for each one's ack.
    fn emit_with_ack(
        &self,
        namespace: &str,
        target: BroadcastTarget,
        event: &str,
        payload: Payload,
        volatile: bool,
        timeout: Duration,
    ) -> Option<LocalAcks>;

    /// The chosen sockets join `room`.
    fn join(&self, namespace: &str, target: BroadcastTarget, room: &str) -> bool;

    /// The chosen sockets leave `room`.
    fn leave(&self, namespace: &str, target: BroadcastTarget, room: &str) -> bool;

    /// The chosen sockets are disconnected.
    fn disconnect(&self, namespace: &str, target: BroadcastTarget) -> bool;

    /// `room` of `namespace` is emptied.
    fn close_room(&self, namespace: &str, room: &str) -> bool;

    /// The chosen connected sockets: id and rooms; `node` is left empty for the caller.
    fn sockets(&self, namespace: &str, target: BroadcastTarget) -> Vec<SocketInfo>;
}

/// The server a manager serves, as [`Manager::attach`](super::Manager::attach) receives it.
/// It does not keep the server alive.
#[derive(Clone)]
pub struct ServerNode {
    local: Weak<dyn LocalNode>,
}

impl std::fmt::Debug for ServerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerNode").finish_non_exhaustive()
    }
}

impl ServerNode {
    pub(crate) fn new(local: Weak<dyn LocalNode>) -> Self {
        ServerNode { local }
    }

    /// This node's sockets while the server is alive.
    pub(crate) fn local(&self) -> Option<Arc<dyn LocalNode>> {
        self.local.upgrade()
    }
}
