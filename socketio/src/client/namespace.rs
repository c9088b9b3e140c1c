//! The handlers and auth of one client namespace, fixed once the client is built.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde_json::{Value, json};

use super::error::{ClientError, DisconnectReason};
use super::socket::{ClientAck, ClientSide, ClientSocket};
use crate::args::Payload;
use crate::client::engine::BoxFuture;
use crate::handler::BoxFuture as HandlerFuture;
use crate::handler::{Call, CallKind, Handler, kind};

/// An event handler: the socket, the event name, its arguments and the ack to answer.
pub(crate) type EventFn =
    dyn Fn(ClientSocket, String, Payload, Option<ClientAck>) -> BoxFuture<()> + Send + Sync;
pub(crate) type ConnectFn = dyn Fn(ClientSocket) -> BoxFuture<()> + Send + Sync;
pub(crate) type ConnectErrorFn = dyn Fn(ClientSocket, ClientError) -> BoxFuture<()> + Send + Sync;
pub(crate) type DisconnectFn =
    dyn Fn(ClientSocket, DisconnectReason) -> BoxFuture<()> + Send + Sync;
pub(crate) type AuthFn = dyn Fn() -> BoxFuture<Value> + Send + Sync;

/// The handlers and the auth of one namespace; see [`ClientBuilder::namespace`](crate::client::ClientBuilder::namespace).
///
/// Handlers of one client run one at a time, in the order the packets arrived, so a handler
/// that waits for another event would wait forever: spawn such work
/// ([`Client::start_background_task`](crate::client::Client::start_background_task)). Awaiting an ack ([`ClientSocket::emit_with_ack`]) inside a
/// handler is fine.
#[derive(Default)]
pub struct ClientNamespaceBuilder {
    pub(crate) auth: Option<Arc<AuthFn>>,
    pub(crate) events: HashMap<String, Box<EventFn>>,
    pub(crate) any: Option<Box<EventFn>>,
    pub(crate) connect: Option<Box<ConnectFn>>,
    pub(crate) connect_error: Option<Box<ConnectErrorFn>>,
    pub(crate) disconnect: Option<Box<DisconnectFn>>,
}

