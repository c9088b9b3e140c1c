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

use super::error::{ClientError, DisconnectReason};
use super::namespace::ClientNamespaceBuilder;
use super::socket::{ClientAck, ClientSide, ClientSocket};
use crate::handler::{Call, CallError, FromCall, ViaExtractor};
use crate::registry::{HandlerRegistration, NamespaceRegistration, Resolved};

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

/// Adds one generated handler to a namespace; an event that already has a handler registered
/// by hand is a configuration error.
pub(super) fn install(
    handler: Resolved<ClientSide>,
    builder: ClientNamespaceBuilder,
) -> Result<ClientNamespaceBuilder, ClientError> {
    if builder.handles(handler.event) {
        return Err(ClientError::Config(format!(
            "two handlers for event {:?} of namespace {:?}: one registered by hand and one at {}",
            handler.event, handler.namespace, handler.location
        )));
    }
    let erased = handler.call;
    Ok(builder.on_generated(handler.event, move |call| erased.call(call)))
}
