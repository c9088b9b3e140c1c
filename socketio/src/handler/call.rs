//! One handler call: what its parameters are drawn from, and what happens with its result.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;

use crate::args::Payload;
use crate::args::{self, SerdeError};
use crate::ns::ack::AckSender;
pub use crate::ns::namespace::Completion;
use crate::ns::namespace::ConnectError;
use crate::ns::socket::{DisconnectReason, Socket};

/// The future a generated handler returns.
pub type BoxFuture = Pin<Box<dyn Future<Output = Completion> + Send>>;

/// Application state by type, as [`SocketIoBuilder::state`](crate::SocketIoBuilder::state)
/// collects it.
pub(crate) type StateMap = HashMap<TypeId, Box<dyn Any + Send + Sync>>;

/// Values shared by every handler of one server: the application state set on the builder
/// and, once the server is built, a handle to it. Opaque: handlers reach it through
/// extractors such as [`State`](super::State) and [`SocketIo`](crate::SocketIo).
///
/// Handlers registered on the builder hold it before it is filled; both parts are set once,
/// when the server is built, before any handler can run.
#[derive(Default)]
pub struct ServerContext {
    state: OnceLock<StateMap>,
    /// A `server::WeakSocketIo`, kept opaque so this layer need not know the server.
    server: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl ServerContext {
    pub(crate) fn set_state(&self, state: StateMap) {
        let _ = self.state.set(state);
    }

    pub(crate) fn state<T: 'static>(&self) -> Option<&T> {
        self.state.get()?.get(&TypeId::of::<T>())?.downcast_ref()
    }

    pub(crate) fn set_server(&self, server: Box<dyn Any + Send + Sync>) {
        let _ = self.server.set(server);
    }

    pub(crate) fn server<T: 'static>(&self) -> Option<&T> {
        self.server.get()?.downcast_ref()
    }
}

/// Which kind of handler a call is for; it decides what a failure turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Connect,
    Event,
    Disconnect,
}

/// One end of a connection whose handlers the macros generate: the server ([`ServerSide`]) or
/// the client. It names what a call carries on that side.
pub trait Side: Sized + Send + 'static {
    /// The socket handlers receive.
    type Socket: Send + Sync + 'static;
    /// What answers the peer's ack.
    type Ack: Send + 'static;
    /// Why a socket left its namespace.
    type Reason: Clone + Send + 'static;
    /// Values shared by every handler.
    type Context: Send + Sync + 'static;

    /// Sends an ack; failures (the connection is gone) are not the handler's concern.
    #[doc(hidden)]
    fn send_ack(ack: Self::Ack, payload: Payload);

    /// The socket's id and namespace, for logs.
    #[doc(hidden)]
    fn describe(socket: &Self::Socket) -> (String, String);
}

/// The server side: handlers get an `Arc<Socket>` and answer with an [`AckSender`].
#[derive(Debug)]
pub enum ServerSide {}

impl Side for ServerSide {
    type Socket = Arc<Socket>;
    type Ack = AckSender;
    type Reason = DisconnectReason;
    type Context = ServerContext;

    fn send_ack(ack: AckSender, payload: Payload) {
        let _ = ack.send(payload);
    }

    fn describe(socket: &Arc<Socket>) -> (String, String) {
        (socket.sid().to_string(), socket.namespace().to_owned())
    }
}

/// Everything one handler call can draw its parameters from. Made by the runtime, consumed
/// by the code `#[socketio::on]` generates.
pub struct Call<S: Side = ServerSide> {
    kind: CallKind,
    socket: S::Socket,
    context: Arc<S::Context>,
    event: Arc<str>,
    payload: Payload,
    next_arg: usize,
    rest_taken: bool,
    ack: Option<S::Ack>,
    reason: Option<S::Reason>,
}

impl<S: Side> fmt::Debug for Call<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (id, namespace) = S::describe(&self.socket);
        f.debug_struct("Call")
            .field("socket", &id)
            .field("namespace", &namespace)
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

impl Call<ServerSide> {
    pub(crate) fn for_connect(socket: Arc<Socket>, context: Arc<ServerContext>) -> Self {
        let payload = match socket.auth_sent() {
            Some(auth) => Payload::from_args(vec![auth.clone()]),
            None => Payload::empty(),
        };
        Call::new(
            CallKind::Connect,
            socket,
            context,
            "connect".into(),
            payload,
        )
    }

    pub(crate) fn for_event(
        socket: Arc<Socket>,
        context: Arc<ServerContext>,
        event: Arc<str>,
        payload: Payload,
        ack: Option<AckSender>,
    ) -> Self {
        let mut call = Call::new(CallKind::Event, socket, context, event, payload);
        call.ack = ack;
        call
    }

