//! Every handler form of `#[socketio::on]` and `#[socketio::namespace]`, driven over real
//! connections by the official `socket.io-client` (`tests/js/macro_client.mjs`): extractors,
//! typed arguments (optional, rest, binary at any depth), return values as acks (none, one,
//! several, `Result`), manual acks, bad arguments, guards, typed connect and disconnect
//! handlers, catch-all events and namespaces, stateful and stateless namespace impl blocks,
//! a function winning over a method, and registration by hand beside the macros.
//!
//! The same server is also driven by python-socketio's `AsyncClient`
//! (`tests/python/macro_client.py`) over WebSocket and over polling: typed acks from typed
//! handlers (a tuple with `Bytes`), event structs emitted by the server, and the server's typed
//! `emit_with_ack` answered by the Python client, JSON and binary alike.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use socketio::RegistryError;
use socketio::args::{Rest, to_payload};
use socketio::engineio::Handshake;
use socketio::handler::{Args, Auth, EventName, HandlerError, Session, State};
use socketio::{
    AckSender, BuildError, ConnectError, DisconnectReason, NamespaceBuilder, Payload, Socket,
    SocketIo, Typed,
};
use tokio::net::TcpListener;

// ---- namespace /typed: free functions -------------------------------------------------

#[derive(Deserialize)]
struct Token {
    token: String,
}

#[derive(Clone, Default)]
struct User {
    name: String,
}

#[derive(Clone)]
struct Config {
    motd: String,
}

/// `upload`'s one object argument, an event type (its handler names the namespace).
#[derive(Deserialize, socketio::Event)]
#[event("upload")]
struct Upload {
    name: String,
    data: Bytes,
}

#[derive(Serialize)]
struct Receipt {
    name: String,
    reversed: Bytes,
}

#[socketio::on("connect", namespace = "/typed")]
async fn typed_connect(socket: Arc<Socket>, auth: Option<Token>) -> Result<(), ConnectError> {
    let name = auth.map(|auth| auth.token).unwrap_or_default();
    if name == "bad" {
        return Err(ConnectError::new("bad token").with_data(json!({ "hint": "not bad" })));
    }
    socket.save_session(User { name });
    Ok(())
}

/// `tuple`'s two arguments as a tuple struct that knows its event and namespace.
#[derive(Deserialize, socketio::Event)]
#[event("tuple", namespace = "/typed")]
struct TupleArgs(String, u32);

#[socketio::on(TupleArgs)]
async fn tuple(TupleArgs(text, n): TupleArgs) -> (String, u32) {
    (text.to_uppercase(), n + 1)
}

#[socketio::on("single", namespace = "/typed")]
async fn single(value: Value) -> Value {
    json!({ "got": value })
}

#[socketio::on("unit", namespace = "/typed")]
async fn unit() {}

#[socketio::on("optional", namespace = "/typed")]
async fn optional(text: String, n: Option<u32>) -> (String, Option<u32>) {
    (text, n)
}

#[socketio::on("rest", namespace = "/typed")]
async fn rest(first: String, Rest(rest): Rest) -> (String, usize) {
    (first, rest.len())
}

#[socketio::on(Upload, namespace = "/typed")]
async fn upload(upload: Upload) -> (Receipt, usize) {
    let reversed: Vec<u8> = upload.data.iter().rev().copied().collect();
    let receipt = Receipt {
        name: upload.name,
        reversed: Bytes::from(reversed),
    };
    (receipt, upload.data.len())
}

#[socketio::on("fallible", namespace = "/typed")]
async fn fallible(n: i64) -> Result<i64, String> {
    if n < 0 {
        Err(format!("{n} is negative"))
    } else {
        Ok(n * 10)
    }
}

#[socketio::on("manual", namespace = "/typed")]
async fn manual(ack: AckSender, n: u32) {
    let _ = ack.send(to_payload(&(n * 2, "by hand")).expect("serializable"));
}

#[socketio::on("whoami", namespace = "/typed")]
async fn whoami(
    Session(user): Session<User>,
    Auth(auth): Auth<Option<Value>>,
    handshake: Handshake,
) -> (String, Option<Value>, bool) {
    let has_query = handshake.uri.query().is_some_and(|q| q.contains("EIO=4"));
    (user.name, auth, has_query)
}

