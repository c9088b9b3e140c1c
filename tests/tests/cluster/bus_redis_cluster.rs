//! The Redis driver on a real Redis Cluster (sharded pub/sub, `SPUBLISH`/`SSUBSCRIBE`): three
//! masters of our own on free loopback ports per test, created with `redis-cli --cluster
//! create`. Channels on different masters, several subscribers, any node as a seed, a slot
//! moved to another master under a live subscription, a master killed and restarted, oversized
//! messages, the end of a subscription with its receiver, bad URLs and an unreachable cluster.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use socketio::manager::{BusDriver, BusError, BusEvent, BusOptions, RedisBus};
use tokio::sync::mpsc;

use crate::common::bus::{RedisServer, TempDir, free_port};
use crate::common::bus_contract::{self, message, next, publish, subscribed};
use crate::common::eio::{TIMEOUT, within, within_for};

/// How long a cluster may take to form, or to heal after a master came back.
const CLUSTER_STEP: Duration = Duration::from_secs(30);

/// A Redis Cluster of three masters without replicas. Fields drop in order: the processes
/// first, then their directory.
struct Cluster {
    nodes: Vec<RedisServer>,
    dir: TempDir,
}

impl Cluster {
    /// Fails (never skips) when `redis-server` or `redis-cli` are not installed.
    fn start() -> Cluster {
        let dir = TempDir::new("redis-cluster");
        let mut ports = HashSet::new();
        let mut fresh_port = || loop {
            let port = free_port();
            if ports.insert(port) {
                return port;
            }
        };
        let mut cluster = Cluster {
            nodes: Vec::new(),
            dir,
        };
        for _ in 0..3 {
            let (port, bus_port) = (fresh_port(), fresh_port());
            let node = RedisServer::cluster_node(port, bus_port, cluster.dir.path().to_owned());
            cluster.nodes.push(node);
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        let output = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli must be installed (scripts/test.sh installs it)");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        cluster.wait_ok();
        cluster
    }

    /// Polls `CLUSTER INFO` until every running node says `cluster_state:ok`.
    fn wait_ok(&self) {
        let deadline = Instant::now() + CLUSTER_STEP;
        for node in self.nodes.iter().filter(|node| node.is_running()) {
            while !cli(node.port(), &["CLUSTER", "INFO"]).contains("cluster_state:ok") {
                assert!(
                    Instant::now() < deadline,
                    "the cluster is not ok on {}",
                    node.port()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    fn bus(&self) -> RedisBus {
        self.bus_with(options())
    }

    fn bus_with(&self, options: BusOptions) -> RedisBus {
        let urls = self.urls();
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        RedisBus::cluster_with_options(&urls, options).unwrap()
    }

    /// A running node to ask about the cluster.
    fn any_port(&self) -> u16 {
        self.nodes
            .iter()
            .find(|node| node.is_running())
            .expect("a running node")
            .port()
    }

    /// The port of the master serving `channel`'s slot, according to the cluster itself.
    fn owner(&self, channel: &str) -> u16 {
        let port = self.any_port();
        let slot: u16 = cli(port, &["CLUSTER", "KEYSLOT", channel])
            .trim()
            .parse()
            .unwrap();
        for line in cli(port, &["CLUSTER", "NODES"]).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 || !fields[2].contains("master") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let mut bounds = range.split('-').map(|bound| bound.parse::<u16>());
                match (bounds.next(), bounds.next()) {
                    (Some(Ok(start)), Some(Ok(end))) => start <= slot && slot <= end,
                    (Some(Ok(only)), None) => only == slot,
                    _ => false,
                }
            });
            if serves {
                let addr = fields[1].split('@').next().unwrap();
                return addr.rsplit(':').next().unwrap().parse().unwrap();
            }
        }
        panic!("no master serves slot {slot}");
    }

    /// One channel name per master, in the order of `nodes`.
    fn channel_per_master(&self, prefix: &str) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| {
                (0..)
                    .map(|i| format!("{prefix}-{i}"))
                    .find(|channel| self.owner(channel) == node.port())
                    .unwrap()
            })
            .collect()
    }

