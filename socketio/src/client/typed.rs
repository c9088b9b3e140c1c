//! Typed handles on the client: a [`ClientSocket`] that emits only the events of a declared
//! [`EventSet`] (see [`Typed`]), also as a handler parameter.

use std::time::Duration;

use serde::Serialize;

use crate::args::{
    AckError, Contains, EmitError, Event, EventSet, FromPayload, Typed, WithTimeout,
};
use crate::client::socket::ClientSide;
use crate::client::socket::{Client, ClientSocket};
use crate::handler::{Call, CallError, FromCall, ViaExtractor};

impl ClientSocket {
    /// This namespace's socket, emitting only the events of `S`: emitting a type `S` does not
    /// declare is a compile error. See [`EventSet`](macro@crate::event_set).
    ///
    /// ```no_run
    /// use serde::Serialize;
    /// use socketio::client::Client;
    ///
    /// #[derive(Serialize, socketio::Event)]
    /// #[event("line")]
    /// struct Line { text: String }
    ///
    /// #[socketio::event_set]
    /// enum ToServer { Line(Line) }
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::builder("http://127.0.0.1:3000").connect().await?;
    /// let socket = client.socket().typed::<ToServer>();
    /// socket.emit(&Line { text: "hi".into() })?;
    /// let stored: bool = socket.emit_with_ack(&Line { text: "kept?".into() }).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn typed<S: EventSet>(&self) -> Typed<ClientSocket, S> {
        Typed::new(self.clone())
    }
}

impl Client {
    /// The socket of `/`, emitting only the events of `S`; see [`ClientSocket::typed`].
    pub fn typed<S: EventSet>(&self) -> Typed<ClientSocket, S> {
        Typed::new(self.socket())
    }
}

impl<S: EventSet> Typed<ClientSocket, S> {
    /// Emits an event of the set; see [`ClientSocket::emit_event`].
    pub fn emit<E>(&self, event: &E) -> Result<(), EmitError>
    where
        S: Contains<E>,
        E: Event + Serialize,
    {
        self.untyped().emit_event(event)
    }

    /// Emits an event of the set and waits for the server's ack, read into `R`; see
    /// [`ClientSocket::emit_with_ack`].
    pub async fn emit_with_ack<E, R>(&self, event: &E) -> Result<R, AckError>
    where
        S: Contains<E>,
        E: Event + Serialize,
        R: FromPayload,
    {
        self.untyped().emit_with_ack(E::NAME, event).await
    }

    /// Sets how long [`emit_with_ack`](Typed::emit_with_ack) waits; see
    /// [`ClientSocket::timeout`].
    pub fn timeout(&self, timeout: Duration) -> Typed<WithTimeout<ClientSocket>, S> {
        self.wrap(self.untyped().timeout(timeout))
    }
}

impl<S: EventSet> Typed<WithTimeout<ClientSocket>, S> {
    /// Emits an event of the set and waits for the server's ack within the timeout.
    pub async fn emit_with_ack<E, R>(self, event: &E) -> Result<R, AckError>
    where
        S: Contains<E>,
        E: Event + Serialize,
        R: FromPayload,
    {
        self.into_untyped().emit_with_ack(E::NAME, event).await
    }
}

/// The handler's socket, emitting only the events of a declared set.
impl<S: EventSet> FromCall<ViaExtractor, ClientSide> for Typed<ClientSocket, S> {
    fn from_call(call: &mut Call<ClientSide>) -> Result<Self, CallError> {
        Ok(Typed::new(call.socket().clone()))
    }
}
