//! The Redis bus driver: `PUBLISH` over one shared multiplexed connection, `SUBSCRIBE` on a
//! dedicated connection per subscription, kept alive by a task of its own.
//!
//! Every connection is made lazily and every operation is bounded by
//! [`BusOptions::operation_timeout`], so a server starts and keeps serving while Redis is down.
//!
//! A Redis Cluster ([`RedisBus::cluster`], in `redis_cluster.rs`) uses sharded pub/sub instead:
//! `SPUBLISH` and `SSUBSCRIBE` on the masters owning the channels' hash slots.

use std::any::Any;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use redis::aio::{MultiplexedConnection, PubSub};
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::bus::{BusDriver, BusError, BusEvent, BusFuture, BusOptions, reopen_with_backoff};

#[path = "redis_cluster.rs"]
mod cluster;

/// How long a subscription may stay silent before it checks its connection with a `PING`, so a
/// connection that died without a word (a network partition) is noticed and replaced.
const PING_INTERVAL: Duration = Duration::from_secs(15);

/// A [`BusDriver`] on Redis pub/sub (feature `redis`): one plain Redis server
/// ([`RedisBus::new`]) or a Redis Cluster with sharded pub/sub ([`RedisBus::cluster`]).
///
/// On one server:
///
/// - [`publish`](BusDriver::publish) sends `PUBLISH` over one multiplexed connection shared by
///   every caller. It is opened on first use and opened again after it broke; each call fails
///   within [`BusOptions::operation_timeout`] while Redis is unreachable.
/// - [`publish_batch`](BusDriver::publish_batch) sends the whole batch over that connection as
///   one pipeline of `PUBLISH`es: one round trip, in order, the whole call bounded by the same
///   timeout.
/// - [`subscribe`](BusDriver::subscribe) opens a dedicated connection per call, owned by a
///   spawned task. When it breaks the task reports [`BusEvent::Disconnected`], reconnects with
///   the backoff of [`BusOptions::retry_delay`], subscribes again and reports
///   [`BusEvent::Subscribed`]. Dropping the receiver ends the task and closes its connection.
///   A subscription lives on when the `RedisBus` that started it is dropped.
///
/// URLs: `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS through rustls, with the
/// Mozilla roots of `webpki-roots`), `unix:///path/to/redis.sock[?db=N&user=…&pass=…]`.
///
/// `rediss://` uses rustls' process-wide crypto provider; the driver installs `ring` as the
/// default when the application chose none.
///
/// Redis' client library reads a subscription's socket into a buffer of its own, so the
/// bounded queue of [`BusOptions::queue_capacity`] limits what waits for the manager, not what
/// Redis has already delivered to this process.
///
/// ```no_run
/// use bytes::Bytes;
/// use socketio::manager::{BusDriver, BusEvent, RedisBus};
///
/// # async fn run() -> Result<(), socketio::manager::BusError> {
/// let bus = RedisBus::new("redis://127.0.0.1:6379")?;
/// let mut events = bus.subscribe(vec!["socketio#/".to_owned()]).await?;
/// assert_eq!(events.recv().await, Some(BusEvent::Subscribed));
///
/// bus.publish("socketio#/", Bytes::from_static(b"hello")).await?;
/// while let Some(event) = events.recv().await {
///     match event {
///         BusEvent::Message { channel, payload } => println!("{channel}: {payload:?}"),
///         BusEvent::Disconnected(err) => eprintln!("bus lost ({err}), reconnecting"),
///         BusEvent::Subscribed => println!("listening again"),
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct RedisBus {
    backend: Backend,
}

/// Plain Redis or Redis Cluster.
enum Backend {
    Standalone(Standalone),
    Cluster(cluster::ClusterBus),
}

/// The driver for one plain Redis server.
struct Standalone {
    client: Client,
    options: BusOptions,
    publisher: Publisher<MultiplexedConnection>,
}

impl fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the addresses: a URL may hold a password.
        match &self.backend {
            Backend::Standalone(bus) => f
                .debug_struct("RedisBus")
                .field("addr", &bus.client.get_connection_info().addr().to_string())
                .field("options", &bus.options)
                .finish_non_exhaustive(),
            Backend::Cluster(bus) => f
                .debug_struct("RedisBus")
                .field("cluster", &bus.addrs())
                .field("options", bus.options())
                .finish_non_exhaustive(),
        }
    }
}

