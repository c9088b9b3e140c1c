//! Drives the project's Rust client against a server with the `/`, `/custom` and `/chat`
//! contract (docs/PROGRAMS.md, `conformance`) and prints one line per check (docs/PROGRAMS.md, `client_probe`).
//!
//! Run: `client_probe --url http://127.0.0.1:3000 [--transport polling|websocket|default]`
//!
//! Check 16 needs a runner that restarts the server: with `PROBE_RESTART=line` the probe prints
//! `RESTART-SERVER` once its client is connected on `/` and `/chat`, and waits for the client to
//! come back by itself.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use socketio::Payload;
use socketio::args::to_payload;
use socketio::client::{
    Client, ClientAck, ClientBuilder, ClientError, ClientSocket, DisconnectReason, Reconnection,
    Transports,
};
use socketio::engineio::TransportKind;
use socketio::handler::EventName;
use tokio::sync::{Mutex, mpsc};

/// The longest one step of a check may take.
const STEP: Duration = Duration::from_secs(10);
/// How long check 16 waits for the client to come back after the restart.
const RESTART_WAIT: Duration = Duration::from_secs(30);

type CheckResult = Result<String, String>;

#[tokio::main]
async fn main() {
    let mut url = None;
    let mut transports = Transports::Upgrade;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--url", Some(value)) => url = Some(value),
            ("--transport", Some(value)) => match value.parse() {
                Ok(parsed) => transports = parsed,
                Err(error) => usage(&error.to_string()),
            },
            _ => usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(url) = url else {
        usage("--url is required")
    };
    let probe = Probe { url, transports };
    let (passed, failed) = probe.run_all().await;
    println!("{passed} passed, {failed} failed");
    let _ = std::io::stdout().flush();
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "client_probe: {problem}\nusage: client_probe --url http://127.0.0.1:PORT \
         [--transport polling|websocket|default]"
    );
    std::process::exit(2);
}

/// Something a probe client saw.
#[derive(Debug, Clone)]
enum Seen {
    Event {
        namespace: String,
        name: String,
        payload: Payload,
    },
    Disconnect {
        namespace: String,
        reason: DisconnectReason,
    },
}

impl Seen {
    fn is_event(&self, namespace: &str, name: &str) -> bool {
        matches!(self, Seen::Event { namespace: ns, name: n, .. } if ns == namespace && n == name)
    }

    fn is_disconnect(&self, namespace: &str) -> bool {
        matches!(self, Seen::Disconnect { namespace: ns, .. } if ns == namespace)
    }
}

/// What a client saw and nobody has taken yet.
struct Recorder {
    incoming: mpsc::UnboundedReceiver<Seen>,
    backlog: Vec<Seen>,
}

/// A client that records every event and disconnect, and acks `ack-request` on `/chat` with
/// the arguments it got.
struct ProbeClient {
    client: Client,
    seen: Mutex<Recorder>,
}

impl ProbeClient {
    /// Takes the first thing seen that matches `wanted` (waiting at most `wait` for it), with
    /// everything seen before it that is still untaken.
    async fn take(
        &self,
        wanted: impl Fn(&Seen) -> bool,
        wait: Duration,
        what: &str,
    ) -> Result<(Seen, Vec<Seen>), String> {
        let mut recorder = self.seen.lock().await;
        let recorder = &mut *recorder;
        if let Some(index) = recorder.backlog.iter().position(&wanted) {
            let before = recorder.backlog[..index].to_vec();
            return Ok((recorder.backlog.remove(index), before));
        }
        let next = async {
            while let Some(item) = recorder.incoming.recv().await {
                if wanted(&item) {
                    return Some(item);
                }
                recorder.backlog.push(item);
            }
            None
        };
        match tokio::time::timeout(wait, next).await {
            Ok(Some(item)) => Ok((item, recorder.backlog.clone())),
            Ok(None) => Err(format!("the client stopped before {what}")),
            Err(_) => Err(format!("no {what} within {wait:?}")),
        }
    }

