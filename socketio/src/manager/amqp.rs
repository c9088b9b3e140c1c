//! The AMQP (RabbitMQ) bus driver, wire compatible with python-socketio's `KombuManager` and
//! `AsyncAioPikaManager`: a channel is a fanout exchange of that name (not durable, not
//! auto-deleted), every subscribing node reads through a queue of its own bound to it, and a
//! message body is the payload as is.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::tcp::{AMQPUriTcpExt, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::uri::AMQPUri;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Consumer, ErrorKind,
    ExchangeKind,
};
use tokio::sync::mpsc;

use super::bus::{BusDriver, BusError, BusEvent, BusFuture, BusOptions};

/// How long a subscriber's queue outlives its node, as python-socketio declares it (5 min).
const QUEUE_EXPIRES_MS: i32 = 300_000;

/// A message bus on RabbitMQ (or any AMQP 0-9-1 broker), for nodes of this crate and of
/// python-socketio (`KombuManager`, `AsyncAioPikaManager`) alike.
///
/// A channel is a fanout exchange of the same name, declared not durable and not
/// auto-deleted. Each subscription declares its own exclusive queue, named by the broker and
/// expiring 5 minutes after its node is gone, and binds it to every channel's exchange. A
/// message is published with publisher confirms, so a successful
/// [`publish`](BusDriver::publish) means the broker took it.
/// [`publish_batch`](BusDriver::publish_batch) sends a whole batch before awaiting the
/// broker's confirms together, so it costs about one round trip rather than one per message;
/// it succeeds only if the broker took every message.
///
/// Nothing connects before the first [`publish`](BusDriver::publish) or
/// [`subscribe`](BusDriver::subscribe): the publisher keeps one connection, opened on first
/// use and opened again on the first call after it broke (for 100 ms after a failed attempt,
/// publishes fail at once rather than each trying again); every subscription has a
/// connection of its own and reconnects by itself.
///
/// TLS (`amqps://`) goes through rustls with the webpki root certificates, as the Redis driver.
///
/// ```no_run
/// use bytes::Bytes;
/// use socketio::manager::{AmqpBus, BusDriver, BusEvent};
///
/// # async fn run() -> Result<(), socketio::manager::BusError> {
/// let bus = AmqpBus::new("amqp://guest:guest@127.0.0.1:5672/%2f")?;
/// let mut events = bus.subscribe(vec!["socketio".to_owned()]).await?;
/// bus.publish("socketio", Bytes::from_static(b"hello")).await?;
/// while let Some(event) = events.recv().await {
///     if let BusEvent::Message { channel, payload } = event {
///         println!("{channel}: {} bytes", payload.len());
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct AmqpBus {
    uri: AMQPUri,
    options: BusOptions,
    publisher: Mutex<PublisherState>,
    /// Held while the publisher connects, so concurrent publishes share one attempt.
    connecting: tokio::sync::Mutex<()>,
}

impl AmqpBus {
    /// A driver for the broker at `url`, with [`BusOptions::default`]. Does not connect.
    ///
    /// `url` is `amqp://user:password@host:port/vhost` or `amqps://…` (TLS); the virtual host
    /// is percent-encoded (`%2f` for `/`). As with kombu, an empty virtual host
    /// (`amqp://host:5672/` or `amqp://host:5672//`) means `/`. The AMQP URI query parameters
    /// `heartbeat`, `frame_max`, `channel_max` and `auth_mechanism` are honoured.
    ///
    /// # Errors
    ///
    /// [`BusError::InvalidUrl`] when `url` is not an AMQP URL.
    ///
    /// ```
    /// use socketio::manager::{AmqpBus, BusError};
    ///
    /// let bus = AmqpBus::new("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap();
    /// # drop(bus);
    /// assert!(matches!(AmqpBus::new("http://127.0.0.1"), Err(BusError::InvalidUrl(_))));
    /// ```
    pub fn new(url: &str) -> Result<AmqpBus, BusError> {
        AmqpBus::with_options(url, BusOptions::default())
    }

    /// Like [`new`](Self::new), with your own timeouts, retry delay and limits.
    ///
    /// # Errors
    ///
    /// [`BusError::InvalidUrl`] when `url` is not an AMQP URL.
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio::manager::{AmqpBus, BusOptions};
    ///
    /// let options = BusOptions {
    ///     operation_timeout: Duration::from_millis(500),
    ///     ..BusOptions::default()
    /// };
    /// let bus = AmqpBus::with_options("amqps://user:secret@rabbit.example/prod", options);
    /// assert!(bus.is_ok());
    /// ```
    pub fn with_options(url: &str, options: BusOptions) -> Result<AmqpBus, BusError> {
        Ok(AmqpBus {
            uri: parse_url(url)?,
            options,
            publisher: Mutex::new(PublisherState::default()),
            connecting: tokio::sync::Mutex::new(()),
        })
    }

