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
    /// A client completed the handshake. Returning an error refuses the session with HTTP 401.
    fn on_connect(
        &self,
        socket: &Arc<Socket>,
    ) -> impl Future<Output = Result<(), ConnectRejection>> + Send;

    /// A message arrived.
    fn on_message(&self, socket: &Arc<Socket>, message: Message)
    -> impl Future<Output = ()> + Send;

    /// The session ended; called exactly once per accepted session.
    fn on_disconnect(
        &self,
        socket: &Arc<Socket>,
        reason: DisconnectReason,
    ) -> impl Future<Output = ()> + Send;
}