impl RedisBus {
    /// A driver for the Redis server at `url`, with the default [`BusOptions`].
    ///
    /// Nothing is connected yet: this succeeds while Redis is down, and fails only with
    /// [`BusError::InvalidUrl`] for a URL that cannot be used.
    ///
    /// ```
    /// use socketio::manager::{BusError, RedisBus};
    ///
    /// let bus = RedisBus::new("redis://127.0.0.1:6379/0")?;
    /// let err = RedisBus::new("http://127.0.0.1:6379").unwrap_err();
    /// assert!(matches!(err, BusError::InvalidUrl(_)));
    /// # Ok::<(), BusError>(())
    /// ```
    pub fn new(url: &str) -> Result<RedisBus, BusError> {
        RedisBus::with_options(url, BusOptions::default())
    }

    /// A driver for the Redis server at `url`, with `options`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio::manager::{BusOptions, RedisBus};
    ///
    /// let options = BusOptions {
    ///     operation_timeout: Duration::from_millis(500),
    ///     max_message_size: 64 * 1024,
    ///     ..BusOptions::default()
    /// };
    /// let bus = RedisBus::with_options("unix:///run/redis/redis.sock", options)?;
    /// # Ok::<(), socketio::manager::BusError>(())
    /// ```
    pub fn with_options(url: &str, options: BusOptions) -> Result<RedisBus, BusError> {
        let client = Client::open(url).map_err(|err| BusError::InvalidUrl(err.to_string()))?;
        if matches!(
            client.get_connection_info().addr(),
            redis::ConnectionAddr::TcpTls { .. }
        ) {
            ensure_crypto_provider();
        }
        Ok(RedisBus {
            backend: Backend::Standalone(Standalone {
                client,
                options,
                publisher: Publisher::default(),
            }),
        })
    }

    /// A driver for the Redis Cluster (Redis 7 or later) reached through any of `urls`, with
    /// the default [`BusOptions`]: sharded pub/sub, `SPUBLISH` and `SSUBSCRIBE`.
    ///
    /// The URLs are seeds: one reachable node is enough to learn the others, which are then
    /// connected with the credentials and TLS settings of the first URL (every URL must carry
    /// the same credentials). Nothing is connected yet: this fails only with
    /// [`BusError::InvalidUrl`], for an empty list, a URL that cannot be used, different
    /// credentials, or a unix socket (a cluster is reached over TCP).
    ///
    /// - [`publish`](BusDriver::publish) sends `SPUBLISH` through one cluster connection
    ///   shared by every caller, which routes each channel to the master owning its hash slot
    ///   and follows `MOVED` redirections. It is opened on first use and fails within
    ///   [`BusOptions::operation_timeout`] while the cluster is unreachable.
    ///   [`publish_batch`](BusDriver::publish_batch) sends one `SPUBLISH` at a time, in order.
    /// - [`subscribe`](BusDriver::subscribe) asks a node for the slot map (`CLUSTER SLOTS`),
    ///   opens one dedicated connection per master owning one of the channels and sends
    ///   `SSUBSCRIBE` there. When one of them breaks, when a master refuses the subscription
    ///   (`MOVED`, `CLUSTERDOWN`) or when the cluster moves one of the channels' slots
    ///   elsewhere (the master then ends the subscription with `SUNSUBSCRIBE`), the task
    ///   reports [`BusEvent::Disconnected`], learns the slot map again and resubscribes with the
    ///   backoff of [`BusOptions::retry_delay`], then reports [`BusEvent::Subscribed`].
    ///
    /// Sharded messages only reach subscribers of the same cluster that used `SSUBSCRIBE`: a
    /// cluster bus does not talk to a plain [`RedisBus::new`] one, nor to `SUBSCRIBE` clients.
    /// Subscriptions use RESP3, as sharded pub/sub on a shared connection needs it. As on one
    /// server, [`BusOptions::queue_capacity`] bounds what waits for the manager, not what the
    /// client library has already read from the masters.
    ///
    /// ```no_run
    /// use bytes::Bytes;
    /// use socketio::manager::{BusDriver, BusEvent, RedisBus};
    ///
    /// # async fn run() -> Result<(), socketio::manager::BusError> {
    /// let bus = RedisBus::cluster(&["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])?;
    /// let mut events = bus.subscribe(vec!["socketio#/".to_owned()]).await?;
    /// assert_eq!(events.recv().await, Some(BusEvent::Subscribed));
    /// bus.publish("socketio#/", Bytes::from_static(b"hello")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn cluster(urls: &[&str]) -> Result<RedisBus, BusError> {
        RedisBus::cluster_with_options(urls, BusOptions::default())
    }

    /// A driver for the Redis Cluster reached through any of `urls`, with `options`; see
    /// [`RedisBus::cluster`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio::manager::{BusError, BusOptions, RedisBus};
    ///
    /// let options = BusOptions {
    ///     operation_timeout: Duration::from_millis(500),
    ///     ..BusOptions::default()
    /// };
    /// let bus = RedisBus::cluster_with_options(
    ///     &["rediss://:secret@redis-0.example:6379", "rediss://:secret@redis-1.example:6379"],
    ///     options,
    /// )?;
    /// let err = RedisBus::cluster_with_options(&[], BusOptions::default()).unwrap_err();
    /// assert!(matches!(err, BusError::InvalidUrl(_)));
    /// # Ok::<(), BusError>(())
    /// ```
    pub fn cluster_with_options(urls: &[&str], options: BusOptions) -> Result<RedisBus, BusError> {
        Ok(RedisBus {
            backend: Backend::Cluster(cluster::ClusterBus::new(urls, options)?),
        })
    }
}

