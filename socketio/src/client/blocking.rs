//! Blocking forms of [`Client`](super::Client) and [`SimpleClient`](super::SimpleClient), for
//! programs without an async runtime (python-socketio's `Client` and `SimpleClient`).
//!
//! Each blocking client owns a small tokio runtime that runs the connection and the handlers.
//! Handlers are the same closures as for the async client; inside them, use the
//! [`ClientSocket`] they are given rather than a blocking handle (blocking inside the runtime
//! would stall it).

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use super::builder::ClientBuilder;
use super::error::ClientError;
use super::simple::Event;
use super::socket::{ClientSocket, ConnectionState};
use serde::Serialize;

use crate::args::{
    AckError, Contains, EmitError, Event as EventType, EventSet, FromPayload, IntoPayload, Typed,
    WithTimeout,
};
use crate::engineio::TransportKind;
use crate::parser::ROOT_NAMESPACE;

fn runtime() -> Result<Arc<Runtime>, ClientError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("socketio-client")
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| ClientError::Config(format!("could not start the client runtime: {e}")))
}

/// A blocking Socket.IO client. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use serde_json::json;
/// use socketio::client::{Client, blocking};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let addr = doc_server::start();
/// // `addr` is a Socket.IO server that acknowledges `hello` with its arguments.
/// let client = blocking::Client::connect(Client::builder(format!("http://{addr}")))?;
/// let reply: String = client
///     .timeout(Duration::from_secs(5))
///     .emit_with_ack("hello", "world")?;
/// assert_eq!(reply, "world");
/// client.disconnect();
/// client.wait();
/// # Ok(())
/// # }
/// # mod doc_server {
/// #     pub fn start() -> std::net::SocketAddr {
/// #         let (tx, rx) = std::sync::mpsc::channel();
/// #         std::thread::spawn(move || {
/// #             let rt = tokio::runtime::Runtime::new().unwrap();
/// #             rt.block_on(async move {
/// #                 let io = socketio::SocketIo::builder()
/// #                     .namespace("/", |ns| ns.on("hello", |payload: socketio::Payload| async move {
/// #                         payload
/// #                     }))
/// #                     .build().unwrap();
/// #                 let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// #                 tx.send(listener.local_addr().unwrap()).unwrap();
/// #                 let app = io.router().into_make_service_with_connect_info::<std::net::SocketAddr>();
/// #                 axum::serve(listener, app).await.unwrap();
/// #             });
/// #         });
/// #         rx.recv().unwrap()
/// #     }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    runtime: Arc<Runtime>,
    client: super::Client,
}

impl Client {
    /// Builds the client from `builder` and connects it; see [`ClientBuilder::connect`].
    pub fn connect(builder: ClientBuilder) -> Result<Client, ClientError> {
        let runtime = runtime()?;
        let client = runtime.block_on(builder.connect())?;
        Ok(Client { runtime, client })
    }

    /// A blocking handle on `namespace`.
    pub fn of(&self, namespace: &str) -> Socket {
        Socket {
            runtime: self.runtime.clone(),
            socket: self.client.of(namespace),
        }
    }

    /// Emits `event` on `/`; see [`ClientSocket::emit`].
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        self.client.emit(event, args)
    }

    /// Emits an [`Event`](crate::args::Event) value on the namespace it was declared with, or on
    /// `/`; see [`Client::emit_event`](super::Client::emit_event).
    pub fn emit_event<E: EventType + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.client.emit_event(event)
    }

    /// The socket of `/`, emitting only the events of `S`; see [`Socket::typed`].
    pub fn typed<S: EventSet>(&self) -> Typed<Socket, S> {
        self.of(ROOT_NAMESPACE).typed()
    }

    /// Sets the ack timeout of the next emit on `/`.
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<Socket> {
        self.of(ROOT_NAMESPACE).timeout(timeout)
    }

    /// Emits `event` on `/` and blocks until the ack comes, read into `R`; see
    /// [`ClientSocket::emit_with_ack`].
    pub fn emit_with_ack<R: FromPayload>(
        &self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        self.runtime
            .block_on(self.client.emit_with_ack(event, args))
    }

    /// Whether the session is open.
    pub fn connected(&self) -> bool {
        self.client.connected()
    }

    /// Where the client stands.
    pub fn state(&self) -> ConnectionState {
        self.client.state()
    }

    /// The transport in use.
    pub fn transport(&self) -> Option<TransportKind> {
        self.client.transport()
    }

    /// Disconnects and stops reconnecting.
    pub fn disconnect(&self) {
        // Disconnect handlers are queued on the client's runtime.
        let _runtime = self.runtime.enter();
        self.client.disconnect();
    }

    /// Blocks until the client is disconnected for good.
    pub fn wait(&self) {
        self.runtime.block_on(self.client.wait());
    }

    /// The async client inside.
    pub fn as_async(&self) -> &super::Client {
        &self.client
    }
}

