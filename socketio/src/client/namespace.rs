//! The handlers and auth of one client namespace, fixed once the client is built.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{ClientError, DisconnectReason};
use super::socket::{ClientAck, ClientSocket};
use crate::args::Payload;
use crate::args::{from_args, to_payload};
use crate::client::engine::BoxFuture;
use crate::handler::CallError;

pub(crate) type EventFn =
    dyn Fn(ClientSocket, Payload, Option<ClientAck>) -> BoxFuture<()> + Send + Sync;
pub(crate) type AnyFn =
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
    pub(crate) any: Option<Box<AnyFn>>,
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

    /// Handles `event`. The handler gets the arguments and, when the server asked for an
    /// acknowledgement, the [`ClientAck`] to answer with.
    ///
    /// This is the erased form every other way of registering a handler builds on.
    pub fn on<F, Fut>(mut self, event: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ClientSocket, Payload, Option<ClientAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.events.insert(
            event.into(),
            Box::new(move |socket, payload, ack| Box::pin(handler(socket, payload, ack))),
        );
        self
    }

    /// Handles `event` with typed arguments: they are deserialized with
    /// [`from_args`] into `T` (a tuple for several arguments), and the value
    /// the handler returns is serialized with [`to_payload`] into the acknowledgement when the
    /// server asked for one (a tuple gives several arguments, `()` none). Arguments that do not
    /// fit `T` are logged, the handler is not called, and an ack the server asked for gets
    /// `{"error": "invalid arguments: …"}`, as from a server handler.
    pub fn on_typed<F, Fut, T, R>(self, event: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ClientSocket, T) -> Fut + Send + Sync + 'static,
        T: DeserializeOwned + Send + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Serialize + Send + 'static,
    {
        let event = event.into();
        let name = event.clone();
        self.on(event, move |socket, payload, ack| {
            let call = from_args::<T>(&payload).map(|args| handler(socket, args));
            let name = name.clone();
            async move {
                let reply = match call {
                    Ok(call) => call.await,
                    Err(error) => {
                        tracing::warn!(event = %name, %error, "event arguments do not fit the handler");
                        // Answer like a server handler does, so the server is not left waiting.
                        if let Some(ack) = ack {
                            let _ = ack.send(Payload::error_ack(&CallError::Argument(error)));
                        }
                        return;
                    }
                };
                let Some(ack) = ack else { return };
                match to_payload(&reply) {
                    Ok(payload) => {
                        let _ = ack.send(payload);
                    }
                    Err(error) => tracing::warn!(event = %name, %error, "ack is not serializable"),
                }
            }
        })
    }

    /// Handles every event that has no handler of its own, with its name.
    pub fn on_any<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ClientSocket, String, Payload, Option<ClientAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.any = Some(Box::new(move |socket, event, payload, ack| {
            Box::pin(handler(socket, event, payload, ack))
        }));
        self
    }

    /// Runs each time the namespace is connected (after every reconnection too).
    pub fn on_connect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ClientSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.connect = Some(Box::new(move |socket| Box::pin(handler(socket))));
        self
    }

    /// Runs when the server refuses the namespace; the error is
    /// [`ClientError::ConnectRefused`] with the server's message and data.
    pub fn on_connect_error<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ClientSocket, ClientError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.connect_error = Some(Box::new(move |socket, error| {
            Box::pin(handler(socket, error))
        }));
        self
    }

    /// Runs each time the namespace is disconnected, with the reason.
    pub fn on_disconnect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ClientSocket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.disconnect = Some(Box::new(move |socket, reason| {
            Box::pin(handler(socket, reason))
        }));
        self
    }
}
