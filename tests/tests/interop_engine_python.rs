//! python-engineio's official client against the `/engine.io/` echo server of the
//! `conformance` example: text and binary echo, ordering, heartbeats and a client disconnect,
//! once per transport setup. The checks themselves live in `tests/python/engine_client.py`.

mod common;

use std::process::Command;

fn engine_client(scenario: &str) {
    let python = common::require_venv_python();
    let server = common::spawn_example("conformance", &[]);
    let mut cmd = Command::new(python);
    cmd.arg("tests/python/engine_client.py")
        .arg(server.url())
        .arg(scenario);
    common::assert_script_passes(cmd, &format!("engine_client.py {scenario}"));
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
