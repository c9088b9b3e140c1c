//! A node of a cluster dies (issue #11, docs/PROGRAMS.md, `cluster_node`): two nodes on a private Redis, one of
//! them a `cluster_node` process killed with SIGKILL in the middle of a stream of traffic. The
//! survivor's clients keep every delivery and ack, exactly once and in order; operations aimed at
//! the dead node's sockets end by their timeout; the survivor's cluster queries stop counting the
//! dead node within the heartbeat expiry; the killed node restarts on the same port and bus and
//! is part of the cluster again, in both directions.
//!
//! The survivor is an in-process node built like `cluster_node` (same public API, the `/chat`
//! events this test needs) so that the test can call its cluster queries directly.

use crate::common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use socketio::args::IntoPayload;
use socketio::client::{Client, ClientSocket};
use socketio::engineio::Sid;
use socketio::manager::{PubSubManager, RedisBus, SocketInfo};
use socketio::{AckError, AckSender, NamespaceBuilder, Payload, Socket, SocketIo};
use tokio::sync::{Semaphore, mpsc, watch};

use common::bus::{Events, RedisServer, free_port, next_event, recording_client_on};
use common::eio::within;
use common::{ExampleProcess, example_binary, spawn_until_ready};

/// The survivor's heartbeat interval.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Node B's heartbeat interval (`cluster_node --heartbeat-ms`), shorter than the survivor's:
/// every heartbeat announces its interval, so each node counts the other for three of the
/// other's intervals and nodes with different intervals do not lose sight of each other.
const B_HEARTBEAT: Duration = Duration::from_millis(300);

/// How long the survivor keeps counting node B once it is silent: three of B's intervals (see
/// `PubSubManagerBuilder::heartbeat_interval`).
const PEER_EXPIRY: Duration = Duration::from_millis(3 * B_HEARTBEAT.as_millis() as u64);

/// How long a cluster-wide query of the survivor waits for the other nodes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Room for scheduling delays on a loaded 2-core CI machine, on top of a documented deadline.
const SLACK: Duration = Duration::from_secs(2);

/// How long the survivor's `request-ack-to` waits for the target's reply.
const REQUEST_ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// The timeout of the server-side emits with ack this test aims at the dead node.
const DEAD_ACK_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a client waits for the ack of one call.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The room with members on both nodes.
const ROOM: &str = "both-nodes";

/// The traffic sends one step per tick, so that it runs for the whole test without taking the
/// CPU from the nodes it watches.
const STEP: Duration = Duration::from_millis(4);

/// At most this many steps wait for their echo ack, so no queue on the way can fill.
const WINDOW: u32 = 8;

/// Node B is killed as soon as its member of the room got this step's `room-message`.
const KILL_AFTER_STEP: u64 = 25;