#[socketio::on("state", namespace = "/typed")]
async fn state(State(config): State<Config>) -> String {
    config.motd
}

#[socketio::on("relay", namespace = "/typed")]
async fn relay(io: SocketIo, text: String) -> usize {
    let Some(stateless) = io.of("/stateless") else {
        return 0;
    };
    let reached = stateless.sockets().len();
    match stateless.emit("relayed", text) {
        Ok(()) => reached,
        Err(_) => 0,
    }
}

fn is_admin(socket: &Arc<Socket>) -> Result<(), String> {
    match socket.get_session::<User>() {
        Some(user) if user.name == "admin" => Ok(()),
        _ => Err("admins only".into()),
    }
}

#[socketio::on("secret", namespace = "/typed", guard = is_admin)]
async fn secret() -> &'static str {
    "the secret"
}

#[socketio::on("*", namespace = "/typed")]
async fn caught(socket: Arc<Socket>, EventName(event): EventName, payload: Payload) {
    let mut echoed = payload;
    echoed.args.insert(0, Value::String(event));
    let _ = socket.emit("caught", echoed);
}

#[socketio::on("disconnect", namespace = "/typed")]
async fn typed_disconnect(io: SocketIo, socket: Arc<Socket>, reason: DisconnectReason) {
    if let Some(watchers) = io.of("/watch") {
        let _ = watchers.emit("gone", (socket.sid().as_str(), reason.as_str()));
    }
}

// ---- namespace /bool: a connect handler returning bool ---------------------------------

#[socketio::on("connect", namespace = "/bool")]
async fn bool_connect(auth: Option<Value>) -> bool {
    auth.is_some()
}

// ---- every other namespace -------------------------------------------------------------

#[socketio::on("hello", namespace = "*")]
async fn any_namespace(socket: Arc<Socket>) -> String {
    socket.namespace().to_owned()
}

// ---- /admin: a stateful namespace impl block with a guard ------------------------------

struct Admin {
    prefix: String,
    kicks: AtomicUsize,
}

fn has_token(socket: &Arc<Socket>) -> bool {
    socket.auth().get("token").and_then(Value::as_str) == Some("admin")
}

#[socketio::namespace("/admin", guard = has_token)]
impl Admin {
    async fn on_connect(&self, socket: Arc<Socket>) {
        socket.join("admins");
    }

    async fn on_kick(&self, user: String) -> (String, usize) {
        let kicks = self.kicks.fetch_add(1, Ordering::SeqCst) + 1;
        (format!("{}{user}", self.prefix), kicks)
    }

    #[on("spaced name")]
    async fn spaced(&self, socket: Arc<Socket>) -> Vec<String> {
        socket.rooms()
    }

    /// Not a handler: no `on_` prefix and no `#[on]`.
    fn describe(&self) -> String {
        format!("admin namespace with prefix {}", self.prefix)
    }
}

// ---- /stateless: registers itself; a function beats a method ---------------------------

#[derive(Default)]
struct Stateless;

#[socketio::namespace("/stateless")]
impl Stateless {
    async fn on_overlap(&self) -> &'static str {
        "method"
    }

    async fn on_ping(&self) -> &'static str {
        "pong"
    }
}

#[socketio::on("overlap", namespace = "/stateless")]
async fn overlap_function() -> &'static str {
    "function"
}

// ---- namespace /events: typed emits, event structs and awaited acks --------------------

/// One object argument.
#[derive(Serialize, socketio::Event)]
#[event("shouted")]
struct Shouted {
    text: String,
    len: usize,
}

/// A tuple struct: one argument per field, the second binary.
#[derive(Serialize, socketio::Event)]
#[event("pair")]
struct Pair(String, Bytes);

/// What `/events` sends through a typed handle: `shout` emits only these.
#[socketio::event_set]
enum EventsToClient {
    Shouted(Shouted),
    Pair(Pair),
}