impl Standalone {
    fn connection_config(&self) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.operation_timeout))
            .set_response_timeout(Some(self.options.operation_timeout))
    }

    /// The shared publishing connection, opened when there is none; `fresh` when just opened.
    async fn publishing_connection(&self) -> Result<Lease<MultiplexedConnection>, BusError> {
        if let Some(lease) = self.publisher.current() {
            return Ok(lease);
        }
        // One caller connects, the others wait for its connection instead of opening their own.
        let _connecting = self.publisher.connecting.lock().await;
        if let Some(lease) = self.publisher.current() {
            return Ok(lease);
        }
        let config = self.connection_config();
        let conn = guard_panic(
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|err| bus_error(&err, self.options.operation_timeout))?;
        Ok(self.publisher.store(conn))
    }

    /// Sends `publication` on the shared connection; a connection that failed for another
    /// reason than an answer of Redis is forgotten, so the next call opens a new one.
    async fn send_on(
        &self,
        lease: &mut Lease<MultiplexedConnection>,
        publication: &Publication,
    ) -> Result<(), RedisError> {
        let result = publication.send(&mut lease.conn).await;
        if let Err(err) = &result
            && !is_server_reply(err)
        {
            self.publisher.forget(lease.generation);
        }
        result
    }

    async fn send_within_deadline(
        &self,
        publication: &Publication,
        in_use: &mut Option<u64>,
    ) -> Result<(), BusError> {
        let timeout = self.options.operation_timeout;
        let mut lease = self.publishing_connection().await?;
        *in_use = Some(lease.generation);
        match self.send_on(&mut lease, publication).await {
            Ok(()) => Ok(()),
            // A kept connection can have died while idle (Redis restarted): one more try on a
            // new one, so the first publish after an outage goes through.
            Err(err) if !lease.fresh && err.is_connection_dropped() => {
                tracing::debug!(error = %err, "redis publishing connection lost; reconnecting");
                let mut lease = self.publishing_connection().await?;
                *in_use = Some(lease.generation);
                self.send_on(&mut lease, publication)
                    .await
                    .map_err(|err| bus_error(&err, timeout))
            }
            Err(err) => Err(bus_error(&err, timeout)),
        }
    }

    /// Sends `publication`, connecting first when needed, all within the operation timeout.
    async fn send(&self, publication: Publication) -> Result<(), BusError> {
        let timeout = self.options.operation_timeout;
        let mut in_use = None;
        let attempt = self.send_within_deadline(&publication, &mut in_use);
        match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result,
            Err(_) => {
                // A connection that does not answer in time is not trusted again.
                if let Some(generation) = in_use {
                    self.publisher.forget(generation);
                }
                Err(BusError::Timeout(timeout))
            }
        }
    }

    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BusError> {
        self.send(Publication::of(&[(channel, payload)])).await
    }

    /// The whole batch as one pipeline: one round trip, in order.
    async fn publish_batch(&self, batch: &[(&str, Bytes)]) -> Result<(), BusError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.send(Publication::of(batch)).await
    }

    async fn subscribe(&self, channels: Vec<String>) -> Result<mpsc::Receiver<BusEvent>, BusError> {
        let subscription = Subscription {
            client: self.client.clone(),
            channels,
            options: self.options.clone(),
        };
        let pubsub = subscription.open().await?;
        let (events, receiver) = mpsc::channel(self.options.queue_capacity.max(1));
        // The queue is new and has room for one event.
        let _ = events.try_send(BusEvent::Subscribed);
        tracing::debug!(channels = ?subscription.channels, "redis subscription started");
        tokio::spawn(subscription.run(pubsub, events));
        Ok(receiver)
    }
}

