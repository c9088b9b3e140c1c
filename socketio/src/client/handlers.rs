//! Typed client handlers: the client side of `#[socketio::on("…", client)]` and
//! `#[socketio::namespace("/…", client)]`.
//!
//! The same rules as on the server (see [`crate::handler`]): extractors first —
//! [`ClientSocket`], [`ClientAck`] (or `Option<ClientAck>`) to answer by hand,
//! [`EventName`](crate::handler::EventName), [`DisconnectReason`] in disconnect handlers,
//! [`Payload`](crate::Payload) for the untouched rest — then the event's arguments with serde,
//! and the return value answers the server's ack. Special events: `connect`, `disconnect`,
//! `connect_error` (its argument is `{"message": …, "data": …}`) and `*`.
//!
//! [`ClientBuilder::build`] gathers every client handler in the binary and joins the
//! namespaces they name, as python-socketio's client connects the namespaces it has handlers
//! for.

use std::sync::Arc;

use serde_json::json;

use super::error::{ClientError, DisconnectReason};
use super::namespace::ClientNamespaceBuilder;
use super::socket::{ClientAck, ClientSocket};
use crate::args::Payload;
use crate::handler::{Call, CallError, CallKind, FromCall, Side, ViaExtractor};
use crate::registry::{HandlerRegistration, NamespaceRegistration, Resolved};

/// The client side of generated handlers.
#[derive(Debug)]
pub enum ClientSide {}

impl Side for ClientSide {
    type Socket = ClientSocket;
    type Ack = ClientAck;
    type Reason = DisconnectReason;
    type Context = ();

    fn send_ack(ack: ClientAck, payload: Payload) {
        let _ = ack.send(payload);
    }

    fn describe(socket: &ClientSocket) -> (String, String) {
        (
            socket.sid().unwrap_or_default(),
            socket.namespace().to_owned(),
        )
    }
}

inventory::collect!(HandlerRegistration<ClientSide>);
inventory::collect!(NamespaceRegistration<ClientSide>);

/// A value whose methods handle one namespace of the client; implemented by
/// `#[socketio::namespace("/…", client)]`, like python-socketio's `ClientNamespace`. A type
/// that implements `Default` registers itself; hand any other instance to
/// [`ClientBuilder::register_namespace`](crate::client::ClientBuilder::register_namespace).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a client namespace",
    label = "put `#[socketio::namespace(\"/name\", client)]` on an `impl` block of this type"
)]
pub trait ClientNamespace: Send + Sync + 'static {
    /// The namespace its methods handle.
    const NAMESPACE: &'static str;
}

impl FromCall<ViaExtractor, ClientSide> for ClientSocket {
    fn from_call(call: &mut Call<ClientSide>) -> Result<Self, CallError> {
        Ok(call.socket().clone())
    }
}

/// The handler answers the server's ack itself; without an ack asked for, it is not called.
impl FromCall<ViaExtractor, ClientSide> for ClientAck {
    fn from_call(call: &mut Call<ClientSide>) -> Result<Self, CallError> {
        call.take_ack().ok_or(CallError::NoAck)
    }
}

impl FromCall<ViaExtractor, ClientSide> for Option<ClientAck> {
    fn from_call(call: &mut Call<ClientSide>) -> Result<Self, CallError> {
        Ok(call.take_ack())
    }
}

impl FromCall<ViaExtractor, ClientSide> for DisconnectReason {
    fn from_call(call: &mut Call<ClientSide>) -> Result<Self, CallError> {
        call.reason()
            .ok_or(CallError::NotAvailable("DisconnectReason"))
    }
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

/// Adds one generated handler to a namespace; an event that already has a handler registered
/// by hand is a configuration error.
pub(super) fn install(
    handler: Resolved<ClientSide>,
    builder: ClientNamespaceBuilder,
) -> Result<ClientNamespaceBuilder, ClientError> {
    let taken = match handler.event {
        "connect" => builder.connect.is_some(),
        "connect_error" => builder.connect_error.is_some(),
        "disconnect" => builder.disconnect.is_some(),
        "*" => builder.any.is_some(),
        event => builder.events.contains_key(event),
    };
    if taken {
        return Err(ClientError::Config(format!(
            "two handlers for event {:?} of namespace {:?}: one registered by hand and one at {}",
            handler.event, handler.namespace, handler.location
        )));
    }
    let erased = Arc::new(handler.call);
    let call = move |kind, socket, event: String, payload| {
        Call::<ClientSide>::new(kind, socket, Arc::new(()), event, payload)
    };
    Ok(match handler.event {
        "connect" => builder.on_connect(move |socket| {
            let done = erased.call(call(
                CallKind::Connect,
                socket,
                "connect".into(),
                Payload::empty(),
            ));
            async move {
                done.await;
            }
        }),
        "connect_error" => builder.on_connect_error(move |socket, error| {
            let payload = connect_error_object(&error);
            let done = erased.call(call(
                CallKind::Event,
                socket,
                "connect_error".into(),
                payload,
            ));
            async move {
                done.await;
            }
        }),
        "disconnect" => builder.on_disconnect(move |socket, reason| {
            let mut disconnect = call(
                CallKind::Disconnect,
                socket,
                "disconnect".into(),
                Payload::empty(),
            );
            disconnect.set_reason(reason);
            let done = erased.call(disconnect);
            async move {
                done.await;
            }
        }),
        "*" => builder.on_any(move |socket, event, payload, ack| {
            let mut event_call = call(CallKind::Event, socket, event, payload);
            event_call.set_ack(ack);
            let done = erased.call(event_call);
            async move {
                done.await;
            }
        }),
        event => {
            let name = event.to_owned();
            builder.on(event, move |socket, payload, ack| {
                let mut event_call = call(CallKind::Event, socket, name.clone(), payload);
                event_call.set_ack(ack);
                let done = erased.call(event_call);
                async move {
                    done.await;
                }
            })
        }
    })
}