impl fmt::Debug for ClientNamespaceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientNamespaceBuilder")
            .field("events", &self.events.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ClientNamespaceBuilder {
    /// Sends `auth` with every CONNECT of this namespace (`Value::Null` sends none).
    pub fn auth(self, auth: Value) -> Self {
        self.auth_with(move || {
            let auth = auth.clone();
            async move { auth }
        })
    }

    /// Computes the auth anew for every connection and reconnection, e.g. to fetch a fresh
    /// token.
    pub fn auth_with<F, Fut>(mut self, auth: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Value> + Send + 'static,
    {
        self.auth = Some(Arc::new(move || Box::pin(auth())));
        self
    }

    /// Handles `event` with a [`Handler`]: extractors ([`ClientSocket`], [`ClientAck`] or
    /// `Option<ClientAck>` to answer by hand, [`EventName`](crate::handler::EventName),
    /// [`Payload`] for the untouched arguments), then event arguments deserialized with
    /// serde; the return value answers the server's ack when it asked for one. The same model
    /// as on the server and as `#[socketio::on("…", client)]`.
    ///
    /// ```
    /// use socketio::client::{Client, ClientSocket};
    ///
    /// let builder = Client::builder("http://127.0.0.1:3000").namespace("/", |ns| {
    ///     ns.on("add", |a: i64, b: i64| async move { a + b })
    ///         .on("news", |socket: ClientSocket, headline: String| async move {
    ///             println!("{headline} (on {})", socket.namespace());
    ///         })
    /// });
    /// # let _ = builder;
    /// ```
    pub fn on<P>(
        mut self,
        event: impl Into<String>,
        handler: impl Handler<P, kind::Event, ClientSide>,
    ) -> Self {
        self.events
            .insert(event.into(), erase_event(move |call| handler.call(call)));
        self
    }

    /// Handles every event that has no handler of its own; its name is the
    /// [`EventName`](crate::handler::EventName) parameter.
    pub fn on_any<P>(mut self, handler: impl Handler<P, kind::Event, ClientSide>) -> Self {
        self.any = Some(erase_event(move |call| handler.call(call)));
        self
    }

    /// Runs each time the namespace is connected (after every reconnection too).
    pub fn on_connect<P>(mut self, handler: impl Handler<P, kind::Notice, ClientSide>) -> Self {
        self.connect = Some(erase_connect(move |call| handler.call(call)));
        self
    }

    /// Runs when the server refuses the namespace. Its first event argument is
    /// `{"message": …, "data": …}`, the server's refusal (read it as a `serde_json::Value`
    /// or your own struct).
    pub fn on_connect_error<P>(
        mut self,
        handler: impl Handler<P, kind::Notice, ClientSide>,
    ) -> Self {
        self.connect_error = Some(erase_connect_error(move |call| handler.call(call)));
        self
    }

    /// Runs each time the namespace is disconnected; the reason is the
    /// [`DisconnectReason`] parameter.
    pub fn on_disconnect<P>(mut self, handler: impl Handler<P, kind::Notice, ClientSide>) -> Self {
        self.disconnect = Some(erase_disconnect(move |call| handler.call(call)));
        self
    }

    /// Whether `event` (a name, or `connect`, `connect_error`, `disconnect`, `*`) has a
    /// handler.
    pub(crate) fn handles(&self, event: &str) -> bool {
        match event {
            "connect" => self.connect.is_some(),
            "connect_error" => self.connect_error.is_some(),
            "disconnect" => self.disconnect.is_some(),
            "*" => self.any.is_some(),
            event => self.events.contains_key(event),
        }
    }

    /// Adds a handler the macros generated for `event` (as in [`handles`](Self::handles)).
    pub(crate) fn on_generated(
        mut self,
        event: &str,
        handler: impl Fn(ClientCall) -> HandlerFuture + Send + Sync + 'static,
    ) -> Self {
        match event {
            "connect" => self.connect = Some(erase_connect(handler)),
            "connect_error" => self.connect_error = Some(erase_connect_error(handler)),
            "disconnect" => self.disconnect = Some(erase_disconnect(handler)),
            "*" => self.any = Some(erase_event(handler)),
            event => {
                self.events.insert(event.to_owned(), erase_event(handler));
            }
        }
        self
    }
}

type ClientCall = Call<ClientSide>;

/// The client's handler context is empty; one shared value spares an allocation per call.
fn no_context() -> Arc<()> {
    static CONTEXT: std::sync::OnceLock<Arc<()>> = std::sync::OnceLock::new();
    CONTEXT.get_or_init(|| Arc::new(())).clone()
}

fn new_call(kind: CallKind, socket: ClientSocket, event: &str, payload: Payload) -> ClientCall {
    Call::new(kind, socket, no_context(), event.into(), payload)
}

fn erase_event(
    handler: impl Fn(ClientCall) -> HandlerFuture + Send + Sync + 'static,
) -> Box<EventFn> {
    Box::new(move |socket, event, payload, ack| {
        let mut call = Call::new(CallKind::Event, socket, no_context(), event.into(), payload);
        call.set_ack(ack);
        completed(handler(call))
    })
}

fn erase_connect(
    handler: impl Fn(ClientCall) -> HandlerFuture + Send + Sync + 'static,
) -> Box<ConnectFn> {
    Box::new(move |socket| {
        let call = new_call(CallKind::Connect, socket, "connect", Payload::empty());
        completed(handler(call))
    })
}

fn erase_connect_error(
    handler: impl Fn(ClientCall) -> HandlerFuture + Send + Sync + 'static,
) -> Box<ConnectErrorFn> {
    Box::new(move |socket, error| {
        let refusal = connect_error_object(&error);
        let call = new_call(CallKind::Event, socket, "connect_error", refusal);
        completed(handler(call))
    })
}

fn erase_disconnect(
    handler: impl Fn(ClientCall) -> HandlerFuture + Send + Sync + 'static,
) -> Box<DisconnectFn> {
    Box::new(move |socket, reason| {
        let mut call = new_call(CallKind::Disconnect, socket, "disconnect", Payload::empty());
        call.set_reason(reason);
        completed(handler(call))
    })
}

/// A handler call as a client job, which has no outcome to report.
fn completed(call: HandlerFuture) -> BoxFuture<()> {
    Box::pin(async move {
        call.await;
    })
}

/// The argument a `connect_error` handler receives.
fn connect_error_object(error: &ClientError) -> Payload {
    let object = match error {
        ClientError::ConnectRefused {
            message,
            data: Some(data),
            ..
        } => json!({ "message": message, "data": data }),
        ClientError::ConnectRefused { message, .. } => json!({ "message": message }),
        other => json!({ "message": other.to_string() }),
    };
    Payload::from_args(vec![object])
}
