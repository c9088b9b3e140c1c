//! What a [`ClientSocket`] does: emits, acks, and leaving its namespace.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::args::{
    AckError, DEFAULT_ACK_TIMEOUT, EmitError, Event, FromPayload, IntoPayload, WithTimeout,
    decode_reply,
};
use crate::client::error::DisconnectReason;
use crate::engineio::TransportKind;
use crate::parser::Packet;
use serde::Serialize;

use super::state::{AckSlot, MAX_PENDING_ACKS, PendingCallback};
use super::{Client, ClientSocket};

impl ClientSocket {
    /// The namespace, e.g. `/chat`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The socket id the server gave this namespace; `None` while not connected.
    pub fn sid(&self) -> Option<String> {
        let state = self.inner.state();
        state
            .namespaces
            .get(&*self.namespace)
            .and_then(|ns| ns.sid.clone())
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        self.sid().is_some()
    }

    /// The transport of the open session.
    pub fn transport(&self) -> Option<TransportKind> {
        Client {
            inner: self.inner.clone(),
        }
        .transport()
    }

    /// The client this namespace belongs to.
    pub fn client(&self) -> Client {
        Client {
            inner: self.inner.clone(),
        }
    }

    /// Emits `event` with `args`: any `Serialize` value (a tuple for several arguments;
    /// `bytes::Bytes` at any depth travels as an attachment) or a [`Payload`](crate::args::Payload), the same as
    /// the server's [`Socket::emit`](crate::Socket::emit). Fails when the namespace is not
    /// connected or the outbound queue is full.
    ///
    /// ```no_run
    /// use socketio::client::Client;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::builder("http://127.0.0.1:3000").connect().await?;
    /// // A string and a binary argument.
    /// client.socket().emit("message", ("hello", bytes::Bytes::from_static(b"\x01\x02")))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        let packet = args.into_payload()?.into_event(&self.namespace, event);
        self.inner.send_packet(&self.namespace, packet)
    }

    /// Emits an [`Event`] value under its own name; see [`emit`](Self::emit).
    pub fn emit_event<E: Event + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.emit(E::NAME, event)
    }

    /// Sets how long [`emit_with_ack`](WithTimeout::emit_with_ack) and
    /// [`emit_with_callback`](WithTimeout::emit_with_callback) wait for the server's ack
    /// (otherwise [`DEFAULT_ACK_TIMEOUT`]).
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<ClientSocket> {
        WithTimeout::new(self.clone(), timeout)
    }

    /// Emits `event` and waits (up to [`DEFAULT_ACK_TIMEOUT`]; see [`timeout`](Self::timeout))
    /// for the server's ack, read into `R`: a `Deserialize` type (a tuple for several
    /// arguments) or the raw [`Payload`](crate::args::Payload).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use socketio::client::Client;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::builder("http://127.0.0.1:3000").connect().await?;
    /// let (one, two): (u32, String) = client
    ///     .socket()
    ///     .timeout(Duration::from_secs(5))
    ///     .emit_with_ack("message-with-ack", (1, "two"))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn emit_with_ack<R: FromPayload>(
        &self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        self.timeout(DEFAULT_ACK_TIMEOUT)
            .emit_with_ack(event, args)
            .await
    }

    /// Emits `event` asking for an ack; `callback` runs with the server's answer read into
    /// `R`, in the handler order like an event, or with why there is none (timeout after
    /// [`DEFAULT_ACK_TIMEOUT`], lost connection).
    pub fn emit_with_callback<R, F, Fut>(
        &self,
        event: &str,
        args: impl IntoPayload,
        callback: F,
    ) -> Result<(), EmitError>
    where
        R: FromPayload + Send + 'static,
        F: FnOnce(Result<R, AckError>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.timeout(DEFAULT_ACK_TIMEOUT)
            .emit_with_callback(event, args, callback)
    }

    fn emit_expecting_ack(
        &self,
        event: &str,
        args: impl IntoPayload,
        slot: AckSlot,
    ) -> Result<u64, EmitError> {
        let payload = args.into_payload()?;
        let id = {
            let mut state = self.inner.state();
            if state.acks.len() >= MAX_PENDING_ACKS {
                return Err(EmitError::QueueFull);
            }
            let id = state.next_ack;
            state.next_ack = state.next_ack.wrapping_add(1) % 1_000_000_000;
            state.acks.insert(id, (self.namespace.clone(), slot));
            id
        };
        let packet = payload.into_event(&self.namespace, event).with_ack_id(id);
        if let Err(error) = self.inner.send_packet(&self.namespace, packet) {
            self.inner.state().acks.remove(&id);
            return Err(error);
        }
        Ok(id)
    }

    /// Leaves this namespace (the session stays open for the others); it is not rejoined on
    /// reconnection.
    pub fn disconnect(&self) {
        let was_connected = {
            let mut state = self.inner.state();
            let ns = state
                .namespaces
                .entry(self.namespace.to_string())
                .or_default();
            ns.wanted = false;
            ns.sid.take().is_some()
        };
        if was_connected {
            let _ = self
                .inner
                .send_raw(Packet::disconnect(self.namespace.to_string()));
            self.inner
                .queue_disconnect(&self.namespace, DisconnectReason::ClientDisconnect);
        }
    }
}

impl WithTimeout<ClientSocket> {
    /// Emits `event` and waits for the server's ack, read into `R`; see
    /// [`ClientSocket::emit_with_ack`].
    pub async fn emit_with_ack<R: FromPayload>(
        self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        let (tx, rx) = oneshot::channel();
        let id = self
            .socket
            .emit_expecting_ack(event, args, AckSlot::Reply(tx))?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(payload)) => decode_reply(payload),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                self.socket.inner.state().acks.remove(&id);
                Err(AckError::Timeout)
            }
        }
    }

    /// Emits `event` and runs `callback` with the server's ack; see
    /// [`ClientSocket::emit_with_callback`].
    pub fn emit_with_callback<R, F, Fut>(
        self,
        event: &str,
        args: impl IntoPayload,
        callback: F,
    ) -> Result<(), EmitError>
    where
        R: FromPayload + Send + 'static,
        F: FnOnce(Result<R, AckError>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let pending = PendingCallback {
            run: Box::new(move |reply| Box::pin(callback(reply.and_then(decode_reply)))),
            deadline: None,
        };
        let id = self
            .socket
            .emit_expecting_ack(event, args, AckSlot::Callback(pending))?;
        // At the deadline the callback is taken back, unless the reply (or the end of the
        // session) took it first and aborted this task.
        let inner = Arc::downgrade(&self.socket.inner);
        let timeout = self.timeout;
        let deadline = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let Some(inner) = inner.upgrade() else { return };
            let slot = inner.state().acks.remove(&id);
            if let Some((_, AckSlot::Callback(callback))) = slot {
                (callback.run)(Err(AckError::Timeout)).await;
            }
        })
        .abort_handle();
        let mut state = self.socket.inner.state();
        match state.acks.get_mut(&id) {
            Some((_, AckSlot::Callback(pending))) => pending.deadline = Some(deadline),
            _ => deadline.abort(),
        }
        Ok(())
    }
}
