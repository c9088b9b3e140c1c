#![doc = include_str!("../../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "fuzzing")]
#[path = "fuzzing.rs"]
pub mod __fuzz;
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod args;
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_support;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod engineio;
pub mod handler;
#[cfg(test)]
mod layers;
pub mod manager;
pub(crate) mod ns;
pub mod operators;
pub mod parser;
pub(crate) mod registry;
pub(crate) mod server;
mod typed;

pub use args::Payload;
pub use args::{AckError, EmitError, Event, EventSet, Typed, WithTimeout};
pub use engineio::{bind, serve};
pub use handler::NamespaceBuilder;
pub use ns::ack::AckSender;
pub use ns::namespace::{ConnectError, EVENT_REFUSED, IncomingEvent};
pub use ns::socket::{DisconnectReason, Socket};
pub use operators::{AckStream, BroadcastOperator};
pub use registry::RegistryError;
pub use server::glue::{SocketIoConnection, SocketIoHandler};
pub use server::{BuildError, SocketIo, SocketIoBuilder};
#[doc = include_str!("docs/event.md")]
pub use socketio_macros::Event;
#[doc = include_str!("docs/event_set.md")]
pub use socketio_macros::event_set;
#[doc = include_str!("docs/namespace.md")]
pub use socketio_macros::namespace;
#[doc = include_str!("docs/on.md")]
pub use socketio_macros::on;