    /// The publisher's AMQP channel if its connection is up: its generation, the AMQP channel,
    /// and which of `channels` (bus channels) still need their exchange declared on it.
    fn live_publisher<'c>(&self, channels: &[&'c str]) -> Option<(u64, Channel, Vec<&'c str>)> {
        let state = lock(&self.publisher);
        let link = state.link.as_ref()?;
        let up = link.connection.status().connected() && link.channel.status().connected();
        up.then(|| {
            let undeclared = channels
                .iter()
                .copied()
                .filter(|channel| !link.exchanges.contains(*channel))
                .collect();
            (link.generation, link.channel.clone(), undeclared)
        })
    }

    /// The publisher's AMQP channel, connecting if needed; as
    /// [`live_publisher`](Self::live_publisher).
    async fn publisher<'c>(
        &self,
        channels: &[&'c str],
    ) -> Result<(u64, Channel, Vec<&'c str>), BusError> {
        if let Some(live) = self.live_publisher(channels) {
            return Ok(live);
        }
        let _gate = self.connecting.lock().await;
        if let Some(live) = self.live_publisher(channels) {
            return Ok(live);
        }
        if let Some((at, err)) = &lock(&self.publisher).failure {
            // Under a flood of publishes a dead broker would cost one connection attempt
            // (and one lapin IO thread) per call.
            if at.elapsed() < self.options.retry_delay(0) {
                return Err(err.clone());
            }
        }
        let opened = open_publisher(&self.uri, self.options.operation_timeout).await;
        // The dead connection this replaces, if any, is closed once the lock is released.
        let _stale;
        let mut state = lock(&self.publisher);
        _stale = state.link.take();
        match opened {
            Ok((connection, channel)) => {
                state.generation += 1;
                let generation = state.generation;
                state.link = Some(PublisherLink {
                    generation,
                    connection,
                    channel: channel.clone(),
                    exchanges: HashSet::new(),
                });
                state.failure = None;
                Ok((generation, channel, channels.to_vec()))
            }
            Err(err) => {
                state.failure = Some((Instant::now(), err.clone()));
                Err(err)
            }
        }
    }

    /// Publishes `batch` in order, [`publish`](BusDriver::publish) being a batch of one: every
    /// message is sent without waiting for the confirm of the one before, then the confirms
    /// are awaited together (the broker confirms one AMQP channel's messages in order).
    async fn publish_now(&self, batch: &[(&str, Bytes)]) -> Result<(), BusError> {
        // Every exchange name is checked before anything is sent. `exchanges` holds each
        // distinct channel once, in order of first use; `targets[i]` indexes message i's.
        let mut exchanges: Vec<(&str, ShortString)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut targets = Vec::with_capacity(batch.len());
        for &(channel, _) in batch {
            let at = match index.get(channel) {
                Some(&at) => at,
                None => {
                    exchanges.push((channel, exchange_name(channel)?));
                    index.insert(channel, exchanges.len() - 1);
                    exchanges.len() - 1
                }
            };
            targets.push(at);
        }
        if batch.is_empty() {
            return Ok(());
        }
        let channels: Vec<&str> = exchanges.iter().map(|&(channel, _)| channel).collect();
        let timeout = self.options.operation_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let (generation, amqp, undeclared) =
            tokio::time::timeout_at(deadline, self.publisher(&channels))
                .await
                .map_err(|_| BusError::Timeout(timeout))??;
        let sent = tokio::time::timeout_at(deadline, async {
            for channel in undeclared {
                declare_exchange(&amqp, exchanges[index[channel]].1.clone()).await?;
                let mut state = lock(&self.publisher);
                if let Some(link) = state.link.as_mut().filter(|l| l.generation == generation) {
                    link.exchanges.insert(channel.to_owned());
                }
            }
            // `basic_publish` returns once lapin has written the frames; the confirms come
            // later, all in flight at once.
            let mut confirms = Vec::with_capacity(batch.len());
            for ((_, payload), &at) in batch.iter().zip(&targets) {
                // The routing key is ignored by a fanout exchange; python-socketio sends "*".
                let confirm = amqp
                    .basic_publish(
                        exchanges[at].1.clone(),
                        "*".into(),
                        BasicPublishOptions::default(),
                        payload,
                        BasicProperties::default(),
                    )
                    .await
                    .map_err(bus_error)?;
                confirms.push(confirm);
            }
            for confirm in confirms {
                match confirm.await.map_err(bus_error)? {
                    Confirmation::Nack(_) => {
                        return Err(BusError::Protocol(
                            "the broker refused a message (nack)".to_owned(),
                        ));
                    }
                    Confirmation::Ack(_) | Confirmation::NotRequested => {}
                }
            }
            Ok(())
        })
        .await
        .unwrap_or(Err(BusError::Timeout(timeout)));
        if sent.is_err() {
            // Whatever broke (a dead socket, a channel closed by a refused declare, a nack),
            // the next call starts from a fresh connection; confirms still pending go with it.
            let mut state = lock(&self.publisher);
            let broken = match &state.link {
                Some(link) if link.generation == generation => state.link.take(),
                _ => None,
            };
            drop(state);
            // Dropping the connection asks lapin to close it; not under the lock.
            drop(broken);
        }
        sent
    }

    async fn subscribe_now(
        &self,
        channels: Vec<String>,
    ) -> Result<mpsc::Receiver<BusEvent>, BusError> {
        let mut exchanges = Vec::with_capacity(channels.len());
        let mut seen = HashSet::new();
        for channel in &channels {
            if seen.insert(channel.as_str()) {
                exchanges.push(exchange_name(channel)?);
            }
        }
        let options = self.options.clone();
        let subscription = open_subscription(&self.uri, &exchanges, &options).await?;
        let (events, receiver) = mpsc::channel(options.queue_capacity.max(1));
        events
            .send(BusEvent::Subscribed)
            .await
            .map_err(|_| BusError::Unavailable("subscription receiver dropped".to_owned()))?;
        let uri = self.uri.clone();
        tokio::spawn(run_subscription(
            subscription,
            events,
            uri,
            exchanges,
            options,
        ));
        Ok(receiver)
    }
}

