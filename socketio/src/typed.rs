//! Typed handles on the server: a socket or a broadcast that emits only the events of a
//! declared [`EventSet`] (see [`Typed`]).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::args::{
    AckError, Contains, EmitError, Event, EventSet, FromPayload, Typed, WithTimeout,
};
use crate::ns::socket::Socket;
use crate::operators::{AckStream, BroadcastOperator};

impl Socket {
    /// This socket, emitting only the events of `S`: emitting a type `S` does not declare is a
    /// compile error.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use serde::Serialize;
    ///
    /// #[derive(Serialize, socketio::Event)]
    /// #[event("line")]
    /// struct Line { text: String }
    ///
    /// #[socketio::event_set]
    /// enum ToClient { Line(Line) }
    ///
    /// # fn demo(socket: Arc<socketio::Socket>) -> Result<(), socketio::EmitError> {
    /// let socket = socket.typed::<ToClient>();
    /// socket.emit(&Line { text: "hi".into() })?;
    /// socket.to("lobby").emit(&Line { text: "hi all".into() })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn typed<S: EventSet>(self: &Arc<Self>) -> Typed<Arc<Socket>, S> {
        Typed::new(self.clone())
    }
}

impl BroadcastOperator {
    /// This broadcast, emitting only the events of `S`; see [`Socket::typed`].
    pub fn typed<S: EventSet>(self) -> Typed<BroadcastOperator, S> {
        Typed::new(self)
    }
}

impl<S: EventSet> Typed<Arc<Socket>, S> {
    /// Emits an event of the set to this socket; see [`Socket::emit_event`].
    pub fn emit<E>(&self, event: &E) -> Result<(), EmitError>
    where
        S: Contains<E>,
        E: Event + Serialize,
    {
        self.untyped().emit_event(event)
    }

    /// Emits an event of the set and waits for the client's ack, read into `R`; see
    /// [`Socket::emit_with_ack`].
    pub async fn emit_with_ack<E, R>(&self, event: &E) -> Result<R, AckError>
    where
        S: Contains<E>,
        E: Event + Serialize,
        R: FromPayload,
    {
        self.untyped().emit_with_ack(E::NAME, event).await
    }

    /// Sets how long [`emit_with_ack`](Typed::emit_with_ack) waits; see [`Socket::timeout`].
    pub fn timeout(&self, timeout: Duration) -> Typed<WithTimeout<&Socket>, S> {
        self.wrap(self.untyped().timeout(timeout))
    }

    /// A typed broadcast to the sockets in `room`; see [`Socket::to`].
    pub fn to(&self, room: impl Into<String>) -> Typed<BroadcastOperator, S> {
        self.wrap(self.untyped().to(room))
    }

    /// A typed broadcast to every other socket of the namespace; see [`Socket::broadcast`].
    pub fn broadcast(&self) -> Typed<BroadcastOperator, S> {
        self.wrap(self.untyped().broadcast())
    }
}

impl<S: EventSet> Typed<WithTimeout<&Socket>, S> {
    /// Emits an event of the set and waits for the client's ack within the timeout.
    pub async fn emit_with_ack<E, R>(self, event: &E) -> Result<R, AckError>
    where
        S: Contains<E>,
        E: Event + Serialize,
        R: FromPayload,
    {
        self.into_untyped().emit_with_ack(E::NAME, event).await
    }
}

impl<S: EventSet> Typed<BroadcastOperator, S> {
    /// Adds a room; see [`BroadcastOperator::to`].
    pub fn to(self, room: impl Into<String>) -> Self {
        Typed::new(self.into_untyped().to(room))
    }

    /// Leaves out a room; see [`BroadcastOperator::except`].
    pub fn except(self, room: impl Into<String>) -> Self {
        Typed::new(self.into_untyped().except(room))
    }

    /// Only this process; see [`BroadcastOperator::local`].
    pub fn local(self) -> Self {
        Typed::new(self.into_untyped().local())
    }

    /// Skips busy sockets; see [`BroadcastOperator::volatile`].
    pub fn volatile(self) -> Self {
        Typed::new(self.into_untyped().volatile())
    }

    /// How long acks are awaited; see [`BroadcastOperator::timeout`].
    pub fn timeout(self, timeout: Duration) -> Self {
        Typed::new(self.into_untyped().timeout(timeout))
    }

    /// Emits an event of the set to every chosen socket; see [`BroadcastOperator::emit_event`].
    pub fn emit<E>(&self, event: &E) -> Result<(), EmitError>
    where
        S: Contains<E>,
        E: Event + Serialize,
    {
        self.untyped().emit_event(event)
    }

    /// Emits an event of the set and streams each socket's ack; see
    /// [`BroadcastOperator::emit_with_ack`].
    pub fn emit_with_ack<E, R>(&self, event: &E) -> Result<AckStream<R>, EmitError>
    where
        S: Contains<E>,
        E: Event + Serialize,
        R: FromPayload,
    {
        self.untyped().emit_with_ack(E::NAME, event)
    }
}
