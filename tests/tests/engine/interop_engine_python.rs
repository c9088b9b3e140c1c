//! python-engineio's official client against the `/engine.io/` echo server of the
//! `conformance` example: text and binary echo, ordering, heartbeats and a client disconnect,
//! once per transport setup. The checks themselves live in `tests/python/engine_client.py`.

use crate::common;

use common::Runtime;

fn engine_client(arg: &str) {
    common::run_script_against_conformance(Runtime::Python, "tests/python/engine_client.py", arg);
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
