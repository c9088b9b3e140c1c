//! A namespace: its handlers (fixed once built), its sockets and its rooms.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::ack::AckSender;
use super::socket::{DisconnectReason, Socket};
use crate::args::Payload;
use crate::engineio::Sid;
use crate::manager::{BroadcastTarget, Manager};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type ConnectFn = dyn Fn(Arc<Socket>) -> BoxFuture<Result<(), ConnectError>> + Send + Sync;
type EventFn = dyn Fn(Arc<Socket>, Payload, Option<AckSender>) -> BoxFuture<()> + Send + Sync;
type AnyFn = dyn Fn(Arc<Socket>, String, Payload, Option<AckSender>) -> BoxFuture<()> + Send + Sync;
type DisconnectFn = dyn Fn(Arc<Socket>, DisconnectReason) -> BoxFuture<()> + Send + Sync;
type OutgoingFn = dyn Fn(&Socket, &str, &Payload) + Send + Sync;
type EventMiddlewareFn =
    dyn Fn(Arc<Socket>, IncomingEvent) -> BoxFuture<Result<IncomingEvent, String>> + Send + Sync;

/// The event that tells a client an event without an ack was refused by an event middleware.
pub const EVENT_REFUSED: &str = "event_refused";

/// An incoming event as [`NamespaceBuilder::event_middleware`] sees it: its name and
/// arguments, which the middleware may change before the handler runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IncomingEvent {
    /// The event name; a middleware may change it to route the event to another handler.
    pub name: String,
    /// The arguments, attachments included.
    pub payload: Payload,
    wants_ack: bool,
}

impl IncomingEvent {
    /// Whether the client asked for an ack.
    pub fn wants_ack(&self) -> bool {
        self.wants_ack
    }
}

/// A refused namespace connection: the client receives CONNECT_ERROR with this message and
/// data (the JavaScript client exposes them as `err.message` and `err.data`).
///
/// ```
/// use socketio::ConnectError;
///
/// let refused = ConnectError::new("unauthorized").with_data(serde_json::json!({"retry": false}));
/// assert_eq!(refused.message(), "unauthorized");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    message: String,
    data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data for the client.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The CONNECT_ERROR payload.
    pub(crate) fn to_json(&self) -> Value {
        match &self.data {
            Some(data) => serde_json::json!({ "message": self.message, "data": data }),
            None => serde_json::json!({ "message": self.message }),
        }
    }
}

impl From<String> for ConnectError {
    fn from(message: String) -> Self {
        ConnectError::new(message)
    }
}

impl From<&str> for ConnectError {
    fn from(message: &str) -> Self {
        ConnectError::new(message)
    }
}

/// Registers the handlers of one namespace; see [`SocketIoBuilder::namespace`](crate::SocketIoBuilder::namespace).
#[derive(Default)]
pub struct NamespaceBuilder {
    middlewares: Vec<Box<ConnectFn>>,
    event_middlewares: Vec<Box<EventMiddlewareFn>>,
    connect: Vec<Box<ConnectFn>>,
    events: HashMap<String, Box<EventFn>>,
    any: Option<Box<AnyFn>>,
    disconnecting: Option<Box<DisconnectFn>>,
    disconnect: Option<Box<DisconnectFn>>,
    any_outgoing: Option<Box<OutgoingFn>>,
    /// Where each event, `*`, `disconnecting` and `disconnect` handler was registered, to
    /// report duplicates.
    locations: HashMap<String, String>,
}

