//! What a handler registered by hand may return, by kind of handler, and the error type that
//! lets it use `?`.

use std::fmt;

use super::call::{AckReply, Call, Side};
use crate::args::Payload;
use crate::ns::namespace::{Completion, ConnectError};

/// The kinds of handler, which decide what a return value means. A registration method
/// names its kind ([`NamespaceBuilder::on`](crate::NamespaceBuilder::on) takes an
/// [`Event`](kind::Event) handler); nobody writes these types.
pub mod kind {
    /// An event handler: its return value is the ack.
    #[derive(Debug)]
    pub enum Event {}

    /// A connect handler or middleware: its return value accepts or refuses the socket.
    #[derive(Debug)]
    pub enum Connect {}

    /// A handler with nothing to answer (disconnect, disconnecting, and the client's
    /// connect): it returns `()`.
    #[derive(Debug)]
    pub enum Notice {}
}

/// A return value that can be an ack: any `serde::Serialize` value, split into arguments
/// the way an emit splits its value (`()` none, a tuple one per element, anything else
/// one), or a [`Payload`] encoded beforehand.
///
/// A `Result` acks with its `Ok` value, or for `Err` with `{"error": …}`, the error's
/// message when it is a string ([`String`], [`HandlerError`]) and its JSON otherwise.
///
/// ```
/// use socketio::handler::HandlerError;
///
/// // Acks with `[42]`, or `[{"error": "no such user"}]`.
/// async fn lookup(name: String) -> Result<u32, HandlerError> {
///     match name.as_str() {
///         "answer" => Ok(42),
///         _ => Err(HandlerError::new("no such user")),
///     }
/// }
///
/// let io = socketio::SocketIo::builder()
///     .namespace("/", |ns| ns.on("lookup", lookup))
///     .build()
///     .unwrap();
/// # let _ = io;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as an ack",
    label = "an event handler's return value becomes its ack",
    note = "return `()` for no ack argument, a `serde::Serialize` type for one, a tuple for several, a `Result` of those, or a `socketio::Payload`",
    note = "a `Result`'s error must be `serde::Serialize` (a `String`, or `socketio::handler::HandlerError`, which any `std::error::Error` converts into with `?`)"
)]
pub trait IntoAck {
    /// The ack.
    fn into_ack(self) -> AckReply;
}

impl<T: serde::Serialize> IntoAck for T {
    fn into_ack(self) -> AckReply {
        AckReply::value(&self)
    }
}

impl IntoAck for Payload {
    fn into_ack(self) -> AckReply {
        AckReply::payload(self)
    }
}

/// What the return value of a handler of kind `K` does to its call.
#[diagnostic::on_unimplemented(
    message = "a handler of this kind cannot return `{Self}`",
    label = "not a return value for this handler",
    note = "an event handler returns its ack: `()`, a `serde::Serialize` value, a tuple, a `Result` of those, or a `Payload`",
    note = "a connect handler or middleware returns `()`, `bool` or `Result<(), ConnectError>`; other handlers return `()`"
)]
pub trait HandlerOutput<K, S: Side> {
    /// Ends the call with this value.
    fn finish(self, call: Call<S>) -> Completion;
}

impl<T: IntoAck, S: Side> HandlerOutput<kind::Event, S> for T {
    fn finish(self, call: Call<S>) -> Completion {
        call.reply(self.into_ack())
    }
}

/// Accepts the socket.
impl<S: Side> HandlerOutput<kind::Connect, S> for () {
    fn finish(self, call: Call<S>) -> Completion {
        call.connected(self)
    }
}

/// `false` refuses the socket with "Connection rejected by server".
impl<S: Side> HandlerOutput<kind::Connect, S> for bool {
    fn finish(self, call: Call<S>) -> Completion {
        call.connected(self)
    }
}

/// `Err` refuses the socket with the error's message and data. The error type is
/// [`ConnectError`] itself, so that a closure ending in `Ok(())` needs no annotation.
impl<S: Side> HandlerOutput<kind::Connect, S> for Result<(), ConnectError> {
    fn finish(self, call: Call<S>) -> Completion {
        call.connected(self)
    }
}

impl<S: Side> HandlerOutput<kind::Notice, S> for () {
    fn finish(self, call: Call<S>) -> Completion {
        call.finished()
    }
}

/// An error an event handler returns as `Result<T, HandlerError>`: the client's ack gets
/// `{"error": message}`. Every [`std::error::Error`] converts into it, so `?` works on them;
/// [`HandlerError::new`] makes one from a message.
///
/// ```
/// use socketio::handler::HandlerError;
///
/// async fn parse(text: String) -> Result<u32, HandlerError> {
///     let number: u32 = text.parse()?;
///     if number == 0 {
///         return Err(HandlerError::new("zero is not allowed"));
///     }
///     Ok(number)
/// }
/// # let _ = parse;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError(String);

impl HandlerError {
    /// An error with this message.
    pub fn new(message: impl fmt::Display) -> Self {
        HandlerError(message.to_string())
    }

    /// The message the client receives.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// `HandlerError` is not itself an `Error`, so this blanket conversion cannot overlap with
// `From<HandlerError> for HandlerError` (the way `anyhow::Error` does it).
impl<E: std::error::Error> From<E> for HandlerError {
    fn from(error: E) -> Self {
        HandlerError(error.to_string())
    }
}

impl serde::Serialize for HandlerError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}
