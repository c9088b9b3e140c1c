//! Soak: keeps N Engine.IO / Socket.IO clients churning against the `conformance` example
//! (docs/PROGRAMS.md, `conformance`, path `/socket.io/`) for a while, then checks that the server is back
//! where it started: no sessions, no sockets, as many open file descriptors as before the
//! first client, and a resident set no more than 10 % above its level after the warm-up.
//!
//! ```text
//! soak --server PATH/TO/conformance [--clients 1000] [--duration 30] [--warmup SECS]
//!      [--settle 30] [--seed N] [--sample SECS] [--ramp SECS] [--drop-deadline 15]
//!      [--chat-percent 10] [--think-ms 1000] [--traffic-secs 11] [--polling-percent 50]
//!      [--source-ips 16] [--ping-interval-ms 300] [--ping-timeout-ms 200]
//!      [--server-log FILE]
//! soak --attach PID --url http://127.0.0.1:PORT …   (a server started with `--stats`)
//! ```
//!
//! Every client slot loops over random lifecycles: a transport (WebSocket, long-polling, or
//! polling upgraded to WebSocket), a set of namespaces (`/`, `/custom`, `/chat` with the token
//! `secret`, sometimes a wrong one), some traffic (`message` → `message-back`, acks, `join`,
//! `leave`, `to-room`, `disconnect-me`, binary attachments), and an ending: a clean
//! disconnect, a TCP reset, a half-open socket, a client that stops reading while the server
//! keeps sending, or an engine session that never connects a namespace. Clients speak the
//! protocol by hand (WebSocket frames over tokio-tungstenite, HTTP/1.1 over a bare TCP stream)
//! so that they can misbehave on purpose, and the well-behaved ones check every reply.
//!
//! The server's counters come from `GET /stats` (`conformance --stats`), its descriptors and
//! memory from `/proc/<pid>/fd` and `/proc/<pid>/status`. Whether the server still holds the
//! connection of a silent client is read from `/proc/net/tcp`: the server's end of a
//! connection has a non-zero inode while a descriptor refers to it.
//!
//! Exit status 0 when every check passed and the server came back to its baseline; 1 with
//! the reasons otherwise. The last line before the verdict is `SOAK-SUMMARY {json}`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Notify, oneshot, watch};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// How long any one protocol step (a handshake, a reply) may take before it counts as an
/// error. Generous: the point is to notice replies that never come, not slow ones.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// The contract's heartbeat, checked in every open packet unless `--ping-interval-ms` /
/// `--ping-timeout-ms` asked the server for another one.
const PING_INTERVAL_MS: u64 = 300;
const PING_TIMEOUT_MS: u64 = 200;
/// The heartbeat of this run (interval, timeout in ms), set once from the options.
static HEARTBEAT_MS: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
const MAX_PAYLOAD: u64 = 1_000_000;
/// Rooms of `/chat` that many clients join and send to, so rooms are created and emptied
/// all the time.
const LOBBIES: u32 = 16;
/// RSS may end at most this much above its level after the warm-up.
const RSS_TOLERANCE: f64 = 1.10;
/// A stop-reading client asks for this many `message-back`s of this size, so that the
/// server's socket buffer fills and its writer blocks.
const FLOOD_MESSAGES: usize = 64;
const FLOOD_BYTES: usize = 4096;
/// Receive buffer of a stop-reading client: small, so a little data fills it.
const SMALL_RCVBUF: u32 = 4096;

fn main() -> std::process::ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("soak: {message}\n\n{}", Options::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let _ = HEARTBEAT_MS.set(options.heartbeat_ms);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(options)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(message) => {
            println!("SOAK FAILED: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// Options

#[derive(Debug, Clone)]
enum Target {
    /// Start this `conformance` binary with `--stats` on a free port.
    Spawn(PathBuf),
    /// A server someone else started with `--stats`.
    Attach { pid: u32, addr: SocketAddr },
}

#[derive(Debug, Clone)]
struct Options {
    target: Target,
    clients: usize,
    duration: Duration,
    warmup: Duration,
    ramp: Duration,
    settle: Duration,
    sample: Duration,
    seed: u64,
    drop_deadline: Duration,
    chat_percent: u32,
    /// Mean time between two emits of one client (uniform in 0.2×…1.8× of it).
    think_ms: u64,
    /// Mean length of a lifecycle's traffic phase (uniform in 0.2×…1.8× of it).
    traffic_ms: u64,
    /// Share of lifecycles that start on long-polling (half of them upgrade).
    polling_percent: u32,
    source_ips: u8,
    /// The server's heartbeat (interval, timeout) in ms: the contract's unless asked otherwise.
    heartbeat_ms: (u64, u64),
    /// Where the spawned server's output after its ready line goes (its `RUST_LOG` tracing).
    server_log: Option<PathBuf>,
}

impl Options {
    const USAGE: &'static str = "usage: soak (--server PATH | --attach PID --url http://127.0.0.1:PORT) \
[--clients N] [--duration SECS] [--warmup SECS] [--ramp SECS] [--settle SECS] [--sample SECS] \
[--seed N] [--drop-deadline SECS] [--chat-percent P] [--think-ms MS] [--traffic-secs SECS] [--polling-percent P] [--source-ips N] \
[--ping-interval-ms MS] [--ping-timeout-ms MS] [--server-log FILE]";

    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut server = None;
        let mut attach = None;
        let mut url = None;
        let mut server_log = None;
        let mut values: HashMap<String, f64> = HashMap::new();
        let mut args = args.peekable();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--server" => server = Some(PathBuf::from(value)),
                "--server-log" => server_log = Some(PathBuf::from(value)),
                "--attach" => {
                    attach = Some(value.parse::<u32>().map_err(|e| format!("--attach: {e}"))?)
                }
                "--url" => url = Some(value),
                "--clients" | "--duration" | "--warmup" | "--ramp" | "--settle" | "--sample"
                | "--seed" | "--drop-deadline" | "--chat-percent" | "--source-ips"
                | "--think-ms" | "--polling-percent" | "--traffic-secs" | "--ping-interval-ms"
                | "--ping-timeout-ms" => {
                    let number = value
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite() && *n >= 0.0)
                        .ok_or_else(|| format!("{flag}: {value:?} is not a number"))?;
                    values.insert(flag, number);
                }
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        let target = match (server, attach, url) {
            (Some(path), None, None) => Target::Spawn(path),
            (None, Some(pid), Some(url)) => {
                let addr = url
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .parse()
                    .map_err(|e| format!("--url {url}: {e} (expected http://IP:PORT)"))?;
                Target::Attach { pid, addr }
            }
            _ => return Err("give either --server PATH, or --attach PID with --url".into()),
        };
        let secs = |name: &str, default: f64| {
            Duration::from_secs_f64(values.get(name).copied().unwrap_or(default))
        };
        let duration = secs("--duration", 30.0);
        // The RSS reference point: a tenth of the run (a minute of a ten-minute run).
        let warmup = secs("--warmup", (duration.as_secs_f64() / 10.0).min(60.0));
        let clients = values.get("--clients").copied().unwrap_or(1000.0) as usize;
        if clients == 0 {
            return Err("--clients must be at least 1".into());
        }
        let options = Options {
            target,
            clients,
            duration,
            warmup,
            ramp: secs("--ramp", warmup.as_secs_f64() / 2.0),
            settle: secs("--settle", 30.0),
            sample: secs("--sample", (duration.as_secs_f64() / 10.0).clamp(1.0, 30.0)),
            seed: values
                .get("--seed")
                .map(|seed| *seed as u64)
                .unwrap_or_else(|| u64::from(rand::random::<u32>())),
            drop_deadline: secs("--drop-deadline", 15.0),
            chat_percent: values.get("--chat-percent").copied().unwrap_or(10.0) as u32,
            think_ms: values.get("--think-ms").copied().unwrap_or(1000.0) as u64,
            traffic_ms: (values.get("--traffic-secs").copied().unwrap_or(11.0) * 1000.0) as u64,
            polling_percent: (values.get("--polling-percent").copied().unwrap_or(50.0) as u32)
                .min(100),
            server_log,
            source_ips: (values.get("--source-ips").copied().unwrap_or(16.0) as u8).max(1),
            heartbeat_ms: (
                values
                    .get("--ping-interval-ms")
                    .map_or(PING_INTERVAL_MS, |ms| *ms as u64),
                values
                    .get("--ping-timeout-ms")
                    .map_or(PING_TIMEOUT_MS, |ms| *ms as u64),
            ),
        };
        if options.warmup >= options.duration {
            return Err("--warmup must be shorter than --duration".into());
        }
        if options.sample.is_zero() {
            return Err("--sample must be positive".into());
        }
        Ok(options)
    }
}

// ---------------------------------------------------------------------------------------
// Failures and counters

/// Why a lifecycle failed: a category (counted) and the specifics (a few are printed).
#[derive(Debug)]
struct Fail {
    kind: String,
    detail: String,
}

type R<T> = Result<T, Fail>;

fn fail(kind: impl Into<String>, detail: impl Into<String>) -> Fail {
    Fail {
        kind: kind.into(),
        detail: detail.into(),
    }
}

/// Everything the clients count, shared by every slot.
#[derive(Default)]
struct Tally {
    counts: Mutex<BTreeMap<String, u64>>,
    errors: Mutex<BTreeMap<String, (u64, Vec<String>)>>,
    drop_ms: Mutex<BTreeMap<String, Vec<u32>>>,
    active: AtomicI64,
    peak: AtomicI64,
    /// How late this tool's own 100 ms ticker woke, worst case since the last sample and
    /// over the whole run: a starved tool (or machine) makes every latency look worse.
    lag_window_ms: AtomicU64,
    lag_max_ms: AtomicU64,
    error_total: AtomicU64,
}

impl Tally {
    fn add(&self, name: &str, n: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(name.to_owned()).or_default() += n;
    }

    fn error(&self, fail: &Fail, context: &str) {
        if std::env::var_os("SOAK_VERBOSE").is_some() {
            eprintln!("soak error: {} | {context}: {}", fail.kind, fail.detail);
        }
        self.error_total.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        let (count, samples) = errors.entry(fail.kind.clone()).or_default();
        *count += 1;
        if samples.len() < 3 {
            samples.push(format!("{context}: {}", fail.detail));
        }
    }

    fn dropped_after(&self, what: &str, elapsed: Duration) {
        let mut drops = self.drop_ms.lock().unwrap_or_else(|e| e.into_inner());
        drops
            .entry(what.to_owned())
            .or_default()
            .push(elapsed.as_millis().min(u128::from(u32::MAX)) as u32);
    }

    fn count(&self, name: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(name).copied().unwrap_or(0)
    }

    fn session(self: &Arc<Self>) -> SessionGauge {
        let now = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        SessionGauge(self.clone())
    }
}

/// Counts an open engine session of the tool while it lives.
struct SessionGauge(Arc<Tally>);

impl Drop for SessionGauge {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------
// Engine.IO and Socket.IO packets, by hand

/// An Engine.IO packet as the client sees it.
#[derive(Debug, Clone, PartialEq)]
enum Eio {
    Open(String),
    Close,
    Ping(String),
    Pong(String),
    Message(String),
    Binary(Bytes),
    Upgrade,
    Noop,
}

impl Eio {
    fn parse(text: &str) -> R<Eio> {
        let mut chars = text.chars();
        let rest = || text.get(1..).unwrap_or_default().to_owned();
        Ok(match chars.next() {
            Some('0') => Eio::Open(rest()),
            Some('1') => Eio::Close,
            Some('2') => Eio::Ping(rest()),
            Some('3') => Eio::Pong(rest()),
            Some('4') => Eio::Message(rest()),
            Some('5') => Eio::Upgrade,
            Some('6') => Eio::Noop,
            _ => return Err(fail("bad engine packet", format!("{:?}", clip(text)))),
        })
    }
}

/// What a client sends: a text packet (already with its Engine.IO type) or an attachment.
#[derive(Debug, Clone)]
enum Out {
    Text(String),
    Binary(Bytes),
}

/// A decoded Socket.IO packet; binary placeholders are already replaced (see
/// [`reconstruct`]).
#[derive(Debug, Clone)]
struct Sio {
    kind: u8,
    ns: String,
    ack: Option<u64>,
    data: Option<Value>,
    attachments: usize,
}

impl Sio {
    fn parse(text: &str) -> R<Sio> {
        let bad = || fail("bad socket.io packet", format!("{:?}", clip(text)));
        let bytes = text.as_bytes();
        let kind = match bytes.first() {
            Some(b @ b'0'..=b'6') => b - b'0',
            _ => return Err(bad()),
        };
        let mut i = 1;
        let mut attachments = 0;
        if kind == 5 || kind == 6 {
            let dash = text[i..].find('-').ok_or_else(bad)?;
            attachments = text[i..i + dash].parse().map_err(|_| bad())?;
            i += dash + 1;
        }
        let mut ns = "/".to_owned();
        if bytes.get(i) == Some(&b'/') {
            let end = text[i..].find(',').map_or(text.len(), |comma| i + comma);
            ns = text[i..end].to_owned();
            i = (end + 1).min(text.len());
        }
        let digits = text[i..].bytes().take_while(u8::is_ascii_digit).count();
        let ack = match digits {
            0 => None,
            // Ack ids of this tool never get that long; a longer one is garbage.
            1..=15 => Some(text[i..i + digits].parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        i += digits;
        let data = match &text[i..] {
            "" => None,
            json => Some(serde_json::from_str(json).map_err(|_| bad())?),
        };
        Ok(Sio {
            kind,
            ns,
            ack,
            data,
            attachments,
        })
    }
}

/// `4` + a Socket.IO packet, then its attachments. Binary values are written as
/// `{"$bin": "<base64>"}` in `data` and become placeholders here.
fn encode_sio(kind: u8, ns: &str, ack: Option<u64>, data: Option<&Value>) -> Vec<Out> {
    let mut attachments = Vec::new();
    let data = data.map(|data| deconstruct(data, &mut attachments));
    let kind = match (kind, attachments.is_empty()) {
        (2, false) => 5,
        (3, false) => 6,
        (kind, _) => kind,
    };
    let mut text = format!("4{kind}");
    if !attachments.is_empty() {
        text.push_str(&format!("{}-", attachments.len()));
    }
    if ns != "/" {
        text.push_str(ns);
        text.push(',');
    }
    if let Some(ack) = ack {
        text.push_str(&ack.to_string());
    }
    if let Some(data) = data {
        text.push_str(&data.to_string());
    }
    let mut out = vec![Out::Text(text)];
    out.extend(attachments.into_iter().map(Out::Binary));
    out
}

fn deconstruct(value: &Value, attachments: &mut Vec<Bytes>) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("$bin") => {
            let data = map["$bin"]
                .as_str()
                .and_then(|b64| BASE64.decode(b64).ok())
                .unwrap_or_default();
            attachments.push(Bytes::from(data));
            json!({"_placeholder": true, "num": attachments.len() - 1})
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), deconstruct(v, attachments)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| deconstruct(item, attachments))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Puts attachments back where their placeholders are, as `{"$bin": "<base64>"}`.
fn reconstruct(value: &Value, attachments: &[Bytes]) -> R<Value> {
    Ok(match value {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
            let num = map.get("num").and_then(Value::as_u64).unwrap_or(u64::MAX);
            let data = attachments.get(num as usize).ok_or_else(|| {
                fail(
                    "bad binary placeholder",
                    format!("{value} with {} attachments", attachments.len()),
                )
            })?;
            json!({ "$bin": BASE64.encode(data) })
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), reconstruct(v, attachments)?)))
                .collect::<R<_>>()?,
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| reconstruct(item, attachments))
                .collect::<R<_>>()?,
        ),
        other => other.clone(),
    })
}

