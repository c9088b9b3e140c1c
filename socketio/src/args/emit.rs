//! What an emit takes and gives back: typed arguments in, typed replies out, and the one
//! error type of a failed emit, the same on every side (socket, broadcast, server handle,
//! write-only emitter, client).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{SerdeError, from_args, to_payload};
use crate::args::Payload;
use crate::engineio::SendError;

/// The arguments of an emit or an ack: any [`Serialize`] value, or a [`Payload`] that is
/// already encoded.
///
/// A value is split into arguments the way [`to_payload`] says: a tuple gives one argument
/// per element, `()` none, anything else exactly one (a `Vec` is one array argument, as in
/// Node's `socket.emit("list", [1, 2])`). Binary data (`bytes::Bytes`, `serde_bytes`) travels
/// as attachments at any depth.
///
/// ```
/// use socketio::args::IntoPayload;
///
/// let payload = ("hello", 42).into_payload().unwrap();
/// assert_eq!(payload.args, [serde_json::json!("hello"), serde_json::json!(42)]);
/// assert_eq!(vec![1, 2].into_payload().unwrap().args.len(), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be emitted",
    label = "not `serde::Serialize`",
    note = "emit a value that implements `serde::Serialize` (a tuple for several arguments), or a pre-encoded `socketio::Payload`"
)]
pub trait IntoPayload {
    /// Serializes the arguments.
    fn into_payload(self) -> Result<Payload, SerdeError>;
}

impl<T: Serialize> IntoPayload for T {
    fn into_payload(self) -> Result<Payload, SerdeError> {
        to_payload(&self)
    }
}

/// The escape hatch: arguments encoded beforehand go out as they are.
impl IntoPayload for Payload {
    fn into_payload(self) -> Result<Payload, SerdeError> {
        Ok(self)
    }
}

/// A type that is one event: it knows its name (and optionally the namespace its handlers
/// belong to), so emitting it needs no name: `socket.emit_event(&line)`. Its fields are the
/// arguments, split like any emit's: a struct is one object argument, a tuple struct one
/// argument per field.
///
/// Derive it with `#[derive(socketio::Event)]` and an `#[event("name")]` (or
/// `#[event("name", namespace = "/chat")]`) attribute; see [the derive](macro@crate::Event).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event",
    label = "no event name",
    note = "give the type its name with `#[derive(socketio::Event)]` and `#[event(\"name\")]`"
)]
pub trait Event {
    /// The event name.
    const NAME: &'static str;
    /// The namespace the event belongs to, when it was declared with one. It is where
    /// `#[socketio::on(Type)]` registers the handler and where
    /// [`Client::emit_event`](crate::client::Client::emit_event) sends it; a socket, a
    /// broadcast or an emitter already has a namespace and sends every event on it.
    const NAMESPACE: Option<&'static str> = None;
}

/// What an awaited ack is read into: any [`DeserializeOwned`] type (a tuple for several
/// arguments, read like handler arguments), or the raw [`Payload`].
///
/// ```
/// use socketio::Payload;
/// use socketio::args::{FromPayload, IntoPayload};
///
/// let reply = ("ok", 3).into_payload().unwrap();
/// let (status, count) = <(String, u32)>::from_payload(reply.clone()).unwrap();
/// assert_eq!((status.as_str(), count), ("ok", 3));
/// assert_eq!(Payload::from_payload(reply.clone()).unwrap(), reply);
/// ```
#[diagnostic::on_unimplemented(
    message = "an ack cannot be read into `{Self}`",
    label = "not `serde::Deserialize`",
    note = "ask for a type that implements `serde::de::DeserializeOwned` (a tuple for several arguments), or for the raw `socketio::Payload`"
)]
pub trait FromPayload: Sized {
    /// Deserializes the arguments.
    fn from_payload(payload: Payload) -> Result<Self, SerdeError>;
}

impl<T: DeserializeOwned> FromPayload for T {
    fn from_payload(payload: Payload) -> Result<Self, SerdeError> {
        from_args(&payload)
    }
}

/// The raw arguments, binary attachments included.
impl FromPayload for Payload {
    fn from_payload(payload: Payload) -> Result<Self, SerdeError> {
        Ok(payload)
    }
}

/// Why an emit failed. Nothing is dropped silently: every emit returns this, on the server
/// and on the client alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The arguments could not be serialized.
    #[error("the arguments could not be encoded: {0}")]
    Encode(#[from] SerdeError),
    /// The socket or namespace is not connected (any more).
    #[error("the socket is not connected")]
    Closed,
    /// The outbound queue (or the table of pending acks) is full: the peer reads slower
    /// than this side writes. On the server the session is then closed as a slow client.
    #[error("the outbound queue is full")]
    QueueFull,
    /// The message bus refused the emit (write-only emitters).
    #[error("the message bus refused the emit: {0}")]
    Bus(String),
}

impl From<SendError> for EmitError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::QueueFull => EmitError::QueueFull,
            SendError::Closed => EmitError::Closed,
        }
    }
}

/// Why an awaited ack gave no reply, the same on the server and on the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// No answer within the timeout.
    #[error("no acknowledgement in time")]
    Timeout,
    /// The peer disconnected before answering.
    #[error("disconnected before acknowledging")]
    Disconnected,
    /// The event could not be sent.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// The reply came but does not deserialize into the type asked for.
    #[error("the acknowledgement could not be decoded: {0}")]
    Decode(SerdeError),
}

impl From<SendError> for AckError {
    fn from(error: SendError) -> Self {
        AckError::Emit(error.into())
    }
}

/// A socket with a deadline for the acks of its next emit, made by
/// [`Socket::timeout`](crate::Socket::timeout) on the server and by `ClientSocket::timeout` on
/// the client, with the same methods on both.
#[derive(Debug, Clone, Copy)]
pub struct WithTimeout<S> {
    pub(crate) socket: S,
    pub(crate) timeout: Duration,
}

impl<S> WithTimeout<S> {
    pub(crate) fn new(socket: S, timeout: Duration) -> Self {
        WithTimeout { socket, timeout }
    }
}

/// Reads a reply into `R`, or says why it does not fit.
pub(crate) fn decode_reply<R: FromPayload>(payload: Payload) -> Result<R, AckError> {
    R::from_payload(payload).map_err(AckError::Decode)
}

/// How long an awaited ack is waited for when no `timeout(…)` was given: a minute, like
/// python-socketio's `call`.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(60);