    /// The next event `name` on `namespace`, and everything untaken seen before it.
    async fn next_event(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(Payload, Vec<Seen>), String> {
        let what = format!("`{name}` on {namespace}");
        match self
            .take(|s| s.is_event(namespace, name), STEP, &what)
            .await?
        {
            (Seen::Event { payload, .. }, before) => Ok((payload, before)),
            (other, _) => Err(format!("expected {what}, got {other:?}")),
        }
    }

    /// The payload of the next event `name` on `namespace`.
    async fn event(&self, namespace: &str, name: &str) -> Result<Payload, String> {
        self.next_event(namespace, name)
            .await
            .map(|(payload, _)| payload)
    }

    /// The next disconnect of `namespace`.
    async fn disconnect_reason(
        &self,
        namespace: &str,
        wait: Duration,
    ) -> Result<DisconnectReason, String> {
        let what = format!("disconnect of {namespace}");
        match self
            .take(|s| s.is_disconnect(namespace), wait, &what)
            .await?
        {
            (Seen::Disconnect { reason, .. }, _) => Ok(reason),
            (other, _) => Err(format!("expected {what}, got {other:?}")),
        }
    }

    /// Whether a disconnect was seen so far.
    async fn saw_disconnect(&self) -> Option<DisconnectReason> {
        let mut recorder = self.seen.lock().await;
        while let Ok(item) = recorder.incoming.try_recv() {
            recorder.backlog.push(item);
        }
        recorder.backlog.iter().find_map(|s| match s {
            Seen::Disconnect { reason, .. } => Some(reason.clone()),
            Seen::Event { .. } => None,
        })
    }

    /// Sends `echo` on `/chat` and returns what was seen before the echo came back: with one
    /// server, anything queued for this client earlier arrives first.
    async fn echo_round_trip(&self) -> Result<Vec<Seen>, String> {
        emit(
            &self.client,
            "/chat",
            "echo",
            to_payload(&("sync",)).map_err(err)?,
        )?;
        self.next_event("/chat", "echo")
            .await
            .map(|(_, before)| before)
    }
}

struct Probe {
    url: String,
    transports: Transports,
}

fn err(error: impl std::fmt::Display) -> String {
    error.to_string()
}

fn emit(client: &Client, namespace: &str, event: &str, payload: Payload) -> Result<(), String> {
    client.of(namespace).emit(event, payload).map_err(err)
}

async fn call(
    client: &Client,
    namespace: &str,
    event: &str,
    payload: Payload,
) -> Result<Payload, String> {
    client
        .of(namespace)
        .timeout(STEP)
        .emit_with_ack::<Payload>(event, payload)
        .await
        .map_err(err)
}

/// The arguments as one JSON value with each attachment written `{"$binary": [bytes…]}`, so
/// payloads can be compared whatever the placeholder numbering.
fn comparable(payload: &Payload) -> Result<Value, String> {
    let mut args = Value::Array(payload.args.to_vec());
    socketio::parser::replace_placeholders(
        &mut args,
        &payload.attachments,
        |data| json!({ "$binary": data.to_vec() }),
    )
    .map_err(err)?;
    Ok(args)
}

fn same(got: &Payload, sent: &Payload) -> Result<(), String> {
    let (got, sent) = (comparable(got)?, comparable(sent)?);
    if got == sent {
        Ok(())
    } else {
        let show = |v: &Value| v.to_string().chars().take(300).collect::<String>();
        Err(format!("sent {} but got {}", show(&sent), show(&got)))
    }
}

fn no_event(seen: &[Seen], name: &str, who: &str) -> Result<(), String> {
    if seen
        .iter()
        .any(|s| matches!(s, Seen::Event { name: n, .. } if n == name))
    {
        Err(format!("{who} received `{name}`"))
    } else {
        Ok(())
    }
}

fn secret() -> Value {
    json!({ "token": "secret" })
}

impl Probe {
    fn builder(&self) -> ClientBuilder {
        Client::builder(&self.url)
            .transports(self.transports)
            .connect_timeout(STEP)
            .reconnection(Reconnection {
                delay: Duration::from_millis(200),
                delay_max: Duration::from_secs(1),
                randomization: 0.2,
                ..Reconnection::default()
            })
    }

