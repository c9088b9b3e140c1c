//! One Engine.IO session: its id, outbound queue, transport state and close reason.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, Uri};
use tokio::sync::{Notify, watch};

use super::config::TransportKind;
use super::outbox::{Carry, Outbound, Outbox, Queue};
use super::packet::Frame;
use super::session::SessionStore;
use super::str::Str;

/// A session id: 20 URL-safe characters from 15 random bytes.
///
/// ```
/// use socketio::engineio::Sid;
///
/// let sid = Sid::generate();
/// assert_eq!(sid.as_str().len(), 20);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid(Str);

impl Sid {
    /// A fresh random id.
    pub fn generate() -> Sid {
        let bytes: [u8; 15] = rand::random();
        Sid(Str::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for Sid {
    fn from(text: &str) -> Self {
        Sid(Str::from(text))
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::borrow::Borrow<str> for Sid {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// A message received from, or sent to, a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Str),
    /// A binary message.
    Binary(Bytes),
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(Str::from(text))
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(Str::from(text))
    }
}

impl From<Str> for Message {
    fn from(text: Str) -> Self {
        Message::Text(text)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::Binary(Bytes::from(data))
    }
}

impl Message {
    pub(crate) fn into_frame(self) -> Frame {
        match self {
            Message::Text(text) => Frame::message(&text),
            Message::Binary(data) => Frame::Binary(data),
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client sent a close packet.
    ClientClose,
    /// The server closed the session.
    ServerClose,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The connection went away without a close packet.
    TransportClose,
    /// The client broke the protocol (bad packet, duplicate poll, oversize message, …).
    TransportError,
    /// The layer above did not mark the session ready within the connect timeout.
    ConnectTimeout,
    /// The server is shutting down.
    ServerShutdown,
    /// The client fell so far behind that its outbound queue filled up (see
    /// [`EngineConfig::queue_capacity`](super::EngineConfig::queue_capacity)): rather than
    /// drop a packet and leave a silent gap, the server ends the session.
    SlowClient,
}

impl DisconnectReason {
    /// The reason as python-engineio and the JavaScript server spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientClose => "client disconnect",
            DisconnectReason::ServerClose => "server disconnect",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ConnectTimeout => "connect timeout",
            DisconnectReason::ServerShutdown => "server shutting down",
            DisconnectReason::SlowClient => "slow client",
        }
    }

    /// Whether the server chose to end the session, so the client should be told with a
    /// close packet.
    pub(crate) fn is_server_initiated(self) -> bool {
        matches!(
            self,
            DisconnectReason::ServerClose
                | DisconnectReason::ConnectTimeout
                | DisconnectReason::ServerShutdown
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`Socket::send`] could not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The outbound queue is full: the client reads slower than the server writes. The
    /// session was closed with [`DisconnectReason::SlowClient`].
    #[error("the outbound queue of this session is full; the session was closed")]
    QueueFull,
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
}

/// The HTTP request that opened a session.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Request headers.
    pub headers: HeaderMap,
    /// Request URI, query included.
    pub uri: Uri,
    /// The peer address, when the server was started with connect info.
    pub remote_addr: Option<SocketAddr>,
    /// When the handshake arrived.
    pub issued_at: SystemTime,
}

impl Handshake {
    /// The first value of a query parameter, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        super::query::Query::parse(self.uri.query().unwrap_or_default()).first(name)
    }
}

/// Where a session's transport is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportState {
    Polling,
    /// A WebSocket answered `3probe`; polls are answered with a noop until it sends `5`.
    Upgrading,
    WebSocket,
    Closed,
}

/// One Engine.IO session.
///
/// Handlers receive it as `Arc<Socket>`; it stays valid after the session closes, but
/// sending then fails with [`SendError::Closed`].
pub struct Socket {
    sid: Sid,
    handshake: Handshake,
    outbound: Queue,
    /// The transport that currently writes to the client holds this lock.
    carry: tokio::sync::Mutex<Carry>,
    state: watch::Sender<TransportState>,
    close_reason: OnceLock<DisconnectReason>,
    /// Woken by every pong; the heartbeat waits on it.
    pub(crate) pong: Notify,
    /// When the session was created; the first ping is due a ping interval after it.
    pub(crate) opened: tokio::time::Instant,
    /// When the pong for the last ping is due, until it arrives.
    pong_deadline: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// Held while a POST is handled; a second concurrent POST is a protocol error.
    pub(crate) post_lock: tokio::sync::Mutex<()>,
    /// Set by the first WebSocket that asks to upgrade this session.
    probe_claimed: AtomicBool,
    /// Set once a poll handed the final close packet to the client.
    close_delivered: Notify,
    /// Set once a poll answered the client's own close packet.
    close_answered: AtomicBool,
    ready: AtomicBool,
    /// A long-polling GET is waiting for packets right now.
    pub(crate) poll_waiting: AtomicBool,
    session: SessionStore,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("sid", &self.sid)
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn new(
        transport: TransportKind,
        handshake: Handshake,
        queue_capacity: usize,
    ) -> Arc<Socket> {
        let outbound = Queue::new(queue_capacity);
        let state = match transport {
            TransportKind::Polling => TransportState::Polling,
            TransportKind::WebSocket => TransportState::WebSocket,
        };
        Arc::new(Socket {
            sid: Sid::generate(),
            handshake,
            outbound,
            carry: tokio::sync::Mutex::default(),
            state: watch::Sender::new(state),
            close_reason: OnceLock::new(),
            pong: Notify::new(),
            opened: tokio::time::Instant::now(),
            pong_deadline: std::sync::Mutex::new(None),
            post_lock: tokio::sync::Mutex::new(()),
            probe_claimed: AtomicBool::new(false),
            close_delivered: Notify::new(),
            close_answered: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            poll_waiting: AtomicBool::new(false),
            session: SessionStore::default(),
        })
    }

    /// The outbound queue, for the transport that writes to the client; waits while another
    /// one holds it.
    pub(crate) async fn outbox(&self) -> Outbox<'_> {
        Outbox::new(&self.outbound, self.carry.lock().await)
    }

    /// The outbound queue, unless a transport holds it now.
    pub(crate) fn try_outbox(&self) -> Option<Outbox<'_>> {
        self.carry
            .try_lock()
            .ok()
            .map(|carry| Outbox::new(&self.outbound, carry))
    }