impl fmt::Debug for NamespaceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceBuilder")
            .field("events", &self.events.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl NamespaceBuilder {
    /// Runs for every connection attempt before any connect handler, in registration order
    /// (Node's `namespace.use`); the first `Err` refuses the connection with CONNECT_ERROR,
    /// also with [`always_connect`](crate::SocketIoBuilder::always_connect).
    pub fn middleware<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.middlewares
            .push(Box::new(move |socket| Box::pin(f(socket))));
        self
    }

    /// Runs for every incoming event before its handler, in registration order, like Node's
    /// `socket.use`: it sees the event, may change its name or arguments (`Ok` passes it on),
    /// or refuses it (`Err`), and then no handler runs. A refusal reaches the client: as the
    /// ack `{"error": message}` when it asked for one, otherwise as an `event_refused` event
    /// with `{"event": name, "message": message}` (not `error`, which Socket.IO parsers
    /// refuse to deliver).
    ///
    /// ```
    /// use socketio::SocketIo;
    ///
    /// let io = SocketIo::builder()
    ///     .namespace("/", |ns| {
    ///         ns.event_middleware(|socket, event| async move {
    ///             if event.name.starts_with("admin:") && socket.get_session::<bool>() != Some(true) {
    ///                 return Err(format!("{} needs an admin", event.name));
    ///             }
    ///             Ok(event)
    ///         })
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = io;
    /// ```
    pub fn event_middleware<F, Fut, E>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>, IncomingEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<IncomingEvent, E>> + Send + 'static,
        E: fmt::Display,
    {
        self.event_middlewares.push(Box::new(move |socket, event| {
            let outcome = f(socket, event);
            Box::pin(async move { outcome.await.map_err(|error| error.to_string()) })
        }));
        self
    }

    /// Runs for every connection attempt after the middlewares, in registration order; the
    /// first `Err` refuses the connection. Emits made here reach the client right after the
    /// CONNECT reply.
    pub fn on_connect<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.connect
            .push(Box::new(move |socket| Box::pin(f(socket))));
        self
    }

    /// Handles `event`. The handler gets the arguments and, when the client asked for one,
    /// the [`AckSender`] to answer with.
    #[track_caller]
    pub fn on<F, Fut>(mut self, event: impl Into<String>, f: F) -> Self
    where
        F: Fn(Arc<Socket>, Payload, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let event = event.into();
        self.record_caller(&event);
        self.events.insert(
            event,
            Box::new(move |socket, payload, ack| Box::pin(f(socket, payload, ack))),
        );
        self
    }

    /// Handles every event without a handler of its own, with its name.
    #[track_caller]
    pub fn on_any<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>, String, Payload, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.record_caller("*");
        self.any = Some(Box::new(move |socket, event, payload, ack| {
            Box::pin(f(socket, event, payload, ack))
        }));
        self
    }

    /// Sees every event a socket of this namespace emits (`emit`, `emit_with_ack`,
    /// `emit_with_callback`, `emit_event`), with its name and arguments, just before it is
    /// sent: Node's `socket.onAnyOutgoing`. Broadcasts are not included: they are encoded once
    /// for all their recipients. It runs inside the emit, so keep it short.
    pub fn on_any_outgoing<F>(mut self, f: F) -> Self
    where
        F: Fn(&Socket, &str, &Payload) + Send + Sync + 'static,
    {
        self.any_outgoing = Some(Box::new(f));
        self
    }

    /// Runs once when a socket starts to leave, before [`on_disconnect`](Self::on_disconnect),
    /// like Node's `disconnecting`: the socket is still in its rooms and in the namespace, so
    /// a broadcast to its rooms from here reaches the others.
    #[track_caller]
    pub fn on_disconnecting<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.record_caller("disconnecting");
        self.disconnecting = Some(Box::new(move |socket, reason| Box::pin(f(socket, reason))));
        self
    }

    /// Runs once when a socket leaves; its rooms are still readable here.
    #[track_caller]
    pub fn on_disconnect<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.record_caller("disconnect");
        self.disconnect = Some(Box::new(move |socket, reason| Box::pin(f(socket, reason))));
        self
    }

    #[track_caller]
    fn record_caller(&mut self, event: &str) {
        let caller = std::panic::Location::caller();
        self.locations.insert(event.to_owned(), caller.to_string());
    }

    /// Where the handler of `event` (or `*`, `disconnecting`, `disconnect`) was registered, if
    /// it has one.
    /// Connect handlers add up, so `connect` has none.
    pub(crate) fn registered_at(&self, event: &str) -> Option<&str> {
        self.locations.get(event).map(String::as_str)
    }

    /// Records where the handler of `event` was written, for duplicate reports.
    pub(crate) fn with_location(mut self, event: &str, location: impl fmt::Display) -> Self {
        if event != "connect" {
            self.locations
                .insert(event.to_owned(), location.to_string());
        }
        self
    }
}