/// How often a bounded poll asks a query again.
const POLL: Duration = Duration::from_millis(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_during_traffic_leaves_the_survivor_whole_and_rejoins() {
    let _alone = crate::alone().await;
    let redis = RedisServer::start();
    let survivor = Survivor::start(&redis.url()).await;
    let port_b = free_port();
    let mut node_b = start_node_b(port_b, &redis.url());
    let b_addr = node_b.addr;
    until_server_count(
        &survivor.io,
        2,
        Instant::now(),
        SLACK * 5,
        "node B to count",
    )
    .await;

    let mut sender = Peer::connect(survivor.addr).await;
    let mut member_s = Peer::connect(survivor.addr).await;
    let target_s = Peer::connect(survivor.addr).await;
    let mut asker = Peer::connect(survivor.addr).await;
    let mut member_b = Peer::connect(b_addr).await;
    let mut target_b = Peer::connect(b_addr).await;
    member_s.join(ROOM).await;
    member_b.join(ROOM).await;

    // The cluster works in both directions before anything dies.
    asker.to_room(&json!("hello")).await;
    assert_eq!(member_s.next("room-message").await, [json!("hello")]);
    assert_eq!(member_b.next("room-message").await, [json!("hello")]);
    member_b.to_room(&json!("from B")).await;
    assert_eq!(member_s.next("room-message").await, [json!("from B")]);
    asker.request_ack_to(&target_b.sid, "ping B");
    assert_eq!(
        asker.next("ack-result").await,
        [json!("got"), json!("ping B")]
    );
    let survivor_sids = sids([&sender, &member_s, &target_s, &asker]);
    let b_sids = sids([&member_b, &target_b]);
    let (_, everyone) = survivor.chat_sockets().await;
    assert_eq!(
        ids(&everyone),
        &survivor_sids | &b_sids,
        "fetch_sockets() before the kill"
    );
    for socket in &everyone {
        let on_survivor = survivor_sids.contains(&socket.sid);
        assert_eq!(socket.node == survivor.host_id, on_survivor, "{socket:?}");
    }
    let rooms = survivor.io.all_rooms("/chat").await;
    assert!(rooms.contains(&ROOM.to_owned()), "{rooms:?}");
    assert!(rooms.contains(&member_b.sid), "{rooms:?}");

    // Traffic from a client of the survivor, and node B killed in its middle, right after B's
    // member of the room got one of its messages.
    let (stop, stopped) = watch::channel(false);
    let steps_sent = Arc::new(AtomicU64::new(0));
    let traffic = tokio::spawn(traffic(
        sender.chat.clone(),
        target_s.sid.clone(),
        steps_sent.clone(),
        stopped,
    ));
    within("node B's member to see the traffic", async {
        while member_b.next("room-message").await != [json!(KILL_AFTER_STEP)] {}
    })
    .await;
    sigkill_process_group(&mut node_b);
    let killed_at = Instant::now();
    let steps_at_kill = steps_sent.load(Ordering::Relaxed);

    // Everything at once, while the survivor may still count B.
    let dead_target = target_b.sid.clone();
    let (expired_after, first_fetch, dead_sid, dead_room, dead_request, b_reasons) = tokio::join!(
        until_server_count(
            &survivor.io,
            1,
            killed_at,
            PEER_EXPIRY + SLACK,
            "B to expire"
        ),
        async {
            let count = survivor.io.server_count().await;
            (count, survivor.chat_sockets().await)
        },
        timed(survivor.ack_request(&dead_target, "to a dead node")),
        timed(survivor.ack_request(ROOM, "to both nodes")),
        timed(async {
            asker.request_ack_to(&dead_target, "to a dead node");
            asker.next("ack-timeout").await
        }),
        async {
            let member = member_b.next("disconnect").await;
            let target = target_b.next("disconnect").await;
            (member, target)
        },
    );

    // B's clients lost their connection without a goodbye; they stop trying to reconnect, so
    // the restarted node only has the clients this test gives it.
    for reason in [&b_reasons.0, &b_reasons.1] {
        assert!(
            matches!(
                reason[0].as_str(),
                Some("transport close" | "transport error")
            ),
            "a client of the killed node saw {reason:?}"
        );
    }
    member_b.client.disconnect();
    target_b.client.disconnect();

    // A query made while B may still count answers within its timeout, without B's sockets.
    let (count_then, (first_fetch_took, first_fetch)) = first_fetch;
    assert_eq!(
        ids(&first_fetch),
        survivor_sids,
        "fetch_sockets() after the kill"
    );
    assert!(
        first_fetch_took <= REQUEST_TIMEOUT + SLACK,
        "fetch_sockets() took {first_fetch_took:?} (request timeout {REQUEST_TIMEOUT:?})"
    );

    // Emits with ack aimed at B's sockets end at their timeout; the survivor's member of the
    // shared room still answers, once.
    let (dead_sid_took, replies) = dead_sid;
    assert!(replies.is_empty(), "replies from a dead node: {replies:?}");
    assert_ends_at_timeout(dead_sid_took, DEAD_ACK_TIMEOUT, "emit_with_ack to B's sid");
    let (dead_room_took, replies) = dead_room;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].0.as_str(), member_s.sid);
    let reply = replies[0]
        .1
        .as_ref()
        .expect("the survivor's member answers");
    assert_eq!(reply.args, [json!("got"), json!("to both nodes")]);
    assert_ends_at_timeout(
        dead_room_took,
        DEAD_ACK_TIMEOUT,
        "emit_with_ack to the room",
    );
    let (dead_request_took, timed_out) = dead_request;
    assert_eq!(timed_out, [json!(dead_target)]);
    assert_ends_at_timeout(dead_request_took, REQUEST_ACK_TIMEOUT, "request-ack-to B");

    // B no longer counts, and queries answer without it.
    assert!(
        expired_after <= PEER_EXPIRY + SLACK,
        "server_count() dropped {expired_after:?} after the kill"
    );
    let (expired_fetch_took, after_expiry) = survivor.chat_sockets().await;
    assert_eq!(
        ids(&after_expiry),
        survivor_sids,
        "fetch_sockets() after B expired"
    );
    assert!(
        after_expiry.iter().all(|s| s.node == survivor.host_id),
        "{after_expiry:?}"
    );
    assert!(
        expired_fetch_took <= REQUEST_TIMEOUT + SLACK,
        "{expired_fetch_took:?}"
    );
    let rooms = survivor.io.all_rooms("/chat").await;
    assert!(rooms.contains(&ROOM.to_owned()), "{rooms:?}");
    for sid in &b_sids {
        assert!(
            !rooms.contains(sid),
            "all_rooms() still has B's {sid}: {rooms:?}"
        );
    }
    assert_eq!(survivor.io.server_count().await, 1);

    // The traffic went on all along: every delivery and ack on the survivor, once, in order.
    stop.send(true).expect("traffic running");
    let report = within("the traffic to end", traffic)
        .await
        .expect("the traffic task");
    assert!(
        report.steps > steps_at_kill,
        "no traffic after the kill ({} steps, {steps_at_kill} at the kill)",
        report.steps
    );
    report.assert_complete();
    sender.to_room(&json!("end")).await;
    sender.broadcast(&json!("end")).await;
    let (room_messages, broadcasts) = until_end_markers(&mut member_s.events).await;
    assert_steps_in_order(&room_messages, report.steps, "room-message on the survivor");
    assert_steps_in_order(
        &broadcasts,
        report.steps,
        "broadcast-message on the survivor",
    );
    assert_ack_results_once(&mut sender, &target_s.sid, report.steps).await;

    // B restarts on the same port and bus and is part of the cluster again.
    let node_b = start_node_b(port_b, &redis.url());
    assert_eq!(node_b.addr, b_addr);
    let restarted_at = Instant::now();
    let recount_took =
        until_server_count(&survivor.io, 2, restarted_at, SLACK * 5, "B to count again").await;
    let mut member_b = Peer::connect(b_addr).await;
    let target_b = Peer::connect(b_addr).await;
    member_b.join(ROOM).await;
    asker.to_room(&json!("again")).await;
    assert_eq!(member_b.next("room-message").await, [json!("again")]);
    assert_eq!(member_s.next("room-message").await, [json!("again")]);
    member_b.to_room(&json!("from the new B")).await;
    assert_eq!(
        member_s.next("room-message").await,
        [json!("from the new B")]
    );
    asker.request_ack_to(&target_b.sid, "ping the new B");
    assert_eq!(
        asker.next("ack-result").await,
        [json!("got"), json!("ping the new B")]
    );
    member_b.request_ack_to(&target_s.sid, "from the new B");
    assert_eq!(
        member_b.next("ack-result").await,
        [json!("got"), json!("from the new B")]
    );
    let (_, everyone) = survivor.chat_sockets().await;
    let new_b_sids = sids([&member_b, &target_b]);
    assert_eq!(ids(&everyone), &survivor_sids | &new_b_sids);
    assert!(b_sids.is_disjoint(&ids(&everyone)), "{everyone:?}");
    assert_eq!(survivor.io.server_count().await, 2);

    eprintln!(
        "node loss: {} steps of traffic ({steps_at_kill} before the kill); server_count() 2 -> 1 \
         {expired_after:?} after SIGKILL (expiry {PEER_EXPIRY:?}, B heartbeats every {B_HEARTBEAT:?}); \
         fetch_sockets() right after the kill (count {count_then}) {first_fetch_took:?}, after \
         expiry {expired_fetch_took:?}; acks aimed at B ended after {dead_sid_took:?} (sid), \
         {dead_room_took:?} (room), {dead_request_took:?} (request-ack-to); back to 2 nodes \
         {recount_took:?} after the restart",
        report.steps
    );
}

