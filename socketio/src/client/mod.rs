//! The Socket.IO v5 / Engine.IO v4 client (feature `client`), in the manner of
//! python-socketio's `AsyncClient` and the official JavaScript client.
//!
//! * One Engine.IO session over long-polling, WebSocket, or polling upgraded to WebSocket
//!   ([`Transports`]), with heartbeats, payload limits, custom headers and query, a custom
//!   path, and TLS through rustls for `https://` and `wss://`.
//! * Any number of namespaces on that session, each with its own auth (a value, or a closure
//!   evaluated again on every reconnection), handlers, and sid.
//! * Typed emits with binary data at any depth (any `Serialize` value, a tuple for several
//!   arguments, or a pre-encoded [`Payload`](crate::Payload)), acks in both directions with the
//!   server's names and signatures: [`ClientSocket::emit_with_ack`] (awaited, read into the
//!   type asked for), [`ClientSocket::emit_with_callback`], [`ClientSocket::timeout`], and
//!   handlers that answer the server's ack (with their return value, or by hand with
//!   [`ClientAck`]; see [`ClientNamespaceBuilder::on`]).
//! * Reconnection with exponential backoff and jitter ([`Reconnection`]); namespaces are
//!   rejoined with fresh auth.
//! * [`blocking::Client`] for programs without an async runtime, and [`SimpleClient`] /
//!   [`blocking::SimpleClient`] for request/response style code.
//!
//! ```no_run
//! use std::time::Duration;
//! use serde_json::json;
//! use socketio::Payload;
//! use socketio::client::{Client, Reconnection};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("http://127.0.0.1:3000")
//!     .reconnection(Reconnection { attempts: 10, ..Reconnection::default() })
//!     .namespace("/chat", |ns| {
//!         ns.auth_with(|| async { json!({ "token": "secret" }) })
//!             .on("echo", |payload: Payload| async move {
//!                 println!("echo: {:?}", payload.args);
//!             })
//!             // The returned value answers the server's ack.
//!             .on("ack-request", |question: String| async move {
//!                 format!("answer to {question}")
//!             })
//!     })
//!     .connect()
//!     .await?;
//! let chat = client.of("/chat");
//! chat.emit("echo", ("hi", bytes::Bytes::from_static(b"\x00\x01")))?;
//! let reply: u32 = chat
//!     .timeout(Duration::from_secs(5))
//!     .emit_with_ack("echo-ack", 1)
//!     .await?;
//! assert_eq!(reply, 1);
//! client.disconnect();
//! # Ok(())
//! # }
//! ```
//!
//! # Handlers written with the macros
//!
//! `#[socketio::on("event", client)]` on an `async fn` and
//! `#[socketio::namespace("/chat", client)]` on an impl block register client handlers; the
//! client built by [`ClientBuilder::build`] gathers them and joins their namespaces. They take
//! the same kinds of parameters as server handlers, and their return value answers the server's
//! ack:
//!
//! ```no_run,standalone_crate
//! use bytes::Bytes;
//! use socketio::client::{Client, ClientSocket};
//!
//! #[socketio::on("question", namespace = "/quiz", client)]
//! async fn question(socket: ClientSocket, text: String, picture: Option<Bytes>) -> String {
//!     format!("{} saw {text:?} and {} bytes", socket.namespace(), picture.map_or(0, |p| p.len()))
//! }
//!
//! # async fn run() -> Result<(), socketio::client::ClientError> {
//! let client = Client::builder("http://127.0.0.1:3000").connect().await?; // joins /quiz
//! # Ok(())
//! # }
//! ```

pub mod blocking;
mod builder;
mod engine;
mod error;
mod handlers;
mod http;
mod namespace;
mod reconnection;
mod simple;
mod socket;
mod typed;

pub use builder::ClientBuilder;
pub use engine::Transports;
pub use error::{ClientError, DisconnectReason};
pub use handlers::ClientNamespace;
pub use namespace::ClientNamespaceBuilder;
pub use reconnection::Reconnection;
pub use simple::{Event, SimpleClient};
pub use socket::ClientSide;
pub use socket::{Client, ClientAck, ClientSocket, ConnectionState};

/// The TLS library of [`ClientBuilder::tls_config`].
pub use rustls;