/// `shout` (text): the sender gets `shouted` {text, len}, then `pair` (text, bytes of text),
/// both through the declared set, then `spread` (text, 1, [bytes]) from a plain tuple on the
/// untyped handle; the ack says all three were queued.
#[socketio::on("shout", namespace = "/events")]
async fn shout(
    socket: Typed<Arc<Socket>, EventsToClient>,
    text: String,
) -> Result<&'static str, String> {
    let loud = text.to_uppercase();
    socket
        .emit(&Shouted {
            len: loud.len(),
            text: loud,
        })
        .map_err(|e| e.to_string())?;
    socket
        .emit(&Pair(text.clone(), Bytes::from(text.clone().into_bytes())))
        .map_err(|e| e.to_string())?;
    socket
        .untyped()
        .emit("spread", (&text, 1, [Bytes::from_static(b"\x01\x02")]))
        .map_err(|e| e.to_string())?;
    Ok("queued")
}

/// `quiz`: asks the client `question` ("6 x 7?", bytes) and acks what came back, read as
/// (u32, Bytes); then asks `question` again expecting a number the client does not give, and
/// acks the decode error's kind.
#[socketio::on("quiz", namespace = "/events")]
async fn quiz(socket: Arc<Socket>) -> Result<(u32, Bytes, &'static str), String> {
    let (answer, data): (u32, Bytes) = socket
        .timeout(std::time::Duration::from_secs(5))
        .emit_with_ack("question", ("6 x 7?", Bytes::from_static(b"\x06\x07")))
        .await
        .map_err(|e| e.to_string())?;
    let wrong = socket
        .timeout(std::time::Duration::from_secs(5))
        .emit_with_ack::<u32>("question", ("say a word", Bytes::new()))
        .await;
    let kind = match wrong {
        Err(socketio::AckError::Decode(_)) => "decode error",
        Err(_) => "other error",
        Ok(_) => "no error",
    };
    Ok((answer, data, kind))
}

/// `vote-here`: the socket joins room `voters`.
#[socketio::on("vote-here", namespace = "/events")]
async fn vote_here(socket: Arc<Socket>) {
    socket.join("voters");
}

/// `poll-room`: every socket of room `voters` is asked `vote` with a typed broadcast ack;
/// acks the votes (bool) in sid order.
#[socketio::on("poll-room", namespace = "/events")]
async fn poll_room(socket: Arc<Socket>) -> Result<Vec<bool>, String> {
    let mut replies = socket
        .namespace_sockets()
        .to("voters")
        .timeout(std::time::Duration::from_secs(5))
        .emit_with_ack::<bool>("vote", "lunch?")
        .map_err(|e| e.to_string())?
        .collect_all()
        .await;
    replies.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    replies
        .into_iter()
        .map(|(_, vote)| vote.map_err(|e| e.to_string()))
        .collect()
}

// ---- /by-hand: the same handler model, registered by hand --------------------------------

/// Two arguments that travel as one event, read whole with `Args`.
#[derive(Deserialize)]
struct Stamp(String, Bytes);

/// A `?` on a parse error becomes the error ack.
async fn parse_number(text: String) -> Result<u32, HandlerError> {
    let number: u32 = text.parse()?;
    if number == 0 {
        return Err(HandlerError::new("zero is not allowed"));
    }
    Ok(number)
}

/// `/by-hand`: the handler forms of `/typed`, registered by hand as closures and plain
/// `async fn`s instead of with `#[socketio::on]`. Where `/typed` has a function written for
/// the macro, the same function is registered here too: it is one model.
fn by_hand_namespace(ns: NamespaceBuilder) -> NamespaceBuilder {
    ns.on_connect(
        |socket: Arc<Socket>, Auth(auth): Auth<Option<Token>>| async move {
            let name = auth.map(|auth| auth.token).unwrap_or_default();
            if name == "bad" {
                return Err(ConnectError::new("bad token").with_data(json!({ "hint": "not bad" })));
            }
            socket.save_session(User { name });
            Ok(())
        },
    )
    .on("tuple", |text: String, n: u32| async move {
        (text.to_uppercase(), n + 1)
    })
    .on("single", single)
    .on("unit", unit)
    .on("optional", optional)
    .on("rest", rest)
    .on("fallible", fallible)
    .on("parse", parse_number)
    .on("stamp", |Args(Stamp(text, data)): Args<Stamp>| async move {
        (text.len(), data)
    })
    .on("raw", |payload: Payload| async move { payload })
    .on("manual", |ack: AckSender, n: u32| async move {
        let _ = ack.send((n * 2, "by hand"));
    })
    .on("whoami", whoami)
    .on("state", state)
    .on_any(
        |socket: Arc<Socket>, EventName(event): EventName, payload: Payload| async move {
            let mut echoed = payload;
            echoed.args.insert(0, Value::String(event));
            let _ = socket.emit("caught", echoed);
        },
    )
    .on_disconnect(
        |io: SocketIo, socket: Arc<Socket>, reason: DisconnectReason| async move {
            if let Some(watchers) = io.of("/watch") {
                let _ = watchers.emit("gone", (socket.sid().as_str(), reason.as_str()));
            }
        },
    )
}

