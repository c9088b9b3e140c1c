//! Cluster-wide queries between our nodes on one Redis: the sockets of a room on every node
//! (with their rooms and node), every room of a namespace, and how many nodes there are.

use crate::common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;

use common::bus::{RedisServer, recording_client, start_redis_node};

const ACK_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_rooms_and_node_count_across_nodes() {
    let redis = RedisServer::start();
    let nodes = [
        start_redis_node(&redis.url()).await,
        start_redis_node(&redis.url()).await,
        start_redis_node(&redis.url()).await,
    ];
    // Nodes learn of each other from heartbeats; nothing else announces them.
    let deadline = Instant::now() + Duration::from_secs(10);
    for node in &nodes {
        while node.io.server_count().await != 3 {
            assert!(Instant::now() < deadline, "nodes never saw each other");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let (client, _events) = recording_client(node.addr).await;
        let room = format!("only-on-{i}");
        client
            .timeout(ACK_TIMEOUT)
            .emit_with_ack::<socketio::Payload>("join", json!(room))
            .await
            .expect("join");
        clients.push(client);
    }
    let sids: BTreeSet<String> = clients
        .iter()
        .map(|client| client.socket().sid().expect("connected"))
        .collect();

    // Every client joined `r` on connect: asking any node finds all three, each with its
    // rooms and on its own node.
    for node in &nodes {
        let everyone = node.io.to("r").fetch_sockets().await;
        let found: BTreeSet<String> = everyone.iter().map(|s| s.sid.clone()).collect();
        assert_eq!(found, sids);
        let nodes_seen: BTreeSet<&str> = everyone.iter().map(|s| s.node.as_str()).collect();
        assert_eq!(nodes_seen.len(), 3);
        for socket in &everyone {
            assert_eq!(socket.namespace, "/");
            assert!(socket.rooms.contains(&socket.sid), "{socket:?}");
            assert!(socket.rooms.contains(&"r".to_owned()), "{socket:?}");
        }
    }

    // A room with one member on node 2, asked from node 0.
    let one = nodes[0].io.to("only-on-2").fetch_sockets().await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].node, nodes[2].manager.host_id());
    // `except` and `local` narrow the answer.
    let not_two = nodes[0]
        .io
        .to("r")
        .except("only-on-2")
        .fetch_sockets()
        .await;
    assert_eq!(not_two.len(), 2);
    let local = nodes[0].io.to("r").local().fetch_sockets().await;
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].node, nodes[0].manager.host_id());

    let rooms = nodes[1].io.all_rooms("/").await;
    for expected in ["r", "only-on-0", "only-on-1", "only-on-2"] {
        assert!(rooms.contains(&expected.to_owned()), "{rooms:?}");
    }
    for sid in &sids {
        assert!(rooms.contains(sid), "{rooms:?} lacks the room of {sid}");
    }
}

#[tokio::test]
async fn without_a_pub_sub_manager_the_queries_answer_locally() {
    let io = socketio::SocketIo::builder().build().expect("server");
    assert_eq!(io.server_count().await, 1);
    assert!(io.all_rooms("/").await.is_empty());
    assert!(io.to("r").fetch_sockets().await.is_empty());
}

/// Each heartbeat carries its sender's interval, so a node that beats fast keeps counting a
/// node that beats slowly between its heartbeats (it used to forget it after three of its own
/// intervals, so queries left out the slow node's sockets most of the time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_with_different_heartbeat_intervals_keep_counting_each_other() {
    use socketio::manager::{PubSubManager, RedisBus};

    let redis = RedisServer::start();
    let node_with = |interval: Duration| {
        let url = redis.url();
        async move {
            let manager = PubSubManager::builder(RedisBus::new(&url).expect("redis url"))
                .heartbeat_interval(interval)
                .connect()
                .await
                .expect("redis reachable");
            common::bus::start_node(manager).await
        }
    };
    let fast = node_with(Duration::from_millis(100)).await;
    let slow = node_with(Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    for node in [&fast, &slow] {
        while node.io.server_count().await != 2 {
            assert!(Instant::now() < deadline, "nodes never saw each other");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // What is under test is that the count never drops over several of the slow node's
    // intervals, so it is sampled over that time.
    let watch_until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < watch_until {
        assert_eq!(
            fast.io.server_count().await,
            2,
            "the fast node lost the slow one"
        );
        assert_eq!(
            slow.io.server_count().await,
            2,
            "the slow node lost the fast one"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
