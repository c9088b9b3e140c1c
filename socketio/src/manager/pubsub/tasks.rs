//! The manager's background tasks: the publisher, the subscription listener, the heartbeat.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{BusStats, Outgoing, Shared};
use crate::manager::bus::{BusDriver, BusEvent};

/// Publishes queued messages in order, one at a time, so that a burst of emits reaches other
/// nodes in the order it was made.
pub(super) async fn publisher(
    bus: Arc<dyn BusDriver>,
    channel: String,
    cluster_channel: String,
    mut queue: mpsc::Receiver<Outgoing>,
    stats: Arc<BusStats>,
) {
    while let Some(message) = queue.recv().await {
        let (channel, message) = match message {
            Outgoing::Main(bytes) => (&channel, bytes),
            Outgoing::Cluster(bytes) => (&cluster_channel, bytes),
        };
        match bus.publish(channel, message).await {
            Ok(()) => BusStats::add(&stats.published),
            Err(err) => {
                BusStats::add(&stats.publish_failures);
                tracing::warn!(%err, "bus publish failed; message dropped");
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
                if server.namespaces().is_none() {
                    break;
                }
                shared.apply(&server, &payload);
            }
            BusEvent::Message { channel, payload } if channel == shared.cluster_channel => {
                if server.namespaces().is_none() {
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