/// What the outgoing catch-all of `/outgoing` saw a socket emit, kept in its session.
#[derive(Clone, Default)]
struct OutgoingLog(Vec<Value>);

/// `/outgoing`: `chatter` emits a plain event and an acked one; the outgoing catch-all
/// records each with its arguments, and `log` answers with the record.
fn outgoing_namespace(ns: NamespaceBuilder) -> NamespaceBuilder {
    ns.on_any_outgoing(|socket, event, payload| {
        let mut entry = vec![Value::String(event.to_owned())];
        entry.extend(payload.args.iter().cloned());
        socket.with_session(|log: &mut OutgoingLog| log.0.push(Value::Array(entry)));
    })
    .on("chatter", |socket: Arc<Socket>| async move {
        let _ = socket.emit("greeting", ("hi", 1));
        let reply: Result<String, _> = socket.emit_with_ack("question", "name?").await;
        reply.unwrap_or_else(|e| e.to_string())
    })
    .on(
        "log",
        |Session(log): Session<OutgoingLog>| async move { log.0 },
    )
}

// ---- the server --------------------------------------------------------------------------

fn builder() -> socketio::SocketIoBuilder {
    SocketIo::builder()
        .state(Config {
            motd: "welcome".into(),
        })
        .namespace("/watch", |ns| ns)
        .namespace("/by-hand", by_hand_namespace)
        .namespace("/outgoing", outgoing_namespace)
        .namespace("/typed", |ns| {
            ns.on(
                "by-hand",
                |payload: Payload, ack: Option<AckSender>| async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(payload);
                    }
                },
            )
        })
}

async fn serve(io: &SocketIo) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let app = io.router();
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

/// Builds the server with every handler of this file (and the `/admin` instance) and serves
/// it on a free port; returns it with its `http://` URL.
async fn start_server() -> (SocketIo, String) {
    let admin = Admin {
        prefix: "kicked:".into(),
        kicks: AtomicUsize::new(0),
    };
    assert!(admin.describe().contains("kicked:"));
    let io = builder()
        .register_namespace(admin)
        .build()
        .expect("the handlers fit together");
    let addr = serve(&io).await;
    (io, format!("http://{addr}"))
}

/// Runs an interop client script to completion off the runtime, so that the server keeps
/// serving it; fails unless it exits 0. Returns what it printed on stdout.
async fn run_script(cmd: std::process::Command, what: String) -> String {
    tokio::task::spawn_blocking(move || common::script_stdout(cmd, &what))
        .await
        .expect("the client script ran")
}

/// The official JavaScript client, `tests/js/macro_client.mjs`.
async fn run_client(transport: &'static str) {
    common::require_npm_package("socket.io-client");
    let (_io, url) = start_server().await;
    let mut cmd = std::process::Command::new("node");
    cmd.arg("tests/js/macro_client.mjs").arg(url).arg(transport);
    run_script(cmd, format!("macro_client.mjs {transport}")).await;
}

/// The checks of `tests/python/macro_client.py`, each of which must report `PASS`.
const PYTHON_CHECKS: [&str; 10] = [
    "connect to /typed (typed auth) and /events",
    "a tuple return is several ack arguments",
    "binary in a struct both ways: the ack is (struct with Bytes, usize)",
    "the catch-all handler echoes the raw payload: binary stays an attachment",
    "a Result return: the value, or an error object",
    "arguments of the wrong type never reach the handler",
    "event structs from the server: an object, a tuple struct with binary, a tuple",
    "the server's typed emit_with_ack reads this client's reply",
    "a typed broadcast ack collects one reply per client of the room",
    "every client stayed on the transport asked for",
];

