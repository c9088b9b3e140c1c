//! The narrow interface between the pub/sub manager and a message bus (Redis, RabbitMQ): publish
//! bytes on a named channel, receive what anyone publishes on the channels a node listens to.
//!
//! A driver owns its connections. Its subscriber reconnects by itself, with a backoff of at most
//! [`BusOptions::max_retry_delay`], and reports every change through [`BusEvent`], so the manager
//! never waits on a dead bus and a bus outage never takes a server down.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

/// A boxed future, as bus drivers return them (the trait stays object safe).
pub type BusFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why the bus refused or failed an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The URL cannot be used (bad scheme, bad syntax).
    #[error("invalid bus URL: {0}")]
    InvalidUrl(String),
    /// The bus could not be reached or the connection broke.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// The bus did not answer in time.
    #[error("bus timed out after {0:?}")]
    Timeout(Duration),
    /// The bus answered with an error.
    #[error("bus error: {0}")]
    Protocol(String),
}

/// What a subscription reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// The subscription is (again) listening on every channel it was asked for. Messages
    /// published while it was down are lost, as with any pub/sub bus.
    Subscribed,
    /// The subscription lost its connection; it retries by itself.
    Disconnected(BusError),
    /// One message published on `channel`.
    Message {
        /// The channel (Redis) or exchange (AMQP) it was published on.
        channel: String,
        /// The message body, unparsed: it is untrusted input.
        payload: Bytes,
    },
}

/// Settings every driver honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusOptions {
    /// The longest wait between two reconnection attempts of the subscriber (default 1 s);
    /// the first retry comes after 100 ms and the wait doubles up to this.
    pub max_retry_delay: Duration,
    /// How long a publish or a connection attempt may take before it fails (default 2 s).
    pub operation_timeout: Duration,
    /// Messages larger than this are dropped by the driver when it can tell before reading
    /// them whole, and by the manager otherwise (default 1 MiB).
    pub max_message_size: usize,
    /// How many received messages may wait for the manager (default 1024); when full the
    /// driver stops reading, so a flood cannot grow memory.
    pub queue_capacity: usize,
}

impl Default for BusOptions {
    fn default() -> Self {
        BusOptions {
            max_retry_delay: Duration::from_secs(1),
            operation_timeout: Duration::from_secs(2),
            max_message_size: 1 << 20,
            queue_capacity: 1024,
        }
    }
}

impl BusOptions {
    /// The wait before reconnection attempt number `attempt` (0 for the first retry):
    /// 100 ms doubling up to [`max_retry_delay`](Self::max_retry_delay).
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio::manager::BusOptions;
    ///
    /// let options = BusOptions::default();
    /// assert_eq!(options.retry_delay(0), Duration::from_millis(100));
    /// assert_eq!(options.retry_delay(1), Duration::from_millis(200));
    /// assert_eq!(options.retry_delay(30), Duration::from_secs(1));
    /// ```
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let base = Duration::from_millis(100);
        base.checked_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
            .unwrap_or(self.max_retry_delay)
            .min(self.max_retry_delay)
    }
}

/// A message bus driver: what a pub/sub manager and a write-only emitter need from Redis or
/// RabbitMQ.
///
/// Implementations: [`RedisBus`](crate::manager::RedisBus) (feature `redis`) and
/// [`AmqpBus`](crate::manager::AmqpBus) (feature `amqp`).
pub trait BusDriver: Send + Sync + 'static {
    /// Publishes `payload` on `channel` to every subscriber, this node's own included. Fails
    /// within [`BusOptions::operation_timeout`] when the bus is down; the next call tries to
    /// connect again.
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payload: Bytes,
    ) -> BusFuture<'a, Result<(), BusError>>;

    /// Publishes `batch` in order, as [`publish`](Self::publish) would one by one; drivers
    /// that can send several messages in one round trip do (a Redis pipeline, AMQP confirms
    /// awaited together). On an error an unknown prefix of the batch may have been
    /// published. The default publishes one message at a time.
    fn publish_batch<'a>(
        &'a self,
        batch: &'a [(&'a str, Bytes)],
    ) -> BusFuture<'a, Result<(), BusError>> {
        Box::pin(async move {
            for (channel, payload) in batch {
                self.publish(channel, payload.clone()).await?;
            }
            Ok(())
        })
    }

    /// Starts listening on `channels`. Returns once the first subscription is in place, or
    /// with an error when the bus cannot be reached at all. After that the driver keeps the
    /// subscription alive by itself and reports through the receiver, whose capacity is
    /// [`BusOptions::queue_capacity`]; dropping the receiver ends the subscription.
    fn subscribe(
        &self,
        channels: Vec<String>,
    ) -> BusFuture<'_, Result<mpsc::Receiver<BusEvent>, BusError>>;
}

/// Calls `open(state)` after the backoff of `options` (attempt 0, 1, …) until it succeeds,
/// for a subscription that lost its bus; `None` as soon as nobody listens on `events` any
/// more. (The Redis drivers use it; the AMQP driver reconnects through lapin.)
#[cfg(feature = "redis")]
pub(crate) async fn reopen_with_backoff<S, T>(
    state: &mut S,
    options: &BusOptions,
    events: &mpsc::Sender<BusEvent>,
    open: impl for<'a> Fn(&'a mut S) -> BusFuture<'a, Result<T, BusError>>,
) -> Option<T> {
    let mut attempt = 0u32;
    loop {
        let delay = options.retry_delay(attempt);
        let retry = async {
            tokio::time::sleep(delay).await;
            open(state).await
        };
        tokio::select! {
            result = retry => match result {
                Ok(opened) => return Some(opened),
                Err(err) => {
                    tracing::debug!(attempt, error = %err, "bus resubscription failed");
                    attempt = attempt.saturating_add(1);
                }
            },
            () = events.closed() => return None,
        }
    }
}
