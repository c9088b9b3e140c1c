//! Client handlers written with `#[socketio::on("…", client)]` (or `on(EventType, client)`) and
//! `#[socketio::namespace("/…", client)]`, against the official Node `socket.io` server set up
//! with the contract of docs/PROGRAMS.md, `conformance` (`tests/js/contract_server.mjs`): typed and binary
//! arguments, a connect handler, a class-style namespace whose method answers the server's ack
//! with its return value, and the namespaces joined because handlers name them.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use socketio::Payload;
use socketio::args::to_payload;
use socketio::client::{Client, ClientAck, ClientSocket, DisconnectReason, Transports};
use tokio::sync::mpsc;

/// What the handlers saw, in order: (what, value).
type Seen = (&'static str, Value);

fn seen() -> &'static OnceLock<mpsc::UnboundedSender<Seen>> {
    static SEEN: OnceLock<mpsc::UnboundedSender<Seen>> = OnceLock::new();
    &SEEN
}

fn record(what: &'static str, value: Value) {
    if let Some(sender) = seen().get() {
        let _ = sender.send((what, value));
    }
}

#[socketio::on("connect", client)]
async fn connected(socket: ClientSocket) {
    record("connect", json!(socket.namespace()));
}

#[socketio::on("disconnect", client)]
async fn disconnected(socket: ClientSocket, reason: DisconnectReason) {
    record("disconnect", json!([socket.namespace(), reason.as_str()]));
}

#[socketio::on("auth", client)]
async fn main_auth(auth: Value) {
    record("auth /", auth);
}

/// The server's `message-back` (text, bytes) as a tuple struct: a handler for the type.
#[derive(serde::Deserialize, socketio::Event)]
#[event("message-back")]
struct MessageBack(String, Bytes);

#[socketio::on(MessageBack, client)]
async fn message_back(MessageBack(text, data): MessageBack) {
    record("message-back", json!([text, data.to_vec()]));
}

/// The `/chat` namespace as an impl block with state.
struct Chat {
    prefix: &'static str,
}

#[socketio::namespace("/chat", client)]
impl Chat {
    async fn on_auth(&self, auth: Value) {
        record("auth /chat", auth);
    }

    /// The server asks with an ack; the return value is the answer.
    #[on("ack-request")]
    async fn ack_request(&self, question: String, data: Bytes) -> (String, Bytes) {
        (format!("{}{question}", self.prefix), data)
    }

    #[on("ack-result")]
    async fn ack_result(&self, answer: String, data: Bytes) {
        record("ack-result", json!([answer, data.to_vec()]));
    }
}

struct NodeServer(Child);

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the official Node server with the `conformance` contract on a free port.
fn start_node_server() -> (NodeServer, String) {
    common::require_npm_package("socket.io");
    let mut child = Command::new("node")
        .arg("tests/js/contract_server.mjs")
        .current_dir(common::workspace_root())
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start node");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = NodeServer(child);
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .and_then(Result::ok)
        .expect("the server prints its ready line");
    let addr = line.rsplit(' ').next().expect("an address").to_owned();
    (server, format!("http://{addr}"))
}

/// The handlers' records, taken by name in any order.
struct Inbox {
    receiver: mpsc::UnboundedReceiver<Seen>,
    early: Vec<Seen>,
}

impl Inbox {
    async fn next(&mut self, what: &str) -> Value {
        if let Some(index) = self.early.iter().position(|(got, _)| *got == what) {
            return self.early.remove(index).1;
        }
        loop {
            let (got, value) = tokio::time::timeout(Duration::from_secs(10), self.receiver.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; seen {:?}", self.early))
                .expect("the handlers keep the channel open");
            if got == what {
                return value;
            }
            self.early.push((got, value));
        }
    }
}

async fn exercise(url: &str, transports: Transports, inbox: &mut Inbox) {
    let client = Client::builder(url)
        .transports(transports)
        .namespace("/chat", |ns| ns.auth(json!({ "token": "secret" })))
        .register_namespace(Chat { prefix: "re: " })
        .connect()
        .await
        .expect("connects / and /chat");
    assert_eq!(inbox.next("connect").await, json!("/"));
    assert_eq!(inbox.next("auth /").await, json!({}));
    assert_eq!(inbox.next("auth /chat").await, json!({ "token": "secret" }));

    let payload = to_payload(&("hello", Bytes::from_static(&[1, 2, 3]))).expect("serializes");
    client.of("/").emit("message", payload).expect("emits");
    assert_eq!(
        inbox.next("message-back").await,
        json!(["hello", [1, 2, 3]])
    );

    let payload = to_payload(&("why?", Bytes::from_static(&[9]))).expect("serializes");
    client
        .of("/chat")
        .emit("request-ack", payload)
        .expect("emits");
    assert_eq!(inbox.next("ack-result").await, json!(["re: why?", [9]]));
    client.disconnect();
    assert_eq!(
        inbox.next("disconnect").await,
        json!(["/", "io client disconnect"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macro_handlers_talk_to_the_official_node_server() {
    let (sender, receiver) = mpsc::unbounded_channel();
    seen().set(sender).expect("set once");
    let mut inbox = Inbox {
        receiver,
        early: Vec::new(),
    };
    let (_server, url) = start_node_server();
    for transports in [Transports::Polling, Transports::WebSocket] {
        exercise(&url, transports, &mut inbox).await;
    }
}

/// `registered_handlers(false)`: the client has only the handlers given to its builder. It
/// builds without the `Chat` instance the registered namespace would need, joins only `/`, and
/// its hand-registered `message-back` handler gets the server's reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_can_leave_out_the_registered_handlers() {
    let (_server, url) = start_node_server();
    let (replies, mut replied) = mpsc::unbounded_channel();
    let client = Client::builder(url.as_str())
        .registered_handlers(false)
        .namespace("/", move |ns| {
            ns.on(
                "message-back",
                move |payload: Payload, _ack: Option<ClientAck>| {
                    let replies = replies.clone();
                    async move {
                        let _ = replies.send(payload.args);
                    }
                },
            )
        })
        .connect()
        .await
        .expect("builds without the Chat instance and connects /");
    assert!(client.of("/").connected());
    assert!(
        !client.of("/chat").connected(),
        "the registered /chat handlers were left out"
    );
    client
        .of("/")
        .emit("message", ("by hand", 1))
        .expect("emits");
    let args = tokio::time::timeout(Duration::from_secs(10), replied.recv())
        .await
        .expect("the server answers")
        .expect("the handler keeps the channel");
    assert_eq!(args, vec![json!("by hand"), json!(1)]);
    client.disconnect();
}