/// python-socketio's `AsyncClient`, `tests/python/macro_client.py`, with
/// `transports=[transport]`.
async fn run_python_client(transport: &'static str) {
    let python = common::require_venv_python();
    let (_io, url) = start_server().await;
    let mut cmd = std::process::Command::new(python);
    cmd.arg("tests/python/macro_client.py")
        .arg(url)
        .arg(transport);
    let stdout = run_script(cmd, format!("macro_client.py {transport}")).await;
    let passed: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("PASS "))
        .collect();
    assert_eq!(
        passed, PYTHON_CHECKS,
        "macro_client.py {transport}:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_handler_form_over_websocket() {
    run_client("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_handler_form_over_polling() {
    run_client("polling").await;
}

#[test]
fn a_namespace_type_without_default_must_be_given_to_the_builder() {
    match builder().build() {
        Err(BuildError::Registry(RegistryError::MissingInstance {
            namespace,
            type_name,
        })) => {
            assert_eq!(namespace, "/admin");
            assert_eq!(type_name, "Admin");
        }
        other => panic!("expected a missing instance error, got {other:?}"),
    }
}

#[test]
fn a_hand_registration_and_a_macro_for_one_event_are_a_duplicate() {
    let admin = Admin {
        prefix: String::new(),
        kicks: AtomicUsize::new(0),
    };
    let result = builder()
        .register_namespace(admin)
        .namespace("/typed", |ns| {
            ns.on("tuple", |_ack: Option<AckSender>| async {})
        })
        .build();
    let Err(BuildError::Registry(RegistryError::Duplicate {
        namespace,
        event,
        first,
        second,
    })) = result
    else {
        panic!("expected a duplicate error, got {result:?}");
    };
    assert_eq!((namespace.as_str(), event.as_str()), ("/typed", "tuple"));
    let this_file = "tests/tests/macro_handlers.rs";
    assert!(first.contains(this_file), "{first}");
    assert!(second.contains(this_file), "{second}");
    assert_ne!(first, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_typed_round_trips_over_websocket() {
    run_python_client("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_typed_round_trips_over_polling() {
    run_python_client("polling").await;
}

/// `registered_handlers(false)`: the server has only the handlers given to its builder. The
/// hand-registered `tuple` of `/typed` answers instead of the macro's, and `/events`, which
/// only macro handlers name, does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_builder_can_leave_out_the_registered_handlers() {
    use socketio::client::{Client, ClientError};

    let io = SocketIo::builder()
        .registered_handlers(false)
        .namespace("/typed", |ns| {
            ns.on(
                "tuple",
                |payload: Payload, ack: Option<AckSender>| async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(("by hand", payload.args.len()));
                    }
                },
            )
        })
        .build()
        .expect("no registered handlers to clash");
    let url = format!("http://{}", serve(&io).await);

    let client = Client::builder(url.as_str())
        .namespace("/typed", |ns| ns)
        .connect()
        .await
        .expect("/typed exists");
    let reply: (String, usize) = client
        .of("/typed")
        .emit_with_ack("tuple", ("abc", 41))
        .await
        .expect("the hand-registered handler answers");
    assert_eq!(reply, ("by hand".to_owned(), 2));

    let refused = Client::builder(url.as_str())
        .namespace("/events", |ns| ns)
        .connect()
        .await
        .expect_err("/events has only macro handlers, which were left out");
    assert!(
        matches!(&refused, ClientError::ConnectRefused { namespace, .. } if namespace == "/events"),
        "{refused:?}"
    );

    // The same two facts from the official JavaScript client.
    common::require_npm_package("socket.io-client");
    let mut cmd = std::process::Command::new("node");
    cmd.arg("tests/js/opt_out_client.mjs").arg(&url);
    let stdout = run_script(cmd, "opt_out_client.mjs".into()).await;
    assert_eq!(
        stdout.matches("PASS").count(),
        2,
        "opt_out_client.mjs:\n{stdout}"
    );
}

// ---- namespace /leaving: `disconnecting` runs while the socket is still in its rooms -----

#[socketio::on("join", namespace = "/leaving")]
async fn leaving_join(socket: Arc<Socket>, room: String) -> bool {
    socket.join(&room);
    true
}

/// Tells the rest of each of the leaving socket's rooms who leaves, from which rooms, and
/// whether the namespace still lists it.
#[socketio::on("disconnecting", namespace = "/leaving")]
async fn leaving_disconnecting(io: SocketIo, socket: Arc<Socket>, reason: DisconnectReason) {
    let mut rooms = socket.rooms();
    rooms.sort();
    let listed = io
        .of("/leaving")
        .is_some_and(|ns| ns.sockets().iter().any(|s| s.sid() == socket.sid()));
    for room in socket.rooms() {
        let _ = socket.to(room).emit(
            "leaving",
            (socket.sid().as_str(), &rooms, listed, reason.as_str()),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_runs_while_the_socket_is_still_in_its_rooms() {
    use socketio::client::{Client, ClientAck};

    let (_io, url) = start_server().await;
    let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let stayer = Client::builder(url.as_str())
        .namespace("/leaving", move |ns| {
            ns.on(
                "leaving",
                move |payload: Payload, _ack: Option<ClientAck>| {
                    let told = told.clone();
                    async move {
                        let _ = told.send(payload.args);
                    }
                },
            )
        })
        .connect()
        .await
        .expect("the stayer connects");
    let leaver = Client::builder(url.as_str())
        .namespace("/leaving", |ns| ns)
        .connect()
        .await
        .expect("the leaver connects");
    for client in [&stayer, &leaver] {
        let joined: bool = client
            .of("/leaving")
            .emit_with_ack("join", "room-1")
            .await
            .expect("joins");
        assert!(joined);
    }
    let leaver_sid = leaver.of("/leaving").sid().expect("connected");
    leaver.disconnect();

    let args = tokio::time::timeout(std::time::Duration::from_secs(10), heard.recv())
        .await
        .expect("the stayer hears about it")
        .expect("the handler keeps the channel");
    let mut rooms = vec![leaver_sid.clone(), "room-1".to_owned()];
    rooms.sort();
    assert_eq!(
        args,
        vec![
            json!(leaver_sid),
            json!(rooms),
            json!(true),
            json!("client namespace disconnect"),
        ]
    );
    stayer.disconnect();
}

/// Per-event middleware (Node's `socket.use`): it renames an event and changes its argument
/// before the handler, and refuses `admin:` events, which the client learns as an error ack
/// or, without an ack, as an `event_refused` event; the refused events' handler never runs.
/// Checked from our client and from python-socketio's (`tests/python/pipeline_client.py`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_middleware_sees_changes_and_refuses_events() {
    use socketio::client::{Client, ClientAck};

    let ran = Arc::new(AtomicUsize::new(0));
    let admin_ran = ran.clone();
    let io = SocketIo::builder()
        .registered_handlers(false)
        .namespace("/guarded", move |ns| {
            let admin_ran = admin_ran.clone();
            ns.event_middleware(|_socket, mut event| async move {
                if event.name.starts_with("admin:") {
                    return Err(format!("{} is for admins", event.name));
                }
                if event.name == "old-name" {
                    event.name = "new-name".into();
                    event.payload.args.push(json!("added"));
                }
                Ok(event)
            })
            .on(
                "new-name",
                |payload: Payload, ack: Option<AckSender>| async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(payload);
                    }
                },
            )
            .on_any(move |_payload: Payload, _ack: Option<AckSender>| {
                let admin_ran = admin_ran.clone();
                async move {
                    admin_ran.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .build()
        .expect("builds");
    let url = format!("http://{}", serve(&io).await);

    let (errors, mut error_events) = tokio::sync::mpsc::unbounded_channel();
    let client = Client::builder(url.as_str())
        .namespace("/guarded", move |ns| {
            ns.on(
                socketio::EVENT_REFUSED,
                move |payload: Payload, _ack: Option<ClientAck>| {
                    let errors = errors.clone();
                    async move {
                        let _ = errors.send(payload.args);
                    }
                },
            )
        })
        .connect()
        .await
        .expect("connects");
    let socket = client.of("/guarded");

    let renamed: (String, String) = socket
        .emit_with_ack("old-name", "kept")
        .await
        .expect("the renamed event's handler answers");
    assert_eq!(renamed, ("kept".to_owned(), "added".to_owned()));

    let refused: Value = socket
        .emit_with_ack("admin:wipe", ())
        .await
        .expect("the refusal is the ack");
    assert_eq!(refused, json!({ "error": "admin:wipe is for admins" }));

    socket.emit("admin:quiet", ()).expect("emits");
    let told = tokio::time::timeout(std::time::Duration::from_secs(10), error_events.recv())
        .await
        .expect("an event_refused event comes")
        .expect("the handler keeps the channel");
    assert_eq!(
        told,
        vec![json!({ "event": "admin:quiet", "message": "admin:quiet is for admins" })]
    );
    // Everything the client sent has been answered in order, so a handler run would show.
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "no handler ran for a refused event"
    );
    client.disconnect();

    // The same three checks from python-socketio's client.
    let mut cmd = std::process::Command::new(common::require_venv_python());
    cmd.arg("tests/python/pipeline_client.py").arg(&url);
    let stdout = run_script(cmd, "pipeline_client.py".to_owned()).await;
    let passed: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("PASS "))
        .collect();
    assert_eq!(
        passed,
        [
            "renamed event and changed argument",
            "refusal as the ack",
            "refusal as an event_refused event",
        ],
        "pipeline_client.py:\n{stdout}"
    );
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "no handler ran for a refused event"
    );
}

/// The outgoing catch-all (Node's `onAnyOutgoing`) sees each event a socket emits, plain and
/// acked, with its arguments, and the client still gets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outgoing_catch_all_sees_every_emit_of_a_socket() {
    use socketio::client::{Client, ClientAck};

    let (seen, mut outgoing) = tokio::sync::mpsc::unbounded_channel();
    let io = SocketIo::builder()
        .registered_handlers(false)
        .namespace("/watched", move |ns| {
            let seen = seen.clone();
            ns.on_any_outgoing(move |socket, event, payload| {
                let _ = seen.send((
                    socket.sid().to_string(),
                    event.to_owned(),
                    payload.args.to_vec(),
                ));
            })
            .on(
                "hello",
                |socket: Arc<Socket>, _payload: Payload, ack: Option<AckSender>| async move {
                    let _ = socket.emit("greeting", ("hi", 1));
                    let answer: Result<String, _> = socket.emit_with_ack("question", "name?").await;
                    if let Some(ack) = ack {
                        let _ = ack.send(answer.unwrap_or_else(|e| e.to_string()));
                    }
                },
            )
        })
        .build()
        .expect("builds");
    let url = format!("http://{}", serve(&io).await);
    let (greeted, mut greetings) = tokio::sync::mpsc::unbounded_channel();
    let client = Client::builder(url.as_str())
        .namespace("/watched", move |ns| {
            ns.on(
                "greeting",
                move |payload: Payload, _ack: Option<ClientAck>| {
                    let greeted = greeted.clone();
                    async move {
                        let _ = greeted.send(payload.args);
                    }
                },
            )
            .on(
                "question",
                |_payload: Payload, ack: Option<ClientAck>| async move {
                    if let Some(ack) = ack {
                        let _ = ack.send("ann");
                    }
                },
            )
        })
        .connect()
        .await
        .expect("connects");
    let socket = client.of("/watched");
    let sid = socket.sid().expect("connected");
    let answer: String = socket.emit_with_ack("hello", ()).await.expect("answers");
    assert_eq!(answer, "ann");
    assert_eq!(
        greetings.recv().await.expect("the greeting arrives"),
        vec![json!("hi"), json!(1)]
    );
    assert_eq!(
        outgoing.recv().await.expect("seen"),
        (
            sid.clone(),
            "greeting".to_owned(),
            vec![json!("hi"), json!(1)]
        )
    );
    assert_eq!(
        outgoing.recv().await.expect("seen"),
        (sid, "question".to_owned(), vec![json!("name?")])
    );
    client.disconnect();
}
