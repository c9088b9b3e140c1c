//! A Socket.IO socket: one client connected to one namespace.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use super::namespace::Namespace;
use crate::args::Payload;
use crate::args::{
    AckError, DEFAULT_ACK_TIMEOUT, EmitError, Event, FromPayload, IntoPayload, WithTimeout,
    decode_reply,
};
use crate::engineio::packet::Frames;
use crate::engineio::session::SessionStore;
use crate::engineio::{self, SendError, Sid, TransportKind};
use crate::parser::Packet;
use serde::Serialize;

/// Why a socket left its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client left the namespace or closed the connection.
    ClientDisconnect,
    /// The server disconnected the socket.
    ServerDisconnect,
    /// The client stopped answering pings.
    PingTimeout,
    /// The connection went away.
    TransportClose,
    /// The connection broke the Engine.IO protocol.
    TransportError,
    /// The client sent a packet that is not valid Socket.IO.
    ParseError,
    /// The server is shutting down.
    ServerShutdown,
    /// The client read so slowly that its outbound queue filled up; the server closed the
    /// connection rather than drop a packet.
    SlowClient,
}

impl DisconnectReason {
    /// The reason as the JavaScript server spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientDisconnect => "client namespace disconnect",
            DisconnectReason::ServerDisconnect => "server namespace disconnect",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerShutdown => "server shutting down",
            DisconnectReason::SlowClient => "slow client",
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The client connection a socket belongs to, as far as the socket needs it: a socket that
/// the server disconnects takes itself off its connection. The layer above implements it.
pub(crate) trait Connection: Send + Sync {
    /// Forgets this connection's socket in `namespace`.
    fn forget_socket(&self, namespace: &str);
}

/// Where a socket is in its life.
#[derive(Debug)]
enum Phase {
    /// The connect handler is running; emits wait here until the CONNECT reply is out.
    Connecting(Vec<Frames>),
    Connected,
    Disconnected,
}

/// One client in one namespace. Handlers receive it as `Arc<Socket>`.
pub struct Socket {
    id: Sid,
    ns: Arc<Namespace>,
    engine: Arc<engineio::Socket>,
    connection: Weak<dyn Connection>,
    auth: Value,
    /// Whether the CONNECT carried an auth payload (`auth` is `{}` otherwise).
    auth_sent: bool,
    phase: Mutex<Phase>,
    acks: Arc<Mutex<PendingAcks>>,
    session: SessionStore,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("namespace", &self.ns.name())
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn new(
        ns: Arc<Namespace>,
        engine: Arc<engineio::Socket>,
        auth: Option<Value>,
        connection: Weak<dyn Connection>,
    ) -> Arc<Self> {
        Arc::new(Socket {
            id: Sid::generate(),
            ns,
            engine,
            connection,
            auth_sent: auth.is_some(),
            auth: auth.unwrap_or_else(|| Value::Object(Default::default())),
            phase: Mutex::new(Phase::Connecting(Vec::new())),
            acks: Arc::default(),
            session: SessionStore::default(),
        })
    }

    /// The socket's id, its `sid` (per namespace, and different from the Engine.IO session id,
    /// as in python-socketio); also the name of its own room.
    pub fn sid(&self) -> &Sid {
        &self.id
    }

    /// The namespace name.
    pub fn namespace(&self) -> &str {
        self.ns.name()
    }

    /// The auth payload of the client's CONNECT (`{}` when it sent none).
    pub fn auth(&self) -> &Value {
        &self.auth
    }

    /// The auth payload exactly as sent: `None` when the CONNECT had none.
    pub fn auth_sent(&self) -> Option<&Value> {
        self.auth_sent.then_some(&self.auth)
    }

    /// The HTTP request that opened the connection.
    pub fn handshake(&self) -> &engineio::Handshake {
        self.engine.handshake()
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        self.engine.transport()
    }

    /// The underlying Engine.IO session.
    pub fn engine_socket(&self) -> &Arc<engineio::Socket> {
        &self.engine
    }

    /// Whether the socket is still in its namespace.
    pub fn connected(&self) -> bool {
        matches!(*self.lock_phase(), Phase::Connected | Phase::Connecting(_))
    }

    /// Emits `event` to this client with `args`: any `Serialize` value (a tuple for several
    /// arguments; `bytes::Bytes` at any depth travels as an attachment) or a [`Payload`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// #[derive(serde::Serialize)]
    /// struct Line { text: String }
    ///
    /// # fn demo(socket: Arc<socketio::Socket>) -> Result<(), socketio::EmitError> {
    /// socket.emit("line", &Line { text: "hi".into() })?;
    /// socket.emit("score", ("ann", 3))?; // two arguments
    /// # Ok(())
    /// # }
    /// ```
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        let payload = args.into_payload()?;
        self.ns.notify_outgoing(self, event, &payload);
        Ok(self.send_packet(payload.into_event(self.namespace(), event))?)
    }

