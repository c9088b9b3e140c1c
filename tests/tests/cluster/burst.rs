//! A burst of broadcasts from one node reaches a client of another node complete and in the
//! order it was made, however the publisher batches it.

use crate::common;

use serde_json::json;

use common::bus::{RedisServer, next_event, recording_client, start_redis_node};

const BURST: u64 = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_broadcasts_arrives_complete_and_in_order() {
    let redis = RedisServer::start();
    let node_a = start_redis_node(&redis.url()).await;
    let node_b = start_redis_node(&redis.url()).await;
    let (_client, mut events) = recording_client(node_b.addr).await;

    for n in 0..BURST {
        node_a.io.to("r").emit("n", n).expect("emit");
    }
    for expected in 0..BURST {
        let got = next_event(&mut events, "n").await;
        assert_eq!(got.args, [json!(expected)]);
    }
    assert_eq!(node_a.manager.stats().publish_failures(), 0);
}
