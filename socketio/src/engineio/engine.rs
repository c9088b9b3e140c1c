//! The engine core: the session table, the per-session lifecycle task (heartbeat, connect
//! timeout, cleanup) and the packet dispatch shared by both transports.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use tokio::time::{Instant, sleep_until};

use super::config::{EngineConfig, TransportKind};
use super::cors::Cors;
use super::error::EngineError;
use super::handler::EngineHandler;
use super::packet::{Frame, Packet};
use super::socket::{DisconnectReason, Handshake, Message, Sid, Socket, TransportState};

/// What the open packet tells a client, in the order Node's engine.io writes it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenPacket<'a> {
    sid: &'a str,
    upgrades: &'a [&'a str],
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: usize,
}

/// How long the sid of a polling session closed by its client stays known, for the one GET
/// that may have raced the close packet.
const CLIENT_CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// An open session: the engine socket and what the handler keeps for it.
pub(crate) struct Session<C> {
    pub(crate) socket: Arc<Socket>,
    pub(crate) connection: C,
}

impl<C: Clone> Clone for Session<C> {
    fn clone(&self) -> Self {
        Session {
            socket: self.socket.clone(),
            connection: self.connection.clone(),
        }
    }
}

/// Shared state of one engine: settings, handler and open sessions.
pub(crate) struct Engine<H: EngineHandler> {
    pub(crate) config: EngineConfig,
    pub(crate) cors: Cors,
    pub(crate) handler: H,
    sessions: RwLock<HashMap<Sid, Session<H::Connection>>>,
    /// Sessions open or being opened; what [`EngineConfig::max_sessions`] caps.
    open: AtomicUsize,
}

/// What the transport should do after a packet was handled.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// The session ended; stop reading.
    Stop,
}

impl<H: EngineHandler> Engine<H> {
    pub(crate) fn new(config: EngineConfig, handler: H) -> Arc<Self> {
        let cors = Cors::new(config.cors_origins.clone(), config.cors_credentials);
        Arc::new(Engine {
            config,
            cors,
            handler,
            sessions: RwLock::new(HashMap::new()),
            open: AtomicUsize::new(0),
        })
    }

    pub(crate) fn get(&self, sid: &str) -> Option<Session<H::Connection>> {
        let sessions = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        sessions.get(sid).cloned()
    }

    /// Every open session.
    pub(crate) fn sockets(&self) -> Vec<Arc<Socket>> {
        let sessions = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        sessions
            .values()
            .filter(|session| !session.socket.is_closed())
            .map(|session| session.socket.clone())
            .collect()
    }

    /// Creates a session, asks the handler, and starts its lifecycle task.
    pub(crate) async fn open_session(
        self: &Arc<Self>,
        transport: TransportKind,
        handshake: Handshake,
    ) -> Result<Session<H::Connection>, EngineError> {
        let slot = SessionSlot::take(&self.open, self.config.max_sessions)?;
        let socket = Socket::new(transport, handshake, self.config.queue_capacity);
        let connection = self.handler.on_connect(&socket).await?;
        // From here the slot belongs to the session; run_lifecycle gives it back.
        slot.keep();
        let session = Session { socket, connection };
        {
            let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
            sessions.insert(session.socket.sid().clone(), session.clone());
        }
        tracing::debug!(sid = %session.socket.sid(), transport = transport.as_str(), "session opened");
        tokio::spawn(self.clone().run_lifecycle(session.clone()));
        Ok(session)
    }

    /// The `0{…}` open packet for a session on `transport`.
    pub(crate) fn open_packet(&self, socket: &Socket, transport: TransportKind) -> Frame {
        let upgrades: &[&str] = match transport {
            TransportKind::Polling if self.config.allow_upgrades && self.config.websocket => {
                &["websocket"]
            }
            _ => &[],
        };
        let open = OpenPacket {
            sid: socket.sid().as_str(),
            upgrades,
            ping_interval: self.config.ping_interval.as_millis() as u64,
            ping_timeout: self.config.ping_timeout.as_millis() as u64,
            max_payload: self.config.max_payload,
        };
        // Written by serde_json straight from the fields: a `Value` built first and shown
        // through `fmt` cost a tenth of a whole connect. Strings and numbers always serialize.
        let json = serde_json::to_string(&open).unwrap_or_default();
        Packet::Open(json.into()).encode()
    }

