//! A namespace: its handlers (fixed once built), its sockets and its rooms.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
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
/// A handler call in progress, as the namespace runs it.
pub(crate) type HandlerFuture = BoxFuture<Completion>;
pub(crate) type ConnectFn = dyn Fn(Arc<Socket>) -> HandlerFuture + Send + Sync;
/// An event handler: the socket, the event name, its arguments and the ack to answer. The
/// name is shared with the event table, so a call allocates none.
pub(crate) type EventFn =
    dyn Fn(Arc<Socket>, Arc<str>, Payload, Option<AckSender>) -> HandlerFuture + Send + Sync;
pub(crate) type DisconnectFn = dyn Fn(Arc<Socket>, DisconnectReason) -> HandlerFuture + Send + Sync;
pub(crate) type OutgoingFn = dyn Fn(&Socket, &str, &Payload) + Send + Sync;
pub(crate) type EventMiddlewareFn =
    dyn Fn(Arc<Socket>, IncomingEvent) -> BoxFuture<Result<IncomingEvent, String>> + Send + Sync;

/// How a handler call ended: only a connect handler's refusal matters to the namespace.
#[derive(Debug)]
pub struct Completion(Result<(), ConnectError>);

impl Completion {
    pub(crate) fn done() -> Self {
        Completion(Ok(()))
    }

    pub(crate) fn refuse(error: ConnectError) -> Self {
        Completion(Err(error))
    }

    pub(crate) fn into_connect_result(self) -> Result<(), ConnectError> {
        self.0
    }
}

/// The event that tells a client an event without an ack was refused by an event middleware.
pub const EVENT_REFUSED: &str = "event_refused";

/// An incoming event as [`NamespaceBuilder::event_middleware`](crate::NamespaceBuilder::event_middleware) sees it: its name and
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

/// The handlers of one namespace, type-erased, fixed once the server is built. The typed
/// side that fills it is [`NamespaceBuilder`](crate::NamespaceBuilder).
#[derive(Default)]
pub(crate) struct HandlerTable {
    pub(crate) middlewares: Vec<Box<ConnectFn>>,
    pub(crate) event_middlewares: Vec<Box<EventMiddlewareFn>>,
    pub(crate) connect: Vec<Box<ConnectFn>>,
    pub(crate) events: HashMap<Arc<str>, Box<EventFn>, BuildHasherDefault<NameHasher>>,
    pub(crate) any: Option<Box<EventFn>>,
    pub(crate) disconnecting: Option<Box<DisconnectFn>>,
    pub(crate) disconnect: Option<Box<DisconnectFn>>,
    pub(crate) any_outgoing: Option<Box<OutgoingFn>>,
}

/// FNV-1a, for the event table: a lookup per incoming event hashes a short name, which
/// SipHash does several times slower. Names from the network are only looked up, never
/// inserted, so a hash that an attacker could collide costs nothing here.
pub(crate) struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        // The FNV-1a offset basis.
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }
}

impl fmt::Debug for HandlerTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerTable")
            .field("events", &self.events.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
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
        handler(socket.clone()).await.into_connect_result()?;
    }
    Ok(())
}

/// The handlers of a namespace, shared by every dynamic namespace made from them.
pub(crate) type Handlers = HandlerTable;

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
        let mut chosen = Vec::new();
        self.for_each_selected(target, |socket| chosen.push(socket.clone()));
        chosen
    }

    /// Calls `visit` with each connected socket `target` chooses, under the read lock of the
    /// socket table: a broadcast then takes no reference of its own to every recipient.
    /// `visit` must not connect or remove sockets (sending does neither).
    pub(crate) fn for_each_selected(
        &self,
        target: &BroadcastTarget,
        mut visit: impl FnMut(&Arc<Socket>),
    ) {
        let skip = |sid: &Sid| target.skip.as_ref() == Some(sid);
        if target.rooms.is_empty() && target.except.is_empty() {
            // Everyone: this namespace's own table already is the answer.
            let sockets = self.sockets.read().unwrap_or_else(|e| e.into_inner());
            for (sid, socket) in sockets.iter() {
                if !skip(sid) {
                    visit(socket);
                }
            }
            return;
        }
        let chosen = self.manager.select(&self.name, target);
        let sockets = self.sockets.read().unwrap_or_else(|e| e.into_inner());
        for socket in chosen.iter().filter_map(|sid| sockets.get(sid)) {
            visit(socket);
        }
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
            sockets.insert(socket.sid().clone(), socket.clone());
        }
        socket.join(socket.sid().as_str());
        socket.complete_connect(options.reply_pause);
        if always_connect {
            run_all(&self.handlers.connect, socket)
                .await
                .map_err(ConnectRefusal::AfterConnect)?;
        }
        Ok(())
    }

    /// Starts the handling of the event named by `args[0]`: the handler's own future, with
    /// no other around it, unless event middlewares must run first. `None` when no handler
    /// takes the event.
    pub(crate) fn dispatch(
        socket: &Arc<Socket>,
        mut payload: Payload,
        ack_id: Option<u64>,
    ) -> Option<HandlerFuture> {
        let ns = socket.ns();
        if !ns.handlers.event_middlewares.is_empty() {
            return Some(Box::pin(Namespace::dispatch_after_middlewares(
                socket.clone(),
                payload,
                ack_id,
            )));
        }
        // The name alone is read; the arguments stay as they came until a handler reads them.
        let (event, handler) = {
            let name = payload.args.first_name()?;
            ns.handler_for(&name)?
        };
        payload.args.drop_first();
        let ack = ack_id.map(|id| AckSender::new(socket.clone(), id));
        Some(handler(socket.clone(), event, payload, ack))
    }

    async fn dispatch_after_middlewares(
        socket: Arc<Socket>,
        mut payload: Payload,
        ack_id: Option<u64>,
    ) -> Completion {
        let ns = socket.ns();
        let Some(name) = payload.args.first_name().map(Cow::into_owned) else {
            return Completion::done();
        };
        payload.args.drop_first();
        let Some((name, payload)) = ns
            .run_event_middlewares(&socket, name, payload, ack_id)
            .await
        else {
            return Completion::done();
        };
        if let Some((event, handler)) = ns.handler_for(&name) {
            let ack = ack_id.map(|id| AckSender::new(socket.clone(), id));
            handler(socket.clone(), event, payload, ack).await;
        }
        Completion::done()
    }

    /// The handler of the event `name` (the catch-all's when it has none) and the name to
    /// hand it, shared with the table when the event has its own handler.
    fn handler_for(&self, name: &str) -> Option<(Arc<str>, &EventFn)> {
        if let Some((event, handler)) = self.handlers.events.get_key_value(name) {
            return Some((event.clone(), &**handler));
        }
        match &self.handlers.any {
            Some(any) => Some((Arc::from(name), &**any)),
            None => {
                tracing::debug!(ns = %self.name, event = name, "no handler for event");
                None
            }
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
