//! `NamespaceBuilder`: registers typed handlers and fills a namespace's erased handler table.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::call::{BoxFuture, Call, ServerContext};
use super::function::Handler;
use super::output::kind;
use crate::args::Payload;
use crate::ns::namespace::{ConnectFn, DisconnectFn, EventFn, HandlerTable, IncomingEvent};
use crate::ns::socket::Socket;

/// Registers the handlers of one namespace; see [`SocketIoBuilder::namespace`](crate::SocketIoBuilder::namespace).
///
/// Every handler is a [`Handler`]: an `async fn` or closure whose parameters are extractors
/// and event arguments and whose return value ends the call, the same model as
/// `#[socketio::on]` functions.
///
/// ```
/// use std::sync::Arc;
/// use socketio::{AckSender, ConnectError, DisconnectReason, Payload, Socket, SocketIo};
///
/// let io = SocketIo::builder()
///     .namespace("/", |ns| {
///         ns.on_connect(|socket: Arc<Socket>| async move {
///             if socket.auth().get("token").is_none() {
///                 return Err(ConnectError::new("a token, please"));
///             }
///             Ok(())
///         })
///         // Typed arguments in, the return value is the ack.
///         .on("add", |a: i64, b: i64| async move { a + b })
///         // The raw arguments and the ack, answered by hand.
///         .on("echo", |payload: Payload, ack: AckSender| async move {
///             let _ = ack.send(payload);
///         })
///         .on_disconnect(|socket: Arc<Socket>, reason: DisconnectReason| async move {
///             println!("{} left: {reason:?}", socket.sid());
///         })
///     })
///     .build()
///     .unwrap();
/// # let _ = io;
/// ```
pub struct NamespaceBuilder {
    table: HandlerTable,
    context: Arc<ServerContext>,
    /// Where each event, `*`, `disconnecting` and `disconnect` handler was registered, to
    /// report duplicates.
    locations: HashMap<String, String>,
}

impl fmt::Debug for NamespaceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceBuilder")
            .field("events", &self.table.events.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl NamespaceBuilder {
    /// An empty namespace whose handlers will see `context`.
    pub(crate) fn new(context: Arc<ServerContext>) -> Self {
        NamespaceBuilder {
            table: HandlerTable::default(),
            context,
            locations: HashMap::new(),
        }
    }

    /// The erased handlers, for the namespace.
    pub(crate) fn into_table(self) -> HandlerTable {
        self.table
    }

    /// Runs for every connection attempt before any connect handler, in registration order
    /// (Node's `namespace.use`); the first refusal (`false` or `Err`) refuses the connection
    /// with CONNECT_ERROR, also with
    /// [`always_connect`](crate::SocketIoBuilder::always_connect). Takes the same parameters
    /// as a connect handler.
    pub fn middleware<P>(mut self, handler: impl Handler<P, kind::Connect>) -> Self {
        let erased = self.erase_connect(move |call| handler.call(call));
        self.table.middlewares.push(erased);
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
        self.table
            .event_middlewares
            .push(Box::new(move |socket, event| {
                let outcome = f(socket, event);
                Box::pin(async move { outcome.await.map_err(|error| error.to_string()) })
            }));
        self
    }

    /// Runs for every connection attempt after the middlewares, in registration order; the
    /// first refusal (`false`, or `Err` with a [`ConnectError`](crate::ConnectError)) refuses
    /// the connection. Its first event argument is the CONNECT's auth payload. Emits made
    /// here reach the client right after the CONNECT reply.
    pub fn on_connect<P>(mut self, handler: impl Handler<P, kind::Connect>) -> Self {
        let erased = self.erase_connect(move |call| handler.call(call));
        self.table.connect.push(erased);
        self
    }

    /// Handles `event`. The return value is the ack, when the client asked for one.
    #[track_caller]
    pub fn on<P>(
        mut self,
        event: impl Into<String>,
        handler: impl Handler<P, kind::Event>,
    ) -> Self {
        let event = event.into();
        self.record_caller(&event);
        let erased = self.erase_event(move |call| handler.call(call));
        self.table.events.insert(event.into(), erased);
        self
    }

    /// Handles every event without a handler of its own; its name is the
    /// [`EventName`](super::EventName) parameter.
    #[track_caller]
    pub fn on_any<P>(mut self, handler: impl Handler<P, kind::Event>) -> Self {
        self.record_caller("*");
        self.table.any = Some(self.erase_event(move |call| handler.call(call)));
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
        self.table.any_outgoing = Some(Box::new(f));
        self
    }

    /// Runs once when a socket starts to leave, before [`on_disconnect`](Self::on_disconnect),
    /// like Node's `disconnecting`: the socket is still in its rooms and in the namespace, so
    /// a broadcast to its rooms from here reaches the others. The reason is the
    /// [`DisconnectReason`](crate::DisconnectReason) parameter.
    #[track_caller]
    pub fn on_disconnecting<P>(mut self, handler: impl Handler<P, kind::Notice>) -> Self {
        self.record_caller("disconnecting");
        self.table.disconnecting = Some(self.erase_disconnect(move |call| handler.call(call)));
        self
    }

    /// Runs once when a socket leaves; its rooms are still readable here. The reason is the
    /// [`DisconnectReason`](crate::DisconnectReason) parameter.
    #[track_caller]
    pub fn on_disconnect<P>(mut self, handler: impl Handler<P, kind::Notice>) -> Self {
        self.record_caller("disconnect");
        self.table.disconnect = Some(self.erase_disconnect(move |call| handler.call(call)));
        self
    }

    /// Adds a handler the macros generated: `event` is a name, or `connect`,
    /// `disconnecting`, `disconnect`, `*`.
    pub(crate) fn on_generated(
        mut self,
        event: &str,
        handler: impl Fn(Call) -> BoxFuture + Send + Sync + 'static,
    ) -> Self {
        match event {
            "connect" => {
                let erased = self.erase_connect(handler);
                self.table.connect.push(erased);
            }
            "disconnecting" => self.table.disconnecting = Some(self.erase_disconnect(handler)),
            "disconnect" => self.table.disconnect = Some(self.erase_disconnect(handler)),
            "*" => self.table.any = Some(self.erase_event(handler)),
            event => {
                let erased = self.erase_event(handler);
                self.table.events.insert(event.into(), erased);
            }
        }
        self
    }

    fn erase_connect(
        &self,
        handler: impl Fn(Call) -> BoxFuture + Send + Sync + 'static,
    ) -> Box<ConnectFn> {
        let context = self.context.clone();
        Box::new(move |socket| handler(Call::for_connect(socket, context.clone())))
    }

    fn erase_disconnect(
        &self,
        handler: impl Fn(Call) -> BoxFuture + Send + Sync + 'static,
    ) -> Box<DisconnectFn> {
        let context = self.context.clone();
        Box::new(move |socket, reason| {
            handler(Call::for_disconnect(socket, context.clone(), reason))
        })
    }

    fn erase_event(
        &self,
        handler: impl Fn(Call) -> BoxFuture + Send + Sync + 'static,
    ) -> Box<EventFn> {
        let context = self.context.clone();
        Box::new(move |socket, event, payload, ack| {
            handler(Call::for_event(
                socket,
                context.clone(),
                event,
                payload,
                ack,
            ))
        })
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
