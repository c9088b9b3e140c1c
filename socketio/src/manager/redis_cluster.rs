//! Redis Cluster for [`RedisBus`](super::RedisBus): sharded pub/sub (`SPUBLISH`, `SSUBSCRIBE`,
//! Redis 7 or later).
//!
//! Publishing goes through the `redis` crate's cluster connection, which routes `SPUBLISH` by
//! the channel's hash slot and follows redirections. Subscribing is done here, on plain
//! connections: the slot map is asked from any node (`CLUSTER SLOTS`), every master owning one
//! of the channels gets a dedicated RESP3 connection with its channels' `SSUBSCRIBE`, and any
//! break, refusal or slot move tears the whole subscription down and builds it again from a
//! fresh slot map, with the same backoff and events as a plain Redis subscription.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::future::{select_ok, try_join_all};
use redis::aio::MultiplexedConnection;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo,
    ProtocolVersion, PushInfo, PushKind, RedisError, Value,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::{
    BusError, BusEvent, BusOptions, Lease, PING_INTERVAL, Publisher, Stopped, bus_error,
    ensure_crypto_provider, guard_panic, is_server_reply, reopen_with_backoff,
};

/// How many hash slots a Redis Cluster has.
const SLOT_COUNT: u16 = 16384;

/// How many times the cluster connection retries a publish (after a `MOVED`, a reconnection)
/// within the operation timeout.
const PUBLISH_RETRIES: u32 = 3;

/// The cluster flavour of the Redis driver.
pub(super) struct ClusterBus {
    /// The nodes given by the application; the first one's credentials and TLS settings are
    /// used for every node.
    seeds: Vec<ConnectionInfo>,
    client: ClusterClient,
    options: BusOptions,
    publisher: Publisher<ClusterConnection>,
}

