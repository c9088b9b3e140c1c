//! The handler model: what a handler may take and return, the same for the functions of
//! `#[socketio::on]` and `#[socketio::namespace]` and for the `async fn`s and closures
//! registered by hand on a [`NamespaceBuilder`] (any [`Handler`]), on the server and on the
//! client.
//!
//! A handler's parameters come in two kinds, extractors first:
//!
//! * **extractors** take something from the call: [`Arc<Socket>`](crate::Socket),
//!   [`SocketIo`](crate::SocketIo), [`State<T>`], [`Auth<T>`], [`Session<T>`],
//!   [`Handshake`](crate::engineio::Handshake), [`AckSender`](crate::AckSender) (or
//!   `Option<AckSender>`) to answer the ack by hand, [`EventName`] (the event name, for
//!   catch-alls), [`DisconnectReason`](crate::DisconnectReason) (disconnect handlers),
//!   [`Payload`](crate::Payload) for every argument not taken yet, untouched, and [`Args<T>`]
//!   for every argument not taken yet read as one value (an event struct);
//! * **event arguments** are every other type: each takes the event's next argument,
//!   deserialized with serde (binary attachments become `bytes::Bytes` at any depth; see
//!   [`args`](crate::args)). An `Option<T>` is `None` when the client sent fewer arguments;
//!   [`Rest`](crate::args::Rest) takes all the remaining ones as JSON.
//!
//! An argument that does not deserialize stops the call: the handler does not run, the
//! client's ack (if it asked for one) receives `{"error": "invalid arguments: …"}`, and it
//! is logged.
//!
//! The return value of an event handler is the ack, split like an emit's value: `()` acks
//! with no arguments, a tuple with one argument per element, any other `T: Serialize` with
//! one, a [`Payload`](crate::Payload) as it is, and `Result<T, E>` with the ok value or, for
//! `Err`, `{"error": message}` ([`HandlerError`] makes `?` work on any error). Nothing is sent
//! when the client asked for no ack or the handler took the `AckSender`. A connect handler
//! returns `()`, `bool`, or `Result<(), ConnectError>` (a macro handler also
//! `Result<(), E>` with `E: Into<ConnectError>`); its first event argument is the CONNECT's
//! auth payload.
//!
//! Where the two ways differ: a closure names its parameter types; a macro handler's
//! `Result` error needs only `Display`, a hand-registered one `Serialize` (a string is the
//! message, [`HandlerError`] converts from any error); and a compile error in a macro
//! handler points at the parameter or return type at fault, in a hand-registered one at the
//! handler, whose unmet [`Handler`] bound it reports.

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
