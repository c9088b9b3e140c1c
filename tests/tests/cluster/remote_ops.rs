//! Server operations on sockets of another node: join, leave, emit with ack, close room and
//! disconnect for a sid connected elsewhere; our write-only emitter reaching the clients of
//! our nodes and of a python-socketio server on the same Redis.

use crate::common;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use socketio::manager::RedisEmitter;

use common::bus::{
    Bus, RedisServer, next_any, next_event, python_node, recording_client, recording_client_on,
    start_redis_node,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_leave_ack_close_room_and_disconnect_for_a_sid_on_another_node() {
    let redis = RedisServer::start();
    let node_a = start_redis_node(&redis.url()).await;
    let node_b = start_redis_node(&redis.url()).await;
    let (client_b, mut events) = recording_client(node_b.addr).await;
    let sid_b = client_b.socket().sid().expect("connected");

    // join from node A, then a broadcast to that room from node A reaches B's client.
    node_a.io.to(sid_b.clone()).join("x");
    node_a.io.to("x").emit("in-x", json!(1)).expect("emit");
    assert_eq!(next_any(&mut events).await.0, "in-x");

    // leave: the next broadcast to `x` misses it; the marker after it proves the order.
    node_a.io.to(sid_b.clone()).leave("x");
    node_a.io.to("x").emit("in-x", json!(2)).expect("emit");
    node_a
        .io
        .to(sid_b.clone())
        .emit("marker", json!("after leave"))
        .expect("emit");
    assert_eq!(next_any(&mut events).await.0, "marker");

    // close room: B's client joined `y` itself; node A closes `y` everywhere.
    client_b
        .timeout(Duration::from_secs(5))
        .emit_with_ack::<socketio::Payload>("join", json!("y"))
        .await
        .expect("join");
    node_a.io.close_room("/", "y");
    node_a.io.to("y").emit("in-y", ()).expect("emit");
    node_a
        .io
        .to(sid_b.clone())
        .emit("marker", json!("after close"))
        .expect("emit");
    assert_eq!(next_any(&mut events).await.0, "marker");

    // an emit with ack from node A answered by B's client; the reply comes back to A.
    let mut replies = node_a
        .io
        .to(sid_b.clone())
        .timeout(Duration::from_secs(5))
        .emit_with_ack::<socketio::Payload>("question", "?")
        .expect("emit");
    let (event, _) = next_any(&mut events).await;
    assert_eq!(event, "question");
    let (room, reply) = common::eio::within("the reply from node B", replies.next())
        .await
        .expect("one reply");
    assert_eq!(room.as_str(), sid_b);
    assert_eq!(reply.expect("answered").args, [json!("got"), json!("?")]);

    // disconnect from node A.
    node_a.io.to(sid_b.clone()).disconnect();
    let reason = next_event(&mut events, "disconnect").await;
    assert_eq!(reason.args, [json!("io server disconnect")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_emitter_reaches_clients_of_our_nodes_and_of_a_python_server() {
    let redis = RedisServer::start();
    let ours = start_redis_node(&redis.url()).await;
    let python = python_node(&Bus::Redis(redis.url()), "socketio");
    let (_ours_client, mut ours_events) = recording_client(ours.addr).await;
    let (python_client, mut python_events) =
        recording_client_on(python.addr, "/chat", json!({ "token": "secret" })).await;
    let python_client = python_client.of("/chat");
    python_client
        .timeout(Duration::from_secs(5))
        .emit_with_ack::<socketio::Payload>("join", json!("lobby"))
        .await
        .expect("join on the python server");

    let emitter = RedisEmitter::new(&redis.url()).expect("url");
    emitter
        .of("/chat")
        .to("lobby")
        .emit("room-message", (json!("from rust"), json!({ "n": 1 })))
        .await
        .expect("emit");
    let got = next_event(&mut python_events, "room-message").await;
    assert_eq!(got.args, [json!("from rust"), json!({ "n": 1 })]);

    // Every socket of our node joined `r`; the same emitter reaches it on `/`.
    emitter
        .to("r")
        .emit("room-message", json!("hello r"))
        .await
        .expect("emit");
    let got = next_event(&mut ours_events, "room-message").await;
    assert_eq!(got.args, [json!("hello r")]);

    // enter_room for a sid on the python server, then an emit to that room.
    let sid = python_client.sid().expect("connected");
    emitter.of("/chat").to(sid).join("vip").await.expect("join");
    emitter
        .of("/chat")
        .to("vip")
        .emit("room-message", json!("vip only"))
        .await
        .expect("emit");
    let got = next_event(&mut python_events, "room-message").await;
    assert_eq!(got.args, [json!("vip only")]);

    // disconnect a sid on the python server through the bus.
    emitter
        .of("/chat")
        .to(python_client.sid().expect("connected"))
        .disconnect()
        .await
        .expect("disconnect");
    let reason = next_event(&mut python_events, "disconnect").await;
    assert_eq!(reason.args, [json!("io server disconnect")]);
}
