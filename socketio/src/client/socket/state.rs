//! The state behind a client's handles: the engine session, namespaces, pending acks and
//! what happens on every packet, close and reconnection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::args::Payload;
use crate::args::{AckError, EmitError};
use crate::client::engine::BoxFuture;
use crate::client::engine::{Connection, Outbound, Transports};
use crate::client::error::{ClientError, DisconnectReason};
use crate::client::http::Endpoint;
use crate::client::namespace::ClientNamespaceBuilder;
use crate::client::reconnection::{AttemptFn, FailedFn, Reconnection};
use crate::engineio::TransportKind;
use crate::engineio::packet::Frame;
use crate::parser::{Packet, PacketData, ParserLimits};

use super::tasks::{read_loop, reconnect};
use super::{ClientAck, ClientSocket, ConnectionState};

/// What a built client starts from: the builder's settings and handlers.
pub(crate) struct Setup {
    pub(crate) endpoint: Endpoint,
    pub(crate) transports: Transports,
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnection: Reconnection,
    pub(crate) parser_limits: ParserLimits,
    pub(crate) namespaces: Vec<(String, ClientNamespaceBuilder)>,
    pub(crate) on_reconnect_attempt: Option<Box<AttemptFn>>,
    pub(crate) on_reconnect: Option<Box<AttemptFn>>,
    pub(crate) on_reconnect_failed: Option<Box<FailedFn>>,
}

/// The handlers and auth of one namespace, fixed once the client is built.
pub(super) type Handlers = ClientNamespaceBuilder;

pub(super) struct Inner {
    pub(super) endpoint: Arc<Endpoint>,
    pub(super) transports: Transports,
    pub(super) connect_timeout: Duration,
    pub(super) reconnection: Reconnection,
    pub(super) parser_limits: ParserLimits,
    pub(super) handlers: HashMap<String, Handlers>,
    /// Namespaces in the order they were declared.
    pub(super) order: Vec<String>,
    pub(super) on_reconnect_attempt: Option<Box<AttemptFn>>,
    pub(super) on_reconnect: Option<Box<AttemptFn>>,
    pub(super) on_reconnect_failed: Option<Box<FailedFn>>,
    pub(super) state: Mutex<State>,
    pub(super) status: watch::Sender<ConnectionState>,
    pub(super) jobs: mpsc::Sender<BoxFuture<()>>,
    pub(super) jobs_rx: Mutex<Option<mpsc::Receiver<BoxFuture<()>>>>,
}

/// The current engine session.
pub(super) struct Link {
    pub(super) generation: u64,
    pub(super) outbound: mpsc::Sender<Outbound>,
    pub(super) transport: watch::Receiver<TransportKind>,
    pub(super) close: CancellationToken,
}

#[derive(Default)]
pub(super) struct NamespaceState {
    /// Rejoined on every reconnection (false once the server refused or disconnected it, or
    /// the application left it).
    pub(super) wanted: bool,
    pub(super) sid: Option<String>,
    /// `connect` waiting for the CONNECT reply.
    pub(super) waiter: Option<oneshot::Sender<Result<(), ClientError>>>,
}

pub(super) enum AckSlot {
    Reply(oneshot::Sender<Payload>),
    Callback(PendingCallback),
}

/// A callback given to `emit_with_callback`, with the task that times it out.
pub(super) struct PendingCallback {
    pub(super) run: Box<dyn FnOnce(Result<Payload, AckError>) -> BoxFuture<()> + Send>,
    pub(super) deadline: Option<tokio::task::AbortHandle>,
}

impl PendingCallback {
    /// Runs the callback with `reply`, which came before the deadline.
    pub(super) fn answer(self, reply: Result<Payload, AckError>) -> BoxFuture<()> {
        if let Some(deadline) = self.deadline {
            deadline.abort();
        }
        (self.run)(reply)
    }
}

pub(super) struct State {
    pub(super) link: Option<Link>,
    pub(super) generation: u64,
    pub(super) namespaces: HashMap<String, NamespaceState>,
    pub(super) acks: HashMap<u64, (Arc<str>, AckSlot)>,
    pub(super) next_ack: u64,
    /// Cancelled by `disconnect`: stops the reconnection loop.
    pub(super) stop: CancellationToken,
}

/// Most acks a client waits for at once; beyond that, emitting with an ack fails.
pub(super) const MAX_PENDING_ACKS: usize = 65_536;
/// Handler jobs queued before the reader waits for the handlers to catch up.
pub(super) const JOB_QUEUE: usize = 1024;

impl Inner {
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(super) fn socket(self: &Arc<Self>, namespace: &str) -> ClientSocket {
        ClientSocket {
            inner: self.clone(),
            namespace: namespace.into(),
        }
    }

    /// Queues a packet on the session, if the namespace is connected.
    pub(super) fn send_packet(&self, namespace: &str, packet: Packet) -> Result<(), EmitError> {
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
    pub(super) fn send_raw(&self, packet: Packet) -> Result<(), EmitError> {
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
    pub(super) async fn install(
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
    pub(super) fn queue(&self, job: BoxFuture<()>) {
        if let Err(mpsc::error::TrySendError::Full(job)) = self.jobs.try_send(job) {
            let jobs = self.jobs.clone();
            tokio::spawn(async move {
                let _ = jobs.send(job).await;
            });
        }
    }

    pub(super) fn queue_disconnect(self: &Arc<Self>, namespace: &str, reason: DisconnectReason) {
        if let Some(job) = self.disconnect_job(namespace, reason) {
            self.queue(job);
        }
    }

    pub(super) fn disconnect_job(
        self: &Arc<Self>,
        namespace: &str,
        reason: DisconnectReason,
    ) -> Option<BoxFuture<()>> {
        let handler = self.handlers.get(namespace)?.disconnect.as_ref()?;
        Some(handler(self.socket(namespace), reason))
    }

    pub(super) fn disconnect(self: &Arc<Self>) {
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
    pub(super) fn on_packet(self: &Arc<Self>, packet: Packet) -> Option<BoxFuture<()>> {
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
                    Some(handler(socket(), name, payload, ack))
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
    pub(super) fn on_closed(self: &Arc<Self>, generation: u64, reason: DisconnectReason) {
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

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never leaves the state half-updated in a way that matters more than
    // stopping the client would.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