    /// A recording client joined to `namespaces` (with auth).
    async fn open(&self, namespaces: &[(&str, Option<Value>)]) -> Result<ProbeClient, String> {
        self.open_with(self.builder(), namespaces).await
    }

    async fn open_with(
        &self,
        mut builder: ClientBuilder,
        namespaces: &[(&str, Option<Value>)],
    ) -> Result<ProbeClient, String> {
        let (tx, seen) = mpsc::unbounded_channel();
        for (namespace, auth) in namespaces {
            let auth = auth.clone();
            let (events, disconnects) = (tx.clone(), tx.clone());
            builder = builder.namespace(*namespace, move |mut ns| {
                if let Some(auth) = auth {
                    ns = ns.auth(auth);
                }
                ns.on_any(
                    move |socket: ClientSocket,
                          EventName(name): EventName,
                          payload: Payload,
                          _no_ack: Option<ClientAck>| {
                        let _ = events.send(Seen::Event {
                            namespace: socket.namespace().to_owned(),
                            name,
                            payload,
                        });
                        async {}
                    },
                )
                .on("ack-request", |payload: Payload| async move { payload })
                .on_disconnect(
                    move |socket: ClientSocket, reason: DisconnectReason| {
                        let _ = disconnects.send(Seen::Disconnect {
                            namespace: socket.namespace().to_owned(),
                            reason,
                        });
                        async {}
                    },
                )
            });
        }
        let client = builder.connect().await.map_err(err)?;
        Ok(ProbeClient {
            client,
            seen: Mutex::new(Recorder {
                incoming: seen,
                backlog: Vec::new(),
            }),
        })
    }

    async fn run_all(&self) -> (usize, usize) {
        let mut results = Results::default();
        let first = self.open(&[("/", None)]).await;
        let chat = self.open(&[("/", None), ("/chat", Some(secret()))]).await;
        match (&first, &chat) {
            (Ok(first), Ok(chat)) => self.checks(first, chat, &mut results).await,
            (Err(error), _) | (_, Err(error)) => {
                for (n, name) in NAMES.iter().enumerate().take(15) {
                    results.report(n + 1, name, Err(format!("could not connect: {error}")));
                }
            }
        }
        for client in [first, chat].into_iter().flatten() {
            client.client.disconnect();
        }
        results.report(16, NAMES[15], self.restart().await);
        (results.passed, results.failed)
    }

    async fn checks(&self, first: &ProbeClient, chat: &ProbeClient, results: &mut Results) {
        results.report(1, NAMES[0], check_auth(first, "/", json!({})).await);
        results.report(2, NAMES[1], self.heartbeat(first).await);
        results.report(3, NAMES[2], self.refused().await);
        results.report(4, NAMES[3], check_auth(chat, "/chat", secret()).await);
        results.report(5, NAMES[4], multiplexed(chat).await);
        results.report(6, NAMES[5], binary_message(first).await);
        results.report(7, NAMES[6], message_with_ack(first).await);
        results.report(8, NAMES[7], echo_ack_binary(chat).await);
        results.report(9, NAMES[8], large(chat).await);
        results.report(10, NAMES[9], ordered(first).await);
        results.report(11, NAMES[10], server_ack(chat).await);
        let others = async {
            let sender = self.open(&[("/chat", Some(secret()))]).await?;
            let outsider = self.open(&[("/chat", Some(secret()))]).await?;
            for client in [&sender, &outsider] {
                client.event("/chat", "auth").await?;
            }
            Ok::<_, String>((sender, outsider))
        };
        match others.await {
            Ok((sender, outsider)) => {
                results.report(12, NAMES[11], rooms(chat, &sender, &outsider).await);
                results.report(13, NAMES[12], leave(chat, &sender).await);
                results.report(14, NAMES[13], disconnect_me(&outsider, &sender).await);
                results.report(15, NAMES[14], client_disconnect(&sender, chat).await);
                sender.client.disconnect();
                outsider.client.disconnect();
            }
            Err(error) => {
                for n in 12..=15 {
                    results.report(n, NAMES[n - 1], Err(format!("more clients: {error}")));
                }
            }
        }
    }

