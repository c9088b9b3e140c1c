//! Handler parameters: extractors, and event arguments deserialized with serde.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::call::{Call, CallError, ServerSide, Side};
use crate::args;
use crate::args::Payload;
use crate::args::{EventSet, Typed};
use crate::engineio::Handshake;
use crate::ns::ack::AckSender;
use crate::ns::socket::{DisconnectReason, Socket};

/// A handler parameter. `M` only tells the two families apart: [`ViaExtractor`] for values
/// taken from the call (the socket, state, the ack sender…), [`ViaArgument`] for the event's
/// next argument, deserialized with serde.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler parameter",
    label = "neither an extractor nor an event argument",
    note = "an event argument must implement `serde::Deserialize` (for example with `#[derive(Deserialize)]`)",
    note = "extractors are `Arc<Socket>`, `Typed<Arc<Socket>, Set>`, `SocketIo`, `State<T>`, `Auth<T>`, `Session<T>`, `Handshake`, `AckSender`, `Option<AckSender>`, `EventName`, `DisconnectReason` and `Payload`"
)]
pub trait FromCall<M, S: Side = ServerSide>: Sized {
    /// Takes the parameter from the call.
    fn from_call(call: &mut Call<S>) -> Result<Self, CallError>;
}

/// Marks parameters taken from the call rather than from the arguments.
#[derive(Debug)]
pub enum ViaExtractor {}

/// Marks parameters read from the event's next argument.
#[derive(Debug)]
pub enum ViaArgument {}

impl<S: Side, T: DeserializeOwned> FromCall<ViaArgument, S> for T {
    fn from_call(call: &mut Call<S>) -> Result<Self, CallError> {
        call.next_arg()
    }
}

impl FromCall<ViaExtractor> for Arc<Socket> {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        Ok(call.socket().clone())
    }
}

/// The socket, emitting only the events of a declared set; see [`Typed`].
impl<E: EventSet> FromCall<ViaExtractor> for Typed<Arc<Socket>, E> {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        Ok(Typed::new(call.socket().clone()))
    }
}

impl FromCall<ViaExtractor> for Handshake {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        Ok(call.socket().handshake().clone())
    }
}

/// The handler answers the client's ack itself; the return value is then not sent.
/// Without an ack requested by the client, the handler is not called (take
/// `Option<AckSender>` to run either way).
impl FromCall<ViaExtractor> for AckSender {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        call.take_ack().ok_or(CallError::NoAck)
    }
}

impl FromCall<ViaExtractor> for Option<AckSender> {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        Ok(call.take_ack())
    }
}

impl FromCall<ViaExtractor> for DisconnectReason {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        call.reason()
            .ok_or(CallError::NotAvailable("DisconnectReason"))
    }
}

/// Every argument not taken by an earlier parameter, binary attachments included: for
/// handlers that pass arguments on untouched.
impl<S: Side> FromCall<ViaExtractor, S> for Payload {
    fn from_call(call: &mut Call<S>) -> Result<Self, CallError> {
        Ok(call.rest_payload())
    }
}

/// Every argument not taken by an earlier parameter, read as one value of `T` and split the
/// way an emit of `T` splits it: a tuple or a tuple struct takes one argument per element,
/// anything else (a struct) the next argument. This is how a hand-registered handler reads
/// an event struct whole, as `#[socketio::on(Type)]` does.
///
/// ```
/// use socketio::handler::Args;
///
/// #[derive(serde::Serialize, serde::Deserialize, socketio::Event)]
/// #[event("stamp")]
/// struct Stamp(String, u64);
///
/// let io = socketio::SocketIo::builder()
///     .namespace("/", |ns| {
///         ns.on("stamp", |Args(Stamp(text, at)): Args<Stamp>| async move {
///             format!("{text} at {at}")
///         })
///     })
///     .build()
///     .unwrap();
/// # let _ = io;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Args<T>(pub T);

impl<S: Side, T: DeserializeOwned> FromCall<ViaExtractor, S> for Args<T> {
    fn from_call(call: &mut Call<S>) -> Result<Self, CallError> {
        call.event_value().map(Args)
    }
}

/// The name of the event being handled: useful in a catch-all (`"*"`) handler.
///
/// ```
/// use std::sync::Arc;
/// use socketio::Socket;
/// use socketio::handler::EventName;
///
/// #[socketio::on("*")]
/// async fn anything(socket: Arc<Socket>, EventName(name): EventName) {
///     println!("{} sent {name}", socket.sid());
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventName(pub String);

impl<S: Side> FromCall<ViaExtractor, S> for EventName {
    fn from_call(call: &mut Call<S>) -> Result<Self, CallError> {
        Ok(EventName(call.event().to_owned()))
    }
}

/// Application state given to [`SocketIoBuilder::state`](crate::SocketIoBuilder::state),
/// cloned for each call (wrap it in an `Arc` if it is large).
///
/// ```standalone_crate
/// use socketio::handler::State;
///
/// #[derive(Clone)]
/// struct Config { motd: String }
///
/// #[socketio::on("motd")]
/// async fn motd(State(config): State<Config>) -> String {
///     config.motd
/// }
///
/// let io = socketio::SocketIo::builder()
///     .state(Config { motd: "hello".into() })
///     .build()
///     .unwrap();
/// # let _ = io;
/// ```
#[derive(Debug, Clone)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromCall<ViaExtractor> for State<T> {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        call.context()
            .state::<T>()
            .cloned()
            .map(State)
            .ok_or(CallError::MissingState(std::any::type_name::<T>()))
    }
}

/// The auth payload of the socket's CONNECT, deserialized. Without one, `T` reads as absent:
/// an `Option` is `None`, anything else an error.
///
/// ```
/// use socketio::handler::Auth;
///
/// #[derive(serde::Deserialize)]
/// struct Token { token: String }
///
/// #[socketio::on("whoami")]
/// async fn whoami(Auth(auth): Auth<Option<Token>>) -> Option<String> {
///     auth.map(|auth| auth.token)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Auth<T>(pub T);

impl<T: DeserializeOwned> FromCall<ViaExtractor> for Auth<T> {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        let auth = match call.socket().auth_sent() {
            Some(auth) => Payload::from_args(vec![auth.clone()]),
            None => Payload::empty(),
        };
        args::from_args::<(T,)>(&auth)
            .map(|(auth,)| Auth(auth))
            .map_err(CallError::Argument)
    }
}

/// A copy of the socket's session value of type `T` (its `Default` when none was saved).
/// Save changes with [`Socket::save_session`] or [`Socket::with_session`].
///
/// ```
/// use std::sync::Arc;
/// use socketio::Socket;
/// use socketio::handler::Session;
///
/// #[derive(Clone, Default)]
/// struct Nickname(String);
///
/// #[socketio::on("nick")]
/// async fn nick(socket: Arc<Socket>, Session(old): Session<Nickname>, new: String) -> String {
///     socket.save_session(Nickname(new));
///     old.0
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Session<T>(pub T);

impl<T: Clone + Default + Send + Sync + 'static> FromCall<ViaExtractor> for Session<T> {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        Ok(Session(
            call.socket().get_session::<T>().unwrap_or_default(),
        ))
    }
}