    pub(crate) fn for_disconnect(
        socket: Arc<Socket>,
        context: Arc<ServerContext>,
        reason: DisconnectReason,
    ) -> Self {
        let mut call = Call::new(
            CallKind::Disconnect,
            socket,
            context,
            "disconnect".into(),
            Payload::empty(),
        );
        call.reason = Some(reason);
        call
    }

    pub(crate) fn server<T: 'static>(&self) -> Option<&T> {
        self.context.server()
    }
}

impl<S: Side> Call<S> {
    pub(crate) fn new(
        kind: CallKind,
        socket: S::Socket,
        context: Arc<S::Context>,
        event: Arc<str>,
        payload: Payload,
    ) -> Self {
        Call {
            kind,
            socket,
            context,
            event,
            payload,
            next_arg: 0,
            rest_taken: false,
            ack: None,
            reason: None,
        }
    }

    /// The socket the call is for.
    pub fn socket(&self) -> &S::Socket {
        &self.socket
    }

    /// The event name (`connect` and `disconnect` for those handlers).
    pub fn event(&self) -> &str {
        &self.event
    }

    pub(crate) fn context(&self) -> &S::Context {
        &self.context
    }

    #[cfg(feature = "client")]
    pub(crate) fn set_ack(&mut self, ack: Option<S::Ack>) {
        self.ack = ack;
    }

    #[cfg(feature = "client")]
    pub(crate) fn set_reason(&mut self, reason: S::Reason) {
        self.reason = Some(reason);
    }

    pub(crate) fn take_ack(&mut self) -> Option<S::Ack> {
        self.ack.take()
    }

    pub(crate) fn reason(&self) -> Option<S::Reason> {
        self.reason.clone()
    }

    /// The next event argument, deserialized with serde.
    pub(crate) fn next_arg<T: DeserializeOwned>(&mut self) -> Result<T, CallError> {
        let index = self.next_arg;
        self.next_arg += 1;
        args::arg_at(&self.payload, index, &mut self.rest_taken).map_err(CallError::Argument)
    }

    /// The arguments not taken yet read as one event value, split the way an emit of it
    /// splits them: a struct is one argument, a tuple struct one per field.
    pub(crate) fn event_value<T: DeserializeOwned>(&mut self) -> Result<T, CallError> {
        let rest = self.rest_payload();
        args::from_args(&rest).map_err(CallError::Argument)
    }

    /// Every argument not taken yet, attachments included. Moved out, not copied: once the
    /// rest is taken no later parameter reads an argument, so nothing needs them here again.
    pub(crate) fn rest_payload(&mut self) -> Payload {
        // Counted, not read: arguments nobody reads stay unparsed.
        let count = self.payload.args.count();
        let start = if self.rest_taken {
            count
        } else {
            self.next_arg.min(count)
        };
        self.rest_taken = true;
        let args = if start == 0 {
            std::mem::take(&mut self.payload.args)
        } else {
            self.payload.args.split_off(start).into()
        };
        Payload {
            args,
            attachments: std::mem::take(&mut self.payload.attachments),
        }
    }

    /// Ends a call whose parameters could not be extracted or whose guard refused it: the
    /// handler does not run, the client's ack (if any) gets an error object, and it is
    /// logged. A connect handler refuses the connection with the message instead.
    #[doc(hidden)]
    pub fn reject(mut self, error: CallError) -> Completion {
        let (sid, ns) = S::describe(&self.socket);
        tracing::warn!(%sid, %ns, event = %self.event, %error, "handler not called");
        match self.kind {
            CallKind::Connect => Completion::refuse(ConnectError::new(error.to_string())),
            CallKind::Event => {
                if let Some(ack) = self.ack.take() {
                    S::send_ack(ack, Payload::error_ack(&error));
                }
                Completion::done()
            }
            CallKind::Disconnect => Completion::done(),
        }
    }

    /// Ends an event call with the handler's return value as the ack, unless the client
    /// asked for none or the handler took the [`AckSender`] to answer by itself.
    #[doc(hidden)]
    pub fn reply(mut self, reply: AckReply) -> Completion {
        let payload = match reply.0 {
            Ok(payload) => payload,
            Err(error) => {
                let (sid, ns) = S::describe(&self.socket);
                tracing::warn!(%sid, %ns, event = %self.event, %error, "handler returned an error");
                Payload::error_ack(&error)
            }
        };
        if let Some(ack) = self.ack.take() {
            S::send_ack(ack, payload);
        }
        Completion::done()
    }

