//! The official Node client, `engine.io-client`, against the `/engine.io/` echo server of the
//! `conformance` example: text and binary echo, ordering, heartbeats and a client close, once
//! per transport setup. The checks themselves live in `tests/js/engine_client.mjs`.

mod common;

use std::process::Command;

fn engine_client(scenario: &str) {
    common::require_npm_package("engine.io-client");
    let server = common::spawn_example("conformance", &[]);
    let mut cmd = Command::new("node");
    cmd.arg("tests/js/engine_client.mjs")
        .arg(server.url())
        .arg(scenario);
    common::assert_script_passes(cmd, &format!("engine_client.mjs {scenario}"));
}

#[test]
fn polling_only() {
    engine_client("polling");
}

#[test]
fn websocket_only() {
    engine_client("websocket");
}

#[test]
fn polling_then_upgrade_to_websocket() {
    engine_client("upgrade");
}
