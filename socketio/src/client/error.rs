//! The client's error type and disconnect reasons.

use serde_json::Value;

/// Why a client operation failed.
///
/// ```
/// use socketio::client::ClientError;
///
/// let error = ClientError::NotConnected("/chat".into());
/// assert_eq!(error.to_string(), "namespace /chat is not connected");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server URL or an option could not be used.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// A network or TLS error, or a connection that ended unexpectedly.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server answered an HTTP request with an error status.
    #[error("HTTP {status} from the server: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The Engine.IO open packet was missing or malformed.
    #[error("bad handshake from the server: {0}")]
    Handshake(String),
    /// The server sent something that is not valid Engine.IO or Socket.IO.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server sent more data in one response or frame than the client accepts.
    #[error("the server sent more than {limit} bytes at once")]
    PayloadTooLarge {
        /// The client's limit ([`ClientBuilder::max_payload`](super::ClientBuilder::max_payload)).
        limit: usize,
    },
    /// The server refused to connect a namespace (CONNECT_ERROR).
    #[error("the server refused namespace {namespace}: {message}")]
    ConnectRefused {
        /// The refused namespace.
        namespace: String,
        /// The server's `message`.
        message: String,
        /// The server's `data`, if it sent any.
        data: Option<Value>,
    },
    /// Something did not happen in time (connecting, or an awaited ack).
    #[error("timed out")]
    Timeout,
    /// The namespace is not connected, so nothing can be sent on it.
    #[error("namespace {0} is not connected")]
    NotConnected(String),
    /// The connection ended before an awaited ack arrived.
    #[error("disconnected before the answer arrived")]
    Disconnected,
    /// The outbound queue is full: the server does not read fast enough.
    #[error("the outbound queue is full")]
    QueueFull,
    /// Arguments could not be serialized or deserialized.
    #[error("arguments: {0}")]
    Args(#[from] crate::args::SerdeError),
}

/// Why a namespace (or the whole client) was disconnected, with the names the JavaScript client
/// uses.
///
/// ```
/// use socketio::client::DisconnectReason;
///
/// assert_eq!(DisconnectReason::PingTimeout.as_str(), "ping timeout");
/// assert!(DisconnectReason::TransportClose.reconnects());
/// assert!(!DisconnectReason::ServerDisconnect.reconnects());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The application called `disconnect()`.
    ClientDisconnect,
    /// The server disconnected the namespace (or closed the session).
    ServerDisconnect,
    /// No ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The connection was closed (the server went away or sent a close packet).
    TransportClose,
    /// The connection failed; the text says how.
    TransportError(String),
    /// The server sent a packet the client could not decode; the text says which.
    ParseError(String),
}

impl DisconnectReason {
    /// The JavaScript client's name for the reason (`"io server disconnect"`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::ClientDisconnect => "io client disconnect",
            DisconnectReason::ServerDisconnect => "io server disconnect",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError(_) => "transport error",
            DisconnectReason::ParseError(_) => "parse error",
        }
    }

    /// Whether the client reconnects by itself after this (when reconnection is on): it does
    /// for everything but a disconnect asked for by either side.
    pub fn reconnects(&self) -> bool {
        !matches!(
            self,
            DisconnectReason::ClientDisconnect | DisconnectReason::ServerDisconnect
        )
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DisconnectReason::TransportError(detail) | DisconnectReason::ParseError(detail) => {
                write!(f, "{}: {detail}", self.as_str())
            }
            _ => f.write_str(self.as_str()),
        }
    }
}
