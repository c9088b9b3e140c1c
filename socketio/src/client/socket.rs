//! The client handles ([`Client`], [`ClientSocket`], [`ClientAck`]) and the state behind them:
//! namespaces, pending acks, the reader of each engine connection and the reconnection loop.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::BoxFuture;
use super::builder::{AttemptFn, ClientBuilder, ClientNamespaceBuilder, FailedFn, Reconnection};
use super::engine::{self, Connection, EngineEvent, Outbound, Transports};
use super::error::{ClientError, DisconnectReason};
use super::http::Endpoint;
use crate::args::Payload;
use crate::args::{
    AckError, DEFAULT_ACK_TIMEOUT, EmitError, Event, FromPayload, IntoPayload, WithTimeout,
    decode_reply,
};
use crate::engineio::TransportKind;
use crate::engineio::packet::Frame;
use crate::parser::{DecodeStatus, Decoder, Packet, PacketData, ParserLimits, ROOT_NAMESPACE};
use serde::Serialize;

/// Where a client stands.
///
/// ```
/// use socketio::client::ConnectionState;
///
/// assert_ne!(ConnectionState::Connected, ConnectionState::Reconnecting);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected, and not trying to be (before `connect`, after `disconnect`, or after
    /// reconnection gave up).
    Disconnected,
    /// The session is open.
    Connected,
    /// The session was lost; the client is reconnecting.
    Reconnecting,
}

/// A Socket.IO client: one Engine.IO session carrying any number of namespaces, with
/// reconnection. Cheap to clone; every clone is the same client.
///
/// Build one with [`Client::builder`]. It keeps running in the background until
/// [`disconnect`](Self::disconnect), even when every handle is dropped.
///
/// ```no_run
/// use std::time::Duration;
/// use socketio::client::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("http://127.0.0.1:3000").connect().await?;
/// let reply: (u32, String) = client
///     .timeout(Duration::from_secs(5))
///     .emit_with_ack("message-with-ack", (1, "two"))
///     .await?;
/// assert_eq!(reply, (1, "two".to_owned()));
/// client.disconnect();
/// client.wait().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("state", &*self.inner.status.borrow())
            .finish_non_exhaustive()
    }
}

/// One namespace of a [`Client`]: emit on it, read its sid. Cheap to clone.
#[derive(Clone)]
pub struct ClientSocket {
    inner: Arc<Inner>,
    namespace: Arc<str>,
}

impl std::fmt::Debug for ClientSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSocket")
            .field("namespace", &self.namespace)
            .field("sid", &self.sid())
            .finish()
    }
}

/// Answers a server's event that asked for an acknowledgement. Send at most once; dropping it
/// sends nothing.
#[derive(Debug)]
pub struct ClientAck {
    socket: ClientSocket,
    id: u64,
}

impl ClientAck {
    /// Sends the acknowledgement with `args`, typed like an emit's (a tuple for several
    /// arguments; binary attachments included).
    ///
    /// ```no_run
    /// use socketio::client::Client;
    ///
    /// # async fn run() -> Result<(), socketio::client::ClientError> {
    /// let client = Client::builder("http://127.0.0.1:3000")
    ///     .namespace("/chat", |ns| {
    ///         ns.on("ack-request", |_socket, payload, ack| async move {
    ///             if let Some(ack) = ack {
    ///                 let _ = ack.send(payload); // answer with the same arguments
    ///             }
    ///         })
    ///     })
    ///     .connect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(self, args: impl IntoPayload) -> Result<(), EmitError> {
        let packet = args
            .into_payload()?
            .into_ack(&self.socket.namespace, self.id);
        self.socket
            .inner
            .send_packet(&self.socket.namespace, packet)
    }

    /// The ack id the server gave the event.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// The handlers and auth of one namespace, fixed once the client is built.
type Handlers = ClientNamespaceBuilder;

struct Inner {
    endpoint: Arc<Endpoint>,
    transports: Transports,
    connect_timeout: Duration,
    reconnection: Reconnection,
    parser_limits: ParserLimits,
    handlers: HashMap<String, Handlers>,
    /// Namespaces in the order they were declared.
    order: Vec<String>,
    on_reconnect_attempt: Option<Box<AttemptFn>>,
    on_reconnect: Option<Box<AttemptFn>>,
    on_reconnect_failed: Option<Box<FailedFn>>,
    state: Mutex<State>,
    status: watch::Sender<ConnectionState>,
    jobs: mpsc::Sender<BoxFuture<()>>,
    jobs_rx: Mutex<Option<mpsc::Receiver<BoxFuture<()>>>>,
}