/// The in-process node that survives, on the same Redis as node B.
struct Survivor {
    io: SocketIo,
    addr: SocketAddr,
    host_id: String,
}

impl Survivor {
    async fn start(redis_url: &str) -> Survivor {
        let manager = PubSubManager::builder(RedisBus::new(redis_url).expect("redis url"))
            .heartbeat_interval(HEARTBEAT)
            .request_timeout(REQUEST_TIMEOUT)
            .connect()
            .await
            .expect("redis reachable");
        let host_id = manager.host_id().to_owned();
        let io = SocketIo::builder()
            .manager(manager)
            .namespace("/chat", chat_namespace)
            .build()
            .expect("server");
        let addr = common::serve(&io).await;
        Survivor { io, addr, host_id }
    }

    fn chat(&self) -> socketio::BroadcastOperator {
        self.io.of("/chat").expect("/chat exists")
    }

    /// Emits `ack-request` (`what`) with an ack to `target` (a sid or a room) on every node,
    /// and gathers the replies until the stream ends.
    async fn ack_request(&self, target: &str, what: &str) -> Vec<(Sid, Result<Payload, AckError>)> {
        self.chat()
            .to(target)
            .timeout(DEAD_ACK_TIMEOUT)
            .emit_with_ack("ack-request", what)
            .expect("emit")
            .collect_all()
            .await
    }

