//! Concurrency at the Socket.IO layer, on in-process servers over real sockets:
//!
//! - binary packets emitted from many tasks at once reach the client whole: every
//!   `45N-…` text frame is followed by exactly its N attachments, never by another packet's;
//! - a namespace connect that fails leaves nothing behind (no socket, no room), also when
//!   the client goes away while the connect handler is still running;
//! - what a client sends right before it hangs up is handled before its sockets close: the
//!   last event runs, and a DISCONNECT keeps its reason;
//! - a connection's handlers run one at a time in arrival order, those that answer at once
//!   and those that wait alike.

use crate::common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::eio::{TIMEOUT, within};
use common::serve;
use common::sio::Client;
use serde_json::{Value, json};
use socketio::engineio::Sid;
use socketio::manager::{BroadcastTarget, LocalManager, Manager};
use socketio::{AckSender, ConnectError, DisconnectReason, Payload, Socket, SocketIo};
use tokio::sync::{Notify, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

// ---- binary emits from many tasks ----

const TASKS: u8 = 20;
const EMITS_PER_TASK: u8 = 50;

/// How many attachments emit `index` of `task` carries: 2 or 3.
fn attachment_count(task: u8, index: u8) -> usize {
    if (task + index).is_multiple_of(2) {
        3
    } else {
        2
    }
}

/// Attachment `k` of emit `index` of `task`: a header naming all three, then filler of a
/// length that varies from packet to packet, so frames of different sizes race.
fn attachment(task: u8, index: u8, k: u8) -> Vec<u8> {
    let filler = (usize::from(task) * 31 + usize::from(index) * 7 + usize::from(k) * 13) % 300;
    let mut data = vec![task, index, k];
    data.extend(std::iter::repeat_n(task ^ index ^ k, filler));
    data
}

/// The arguments of one emit: `task, index`, then the attachments at different depths.
fn blob_payload(task: u8, index: u8) -> Payload {
    let mut payload = Payload::from_args(vec![json!(task), json!(index)]);
    let count = attachment_count(task, index);
    let mut placed = Vec::new();
    for k in 0..count {
        placed.push(payload.binary(Bytes::from(attachment(task, index, k as u8))));
    }
    payload.args.push(json!({ "first": placed[0] }));
    payload.args.push(json!([placed[1]]));
    if count == 3 {
        payload.args.push(placed[2].clone());
    }
    payload
}

/// Splits `45N-[…]` (the main namespace, no ack id) into N and the JSON arguments.
#[track_caller]
fn binary_event_head(frame: &str) -> (usize, Vec<Value>) {
    let rest = frame
        .strip_prefix("45")
        .unwrap_or_else(|| panic!("not a binary event: {frame:?}"));
    let (count, json) = rest
        .split_once('-')
        .unwrap_or_else(|| panic!("no attachment count in {frame:?}"));
    let count = count
        .parse()
        .unwrap_or_else(|e| panic!("attachment count of {frame:?}: {e}"));
    let args = serde_json::from_str(json).unwrap_or_else(|e| panic!("JSON of {frame:?}: {e}"));
    (count, args)
}

/// Reads `packets` binary events named `event` and checks each is whole and in order per
/// task.
async fn read_blobs(client: &mut Client, event: &str, tasks: u8, per_task: u8) {
    let mut next_index: HashMap<u8, u8> = HashMap::new();
    for packet in 0..usize::from(tasks) * usize::from(per_task) {
        let head = client.recv_text().await;
        let (count, args) = binary_event_head(&head);
        assert_eq!(args[0], json!(event), "packet {packet}: {head}");
        let task = args[1].as_u64().expect("task") as u8;
        let index = args[2].as_u64().expect("index") as u8;
        let expected_index = next_index.entry(task).or_default();
        assert_eq!(
            index, *expected_index,
            "packet {packet}: task {task} emitted in order, so it arrives in order ({head})"
        );
        *expected_index += 1;
        assert_eq!(
            count,
            attachment_count(task, index),
            "packet {packet}: attachment count of {head}"
        );
        for k in 0..count {
            let data = match client.recv().await {
                Message::Binary(data) => data,
                other => panic!(
                    "packet {packet} ({head}): attachment {k} of {count} expected, got {other:?}"
                ),
            };
            assert!(
                data[..] == attachment(task, index, k as u8)[..],
                "packet {packet} ({head}): attachment {k} holds {:?}…, another packet's bytes",
                &data[..data.len().min(3)]
            );
        }
    }
    assert_eq!(next_index.len(), usize::from(tasks), "every task was heard");
    assert!(
        next_index.values().all(|&n| n == per_task),
        "every emit arrived: {next_index:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_binary_emits_to_one_socket_stay_whole() {
    let (sockets_tx, mut sockets) = mpsc::unbounded_channel::<Arc<Socket>>();
    let io = SocketIo::builder()
        // Room for every packet at once: this test is about order, not back-pressure.
        .engine(|config| config.queue_capacity(4096))
        .namespace("/", move |ns| {
            ns.on_connect(move |socket: Arc<Socket>| {
                let sockets_tx = sockets_tx.clone();
                async move {
                    let _ = sockets_tx.send(socket);
                    Ok(())
                }
            })
        })
        .build()
        .expect("valid server");
    let addr = serve(&io).await;

    let mut client = Client::connect(addr).await;
    client.join("/", None).await;
    let socket = within("the connected socket", sockets.recv())
        .await
        .expect("socket");

    let emitters: Vec<_> = (0..TASKS)
        .map(|task| {
            let socket = socket.clone();
            tokio::spawn(async move {
                for index in 0..EMITS_PER_TASK {
                    socket
                        .emit("blob", blob_payload(task, index))
                        .unwrap_or_else(|e| panic!("emit {task}/{index}: {e}"));
                    if index.is_multiple_of(4) {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();

    read_blobs(&mut client, "blob", TASKS, EMITS_PER_TASK).await;
    for emitter in emitters {
        within("an emitting task", emitter)
            .await
            .expect("the emitting task did not panic");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_binary_broadcasts_stay_whole_for_every_socket() {
    let io = SocketIo::builder()
        .engine(|config| config.queue_capacity(4096))
        .namespace("/", |ns| ns.on_connect(|| async { Ok(()) }))
        .build()
        .expect("valid server");
    let addr = serve(&io).await;

    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = Client::connect(addr).await;
        client.join("/", None).await;
        clients.push(client);
    }
    let (tasks, per_task) = (8u8, 30u8);

    let emitters: Vec<_> = (0..tasks)
        .map(|task| {
            let io = io.clone();
            tokio::spawn(async move {
                for index in 0..per_task {
                    io.emit("shared", blob_payload(task, index))
                        .unwrap_or_else(|e| panic!("broadcast {task}/{index}: {e}"));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move { read_blobs(&mut client, "shared", tasks, per_task).await })
        })
        .collect();
    for reader in readers {
        within("a client reading every broadcast", reader)
            .await
            .expect("the client saw every broadcast whole");
    }
    for emitter in emitters {
        within("a broadcasting task", emitter)
            .await
            .expect("the broadcasting task did not panic");
    }
}

// ---- failed namespace connects ----

/// The namespace whose connect handler decides.
const GUARDED: &str = "/guarded";
/// A room the connect handler joins before deciding, so a failed connect has something to
/// clean up besides the socket's own room.
const LOBBY: &str = "lobby";

/// The default manager, reporting every change of room membership.
struct WatchedManager {
    rooms: LocalManager,
    changes: watch::Sender<u64>,
}

impl WatchedManager {
    fn changed(&self) {
        self.changes.send_modify(|count| *count += 1);
    }
}

impl Manager for WatchedManager {
    fn join(&self, namespace: &str, sid: &Sid, room: &str) {
        self.rooms.join(namespace, sid, room);
        self.changed();
    }

    fn leave(&self, namespace: &str, sid: &Sid, room: &str) {
        self.rooms.leave(namespace, sid, room);
        self.changed();
    }

    fn leave_all(&self, namespace: &str, sid: &Sid) {
        self.rooms.leave_all(namespace, sid);
        self.changed();
    }

    fn rooms_of(&self, namespace: &str, sid: &Sid) -> Vec<String> {
        self.rooms.rooms_of(namespace, sid)
    }

    fn rooms(&self, namespace: &str) -> Vec<String> {
        self.rooms.rooms(namespace)
    }

    fn close_room(&self, namespace: &str, room: &str) -> Vec<Sid> {
        let members = self.rooms.close_room(namespace, room);
        self.changed();
        members
    }

    fn select(&self, namespace: &str, target: &BroadcastTarget) -> Vec<Sid> {
        self.rooms.select(namespace, target)
    }
}

/// What the connect handler of [`GUARDED`] answers.
#[derive(Clone, Copy)]
enum Verdict {
    Refuse,
    Accept,
}

struct GuardedServer {
    io: SocketIo,
    addr: SocketAddr,
    /// Bumped on every change of room membership.
    changes: watch::Receiver<u64>,
    /// The socket id of every connect attempt on [`GUARDED`], once it is in [`LOBBY`].
    attempts: mpsc::UnboundedReceiver<String>,
    /// The id of every `/` socket that left.
    left_main: mpsc::UnboundedReceiver<String>,
    /// Lets a waiting connect handler decide.
    release: Arc<Notify>,
}

/// A server with `/` (answers `ping` with an ack) and [`GUARDED`], whose connect handler
/// joins [`LOBBY`], waits for `release` when `wait` is set, then answers `verdict`.
async fn guarded_server(verdict: Verdict, wait: bool) -> GuardedServer {
    let (changes_tx, changes) = watch::channel(0);
    let (attempts_tx, attempts) = mpsc::unbounded_channel();
    let (left_tx, left_main) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let io = SocketIo::builder()
        .manager(WatchedManager {
            rooms: LocalManager::new(),
            changes: changes_tx,
        })
        .namespace("/", move |ns| {
            ns.on(
                "ping",
                |payload: Payload, ack: Option<AckSender>| async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(payload);
                    }
                },
            )
            .on_disconnect(move |socket: Arc<Socket>| {
                let left_tx = left_tx.clone();
                async move {
                    let _ = left_tx.send(socket.sid().to_string());
                }
            })
        })
        .namespace(GUARDED, move |ns| {
            ns.on_connect(move |socket: Arc<Socket>| {
                let attempts_tx = attempts_tx.clone();
                let gate = gate.clone();
                async move {
                    socket.join(LOBBY);
                    let _ = attempts_tx.send(socket.sid().to_string());
                    if wait {
                        gate.notified().await;
                    }
                    match verdict {
                        Verdict::Refuse => Err(ConnectError::new("go away")),
                        Verdict::Accept => Ok(()),
                    }
                }
            })
        })
        .build()
        .expect("valid server");
    let addr = serve(&io).await;
    GuardedServer {
        io,
        addr,
        changes,
        attempts,
        left_main,
        release,
    }
}

impl GuardedServer {
    /// What [`GUARDED`] still holds of socket `sid`: its socket handles and its rooms.
    fn leftovers(&self, sid: &str) -> (Vec<String>, Vec<String>) {
        let sockets = self
            .io
            .of(GUARDED)
            .expect("the guarded namespace exists")
            .sockets()
            .iter()
            .map(|socket| socket.sid().to_string())
            .collect();
        let rooms = self
            .io
            .rooms(GUARDED)
            .into_iter()
            .filter(|room| room == LOBBY || room == sid)
            .collect();
        (sockets, rooms)
    }

    /// Waits, woken by each membership change, until [`GUARDED`] holds nothing of `sid`.
    /// The handler joined [`LOBBY`] before deciding, so the wait cannot end before the
    /// server cleaned up.
    async fn assert_nothing_left_of(&mut self, sid: &str) {
        let outcome = tokio::time::timeout(TIMEOUT, async {
            loop {
                let (sockets, rooms) = self.leftovers(sid);
                if sockets.is_empty() && rooms.is_empty() {
                    return;
                }
                // Room changes wake us at once; the socket list is looked at again now and
                // then in case it empties without a room change.
                let _ =
                    tokio::time::timeout(Duration::from_millis(50), self.changes.changed()).await;
            }
        })
        .await;
        if outcome.is_err() {
            let (sockets, rooms) = self.leftovers(sid);
            panic!(
                "after {TIMEOUT:?} the failed connect of {sid} still left sockets {sockets:?} \
                 and rooms {rooms:?} in {GUARDED} (all rooms: {:?})",
                self.io.rooms(GUARDED)
            );
        }
    }

    async fn next_attempt(&mut self) -> String {
        within("the connect handler to start", self.attempts.recv())
            .await
            .expect("attempt")
    }
}

#[tokio::test]
async fn refused_connect_leaves_no_socket_and_no_room() {
    let mut server = guarded_server(Verdict::Refuse, false).await;
    let mut client = Client::connect(server.addr).await;
    client.join("/", None).await;

    client.send("40/guarded,");
    assert_eq!(
        client.recv_text().await,
        r#"44/guarded,{"message":"go away"}"#
    );
    let sid = server.next_attempt().await;
    server.assert_nothing_left_of(&sid).await;

    // The connection and its other namespace are unaffected.
    client.send(r#"421["ping","still here"]"#);
    assert_eq!(client.recv_text().await, r#"431["still here"]"#);
}

#[tokio::test]
async fn refused_connect_of_a_client_that_left_meanwhile_leaves_nothing() {
    let mut server = guarded_server(Verdict::Refuse, true).await;
    let mut client = Client::connect(server.addr).await;
    let main_sid = client.join("/", None).await;

    client.send("40/guarded,");
    let sid = server.next_attempt().await;
    drop(client);
    // The `/` socket leaving shows that the server saw the connection end.
    let left = within("the server to see the client go", server.left_main.recv()).await;
    assert_eq!(left.as_deref(), Some(main_sid.as_str()));
    server.release.notify_one();

    server.assert_nothing_left_of(&sid).await;
}

#[tokio::test]
async fn accepted_connect_of_a_client_that_left_meanwhile_leaves_nothing() {
    let mut server = guarded_server(Verdict::Accept, true).await;
    let mut client = Client::connect(server.addr).await;
    let main_sid = client.join("/", None).await;

    client.send("40/guarded,");
    let sid = server.next_attempt().await;
    drop(client);
    let left = within("the server to see the client go", server.left_main.recv()).await;
    assert_eq!(left.as_deref(), Some(main_sid.as_str()));
    // The handler accepts a connection that no longer exists.
    server.release.notify_one();

    server.assert_nothing_left_of(&sid).await;
    assert!(
        server
            .io
            .of(GUARDED)
            .expect("namespace")
            .sockets()
            .is_empty(),
        "a broadcast reaches nobody"
    );
}

// ---- packets right before the client hangs up ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_sent_right_before_hanging_up_are_handled_before_the_close() {
    let (seen, mut events) = mpsc::unbounded_channel();
    let on_event = seen.clone();
    let io = SocketIo::builder()
        .namespace("/room", move |ns| {
            let on_event = on_event.clone();
            let seen = seen.clone();
            ns.on("last", move |_payload: Payload, _ack: Option<AckSender>| {
                let _ = on_event.send("last".to_owned());
                async {}
            })
            .on_disconnect(move |reason: DisconnectReason| {
                let _ = seen.send(reason.as_str().to_owned());
                async {}
            })
        })
        .build()
        .expect("server");
    let addr = serve(&io).await;
    // The race is between the reader and the handler task; repeat to give it chances.
    for round in 0..20 {
        let mut client = Client::connect(addr).await;
        client.join("/room", None).await;
        client.send(r#"42/room,["last"]"#);
        client.send("41/room,");
        client.hang_up();
        let first = within("the last event", events.recv()).await;
        let second = within("the disconnect", events.recv()).await;
        assert_eq!(
            (first.as_deref(), second.as_deref()),
            (Some("last"), Some("client namespace disconnect")),
            "round {round}"
        );
    }
}

// ---- one handler at a time, in order ----

/// What the handlers of `/turns` did, in the order they did it.
type TurnLog = Arc<std::sync::Mutex<Vec<String>>>;

/// `/turns`: `wait` (n) says it started on `waiting`, waits for the gate and yields once
/// more; `now` (n) answers at once. Both log their start and end and whether another handler
/// of the connection was running.
fn turns_server(
    log: TurnLog,
    gate: watch::Receiver<bool>,
    waiting: mpsc::UnboundedSender<u64>,
) -> SocketIo {
    let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let record = move |log: &TurnLog, active: &std::sync::atomic::AtomicUsize, n: u64| {
        let others = active.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        log.lock()
            .unwrap()
            .push(format!("start {n} beside {others}"));
    };
    let finish = |log: &TurnLog, active: &std::sync::atomic::AtomicUsize, n: u64| {
        active.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        log.lock().unwrap().push(format!("end {n}"));
    };
    SocketIo::builder()
        .namespace("/turns", move |ns| {
            let (wait_log, wait_active, now_log, now_active) =
                (log.clone(), active.clone(), log.clone(), active.clone());
            ns.on("wait", move |n: u64| {
                let (log, active, mut gate) = (wait_log.clone(), wait_active.clone(), gate.clone());
                let waiting = waiting.clone();
                async move {
                    record(&log, &active, n);
                    let _ = waiting.send(n);
                    let _ = gate.wait_for(|open| *open).await;
                    tokio::task::yield_now().await;
                    finish(&log, &active, n);
                    n
                }
            })
            .on("now", move |n: u64| {
                record(&now_log, &now_active, n);
                finish(&now_log, &now_active, n);
                async move { n }
            })
        })
        .build()
        .expect("server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_run_one_at_a_time_in_arrival_order_whether_they_wait_or_not() {
    let log = TurnLog::default();
    let (open_gate, gate) = watch::channel(false);
    let (waiting, _waiting) = mpsc::unbounded_channel();
    let io = turns_server(log.clone(), gate, waiting);
    let addr = serve(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/turns", None).await;

    let events = [(1, "wait"), (2, "now"), (3, "now"), (4, "wait"), (5, "now")];
    for (n, event) in events {
        client.send(&format!(r#"42/turns,{n}["{event}",{n}]"#));
    }
    // The first handler waits until every packet is on its way: the ones behind it must
    // still wait for it, though they could answer at once.
    open_gate.send_replace(true);
    for (n, _) in events {
        assert_eq!(client.recv_text().await, format!("43/turns,{n}[{n}]"));
    }
    let expected: Vec<String> = events
        .iter()
        .flat_map(|(n, _)| [format!("start {n} beside 0"), format!("end {n}")])
        .collect();
    assert_eq!(*log.lock().unwrap(), expected);
}

/// More packets than the connection's queue holds (256) arrive behind a handler that waits:
/// once it goes on, every one of them is handled, in order, one at a time. (Whether the reader
/// met a full queue depends on how fast it read; the wake-up at a full queue has a unit test
/// of its own in the server's glue.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_behind_a_waiting_handler_is_handled_whole_and_in_order() {
    const FLOOD: u64 = 600;
    let log = TurnLog::default();
    let (open_gate, gate) = watch::channel(false);
    let (waiting, mut started) = mpsc::unbounded_channel();
    let io = turns_server(log.clone(), gate, waiting);
    let addr = serve(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/turns", None).await;

    client.send(r#"42/turns,0["wait",0]"#);
    assert_eq!(within("the waiting handler", started.recv()).await, Some(0));
    for n in 1..=FLOOD {
        client.send(&format!(r#"42/turns,{n}["now",{n}]"#));
    }
    open_gate.send_replace(true);
    for n in 0..=FLOOD {
        assert_eq!(client.recv_text().await, format!("43/turns,{n}[{n}]"));
    }
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2 * (FLOOD as usize + 1));
    assert!(
        log.iter().all(|entry| !entry.contains("beside 1")),
        "{log:?}"
    );
}