/// The current engine session.
struct Link {
    generation: u64,
    outbound: mpsc::Sender<Outbound>,
    transport: watch::Receiver<TransportKind>,
    close: CancellationToken,
}

#[derive(Default)]
struct NamespaceState {
    /// Rejoined on every reconnection (false once the server refused or disconnected it, or
    /// the application left it).
    wanted: bool,
    sid: Option<String>,
    /// `connect` waiting for the CONNECT reply.
    waiter: Option<oneshot::Sender<Result<(), ClientError>>>,
}

enum AckSlot {
    Reply(oneshot::Sender<Payload>),
    Callback(PendingCallback),
}

/// A callback given to `emit_with_callback`, with the task that times it out.
struct PendingCallback {
    run: Box<dyn FnOnce(Result<Payload, AckError>) -> BoxFuture<()> + Send>,
    deadline: Option<tokio::task::AbortHandle>,
}

impl PendingCallback {
    /// Runs the callback with `reply`, which came before the deadline.
    fn answer(self, reply: Result<Payload, AckError>) -> BoxFuture<()> {
        if let Some(deadline) = self.deadline {
            deadline.abort();
        }
        (self.run)(reply)
    }
}

struct State {
    link: Option<Link>,
    generation: u64,
    namespaces: HashMap<String, NamespaceState>,
    acks: HashMap<u64, (Arc<str>, AckSlot)>,
    next_ack: u64,
    /// Cancelled by `disconnect`: stops the reconnection loop.
    stop: CancellationToken,
}

/// Most acks a client waits for at once; beyond that, emitting with an ack fails.
const MAX_PENDING_ACKS: usize = 65_536;
/// Handler jobs queued before the reader waits for the handlers to catch up.
const JOB_QUEUE: usize = 1024;

impl Client {
    /// Starts setting up a client for the server at `url` (`http://`, `https://`, `ws://` or
    /// `wss://`, without a path).
    ///
    /// ```
    /// use socketio::client::Client;
    ///
    /// let client = Client::builder("http://127.0.0.1:3000").build().unwrap();
    /// assert!(!client.connected());
    /// assert!(Client::builder("http://127.0.0.1:3000/chat").build().is_err());
    /// ```
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    pub(crate) fn from_builder(builder: ClientBuilder, endpoint: Endpoint) -> Client {
        let (jobs, jobs_rx) = mpsc::channel(JOB_QUEUE);
        let order = builder
            .namespaces
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let inner = Inner {
            endpoint: Arc::new(endpoint),
            transports: builder.transports,
            connect_timeout: builder.connect_timeout,
            reconnection: builder.reconnection,
            parser_limits: builder.parser_limits,
            handlers: builder.namespaces.into_iter().collect(),
            order,
            on_reconnect_attempt: builder.on_reconnect_attempt,
            on_reconnect: builder.on_reconnect,
            on_reconnect_failed: builder.on_reconnect_failed,
            state: Mutex::new(State {
                link: None,
                generation: 0,
                namespaces: HashMap::new(),
                acks: HashMap::new(),
                next_ack: 0,
                stop: CancellationToken::new(),
            }),
            status: watch::channel(ConnectionState::Disconnected).0,
            jobs,
            jobs_rx: Mutex::new(Some(jobs_rx)),
        };
        Client {
            inner: Arc::new(inner),
        }
    }

