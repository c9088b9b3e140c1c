//! Engine.IO v4: the transport layer under Socket.IO, usable on its own like python-engineio.
//!
//! Long-polling and WebSocket (opened directly or by upgrade), heartbeats, payload limits,
//! CORS, an optional sticky cookie, compression of polling responses and static files.
//!
//! ```no_run
//! use socketio::engineio::{EngineConfig, EngineIo};
//!
//! # async fn run() -> std::io::Result<()> {
//! let eio = EngineIo::builder()
//!     .on_message(|socket, message| async move {
//!         let _ = socket.send(message);
//!     })
//!     .build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! socketio::serve(listener, eio.router()).await
//! # }
//! ```

mod compression;
mod config;
mod cookie;
mod cors;
pub(crate) mod engine;
mod error;
mod handler;
mod outbox;
pub(crate) mod packet;
pub(crate) mod payload;
mod query;
mod serve;
mod server;
mod service;
pub(crate) mod session;
mod socket;
mod static_files;
mod str;
mod transport;

pub use compression::Compression;
pub use config::{EngineConfig, TransportKind};
pub use cookie::{CookieConfig, SameSite};
pub use cors::CorsOrigins;
pub use error::{ConnectRejection, EngineError};
pub use handler::EngineHandler;
pub use serve::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_WRITE_STALL_TIMEOUT, HttpService, LISTEN_BACKLOG, Serve,
    bind, serve,
};
pub use server::{Callbacks, EngineIo, EngineIoBuilder};
pub use service::{EngineLayer, EngineService, NotFound};
pub use socket::{DisconnectReason, Handshake, Message, SendError, Sid, Socket};
pub use static_files::StaticFiles;
pub use str::Str;