fn clip(text: &str) -> String {
    text.chars().take(160).collect()
}

// ---------------------------------------------------------------------------------------
// TCP connections the tool controls: source address, receive buffer, linger

#[derive(Debug, Clone, Copy, Default)]
struct SocketOptions {
    /// Close with a RST (SO_LINGER 0) instead of a FIN.
    reset: bool,
    /// A tiny receive buffer, so a client that stops reading fills it fast.
    small_rcvbuf: bool,
}

async fn tcp_connect(ctx: &Ctx, slot: usize, options: SocketOptions) -> R<TcpStream> {
    // Several loopback source addresses, so tens of thousands of short connections never run
    // out of ephemeral ports.
    let source = Ipv4Addr::new(
        127,
        0,
        0,
        1 + (slot % usize::from(ctx.options.source_ips)) as u8,
    );
    let connect = async {
        let socket = TcpSocket::new_v4()?;
        if options.small_rcvbuf {
            socket.set_recv_buffer_size(SMALL_RCVBUF)?;
        }
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
        let stream = socket.connect(ctx.addr).await?;
        stream.set_nodelay(true)?;
        if options.reset {
            stream.set_zero_linger()?;
        }
        Ok::<_, std::io::Error>(stream)
    };
    match timeout(STEP_TIMEOUT, connect).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(err)) => Err(fail("tcp connect failed", err.to_string())),
        Err(_) => Err(fail("tcp connect failed", "timed out")),
    }
}

/// An HTTP/1.1 response.
#[derive(Debug)]
struct HttpResponse {
    status: u16,
    body: Bytes,
}

/// A keep-alive HTTP/1.1 connection, written and parsed by hand. Reading is cancel-safe:
/// what arrived stays in `buf` until a whole response is there.
struct HttpConn {
    stream: TcpStream,
    buf: BytesMut,
    local: SocketAddr,
    host: String,
}

impl HttpConn {
    async fn connect(ctx: &Ctx, slot: usize, options: SocketOptions) -> R<HttpConn> {
        let stream = tcp_connect(ctx, slot, options).await?;
        let local = stream
            .local_addr()
            .map_err(|e| fail("tcp connect failed", e.to_string()))?;
        Ok(HttpConn {
            stream,
            buf: BytesMut::with_capacity(4096),
            local,
            host: ctx.addr.to_string(),
        })
    }

    async fn send_request(&mut self, method: &str, target: &str, body: &[u8]) -> R<()> {
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if method == "POST" {
            request.push_str(&format!(
                "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        match timeout(STEP_TIMEOUT, self.stream.write_all(&bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(fail("http write failed", err.to_string())),
            Err(_) => Err(fail("http write stalled", format!("{method} {target}"))),
        }
    }

    /// The next response. Cancel-safe.
    async fn read_response(&mut self) -> R<HttpResponse> {
        loop {
            if let Some(response) = parse_response(&mut self.buf)? {
                return Ok(response);
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Err(fail("http connection closed", "EOF before a response")),
                Ok(_) => {}
                Err(err) => return Err(fail("http connection closed", err.to_string())),
            }
        }
    }

    async fn roundtrip(&mut self, method: &str, target: &str, body: &[u8]) -> R<HttpResponse> {
        self.send_request(method, target, body).await?;
        timeout(STEP_TIMEOUT, self.read_response())
            .await
            .map_err(|_| fail("http reply timeout", format!("{method} {target}")))?
    }
}

/// Takes one whole response off the front of `buf`, if there is one.
fn parse_response(buf: &mut BytesMut) -> R<Option<HttpResponse>> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > 64 * 1024 {
            return Err(fail("bad http response", "head over 64 KiB"));
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| fail("bad http response", "head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| fail("bad http response", clip(head)))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| fail("bad http response", clip(head)))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let body_start = head_end + 4;
    if chunked {
        let mut body = Vec::new();
        let mut at = body_start;
        loop {
            let Some(line_end) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            let size_text = std::str::from_utf8(&buf[at..at + line_end]).unwrap_or_default();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| fail("bad http response", "bad chunk size"))?;
            let data_start = at + line_end + 2;
            if buf.len() < data_start + size + 2 {
                return Ok(None);
            }
            if size == 0 {
                let _ = buf.split_to(data_start + 2);
                return Ok(Some(HttpResponse {
                    status,
                    body: Bytes::from(body),
                }));
            }
            body.extend_from_slice(&buf[data_start..data_start + size]);
            at = data_start + size + 2;
        }
    }
    let length = length.unwrap_or(0);
    if buf.len() < body_start + length {
        return Ok(None);
    }
    let mut whole = buf.split_to(body_start + length);
    let body = whole.split_off(body_start).freeze();
    Ok(Some(HttpResponse { status, body }))
}

// ---------------------------------------------------------------------------------------
// Transports

type Ws = WebSocketStream<TcpStream>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    WebSocket,
    Polling,
    /// Polling first, then the `2probe`/`3probe`/`5` upgrade to WebSocket.
    Upgrade,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::WebSocket => "websocket",
            Kind::Polling => "polling",
            Kind::Upgrade => "upgrade",
        }
    }
}

/// What a transport delivered.
enum Incoming {
    Packets(Vec<Eio>),
    /// A POST was answered.
    Posted,
    /// The connection or the session ended.
    Closed(String),
}

struct Polling {
    get: HttpConn,
    post: HttpConn,
    target: String,
    get_busy: bool,
    post_busy: bool,
    /// Packets waiting for the POST in flight to be answered (one POST at a time).
    queued: Vec<Out>,
    /// No new GET after the current one (upgrading or closing).
    paused: bool,
}

enum Transport {
    Ws { ws: Box<Ws>, local: SocketAddr },
    Polling(Box<Polling>),
}

fn ws_config() -> WebSocketConfig {
    // Small read buffers: ten thousand clients with the default 128 KiB each would be 1.3 GB.
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(MAX_PAYLOAD as usize * 2))
}

async fn ws_connect(
    ctx: &Ctx,
    slot: usize,
    sid: Option<&str>,
    options: SocketOptions,
) -> R<Transport> {
    let stream = tcp_connect(ctx, slot, options).await?;
    let local = stream
        .local_addr()
        .map_err(|e| fail("tcp connect failed", e.to_string()))?;
    let mut url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", ctx.addr);
    if let Some(sid) = sid {
        url.push_str("&sid=");
        url.push_str(sid);
    }
    let handshake = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()));
    match timeout(STEP_TIMEOUT, handshake).await {
        Ok(Ok((ws, _))) => Ok(Transport::Ws {
            ws: Box::new(ws),
            local,
        }),
        Ok(Err(err)) => Err(fail("websocket handshake failed", err.to_string())),
        Err(_) => Err(fail("websocket handshake failed", "timed out")),
    }
}