    /// Opens the session and joins every namespace, waiting for each CONNECT reply. If the
    /// server refuses a namespace the client disconnects and returns
    /// [`ClientError::ConnectRefused`]. Connecting a connected client does nothing; a client
    /// can connect again after [`disconnect`](Self::disconnect).
    pub async fn connect(&self) -> Result<(), ClientError> {
        let inner = &self.inner;
        if let Some(rx) = lock(&inner.jobs_rx).take() {
            tokio::spawn(run_jobs(rx));
        }
        let closing = {
            let state = inner.state();
            state.link.is_some() && state.stop.is_cancelled()
        };
        if closing {
            // The previous session is still closing after `disconnect`: let it end first.
            tokio::time::timeout(inner.connect_timeout, self.wait())
                .await
                .map_err(|_| ClientError::Timeout)?;
        }
        let stop = {
            let mut state = inner.state();
            if state.link.is_some() {
                return Ok(());
            }
            // A reconnection loop still running gives way to this connection.
            state.stop.cancel();
            state.stop = CancellationToken::new();
            for name in &inner.order {
                state.namespaces.entry(name.clone()).or_default().wanted = true;
            }
            state.stop.clone()
        };
        let connection = tokio::time::timeout(
            inner.connect_timeout,
            engine::connect(inner.endpoint.clone(), inner.transports),
        )
        .await
        .map_err(|_| ClientError::Timeout)??;
        let waiters = inner.install(connection, &stop, true).await;
        let Some(waiters) = waiters else {
            return Err(ClientError::Disconnected);
        };
        for waiter in waiters {
            let outcome = match tokio::time::timeout(inner.connect_timeout, waiter).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => Err(ClientError::Disconnected),
                Err(_) => Err(ClientError::Timeout),
            };
            if let Err(error) = outcome {
                self.disconnect();
                return Err(error);
            }
        }
        Ok(())
    }

    /// The main namespace `/`.
    pub fn socket(&self) -> ClientSocket {
        self.of(ROOT_NAMESPACE)
    }

    /// A handle on `namespace` (connected or not: emitting fails while it is not).
    pub fn of(&self, namespace: &str) -> ClientSocket {
        ClientSocket {
            inner: self.inner.clone(),
            namespace: namespace.into(),
        }
    }

    /// Emits `event` on `/`; see [`ClientSocket::emit`].
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        self.socket().emit(event, args)
    }

    /// Emits an [`Event`] value on `/`; see [`ClientSocket::emit_event`].
    pub fn emit_event<E: Event + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        self.socket().emit_event(event)
    }

    /// Sets the ack timeout of the next emit on `/`; see [`ClientSocket::timeout`].
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<ClientSocket> {
        self.socket().timeout(timeout)
    }

    /// Emits `event` on `/` and waits for the server's ack; see
    /// [`ClientSocket::emit_with_ack`].
    pub async fn emit_with_ack<R: FromPayload>(
        &self,
        event: &str,
        args: impl IntoPayload,
    ) -> Result<R, AckError> {
        self.socket().emit_with_ack(event, args).await
    }

    /// Whether the session is open.
    pub fn connected(&self) -> bool {
        *self.inner.status.borrow() == ConnectionState::Connected
    }

    /// Where the client stands.
    pub fn state(&self) -> ConnectionState {
        *self.inner.status.borrow()
    }

    /// A receiver that sees every change of [`state`](Self::state).
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.inner.status.subscribe()
    }

    /// The transport of the open session (`None` when disconnected). With
    /// [`Transports::Upgrade`] this turns from polling to WebSocket once the upgrade is done.
    pub fn transport(&self) -> Option<TransportKind> {
        let state = self.inner.state();
        state.link.as_ref().map(|link| *link.transport.borrow())
    }

    /// Leaves every namespace, closes the session and stops any reconnection. Handlers get
    /// [`DisconnectReason::ClientDisconnect`].
    pub fn disconnect(&self) {
        self.inner.disconnect();
    }

    /// Waits until the client is disconnected for good: after [`disconnect`](Self::disconnect),
    /// when the server ends the last namespace, or when reconnection gives up.
    pub async fn wait(&self) {
        let mut status = self.inner.status.subscribe();
        let _ = status
            .wait_for(|state| *state == ConnectionState::Disconnected)
            .await;
    }

    /// Runs `task` in the background on the client's runtime (python-socketio's
    /// `start_background_task`).
    pub fn start_background_task<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(task)
    }
}

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
    /// `bytes::Bytes` at any depth travels as an attachment) or a [`Payload`], the same as
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
    /// arguments) or the raw [`Payload`].
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

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn socket(self: &Arc<Self>, namespace: &str) -> ClientSocket {
        ClientSocket {
            inner: self.clone(),
            namespace: namespace.into(),
        }
    }

    /// Queues a packet on the session, if the namespace is connected.
    fn send_packet(&self, namespace: &str, packet: Packet) -> Result<(), EmitError> {
        let connected = self
            .state()
            .namespaces
            .get(namespace)
            .is_some_and(|ns| ns.sid.is_some());
        if !connected {
            return Err(EmitError::Closed);
        }
        self.send_raw(packet)
    }

    /// Queues a packet on the session whatever the namespace's state.
    fn send_raw(&self, packet: Packet) -> Result<(), EmitError> {
        let encoded = packet.into_encoded();
        let mut frames = Vec::with_capacity(1 + encoded.attachments.len());
        frames.push(Frame::message(&encoded.text));
        frames.extend(encoded.attachments.into_iter().map(Frame::Binary));
        let state = self.state();
        let link = state.link.as_ref().ok_or(EmitError::Closed)?;
        link.outbound.try_send(frames).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => EmitError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => EmitError::Closed,
        })
    }

    /// Makes `connection` the current session: starts its reader and sends a CONNECT for every
    /// wanted namespace (with freshly computed auth). Returns the waiters for the replies when
    /// `wait` is set, or `None` if `stop` was cancelled meanwhile.
    async fn install(
        self: &Arc<Self>,
        connection: Connection,
        stop: &CancellationToken,
        wait: bool,
    ) -> Option<Vec<oneshot::Receiver<Result<(), ClientError>>>> {
        let Connection {
            outbound,
            events,
            transport,
            handshake,
            close,
        } = connection;
        let wanted: Vec<String> = {
            let state = self.state();
            self.order
                .iter()
                .filter(|name| state.namespaces.get(*name).is_some_and(|ns| ns.wanted))
                .cloned()
                .collect()
        };
        let mut connects = Vec::with_capacity(wanted.len());
        for name in wanted {
            let auth = match self.handlers.get(&name).and_then(|h| h.auth.clone()) {
                Some(auth) => auth().await,
                None => Value::Null,
            };
            let auth = (!auth.is_null()).then_some(auth);
            connects.push((name, auth));
        }
        let mut waiters = Vec::new();
        {
            let mut state = self.state();
            if stop.is_cancelled() {
                close.cancel();
                return None;
            }
            state.generation += 1;
            let generation = state.generation;
            for (name, auth) in connects {
                let ns = state.namespaces.entry(name.clone()).or_default();
                if wait {
                    let (tx, rx) = oneshot::channel();
                    ns.waiter = Some(tx);
                    waiters.push(rx);
                }
                let packet = Packet::connect(name, auth).into_encoded();
                let _ = outbound.try_send(vec![Frame::message(&packet.text)]);
            }
            state.link = Some(Link {
                generation,
                outbound,
                transport,
                close,
            });
            tracing::debug!(sid = %handshake.sid, "socket.io client session open");
            // Under the lock, so that the reader's `on_closed` cannot come first.
            self.status.send_replace(ConnectionState::Connected);
            tokio::spawn(read_loop(self.clone(), generation, events));
        }
        Some(waiters)
    }

    /// Queues a job from outside the reader (disconnect handlers of the application's own
    /// `disconnect`, or of a lost session: at most one per namespace).
    fn queue(&self, job: BoxFuture<()>) {
        if let Err(mpsc::error::TrySendError::Full(job)) = self.jobs.try_send(job) {
            let jobs = self.jobs.clone();
            tokio::spawn(async move {
                let _ = jobs.send(job).await;
            });
        }
    }

    fn queue_disconnect(self: &Arc<Self>, namespace: &str, reason: DisconnectReason) {
        if let Some(job) = self.disconnect_job(namespace, reason) {
            self.queue(job);
        }
    }

    fn disconnect_job(
        self: &Arc<Self>,
        namespace: &str,
        reason: DisconnectReason,
    ) -> Option<BoxFuture<()>> {
        let handler = self.handlers.get(namespace)?.disconnect.as_ref()?;
        Some(handler(self.socket(namespace), reason))
    }

    fn disconnect(self: &Arc<Self>) {
        let mut left = Vec::new();
        {
            let mut state = self.state();
            state.stop.cancel();
            for (name, ns) in &mut state.namespaces {
                ns.wanted = false;
                if ns.sid.take().is_some() {
                    left.push(name.clone());
                }
            }
        }
        for name in &left {
            let _ = self.send_raw(Packet::disconnect(name.clone()));
            self.queue_disconnect(name, DisconnectReason::ClientDisconnect);
        }
        let state = self.state();
        match &state.link {
            Some(link) => {
                link.close.cancel();
            }
            None => {
                self.status.send_replace(ConnectionState::Disconnected);
            }
        }
    }

    /// Handles one complete packet from the server; returns the handler job it calls for,
    /// which the reader queues (waiting when the handlers are far behind).
    fn on_packet(self: &Arc<Self>, packet: Packet) -> Option<BoxFuture<()>> {
        let namespace = packet.namespace;
        let Some(handlers) = self.handlers.get(&namespace) else {
            tracing::debug!(%namespace, "packet for a namespace the client never joined");
            return None;
        };
        let socket = || self.socket(&namespace);
        match packet.data {
            PacketData::Connect(data) => {
                let sid = data
                    .as_ref()
                    .and_then(|d| d.get("sid"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let mut state = self.state();
                let ns = state.namespaces.entry(namespace.clone()).or_default();
                let waiter = ns.waiter.take();
                let outcome = match sid {
                    Some(sid) if ns.wanted => {
                        ns.sid = Some(sid);
                        Ok(())
                    }
                    Some(_) => return None,
                    None => Err(ClientError::Protocol("CONNECT reply without sid".into())),
                };
                drop(state);
                let ok = outcome.is_ok();
                if let Some(waiter) = waiter {
                    let _ = waiter.send(outcome);
                }
                let handler = handlers.connect.as_ref().filter(|_| ok)?;
                Some(handler(socket()))
            }
            PacketData::ConnectError(data) => {
                let (message, data) = match data {
                    Value::String(message) => (message, None),
                    Value::Object(mut object) => (
                        match object.remove("message") {
                            Some(Value::String(message)) => message,
                            Some(other) => other.to_string(),
                            None => String::new(),
                        },
                        object.remove("data"),
                    ),
                    other => (other.to_string(), None),
                };
                let error = ClientError::ConnectRefused {
                    namespace: namespace.clone(),
                    message,
                    data,
                };
                let waiter = {
                    let mut state = self.state();
                    let ns = state.namespaces.entry(namespace.clone()).or_default();
                    ns.wanted = false;
                    ns.sid = None;
                    ns.waiter.take()
                };
                if let Some(waiter) = waiter {
                    let _ = waiter.send(Err(error.clone()));
                }
                let handler = handlers.connect_error.as_ref()?;
                Some(handler(socket(), error))
            }
            PacketData::Disconnect => {
                let (was_connected, none_left) = {
                    let mut state = self.state();
                    let ns = state.namespaces.entry(namespace.clone()).or_default();
                    ns.wanted = false;
                    let was = ns.sid.take().is_some();
                    let none_left = state
                        .namespaces
                        .values()
                        .all(|ns| ns.sid.is_none() && ns.waiter.is_none());
                    (was, none_left)
                };
                if none_left {
                    // Like python-socketio: with no namespace left, the session ends for good.
                    let state = self.state();
                    state.stop.cancel();
                    if let Some(link) = &state.link {
                        link.close.cancel();
                    }
                }
                was_connected
                    .then(|| self.disconnect_job(&namespace, DisconnectReason::ServerDisconnect))
                    .flatten()
            }
            PacketData::Event {
                mut args,
                attachments,
            } => {
                if args.is_empty() {
                    return None;
                }
                let name = match args.remove(0) {
                    Value::String(name) => name,
                    other => other.to_string(),
                };
                let ack = packet.ack_id.map(|id| ClientAck {
                    socket: socket(),
                    id,
                });
                let payload = Payload { args, attachments };
                if let Some(handler) = handlers.events.get(&name) {
                    Some(handler(socket(), payload, ack))
                } else {
                    let handler = handlers.any.as_ref()?;
                    Some(handler(socket(), name, payload, ack))
                }
            }
            PacketData::Ack { args, attachments } => {
                let id = packet.ack_id?;
                let slot = {
                    let mut state = self.state();
                    match state.acks.get(&id) {
                        Some((ns, _)) if **ns == *namespace => state.acks.remove(&id),
                        _ => None,
                    }
                };
                let payload = Payload { args, attachments };
                match slot {
                    Some((_, AckSlot::Reply(tx))) => {
                        let _ = tx.send(payload);
                        None
                    }
                    Some((_, AckSlot::Callback(callback))) => Some(callback.answer(Ok(payload))),
                    None => {
                        tracing::debug!(id, "ack for no pending emit");
                        None
                    }
                }
            }
        }
    }

    /// The session of `generation` ended: every namespace is disconnected, pending acks fail,
    /// and reconnection starts when the reason calls for it.
    fn on_closed(self: &Arc<Self>, generation: u64, reason: DisconnectReason) {
        let (left, stop) = {
            let mut state = self.state();
            if state.link.as_ref().map(|l| l.generation) != Some(generation) {
                return;
            }
            state.link = None;
            for (_, (_, slot)) in state.acks.drain() {
                if let AckSlot::Callback(callback) = slot {
                    tokio::spawn(callback.answer(Err(AckError::Disconnected)));
                }
            }
            let mut left = Vec::new();
            for (name, ns) in &mut state.namespaces {
                if ns.sid.take().is_some() {
                    left.push(name.clone());
                }
                if let Some(waiter) = ns.waiter.take() {
                    let _ = waiter.send(Err(ClientError::Transport(reason.to_string())));
                }
            }
            (left, state.stop.clone())
        };
        tracing::debug!(%reason, "socket.io client disconnected");
        for name in &left {
            self.queue_disconnect(name, reason.clone());
        }
        if reason.reconnects() && self.reconnection.enabled && !stop.is_cancelled() {
            self.status.send_replace(ConnectionState::Reconnecting);
            tokio::spawn(reconnect(self.clone(), stop));
        } else {
            self.status.send_replace(ConnectionState::Disconnected);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never leaves the state half-updated in a way that matters more than
    // stopping the client would.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs handler jobs one at a time, in order; a panicking handler only loses its own job.
async fn run_jobs(mut jobs: mpsc::Receiver<BoxFuture<()>>) {
    while let Some(job) = jobs.recv().await {
        if let Err(error) = tokio::spawn(job).await {
            tracing::error!(%error, "a client handler panicked");
        }
    }
}

/// Reads one session's events, reassembles Socket.IO packets and dispatches them.
async fn read_loop(inner: Arc<Inner>, generation: u64, mut events: mpsc::Receiver<EngineEvent>) {
    let mut decoder = Decoder::with_limits(inner.parser_limits);
    let reason = loop {
        let status = match events.recv().await {
            Some(EngineEvent::Text(text)) => decoder.feed_text(&text),
            Some(EngineEvent::Binary(data)) => decoder.feed_binary(data),
            Some(EngineEvent::Closed(reason)) => break reason,
            None => break DisconnectReason::TransportClose,
        };
        match status {
            Ok(DecodeStatus::Complete(packet)) => {
                if let Some(job) = inner.on_packet(packet) {
                    // Waits while the handlers are far behind: the server is read no faster
                    // than the application handles its events.
                    let _ = inner.jobs.send(job).await;
                }
            }
            Ok(DecodeStatus::Incomplete { .. }) => {}
            Err(error) => {
                tracing::warn!(%error, "bad packet from the server; closing the session");
                let state = inner.state();
                if let Some(link) = state.link.as_ref().filter(|l| l.generation == generation) {
                    link.close.cancel();
                }
                break DisconnectReason::ParseError(error.to_string());
            }
        }
    };
    inner.on_closed(generation, reason);
}

/// Reconnects with backoff until it works, the attempts run out, or `stop` is cancelled.
async fn reconnect(inner: Arc<Inner>, stop: CancellationToken) {
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let limit = inner.reconnection.attempts;
        if limit != 0 && attempt > limit {
            tracing::debug!(attempts = limit, "reconnection gave up");
            if let Some(handler) = &inner.on_reconnect_failed {
                handler();
            }
            inner.status.send_replace(ConnectionState::Disconnected);
            return;
        }
        let delay = inner.reconnection.delay_for(attempt, rand::random::<f64>());
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        if let Some(handler) = &inner.on_reconnect_attempt {
            handler(attempt);
        }
        let opened = tokio::select! {
            () = stop.cancelled() => return,
            opened = tokio::time::timeout(
                inner.connect_timeout,
                engine::connect(inner.endpoint.clone(), inner.transports),
            ) => opened.unwrap_or(Err(ClientError::Timeout)),
        };
        match opened {
            Ok(connection) => {
                if inner.install(connection, &stop, false).await.is_some()
                    && let Some(handler) = &inner.on_reconnect
                {
                    handler(attempt);
                }
                return;
            }
            Err(error) => tracing::debug!(attempt, %error, "reconnection attempt failed"),
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