    async fn heartbeat(&self, client: &ProbeClient) -> CheckResult {
        let sid = client.client.socket().sid();
        // The check itself is that the session survives this long on heartbeats alone.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        if !client.client.connected() || client.client.socket().sid() != sid {
            return Err("the session did not survive 1 s of heartbeats".into());
        }
        let transport = client.client.transport().ok_or("no transport")?;
        let expected = match self.transports {
            Transports::Polling => TransportKind::Polling,
            Transports::WebSocket | Transports::Upgrade => TransportKind::WebSocket,
        };
        if transport != expected {
            return Err(format!(
                "transport {} instead of {}",
                transport.as_str(),
                expected.as_str()
            ));
        }
        if let Some(reason) = client.saw_disconnect().await {
            return Err(format!("disconnected: {reason}"));
        }
        Ok(format!("transport {}", transport.as_str()))
    }

    async fn refused(&self) -> CheckResult {
        let outcome = self
            .builder()
            .namespace("/chat", |ns| ns.auth(json!({ "token": "wrong" })))
            .connect()
            .await;
        match outcome {
            Err(ClientError::ConnectRefused { message, .. }) if message == "unauthorized" => {
                Ok(String::new())
            }
            Err(other) => Err(format!("refused with {other}")),
            Ok(client) => {
                client.disconnect();
                Err("the wrong token was accepted".into())
            }
        }
    }

    async fn restart(&self) -> CheckResult {
        if std::env::var("PROBE_RESTART").as_deref() != Ok("line") {
            return Err("not run under a runner".into());
        }
        let evaluations = Arc::new(AtomicU64::new(0));
        let counter = evaluations.clone();
        let builder = self.builder().namespace("/chat", move |ns| {
            ns.auth_with(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                async move { json!({ "token": "secret", "n": n }) }
            })
        });
        let client = self
            .open_with(builder, &[("/", None), ("/chat", None)])
            .await?;
        let outcome = self.restart_checks(&client).await;
        client.client.disconnect();
        outcome
    }

    async fn restart_checks(&self, client: &ProbeClient) -> CheckResult {
        client.event("/", "auth").await?;
        let before = client.event("/chat", "auth").await?;
        println!("RESTART-SERVER");
        let _ = std::io::stdout().flush();
        let reason = client.disconnect_reason("/", RESTART_WAIT).await?;
        if !reason.reconnects() {
            return Err(format!(
                "the client saw {reason}, not a transport close or error"
            ));
        }
        let wait_auth = |namespace: &'static str| async move {
            tokio::time::timeout(RESTART_WAIT, async {
                loop {
                    match client.event(namespace, "auth").await {
                        Ok(payload) => return Ok(payload),
                        Err(error) if error.starts_with("no ") => continue,
                        Err(error) => return Err(error),
                    }
                }
            })
            .await
            .map_err(|_| format!("{namespace} did not come back within {RESTART_WAIT:?}"))?
        };
        wait_auth("/").await?;
        let after = wait_auth("/chat").await?;
        if after.args == before.args {
            return Err(format!("the auth was not computed again: {:?}", after.args));
        }
        let sent = to_payload(&("again", Bytes::from_static(b"\x01\x02"))).map_err(err)?;
        emit(&client.client, "/", "message", sent.clone())?;
        same(&client.event("/", "message-back").await?, &sent)?;
        same(
            &call(&client.client, "/chat", "echo-ack", sent.clone()).await?,
            &sent,
        )?;
        Ok(format!("reconnected after {reason}"))
    }
}