impl BusDriver for AmqpBus {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payload: Bytes,
    ) -> BusFuture<'a, Result<(), BusError>> {
        Box::pin(async move { self.publish_now(&[(channel, payload)]).await })
    }

    fn publish_batch<'a>(
        &'a self,
        batch: &'a [(&'a str, Bytes)],
    ) -> BusFuture<'a, Result<(), BusError>> {
        Box::pin(self.publish_now(batch))
    }

    fn subscribe(
        &self,
        channels: Vec<String>,
    ) -> BusFuture<'_, Result<mpsc::Receiver<BusEvent>, BusError>> {
        Box::pin(self.subscribe_now(channels))
    }
}

impl fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        f.debug_struct("AmqpBus")
            .field("scheme", &self.uri.scheme.to_string())
            .field("host", &self.uri.authority.host)
            .field("port", &self.uri.authority.port)
            .field("vhost", &self.uri.vhost)
            .field("user", &self.uri.authority.userinfo.username)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct PublisherState {
    link: Option<PublisherLink>,
    /// Counts connections, so a failed publish closes its own and not a newer one.
    generation: u64,
    failure: Option<(Instant, BusError)>,
}

struct PublisherLink {
    generation: u64,
    connection: Connection,
    channel: Channel,
    /// Channels whose exchange this connection declared.
    exchanges: HashSet<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Parses an AMQP URL, with two repairs over `AMQPUri`'s parser: an IPv6 host literal is kept
/// (not replaced by `localhost`), and an empty virtual host means `/` as with kombu.
fn parse_url(url: &str) -> Result<AMQPUri, BusError> {
    let mut uri: AMQPUri = url.parse().map_err(|err: String| {
        // The parser may quote the URL, password included.
        BusError::InvalidUrl(err.replace(url, "<url>"))
    })?;
    if let Some(host) = ipv6_host(url) {
        uri.authority.host = host.to_owned();
    }
    if uri.vhost.is_empty() {
        uri.vhost = "/".to_owned();
    }
    Ok(uri)
}

/// The IPv6 literal of `url`'s authority (`amqp://user:pw@[::1]:5672/` → `::1`), if any.
fn ipv6_host(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    host.strip_prefix('[')?.split_once(']').map(|(ip, _)| ip)
}

fn exchange_name(channel: &str) -> Result<ShortString, BusError> {
    ShortString::try_new(channel).map_err(|_| {
        BusError::Protocol(format!(
            "channel name of {} bytes: AMQP exchange names have at most 255",
            channel.len()
        ))
    })
}

fn bus_error(err: lapin::Error) -> BusError {
    match err.kind() {
        ErrorKind::ProtocolError(_) => BusError::Protocol(err.to_string()),
        _ => BusError::Unavailable(err.to_string()),
    }
}

/// Connects within `timeout`. The TCP connect runs on lapin's IO thread; it gets the same
/// bound so an unreachable broker does not leave threads behind for minutes.
async fn connect(uri: &AMQPUri, name: &str, timeout: Duration) -> Result<Connection, BusError> {
    let runtime = lapin::runtime::default_runtime().map_err(bus_error)?;
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let connecting = Connection::connector(
        uri.clone(),
        runtime,
        async move |uri, runtime| {
            let tls = OwnedTLSConfig::default();
            match tokio::time::timeout(
                timeout,
                uri.connect_with_config_async(tls.as_ref(), &runtime),
            )
            .await
            {
                Ok(stream) => Ok(stream?),
                Err(_) => {
                    Err(io::Error::new(io::ErrorKind::TimedOut, "TCP connect timed out").into())
                }
            }
        },
        properties,
    );
    match tokio::time::timeout(timeout, connecting).await {
        Ok(connection) => connection.map_err(bus_error),
        Err(_) => Err(BusError::Timeout(timeout)),
    }
}

async fn declare_exchange(channel: &Channel, exchange: ShortString) -> Result<(), BusError> {
    // The exact flags python-socketio uses: a flag that differs makes the broker refuse
    // the declaration of an existing exchange.
    let options = ExchangeDeclareOptions {
        durable: false,
        auto_delete: false,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            exchange,
            ExchangeKind::Fanout,
            options,
            FieldTable::default(),
        )
        .await
        .map_err(bus_error)
}

async fn open_publisher(
    uri: &AMQPUri,
    timeout: Duration,
) -> Result<(Connection, Channel), BusError> {
    let connection = connect(uri, "socketio-rs publisher", timeout).await?;
    let channel = connection.create_channel().await.map_err(bus_error)?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(bus_error)?;
    Ok((connection, channel))
}

/// One connection of a subscription, consuming from its queue.
struct Subscription {
    connection: Connection,
    consumer: Consumer,
}

impl Subscription {
    async fn close(self, timeout: Duration) {
        let closing = self.connection.close(200, "OK".into());
        // A broken connection fails or times out here; dropping it closes what is left.
        let _ = tokio::time::timeout(timeout, closing).await;
    }
}

async fn open_subscription(
    uri: &AMQPUri,
    exchanges: &[ShortString],
    options: &BusOptions,
) -> Result<Subscription, BusError> {
    let timeout = options.operation_timeout;
    let opening = async {
        let connection = connect(uri, "socketio-rs subscriber", timeout).await?;
        let channel = connection.create_channel().await.map_err(bus_error)?;
        // Unacknowledged deliveries are all the broker sends ahead: with acks sent once a
        // message is queued for the manager, memory stays bounded when the manager is slow.
        let prefetch = u16::try_from(options.queue_capacity.max(1)).unwrap_or(u16::MAX);
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(bus_error)?;
        for exchange in exchanges {
            declare_exchange(&channel, exchange.clone()).await?;
        }
        let mut arguments = FieldTable::default();
        arguments.insert("x-expires".into(), AMQPValue::LongInt(QUEUE_EXPIRES_MS));
        let queue_options = QueueDeclareOptions {
            durable: false,
            exclusive: true,
            ..QueueDeclareOptions::default()
        };
        // An empty name lets the broker choose one (`amq.gen-…`), unique per connection, so
        // a reconnection never collides with the queue of a connection not yet reaped.
        let queue = channel
            .queue_declare("".into(), queue_options, arguments)
            .await
            .map_err(bus_error)?;
        for exchange in exchanges {
            channel
                .queue_bind(
                    queue.name().clone(),
                    exchange.clone(),
                    "".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(bus_error)?;
        }
        let consume_options = BasicConsumeOptions {
            exclusive: true,
            ..BasicConsumeOptions::default()
        };
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "".into(),
                consume_options,
                FieldTable::default(),
            )
            .await
            .map_err(bus_error)?;
        Ok(Subscription {
            connection,
            consumer,
        })
    };
    tokio::time::timeout(timeout, opening)
        .await
        .unwrap_or(Err(BusError::Timeout(timeout)))
}

/// Forwards deliveries until the connection breaks (returns why) or the receiver is gone
/// (returns `None`).
async fn forward(
    consumer: &mut Consumer,
    events: &mpsc::Sender<BusEvent>,
    max_message_size: usize,
) -> Option<BusError> {
    loop {
        let delivery = match consumer.next().await {
            Some(Ok(delivery)) => delivery,
            Some(Err(err)) => return Some(bus_error(err)),
            None => {
                return Some(BusError::Unavailable(
                    "the broker cancelled the subscription".to_owned(),
                ));
            }
        };
        let size = delivery.data.len();
        if size > max_message_size {
            tracing::warn!(
                exchange = %delivery.exchange,
                size,
                max_message_size,
                "dropping an AMQP message larger than max_message_size"
            );
        } else {
            let event = BusEvent::Message {
                channel: delivery.exchange.to_string(),
                payload: Bytes::from(delivery.data),
            };
            events.send(event).await.ok()?;
        }
        if let Err(err) = delivery.acker.ack(BasicAckOptions::default()).await {
            return Some(bus_error(err));
        }
    }
}

async fn run_subscription(
    mut subscription: Subscription,
    events: mpsc::Sender<BusEvent>,
    uri: AMQPUri,
    exchanges: Vec<ShortString>,
    options: BusOptions,
) {
    loop {
        let lost = tokio::select! {
            () = events.closed() => None,
            lost = forward(&mut subscription.consumer, &events, options.max_message_size) => lost,
        };
        let Some(err) = lost else {
            subscription.close(options.operation_timeout).await;
            return;
        };
        drop(subscription);
        tracing::warn!(%err, "AMQP subscription lost; reconnecting");
        if events.send(BusEvent::Disconnected(err)).await.is_err() {
            return;
        }
        let mut attempt = 0u32;
        subscription = loop {
            tokio::select! {
                () = events.closed() => return,
                () = tokio::time::sleep(options.retry_delay(attempt)) => {}
            }
            let opened = tokio::select! {
                () = events.closed() => return,
                opened = open_subscription(&uri, &exchanges, &options) => opened,
            };
            match opened {
                Ok(subscription) => break subscription,
                Err(err) => {
                    tracing::debug!(%err, attempt, "AMQP subscription: reconnection failed");
                    attempt = attempt.saturating_add(1);
                }
            }
        };
        tracing::info!("AMQP subscription back");
        if events.send(BusEvent::Subscribed).await.is_err() {
            subscription.close(options.operation_timeout).await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let table: &[(&str, &str, u16, &str)] = &[
            (
                "amqp://guest:guest@127.0.0.1:5672/%2f",
                "127.0.0.1",
                5672,
                "/",
            ),
            (
                "amqp://guest:guest@localhost:5672//",
                "localhost",
                5672,
                "/",
            ),
            ("amqp://rabbit.example:5673/", "rabbit.example", 5673, "/"),
            ("amqp://rabbit.example", "rabbit.example", 5672, "/"),
            (
                "amqp://u:p@rabbit.example/prod",
                "rabbit.example",
                5672,
                "prod",
            ),
            ("amqps://u:p@rabbit.example/", "rabbit.example", 5671, "/"),
            ("amqp://u:p@[::1]:5673/%2f", "::1", 5673, "/"),
            ("amqp://[fd00::5]", "fd00::5", 5672, "/"),
        ];
        for &(url, host, port, vhost) in table {
            let uri = parse_url(url).unwrap_or_else(|err| panic!("{url}: {err}"));
            assert_eq!(uri.authority.host, host, "{url}");
            assert_eq!(uri.authority.port, port, "{url}");
            assert_eq!(uri.vhost, vhost, "{url}");
        }
    }

    #[test]
    fn bad_urls() {
        for url in [
            "",
            "rabbit.example:5672",
            "http://rabbit.example",
            "redis://127.0.0.1:6379",
            "amqp://host:notaport/",
            "amqp:secret-password@host",
        ] {
            match parse_url(url) {
                Err(BusError::InvalidUrl(msg)) => {
                    assert!(!msg.contains("secret-password"), "{url}: {msg}")
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let bus = AmqpBus::new("amqp://user:hunter2@rabbit.example/").unwrap();
        let debug = format!("{bus:?}");
        assert!(debug.contains("rabbit.example"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn long_channel_names_are_refused() {
        assert!(exchange_name(&"x".repeat(255)).is_ok());
        assert!(matches!(
            exchange_name(&"x".repeat(256)),
            Err(BusError::Protocol(_))
        ));
    }
}