    /// Every `/chat` socket of the cluster, and how long the query took.
    async fn chat_sockets(&self) -> (Duration, Vec<SocketInfo>) {
        timed(self.chat().fetch_sockets()).await
    }
}

/// The `/chat` events of docs/PROGRAMS.md, `conformance` and `cluster_node` that this test uses, plus `broadcast` (…args)
/// → `broadcast-message` (…args) to every other socket of the namespace, acked `"ok"`. When
/// `request-ack-to` gets no reply in time, the requester is told with `ack-timeout` (sid).
fn chat_namespace(ns: NamespaceBuilder) -> NamespaceBuilder {
    ns.on(
        "join",
        |socket: Arc<Socket>, payload: Payload, ack: Option<AckSender>| async move {
            let room = first_as_string(payload).0;
            socket.join(&room);
            answer(ack, room);
        },
    )
    .on(
        "echo-ack",
        |payload: Payload, ack: Option<AckSender>| async move {
            answer(ack, payload);
        },
    )
    .on(
        "to-room",
        |socket: Arc<Socket>, payload: Payload, ack: Option<AckSender>| async move {
            let (room, rest) = first_as_string(payload);
            let _ = socket.to(room).emit("room-message", rest);
            answer(ack, "ok");
        },
    )
    .on(
        "broadcast",
        |socket: Arc<Socket>, payload: Payload, ack: Option<AckSender>| async move {
            let _ = socket.broadcast().emit("broadcast-message", payload);
            answer(ack, "ok");
        },
    )
    .on(
        "request-ack-to",
        |socket: Arc<Socket>, payload: Payload, _ack: Option<AckSender>| async move {
            let (target, rest) = first_as_string(payload);
            let Ok(mut replies) = socket
                .namespace_sockets()
                .to(target.clone())
                .timeout(REQUEST_ACK_TIMEOUT)
                .emit_with_ack::<Payload>("ack-request", rest)
            else {
                return;
            };
            // The reply may come from another node: wait for it without holding up the
            // requester's next events.
            tokio::spawn(async move {
                let _ = match replies.next().await {
                    Some((_, Ok(reply))) => socket.emit("ack-result", reply),
                    _ => socket.emit("ack-timeout", target),
                };
            });
        },
    )
}