/// A blocking handle on one namespace of a [`Client`].
#[derive(Debug, Clone)]
pub struct Socket {
    runtime: Arc<Runtime>,
    socket: ClientSocket,
}

impl Socket {
    /// Emits `event` on this namespace; see [`ClientSocket::emit`].
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        self.socket.emit(event, args)
    }

    /// Emits an [`Event`](crate::args::Event) value; see [`ClientSocket::emit_event`].
    pub fn emit_event<E: EventType + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.socket.emit_event(event)
    }

    /// This namespace's socket, emitting only the events of `S`: emitting a type `S` does
    /// not declare is a compile error, as with [`ClientSocket::typed`].
    ///
    /// ```no_run
    /// use socketio::client::{Client, blocking};
    ///
    /// #[derive(serde::Serialize, socketio::Event)]
    /// #[event("line")]
    /// struct Line { text: String }
    ///
    /// #[socketio::event_set]
    /// enum ToServer { Line(Line) }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = blocking::Client::connect(Client::builder("http://127.0.0.1:3000"))?;
    /// let chat = client.of("/chat").typed::<ToServer>();
    /// chat.emit(&Line { text: "hi".into() })?;
    /// let stored: bool = chat.emit_with_ack(&Line { text: "kept?".into() })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn typed<S: EventSet>(&self) -> Typed<Socket, S> {
        Typed::new(self.clone())
    }

    /// Sets the ack timeout of the next emit.
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<Socket> {
        WithTimeout::new(self.clone(), timeout)
    }

    /// Emits `event` and blocks until the ack comes, read into `R`; see
    /// [`ClientSocket::emit_with_ack`].
    pub fn emit_with_ack<R: FromPayload>(
        &self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        self.runtime
            .block_on(self.socket.emit_with_ack(event, args))
    }

    /// The namespace's sid, while connected.
    pub fn sid(&self) -> Option<String> {
        self.socket.sid()
    }

    /// Leaves this namespace.
    pub fn disconnect(&self) {
        let _runtime = self.runtime.enter();
        self.socket.disconnect();
    }
}

/// The blocking [`SimpleClient`](super::SimpleClient), like python-socketio's `SimpleClient`.
///
/// ```
/// use std::time::Duration;
/// use serde_json::json;
/// use socketio::client::{Client, blocking::SimpleClient};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let addr = doc_server::start();
/// // `addr` is a Socket.IO server that answers `ping` with a `pong` event.
/// let client = SimpleClient::connect(Client::builder(format!("http://{addr}")), "/")?;
/// client.emit("ping", 1)?;
/// let event = client.receive(Some(Duration::from_secs(5)))?;
/// assert_eq!((event.name.as_str(), event.payload.args.into_vec()), ("pong", vec![json!(1)]));
/// client.disconnect();
/// # Ok(())
/// # }
/// # mod doc_server {
/// #     pub fn start() -> std::net::SocketAddr {
/// #         let (tx, rx) = std::sync::mpsc::channel();
/// #         std::thread::spawn(move || {
/// #             let rt = tokio::runtime::Runtime::new().unwrap();
/// #             rt.block_on(async move {
/// #                 let io = socketio::SocketIo::builder()
/// #                     .namespace("/", |ns| ns.on("ping", |s: std::sync::Arc<socketio::Socket>, payload: socketio::Payload| async move {
/// #                         let _ = s.emit("pong", payload);
/// #                     }))
/// #                     .build().unwrap();
/// #                 let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// #                 tx.send(listener.local_addr().unwrap()).unwrap();
/// #                 let app = io.router().into_make_service_with_connect_info::<std::net::SocketAddr>();
/// #                 axum::serve(listener, app).await.unwrap();
/// #             });
/// #         });
/// #         rx.recv().unwrap()
/// #     }
/// # }
/// ```
#[derive(Debug)]
pub struct SimpleClient {
    runtime: Arc<Runtime>,
    client: super::SimpleClient,
}