impl Transport {
    fn local_addrs(&self) -> Vec<SocketAddr> {
        match self {
            Transport::Ws { local, .. } => vec![*local],
            Transport::Polling(p) => vec![p.get.local, p.post.local],
        }
    }

    /// The next thing the server sent. Cancel-safe.
    async fn next(&mut self) -> R<Incoming> {
        match self {
            Transport::Ws { ws, .. } => Ok(match ws.next().await {
                Some(Ok(WsMessage::Text(text))) => Incoming::Packets(vec![Eio::parse(&text)?]),
                Some(Ok(WsMessage::Binary(data))) => Incoming::Packets(vec![Eio::Binary(data)]),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {
                    Incoming::Packets(Vec::new())
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    Incoming::Closed(format!("websocket close frame {frame:?}"))
                }
                Some(Err(err)) => Incoming::Closed(format!("websocket error: {err}")),
                None => Incoming::Closed("websocket EOF".into()),
            }),
            Transport::Polling(p) => {
                let (get_busy, post_busy) = (p.get_busy, p.post_busy);
                let Polling { get, post, .. } = &mut **p;
                tokio::select! {
                    response = get.read_response(), if get_busy => {
                        p.get_busy = false;
                        let response = match response {
                            Ok(response) => response,
                            Err(err) => return Ok(Incoming::Closed(format!("GET: {}", err.detail))),
                        };
                        if response.status != 200 {
                            return Ok(Incoming::Closed(format!(
                                "GET answered {} {:?}",
                                response.status,
                                clip(&String::from_utf8_lossy(&response.body))
                            )));
                        }
                        Ok(Incoming::Packets(decode_payload(&response.body)?))
                    }
                    response = post.read_response(), if post_busy => {
                        p.post_busy = false;
                        let response = match response {
                            Ok(response) => response,
                            Err(err) => return Ok(Incoming::Closed(format!("POST: {}", err.detail))),
                        };
                        if response.status != 200 || &response.body[..] != b"ok" {
                            return Ok(Incoming::Closed(format!(
                                "POST answered {} {:?}",
                                response.status,
                                clip(&String::from_utf8_lossy(&response.body))
                            )));
                        }
                        Ok(Incoming::Posted)
                    }
                    // Nothing in flight: nothing can arrive.
                    () = std::future::pending::<()>(), if !get_busy && !post_busy => unreachable!(),
                }
            }
        }
    }

    async fn send(&mut self, packets: Vec<Out>) -> R<()> {
        match self {
            Transport::Ws { ws, .. } => {
                let send = async {
                    for packet in packets {
                        let message = match packet {
                            Out::Text(text) => WsMessage::text(text),
                            Out::Binary(data) => WsMessage::Binary(data),
                        };
                        ws.feed(message).await?;
                    }
                    ws.flush().await
                };
                match timeout(STEP_TIMEOUT, send).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(err)) => Err(fail("websocket write failed", err.to_string())),
                    Err(_) => Err(fail("websocket write stalled", "")),
                }
            }
            Transport::Polling(p) => {
                p.queued.extend(packets);
                p.flush().await
            }
        }
    }
}

impl Polling {
    /// Sends what is queued, unless a POST is in flight (its answer calls this again).
    async fn flush(&mut self) -> R<()> {
        if self.post_busy || self.queued.is_empty() {
            return Ok(());
        }
        let body = encode_payload(&std::mem::take(&mut self.queued));
        self.post.send_request("POST", &self.target, &body).await?;
        self.post_busy = true;
        Ok(())
    }

    async fn poll(&mut self) -> R<()> {
        if self.get_busy || self.paused {
            return Ok(());
        }
        self.get.send_request("GET", &self.target, b"").await?;
        self.get_busy = true;
        Ok(())
    }
}

fn encode_payload(packets: &[Out]) -> Vec<u8> {
    let parts: Vec<String> = packets
        .iter()
        .map(|packet| match packet {
            Out::Text(text) => text.clone(),
            Out::Binary(data) => format!("b{}", BASE64.encode(data)),
        })
        .collect();
    parts.join("\x1e").into_bytes()
}

fn decode_payload(body: &[u8]) -> R<Vec<Eio>> {
    let text =
        std::str::from_utf8(body).map_err(|_| fail("bad polling payload", "body is not UTF-8"))?;
    text.split('\x1e')
        .map(|part| match part.strip_prefix('b') {
            Some(b64) => BASE64
                .decode(b64)
                .map(|data| Eio::Binary(Bytes::from(data)))
                .map_err(|_| fail("bad polling payload", format!("bad base64 {:?}", clip(b64)))),
            None => Eio::parse(part),
        })
        .collect()
}

/// Checks an open packet against the contract and returns the sid.
fn check_open(packet: &Eio, kind: Kind) -> R<String> {
    let Eio::Open(json) = packet else {
        return Err(fail("bad open packet", format!("{packet:?}")));
    };
    let open: Value =
        serde_json::from_str(json).map_err(|_| fail("bad open packet", clip(json)))?;
    let upgrades = match kind {
        Kind::WebSocket => json!([]),
        Kind::Polling | Kind::Upgrade => json!(["websocket"]),
    };
    let heartbeat = HEARTBEAT_MS
        .get()
        .copied()
        .unwrap_or((PING_INTERVAL_MS, PING_TIMEOUT_MS));
    let sid = open["sid"].as_str().unwrap_or_default().to_owned();
    let keys: Vec<&str> = open
        .as_object()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    if sid.is_empty()
        || keys_sorted
            != [
                "maxPayload",
                "pingInterval",
                "pingTimeout",
                "sid",
                "upgrades",
            ]
        || open["upgrades"] != upgrades
        || open["pingInterval"] != heartbeat.0
        || open["pingTimeout"] != heartbeat.1
        || open["maxPayload"] != MAX_PAYLOAD
    {
        return Err(fail("bad open packet", clip(json)));
    }
    Ok(sid)
}

// ---------------------------------------------------------------------------------------
// The client: one engine session and its namespaces, checking everything it receives

#[derive(Debug, Clone)]
enum NsState {
    Connecting {
        auth: Value,
        refuse: bool,
    },
    Connected {
        sid: String,
        auth: Option<Value>,
    },
    /// `disconnect-me` was sent; the server's DISCONNECT is due.
    Leaving {
        sid: String,
    },
    Gone,
}

struct Expect {
    ns: String,
    args: Value,
    deadline: Instant,
    what: &'static str,
}

