//! The client's background tasks: the handler queue, the reader of each engine session and
//! the reconnection loop.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::client::engine::BoxFuture;
use crate::client::engine::{self, EngineEvent};
use crate::client::error::{ClientError, DisconnectReason};
use crate::parser::{DecodeStatus, Decoder};

use super::ConnectionState;
use super::state::Inner;

/// Runs handler jobs one at a time, in order; a panicking handler only loses its own job.
pub(super) async fn run_jobs(mut jobs: mpsc::Receiver<BoxFuture<()>>) {
    while let Some(job) = jobs.recv().await {
        if let Err(error) = tokio::spawn(job).await {
            tracing::error!(%error, "a client handler panicked");
        }
    }
}

/// Reads one session's events, reassembles Socket.IO packets and dispatches them.
pub(super) async fn read_loop(
    inner: Arc<Inner>,
    generation: u64,
    mut events: mpsc::Receiver<EngineEvent>,
) {
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
pub(super) async fn reconnect(inner: Arc<Inner>, stop: CancellationToken) {
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
