//! The one trait through which the engine talks to the layer above it.

use std::future::Future;
use std::sync::Arc;

use super::error::ConnectRejection;
use super::socket::{DisconnectReason, Message, Socket};

/// Receives the events of every Engine.IO session.
///
/// The engine awaits each call before it reads the next packet of that session, so messages
/// arrive in order; a handler that does slow work should spawn it. For closures instead of a
/// trait, see [`EngineIo`](super::EngineIo).
pub trait EngineHandler: Send + Sync + 'static {
    /// What the handler keeps for each session. [`on_connect`](Self::on_connect) makes it and
    /// the engine hands it back with every later call of that session, so the layer above
    /// needs no lookup of its own (use `()` when there is nothing to keep).
    type Connection: Clone + Send + Sync + 'static;

    /// A client completed the handshake. Returning an error refuses the session with HTTP 401.
    fn on_connect(
        &self,
        socket: &Arc<Socket>,
    ) -> impl Future<Output = Result<Self::Connection, ConnectRejection>> + Send;

    /// A message arrived.
    fn on_message(
        &self,
        socket: &Arc<Socket>,
        connection: &Self::Connection,
        message: Message,
    ) -> impl Future<Output = ()> + Send;

    /// The session ended; called exactly once per accepted session.
    fn on_disconnect(
        &self,
        socket: &Arc<Socket>,
        connection: &Self::Connection,
        reason: DisconnectReason,
    ) -> impl Future<Output = ()> + Send;
}
