//! The client handles ([`Client`], [`ClientSocket`], [`ClientAck`]) and the state behind
//! them, split by job: `client` and `handle` are what the handles do, `state` is the session,
//! namespace and ack bookkeeping with the packet dispatch, `tasks` are the handler queue, the
//! reader of each engine session and the reconnection loop.

mod client;
mod handle;
mod side;
mod state;
mod tasks;

pub use side::ClientSide;
pub(crate) use state::Setup;

use std::sync::Arc;

use crate::args::{EmitError, IntoPayload};

use state::Inner;

/// Where a client stands.
///
/// ```
/// use socketio::client::ConnectionState;
///
/// assert_ne!(ConnectionState::Connected, ConnectionState::Reconnecting);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected, and not trying to be (before `connect`, after `disconnect`, or after
    /// reconnection gave up).
    Disconnected,
    /// The session is open.
    Connected,
    /// The session was lost; the client is reconnecting.
    Reconnecting,
}

/// A Socket.IO client: one Engine.IO session carrying any number of namespaces, with
/// reconnection. Cheap to clone; every clone is the same client.
///
/// Build one with [`Client::builder`]. It keeps running in the background until
/// [`disconnect`](Self::disconnect), even when every handle is dropped.
///
/// ```no_run
/// use std::time::Duration;
/// use socketio::client::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("http://127.0.0.1:3000").connect().await?;
/// let reply: (u32, String) = client
///     .timeout(Duration::from_secs(5))
///     .emit_with_ack("message-with-ack", (1, "two"))
///     .await?;
/// assert_eq!(reply, (1, "two".to_owned()));
/// client.disconnect();
/// client.wait().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("state", &*self.inner.status.borrow())
            .finish_non_exhaustive()
    }
}

/// One namespace of a [`Client`]: emit on it, read its sid. Cheap to clone.
#[derive(Clone)]
pub struct ClientSocket {
    inner: Arc<Inner>,
    namespace: Arc<str>,
}

impl std::fmt::Debug for ClientSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSocket")
            .field("namespace", &self.namespace)
            .field("sid", &self.sid())
            .finish()
    }
}

/// Answers a server's event that asked for an acknowledgement. Send at most once; dropping it
/// sends nothing.
#[derive(Debug)]
pub struct ClientAck {
    socket: ClientSocket,
    id: u64,
}

impl ClientAck {
    /// Sends the acknowledgement with `args`, typed like an emit's (a tuple for several
    /// arguments; binary attachments included).
    ///
    /// ```no_run
    /// use socketio::Payload;
    /// use socketio::client::{Client, ClientAck};
    ///
    /// # async fn run() -> Result<(), socketio::client::ClientError> {
    /// let client = Client::builder("http://127.0.0.1:3000")
    ///     .namespace("/chat", |ns| {
    ///         ns.on("ack-request", |payload: Payload, ack: ClientAck| async move {
    ///             let _ = ack.send(payload); // answer with the same arguments
    ///         })
    ///     })
    ///     .connect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(self, args: impl IntoPayload) -> Result<(), EmitError> {
        let packet = args
            .into_payload()?
            .into_ack(&self.socket.namespace, self.id);
        self.socket
            .inner
            .send_packet(&self.socket.namespace, packet)
    }

    /// The ack id the server gave the event.
    pub fn id(&self) -> u64 {
        self.id
    }
}