impl ClusterBus {
    pub(super) fn new(urls: &[&str], options: BusOptions) -> Result<ClusterBus, BusError> {
        if urls.is_empty() {
            return Err(BusError::InvalidUrl(
                "a Redis Cluster needs at least one node URL".to_owned(),
            ));
        }
        let seeds = urls
            .iter()
            .map(|url| {
                let info = (*url)
                    .into_connection_info()
                    .map_err(|err| BusError::InvalidUrl(err.to_string()))?;
                match info.addr() {
                    ConnectionAddr::Unix(_) => Err(BusError::InvalidUrl(
                        "a Redis Cluster node is reached over TCP, not a unix socket".to_owned(),
                    )),
                    _ => Ok(info),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if seeds
            .iter()
            .any(|seed| matches!(seed.addr(), ConnectionAddr::TcpTls { .. }))
        {
            ensure_crypto_provider();
        }
        let timeout = options.operation_timeout;
        let max_wait = u64::try_from((timeout / 4).as_millis())
            .unwrap_or(u64::MAX)
            .max(20);
        let client = ClusterClientBuilder::new(seeds.clone())
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .overall_response_timeout(Some(timeout))
            .retries(PUBLISH_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(max_wait)
            .build()
            .map_err(|err| BusError::InvalidUrl(err.to_string()))?;
        Ok(ClusterBus {
            seeds,
            client,
            options,
            publisher: Publisher::default(),
        })
    }

    /// The seeds' addresses, without credentials.
    pub(super) fn addrs(&self) -> Vec<String> {
        self.seeds
            .iter()
            .map(|seed| seed.addr().to_string())
            .collect()
    }

    pub(super) fn options(&self) -> &BusOptions {
        &self.options
    }

    pub(super) async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BusError> {
        let timeout = self.options.operation_timeout;
        let mut in_use = None;
        let attempt = self.publish_within_deadline(channel, &payload, &mut in_use);
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

    /// One `SPUBLISH` at a time, in order, each bounded by the operation timeout; stops at the
    /// first failure.
    ///
    /// Not a pipeline: the `redis` crate's cluster connection refuses a pipeline whose commands
    /// hash to different slots (`CROSSSLOT`), so there is no pipeline per node; and it resends
    /// a single-slot pipeline whole when any one of its answers is an error it retries
    /// (`MOVED`, `ASK`, `TRYAGAIN`…) or its connection breaks, which would publish again, and
    /// out of order, what Redis had already delivered (a slot handed over in mid-pipeline).
    pub(super) async fn publish_batch(&self, batch: &[(&str, Bytes)]) -> Result<(), BusError> {
        for (channel, payload) in batch {
            self.publish(channel, payload.clone()).await?;
        }
        Ok(())
    }

    async fn publish_within_deadline(
        &self,
        channel: &str,
        payload: &[u8],
        in_use: &mut Option<u64>,
    ) -> Result<(), BusError> {
        let timeout = self.options.operation_timeout;
        let mut lease = self.publishing_connection().await?;
        *in_use = Some(lease.generation);
        let result = redis::cmd("SPUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<i64>(&mut lease.conn)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                // The cluster connection repairs itself, but one that failed for another reason
                // than an answer of Redis is replaced, in case the whole cluster moved.
                if !is_server_reply(&err) {
                    self.publisher.forget(lease.generation);
                }
                Err(bus_error(&err, timeout))
            }
        }
    }

    /// The shared cluster connection, opened when there is none.
    async fn publishing_connection(&self) -> Result<Lease<ClusterConnection>, BusError> {
        if let Some(lease) = self.publisher.current() {
            return Ok(lease);
        }
        // One caller connects, the others wait for its connection instead of opening their own.
        let _connecting = self.publisher.connecting.lock().await;
        if let Some(lease) = self.publisher.current() {
            return Ok(lease);
        }
        let conn = guard_panic(self.client.get_async_connection())
            .await
            .map_err(|err| bus_error(&err, self.options.operation_timeout))?;
        Ok(self.publisher.store(conn))
    }

    pub(super) async fn subscribe(
        &self,
        channels: Vec<String>,
    ) -> Result<mpsc::Receiver<BusEvent>, BusError> {
        let mut channels = channels;
        channels.sort();
        channels.dedup();
        let mut subscription = ShardedSubscription {
            seeds: self.seeds.clone(),
            known: Vec::new(),
            channels,
            options: self.options.clone(),
        };
        let shards = subscription.open().await?;
        let (events, receiver) = mpsc::channel(self.options.queue_capacity.max(1));
        // The queue is new and has room for one event.
        let _ = events.try_send(BusEvent::Subscribed);
        tracing::debug!(channels = ?subscription.channels, masters = shards.nodes.len(), "redis cluster subscription started");
        tokio::spawn(subscription.run(shards, events));
        Ok(receiver)
    }
}

/// A range of hash slots and the master serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SlotRange {
    start: u16,
    end: u16,
    master: (String, u16),
}

/// What a sharded subscription task needs to (re)subscribe.
struct ShardedSubscription {
    seeds: Vec<ConnectionInfo>,
    /// The masters of the last slot map, asked too when the seeds do not answer.
    known: Vec<(String, u16)>,
    channels: Vec<String>,
    options: BusOptions,
}

/// The live connections of a subscription, one per master owning some of its channels.
struct Shards {
    nodes: Vec<Shard>,
    /// Every push of every connection, with the index of its connection in `nodes`.
    pushes: mpsc::UnboundedReceiver<(usize, PushInfo)>,
}

struct Shard {
    /// `host:port`, for the logs.
    addr: String,
    conn: MultiplexedConnection,
}

impl ShardedSubscription {
    /// Learns the slot map and subscribes to every channel on its master, within the operation
    /// timeout.
    async fn open(&mut self) -> Result<Shards, BusError> {
        let timeout = self.options.operation_timeout;
        match tokio::time::timeout(timeout, self.open_within_deadline()).await {
            Ok(result) => result,
            Err(_) => Err(BusError::Timeout(timeout)),
        }
    }

    async fn open_within_deadline(&mut self) -> Result<Shards, BusError> {
        let timeout = self.options.operation_timeout;
        let slots = self
            .slot_map()
            .await
            .map_err(|err| bus_error(&err, timeout))?;
        self.known = slots.iter().map(|range| range.master.clone()).collect();
        self.known.sort();
        self.known.dedup();

        let mut by_master: BTreeMap<(String, u16), Vec<String>> = BTreeMap::new();
        for channel in &self.channels {
            let slot = key_slot(channel.as_bytes());
            let range = slots
                .iter()
                .find(|range| range.start <= slot && slot <= range.end)
                .ok_or_else(|| {
                    BusError::Unavailable(format!(
                        "no master serves slot {slot} (channel {channel:?})"
                    ))
                })?;
            by_master
                .entry(range.master.clone())
                .or_default()
                .push(channel.clone());
        }

        let (pushes, receiver) = mpsc::unbounded_channel();
        let subscribing =
            by_master
                .into_iter()
                .enumerate()
                .map(|(index, ((host, port), channels))| {
                    let info = self.node_info(&host, port);
                    subscribe_on(info, channels, index, pushes.clone(), &self.options)
                });
        let nodes = try_join_all(subscribing)
            .await
            .map_err(|err| bus_error(&err, timeout))?;
        Ok(Shards {
            nodes,
            pushes: receiver,
        })
    }

    /// `CLUSTER SLOTS` from the first seed or known master that answers.
    async fn slot_map(&self) -> Result<Vec<SlotRange>, RedisError> {
        let mut candidates = self.seeds.clone();
        for (host, port) in &self.known {
            let info = self.node_info(host, *port);
            if !candidates.iter().any(|seed| seed.addr() == info.addr()) {
                candidates.push(info);
            }
        }
        let config = connection_config(&self.options);
        let asking = candidates.into_iter().map(|info| {
            let config = config.clone();
            Box::pin(async move {
                let host = match info.addr() {
                    ConnectionAddr::Tcp(host, _) | ConnectionAddr::TcpTls { host, .. } => {
                        host.clone()
                    }
                    _ => String::new(),
                };
                let client = Client::open(info)?;
                let mut conn =
                    guard_panic(client.get_multiplexed_async_connection_with_config(&config))
                        .await?;
                let reply = redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async::<Value>(&mut conn)
                    .await?;
                let slots = parse_slots(reply, &host);
                if slots.is_empty() {
                    return Err(RedisError::from((
                        ErrorKind::Client,
                        "the node knows no slot of the cluster",
                    )));
                }
                Ok(slots)
            })
        });
        // `seeds` is never empty, so neither are the candidates.
        select_ok(asking).await.map(|(slots, _others)| slots)
    }

    /// How to reach a node the slot map named: its address, with the credentials and TLS
    /// settings of the first seed.
    fn node_info(&self, host: &str, port: u16) -> ConnectionInfo {
        let template = &self.seeds[0];
        let addr = match template.addr() {
            ConnectionAddr::TcpTls {
                insecure,
                tls_params,
                ..
            } => ConnectionAddr::TcpTls {
                host: host.to_owned(),
                port,
                insecure: *insecure,
                tls_params: tls_params.clone(),
            },
            _ => ConnectionAddr::Tcp(host.to_owned(), port),
        };
        template.clone().set_addr(addr)
    }

    async fn run(mut self, mut shards: Shards, events: mpsc::Sender<BusEvent>) {
        loop {
            let err = match self.read(shards, &events).await {
                Stopped::ReceiverGone => break,
                Stopped::Lost(err) => err,
            };
            tracing::warn!(channels = ?self.channels, error = %err, "redis cluster subscription lost; resubscribing");
            if events.send(BusEvent::Disconnected(err)).await.is_err() {
                break;
            }
            let options = self.options.clone();
            let Some(reopened) =
                reopen_with_backoff(&mut self, &options, &events, |s| Box::pin(s.open())).await
            else {
                break;
            };
            shards = reopened;
            tracing::info!(channels = ?self.channels, masters = shards.nodes.len(), "redis cluster subscription restored");
            if events.send(BusEvent::Subscribed).await.is_err() {
                break;
            }
        }
        tracing::debug!(channels = ?self.channels, "redis cluster subscription ended");
    }

    /// Forwards messages until a connection breaks, a master gives up a channel, or the
    /// receiver is dropped.
    async fn read(&self, shards: Shards, events: &mpsc::Sender<BusEvent>) -> Stopped {
        let timeout = self.options.operation_timeout;
        let Shards { nodes, mut pushes } = shards;
        // Every connection is checked on each tick: messages on one do not tell about another.
        let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                push = pushes.recv() => {
                    let Some((index, push)) = push else {
                        return Stopped::Lost(BusError::Unavailable("connections closed".to_owned()));
                    };
                    let node = nodes.get(index).map_or("?", |shard| shard.addr.as_str());
                    match push.kind {
                        PushKind::SMessage => {
                            let Some(event) = self.message(node, push.data) else {
                                continue;
                            };
                            if events.send(event).await.is_err() {
                                return Stopped::ReceiverGone;
                            }
                        }
                        PushKind::Disconnection => {
                            return Stopped::Lost(BusError::Unavailable(format!(
                                "connection to {node} closed"
                            )));
                        }
                        // Never asked for: the master lost the channel's slot (resharding,
                        // failover) and ended the subscription.
                        PushKind::SUnsubscribe => {
                            let channel = match push.data.first() {
                                Some(Value::BulkString(name)) => String::from_utf8_lossy(name).into_owned(),
                                _ => String::new(),
                            };
                            return Stopped::Lost(BusError::Unavailable(format!(
                                "{node} no longer serves channel {channel:?}"
                            )));
                        }
                        _ => {}
                    }
                }
                _ = ping.tick() => {
                    let pings = nodes.iter().map(|shard| {
                        let mut conn = shard.conn.clone();
                        async move { redis::cmd("PING").query_async::<Value>(&mut conn).await }
                    });
                    match tokio::time::timeout(timeout, try_join_all(pings)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(err)) => return Stopped::Lost(bus_error(&err, timeout)),
                        Err(_) => return Stopped::Lost(BusError::Timeout(timeout)),
                    }
                }
                () = events.closed() => return Stopped::ReceiverGone,
            }
        }
    }