const NAMES: [&str; 16] = [
    "connect-auth",
    "heartbeat",
    "chat-refused",
    "chat-auth",
    "multiplex",
    "binary-message",
    "message-with-ack",
    "echo-ack-binary",
    "large-payload",
    "ordering",
    "server-ack",
    "rooms",
    "leave",
    "disconnect-me",
    "client-disconnect",
    "reconnect",
];

#[derive(Default)]
struct Results {
    passed: usize,
    failed: usize,
}

impl Results {
    fn report(&mut self, n: usize, name: &str, result: CheckResult) {
        match result {
            Ok(note) if note.is_empty() => {
                self.passed += 1;
                println!("PASS {n} {name}");
            }
            Ok(note) => {
                self.passed += 1;
                println!("PASS {n} {name} ({note})");
            }
            Err(reason) => {
                self.failed += 1;
                println!("FAIL {n} {name}: {reason}");
            }
        }
        let _ = std::io::stdout().flush();
    }
}

async fn check_auth(client: &ProbeClient, namespace: &str, expected: Value) -> CheckResult {
    let payload = client.event(namespace, "auth").await?;
    if payload.args == [expected.clone()] {
        Ok(String::new())
    } else {
        Err(format!("auth {:?}, expected [{expected}]", payload.args))
    }
}

async fn multiplexed(client: &ProbeClient) -> CheckResult {
    let (root, chat) = (client.client.socket(), client.client.of("/chat"));
    let (Some(root_sid), Some(chat_sid)) = (root.sid(), chat.sid()) else {
        return Err("both namespaces should be connected".into());
    };
    let sent = to_payload(&("both",)).map_err(err)?;
    same(
        &call(&client.client, "/", "message-with-ack", sent.clone()).await?,
        &sent,
    )?;
    same(
        &call(&client.client, "/chat", "echo-ack", sent.clone()).await?,
        &sent,
    )?;
    Ok(format!("sids {root_sid} and {chat_sid}"))
}

async fn binary_message(client: &ProbeClient) -> CheckResult {
    let sent = to_payload(&("binary", Bytes::from_static(&[0, 1, 2, 255]))).map_err(err)?;
    emit(&client.client, "/", "message", sent.clone())?;
    same(&client.event("/", "message-back").await?, &sent).map(|()| String::new())
}

async fn message_with_ack(client: &ProbeClient) -> CheckResult {
    let sent = to_payload(&(1, "two", json!({ "three": [3.5, null, true] }))).map_err(err)?;
    same(
        &call(&client.client, "/", "message-with-ack", sent.clone()).await?,
        &sent,
    )
    .map(|()| String::new())
}

async fn echo_ack_binary(client: &ProbeClient) -> CheckResult {
    #[derive(serde::Serialize)]
    struct Nested {
        name: &'static str,
        files: Vec<(Bytes, Option<Bytes>)>,
    }
    let nested = Nested {
        name: "deep",
        files: vec![
            (
                Bytes::from_static(b"\x00a"),
                Some(Bytes::from_static(b"\x01b")),
            ),
            (Bytes::from_static(b""), None),
        ],
    };
    let sent = to_payload(&(nested, Bytes::from_static(b"top"))).map_err(err)?;
    same(
        &call(&client.client, "/chat", "echo-ack", sent.clone()).await?,
        &sent,
    )?;
    let empty = call(&client.client, "/chat", "echo-ack", Payload::empty()).await?;
    if !empty.args.is_empty() {
        return Err(format!("echo-ack without args answered {:?}", empty.args));
    }
    Ok(String::new())
}

