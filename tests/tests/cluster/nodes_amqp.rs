//! The cluster checks of docs/PROGRAMS.md, `cluster_node` over RabbitMQ: our nodes alone, and mixed with a
//! python-socketio node (`AsyncAioPikaManager`) and its write-only emitter. Each test uses its
//! own exchange, so tests sharing the broker never see each other.

use crate::common;

use common::bus::{Bus, amqp_url, python_node, run_cluster_checks, rust_node, unique_channel};

#[test]
fn two_rust_nodes() {
    let bus = Bus::Amqp(amqp_url());
    let channel = unique_channel("two-rust-nodes");
    let (a, b) = (rust_node(&bus, &channel), rust_node(&bus, &channel));
    run_cluster_checks(&[&a, &b], &["--transport", "default"]);
}

#[test]
fn mixed_with_a_python_node_and_a_python_emitter() {
    let bus = Bus::Amqp(amqp_url());
    let channel = unique_channel("mixed");
    let (ours, python) = (rust_node(&bus, &channel), python_node(&bus, &channel));
    let python_bin = common::require_venv_python();
    let emit = format!(
        "{} tests/python/bus_emit.py --amqp {} --channel {channel} --namespace /chat \
         --room {{room}} --event room-message --data '\"{{marker}}\"'",
        python_bin.display(),
        amqp_url()
    );
    run_cluster_checks(
        &[&ours, &python],
        &[
            "--python-emit",
            &emit,
            "--python-emit-expect",
            r#"["{marker}"]"#,
        ],
    );
}

/// Our AMQP emitter reaches the clients of an in-process node on the same exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_amqp_emitter_reaches_a_node() {
    use serde_json::json;
    use socketio::manager::{AmqpBus, AmqpEmitter, PubSubManager};

    let channel = unique_channel("emitter");
    let manager = PubSubManager::builder(AmqpBus::new(&amqp_url()).expect("url"))
        .channel(&channel)
        .connect()
        .await
        .expect("RabbitMQ reachable");
    let node = common::bus::start_node(manager).await;
    let (_client, mut events) = common::bus::recording_client(node.addr).await;
    AmqpEmitter::new(&amqp_url())
        .expect("url")
        .channel(&channel)
        .to("r")
        .emit("room-message", json!("over amqp"))
        .await
        .expect("emit");
    let got = common::bus::next_event(&mut events, "room-message").await;
    assert_eq!(got.args, [json!("over amqp")]);
}
