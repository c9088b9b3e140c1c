//! The official Node client, `engine.io-client`, against the `/engine.io/` echo server of the
//! `conformance` example: text and binary echo, ordering, heartbeats and a client close, once
//! per transport setup. The checks themselves live in `tests/js/engine_client.mjs`.

use crate::common;

use common::Runtime;

fn engine_client(arg: &str) {
    common::run_script_against_conformance(
        Runtime::Node {
            package: "engine.io-client",
        },
        "tests/js/engine_client.mjs",
        arg,
    );
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