    /// The session id.
    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    /// The request that opened the session.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The transport in use; polling until an upgrade completes.
    pub fn transport(&self) -> TransportKind {
        match *self.state.borrow() {
            TransportState::WebSocket => TransportKind::WebSocket,
            _ => TransportKind::Polling,
        }
    }

    /// Whether a message queued now would leave at once: over WebSocket while the outbound
    /// queue has room, over long-polling only while a poll is waiting. Volatile emits skip
    /// sessions that are not, so a volatile packet never ends a slow client's session.
    pub fn is_writable(&self) -> bool {
        match self.state() {
            TransportState::WebSocket => self.outbound.has_room(),
            TransportState::Polling => self.poll_waiting.load(Ordering::Acquire),
            TransportState::Upgrading | TransportState::Closed => false,
        }
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.close_reason.get().is_some()
    }

    /// Why the session ended, once it has.
    pub fn close_reason(&self) -> Option<DisconnectReason> {
        self.close_reason.get().copied()
    }

    /// Queues a message for the client without waiting.
    ///
    /// A full queue is never waited on, so one slow client cannot hold up a sender that
    /// serves many; it means the client is [`queue_capacity`] packets behind, and the
    /// session ends with [`DisconnectReason::SlowClient`] instead of losing the packet
    /// silently ([`SendError::QueueFull`] is returned). Every packet the client does receive
    /// was queued in order, with no gap.
    ///
    /// [`queue_capacity`]: super::EngineConfig::queue_capacity
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_frame(message.into().into_frame())
    }

    /// Queues an already encoded frame, shared with other sockets.
    pub(crate) fn send_frame(&self, frame: Frame) -> Result<(), SendError> {
        self.enqueue(Outbound::Frame(frame))
    }

    /// Queues a frame after which a WebSocket writer flushes and waits `pause` before
    /// writing anything else (long-polling ignores the pause).
    pub(crate) fn send_frame_then_pause(
        &self,
        frame: Frame,
        pause: std::time::Duration,
    ) -> Result<(), SendError> {
        self.enqueue(Outbound::Paced(frame, pause))
    }

    /// Queues frames that must reach the client back to back, whatever else is being sent
    /// concurrently. An empty group is ignored.
    pub(crate) fn send_group(&self, frames: Arc<[Frame]>) -> Result<(), SendError> {
        if frames.is_empty() {
            return Ok(());
        }
        self.enqueue(Outbound::Group(frames))
    }

    /// Queues frames encoded by the Socket.IO layer.
    pub(crate) fn send_frame_group(
        &self,
        frames: &crate::engineio::packet::Frames,
    ) -> Result<(), SendError> {
        match frames {
            crate::engineio::packet::Frames::One(frame) => self.send_frame(frame.clone()),
            crate::engineio::packet::Frames::Group(group) => self.send_group(group.clone()),
        }
    }

    fn enqueue(&self, entry: Outbound) -> Result<(), SendError> {
        if self.is_closed() {
            return Err(SendError::Closed);
        }
        self.outbound.push(entry).map_err(|_full| {
            tracing::debug!(sid = %self.sid, "outbound queue full; closing the session");
            self.close(DisconnectReason::SlowClient);
            SendError::QueueFull
        })
    }

    pub(crate) fn set_pong_deadline(&self, deadline: Option<tokio::time::Instant>) {
        *self.pong_deadline.lock().unwrap_or_else(|e| e.into_inner()) = deadline;
    }

    pub(crate) fn pong_received(&self) {
        self.set_pong_deadline(None);
        self.pong.notify_waiters();
    }

    /// Closes the session as a ping timeout if its pong is overdue; `true` when the session
    /// has ended by a ping timeout, now or before. Requests ask first, so that the timeout
    /// holds to the millisecond whatever the heartbeat timer's lateness.
    pub(crate) fn ping_timed_out(&self) -> bool {
        let deadline = *self.pong_deadline.lock().unwrap_or_else(|e| e.into_inner());
        if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
            self.close(DisconnectReason::PingTimeout);
        }
        self.close_reason() == Some(DisconnectReason::PingTimeout)
    }

    /// Closes the session from the server side; the client gets a close packet.
    pub fn disconnect(&self) {
        self.close(DisconnectReason::ServerClose);
    }

    /// Tells the engine the layer above accepted this session, which cancels the connect
    /// timeout (see [`EngineConfig::connect_timeout`](super::EngineConfig::connect_timeout)).
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Ends the session. The first reason wins; later calls do nothing.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if self.close_reason.set(reason).is_err() {
            return;
        }
        if reason.is_server_initiated() {
            // Best effort: behind a full queue the client learns of the close from the
            // transport instead.
            let _ = self.outbound.push(Outbound::Frame(Frame::CLOSE));
        }
        self.state.send_replace(TransportState::Closed);
    }

    pub(crate) fn state(&self) -> TransportState {
        *self.state.borrow()
    }

    pub(crate) fn watch_state(&self) -> watch::Receiver<TransportState> {
        self.state.subscribe()
    }

    /// Moves the transport state forward unless the session already closed.
    pub(crate) fn set_state(&self, next: TransportState) {
        self.state.send_if_modified(|state| {
            if *state == TransportState::Closed || *state == next {
                return false;
            }
            *state = next;
            true
        });
    }

    /// Waits until the session is closed and returns the reason.
    pub(crate) async fn closed(&self) -> DisconnectReason {
        let mut state = self.state.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = state.wait_for(|s| *s == TransportState::Closed).await;
        self.close_reason()
            .unwrap_or(DisconnectReason::TransportClose)
    }

    /// Claims the right to probe an upgrade; only one WebSocket may ever try.
    pub(crate) fn claim_probe(&self) -> bool {
        !self.probe_claimed.swap(true, Ordering::AcqRel)
    }

    /// Gives the probe back after a failed upgrade attempt.
    pub(crate) fn release_probe(&self) {
        self.probe_claimed.store(false, Ordering::Release);
    }

    /// `true` for the one poll that answers the client's close packet with a noop; every
    /// later poll finds the session gone.
    pub(crate) fn answer_client_close(&self) -> bool {
        !self.close_answered.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn notify_close_delivered(&self) {
        self.close_delivered.notify_one();
    }

    pub(crate) async fn close_delivered(&self) {
        self.close_delivered.notified().await;
    }

    /// A copy of the session value of type `T`, if one was saved.
    ///
    /// ```
    /// # fn demo(socket: &socketio::engineio::Socket) {
    /// #[derive(Clone, Default)]
    /// struct User { name: String }
    ///
    /// socket.save_session(User { name: "ana".into() });
    /// assert_eq!(socket.get_session::<User>().unwrap().name, "ana");
    /// socket.with_session(|user: &mut User| user.name.push('!'));
    /// # }
    /// ```
    pub fn get_session<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.session.get()
    }

    /// Stores the session value of type `T`, replacing any previous one.
    pub fn save_session<T: Send + Sync + 'static>(&self, value: T) {
        self.session.save(value);
    }

    /// Runs `f` on the session value of type `T` (created with `Default` when missing) and
    /// returns what `f` returns. Do not call other session methods from inside `f`.
    pub fn with_session<T: Default + Send + Sync + 'static, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        self.session.with(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_socket(capacity: usize) -> Arc<Socket> {
        let handshake = Handshake {
            headers: HeaderMap::new(),
            uri: Uri::from_static("/engine.io/?EIO=4&transport=polling"),
            remote_addr: None,
            issued_at: SystemTime::now(),
        };
        Socket::new(TransportKind::Polling, handshake, capacity)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_groups_never_interleave() {
        let socket = test_socket(4096);
        let senders: Vec<_> = (0..8u8)
            .map(|task| {
                let socket = socket.clone();
                tokio::spawn(async move {
                    for i in 0..100u8 {
                        let group: Arc<[Frame]> = vec![
                            Frame::message(&format!("{task}-{i}")),
                            Frame::Binary(vec![task, i].into()),
                            Frame::Binary(vec![task, i, 2].into()),
                        ]
                        .into();
                        socket.send_group(group).unwrap();
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.await.unwrap();
        }
        let mut outbox = socket.outbox().await;
        let mut count = 0;
        while let Some(head) = outbox.try_recv() {
            let Frame::Text(text) = head else {
                panic!("a group must start with its text frame, got {head:?}");
            };
            let (task, i) = text[1..].split_once('-').unwrap();
            let (task, i): (u8, u8) = (task.parse().unwrap(), i.parse().unwrap());
            assert_eq!(outbox.try_recv(), Some(Frame::Binary(vec![task, i].into())));
            assert_eq!(
                outbox.try_recv(),
                Some(Frame::Binary(vec![task, i, 2].into()))
            );
            count += 1;
        }
        assert_eq!(count, 800);
    }

    #[test]
    fn a_full_queue_ends_the_session_as_a_slow_client() {
        let socket = test_socket(1);
        assert_eq!(socket.send("a"), Ok(()));
        assert_eq!(socket.send("b"), Err(SendError::QueueFull));
        assert_eq!(socket.close_reason(), Some(DisconnectReason::SlowClient));
        assert_eq!(socket.send("c"), Err(SendError::Closed));
    }

    #[test]
    fn a_closed_session_refuses_sends_and_keeps_its_first_reason() {
        let socket = test_socket(4);
        socket.close(DisconnectReason::ClientClose);
        assert_eq!(socket.send("c"), Err(SendError::Closed));
        assert_eq!(socket.close_reason(), Some(DisconnectReason::ClientClose));
        socket.close(DisconnectReason::PingTimeout);
        assert_eq!(
            socket.close_reason(),
            Some(DisconnectReason::ClientClose),
            "first reason wins"
        );
    }
}