    /// Emits an [`Event`] value under its own name; see [`emit`](Self::emit).
    pub fn emit_event<E: Event + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.emit(E::NAME, event)
    }

    /// Sends a `message` event, like python-socketio's `send`.
    pub fn send(&self, args: impl IntoPayload) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Sets how long [`emit_with_ack`](WithTimeout::emit_with_ack) and
    /// [`emit_with_callback`](WithTimeout::emit_with_callback) wait for the client's ack
    /// (otherwise [`DEFAULT_ACK_TIMEOUT`]).
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<&Self> {
        WithTimeout::new(self, timeout)
    }

    /// Emits `event` and waits (up to [`DEFAULT_ACK_TIMEOUT`]; see [`timeout`](Self::timeout))
    /// for the client's ack, read into `R`: a `Deserialize` type (a tuple for several
    /// arguments) or the raw [`Payload`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # async fn demo(socket: Arc<socketio::Socket>) -> Result<(), socketio::AckError> {
    /// let answer: String = socket.emit_with_ack("question", "ready?").await?;
    /// let (x, y): (f64, f64) = socket
    ///     .timeout(Duration::from_secs(2))
    ///     .emit_with_ack("position", ())
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

    /// Emits `event` and runs `callback` with the client's ack read into `R` (or why there is
    /// none) when it comes, without waiting here: python-socketio's `emit(..., callback=f)`.
    pub fn emit_with_callback<R, F, Fut>(
        self: &Arc<Self>,
        event: &str,
        args: impl IntoPayload,
        callback: F,
    ) where
        R: FromPayload + Send + 'static,
        F: FnOnce(Result<R, AckError>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.timeout(DEFAULT_ACK_TIMEOUT)
            .emit_with_callback(event, args, callback);
    }

    /// Sends `event` with a fresh ack id, registered before the packet leaves so the reply
    /// cannot come too early.
    fn send_expecting_ack(
        &self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<(u64, oneshot::Receiver<Payload>), EmitError> {
        let payload = args.into_payload()?;
        self.ns.notify_outgoing(self, event, &payload);
        let ack_id = self.ns.next_ack_id();
        let reply = self.expect_ack(ack_id);
        let packet = payload
            .into_event(self.namespace(), event)
            .with_ack_id(ack_id);
        match self.send_packet(packet) {
            Ok(()) => Ok((ack_id, reply)),
            Err(err) => {
                self.forget_ack(ack_id);
                Err(err.into())
            }
        }
    }

    /// Registers a pending ack and returns where its reply will arrive.
    pub(crate) fn expect_ack(&self, ack_id: u64) -> oneshot::Receiver<Payload> {
        let (tx, rx) = oneshot::channel();
        self.lock_acks().insert(ack_id, tx);
        rx
    }

    /// Waits up to `timeout` for the reply to `ack_id`. The future holds the ack table, not
    /// the socket, so it may outlive the caller (a callback task).
    pub(crate) fn await_ack(
        &self,
        ack_id: u64,
        reply: oneshot::Receiver<Payload>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Payload, AckError>> + Send + 'static {
        let acks = self.acks.clone();
        async move {
            match tokio::time::timeout(timeout, reply).await {
                Ok(Ok(payload)) => Ok(payload),
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => {
                    lock_acks(&acks).remove(&ack_id);
                    Err(AckError::Timeout)
                }
            }
        }
    }

    fn forget_ack(&self, ack_id: u64) {
        self.lock_acks().remove(&ack_id);
    }

    /// Fails every ack this socket is waiting for: its connection is gone.
    pub(crate) fn abandon_acks(&self) {
        self.lock_acks().clear();
    }

    /// Delivers the client's ack; unknown ids (late or forged) are ignored.
    pub(crate) fn resolve_ack(&self, ack_id: u64, payload: Payload) {
        if let Some(reply) = self.lock_acks().remove(&ack_id) {
            let _ = reply.send(payload);
        }
    }

    /// Joins `room`.
    pub fn join(&self, room: impl AsRef<str>) {
        self.ns.join(&self.id, room.as_ref());
    }

    /// Leaves `room`.
    pub fn leave(&self, room: impl AsRef<str>) {
        self.ns.leave(&self.id, room.as_ref());
    }

    /// Leaves every room, its own sid room included.
    pub fn leave_all(&self) {
        self.ns.leave_all(&self.id);
    }

    /// The rooms this socket is in (its own sid room included), sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.ns.rooms_of(&self.id)
    }

    /// Disconnects this socket from its namespace; the client is told.
    pub fn disconnect(self: &Arc<Self>) {
        let _ = self.send_packet(Packet::disconnect(self.namespace()));
        if let Some(connection) = self.connection.upgrade() {
            connection.forget_socket(self.namespace());
        }
        let socket = self.clone();
        tokio::spawn(async move { socket.close(DisconnectReason::ServerDisconnect).await });
    }

    /// A copy of this socket's session value of type `T`.
    pub fn get_session<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.session.get()
    }

    /// Stores this socket's session value of type `T`.
    pub fn save_session<T: Send + Sync + 'static>(&self, value: T) {
        self.session.save(value);
    }

    /// Runs `f` on the session value of type `T`, created with `Default` when missing.
    pub fn with_session<T: Default + Send + Sync + 'static, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        self.session.with(f)
    }

    /// Encodes and queues one packet for this client.
    pub(crate) fn send_packet(&self, packet: Packet) -> Result<(), SendError> {
        self.send_frames(&packet.into_frames())
    }

    /// Queues frames that may be shared with other sockets (a broadcast).
    pub(crate) fn send_frames(&self, frames: &Frames) -> Result<(), SendError> {
        {
            let mut phase = self.lock_phase();
            match &mut *phase {
                Phase::Connecting(buffer) => {
                    buffer.push(frames.clone());
                    return Ok(());
                }
                Phase::Disconnected => return Err(SendError::Closed),
                Phase::Connected => {}
            }
        }
        self.send_now(frames)
    }

    fn send_now(&self, frames: &Frames) -> Result<(), SendError> {
        self.engine.send_frame_group(frames)
    }

    pub(crate) fn ns(&self) -> &Arc<Namespace> {
        &self.ns
    }

    /// Sends the CONNECT reply, then whatever the connect handler emitted (after `pause`
    /// over WebSocket, when given).
    pub(crate) fn complete_connect(&self, pause: Option<std::time::Duration>) {
        let reply = Packet::connect(
            self.namespace(),
            Some(serde_json::json!({ "sid": self.id.as_str() })),
        );
        let mut phase = self.lock_phase();
        let buffered = match std::mem::replace(&mut *phase, Phase::Connected) {
            Phase::Connecting(buffered) => buffered,
            other => {
                *phase = other;
                return;
            }
        };
        let _ = match (reply.into_frames(), pause) {
            (Frames::One(frame), Some(pause)) => self.engine.send_frame_then_pause(frame, pause),
            (frames, _) => self.send_now(&frames),
        };
        for frames in &buffered {
            let _ = self.send_now(frames);
        }
    }

    /// Leaves the namespace: runs the disconnecting handler (still in the namespace and its
    /// rooms), leaves the namespace, runs the disconnect handler (rooms still readable there),
    /// then leaves every room and fails pending acks. Idempotent.
    pub(crate) async fn close(self: &Arc<Self>, reason: DisconnectReason) {
        {
            let mut phase = self.lock_phase();
            if matches!(*phase, Phase::Disconnected) {
                return;
            }
            *phase = Phase::Disconnected;
        }
        self.ns.on_disconnecting(self, reason).await;
        self.ns.remove_socket(&self.id);
        self.ns.on_disconnect(self, reason).await;
        self.leave_all();
        self.lock_acks().clear();
    }

    fn lock_phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_acks(&self) -> std::sync::MutexGuard<'_, PendingAcks> {
        lock_acks(&self.acks)
    }
}