    /// Heartbeat, connect timeout and cleanup of one session: the only task a session owns
    /// besides its transport. Pings reuse a static frame, so a heartbeat allocates nothing.
    async fn run_lifecycle(self: Arc<Self>, session: Session<H::Connection>) {
        let socket = &session.socket;
        let connect_deadline = self.config.connect_timeout.map(|t| Instant::now() + t);
        let reason = tokio::select! {
            reason = socket.closed() => reason,
            () = self.heartbeat(socket) => socket.closed().await,
            () = Self::connect_timeout(socket, connect_deadline) => socket.closed().await,
        };
        tracing::debug!(sid = %socket.sid(), reason = %reason, "session closed");
        // A closed session no longer counts against max_sessions, even while its sid stays
        // known for a last poll.
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.handler
            .on_disconnect(socket, &session.connection, reason)
            .await;
        if socket.transport() == TransportKind::Polling {
            // Give a poll the chance to hand the close packet (or, after the client's own
            // close, a noop) to the client before the sid stops being known.
            let grace = match reason {
                DisconnectReason::ClientClose => Some(CLIENT_CLOSE_GRACE),
                reason if reason.is_server_initiated() => Some(self.config.ping_timeout),
                _ => None,
            };
            if let Some(grace) = grace {
                let _ = tokio::time::timeout(grace, socket.close_delivered()).await;
            }
        }
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        sessions.remove(socket.sid());
    }

    /// Pings `ping_interval` after the session opened and after each pong; closes the
    /// session when a pong is late. The timeout clock starts when the ping is due to be
    /// queued, whether or not a poll is waiting. The deadline is kept on the socket too, so a
    /// request that arrives after it finds the session timed out even if this task's timer
    /// fires a little late.
    async fn heartbeat(&self, socket: &Socket) {
        // From the session's creation, not from when this task first runs: the client's
        // clock starts with the handshake answer, which may leave before this task starts.
        let mut next_ping = socket.opened + self.config.ping_interval;
        loop {
            sleep_until(next_ping).await;
            let pong = socket.pong.notified();
            tokio::pin!(pong);
            // Register before queueing the ping so a fast pong cannot be missed.
            pong.as_mut().enable();
            let deadline = next_ping + self.config.ping_timeout;
            socket.set_pong_deadline(Some(deadline));
            if socket.send_frame(Frame::PING).is_err() && socket.is_closed() {
                return;
            }
            if tokio::time::timeout_at(deadline, pong).await.is_err() {
                socket.close(DisconnectReason::PingTimeout);
                return;
            }
            next_ping = Instant::now() + self.config.ping_interval;
        }
    }

    async fn connect_timeout(socket: &Socket, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            return std::future::pending().await;
        };
        sleep_until(deadline).await;
        if socket.is_ready() {
            return std::future::pending().await;
        }
        socket.close(DisconnectReason::ConnectTimeout);
    }

    /// Handles one packet from the client, whatever the transport.
    pub(crate) async fn on_packet(&self, session: &Session<H::Connection>, packet: Packet) -> Flow {
        let Session { socket, connection } = session;
        match packet {
            Packet::Message(text) => {
                let message = Message::Text(text);
                self.handler.on_message(socket, connection, message).await;
            }
            Packet::Binary(data) => {
                let message = Message::Binary(data);
                self.handler.on_message(socket, connection, message).await;
            }
            Packet::Pong(_) => socket.pong_received(),
            Packet::Ping(data) if data.is_empty() => {
                // Engine.IO v3 clients ping the server; answering costs nothing.
                let _ = socket.send_frame(Packet::Pong(data).encode());
            }
            Packet::Noop => {}
            Packet::Close => {
                socket.close(DisconnectReason::ClientClose);
                return Flow::Stop;
            }
            Packet::Open(_) | Packet::Upgrade | Packet::Ping(_) => {
                tracing::debug!(sid = %socket.sid(), ?packet, "unexpected packet");
                socket.close(DisconnectReason::TransportError);
                return Flow::Stop;
            }
        }
        if socket.state() == TransportState::Closed {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    /// Closes every session with `reason`.
    pub(crate) fn close_all(&self, reason: DisconnectReason) {
        for socket in self.sockets() {
            socket.close(reason);
        }
    }
}

/// One place under [`EngineConfig::max_sessions`], given back on drop unless the session
/// that took it opened.
struct SessionSlot<'a> {
    open: &'a AtomicUsize,
}

impl<'a> SessionSlot<'a> {
    fn take(open: &'a AtomicUsize, max: Option<usize>) -> Result<Self, EngineError> {
        let taken = open.fetch_add(1, Ordering::AcqRel);
        let slot = SessionSlot { open };
        match max {
            Some(max) if taken >= max => Err(EngineError::TooManySessions),
            _ => Ok(slot),
        }
    }

    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for SessionSlot<'_> {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}