/// How a namespace connect was refused.
#[derive(Debug)]
pub(crate) enum ConnectRefusal {
    /// Before the CONNECT reply: answer with CONNECT_ERROR.
    BeforeConnect(ConnectError),
    /// After it (`always_connect`): disconnect the socket.
    AfterConnect(ConnectError),
}

async fn run_all(handlers: &[Box<ConnectFn>], socket: &Arc<Socket>) -> Result<(), ConnectError> {
    for handler in handlers {
        handler(socket.clone()).await?;
    }
    Ok(())
}

/// The handlers of a namespace, shared by every dynamic namespace made from them.
pub(crate) type Handlers = NamespaceBuilder;

/// A built namespace.
/// How the server answers namespace connects (see `SocketIoBuilder::always_connect` and
/// `SocketIoBuilder::connect_reply_pause`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ConnectOptions {
    pub(crate) always_connect: bool,
    pub(crate) reply_pause: Option<std::time::Duration>,
}

pub(crate) struct Namespace {
    name: String,
    handlers: Arc<Handlers>,
    sockets: RwLock<HashMap<Sid, Arc<Socket>>>,
    manager: Arc<dyn Manager>,
    next_ack: AtomicU64,
}

impl Namespace {
    pub(crate) fn new(
        name: String,
        handlers: Arc<Handlers>,
        manager: Arc<dyn Manager>,
    ) -> Arc<Self> {
        Arc::new(Namespace {
            name,
            handlers,
            sockets: RwLock::new(HashMap::new()),
            manager,
            next_ack: AtomicU64::new(0),
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn manager(&self) -> &Arc<dyn Manager> {
        &self.manager
    }

    /// Whether a socket of this node has id `sid` in this namespace.
    pub(crate) fn has_socket(&self, sid: &str) -> bool {
        let sockets = self.sockets.read().unwrap_or_else(|e| e.into_inner());
        sockets.contains_key(sid)
    }

    pub(crate) fn join(&self, sid: &Sid, room: &str) {
        self.manager.join(&self.name, sid, room);
    }

    pub(crate) fn leave(&self, sid: &Sid, room: &str) {
        self.manager.leave(&self.name, sid, room);
    }

    pub(crate) fn leave_all(&self, sid: &Sid) {
        self.manager.leave_all(&self.name, sid);
    }

    pub(crate) fn rooms_of(&self, sid: &Sid) -> Vec<String> {
        self.manager.rooms_of(&self.name, sid)
    }

    pub(crate) fn rooms(&self) -> Vec<String> {
        self.manager.rooms(&self.name)
    }

    pub(crate) fn close_room(&self, room: &str) -> usize {
        self.manager.close_room(&self.name, room).len()
    }

    /// The connected sockets `target` chooses.
    pub(crate) fn select(&self, target: &BroadcastTarget) -> Vec<Arc<Socket>> {
        let skip = |sid: &Sid| target.skip.as_ref() == Some(sid);
        if target.rooms.is_empty() && target.except.is_empty() {
            // Everyone: this namespace's own table already is the answer.
            let sockets = self.sockets.read().unwrap_or_else(|e| e.into_inner());
            return sockets
                .iter()
                .filter(|(sid, _)| !skip(sid))
                .map(|(_, socket)| socket.clone())
                .collect();
        }
        let chosen = self.manager.select(&self.name, target);
        let sockets = self.sockets.read().unwrap_or_else(|e| e.into_inner());
        chosen
            .iter()
            .filter_map(|sid| sockets.get(sid))
            .cloned()
            .collect()
    }

    /// Ack ids are per namespace, so one broadcast can carry one id to every socket.
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn remove_socket(&self, sid: &Sid) {
        let mut sockets = self.sockets.write().unwrap_or_else(|e| e.into_inner());
        sockets.remove(sid);
    }

    /// Runs the middlewares and connect handlers; on success the socket joins the namespace
    /// and its own room and gets its CONNECT reply. With `always_connect` the reply goes out
    /// after the middlewares and before the connect handlers, which then run on a connected
    /// socket (python-socketio's `always_connect`).
    pub(crate) async fn connect(
        &self,
        socket: &Arc<Socket>,
        options: ConnectOptions,
    ) -> Result<(), ConnectRefusal> {
        let always_connect = options.always_connect;
        run_all(&self.handlers.middlewares, socket)
            .await
            .map_err(ConnectRefusal::BeforeConnect)?;
        if !always_connect {
            run_all(&self.handlers.connect, socket)
                .await
                .map_err(ConnectRefusal::BeforeConnect)?;
        }
        {
            let mut sockets = self.sockets.write().unwrap_or_else(|e| e.into_inner());
            sockets.insert(socket.id().clone(), socket.clone());
        }
        socket.join(socket.id().as_str());
        socket.complete_connect(options.reply_pause);
        if always_connect {
            run_all(&self.handlers.connect, socket)
                .await
                .map_err(ConnectRefusal::AfterConnect)?;
        }
        Ok(())
    }

    /// Calls the handler of the event in `args[0]`.
    pub(crate) async fn dispatch(
        &self,
        socket: &Arc<Socket>,
        mut payload: Payload,
        ack_id: Option<u64>,
    ) {
        if payload.args.is_empty() {
            return;
        }
        let event = match payload.args.remove(0) {
            Value::String(name) => name,
            other => other.to_string(),
        };
        let (event, payload) = match self
            .run_event_middlewares(socket, event, payload, ack_id)
            .await
        {
            Some(passed) => passed,
            None => return,
        };
        let ack = ack_id.map(|id| AckSender::new(socket.clone(), id));
        if let Some(handler) = self.handlers.events.get(&event) {
            handler(socket.clone(), payload, ack).await;
        } else if let Some(any) = &self.handlers.any {
            any(socket.clone(), event, payload, ack).await;
        } else {
            tracing::debug!(ns = %self.name, %event, "no handler for event");
        }
    }

    /// Tells the outgoing catch-all, if there is one, about an emit of `socket`.
    pub(crate) fn notify_outgoing(&self, socket: &Socket, event: &str, payload: &Payload) {
        if let Some(listener) = &self.handlers.any_outgoing {
            listener(socket, event, payload);
        }
    }

    /// Passes the event through the event middlewares; `None` when one refused it (the
    /// client has then been told).
    async fn run_event_middlewares(
        &self,
        socket: &Arc<Socket>,
        name: String,
        payload: Payload,
        ack_id: Option<u64>,
    ) -> Option<(String, Payload)> {
        let mut event = IncomingEvent {
            name,
            payload,
            wants_ack: ack_id.is_some(),
        };
        for middleware in &self.handlers.event_middlewares {
            let refused_name = event.name.clone();
            match middleware(socket.clone(), event).await {
                Ok(passed) => event = passed,
                Err(message) => {
                    tracing::debug!(ns = %self.name, event = %refused_name, %message, "event refused");
                    let told = match ack_id {
                        Some(id) => {
                            AckSender::new(socket.clone(), id).send(Payload::error_ack(&message))
                        }
                        None => socket.emit(
                            EVENT_REFUSED,
                            serde_json::json!({ "event": refused_name, "message": message }),
                        ),
                    };
                    if let Err(error) = told {
                        tracing::debug!(ns = %self.name, %error, "could not tell the refusal");
                    }
                    return None;
                }
            }
        }
        Some((event.name, event.payload))
    }

    pub(crate) async fn on_disconnecting(&self, socket: &Arc<Socket>, reason: DisconnectReason) {
        if let Some(handler) = &self.handlers.disconnecting {
            handler(socket.clone(), reason).await;
        }
    }

    pub(crate) async fn on_disconnect(&self, socket: &Arc<Socket>, reason: DisconnectReason) {
        if let Some(handler) = &self.handlers.disconnect {
            handler(socket.clone(), reason).await;
        }
    }
}