/// The acks a socket waits for, by ack id.
type PendingAcks = HashMap<u64, oneshot::Sender<Payload>>;

fn lock_acks(acks: &Mutex<PendingAcks>) -> std::sync::MutexGuard<'_, PendingAcks> {
    acks.lock().unwrap_or_else(|e| e.into_inner())
}

impl WithTimeout<&Socket> {
    /// Emits `event` and waits for the client's ack, read into `R`; see
    /// [`Socket::emit_with_ack`].
    pub async fn emit_with_ack<R: FromPayload>(
        self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        let (ack_id, reply) = self.socket.send_expecting_ack(event, args)?;
        let payload = self.socket.await_ack(ack_id, reply, self.timeout).await?;
        decode_reply(payload)
    }

    /// Emits `event` and runs `callback` with the client's ack; see
    /// [`Socket::emit_with_callback`].
    pub fn emit_with_callback<R, F, Fut>(self, event: &str, args: impl IntoPayload, callback: F)
    where
        R: FromPayload + Send + 'static,
        F: FnOnce(Result<R, AckError>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let reply = self
            .socket
            .send_expecting_ack(event, args)
            .map(|(ack_id, reply)| self.socket.await_ack(ack_id, reply, self.timeout));
        tokio::spawn(async move {
            let result = match reply {
                Ok(reply) => reply.await.and_then(decode_reply),
                Err(error) => Err(error.into()),
            };
            callback(result).await;
        });
    }
}