impl SimpleClient {
    /// Connects; see [`super::SimpleClient::connect`].
    pub fn connect(builder: ClientBuilder, namespace: &str) -> Result<SimpleClient, ClientError> {
        let runtime = runtime()?;
        let client = runtime.block_on(super::SimpleClient::connect(builder, namespace))?;
        Ok(SimpleClient { runtime, client })
    }

    /// Emits `event`; see [`ClientSocket::emit`].
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        self.client.emit(event, args)
    }

    /// Emits an [`Event`](crate::args::Event) value; see [`ClientSocket::emit_event`].
    pub fn emit_event<E: EventType + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.client.emit_event(event)
    }

    /// The namespace's socket, emitting only the events of `S`; see [`Socket::typed`].
    pub fn typed<S: EventSet>(&self) -> Typed<Socket, S> {
        self.socket().typed()
    }

    /// Sets the ack timeout of the next emit.
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<Socket> {
        WithTimeout::new(self.socket(), timeout)
    }

    /// A blocking handle on the namespace.
    fn socket(&self) -> Socket {
        Socket {
            runtime: self.runtime.clone(),
            socket: self.client.socket().clone(),
        }
    }

    /// Emits `event` and blocks until the ack comes, read into `R`; see
    /// [`ClientSocket::emit_with_ack`].
    pub fn emit_with_ack<R: FromPayload>(
        &self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        self.runtime
            .block_on(self.client.emit_with_ack(event, args))
    }

    /// The next event, waiting at most `timeout`; see [`super::SimpleClient::receive`].
    pub fn receive(&self, timeout: Option<Duration>) -> Result<Event, ClientError> {
        self.runtime.block_on(self.client.receive(timeout))
    }

    /// The namespace's sid.
    pub fn sid(&self) -> Option<String> {
        self.client.sid()
    }

    /// The transport in use.
    pub fn transport(&self) -> Option<TransportKind> {
        self.client.transport()
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        self.client.connected()
    }

    /// Disconnects and stops reconnecting.
    pub fn disconnect(&self) {
        // Disconnect handlers are queued on the client's runtime.
        let _runtime = self.runtime.enter();
        self.client.disconnect();
    }
}

impl WithTimeout<Socket> {
    /// Emits `event` and blocks until the ack comes (at most this timeout), read into `R`.
    pub fn emit_with_ack<R: FromPayload>(
        self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        let WithTimeout { socket, timeout } = self;
        let Socket { runtime, socket } = socket;
        runtime.block_on(socket.timeout(timeout).emit_with_ack(event, args))
    }
}

impl<S: EventSet> Typed<Socket, S> {
    /// Emits an event of the set; see [`Socket::emit_event`].
    pub fn emit<E>(&self, event: &E) -> Result<(), EmitError>
    where
        S: Contains<E>,
        E: EventType + Serialize,
    {
        self.untyped().emit_event(event)
    }

    /// Emits an event of the set and blocks until the ack comes, read into `R`; see
    /// [`Socket::emit_with_ack`].
    pub fn emit_with_ack<E, R>(&self, event: &E) -> Result<R, AckError>
    where
        S: Contains<E>,
        E: EventType + Serialize,
        R: FromPayload,
    {
        self.untyped().emit_with_ack(E::NAME, event)
    }

    /// Sets how long [`emit_with_ack`](Typed::emit_with_ack) waits.
    pub fn timeout(&self, timeout: Duration) -> Typed<WithTimeout<Socket>, S> {
        self.wrap(self.untyped().timeout(timeout))
    }
}

impl<S: EventSet> Typed<WithTimeout<Socket>, S> {
    /// Emits an event of the set and blocks until the ack comes, within the timeout.
    pub fn emit_with_ack<E, R>(self, event: &E) -> Result<R, AckError>
    where
        S: Contains<E>,
        E: EventType + Serialize,
        R: FromPayload,
    {
        self.into_untyped().emit_with_ack(E::NAME, event)
    }
}
