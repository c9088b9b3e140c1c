//! The `bench_server` contract (docs/PROGRAMS.md, `bench_server`), driven the way the load generator
//! drives it: raw Engine.IO/Socket.IO frames over direct WebSockets.

use crate::common;

use common::eio::{ws_connect_at, ws_recv, ws_send};
use tokio_tungstenite::tungstenite::Message;

async fn connect_root(addr: std::net::SocketAddr) -> common::eio::Ws {
    let mut ws = ws_connect_at(addr, "/socket.io/?EIO=4&transport=websocket", &[])
        .await
        .expect("WebSocket handshake");
    let Message::Text(open) = ws_recv(&mut ws).await else {
        panic!("no open packet")
    };
    let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(open["pingInterval"], 25000);
    assert_eq!(open["pingTimeout"], 20000);
    assert!(open["maxPayload"].as_u64().unwrap() >= 1_000_000);
    ws_send(&mut ws, "40").await;
    let Message::Text(connect) = ws_recv(&mut ws).await else {
        panic!("no CONNECT reply")
    };
    assert!(connect.starts_with("40{\"sid\":\""), "{connect}");
    ws
}

#[tokio::test]
async fn echo_acks_and_broadcast_reaches_everyone_once() {
    let server = common::spawn_example("bench_server", &[]);
    let mut a = connect_root(server.addr).await;
    let mut b = connect_root(server.addr).await;

    ws_send(&mut a, r#"4212["echo",{"c":7,"i":12,"p":"xxxx"}]"#).await;
    assert_eq!(
        ws_recv(&mut a).await,
        Message::text(r#"4312[{"c":7,"i":12,"p":"xxxx"}]"#)
    );

    // An echo without an ack id gets no answer: the next frame is the broadcast.
    ws_send(&mut a, r#"42["echo",{"c":1}]"#).await;
    ws_send(&mut a, r#"42["broadcast",{"s":1,"t":5,"p":"x"}]"#).await;
    let bcast = Message::text(r#"42["bcast",{"s":1,"t":5,"p":"x"}]"#);
    assert_eq!(
        ws_recv(&mut a).await,
        bcast,
        "the sender gets the broadcast"
    );
    assert_eq!(ws_recv(&mut b).await, bcast, "every other socket gets it");

    // Exactly once: the next frame b sees is the next broadcast, not a duplicate.
    ws_send(&mut b, r#"423["broadcast",{"s":2,"t":6,"p":"y"}]"#).await;
    assert_eq!(
        ws_recv(&mut b).await,
        Message::text(r#"42["bcast",{"s":2,"t":6,"p":"y"}]"#)
    );
    assert_eq!(
        ws_recv(&mut b).await,
        Message::text("433[]"),
        "broadcast with an ack id is acked"
    );
    assert_eq!(
        ws_recv(&mut a).await,
        Message::text(r#"42["bcast",{"s":2,"t":6,"p":"y"}]"#)
    );
}

#[test]
fn a_thousand_clients_all_get_one_broadcast() {
    common::require_npm_package("ws");
    let server = common::spawn_example("bench_server", &[]);
    let mut cmd = std::process::Command::new("node");
    cmd.arg("tests/js/bench_clients.mjs")
        .arg(server.url())
        .arg("1000");
    common::assert_script_passes(cmd, "bench_clients.mjs with 1000 clients");
}