/// What one publishing call sends: one `PUBLISH`, or a pipeline of them, written together and
/// answered in one round trip, executed by Redis in order.
enum Publication {
    One(redis::Cmd),
    Pipeline(redis::Pipeline),
}

impl Publication {
    /// `batch` must not be empty (a pipeline of nothing has no answer to wait for).
    fn of(batch: &[(&str, Bytes)]) -> Publication {
        match batch {
            [(channel, payload)] => {
                let mut cmd = redis::cmd("PUBLISH");
                cmd.arg(*channel).arg(&payload[..]);
                Publication::One(cmd)
            }
            _ => {
                let mut pipe = redis::Pipeline::with_capacity(batch.len());
                for (channel, payload) in batch {
                    pipe.cmd("PUBLISH").arg(*channel).arg(&payload[..]);
                }
                Publication::Pipeline(pipe)
            }
        }
    }

    /// An error answer to any command of a pipeline fails the whole call.
    async fn send(&self, conn: &mut MultiplexedConnection) -> Result<(), RedisError> {
        match self {
            Publication::One(cmd) => cmd.query_async::<i64>(conn).await.map(drop),
            Publication::Pipeline(pipe) => pipe.query_async::<Vec<i64>>(conn).await.map(drop),
        }
    }
}

impl BusDriver for RedisBus {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payload: Bytes,
    ) -> BusFuture<'a, Result<(), BusError>> {
        match &self.backend {
            Backend::Standalone(bus) => Box::pin(bus.publish(channel, payload)),
            Backend::Cluster(bus) => Box::pin(bus.publish(channel, payload)),
        }
    }

    fn publish_batch<'a>(
        &'a self,
        batch: &'a [(&'a str, Bytes)],
    ) -> BusFuture<'a, Result<(), BusError>> {
        match &self.backend {
            Backend::Standalone(bus) => Box::pin(bus.publish_batch(batch)),
            Backend::Cluster(bus) => Box::pin(bus.publish_batch(batch)),
        }
    }

    fn subscribe(
        &self,
        channels: Vec<String>,
    ) -> BusFuture<'_, Result<mpsc::Receiver<BusEvent>, BusError>> {
        Box::pin(async move {
            if channels.is_empty() {
                return Err(BusError::Protocol(
                    "subscribe needs at least one channel".to_owned(),
                ));
            }
            match &self.backend {
                Backend::Standalone(bus) => bus.subscribe(channels).await,
                Backend::Cluster(bus) => bus.subscribe(channels).await,
            }
        })
    }
}

/// The slot of the shared publishing connection (a plain or a cluster connection).
struct Publisher<C> {
    /// Never held across an await.
    slot: Mutex<Slot<C>>,
    /// Held while opening a connection.
    connecting: tokio::sync::Mutex<()>,
}

impl<C> Default for Publisher<C> {
    fn default() -> Self {
        Publisher {
            slot: Mutex::new(Slot {
                conn: None,
                generation: 0,
            }),
            connecting: tokio::sync::Mutex::new(()),
        }
    }
}

struct Slot<C> {
    conn: Option<C>,
    /// Counts the connections opened, so a caller only forgets the one it saw fail.
    generation: u64,
}

/// A clone of the shared connection, with where it came from.
struct Lease<C> {
    conn: C,
    generation: u64,
    fresh: bool,
}

impl<C: Clone> Publisher<C> {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot<C>> {
        // The slot is consistent at every point a panic could occur.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn current(&self) -> Option<Lease<C>> {
        let slot = self.slot();
        slot.conn.clone().map(|conn| Lease {
            conn,
            generation: slot.generation,
            fresh: false,
        })
    }

    fn store(&self, conn: C) -> Lease<C> {
        let mut slot = self.slot();
        slot.generation += 1;
        slot.conn = Some(conn.clone());
        Lease {
            conn,
            generation: slot.generation,
            fresh: true,
        }
    }

