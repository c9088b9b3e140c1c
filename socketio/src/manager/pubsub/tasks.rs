//! The manager's background tasks: the publisher, the subscription listener, the heartbeat.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{BusStats, Outgoing, Shared};
use crate::manager::bus::{BusDriver, BusEvent};

/// The most messages published in one batch.
const MAX_BATCH: usize = 256;

/// Publishes queued messages in order. Whatever queued up while the previous batch was on its
/// way goes out as the next batch, so a burst of emits costs a few round trips, not one each.
pub(super) async fn publisher(
    bus: Arc<dyn BusDriver>,
    channel: String,
    cluster_channel: String,
    mut queue: mpsc::Receiver<Outgoing>,
    stats: Arc<BusStats>,
) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut queued, MAX_BATCH).await > 0 {
        let batch: Vec<(&str, Bytes)> = queued
            .drain(..)
            .map(|message| match message {
                Outgoing::Main(bytes) => (channel.as_str(), bytes),
                Outgoing::Cluster(bytes) => (cluster_channel.as_str(), bytes),
            })
            .collect();
        let count = batch.len() as u64;
        match bus.publish_batch(&batch).await {
            Ok(()) => BusStats::add_n(&stats.published, count),
            Err(err) => {
                BusStats::add_n(&stats.publish_failures, count);
                tracing::warn!(%err, count, "bus publish failed; messages dropped");
            }
        }
    }
}

/// Applies what arrives on the subscription until the server is gone.
pub(super) async fn listen(shared: Arc<Shared>, mut subscription: mpsc::Receiver<BusEvent>) {
    let Some(server) = shared.server.get().cloned() else {
        return;
    };
    let mut was_down = false;
    while let Some(event) = subscription.recv().await {
        match event {
            BusEvent::Message { channel, payload } if channel == shared.channel => {
                if server.local().is_none() {
                    break;
                }
                shared.apply(&server, &payload);
            }
            BusEvent::Message { channel, payload } if channel == shared.cluster_channel => {
                if server.local().is_none() {
                    break;
                }
                shared.apply_cluster(&server, &payload);
            }
            BusEvent::Message { channel, .. } => {
                tracing::debug!(%channel, "message on an unexpected channel; ignored");
            }
            BusEvent::Disconnected(err) => {
                was_down = true;
                tracing::warn!(%err, "message bus lost; local delivery goes on, retrying");
            }
            BusEvent::Subscribed => {
                if was_down {
                    BusStats::add(&shared.stats.reconnects);
                    tracing::info!("message bus back; this node rejoined the cluster");
                }
                shared.send_heartbeat();
                was_down = false;
            }
        }
    }
}

/// Tells the other nodes this one is alive, until the manager is dropped.
pub(super) async fn heartbeat(shared: Weak<Shared>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.send_heartbeat();
    }
}
