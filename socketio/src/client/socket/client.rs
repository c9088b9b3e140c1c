//! What a [`Client`] does: connect, hand out namespace sockets, emit on `/`, watch its state.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::args::{AckError, EmitError, Event, FromPayload, IntoPayload, WithTimeout};
use crate::client::engine::{self};
use crate::client::error::ClientError;
use crate::engineio::TransportKind;
use crate::parser::ROOT_NAMESPACE;
use serde::Serialize;

use super::state::{Inner, JOB_QUEUE, Setup, State, lock};
use super::tasks::run_jobs;
use super::{Client, ClientSocket, ConnectionState};

impl Client {
    pub(crate) fn new(builder: Setup) -> Client {
        let (jobs, jobs_rx) = mpsc::channel(JOB_QUEUE);
        let order = builder
            .namespaces
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let inner = Inner {
            endpoint: Arc::new(builder.endpoint),
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

    /// Emits an [`Event`] value on the namespace it was declared with
    /// (`#[event("name", namespace = "/chat")]`), or on `/`; see
    /// [`ClientSocket::emit_event`].
    pub fn emit_event<E: Event + Serialize>(&self, event: &E) -> Result<(), EmitError> {
        match E::NAMESPACE {
            Some(namespace) => self.of(namespace).emit_event(event),
            None => self.socket().emit_event(event),
        }
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
    /// [`Transports::Upgrade`](crate::client::Transports::Upgrade) this turns from polling to WebSocket once the upgrade is done.
    pub fn transport(&self) -> Option<TransportKind> {
        let state = self.inner.state();
        state.link.as_ref().map(|link| *link.transport.borrow())
    }

    /// Leaves every namespace, closes the session and stops any reconnection. Handlers get
    /// [`DisconnectReason::ClientDisconnect`](crate::client::DisconnectReason::ClientDisconnect).
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