struct Client {
    slot: usize,
    transport: Transport,
    sid: String,
    tally: Arc<Tally>,
    _gauge: SessionGauge,
    namespaces: BTreeMap<String, NsState>,
    acks: HashMap<u64, Expect>,
    events: HashMap<(&'static str, u64), Expect>,
    /// Events already received, to tell a duplicate from a stray.
    answered: HashSet<(&'static str, u64)>,
    next_id: u64,
    /// A binary packet waiting for its attachments.
    partial: Option<(Sio, Vec<Bytes>)>,
    rooms: HashSet<String>,
    ever_rooms: HashSet<String>,
    pair_messages: Vec<Value>,
    answer_pings: bool,
    /// When the session opened and when the last ping came, to tell in a report whether a
    /// session the server closed had stopped receiving pings.
    opened_at: Instant,
    last_ping: Option<Instant>,
    closed: Option<String>,
    expect_close: bool,
    connect_deadline: Option<Instant>,
}

impl Client {
    async fn open(ctx: &Ctx, slot: usize, kind: Kind, options: SocketOptions) -> R<Client> {
        let (transport, sid) = match kind {
            Kind::WebSocket => {
                let mut transport = ws_connect(ctx, slot, None, options).await?;
                let first = timeout(STEP_TIMEOUT, transport.next())
                    .await
                    .map_err(|_| fail("no open packet", "websocket"))??;
                let Incoming::Packets(packets) = first else {
                    return Err(fail("no open packet", "websocket closed"));
                };
                let sid = check_open(packets.first().unwrap_or(&Eio::Noop), kind)?;
                (transport, sid)
            }
            Kind::Polling | Kind::Upgrade => {
                let mut get = HttpConn::connect(ctx, slot, options).await?;
                let post = HttpConn::connect(ctx, slot, options).await?;
                let response = get
                    .roundtrip("GET", "/socket.io/?EIO=4&transport=polling", b"")
                    .await?;
                if response.status != 200 {
                    return Err(fail(
                        "polling handshake failed",
                        format!("HTTP {}", response.status),
                    ));
                }
                let packets = decode_payload(&response.body)?;
                let sid = check_open(packets.first().unwrap_or(&Eio::Noop), kind)?;
                let mut polling = Polling {
                    get,
                    post,
                    target: format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
                    get_busy: false,
                    post_busy: false,
                    queued: Vec::new(),
                    paused: false,
                };
                polling.poll().await?;
                (Transport::Polling(Box::new(polling)), sid)
            }
        };
        ctx.tally.add(&format!("transport.{}", kind.name()), 1);
        Ok(Client {
            slot,
            transport,
            sid,
            tally: ctx.tally.clone(),
            _gauge: ctx.tally.session(),
            namespaces: BTreeMap::new(),
            acks: HashMap::new(),
            events: HashMap::new(),
            answered: HashSet::new(),
            next_id: 1,
            partial: None,
            rooms: HashSet::new(),
            ever_rooms: HashSet::new(),
            pair_messages: Vec::new(),
            answer_pings: true,
            opened_at: Instant::now(),
            last_ping: None,
            closed: None,
            expect_close: false,
            connect_deadline: None,
        })
    }

    fn check(&self, name: &str) {
        self.tally.add(&format!("check.{name}"), 1);
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn connected_any(&self) -> Option<&str> {
        self.namespaces.keys().find_map(|ns| self.connected(ns))
    }

    fn connected(&self, ns: &str) -> Option<&str> {
        match self.namespaces.get(ns) {
            Some(NsState::Connected { sid, .. }) => Some(sid),
            _ => None,
        }
    }

    /// Nothing is owed to this client any more.
    fn idle(&self) -> bool {
        self.acks.is_empty()
            && self.events.is_empty()
            && self.partial.is_none()
            && self.namespaces.values().all(|state| match state {
                NsState::Connecting { .. } | NsState::Leaving { .. } => false,
                NsState::Connected { auth, .. } => auth.is_none(),
                NsState::Gone => true,
            })
    }

    fn earliest_deadline(&self) -> Option<Instant> {
        self.acks
            .values()
            .chain(self.events.values())
            .map(|expect| expect.deadline)
            .chain(self.connect_deadline)
            .min()
    }

    /// Fails when the session ended unexpectedly or a reply is overdue.
    fn verify(&self) -> R<()> {
        if let Some(reason) = &self.closed
            && !self.expect_close
        {
            return Err(fail(
                "session closed by the server",
                format!(
                    "{reason} ({} ms after opening, last ping {} ms before)",
                    self.opened_at.elapsed().as_millis(),
                    self.last_ping
                        .map_or("never".into(), |at| at.elapsed().as_millis().to_string()),
                ),
            ));
        }
        let now = Instant::now();
        if let Some(expect) = self
            .acks
            .values()
            .chain(self.events.values())
            .find(|expect| expect.deadline <= now)
        {
            return Err(fail(
                format!("no reply: {}", expect.what),
                format!(
                    "on {} within {STEP_TIMEOUT:?}, args {}",
                    expect.ns,
                    clip(&expect.args.to_string())
                ),
            ));
        }
        if self
            .connect_deadline
            .is_some_and(|deadline| deadline <= now)
        {
            let pending: Vec<&String> = self
                .namespaces
                .iter()
                .filter(|(_, state)| {
                    !matches!(state, NsState::Gone | NsState::Connected { auth: None, .. })
                })
                .map(|(ns, _)| ns)
                .collect();
            return Err(fail(
                "no reply: connect",
                format!("{pending:?} within {STEP_TIMEOUT:?}"),
            ));
        }
        Ok(())
    }

    async fn send(&mut self, packets: Vec<Out>) -> R<()> {
        self.transport.send(packets).await
    }

    async fn emit(
        &mut self,
        ns: &str,
        event: &'static str,
        args: Vec<Value>,
        ack: Option<(u64, Value, &'static str)>,
    ) -> R<()> {
        let mut data = vec![Value::String(event.to_owned())];
        data.extend(args);
        let ack_id = ack.as_ref().map(|(id, _, _)| *id);
        if let Some((id, expected, what)) = ack {
            self.acks.insert(
                id,
                Expect {
                    ns: ns.to_owned(),
                    args: expected,
                    deadline: Instant::now() + STEP_TIMEOUT,
                    what,
                },
            );
        }
        let packets = encode_sio(2, ns, ack_id, Some(&Value::Array(data)));
        self.tally.add("emits", 1);
        self.send(packets).await
    }

    /// Handles what the transport delivered. Not cancel-safe (it may write).
    async fn handle(&mut self, incoming: Incoming) -> R<()> {
        match incoming {
            Incoming::Closed(reason) => {
                self.closed.get_or_insert(reason);
            }
            Incoming::Posted => {
                if let Transport::Polling(p) = &mut self.transport {
                    p.flush().await?;
                }
            }
            Incoming::Packets(packets) => {
                let mut pongs = Vec::new();
                for packet in packets {
                    match packet {
                        Eio::Ping(data) if data.is_empty() => {
                            self.last_ping = Some(Instant::now());
                            if self.answer_pings {
                                pongs.push(Out::Text("3".into()));
                            }
                        }
                        Eio::Message(text) => self.on_sio(&text)?,
                        Eio::Binary(data) => self.on_attachment(data)?,
                        Eio::Close => {
                            self.closed
                                .get_or_insert_with(|| "engine close packet".into());
                        }
                        Eio::Noop => {}
                        other => {
                            return Err(fail("unexpected engine packet", format!("{other:?}")));
                        }
                    }
                }
                if let Transport::Polling(p) = &mut self.transport
                    && self.closed.is_none()
                {
                    p.poll().await?;
                }
                if !pongs.is_empty() && self.closed.is_none() {
                    self.send(pongs).await?;
                }
            }
        }
        Ok(())
    }

    fn on_attachment(&mut self, data: Bytes) -> R<()> {
        let Some((packet, mut attachments)) = self.partial.take() else {
            return Err(fail(
                "unexpected attachment",
                format!("{} bytes", data.len()),
            ));
        };
        attachments.push(data);
        if attachments.len() < packet.attachments {
            self.partial = Some((packet, attachments));
            return Ok(());
        }
        let data = match &packet.data {
            Some(data) => Some(reconstruct(data, &attachments)?),
            None => None,
        };
        self.on_packet(Sio { data, ..packet })
    }

    fn on_sio(&mut self, text: &str) -> R<()> {
        if self.partial.is_some() {
            return Err(fail(
                "attachments missing",
                format!("text packet {:?} came first", clip(text)),
            ));
        }
        let packet = Sio::parse(text)?;
        if packet.attachments > 0 {
            self.partial = Some((packet, Vec::new()));
            return Ok(());
        }
        self.on_packet(packet)
    }

    fn on_packet(&mut self, packet: Sio) -> R<()> {
        let ns = packet.ns.clone();
        let wrong = |what: &str| {
            fail(
                format!("unexpected {what}"),
                format!(
                    "on {ns}: {:?}",
                    packet.data.as_ref().map(|d| clip(&d.to_string()))
                ),
            )
        };
        match packet.kind {
            0 => {
                let Some(NsState::Connecting {
                    auth,
                    refuse: false,
                }) = self.namespaces.get(&ns)
                else {
                    return Err(wrong("CONNECT reply"));
                };
                let sid = packet
                    .data
                    .as_ref()
                    .and_then(Value::as_object)
                    .filter(|map| map.len() == 1)
                    .and_then(|map| map.get("sid"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| wrong("CONNECT reply"))?
                    .to_owned();
                let auth = auth.clone();
                self.namespaces.insert(
                    ns,
                    NsState::Connected {
                        sid,
                        auth: Some(auth),
                    },
                );
                self.check("connect");
            }
            4 => {
                let Some(NsState::Connecting { refuse: true, .. }) = self.namespaces.get(&ns)
                else {
                    return Err(wrong("CONNECT_ERROR"));
                };
                if packet.data != Some(json!({"message": "unauthorized"})) {
                    return Err(wrong("CONNECT_ERROR payload"));
                }
                self.namespaces.insert(ns, NsState::Gone);
                self.check("refused");
            }
            1 => {
                if !matches!(self.namespaces.get(&ns), Some(NsState::Leaving { .. })) {
                    return Err(wrong("server DISCONNECT"));
                }
                self.namespaces.insert(ns, NsState::Gone);
                self.check("server_disconnect");
            }
            3 | 6 => {
                let id = packet.ack.ok_or_else(|| wrong("ack without id"))?;
                let expect = self.acks.remove(&id).ok_or_else(|| wrong("ack"))?;
                let args = packet.data.unwrap_or(Value::Null);
                if expect.ns != ns || expect.args != args {
                    return Err(fail(
                        format!("wrong reply: {}", expect.what),
                        format!(
                            "on {ns}: expected {} got {}",
                            clip(&expect.args.to_string()),
                            clip(&args.to_string())
                        ),
                    ));
                }
                self.check(expect.what);
            }
            2 | 5 => {
                let Some(Value::Array(mut data)) = packet.data.clone() else {
                    return Err(wrong("event without arguments"));
                };
                if data.is_empty() {
                    return Err(wrong("event without a name"));
                }
                let name = data.remove(0);
                self.on_event(&ns, name.as_str().unwrap_or_default(), data)?;
            }
            _ => return Err(wrong("packet type")),
        }
        Ok(())
    }

    fn on_event(&mut self, ns: &str, name: &str, args: Vec<Value>) -> R<()> {
        let unexpected = |what: &str| {
            fail(
                format!("unexpected event {what}"),
                format!("on {ns}: {}", clip(&Value::Array(args.clone()).to_string())),
            )
        };
        let my_sid = match self.namespaces.get(ns) {
            // Replies to what was sent before `disconnect-me` still come, before the
            // server's DISCONNECT.
            Some(NsState::Connected { sid, .. } | NsState::Leaving { sid }) => sid.clone(),
            // In flight while the namespace goes away.
            Some(NsState::Gone) if matches!(name, "peer-left" | "room-message") => {
                return Ok(());
            }
            _ => return Err(unexpected(name)),
        };
        match (ns, name) {
            (_, "auth") => {
                let Some(NsState::Connected { auth, .. }) = self.namespaces.get_mut(ns) else {
                    return Err(unexpected("auth"));
                };
                let expected = auth.take().ok_or_else(|| unexpected("auth (twice)"))?;
                if args != [expected.clone()] {
                    return Err(fail(
                        "wrong reply: auth",
                        format!("on {ns}: expected [{expected}] got {}", Value::Array(args)),
                    ));
                }
                self.check("auth");
            }
            (_, "message-back") | ("/chat", "echo") => {
                let key = if name == "echo" {
                    "echo"
                } else {
                    "message-back"
                };
                let k = args
                    .first()
                    .and_then(|first| first["k"].as_u64())
                    .unwrap_or(0);
                let Some(expect) = self.events.remove(&(key, k)) else {
                    if self.answered.contains(&(key, k)) {
                        return Err(fail(
                            format!("duplicate event {key}"),
                            format!("on {ns}: k={k} arrived twice"),
                        ));
                    }
                    return Err(unexpected(name));
                };
                self.answered.insert((key, k));
                let args = Value::Array(args);
                if expect.ns != ns || expect.args != args {
                    return Err(fail(
                        format!("wrong reply: {key}"),
                        format!(
                            "on {ns}: expected {} got {}",
                            clip(&expect.args.to_string()),
                            clip(&args.to_string())
                        ),
                    ));
                }
                self.check(key);
            }
            ("/chat", "room-message") => {
                let first = args.first().cloned().unwrap_or(Value::Null);
                if args.len() != 1 {
                    return Err(unexpected("room-message shape"));
                }
                if first.get("pair").is_some() {
                    self.pair_messages.push(first);
                } else {
                    let room = first["r"].as_str().unwrap_or_default();
                    if !self.ever_rooms.contains(room) || first["n"].as_u64().is_none() {
                        return Err(unexpected("room-message for a room never joined"));
                    }
                    if first["from"] == my_sid.as_str() {
                        return Err(unexpected("room-message sent to its own sender"));
                    }
                }
                self.check("room_message");
            }
            ("/chat", "peer-left") => {
                match args.as_slice() {
                    [Value::String(peer)] if *peer != my_sid => {}
                    _ => return Err(unexpected("peer-left shape")),
                }
                self.check("peer_left");
            }
            _ => return Err(unexpected(name)),
        }
        Ok(())
    }

    /// Reads and handles packets until `done` holds, failing on any error or after `within`.
    async fn drive(
        &mut self,
        what: &str,
        within: Duration,
        done: impl Fn(&Client) -> bool,
    ) -> R<()> {
        let deadline = Instant::now() + within;
        loop {
            self.verify()?;
            if done(self) {
                return Ok(());
            }
            let wake = self
                .earliest_deadline()
                .map_or(deadline, |d| d.min(deadline));
            tokio::select! {
                incoming = self.transport.next() => {
                    let incoming = incoming?;
                    self.handle(incoming).await?;
                }
                () = sleep_until(wake) => {
                    if Instant::now() >= deadline {
                        self.verify()?;
                        return Err(fail(format!("timeout: {what}"), format!("after {within:?}")));
                    }
                }
            }
        }
    }

    async fn connect_namespaces(&mut self, namespaces: &[&'static str], bad_token: bool) -> R<()> {
        let mut packets = Vec::new();
        for (i, ns) in namespaces.iter().enumerate() {
            let (payload, auth, refuse) = match *ns {
                "/chat" if bad_token => (
                    Some(json!({"token": "wrong"})),
                    json!({"token": "wrong"}),
                    true,
                ),
                "/chat" => {
                    let auth = json!({"token": "secret", "slot": self.slot});
                    (Some(auth.clone()), auth, false)
                }
                // Now and then a CONNECT without a payload: the server reports `{}`.
                _ if (self.slot + i).is_multiple_of(3) => (None, json!({}), false),
                _ => {
                    let auth = json!({"slot": self.slot, "ns": ns});
                    (Some(auth.clone()), auth, false)
                }
            };
            self.namespaces
                .insert((*ns).to_owned(), NsState::Connecting { auth, refuse });
            packets.extend(encode_sio(0, ns, None, payload.as_ref()));
        }
        self.connect_deadline = Some(Instant::now() + STEP_TIMEOUT);
        self.send(packets).await?;
        self.drive("namespace connects", STEP_TIMEOUT * 2, Client::idle)
            .await?;
        self.connect_deadline = None;
        Ok(())
    }

    /// Polling → WebSocket: `2probe`, `3probe`, let the pending poll finish, `5`.
    async fn upgrade(&mut self, ctx: &Ctx, options: SocketOptions) -> R<()> {
        // The polling side keeps answering pings while the WebSocket connects.
        let sid = self.sid.clone();
        let connect = ws_connect(ctx, self.slot, Some(&sid), options);
        tokio::pin!(connect);
        let mut ws = loop {
            self.verify()?;
            tokio::select! {
                ws = &mut connect => break ws?,
                incoming = self.transport.next() => {
                    let incoming = incoming?;
                    self.handle(incoming).await?;
                }
            }
        };
        ws.send(vec![Out::Text("2probe".into())]).await?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            self.verify()?;
            tokio::select! {
                incoming = self.transport.next() => {
                    let incoming = incoming?;
                    self.handle(incoming).await?;
                }
                incoming = ws.next() => match incoming? {
                    Incoming::Packets(packets) if packets == [Eio::Pong("probe".into())] => break,
                    Incoming::Packets(packets) if packets.is_empty() => {}
                    Incoming::Packets(packets) => return Err(fail("upgrade failed", format!("probe answered {packets:?}"))),
                    Incoming::Closed(reason) => return Err(fail("upgrade failed", reason)),
                    Incoming::Posted => {}
                },
                () = sleep_until(deadline) => return Err(fail("upgrade failed", "no 3probe")),
            }
        }
        if let Transport::Polling(p) = &mut self.transport {
            p.paused = true;
        }
        self.drive(
            "the last poll before the upgrade",
            STEP_TIMEOUT,
            |c| match &c.transport {
                Transport::Polling(p) => !p.get_busy && !p.post_busy && p.queued.is_empty(),
                Transport::Ws { .. } => true,
            },
        )
        .await?;
        ws.send(vec![Out::Text("5".into())]).await?;
        // The polling connections close here; the session goes on over the WebSocket.
        self.transport = ws;
        self.check("upgrade");
        Ok(())
    }

    fn random_args(&mut self, rng: &mut StdRng, binary: bool) -> (u64, Vec<Value>) {
        let k = self.id();
        let text: String = (0..rng.random_range(0..48))
            .map(|_| ['a', 'z', '0', ' ', 'é', '✓', '"', '\\', '\n', '😀'][rng.random_range(0..10)])
            .collect();
        let mut args = vec![json!({"k": k, "s": text})];
        for _ in 0..rng.random_range(0..3) {
            args.push(match rng.random_range(0..5) {
                0 => json!(rng.random_range(-1_000_000i64..1_000_000)),
                // Full 17-digit doubles: the echo must bring back the very same double.
                1 => json!((rng.random::<f64>() - 0.5) * 10f64.powi(rng.random_range(-8..12))),
                2 => json!(null),
                3 => json!([true, {"nested": [1, "two"]}]),
                _ => json!("plain"),
            });
        }
        if binary {
            let data: Vec<u8> = (0..rng.random_range(1..2048))
                .map(|_| rng.random())
                .collect();
            let bin = json!({"$bin": BASE64.encode(&data)});
            if rng.random_bool(0.5) {
                args.push(bin);
            } else {
                args.push(json!({"file": bin, "tag": "deep"}));
            }
        }
        (k, args)
    }

    fn expect_event(&mut self, event: &'static str, k: u64, ns: &str, args: &[Value]) {
        self.events.insert(
            (event, k),
            Expect {
                ns: ns.to_owned(),
                args: Value::Array(args.to_vec()),
                deadline: Instant::now() + STEP_TIMEOUT,
                what: event,
            },
        );
    }

    /// One random emit on a connected namespace, with its reply expected.
    async fn random_action(&mut self, rng: &mut StdRng, allow_disconnect_me: bool) -> R<()> {
        let connected: Vec<String> = self
            .namespaces
            .iter()
            .filter(|(_, state)| matches!(state, NsState::Connected { .. }))
            .map(|(ns, _)| ns.clone())
            .collect();
        if connected.is_empty() {
            return Ok(());
        }
        let ns = connected[rng.random_range(0..connected.len())].clone();
        let binary = rng.random_bool(0.05);
        if ns != "/chat" {
            let (k, args) = self.random_args(rng, binary);
            if rng.random_bool(0.5) {
                self.expect_event("message-back", k, &ns, &args);
                return self.emit(&ns, "message", args, None).await;
            }
            let id = self.id();
            let expected = Value::Array(args.clone());
            return self
                .emit(
                    &ns,
                    "message-with-ack",
                    args,
                    Some((id, expected, "message-with-ack")),
                )
                .await;
        }
        let lobby = format!("lobby-{}", rng.random_range(0..LOBBIES));
        match rng.random_range(0..100) {
            0..25 => {
                let (_, args) = self.random_args(rng, binary);
                let id = self.id();
                let expected = Value::Array(args.clone());
                self.emit(&ns, "echo-ack", args, Some((id, expected, "echo-ack")))
                    .await
            }
            25..45 => {
                let (k, args) = self.random_args(rng, binary);
                self.expect_event("echo", k, &ns, &args);
                self.emit(&ns, "echo", args, None).await
            }
            45..60 => self.join(&lobby).await,
            60..70 => match self.rooms.iter().next().cloned() {
                Some(room) => self.leave(&room).await,
                None => self.join(&lobby).await,
            },
            70..98 => {
                let me = self.connected("/chat").unwrap_or_default().to_owned();
                let n = self.id();
                let id = self.id();
                let payload = json!({"from": me, "n": n, "r": lobby});
                self.emit(
                    &ns,
                    "to-room",
                    vec![json!(lobby), payload],
                    Some((id, json!(["ok"]), "to-room")),
                )
                .await
            }
            _ if allow_disconnect_me => {
                let sid = self.connected("/chat").unwrap_or_default().to_owned();
                self.namespaces
                    .insert("/chat".into(), NsState::Leaving { sid });
                self.emit("/chat", "disconnect-me", Vec::new(), None).await
            }
            _ => Ok(()),
        }
    }

    async fn join(&mut self, room: &str) -> R<()> {
        self.rooms.insert(room.to_owned());
        self.ever_rooms.insert(room.to_owned());
        self.room_request("join", room).await
    }

    async fn leave(&mut self, room: &str) -> R<()> {
        self.rooms.remove(room);
        self.room_request("leave", room).await
    }

    /// `join` or `leave` on `/chat`: both are acknowledged with the room.
    async fn room_request(&mut self, event: &'static str, room: &str) -> R<()> {
        let id = self.id();
        let ack = Some((id, json!([room]), event));
        self.emit("/chat", event, vec![json!(room)], ack).await
    }

    /// Random emits for `length` (or until the run stops), then waits for every reply.
    /// When the run stops, the traffic ends within `spread`, at a random moment, so that the
    /// endings of every client do not all land on the server at once.
    async fn traffic(
        &mut self,
        rng: &mut StdRng,
        length: Duration,
        think_ms: u64,
        spread: Duration,
        stop: &mut watch::Receiver<bool>,
    ) -> R<()> {
        let mut end = Instant::now() + length;
        let think = |rng: &mut StdRng| {
            Duration::from_millis(rng.random_range(think_ms / 5..=think_ms * 9 / 5).max(1))
        };
        let mut next_action = Instant::now() + think(rng);
        let mut stopping = false;
        while Instant::now() < end {
            if !stopping && *stop.borrow() {
                stopping = true;
                end = end.min(Instant::now() + spread.mul_f64(rng.random::<f64>()));
            }
            self.verify()?;
            let wake = [Some(next_action), Some(end), self.earliest_deadline()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end);
            tokio::select! {
                incoming = self.transport.next() => {
                    let incoming = incoming?;
                    self.handle(incoming).await?;
                }
                () = sleep_until(wake) => {
                    if Instant::now() >= next_action {
                        self.random_action(rng, true).await?;
                        next_action = Instant::now() + think(rng);
                    }
                }
                _ = stop.changed(), if !stopping => {}
            }
        }
        self.drive("replies to the last emits", STEP_TIMEOUT * 2, Client::idle)
            .await
    }

    /// `41` for every namespace, the engine close, and the connection closed by the server
    /// (WebSocket) or the last poll answered (polling).
    async fn close_cleanly(mut self, engine_close_packet: bool) -> R<()> {
        let mut packets = Vec::new();
        let namespaces: Vec<String> = self.namespaces.keys().cloned().collect();
        for ns in namespaces {
            if matches!(self.namespaces.get(&ns), Some(NsState::Connected { .. })) {
                packets.extend(encode_sio(1, &ns, None, None));
                self.namespaces.insert(ns, NsState::Gone);
            }
        }
        self.expect_close = true;
        // A ping that crosses the goodbye is not answered: nothing may follow a close.
        self.answer_pings = false;
        if let Transport::Polling(p) = &mut self.transport {
            p.paused = true;
            packets.push(Out::Text("1".into()));
            self.transport.send(packets).await?;
            self.drive("the last poll and POST", STEP_TIMEOUT, |c| {
                match &c.transport {
                    Transport::Polling(p) => (!p.get_busy && !p.post_busy) || c.closed.is_some(),
                    Transport::Ws { .. } => true,
                }
            })
            .await?;
        } else {
            // The official client just closes the WebSocket; some clients send `1` first.
            if engine_close_packet {
                packets.push(Out::Text("1".into()));
            }
            self.transport.send(packets).await?;
            if let Transport::Ws { ws, .. } = &mut self.transport {
                let _ = timeout(STEP_TIMEOUT, WebSocketStream::close(ws.as_mut(), None)).await;
            }
            self.drive("the server's close", STEP_TIMEOUT, |c| c.closed.is_some())
                .await?;
        }
        self.check("clean_close");
        Ok(())
    }

    /// Stops reading and writing, keeps the connection open, and waits for the server to let
    /// go of it.
    async fn go_silent(self, ctx: &Ctx, label: &str) -> R<()> {
        let started = Instant::now();
        let addrs = self.transport.local_addrs();
        match ctx
            .watch
            .wait_released(&addrs, ctx.options.drop_deadline)
            .await
        {
            Some(elapsed) => {
                ctx.tally.dropped_after(label, elapsed);
                self.check(&format!("dropped.{label}"));
                drop(self);
                Ok(())
            }
            None => Err(fail(
                format!("not dropped by the server: {label}"),
                format!(
                    "sid {} still had a descriptor on the server {:?} after it went silent",
                    self.sid,
                    started.elapsed()
                ),
            )),
        }
    }

    /// Stops reading but keeps the server busy sending: asks for many `message-back`s, and
    /// no longer answers pings.
    async fn stop_reading(mut self, ctx: &Ctx) -> R<()> {
        self.answer_pings = false;
        let payload = "x".repeat(FLOOD_BYTES);
        let label = format!("stop_reading.{}", self.kind_after_upgrade());
        let ns = self
            .namespaces
            .iter()
            .find(|(_, state)| matches!(state, NsState::Connected { .. }))
            .map(|(ns, _)| ns.clone())
            .unwrap_or_else(|| "/".into());
        let flood = async {
            match &mut self.transport {
                Transport::Ws { ws, .. } => {
                    for k in 0..FLOOD_MESSAGES {
                        let packets = encode_sio(
                            2,
                            &ns,
                            None,
                            Some(&json!(["message", {"k": k, "p": payload}])),
                        );
                        for packet in packets {
                            if let Out::Text(text) = packet {
                                ws.feed(WsMessage::text(text)).await?;
                            }
                        }
                    }
                    ws.flush().await?;
                }
                Transport::Polling(p) => {
                    // Pipelined POSTs whose answers are never read, and a GET left unread.
                    for chunk in 0..FLOOD_MESSAGES / 4 {
                        let packets: Vec<Out> = (0..4)
                            .flat_map(|i| {
                                encode_sio(
                                    2,
                                    &ns,
                                    None,
                                    Some(&json!(["message", {"k": chunk * 4 + i, "p": payload}])),
                                )
                            })
                            .collect();
                        let body = encode_payload(&packets);
                        let mut request = format!(
                            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
                            p.target, p.post.host, body.len()
                        )
                        .into_bytes();
                        request.extend_from_slice(&body);
                        p.post
                            .stream
                            .write_all(&request)
                            .await
                            .map_err(tungstenite_io)?;
                    }
                }
            }
            Ok::<_, tokio_tungstenite::tungstenite::Error>(())
        };
        // The server stops reading once the session is over, so the flood may stall: that
        // is fine, the point is the server's full send buffer.
        let _ = timeout(Duration::from_secs(2), flood).await;
        self.go_silent(ctx, &label).await
    }

    fn kind_after_upgrade(&self) -> &'static str {
        match self.transport {
            Transport::Ws { .. } => "websocket",
            Transport::Polling(_) => "polling",
        }
    }
}

fn tungstenite_io(err: std::io::Error) -> tokio_tungstenite::tungstenite::Error {
    tokio_tungstenite::tungstenite::Error::Io(err)
}

// ---------------------------------------------------------------------------------------
// Does the server still hold a connection? (/proc/net/tcp)

/// Tells when the server has closed its descriptor for some connections: its end of a
/// connection has a non-zero inode in `/proc/net/tcp` while a descriptor refers to it.
/// One reader serves every waiting client, a few times a second.
struct ConnWatch {
    server_key: String,
    waiters: Mutex<Vec<(Vec<String>, oneshot::Sender<()>)>>,
    kick: Notify,
}

fn tcp_key(addr: SocketAddr) -> String {
    match addr.ip() {
        // /proc/net/tcp prints the address as the in-memory u32 of the network-order bytes.
        IpAddr::V4(ip) => format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(ip.octets()),
            addr.port()
        ),
        IpAddr::V6(_) => String::new(),
    }
}

impl ConnWatch {
    fn new(server: SocketAddr) -> Arc<ConnWatch> {
        Arc::new(ConnWatch {
            server_key: tcp_key(server),
            waiters: Mutex::new(Vec::new()),
            kick: Notify::new(),
        })
    }

    /// How long the server took to drop every connection of `addrs`, or `None` if it still
    /// held one after `within`.
    async fn wait_released(&self, addrs: &[SocketAddr], within: Duration) -> Option<Duration> {
        let started = Instant::now();
        let (done, released) = oneshot::channel();
        {
            let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            waiters.push((addrs.iter().copied().map(tcp_key).collect(), done));
        }
        self.kick.notify_one();
        match timeout(within, released).await {
            Ok(Ok(())) => Some(started.elapsed()),
            _ => None,
        }
    }

    async fn run(self: Arc<Self>) {
        loop {
            let idle = self
                .waiters
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty();
            if idle {
                self.kick.notified().await;
                continue;
            }
            let key = self.server_key.clone();
            let held = tokio::task::spawn_blocking(move || held_by_server(&key))
                .await
                .unwrap_or_default();
            {
                let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
                let pending = std::mem::take(&mut *waiters);
                for (keys, done) in pending {
                    if done.is_closed() {
                        continue;
                    }
                    if keys.iter().any(|key| held.contains(key)) {
                        waiters.push((keys, done));
                    } else {
                        let _ = done.send(());
                    }
                }
            }
            // Twice a second: reading the whole table costs the kernel time with tens of
            // thousands of connections.
            sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The remote ends of the connections the server holds a descriptor for.
fn held_by_server(server_key: &str) -> HashSet<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, remote, inode) = (fields.get(1)?, fields.get(2)?, fields.get(9)?);
            (*local == server_key && *inode != "0").then(|| (*remote).to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The server under test

#[derive(Debug, Clone, Default, PartialEq)]
struct Stats {
    engine_sessions: u64,
    socketio_sessions: u64,
    sockets: BTreeMap<String, u64>,
}

impl Stats {
    fn sockets_total(&self) -> u64 {
        self.sockets.values().sum()
    }

    fn is_zero(&self) -> bool {
        self.engine_sessions == 0 && self.socketio_sessions == 0 && self.sockets_total() == 0
    }
}

struct Server {
    pid: u32,
    addr: SocketAddr,
    child: Mutex<Option<Child>>,
    stats_conn: tokio::sync::Mutex<Option<HttpConn>>,
}

/// What the server looked like at one moment.
#[derive(Debug, Clone)]
struct Sample {
    at: Duration,
    label: &'static str,
    stats: Stats,
    fds: u64,
    rss_kb: u64,
    /// CPU time used so far (user + system), to show how loaded the run was.
    server_cpu_s: f64,
    tool_cpu_s: f64,
    clients: i64,
    lag_ms: u64,
    lifecycles: u64,
    errors: u64,
}

impl Sample {
    /// CPU use of the server and of this tool since `before`, in % of one core.
    fn cpu_since(&self, before: &Sample) -> (f64, f64) {
        let wall = (self.at - before.at).as_secs_f64().max(0.001);
        (
            (self.server_cpu_s - before.server_cpu_s) / wall * 100.0,
            (self.tool_cpu_s - before.tool_cpu_s) / wall * 100.0,
        )
    }

    fn line(&self, before: &Sample) -> String {
        let sockets: Vec<String> = self.sockets_line();
        let (server_cpu, tool_cpu) = self.cpu_since(before);
        format!(
            "[{:>7.1}s {:<8}] sessions {:>6} (engine.io {}) | sockets {} | fds {:>6} | rss {:>8.1} MiB | cpu server {server_cpu:>3.0}% tool {tool_cpu:>3.0}% | lag {:>4} ms | clients {:>6} lifecycles {:>8} errors {}",
            self.at.as_secs_f64(),
            self.label,
            self.stats.socketio_sessions,
            self.stats.engine_sessions,
            sockets.join(" "),
            self.fds,
            self.rss_kb as f64 / 1024.0,
            self.lag_ms,
            self.clients,
            self.lifecycles,
            self.errors
        )
    }

    fn sockets_line(&self) -> Vec<String> {
        self.stats
            .sockets
            .iter()
            .map(|(ns, n)| format!("{ns} {n}"))
            .collect()
    }

    fn json(&self) -> Value {
        json!({
            "t_s": (self.at.as_secs_f64() * 10.0).round() / 10.0,
            "label": self.label,
            "engine_sessions": self.stats.engine_sessions,
            "socketio_sessions": self.stats.socketio_sessions,
            "sockets": self.stats.sockets,
            "fds": self.fds,
            "rss_kb": self.rss_kb,
            "server_cpu_s": (self.server_cpu_s * 10.0).round() / 10.0,
            "tool_cpu_s": (self.tool_cpu_s * 10.0).round() / 10.0,
            "tool_clients": self.clients,
            "tool_lag_ms": self.lag_ms,
            "lifecycles": self.lifecycles,
            "errors": self.errors,
        })
    }
}

impl Server {
    fn spawn(
        path: &PathBuf,
        log: Option<&PathBuf>,
        heartbeat_ms: (u64, u64),
    ) -> Result<Server, String> {
        let mut log = match log {
            Some(log) => {
                Some(std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?)
            }
            None => None,
        };
        let mut child = Command::new(path)
            .arg("--stats")
            .args(["--ping-interval", &heartbeat_ms.0.to_string()])
            .args(["--ping-timeout", &heartbeat_ms.1.to_string()])
            .env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for line in lines.map_while(Result::ok) {
                if let Some(log) = log.as_mut() {
                    use std::io::Write as _;
                    let _ = writeln!(log, "{line}");
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| format!("{} printed no ready line within 30 s", path.display()))?;
        let addr = line
            .rsplit(' ')
            .next()
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| format!("ready line {line:?} has no address"))?;
        Ok(Server {
            pid: child.id(),
            addr,
            child: Mutex::new(Some(child)),
            stats_conn: tokio::sync::Mutex::new(None),
        })
    }

    fn attach(pid: u32, addr: SocketAddr) -> Server {
        Server {
            pid,
            addr,
            child: Mutex::new(None),
            stats_conn: tokio::sync::Mutex::new(None),
        }
    }

    fn fds(&self) -> Result<u64, String> {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|dir| dir.count() as u64)
            .map_err(|e| format!("/proc/{}/fd: {e}", self.pid))
    }

    fn rss_kb(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .map_err(|e| format!("/proc/{}/status: {e}", self.pid))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmRSS in /proc/<pid>/status".into())
    }

    /// Whether a server this tool started has exited, and how.
    fn exited(&self) -> Option<String> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let status = child.as_mut()?.try_wait().ok().flatten()?;
        Some(status.to_string())
    }

    /// `GET /stats` over one kept-alive connection, so the tool's own connection is part of
    /// the baseline.
    async fn stats(&self, ctx: &Ctx) -> Result<Stats, String> {
        let mut conn = self.stats_conn.lock().await;
        let mut attempts = 0;
        let response = loop {
            attempts += 1;
            let open = match conn.take() {
                Some(open) => open,
                // Slot 0's source address: the same as every reading.
                None => HttpConn::connect(ctx, 0, SocketOptions::default())
                    .await
                    .map_err(|f| f.detail)?,
            };
            let mut open = open;
            match open.roundtrip("GET", "/stats", b"").await {
                Ok(response) => {
                    *conn = Some(open);
                    break response;
                }
                // A server may close an idle keep-alive connection; one fresh try.
                Err(err) if attempts < 2 => drop((err, open)),
                Err(err) => return Err(format!("GET /stats: {} {}", err.kind, err.detail)),
            }
        };
        if response.status != 200 {
            return Err(format!(
                "GET /stats answered {} (start conformance with --stats)",
                response.status
            ));
        }
        let json: Value =
            serde_json::from_slice(&response.body).map_err(|e| format!("GET /stats: {e}"))?;
        let count = |value: &Value| value.as_u64().ok_or_else(|| format!("GET /stats: {json}"));
        Ok(Stats {
            engine_sessions: count(&json["engine_sessions"])?,
            socketio_sessions: count(&json["socketio_sessions"])?,
            sockets: json["sockets"]
                .as_object()
                .ok_or_else(|| format!("GET /stats: {json}"))?
                .iter()
                .map(|(ns, n)| Ok((ns.clone(), count(n)?)))
                .collect::<Result<_, String>>()?,
        })
    }

    async fn sample(&self, ctx: &Ctx, label: &'static str) -> Result<Sample, String> {
        let stats = self.stats(ctx).await?;
        Ok(Sample {
            at: ctx.started.elapsed(),
            label,
            stats,
            fds: self.fds()?,
            rss_kb: self.rss_kb()?,
            server_cpu_s: cpu_seconds(self.pid),
            tool_cpu_s: cpu_seconds(std::process::id()),
            clients: ctx.tally.active.load(Ordering::Relaxed),
            lag_ms: ctx.tally.lag_window_ms.swap(0, Ordering::Relaxed),
            lifecycles: ctx.tally.count("lifecycles"),
            errors: ctx.tally.error_total.load(Ordering::Relaxed),
        })
    }

    /// SIGTERM, then the exit status within 10 s (`None` when attached).
    fn terminate(&self) -> Option<Result<(), String>> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let child = guard.as_mut()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Some(Ok(())),
                Ok(Some(status)) => {
                    return Some(Err(format!("exited with {status} after SIGTERM")));
                }
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Some(Err("still running 10 s after SIGTERM (killed)".into()));
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(child) = guard.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// User plus system CPU time of a process, from `/proc/<pid>/stat` (in clock ticks of
/// 1/100 s, as Linux reports them on every common configuration).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may contain spaces; the fields after it do not.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Raises the soft descriptor limit toward `wanted` (as far as the hard limit allows) with
/// util-linux's `prlimit`, before the server is started so that it inherits the limit too.
fn raise_fd_limit(wanted: u64) -> Result<u64, String> {
    let read = || -> Option<(u64, u64)> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits
            .lines()
            .find(|line| line.starts_with("Max open files"))?;
        let mut numbers = line.split_whitespace().filter_map(|word| {
            word.parse::<u64>()
                .ok()
                .or((word == "unlimited").then_some(u64::MAX))
        });
        Some((numbers.next()?, numbers.next()?))
    };
    let (soft, hard) = read().ok_or("cannot read /proc/self/limits")?;
    if soft >= wanted {
        return Ok(soft);
    }
    let target = wanted.min(hard);
    let status = Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={target}:{hard}"))
        .status();
    match status {
        Ok(status) if status.success() => Ok(read().map_or(soft, |(soft, _)| soft)),
        _ => Err(format!(
            "the descriptor limit is {soft} (hard {hard}) and prlimit could not raise it; run `ulimit -n {target}` first"
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Lifecycles

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Clean,
    Reset,
    HalfOpen,
    StopReading,
    /// An engine session that never connects a namespace: the server's connect timeout
    /// ends it.
    Ghost,
}

impl Ending {
    fn name(self) -> &'static str {
        match self {
            Ending::Clean => "clean",
            Ending::Reset => "reset",
            Ending::HalfOpen => "half_open",
            Ending::StopReading => "stop_reading",
            Ending::Ghost => "ghost",
        }
    }
}

#[derive(Debug, Clone)]
struct Plan {
    kind: Kind,
    namespaces: Vec<&'static str>,
    bad_token: bool,
    traffic: Duration,
    ending: Ending,
    /// Two clients on `/chat` that check `to-room` delivery and `leave` between them.
    pair: bool,
}

impl Plan {
    fn random(rng: &mut StdRng, options: &Options) -> Plan {
        // A share starts on long-polling; half of those upgrade.
        let kind = match rng.random_range(0..200) {
            n if n < options.polling_percent => Kind::Polling,
            n if n < options.polling_percent * 2 => Kind::Upgrade,
            _ => Kind::WebSocket,
        };
        let chat = rng.random_range(0..100) < options.chat_percent;
        let pair = chat && rng.random_range(0..10) == 0;
        let mut namespaces = Vec::new();
        if rng.random_bool(0.7) {
            namespaces.push("/");
        }
        if rng.random_bool(0.4) {
            namespaces.push("/custom");
        }
        if chat {
            namespaces.push("/chat");
        }
        if namespaces.is_empty() {
            namespaces.push("/");
        }
        let ending = match rng.random_range(0..100) {
            0..40 => Ending::Clean,
            40..65 => Ending::Reset,
            65..80 => Ending::HalfOpen,
            80..95 => Ending::StopReading,
            _ => Ending::Ghost,
        };
        Plan {
            kind,
            namespaces,
            bad_token: chat && rng.random_range(0..10) == 0,
            traffic: Duration::from_millis(
                rng.random_range(options.traffic_ms / 5..=options.traffic_ms * 9 / 5)
                    .max(1),
            ),
            ending: if pair { Ending::Clean } else { ending },
            pair,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} {:?}{}{} {}",
            self.kind.name(),
            self.namespaces,
            if self.bad_token { " bad-token" } else { "" },
            if self.pair { " pair" } else { "" },
            self.ending.name()
        )
    }

    fn socket_options(&self) -> SocketOptions {
        SocketOptions {
            reset: self.ending == Ending::Reset,
            small_rcvbuf: self.ending == Ending::StopReading,
        }
    }
}

/// What every slot shares.
struct Ctx {
    options: Options,
    addr: SocketAddr,
    tally: Arc<Tally>,
    watch: Arc<ConnWatch>,
    started: Instant,
}

async fn run_slot(ctx: Arc<Ctx>, slot: usize, start_at: Instant, mut stop: watch::Receiver<bool>) {
    let mut rng =
        StdRng::seed_from_u64(ctx.options.seed ^ (slot as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    tokio::select! {
        () = sleep_until(start_at) => {}
        _ = stop.changed() => return,
    }
    let mut n = 0u64;
    while !*stop.borrow() {
        n += 1;
        let plan = Plan::random(&mut rng, &ctx.options);
        ctx.tally.add("lifecycles", 1);
        // A lifecycle is bounded by its own steps; this is the net under them.
        let bound = plan.traffic + ctx.options.drop_deadline + STEP_TIMEOUT * 8;
        let result =
            match timeout(bound, lifecycle(&ctx, slot, n, &plan, &mut rng, &mut stop)).await {
                Ok(result) => result,
                Err(_) => Err(fail("lifecycle hung", format!("over {bound:?}"))),
            };
        match result {
            Ok(()) => ctx.tally.add(&format!("ending.{}", plan.ending.name()), 1),
            Err(err) => {
                ctx.tally.add("ending.failed", 1);
                ctx.tally
                    .error(&err, &format!("slot {slot} #{n} ({})", plan.describe()));
                // Back off: a struggling server should not meet a reconnection storm too.
                sleep(Duration::from_millis(rng.random_range(1_000..3_000))).await;
            }
        }
    }
}

async fn lifecycle(
    ctx: &Ctx,
    slot: usize,
    n: u64,
    plan: &Plan,
    rng: &mut StdRng,
    stop: &mut watch::Receiver<bool>,
) -> R<()> {
    if plan.pair {
        return pair_lifecycle(ctx, slot, n, plan, rng).await;
    }
    let kind = match (plan.ending, plan.kind) {
        (Ending::Ghost, Kind::Upgrade) => Kind::Polling,
        (_, kind) => kind,
    };
    let options = plan.socket_options();
    let mut client = Client::open(ctx, slot, kind, options).await?;
    if plan.ending == Ending::Ghost {
        client.expect_close = true;
        // The connect timeout is 1 s.
        client
            .drive("the connect timeout", STEP_TIMEOUT, |c| c.closed.is_some())
            .await?;
        client.check("connect_timeout");
        return Ok(());
    }
    client
        .connect_namespaces(&plan.namespaces, plan.bad_token)
        .await?;
    if client.connected_any().is_none() {
        // Only refused namespaces: the server's connect timeout ends the session, as for a
        // client that never asked for one.
        client.expect_close = true;
        client
            .drive("the connect timeout after a refusal", STEP_TIMEOUT, |c| {
                c.closed.is_some()
            })
            .await?;
        client.check("connect_timeout");
        return Ok(());
    }
    if kind == Kind::Upgrade {
        client.upgrade(ctx, options).await?;
    }
    let spread = ctx.options.ramp.max(Duration::from_secs(1));
    client
        .traffic(rng, plan.traffic, ctx.options.think_ms, spread, stop)
        .await?;
    match plan.ending {
        Ending::Clean => client.close_cleanly(rng.random_bool(0.5)).await,
        Ending::Reset => {
            // SO_LINGER 0 was set at connect: dropping the sockets sends RSTs.
            drop(client);
            Ok(())
        }
        Ending::HalfOpen => {
            let label = format!("half_open.{}", client.kind_after_upgrade());
            client.go_silent(ctx, &label).await
        }
        Ending::StopReading => client.stop_reading(ctx).await,
        Ending::Ghost => Ok(()),
    }
}

/// A joins a room of its own, B sends to it: A gets exactly that message, B nothing; after A
/// leaves, B's next message does not reach A (proven by A's later echo arriving first).
async fn pair_lifecycle(ctx: &Ctx, slot: usize, n: u64, plan: &Plan, rng: &mut StdRng) -> R<()> {
    let other = match rng.random_range(0..3) {
        0 => Kind::WebSocket,
        1 => Kind::Polling,
        _ => Kind::Upgrade,
    };
    // Set up side by side, so neither waits unattended (and misses a ping) for the other.
    let (mut a, mut b) = tokio::try_join!(
        chat_client(ctx, slot, plan.kind),
        chat_client(ctx, slot, other)
    )?;
    let room = format!("pair-{slot}-{n}");
    a.join(&room).await?;
    drive_pair(&mut a, &mut b, "join", |a, _| a.idle()).await?;
    let first = json!({"pair": n, "x": rng.random::<u32>()});
    let id = b.id();
    b.emit(
        "/chat",
        "to-room",
        vec![json!(room), first.clone()],
        Some((id, json!(["ok"]), "to-room")),
    )
    .await?;
    drive_pair(&mut a, &mut b, "room-message", |a, b| {
        b.idle() && !a.pair_messages.is_empty()
    })
    .await?;
    a.leave(&room).await?;
    drive_pair(&mut a, &mut b, "leave", |a, _| a.idle()).await?;
    let second = json!({"pair": n, "x": "after leave"});
    let id = b.id();
    b.emit(
        "/chat",
        "to-room",
        vec![json!(room), second],
        Some((id, json!(["ok"]), "to-room")),
    )
    .await?;
    drive_pair(&mut a, &mut b, "to-room after leave", |_, b| b.idle()).await?;
    // B's message was fanned out before B got its ack; anything for A is queued before the
    // reply to this echo.
    let (_, args) = a.random_args(rng, false);
    let id = a.id();
    let expected = Value::Array(args.clone());
    a.emit("/chat", "echo-ack", args, Some((id, expected, "echo-ack")))
        .await?;
    drive_pair(&mut a, &mut b, "echo after leave", |a, _| a.idle()).await?;
    if a.pair_messages != [first] || !b.pair_messages.is_empty() {
        return Err(fail(
            "wrong room delivery",
            format!(
                "member got {:?}, sender got {:?}",
                a.pair_messages, b.pair_messages
            ),
        ));
    }
    a.check("room_pair");
    let (a_packet, b_packet) = (rng.random_bool(0.5), rng.random_bool(0.5));
    tokio::try_join!(a.close_cleanly(a_packet), b.close_cleanly(b_packet))?;
    Ok(())
}

async fn chat_client(ctx: &Ctx, slot: usize, kind: Kind) -> R<Client> {
    let mut client = Client::open(ctx, slot, kind, SocketOptions::default()).await?;
    client.connect_namespaces(&["/chat"], false).await?;
    if kind == Kind::Upgrade {
        client.upgrade(ctx, SocketOptions::default()).await?;
    }
    Ok(client)
}

async fn drive_pair(
    a: &mut Client,
    b: &mut Client,
    what: &str,
    done: impl Fn(&Client, &Client) -> bool,
) -> R<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        a.verify()?;
        b.verify()?;
        if done(a, b) {
            return Ok(());
        }
        tokio::select! {
            incoming = a.transport.next() => { let incoming = incoming?; a.handle(incoming).await?; }
            incoming = b.transport.next() => { let incoming = incoming?; b.handle(incoming).await?; }
            () = sleep_until(deadline) => return Err(fail(format!("timeout: pair {what}"), format!("after {STEP_TIMEOUT:?}"))),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The run

async fn run(options: Options) -> Result<bool, String> {
    // WebSocket clients use one descriptor, polling ones two, an upgrade three for a moment.
    let wanted = options.clients as u64 * 2 + 512;
    let limit = raise_fd_limit(wanted)?;
    if limit < wanted {
        println!(
            "soak: warning: descriptor limit {limit} is below the {wanted} that {} clients may need",
            options.clients
        );
    }
    let server = match &options.target {
        Target::Spawn(path) => {
            Server::spawn(path, options.server_log.as_ref(), options.heartbeat_ms)?
        }
        Target::Attach { pid, addr } => Server::attach(*pid, *addr),
    };
    let ctx = Arc::new(Ctx {
        addr: server.addr,
        tally: Arc::new(Tally::default()),
        watch: ConnWatch::new(server.addr),
        started: Instant::now(),
        options: options.clone(),
    });
    println!(
        "soak: {} clients for {:?} against pid {} at {} (seed {}, warm-up {:?}, ramp {:?})",
        options.clients,
        options.duration,
        server.pid,
        server.addr,
        options.seed,
        options.warmup,
        options.ramp
    );
    // Bounded whatever happens: a watchdog ends the process if the run overshoots.
    let budget = options.ramp * 2
        + options.duration
        + options.settle
        + options.drop_deadline
        + STEP_TIMEOUT * 12
        + Duration::from_secs(60);
    let server_pid = server.pid;
    let spawned = matches!(options.target, Target::Spawn(_));
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        println!("SOAK FAILED: watchdog: the run took longer than {budget:?}");
        if spawned {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(server_pid.to_string())
                .status();
        }
        std::process::exit(3);
    });

    let baseline = server.sample(&ctx, "baseline").await?;
    println!("{}", baseline.line(&baseline));
    let mut failures = Vec::new();
    if !baseline.stats.is_zero() {
        failures.push(format!(
            "the server was not idle at the start: {:?}",
            baseline.stats
        ));
    }
    tokio::spawn(ctx.watch.clone().run());
    let ticker = ctx.tally.clone();
    tokio::spawn(async move {
        loop {
            let before = Instant::now();
            sleep(Duration::from_millis(100)).await;
            let late = before
                .elapsed()
                .saturating_sub(Duration::from_millis(100))
                .as_millis() as u64;
            ticker.lag_window_ms.fetch_max(late, Ordering::Relaxed);
            ticker.lag_max_ms.fetch_max(late, Ordering::Relaxed);
        }
    });

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut slots = Vec::with_capacity(options.clients);
    let t0 = Instant::now();
    for slot in 0..options.clients {
        let start_at = t0 + options.ramp.mul_f64(slot as f64 / options.clients as f64);
        slots.push(tokio::spawn(run_slot(
            ctx.clone(),
            slot,
            start_at,
            stop_rx.clone(),
        )));
    }

    let mut samples = vec![baseline.clone()];
    let mut warm: Option<Sample> = None;
    let end = t0 + options.duration;
    let mut next_sample = t0 + options.sample;
    loop {
        let warm_at = t0 + options.warmup;
        let wake = if warm.is_none() {
            next_sample.min(warm_at)
        } else {
            next_sample
        }
        .min(end);
        sleep_until(wake).await;
        if let Some(status) = server.exited() {
            failures.push(format!("the server exited during the run: {status}"));
            break;
        }
        let now = Instant::now();
        let label = if warm.is_none() && now >= warm_at {
            "warm-up"
        } else {
            "load"
        };
        match server.sample(&ctx, label).await {
            Ok(sample) => {
                println!("{}", sample.line(samples.last().unwrap_or(&baseline)));
                if label == "warm-up" {
                    warm = Some(sample.clone());
                }
                while next_sample <= Instant::now() {
                    next_sample += options.sample;
                }
                samples.push(sample);
            }
            Err(err) => {
                failures.push(format!("sampling failed: {err}"));
                break;
            }
        }
        if Instant::now() >= end {
            break;
        }
    }

    // Stop: every slot finishes its current lifecycle (its ending included) and no new one
    // starts.
    let _ = stop_tx.send(true);
    let drain_bound = ctx.options.ramp + ctx.options.drop_deadline + STEP_TIMEOUT * 6;
    let drained = timeout(drain_bound, futures_util::future::join_all(slots)).await;
    if drained.is_err() {
        failures.push(format!(
            "clients still running {drain_bound:?} after the stop"
        ));
    }
    println!(
        "soak: clients stopped {:.1}s after the end of the run",
        (Instant::now() - end).as_secs_f64()
    );

    // Settle: poll until the server is back at its baseline, or the time is up.
    let warm = warm.unwrap_or_else(|| baseline.clone());
    let rss_limit = (warm.rss_kb as f64 * RSS_TOLERANCE) as u64;
    let settle_end = Instant::now() + options.settle;
    let settled_in;
    let last = loop {
        let sample = server.sample(&ctx, "settle").await?;
        let at_baseline =
            sample.stats.is_zero() && sample.fds <= baseline.fds && sample.rss_kb <= rss_limit;
        if at_baseline || Instant::now() >= settle_end {
            settled_in =
                at_baseline.then(|| options.settle.saturating_sub(settle_end - Instant::now()));
            break Sample {
                label: "final",
                ..sample
            };
        }
        sleep(Duration::from_millis(250)).await;
    };
    println!("{}", last.line(samples.last().unwrap_or(&baseline)));
    samples.push(last.clone());
    if !last.stats.is_zero() {
        failures.push(format!(
            "sessions or sockets did not come back to zero within {:?}: {:?}",
            options.settle, last.stats
        ));
    }
    if last.fds > baseline.fds {
        failures.push(format!(
            "open descriptors did not come back to the baseline within {:?}: {} now, {} before",
            options.settle, last.fds, baseline.fds
        ));
    }
    if last.rss_kb > rss_limit {
        failures.push(format!(
            "RSS {} KiB is {:.1} % above its {} KiB after the warm-up (limit 10 %)",
            last.rss_kb,
            (last.rss_kb as f64 / warm.rss_kb as f64 - 1.0) * 100.0,
            warm.rss_kb
        ));
    }
    let exit = server.terminate();
    if let Some(Err(err)) = &exit {
        failures.push(format!("the server did not exit cleanly: {err}"));
    }

    let tally = &ctx.tally;
    let errors = tally
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let error_total: u64 = errors.values().map(|(n, _)| n).sum();
    if error_total > 0 {
        failures.push(format!("{error_total} client checks failed"));
    }
    let counts = tally
        .counts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let drops: BTreeMap<String, Value> = tally
        .drop_ms
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(label, times)| {
            let mut times = times.clone();
            times.sort_unstable();
            let at = |q: f64| {
                times
                    .get(((times.len() - 1) as f64 * q) as usize)
                    .copied()
                    .unwrap_or(0)
            };
            (
                label.clone(),
                json!({"n": times.len(), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}),
            )
        })
        .collect();

    println!("\nsoak: what the clients did");
    for (name, n) in &counts {
        println!("  {name:<32} {n}");
    }
    println!(
        "  {:<32} {}",
        "peak concurrent sessions",
        tally.peak.load(Ordering::Relaxed)
    );
    for (label, figures) in &drops {
        println!("  server dropped {label:<20} {figures}");
    }
    if !errors.is_empty() {
        println!("\nsoak: errors");
        for (kind, (n, samples)) in &errors {
            println!("  {n:>6} × {kind}");
            for sample in samples {
                println!("           e.g. {}", clip(sample));
            }
        }
    }
    let summary = json!({
        "clients": options.clients,
        "duration_s": options.duration.as_secs_f64(),
        "warmup_s": options.warmup.as_secs_f64(),
        "seed": options.seed,
        "counts": counts,
        "peak_sessions": tally.peak.load(Ordering::Relaxed),
        "tool_lag_max_ms": tally.lag_max_ms.load(Ordering::Relaxed),
        "think_ms": options.think_ms,
        "chat_percent": options.chat_percent,
        "polling_percent": options.polling_percent,
        "traffic_s": options.traffic_ms as f64 / 1000.0,
        "errors": errors.iter().map(|(kind, (n, _))| (kind.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "error_total": error_total,
        "server_drop_ms": drops,
        "baseline": baseline.json(),
        "warmup": warm.json(),
        "final": last.json(),
        "samples": samples.iter().map(Sample::json).collect::<Vec<_>>(),
        "settled_in_s": settled_in.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
        "rss_ratio": (last.rss_kb as f64 / warm.rss_kb.max(1) as f64 * 1000.0).round() / 1000.0,
        "server_exit": match &exit { None => json!(null), Some(Ok(())) => json!("clean"), Some(Err(e)) => json!(e) },
        "failures": failures,
    });
    println!("\nSOAK-SUMMARY {summary}");
    if failures.is_empty() {
        println!("SOAK PASSED");
        Ok(true)
    } else {
        println!("SOAK FAILED: {}", failures.join("; "));
        Ok(false)
    }
}
