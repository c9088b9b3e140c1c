//! The Socket.IO v5 / Engine.IO v4 client (feature `client`), in the manner of
//! python-socketio's `AsyncClient` and the official JavaScript client.
//!
//! * One Engine.IO session over long-polling, WebSocket, or polling upgraded to WebSocket
//!   ([`Transports`]), with heartbeats, payload limits, custom headers and query, a custom
//!   path, and TLS through rustls for `https://` and `wss://`.
//! * Any number of namespaces on that session, each with its own auth (a value, or a closure
//!   evaluated again on every reconnection), handlers, and sid.
//! * Events with binary data at any depth ([`Payload`](crate::Payload), or serde through
//!   [`crate::args`]), acks in both directions: [`ClientSocket::emit_with_ack`],
//!   [`ClientSocket::call`], and handlers that answer the server's ack ([`ClientAck`], or the
//!   return value with [`ClientNamespaceBuilder::on_typed`]).
//! * Reconnection with exponential backoff and jitter ([`Reconnection`]); namespaces are
//!   rejoined with fresh auth.
//! * [`blocking::Client`] for programs without an async runtime, and [`SimpleClient`] /
//!   [`blocking::SimpleClient`] for request/response style code.
//!
//! ```no_run
//! use std::time::Duration;
//! use serde_json::json;
//! use socketio::client::{Client, Reconnection};
//! use socketio::args::to_payload;
//!
//! # async fn run() -> Result<(), socketio::client::ClientError> {
//! let client = Client::builder("http://127.0.0.1:3000")
//!     .reconnection(Reconnection { attempts: 10, ..Reconnection::default() })
//!     .namespace("/chat", |ns| {
//!         ns.auth_with(|| async { json!({ "token": "secret" }) })
//!             .on("echo", |_socket, payload, _ack| async move {
//!                 println!("echo: {:?}", payload.args);
//!             })
//!             // The returned value answers the server's ack.
//!             .on_typed("ack-request", |_socket, (question,): (String,)| async move {
//!                 format!("answer to {question}")
//!             })
//!     })
//!     .connect()
//!     .await?;
//! let chat = client.of("/chat");
//! chat.emit("echo", to_payload(&("hi", bytes::Bytes::from_static(b"\x00\x01")))?)?;
//! let reply = chat.call("echo-ack", vec![json!(1)], Duration::from_secs(5)).await?;
//! assert_eq!(reply.args, [json!(1)]);
//! client.disconnect();
//! # Ok(())
//! # }
//! ```
//!
//! # For the handler macros
//!
//! Every handler is stored in its erased form,
//! `Fn(ClientSocket, Payload, Option<ClientAck>) -> impl Future<Output = ()>`
//! ([`ClientNamespaceBuilder::on`]). A `#[socketio::on]` for client handlers, or an impl block
//! of class-style handlers, only has to generate such a closure: deserialize the arguments with
//! [`crate::args::from_args`], call the user's function, and send its return value through the
//! `ClientAck` with [`crate::args::to_payload`] — exactly what
//! [`ClientNamespaceBuilder::on_typed`] does for closures.

use std::future::Future;
use std::pin::Pin;

pub mod blocking;
mod builder;
mod engine;
mod error;
mod http;
mod simple;
mod socket;

pub use builder::{ClientBuilder, ClientNamespaceBuilder, Reconnection};
pub use engine::Transports;
pub use error::{ClientError, DisconnectReason};
pub use simple::{Event, SimpleClient};
pub use socket::{Client, ClientAck, ClientSocket, ConnectionState};

/// The TLS library of [`ClientBuilder::tls_config`].
pub use rustls;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