    /// The event of an `smessage` push (`[channel, payload]`), `None` when it is dropped.
    fn message(&self, node: &str, data: Vec<Value>) -> Option<BusEvent> {
        let mut data = data.into_iter();
        let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
            (data.next(), data.next())
        else {
            tracing::debug!(node, "ignoring a malformed smessage push");
            return None;
        };
        let channel = String::from_utf8_lossy(&channel).into_owned();
        if payload.len() > self.options.max_message_size {
            tracing::warn!(
                channel,
                size = payload.len(),
                max = self.options.max_message_size,
                "dropping a redis message larger than max_message_size"
            );
            return None;
        }
        Some(BusEvent::Message {
            channel,
            payload: Bytes::from(payload),
        })
    }
}

fn connection_config(options: &BusOptions) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(options.operation_timeout))
        .set_response_timeout(Some(options.operation_timeout))
}

/// Connects to one master over RESP3, where pushes are delivered to `pushes` tagged with
/// `index`, and sends one `SSUBSCRIBE` per channel (each answered by exactly one confirmation).
async fn subscribe_on(
    info: ConnectionInfo,
    channels: Vec<String>,
    index: usize,
    pushes: mpsc::UnboundedSender<(usize, PushInfo)>,
    options: &BusOptions,
) -> Result<Shard, RedisError> {
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let info = info.set_redis_settings(settings);
    let addr = info.addr().to_string();
    let client = Client::open(info)?;
    let config = connection_config(options)
        .set_push_sender(move |push: PushInfo| pushes.send((index, push)));
    let conn = guard_panic(client.get_multiplexed_async_connection_with_config(&config)).await?;
    try_join_all(channels.iter().map(|channel| {
        let mut conn = conn.clone();
        async move {
            redis::cmd("SSUBSCRIBE")
                .arg(channel)
                .query_async::<Value>(&mut conn)
                .await?
                .extract_error()
        }
    }))
    .await?;
    Ok(Shard { addr, conn })
}

