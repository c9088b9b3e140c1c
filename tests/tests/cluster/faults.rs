//! Redis dies during traffic and comes back (docs/PROGRAMS.md, `cluster_node`): each node keeps delivering to
//! its own clients and answering acks, cross-node delivery is back within 2 s of Redis
//! answering again, and nothing is delivered twice.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::json;
use socketio::Payload;

use common::bus::{Events, RedisServer, recording_client, start_node, start_redis_node};
use common::eio::within;

const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// The next `room-message`'s first argument.
async fn next_room_message(events: &mut Events) -> String {
    within("a room-message", async {
        loop {
            let (event, payload) = events.recv().await.expect("client alive");
            if event == "room-message" {
                return payload.args[0].as_str().unwrap_or_default().to_owned();
            }
        }
    })
    .await
}

fn message(text: &str) -> Payload {
    Payload::from_args(vec![json!("r"), json!(text)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_keeps_local_delivery_and_cross_node_delivery_comes_back() {
    let mut redis = RedisServer::start();
    let node_a = start_redis_node(&redis.url()).await;
    let node_b = start_redis_node(&redis.url()).await;
    let (sender, _) = recording_client(node_a.addr).await;
    let (_local_peer, mut local_events) = recording_client(node_a.addr).await;
    let (_remote_peer, mut remote_events) = recording_client(node_b.addr).await;

    sender.emit("to-room", message("before")).expect("emit");
    assert_eq!(next_room_message(&mut local_events).await, "before");
    assert_eq!(next_room_message(&mut remote_events).await, "before");

    redis.kill();
    // While Redis is down the node still answers acks and delivers to its own clients.
    for i in 0..3 {
        let text = format!("during-{i}");
        let reply = sender
            .timeout(ACK_TIMEOUT)
            .emit_with_ack::<Payload>("to-room", message(&text))
            .await
            .expect("ack while the bus is down");
        assert_eq!(reply.args, [json!("ok")]);
        assert_eq!(next_room_message(&mut local_events).await, text);
    }

    redis.restart();
    let back_at = Instant::now();
    // Nothing tells a client when the other node's subscription is back, so keep sending
    // numbered messages until the remote client sees one.
    let mut sent = 0u32;
    let first_seen = loop {
        sender
            .emit("to-room", message(&format!("after-{sent}")))
            .expect("emit");
        sent += 1;
        let waited = tokio::time::timeout(
            Duration::from_millis(100),
            next_room_message(&mut remote_events),
        )
        .await;
        if let Ok(text) = waited {
            break text;
        }
        assert!(
            back_at.elapsed() < Duration::from_secs(10),
            "cross-node delivery did not come back"
        );
    };
    let recovered_in = back_at.elapsed();
    assert!(
        recovered_in <= Duration::from_secs(2),
        "cross-node delivery came back {recovered_in:?} after Redis (contract: 2 s)"
    );

    // Messages published during the outage are lost, never replayed; nothing arrives twice.
    sender.emit("to-room", message("end")).expect("emit");
    let mut seen = HashSet::from([first_seen.clone()]);
    loop {
        let text = next_room_message(&mut remote_events).await;
        assert!(!text.starts_with("during-"), "{text} was replayed");
        if text == "end" {
            break;
        }
        assert!(seen.insert(text.clone()), "{text} arrived twice");
    }
    assert!(first_seen.starts_with("after-"), "{first_seen}");
    assert!(
        node_b.manager.stats().reconnects() >= 1,
        "node B's subscription reports its comeback"
    );
}

/// A bus that is down at start is a clear error, or, when asked, a wait until it is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_down_at_start_is_an_error_or_a_retry() {
    use socketio::manager::{BusError, PubSubManager, RedisBus};

    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.kill();
    let refused = PubSubManager::builder(RedisBus::new(&url).expect("url"))
        .connect()
        .await;
    assert!(
        matches!(refused, Err(BusError::Unavailable(_))),
        "{refused:?}"
    );

    let retrying = tokio::spawn(
        PubSubManager::builder(RedisBus::new(&url).expect("url"))
            .retry_at_start(true)
            .connect(),
    );
    redis.restart();
    let manager = within("connect once Redis is up", retrying)
        .await
        .expect("task")
        .expect("connected after the retry");
    let node = start_node(manager).await;
    let (_client, mut events) = recording_client(node.addr).await;
    socketio::manager::RedisEmitter::new(&url)
        .expect("url")
        .to("r")
        .emit("room-message", json!("up"))
        .await
        .expect("emit");
    assert_eq!(next_room_message(&mut events).await, "up");
}