/// The first argument as a string (a non-string as its JSON text), and the other arguments.
fn first_as_string(mut payload: Payload) -> (String, Payload) {
    if payload.args.is_empty() {
        return (String::new(), payload);
    }
    let first = match payload.args.remove(0) {
        Value::String(text) => text,
        other => other.to_string(),
    };
    (first, payload)
}

fn answer(ack: Option<AckSender>, args: impl IntoPayload) {
    if let Some(ack) = ack {
        let _ = ack.send(args);
    }
}

/// Node B: a `cluster_node` process on `port`, in a process group of its own so that it can be
/// killed as a whole.
fn start_node_b(port: u16, redis_url: &str) -> ExampleProcess {
    let mut cmd = Command::new(example_binary("cluster_node"));
    let heartbeat = B_HEARTBEAT.as_millis().to_string();
    cmd.args(["--port", &port.to_string(), "--redis", redis_url])
        .args(["--heartbeat-ms", &heartbeat])
        .process_group(0);
    spawn_until_ready(cmd, "cluster_node")
}

/// SIGKILL to the node's process group: no close frame, no DISCONNECT, no goodbye on the bus.
fn sigkill_process_group(node: &mut ExampleProcess) {
    let group = format!("-{}", node.child.id());
    let status = Command::new("kill")
        .args(["-KILL", "--", &group])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -KILL -- {group}: {status}");
    let ended = node.child.wait().expect("reap node B");
    assert_eq!(ended.signal(), Some(9), "node B ended with {ended}");
}

/// A client on `/chat` that records every event and answers every ack request with
/// `("got", …args)`.
struct Peer {
    client: Client,
    chat: ClientSocket,
    events: Events,
    sid: String,
}

impl Peer {
    async fn connect(addr: SocketAddr) -> Peer {
        let (client, events) =
            recording_client_on(addr, "/chat", json!({ "token": "secret" })).await;
        let chat = client.of("/chat");
        let sid = chat.sid().expect("connected to /chat");
        Peer {
            client,
            chat,
            events,
            sid,
        }
    }

    async fn call(&self, event: &str, args: impl IntoPayload) -> Vec<Value> {
        self.chat
            .timeout(CALL_TIMEOUT)
            .emit_with_ack::<Payload>(event, args)
            .await
            .unwrap_or_else(|e| panic!("{event}: {e}"))
            .args
            .into_vec()
    }

    async fn join(&self, room: &str) {
        assert_eq!(self.call("join", json!(room)).await, [json!(room)]);
    }

    async fn to_room(&self, value: &Value) {
        let ack = self.call("to-room", (json!(ROOM), value.clone())).await;
        assert_eq!(ack, [json!("ok")]);
    }

    async fn broadcast(&self, value: &Value) {
        let ack = self.call("broadcast", value.clone()).await;
        assert_eq!(ack, [json!("ok")]);
    }

    fn request_ack_to(&self, sid: &str, value: &str) {
        self.chat
            .emit("request-ack-to", (json!(sid), json!(value)))
            .expect("emit request-ack-to");
    }

    /// The arguments of the next `event`, skipping other events.
    async fn next(&mut self, event: &str) -> Vec<Value> {
        next_event(&mut self.events, event).await.args.into_vec()
    }
}

fn sids<const N: usize>(peers: [&Peer; N]) -> BTreeSet<String> {
    peers.iter().map(|peer| peer.sid.clone()).collect()
}

fn ids(sockets: &[SocketInfo]) -> BTreeSet<String> {
    sockets.iter().map(|socket| socket.sid.clone()).collect()
}