    fn node_of(&self, port: u16) -> usize {
        self.nodes
            .iter()
            .position(|node| node.port() == port)
            .unwrap()
    }

    fn id_of(&self, port: u16) -> String {
        cli(port, &["CLUSTER", "MYID"]).trim().to_owned()
    }

    /// `PUBSUB SHARDNUMSUB channel` on the node at `port`.
    fn shard_subscribers(&self, port: u16, channel: &str) -> i64 {
        let reply = cli(port, &["PUBSUB", "SHARDNUMSUB", channel]);
        reply.lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

/// `redis-cli -p port args…`, its raw output.
fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli must be installed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn options() -> BusOptions {
    BusOptions {
        operation_timeout: Duration::from_millis(500),
        ..BusOptions::default()
    }
}

async fn next_within(limit: Duration, events: &mut mpsc::Receiver<BusEvent>) -> BusEvent {
    within_for(limit, "the next bus event", events.recv())
        .await
        .expect("the subscription ended")
}

/// The suite every bus driver runs (`common::bus_contract`), on a Redis Cluster.
#[tokio::test]
async fn the_bus_driver_contract_holds() {
    let cluster = Cluster::start();
    bus_contract::run(|| cluster.bus(), |label| format!("cluster-{label}")).await;
}

#[tokio::test]
async fn channels_on_every_master_roundtrip() {
    let cluster = Cluster::start();
    let channels = cluster.channel_per_master("room");
    let bus = cluster.bus();
    let mut events = subscribed(&bus, &channels).await;
    for (node, channel) in cluster.nodes.iter().zip(&channels) {
        // Each channel is subscribed with SSUBSCRIBE on the master owning its slot.
        assert_eq!(
            cluster.shard_subscribers(node.port(), channel),
            1,
            "{channel}"
        );
    }
    let elsewhere = cluster.channel_per_master("not-for-us");

    publish(&bus, &channels[0], b"zero").await;
    publish(&bus, &elsewhere[1], b"not for us").await;
    publish(&bus, &channels[1], b"one").await;
    publish(&bus, &channels[2], b"\x00two\xff").await;

    arrive_in_any_order(
        &mut events,
        [
            message(&channels[0], b"zero"),
            message(&channels[1], b"one"),
            message(&channels[2], b"\x00two\xff"),
        ],
    )
    .await;
}

#[tokio::test]
async fn every_subscriber_gets_the_message_through_any_seed() {
    let cluster = Cluster::start();
    let url = |index: usize| cluster.nodes[index].url();
    // Each bus knows one node only; the channel lives on yet another master for two of them.
    let node_a = RedisBus::cluster_with_options(&[&url(0)], options()).unwrap();
    let node_b = RedisBus::cluster_with_options(&[&url(1)], options()).unwrap();
    let emitter = RedisBus::cluster_with_options(&[&url(0)], options()).unwrap();
    let channel = cluster.channel_per_master("socketio#/")[2].clone();
    let mut events_a = subscribed(&node_a, std::slice::from_ref(&channel)).await;
    let mut events_b = subscribed(&node_b, std::slice::from_ref(&channel)).await;
    assert_eq!(
        cluster.shard_subscribers(cluster.nodes[2].port(), &channel),
        2
    );

    publish(&emitter, &channel, b"hello").await;
    publish(&node_b, &channel, b"again").await;

    for events in [&mut events_a, &mut events_b] {
        assert_eq!(next(events).await, message(&channel, b"hello"));
        assert_eq!(next(events).await, message(&channel, b"again"));
    }
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_dropped() {
    let cluster = Cluster::start();
    let bus = cluster.bus_with(BusOptions {
        max_message_size: 8,
        ..options()
    });
    let channels = cluster.channel_per_master("room");
    let mut events = subscribed(&bus, &channels[1..2]).await;

    publish(&bus, &channels[1], b"123456789").await;
    publish(&bus, &channels[1], b"12345678").await;

    assert_eq!(next(&mut events).await, message(&channels[1], b"12345678"));
}

#[tokio::test]
async fn dropping_the_receiver_ends_the_subscription() {
    let cluster = Cluster::start();
    let bus = cluster.bus();
    let channels = cluster.channel_per_master("room");
    let events = subscribed(&bus, &channels).await;

    drop(events);

    let deadline = Instant::now() + TIMEOUT;
    for (node, channel) in cluster.nodes.iter().zip(&channels) {
        while cluster.shard_subscribers(node.port(), channel) != 0 {
            assert!(
                Instant::now() < deadline,
                "the subscription outlived its receiver"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn the_subscription_follows_a_slot_to_another_master() {
    let cluster = Cluster::start();
    let bus = cluster.bus();
    let channel = cluster.channel_per_master("room")[0].clone();
    let mut events = subscribed(&bus, std::slice::from_ref(&channel)).await;
    publish(&bus, &channel, b"before").await;
    assert_eq!(next(&mut events).await, message(&channel, b"before"));

    // Move the (empty) slot from the first master to the second, the way resharding does.
    let (from, to) = (cluster.nodes[0].port(), cluster.nodes[1].port());
    let slot = cli(from, &["CLUSTER", "KEYSLOT", &channel])
        .trim()
        .to_owned();
    let (from_id, to_id) = (cluster.id_of(from), cluster.id_of(to));
    for (port, args) in [
        (to, ["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]),
        (from, ["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]),
        (to, ["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]),
        (from, ["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]),
        (
            cluster.nodes[2].port(),
            ["CLUSTER", "SETSLOT", &slot, "NODE", &to_id],
        ),
    ] {
        assert_eq!(cli(port, &args).trim(), "OK", "{args:?} on {port}");
    }
    assert_eq!(cluster.owner(&channel), to);

    // The old master ends the subscription (SUNSUBSCRIBE); the driver finds the new one.
    assert!(
        matches!(next(&mut events).await, BusEvent::Disconnected(_)),
        "the moved slot is reported"
    );
    assert_eq!(next(&mut events).await, BusEvent::Subscribed);
    assert_eq!(cluster.shard_subscribers(to, &channel), 1);
    assert_eq!(cluster.shard_subscribers(from, &channel), 0);

    // The publishing connection follows the MOVED redirection.
    publish(&bus, &channel, b"after").await;
    assert_eq!(next(&mut events).await, message(&channel, b"after"));
}

#[tokio::test]
async fn the_subscription_comes_back_with_a_restarted_master() {
    let mut cluster = Cluster::start();
    let bus = cluster.bus();
    let channels = cluster.channel_per_master("room");
    let mut events = subscribed(&bus, &channels[..2]).await;
    publish(&bus, &channels[0], b"before").await;
    assert_eq!(next(&mut events).await, message(&channels[0], b"before"));

    let victim = cluster.node_of(cluster.owner(&channels[0]));
    cluster.nodes[victim].kill();
    assert!(
        matches!(next(&mut events).await, BusEvent::Disconnected(_)),
        "a killed master is reported"
    );
    // While its master is down a channel cannot be published on, and the publish fails in time.
    let started = Instant::now();
    within(
        "publish",
        bus.publish(&channels[0], Bytes::from_static(b"lost")),
    )
    .await
    .expect_err("the master is down");
    assert!(started.elapsed() < options().operation_timeout + Duration::from_millis(500));

    // Same port, same nodes.conf: the master takes its slots back.
    cluster.nodes[victim].restart();
    assert_eq!(
        next_within(CLUSTER_STEP, &mut events).await,
        BusEvent::Subscribed
    );

    publish(&bus, &channels[0], b"after").await;
    publish(&bus, &channels[1], b"elsewhere").await;
    arrive_in_any_order(
        &mut events,
        [
            message(&channels[0], b"after"),
            message(&channels[1], b"elsewhere"),
        ],
    )
    .await;
}

/// The next events are `wanted`, in any order: channels on different masters come through
/// different subscription connections, so nothing orders their messages against each other.
async fn arrive_in_any_order<const N: usize>(
    events: &mut tokio::sync::mpsc::Receiver<BusEvent>,
    wanted: [BusEvent; N],
) {
    let mut got = Vec::with_capacity(N);
    for _ in 0..N {
        got.push(next(events).await);
    }
    for event in &wanted {
        assert!(got.contains(event), "{event:?} is not among {got:?}");
    }
}

#[tokio::test]
async fn bad_urls_are_refused_and_good_ones_need_no_server() {
    for urls in [
        &[][..],
        &["http://127.0.0.1:6379"],
        &["redis://127.0.0.1:6379", "not a url"],
        &["unix:///tmp/nowhere/redis.sock"],
        &[""],
    ] {
        let err = RedisBus::cluster(urls).expect_err(&format!("{urls:?}"));
        assert!(matches!(err, BusError::InvalidUrl(_)), "{urls:?}: {err:?}");
    }
    // The crate refuses seeds with different credentials.
    let mixed = RedisBus::cluster(&["redis://:one@127.0.0.1:7000", "redis://:two@127.0.0.1:7001"]);
    assert!(matches!(mixed, Err(BusError::InvalidUrl(_))), "{mixed:?}");
    let port = free_port();
    let urls = [
        format!("redis://user:secret@127.0.0.1:{port}"),
        format!("redis://user:secret@127.0.0.1:{}", free_port()),
    ];
    let bus = RedisBus::cluster(&[&urls[0], &urls[1]]).unwrap();
    let shown = format!("{bus:?}");
    assert!(!shown.contains("secret"), "Debug shows the password");
    assert!(shown.contains(&port.to_string()), "{shown}");
}

#[tokio::test]
async fn an_unreachable_cluster_fails_fast() {
    let urls = [
        format!("redis://127.0.0.1:{}", free_port()),
        format!("redis://127.0.0.1:{}", free_port()),
    ];
    let bus = RedisBus::cluster_with_options(&[&urls[0], &urls[1]], options()).unwrap();
    let err = within("subscribe", bus.subscribe(vec!["room".to_owned()]))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
    let err = within("subscribe", bus.subscribe(Vec::new()))
        .await
        .expect_err("no channel");
    assert!(matches!(err, BusError::Protocol(_)), "{err:?}");
    for _ in 0..2 {
        let started = Instant::now();
        within("publish", bus.publish("room", Bytes::from_static(b"x")))
            .await
            .expect_err("nothing listens");
        assert!(started.elapsed() < options().operation_timeout + Duration::from_millis(500));
    }
}

#[tokio::test]
async fn a_plain_redis_is_not_a_cluster() {
    // A node without cluster support refuses CLUSTER SLOTS: subscribing fails, it does not hang.
    let cluster = Cluster::start();
    let plain = RedisServer::start();
    let bus = RedisBus::cluster_with_options(&[&plain.url()], options()).unwrap();
    let err = within("subscribe", bus.subscribe(vec!["room".to_owned()]))
        .await
        .expect_err("not a cluster");
    assert!(matches!(err, BusError::Protocol(_)), "{err:?}");

    // With a cluster node among the seeds, the plain one is passed over.
    let bus = RedisBus::cluster_with_options(&[&plain.url(), &cluster.nodes[1].url()], options())
        .unwrap();
    let channel = cluster.channel_per_master("room")[0].clone();
    let mut events = subscribed(&bus, std::slice::from_ref(&channel)).await;
    publish(&bus, &channel, b"found").await;
    assert_eq!(next(&mut events).await, message(&channel, b"found"));
}