/// The slot ranges of a `CLUSTER SLOTS` reply, each with its master; an empty host means the
/// node that answered, `?` an unknown one (the range is left out).
fn parse_slots(reply: Value, answering_host: &str) -> Vec<SlotRange> {
    let Value::Array(items) = reply else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let Value::Array(item) = item else {
                return None;
            };
            let [Value::Int(start), Value::Int(end), Value::Array(master), ..] = item.as_slice()
            else {
                return None;
            };
            let start = u16::try_from(*start).ok()?;
            let end = u16::try_from(*end).ok()?;
            let host = match master.first()? {
                Value::BulkString(host) => String::from_utf8_lossy(host).into_owned(),
                Value::SimpleString(host) => host.clone(),
                Value::Nil => String::new(),
                _ => return None,
            };
            let host = match host.as_str() {
                "?" => return None,
                "" => answering_host.to_owned(),
                _ => host,
            };
            let Value::Int(port) = master.get(1)? else {
                return None;
            };
            let port = u16::try_from(*port).ok()?;
            Some(SlotRange {
                start,
                end,
                master: (host, port),
            })
        })
        .collect()
}

/// The hash slot of a key or sharded channel: CRC16 (XMODEM) of its hash tag (the part
/// between the first `{` and the next `}`, when not empty) or of the whole name, mod 16384.
fn key_slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|&byte| byte == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            let close = rest.iter().position(|&byte| byte == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(key);
    crc16_xmodem(hashed) % SLOT_COUNT
}

fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use redis::cluster_routing::{Route, SlotAddr};

    use super::*;

    #[test]
    fn slots_are_those_of_redis() {
        assert_eq!(crc16_xmodem(b"123456789"), 0x31c3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        for name in ["socketio#/#", "socketio#/chat#room#", "", "{", "}{", "é"] {
            assert_eq!(
                Route::with_key(name, SlotAddr::Master),
                Route::new(key_slot(name.as_bytes()), SlotAddr::Master),
                "{name}"
            );
        }
    }

    #[test]
    fn slot_maps_name_the_masters() {
        let node = |host: &[u8], port: i64| {
            Value::Array(vec![
                Value::BulkString(host.to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node(b"10.0.0.1", 7000),
                node(b"10.0.0.4", 7000),
            ]),
            Value::Array(vec![Value::Int(5461), Value::Int(10922), node(b"", 7001)]),
            Value::Array(vec![Value::Int(10923), Value::Int(16383), node(b"?", 7002)]),
            Value::Int(3),
        ]);
        assert_eq!(
            parse_slots(reply, "seed.example"),
            vec![
                SlotRange {
                    start: 0,
                    end: 5460,
                    master: ("10.0.0.1".to_owned(), 7000),
                },
                SlotRange {
                    start: 5461,
                    end: 10922,
                    master: ("seed.example".to_owned(), 7001),
                },
            ]
        );
        assert!(parse_slots(Value::Nil, "seed.example").is_empty());
    }
}
