//! Several `cluster_node` processes on one private Redis behave as one server for official JS
//! clients spread over them (docs/PROGRAMS.md, `cluster_node`), alone and mixed with python-socketio nodes and a
//! python-socketio write-only emitter on the same bus.

use crate::common;

use common::bus::{Bus, RedisServer, python_node, run_cluster_checks, rust_node};

const CHANNEL: &str = "socketio";

/// The outside run of docs/PROGRAMS.md, `cluster_node`: two of our nodes, official JS clients, and a
/// python-socketio `RedisManager(write_only=True)` emitting to a room with members on both.
#[test]
fn two_rust_nodes_over_websocket_with_a_python_emitter() {
    let redis = RedisServer::start();
    let bus = Bus::Redis(redis.url());
    let (a, b) = (rust_node(&bus, CHANNEL), rust_node(&bus, CHANNEL));
    let emit = python_emit_command(&redis.url());
    run_cluster_checks(
        &[&a, &b],
        &[
            "--transport",
            "websocket",
            "--python-emit",
            &emit,
            "--python-emit-expect",
            PYTHON_EMIT_EXPECT,
        ],
    );
}

/// The `--python-emit` command: tests/python/bus_emit.py publishing `room-message` with a
/// marker and a binary argument to the room the checks choose, as `PYTHON_EMIT_EXPECT` says.
fn python_emit_command(redis_url: &str) -> String {
    format!(
        "{} tests/python/bus_emit.py --redis {redis_url} --namespace /chat --room {{room}} \
         --event room-message --data '\"{{marker}}\"' --data '{{\"b\": {{\"$binary\": \"00ff\"}}}}'",
        common::require_venv_python().display(),
    )
}

const PYTHON_EMIT_EXPECT: &str = r#"["{marker}", {"b": {"$binary": "00ff"}}]"#;

#[test]
fn three_rust_nodes_over_polling() {
    let redis = RedisServer::start();
    let bus = Bus::Redis(redis.url());
    let nodes = [
        rust_node(&bus, CHANNEL),
        rust_node(&bus, CHANNEL),
        rust_node(&bus, CHANNEL),
    ];
    run_cluster_checks(
        &nodes.iter().collect::<Vec<_>>(),
        &["--transport", "polling"],
    );
}

/// A python-socketio node and ours in one cluster, both directions of every check, plus
/// python's `RedisManager(write_only=True)` reaching room members on both nodes.
#[test]
fn mixed_with_a_python_node_and_a_python_emitter() {
    let redis = RedisServer::start();
    let bus = Bus::Redis(redis.url());
    let (ours, python) = (rust_node(&bus, CHANNEL), python_node(&bus, CHANNEL));
    let emit = python_emit_command(&redis.url());
    run_cluster_checks(
        &[&ours, &python],
        &[
            "--python-emit",
            &emit,
            "--python-emit-expect",
            PYTHON_EMIT_EXPECT,
        ],
    );
}