/// Awaits `future` (bounded) and says how long it took. An operation that starts a timer must
/// start inside `future`, so that the time counts from before it.
async fn timed<F: Future>(future: F) -> (Duration, F::Output) {
    let start = Instant::now();
    let output = within("a cluster operation", future).await;
    (start.elapsed(), output)
}

#[track_caller]
fn assert_ends_at_timeout(took: Duration, timeout: Duration, what: &str) {
    assert!(
        took >= timeout && took <= timeout + SLACK,
        "{what} ended after {took:?}, its timeout is {timeout:?}"
    );
}

/// Polls `server_count()` until it is `want` and returns the time since `since`: nothing
/// announces that a peer appeared or expired, so this is a bounded poll of the query.
async fn until_server_count(
    io: &SocketIo,
    want: usize,
    since: Instant,
    bound: Duration,
    what: &str,
) -> Duration {
    loop {
        let count = io.server_count().await;
        if count == want {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < bound,
            "{what}: server_count() is {count} after {:?}, want {want}",
            since.elapsed()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// What came back to the client that sent the traffic.
struct TrafficReport {
    steps: u64,
    /// `echo-ack` replies, in the order they arrived.
    echoes: Vec<Vec<Value>>,
    /// `to-room` and `broadcast` acks.
    room_acks: Vec<Vec<Value>>,
    broadcast_acks: Vec<Vec<Value>>,
}

impl TrafficReport {
    /// Every step's acks arrived once, the echoes in order.
    fn assert_complete(&self) {
        let echoed: Vec<Value> = self
            .echoes
            .iter()
            .map(|args| match args.as_slice() {
                [one] => one.clone(),
                other => panic!(
                    "an echo-ack reply with {} arguments: {other:?}",
                    other.len()
                ),
            })
            .collect();
        assert_steps_in_order(&echoed, self.steps, "echo-ack replies");
        let ok = vec![vec![json!("ok")]; self.steps as usize];
        assert!(
            self.room_acks == ok,
            "to-room acks: {}",
            summary(&self.room_acks)
        );
        assert!(
            self.broadcast_acks == ok,
            "broadcast acks: {}",
            summary(&self.broadcast_acks)
        );
    }
}

/// A short account of a long list of acks.
fn summary(acks: &[Vec<Value>]) -> String {
    let odd: Vec<&Vec<Value>> = acks.iter().filter(|ack| **ack != [json!("ok")]).collect();
    format!(
        "{} acks, {} not [\"ok\"]: {:?}",
        acks.len(),
        odd.len(),
        &odd[..odd.len().min(3)]
    )
}

/// `seen` is `[0, 1, …, steps - 1]`; a failure names the first place where it is not.
#[track_caller]
fn assert_steps_in_order(seen: &[Value], steps: u64, what: &str) {
    let first_wrong = (0..steps)
        .zip(seen)
        .position(|(step, value)| *value != json!(step));
    let at = first_wrong.unwrap_or(seen.len().min(steps as usize));
    assert!(
        first_wrong.is_none() && seen.len() as u64 == steps,
        "{what}: {} values for {steps} steps; from index {at}: {:?}",
        seen.len(),
        &seen[at..seen.len().min(at + 4)]
    );
}

/// Sends numbered steps until `stop`: `to-room` (ROOM, n), `broadcast` (n), `request-ack-to`
/// (`target`, n) and `echo-ack` (n), all but `request-ack-to` with an ack. At most [`WINDOW`]
/// steps wait for their echo at any time.
async fn traffic(
    chat: ClientSocket,
    target: String,
    steps_sent: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> TrafficReport {
    let (acks, mut arrived) = mpsc::unbounded_channel::<(&'static str, Vec<Value>)>();
    let window = Arc::new(Semaphore::new(WINDOW as usize));
    let mut pace = tokio::time::interval(STEP);
    let mut steps = 0u64;
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = pace.tick() => {}
        }
        let permit = within("an echo ack", window.clone().acquire_owned())
            .await
            .expect("the window stays open");
        let n = json!(steps);
        for (event, args) in [
            ("to-room", Payload::from_args(vec![json!(ROOM), n.clone()])),
            ("broadcast", Payload::from_args(vec![n.clone()])),
        ] {
            let acks = acks.clone();
            chat.emit_with_callback(event, args, move |reply: Result<Payload, _>| {
                // A missing reply records nothing the check below accepts.
                let _ = acks.send((event, reply.map(|p| p.args.into_vec()).unwrap_or_default()));
                async {}
            })
            .unwrap_or_else(|e| panic!("{event} {steps}: {e}"));
        }
        chat.emit("request-ack-to", (json!(target), n.clone()))
            .unwrap_or_else(|e| panic!("request-ack-to {steps}: {e}"));
        // Last in the step: the server handles a client's events in order, so this ack says
        // the whole step was handled.
        let echo_acks = acks.clone();
        chat.emit_with_callback("echo-ack", n, move |reply: Result<Payload, _>| {
            drop(permit);
            let _ = echo_acks.send((
                "echo-ack",
                reply.map(|p| p.args.into_vec()).unwrap_or_default(),
            ));
            async {}
        })
        .unwrap_or_else(|e| panic!("echo-ack {steps}: {e}"));
        steps += 1;
        steps_sent.store(steps, Ordering::Relaxed);
    }
    // Ack callbacks run in the order the acks arrive, so once every echo is back every other
    // ack has been recorded too.
    let _all = within("the last echo acks", window.acquire_many(WINDOW))
        .await
        .expect("the window stays open");
    let mut report = TrafficReport {
        steps,
        echoes: Vec::new(),
        room_acks: Vec::new(),
        broadcast_acks: Vec::new(),
    };
    while let Ok((event, args)) = arrived.try_recv() {
        match event {
            "echo-ack" => report.echoes.push(args),
            "to-room" => report.room_acks.push(args),
            _ => report.broadcast_acks.push(args),
        }
    }
    report
}

/// The first argument of every `room-message` and `broadcast-message`, until both brought
/// `"end"`.
async fn until_end_markers(events: &mut Events) -> (Vec<Value>, Vec<Value>) {
    let (mut room_messages, mut broadcasts) = (Vec::new(), Vec::new());
    let (mut room_done, mut broadcast_done) = (false, false);
    within("both end markers", async {
        while !(room_done && broadcast_done) {
            let (event, payload) = events.recv().await.expect("client alive");
            let (seen, done) = match event.as_str() {
                "room-message" => (&mut room_messages, &mut room_done),
                "broadcast-message" => (&mut broadcasts, &mut broadcast_done),
                _ => continue,
            };
            let first = payload.args.first().cloned().unwrap_or_default();
            assert!(!*done, "{event} {first} after its end marker");
            if first == json!("end") {
                *done = true;
            } else {
                seen.push(first);
            }
        }
    })
    .await;
    (room_messages, broadcasts)
}

/// Each traffic step's `ack-result` reached the sender exactly once. They come from separate
/// tasks, so their order is not promised; a final marker shows that nothing more was coming.
async fn assert_ack_results_once(sender: &mut Peer, target: &str, steps: u64) {
    let mut seen = BTreeSet::new();
    while (seen.len() as u64) < steps {
        let args = sender.next("ack-result").await;
        assert_eq!(args.len(), 2, "{args:?}");
        assert_eq!(args[0], json!("got"));
        let step = args[1].as_u64().expect("a step number");
        assert!(step < steps, "ack-result for step {step} of {steps}");
        assert!(seen.insert(step), "ack-result {step} arrived twice");
    }
    sender.request_ack_to(target, "end");
    let last = sender.next("ack-result").await;
    assert_eq!(
        last,
        [json!("got"), json!("end")],
        "an ack-result after all steps"
    );
}
