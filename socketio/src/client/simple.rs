//! `SimpleClient`: one namespace, events pulled with `receive` instead of handlers (like
//! python-socketio's `AsyncSimpleClient`).

use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, mpsc};

use super::builder::ClientBuilder;
use super::error::ClientError;
use super::socket::{Client, ClientSocket};
use crate::args::Payload;
use crate::args::{
    AckError, EmitError, FromPayload, IntoPayload, SerdeError, WithTimeout, from_args,
};
use crate::args::{Event as EventType, EventSet, Typed};
use crate::engineio::TransportKind;
use crate::handler::EventName;

/// Events buffered for [`SimpleClient::receive`] before the client stops reading the server.
const EVENT_BUFFER: usize = 1024;

/// An event the server sent: its name and arguments.
///
/// ```
/// use serde_json::json;
/// use socketio::Payload;
/// use socketio::client::Event;
///
/// let event = Event { name: "score".into(), payload: Payload::from_args(vec![json!("ann"), json!(3)]) };
/// let (who, points): (String, u32) = event.args().unwrap();
/// assert_eq!((who.as_str(), points), ("ann", 3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The arguments.
    pub payload: Payload,
}

impl Event {
    /// The arguments deserialized with [`from_args`] (a tuple for several).
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, SerdeError> {
        from_args(&self.payload)
    }
}

/// A client for one namespace whose events are read with [`receive`](Self::receive), for
/// request/response style code (python-socketio's `AsyncSimpleClient`). Reconnection works as
/// for [`Client`]. The blocking form is [`blocking::SimpleClient`](super::blocking::SimpleClient).
///
/// ```no_run
/// use std::time::Duration;
/// use socketio::client::{Client, SimpleClient};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = SimpleClient::connect(Client::builder("http://127.0.0.1:3000"), "/").await?;
/// client.emit("message", "hello")?;
/// let event = client.receive(Some(Duration::from_secs(5))).await?;
/// assert_eq!(event.name, "message-back");
/// client.disconnect();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SimpleClient {
    client: Client,
    socket: ClientSocket,
    events: Mutex<mpsc::Receiver<Event>>,
}

impl SimpleClient {
    /// Connects with `builder`, joining `namespace` (and any other namespace the builder
    /// declares); every event of `namespace` that has no handler of its own is kept for
    /// [`receive`](Self::receive).
    pub async fn connect(builder: ClientBuilder, namespace: &str) -> Result<Self, ClientError> {
        let (tx, events) = mpsc::channel(EVENT_BUFFER);
        let client = builder
            .namespace(namespace, move |ns| {
                ns.on_any(move |EventName(name): EventName, payload: Payload| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(Event { name, payload }).await;
                    }
                })
            })
            .connect()
            .await?;
        let namespace = if namespace.starts_with('/') {
            namespace.to_owned()
        } else {
            format!("/{namespace}")
        };
        Ok(SimpleClient {
            socket: client.of(&namespace),
            client,
            events: Mutex::new(events),
        })
    }

    /// Emits `event`; see [`ClientSocket::emit`].
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        self.socket.emit(event, args)
    }

    /// Emits an [`Event`](crate::args::Event) value; see [`ClientSocket::emit_event`].
    pub fn emit_event<E: EventType + serde::Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.socket.emit_event(event)
    }

    /// The namespace's socket, emitting only the events of `S`; see [`ClientSocket::typed`].
    pub fn typed<S: EventSet>(&self) -> Typed<ClientSocket, S> {
        self.socket.typed()
    }

    /// Sets the ack timeout of the next emit; see [`ClientSocket::timeout`].
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<ClientSocket> {
        self.socket.timeout(timeout)
    }

    /// Emits `event` and waits for the ack, read into `R`; see
    /// [`ClientSocket::emit_with_ack`].
    pub async fn emit_with_ack<R: FromPayload>(
        &self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        self.socket.emit_with_ack(event, args).await
    }

    /// The handle on the namespace, for the rest of [`ClientSocket`]'s methods.
    pub(crate) fn socket(&self) -> &ClientSocket {
        &self.socket
    }

    /// The next event from the server, waiting at most `timeout` (`None`: as long as it
    /// takes). Fails with [`ClientError::Timeout`], or [`ClientError::Disconnected`] once the
    /// client is disconnected for good and every event was read.
    pub async fn receive(&self, timeout: Option<Duration>) -> Result<Event, ClientError> {
        let mut events = self.events.lock().await;
        let next = async {
            tokio::select! {
                biased;
                event = events.recv() => event.ok_or(ClientError::Disconnected),
                () = self.client.wait() => Err(ClientError::Disconnected),
            }
        };
        match timeout {
            Some(limit) => tokio::time::timeout(limit, next)
                .await
                .map_err(|_| ClientError::Timeout)?,
            None => next.await,
        }
    }

    /// The namespace's sid.
    pub fn sid(&self) -> Option<String> {
        self.socket.sid()
    }

    /// The transport in use.
    pub fn transport(&self) -> Option<TransportKind> {
        self.client.transport()
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Disconnects; see [`Client::disconnect`].
    pub fn disconnect(&self) {
        self.client.disconnect();
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
