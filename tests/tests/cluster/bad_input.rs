//! Bad input on the bus: malformed, mistyped, oversized, unknown and forged messages are
//! ignored and counted; the node keeps serving, and the valid message published after them
//! is the first (and only) thing its clients receive.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use socketio::manager::{BusDriver, RedisBus, RedisEmitter};

use common::bus::{RedisServer, recording_client, start_redis_node};
use common::eio::within;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bus_messages_are_ignored_and_nothing_else_is_affected() {
    let redis = RedisServer::start();
    let node = start_redis_node(&redis.url()).await;
    let manager = node.manager.clone();
    let (client, mut events) = recording_client(node.addr).await;
    let host_id = manager.host_id().to_owned();

    let ten_megabytes = format!(
        r#"{{"method":"emit","event":"huge","namespace":"/","room":"r","data":["{}"]}}"#,
        "x".repeat(10 << 20)
    );
    let bad: Vec<Vec<u8>> = vec![
        b"\x00\xff not json at all".to_vec(),
        b"[\"emit\"]".to_vec(),
        br#"{"event":"no-method","data":[],"room":"r"}"#.to_vec(),
        br#"{"method":"explode","event":"x","data":[],"room":"r"}"#.to_vec(),
        br#"{"method":"emit","event":"bad-room","data":[],"room":5}"#.to_vec(),
        br#"{"method":"emit","event":"bad-skip","data":[],"room":"r","skip_sid":{"a":1}}"#
            .to_vec(),
        br#"{"method":"emit","event":"bad-data","data":"text","room":"r"}"#.to_vec(),
        br#"{"method":"emit","event":"bad-b64","data":[[{"_placeholder":true,"num":0}],"!!"],"binary":true,"room":"r"}"#
            .to_vec(),
        br#"{"method":"emit","event":"bad-placeholder","data":[[{"_placeholder":true,"num":3}],"AQI="],"binary":true,"room":"r"}"#
            .to_vec(),
        br#"{"method":"callback","host_id":"HOST","sid":"nobody","namespace":"/","id":42,"args":[1]}"#
            .to_vec(),
        br#"{"method":"emit","event":"forged","data":[],"room":"r","host_id":"HOST"}"#.to_vec(),
        br#"{"method":"disconnect","namespace":"/"}"#.to_vec(),
        br#"{"method":"enter_room","sid":7,"room":"x","namespace":"/"}"#.to_vec(),
        ten_megabytes.into_bytes(),
    ];
    let bad_count = bad.len();
    let bus = RedisBus::new(&redis.url()).expect("url");
    for message in bad {
        let message = String::from_utf8_lossy(&message).replace("HOST", &host_id);
        bus.publish("socketio", Bytes::from(message))
            .await
            .expect("publish");
    }
    RedisEmitter::new(&redis.url())
        .expect("url")
        .to("r")
        .emit("valid", json!("after the bad ones"))
        .await
        .expect("emit");

    let (event, payload) = within("the valid emit", events.recv())
        .await
        .expect("client alive");
    assert_eq!(event, "valid", "a bad message reached the client first");
    assert_eq!(payload.args, [json!("after the bad ones")]);

    // Every bad message was counted as ignored, but the 10 MB one: the Redis driver drops
    // it before the manager sees it (logged by the driver).
    let ignored = manager.stats().ignored();
    assert!(
        ignored >= bad_count as u64 - 1,
        "{ignored} of {bad_count} bad messages counted as ignored"
    );

    // The node still serves its clients.
    let reply = client
        .timeout(Duration::from_secs(5))
        .emit_with_ack::<socketio::Payload>("to-room", (json!("r"), json!("still alive")))
        .await
        .expect("ack");
    assert_eq!(reply.args, [json!("ok")]);
}