async fn large(client: &ProbeClient) -> CheckResult {
    let text = "x".repeat(200_000);
    let data = Bytes::from(
        (0..100_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let sent = to_payload(&(text, data)).map_err(err)?;
    same(
        &call(&client.client, "/chat", "echo-ack", sent.clone()).await?,
        &sent,
    )
    .map(|()| String::new())
}

async fn ordered(client: &ProbeClient) -> CheckResult {
    for i in 0..50 {
        emit(
            &client.client,
            "/",
            "message",
            to_payload(&("order", i)).map_err(err)?,
        )?;
    }
    for i in 0..50 {
        let payload = client.event("/", "message-back").await?;
        if payload.args != [json!("order"), json!(i)] {
            return Err(format!("event {i} came back as {:?}", payload.args));
        }
    }
    Ok(String::new())
}

async fn server_ack(client: &ProbeClient) -> CheckResult {
    let sent = to_payload(&("question", Bytes::from_static(b"\x07\x08"))).map_err(err)?;
    emit(&client.client, "/chat", "request-ack", sent.clone())?;
    same(&client.event("/chat", "ack-result").await?, &sent).map(|()| String::new())
}

async fn rooms(member: &ProbeClient, sender: &ProbeClient, outsider: &ProbeClient) -> CheckResult {
    let joined = call(
        &member.client,
        "/chat",
        "join",
        to_payload(&("r12",)).map_err(err)?,
    )
    .await?;
    if joined.args != [json!("r12")] {
        return Err(format!("join answered {:?}", joined.args));
    }
    let sent = to_payload(&("r12", "hello", Bytes::from_static(b"\x09"))).map_err(err)?;
    let ok = call(&sender.client, "/chat", "to-room", sent).await?;
    if ok.args != [json!("ok")] {
        return Err(format!("to-room answered {:?}", ok.args));
    }
    let got = member.event("/chat", "room-message").await?;
    same(
        &got,
        &to_payload(&("hello", Bytes::from_static(b"\x09"))).map_err(err)?,
    )?;
    no_event(
        &sender.echo_round_trip().await?,
        "room-message",
        "the sender",
    )?;
    no_event(
        &outsider.echo_round_trip().await?,
        "room-message",
        "the non-member",
    )?;
    Ok(String::new())
}

async fn leave(member: &ProbeClient, sender: &ProbeClient) -> CheckResult {
    let left = call(
        &member.client,
        "/chat",
        "leave",
        to_payload(&("r12",)).map_err(err)?,
    )
    .await?;
    if left.args != [json!("r12")] {
        return Err(format!("leave answered {:?}", left.args));
    }
    call(
        &sender.client,
        "/chat",
        "to-room",
        to_payload(&("r12", "after")).map_err(err)?,
    )
    .await?;
    no_event(
        &member.echo_round_trip().await?,
        "room-message",
        "the former member",
    )?;
    Ok(String::new())
}

async fn disconnect_me(leaving: &ProbeClient, watcher: &ProbeClient) -> CheckResult {
    let sid = leaving
        .client
        .of("/chat")
        .sid()
        .ok_or("not connected on /chat")?;
    emit(&leaving.client, "/chat", "disconnect-me", Payload::empty())?;
    let reason = leaving.disconnect_reason("/chat", STEP).await?;
    if reason != DisconnectReason::ServerDisconnect {
        return Err(format!("disconnected with {reason}"));
    }
    expect_peer_left(watcher, &sid).await
}

async fn client_disconnect(leaving: &ProbeClient, watcher: &ProbeClient) -> CheckResult {
    let sid = leaving
        .client
        .of("/chat")
        .sid()
        .ok_or("not connected on /chat")?;
    leaving.client.disconnect();
    tokio::time::timeout(STEP, leaving.client.wait())
        .await
        .map_err(|_| "the client did not end")?;
    expect_peer_left(watcher, &sid).await
}

async fn expect_peer_left(watcher: &ProbeClient, sid: &str) -> CheckResult {
    loop {
        let payload = watcher.event("/chat", "peer-left").await?;
        if payload.args == [json!(sid)] {
            return Ok(String::new());
        }
    }
}
