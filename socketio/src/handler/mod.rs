//! Typed handlers: what `#[socketio::on]` and `#[socketio::namespace]` functions may take
//! and return.
//!
//! A handler's parameters come in two kinds, extractors first:
//!
//! * **extractors** take something from the call: [`Arc<Socket>`](crate::Socket),
//!   [`SocketIo`](crate::SocketIo), [`State<T>`], [`Auth<T>`], [`Session<T>`],
//!   [`Handshake`](crate::engineio::Handshake), [`AckSender`](crate::AckSender) (or
//!   `Option<AckSender>`) to answer the ack by hand, [`EventName`] (the event name, for
//!   catch-alls), [`DisconnectReason`](crate::DisconnectReason) (disconnect handlers), and
//!   [`Payload`](crate::Payload) for every argument not taken yet, untouched;
//! * **event arguments** are every other type: each takes the event's next argument,
//!   deserialized with serde (binary attachments become `bytes::Bytes` at any depth; see
//!   [`args`](crate::args)). An `Option<T>` is `None` when the client sent fewer arguments;
//!   [`Rest`](crate::args::Rest) takes all the remaining ones as JSON.
//!
//! An argument that does not deserialize stops the call: the handler does not run, the
//! client's ack (if it asked for one) receives `{"error": "invalid arguments: …"}`, and it
//! is logged.
//!
//! The return value of an event handler is the ack: `()` acks with no arguments, a
//! `T: Serialize` with one, a tuple with one argument per element, and `Result<T, E>` with the
//! ok value or, for `Err`, `{"error": "<E as Display>"}`. Nothing is sent when the client
//! asked for no ack or the handler took the `AckSender`. A connect handler returns `()`,
//! `bool`, or `Result<(), E>` with `E: Into<ConnectError>`; its first event argument is the
//! CONNECT's auth payload.

// `call` and `class` are visible to the crate so that `__private` can re-export the plumbing
// the macros name; only the handler model itself is public here.
pub(crate) mod call;
pub(crate) mod class;
mod extract;
mod function;
mod namespace;
mod output;

#[cfg(feature = "client")]
pub(crate) use call::CallKind;
pub(crate) use call::{BoxFuture, ServerContext, StateMap};
pub use call::{Call, CallError, ServerSide, Side};
pub use class::ClassNamespace;
pub(crate) use class::Instance;
pub use extract::{Args, Auth, EventName, FromCall, Session, State, ViaArgument, ViaExtractor};
pub use function::Handler;
pub use namespace::NamespaceBuilder;
pub use output::{HandlerError, HandlerOutput, IntoAck, kind};