    fn forget(&self, generation: u64) {
        let mut slot = self.slot();
        if slot.generation == generation {
            slot.conn = None;
        }
    }
}

/// What a subscription task needs to (re)subscribe.
struct Subscription {
    client: Client,
    channels: Vec<String>,
    options: BusOptions,
}

/// Why a subscription stopped reading.
enum Stopped {
    /// The receiver was dropped: the task ends.
    ReceiverGone,
    /// The connection broke: the task reconnects.
    Lost(BusError),
}

impl Subscription {
    /// Connects and subscribes to every channel, within the operation timeout.
    async fn open(&self) -> Result<PubSub, BusError> {
        let timeout = self.options.operation_timeout;
        let attempt = async {
            let mut pubsub = guard_panic(self.client.get_async_pubsub()).await?;
            pubsub.subscribe(&self.channels).await?;
            Ok::<_, RedisError>(pubsub)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result.map_err(|err| bus_error(&err, timeout)),
            Err(_) => Err(BusError::Timeout(timeout)),
        }
    }

    async fn run(mut self, mut pubsub: PubSub, events: mpsc::Sender<BusEvent>) {
        loop {
            let err = match self.read(pubsub, &events).await {
                Stopped::ReceiverGone => break,
                Stopped::Lost(err) => err,
            };
            tracing::warn!(channels = ?self.channels, error = %err, "redis subscription lost; reconnecting");
            if events.send(BusEvent::Disconnected(err)).await.is_err() {
                break;
            }
            let options = self.options.clone();
            let Some(reopened) =
                reopen_with_backoff(&mut self, &options, &events, |s| Box::pin(s.open())).await
            else {
                break;
            };
            pubsub = reopened;
            tracing::info!(channels = ?self.channels, "redis subscription restored");
            if events.send(BusEvent::Subscribed).await.is_err() {
                break;
            }
        }
        tracing::debug!(channels = ?self.channels, "redis subscription ended");
    }

    /// Forwards messages until the connection breaks or the receiver is dropped.
    async fn read(&self, pubsub: PubSub, events: &mpsc::Sender<BusEvent>) -> Stopped {
        let timeout = self.options.operation_timeout;
        let (mut sink, mut messages) = pubsub.split();
        let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = messages.next() => {
                    let Some(message) = message else {
                        return Stopped::Lost(BusError::Unavailable("connection closed".to_owned()));
                    };
                    ping.reset();
                    let payload = message.get_payload_bytes();
                    if payload.len() > self.options.max_message_size {
                        tracing::warn!(
                            channel = message.get_channel_name(),
                            size = payload.len(),
                            max = self.options.max_message_size,
                            "dropping a redis message larger than max_message_size"
                        );
                        continue;
                    }
                    let event = BusEvent::Message {
                        channel: message.get_channel_name().to_owned(),
                        payload: Bytes::copy_from_slice(payload),
                    };
                    if events.send(event).await.is_err() {
                        return Stopped::ReceiverGone;
                    }
                }
                _ = ping.tick() => {
                    match tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(err)) => return Stopped::Lost(bus_error(&err, timeout)),
                        Err(_) => return Stopped::Lost(BusError::Timeout(timeout)),
                    }
                }
                () = events.closed() => return Stopped::ReceiverGone,
            }
        }
    }
}

/// An error Redis itself answered with, as opposed to a connection problem.
fn is_server_reply(err: &RedisError) -> bool {
    matches!(
        err.kind(),
        ErrorKind::Server(_) | ErrorKind::AuthenticationFailed | ErrorKind::Extension
    )
}

fn bus_error(err: &RedisError, timeout: Duration) -> BusError {
    if err.is_timeout() {
        BusError::Timeout(timeout)
    } else if is_server_reply(err) {
        BusError::Protocol(err.to_string())
    } else {
        BusError::Unavailable(err.to_string())
    }
}

/// Runs a connection attempt, turning a panic into an error: rustls panics when TLS is used
/// without a crypto provider, and that must fail the attempt, not the caller.
async fn guard_panic<T>(
    attempt: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, RedisError> {
    match AssertUnwindSafe(attempt).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(RedisError::from((
            ErrorKind::Client,
            "connecting panicked",
            panic_message(panic.as_ref()),
        ))),
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// Redis' TLS uses rustls' process-wide crypto provider; `ring` is installed here when the
/// application chose none.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one in between, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
