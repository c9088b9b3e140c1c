//! Counters of a node's bus traffic.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of what went over the bus, to watch a node's health.
#[derive(Debug, Default)]
pub struct BusStats {
    pub(super) published: AtomicU64,
    pub(super) publish_failures: AtomicU64,
    pub(super) received: AtomicU64,
    pub(super) ignored: AtomicU64,
    pub(super) reconnects: AtomicU64,
}

impl BusStats {
    /// Messages published successfully.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Messages that could not be published (bus down, queue full); each one is logged.
    pub fn publish_failures(&self) -> u64 {
        self.publish_failures.load(Ordering::Relaxed)
    }

    /// Messages received from other nodes and applied.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Messages received and ignored: malformed, oversized, unknown, or not for this node.
    pub fn ignored(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
    }

    /// How many times the subscription came back after losing the bus.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    pub(super) fn add_n(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