    /// Ends a connect call: accepted, or refused with the handler's error.
    #[doc(hidden)]
    pub fn connected(self, outcome: impl ConnectOutcome) -> Completion {
        match outcome.into_connect_result() {
            Ok(()) => Completion::done(),
            Err(refusal) => Completion::refuse(refusal),
        }
    }

    /// Ends a call that has nothing to answer (disconnect handlers).
    #[doc(hidden)]
    pub fn finished(self) -> Completion {
        Completion::done()
    }

    /// Runs a guard before the handler: `Err` when it refuses the call.
    #[doc(hidden)]
    pub fn guard<G: GuardOutcome>(
        &self,
        guard: impl FnOnce(&S::Socket) -> G,
    ) -> Result<(), CallError> {
        guard(&self.socket).into_guard_result()
    }
}

/// Why a handler was not called.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// An event argument did not deserialize into the parameter's type.
    #[error("invalid arguments: {0}")]
    Argument(#[from] SerdeError),
    /// A `State<T>` parameter whose type was never given to the builder.
    #[error("no state of type {0} was given to SocketIoBuilder::state")]
    MissingState(&'static str),
    /// An [`AckSender`] parameter, but the client asked for no ack.
    #[error("the handler answers an ack but the client asked for none")]
    NoAck,
    /// A parameter that only exists in another kind of handler (a `DisconnectReason`
    /// outside a disconnect handler).
    #[error("{0} is not available in this handler")]
    NotAvailable(&'static str),
    /// The server was dropped while the call ran.
    #[error("the server is shutting down")]
    ServerGone,
    /// A guard refused the call.
    #[error("forbidden: {0}")]
    Forbidden(String),
}

/// The ack a handler's return value becomes; see [`Call::reply`].
#[derive(Debug)]
pub struct AckReply(Result<Payload, String>);

impl AckReply {
    /// No arguments: the return type is `()`.
    pub fn empty() -> Self {
        AckReply(Ok(Payload::empty()))
    }

    /// The return value, split into ack arguments the way an emit splits its value (see
    /// [`to_payload`](crate::args::to_payload)): `()` gives none, a tuple one per element,
    /// anything else one. A `Result` acks with its `Ok` value, or for `Err` with
    /// `{"error": …}`: a string error is the message as it is, any other error its JSON.
    pub fn value<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        AckReply(match args::to_ack(value) {
            Ok(Ok(payload)) => Ok(payload),
            Ok(Err(serde_json::Value::String(message))) => Err(message),
            Ok(Err(error)) => Err(error.to_string()),
            Err(e) => Err(format!("the ack does not serialize: {e}")),
        })
    }

    /// Arguments encoded beforehand, sent as they are.
    pub fn payload(payload: Payload) -> Self {
        AckReply(Ok(payload))
    }

    /// An error object: the handler returned `Err`.
    pub fn error<E: fmt::Display>(error: E) -> Self {
        AckReply(Err(error.to_string()))
    }
}

/// What a connect handler may return: `()` accepts, `false` refuses, and `Err` refuses with
/// the error's message and data.
#[diagnostic::on_unimplemented(
    message = "a connect handler cannot return `{Self}`",
    label = "return `()`, `bool` or `Result<(), E>` where `E: Into<ConnectError>`"
)]
pub trait ConnectOutcome {
    /// Accepted, or the refusal the client receives as CONNECT_ERROR.
    fn into_connect_result(self) -> Result<(), ConnectError>;
}

impl ConnectOutcome for () {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        Ok(())
    }
}

impl ConnectOutcome for bool {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        if self {
            Ok(())
        } else {
            Err(ConnectError::new("Connection rejected by server"))
        }
    }
}

impl<E: Into<ConnectError>> ConnectOutcome for Result<(), E> {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        self.map_err(Into::into)
    }
}

/// What a guard may return: `true` or `Ok(())` lets the call through.
#[diagnostic::on_unimplemented(
    message = "a guard cannot return `{Self}`",
    label = "a guard is a `fn(&Arc<Socket>) -> bool` or `-> Result<(), E>` where `E: Display`"
)]
pub trait GuardOutcome {
    /// `Ok` lets the call through.
    fn into_guard_result(self) -> Result<(), CallError>;
}

impl GuardOutcome for bool {
    fn into_guard_result(self) -> Result<(), CallError> {
        if self {
            Ok(())
        } else {
            Err(CallError::Forbidden("refused by a guard".into()))
        }
    }
}

impl<E: fmt::Display> GuardOutcome for Result<(), E> {
    fn into_guard_result(self) -> Result<(), CallError> {
        self.map_err(|e| CallError::Forbidden(e.to_string()))
    }
}
