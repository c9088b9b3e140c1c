//! Entry points of the cargo-fuzz targets in `fuzz/` (feature `fuzzing`; hidden, unstable).
//!
//! Each function takes the bytes libFuzzer made up, hands them to one real decoder and
//! asserts what must hold for every input: no panic, no hang, the limits respected, and what
//! decodes re-encodes to bytes that decode to the same value. A failed assertion is a
//! finding; `docs/FUZZING.md` lists them and how to rerun the targets.
//!
//! Inputs made of several frames share one layout, read by [`frames`]: frames are separated
//! by the byte `0xff` (never part of UTF-8 text), and a frame starting with `b` is binary
//! (the bytes after the `b`) while any other frame is text (the bytes after its first byte).
#![doc(hidden)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::future::Future;
use std::path::{Component, Path};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_service::Service;

use crate::args::Payload;
use crate::args::{Rest, from_arg, from_args, to_payload};
use crate::client::{
    Client, ClientAck, ClientBuilder, ClientError, ClientNamespaceBuilder, Reconnection, Transports,
};
use crate::engineio::engine::{Engine, Flow};
use crate::engineio::packet::{Frame, Packet as EnginePacket, PacketError};
use crate::engineio::payload::{self, PayloadError, SEPARATOR};
use crate::engineio::{
    ConnectRejection, CookieConfig, CorsOrigins, DisconnectReason, EngineConfig, EngineHandler,
    EngineIo, Handshake, Message, SameSite, Sid, Socket, StaticFiles, Str, TransportKind,
};
use crate::manager::message::{BusMessage, MessageError};
use crate::parser::{
    DecodeStatus, Decoder, Packet, PacketData, ParserLimits, is_reserved_event, placeholder_index,
};

// ---------------------------------------------------------------------------------------------
// Input layout and the runtime
// ---------------------------------------------------------------------------------------------

/// One frame of a multi-frame input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// A text frame (lossily decoded, since text frames are UTF-8 on the wire).
    Text(String),
    /// A binary frame.
    Binary(Bytes),
}

/// Splits `data` into frames (see the module docs for the layout).
pub fn frames(data: &[u8]) -> Vec<Chunk> {
    data.split(|&byte| byte == 0xff)
        .map(|frame| match frame.split_first() {
            Some((b'b', rest)) => Chunk::Binary(Bytes::copy_from_slice(rest)),
            Some((_, rest)) => Chunk::Text(String::from_utf8_lossy(rest).into_owned()),
            None => Chunk::Text(String::new()),
        })
        .collect()
}

/// Longest a networked input may take; libFuzzer's own `-timeout=1` is the backstop, this
/// turns a hang into a panic that says where it hung.
const HANG: Duration = Duration::from_millis(800);
/// Longest an in-process input may take on the paused clock: virtual time, long enough for
/// every grace period and timeout of a session, and free, since the clock jumps.
const VIRTUAL_HANG: Duration = Duration::from_secs(600);

/// The clock a harness runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    /// Tokio's paused clock: when every task waits, time jumps to the next timer. Sessions
    /// in process then live through their grace periods and timeouts in no time, and a
    /// task waiting for nothing is a panic rather than a slow input.
    Paused,
    /// The real clock, for harnesses that talk over sockets (the paused clock would fire
    /// their timeouts while they wait for the kernel).
    Real,
}

thread_local! {
    static CLOCK: std::cell::Cell<Clock> = const { std::cell::Cell::new(Clock::Real) };
}

/// Runs an in-process harness on the paused clock (see [`run_on`]).
fn run<F: Future>(what: &str, future: F) -> F::Output {
    run_on(Clock::Paused, what, future)
}

/// Runs a harness that uses sockets on the real clock (see [`run_on`]).
fn run_networked<F: Future>(what: &str, future: F) -> F::Output {
    run_on(Clock::Real, what, future)
}

/// Runs `future` to completion on this thread's current-thread runtime for `clock`, then
/// checks that every task it spawned has ended, so that nothing one input started lives on
/// into the next (a task left behind is a leak, and a failure here).
fn run_on<F: Future>(clock: Clock, what: &str, future: F) -> F::Output {
    static PAUSED: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    static REAL: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let build = |paused: bool| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(paused)
            .build()
            .expect("a current-thread runtime")
    };
    let (runtime, limit) = match clock {
        Clock::Paused => (PAUSED.get_or_init(|| build(true)), VIRTUAL_HANG),
        Clock::Real => (REAL.get_or_init(|| build(false)), HANG),
    };
    CLOCK.set(clock);
    runtime.block_on(async {
        let output = match tokio::time::timeout(limit, future).await {
            Ok(output) => output,
            Err(_) => panic!("{what}: no answer within {limit:?} ({clock:?} clock)"),
        };
        settle(what, || alive_tasks() == 0).await;
        output
    })
}

/// Waits until `done` holds. First a few polls, for tasks that end without waiting for
/// anything; then sleeps of growing length, for tasks that end after a grace period (on the
/// paused clock these cost nothing). Still not done within the limit of the clock means a
/// task that never ends.
async fn settle(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    let limit = match CLOCK.get() {
        Clock::Paused => VIRTUAL_HANG / 2,
        Clock::Real => HANG / 2,
    };
    let start = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(1);
    while !done() {
        assert!(
            start.elapsed() < limit,
            "{what}: still not done after {limit:?}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// Closes every session of `eio` the way a vanished client would (a server-initiated close
/// would wait for a poll to collect the close packet), then waits for their lifecycle tasks.
async fn close_all<H: EngineHandler>(eio: &EngineIo<H>) {
    for socket in eio.sockets() {
        socket.close(DisconnectReason::TransportClose);
    }
    settle("lifecycle tasks", || alive_tasks() == 0).await;
    assert!(
        eio.sockets().is_empty(),
        "sessions left after closing them all"
    );
}

/// Tasks still alive on the current runtime.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

// ---------------------------------------------------------------------------------------------
// Engine.IO packets and polling payloads
// ---------------------------------------------------------------------------------------------

/// `engine_packet`: one Engine.IO packet. The first byte picks the transport (odd: a segment
/// of a long-polling body, where `b<base64>` is binary; even: a WebSocket text frame).
pub fn engine_packet(data: &[u8]) {
    let Some((&flag, body)) = data.split_first() else {
        return;
    };
    let polling = flag & 1 == 1;
    let decoded = EnginePacket::decode_text_bytes(Bytes::copy_from_slice(body), polling);
    let packet = match decoded {
        Ok(packet) => packet,
        Err(error) => {
            check_packet_error(body, polling, &error);
            return;
        }
    };
    let frame = packet.encode();
    match &frame {
        Frame::Text(text) => {
            // Text packets keep their payload byte for byte; the types without one drop it.
            let kept = matches!(
                packet,
                EnginePacket::Open(_)
                    | EnginePacket::Ping(_)
                    | EnginePacket::Pong(_)
                    | EnginePacket::Message(_)
            );
            if kept {
                assert_eq!(
                    text.as_bytes().as_ref(),
                    body,
                    "re-encoding changed the packet"
                );
            } else {
                assert_eq!(
                    text.len(),
                    1,
                    "a packet without payload encodes to its type"
                );
            }
            assert_eq!(
                EnginePacket::decode_text(text.clone(), polling).as_ref(),
                Ok(&packet)
            );
        }
        Frame::Binary(bytes) => {
            assert!(polling, "only a polling segment decodes to binary");
            assert_eq!(&packet, &EnginePacket::Binary(bytes.clone()));
        }
    }
    assert_eq!(frame.is_close(), packet == EnginePacket::Close);
    let mut out = BytesMut::new();
    frame.write_polling(&mut out);
    assert_eq!(out.len(), frame.polling_len(), "polling_len disagrees");
    assert_eq!(
        EnginePacket::decode_text_bytes(out.freeze(), true),
        Ok(packet),
        "the polling form does not decode back"
    );
}

fn check_packet_error(body: &[u8], polling: bool, error: &PacketError) {
    match error {
        PacketError::Empty => assert!(body.is_empty()),
        PacketError::InvalidUtf8 => assert!(std::str::from_utf8(body).is_err()),
        PacketError::UnknownType(kind) => {
            let text = std::str::from_utf8(body).expect("only UTF-8 has a type char");
            assert_eq!(text.chars().next(), Some(*kind));
            let known = matches!(kind, '0'..='6') || (polling && *kind == 'b');
            assert!(!known, "{kind:?} is a packet type");
        }
        PacketError::InvalidBase64 => assert!(polling && body.first() == Some(&b'b')),
    }
}

/// `polling_payload`: a long-polling POST body as the payload decoder splits it. The first
/// byte sets the packet cap (255: none, as the client uses it).
pub fn polling_payload(data: &[u8]) {
    let Some((&cap, body)) = data.split_first() else {
        return;
    };
    let max = match cap {
        255 => usize::MAX,
        cap => usize::from(cap % 24) + 1,
    };
    let segments = body.iter().filter(|&&b| b == SEPARATOR).count() + 1;
    match payload::decode(Bytes::copy_from_slice(body), max) {
        Ok(packets) => {
            assert_eq!(packets.len(), segments);
            assert!(packets.len() <= max);
            let frames: Vec<Frame> = packets.iter().map(EnginePacket::encode).collect();
            let encoded = payload::encode(&frames);
            let expected_len =
                frames.iter().map(Frame::polling_len).sum::<usize>() + frames.len() - 1;
            assert_eq!(
                encoded.len(),
                expected_len,
                "polling_len disagrees with encode"
            );
            assert_eq!(
                payload::decode(encoded, max),
                Ok(packets),
                "the re-encoded payload decodes to other packets"
            );
        }
        Err(PayloadError::TooManyPackets(limit)) => {
            assert_eq!(limit, max);
            assert!(segments > max);
        }
        Err(PayloadError::Packet { index, source }) => {
            assert!(segments <= max && index < segments);
            let segment = body
                .split(|&b| b == SEPARATOR)
                .nth(index)
                .unwrap_or_default();
            assert_eq!(
                EnginePacket::decode_text_bytes(Bytes::copy_from_slice(segment), true),
                Err(source),
                "the error names another segment"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// An engine handler that records what the engine tells it
// ---------------------------------------------------------------------------------------------

/// What an engine told [`Recorder`], in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Connect,
    Message(Message),
    Disconnect(DisconnectReason),
}

/// An engine handler that logs every call and, when asked, echoes messages back as the
/// conformance server does.
#[derive(Debug, Default)]
struct Recorder {
    echo: bool,
    log: Mutex<HashMap<Sid, Vec<Seen>>>,
}

impl Recorder {
    fn note(&self, socket: &Socket, seen: Seen) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.entry(socket.sid().clone()).or_default().push(seen);
    }

    fn seen(&self, sid: &Sid) -> Vec<Seen> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.get(sid).cloned().unwrap_or_default()
    }

    fn messages(&self, sid: &Sid) -> Vec<Message> {
        self.seen(sid)
            .into_iter()
            .filter_map(|seen| match seen {
                Seen::Message(message) => Some(message),
                _ => None,
            })
            .collect()
    }
}

impl EngineHandler for Recorder {
    type Connection = ();

    async fn on_connect(&self, socket: &Arc<Socket>) -> Result<(), ConnectRejection> {
        self.note(socket, Seen::Connect);
        Ok(())
    }

    async fn on_message(&self, socket: &Arc<Socket>, (): &(), message: Message) {
        self.note(socket, Seen::Message(message.clone()));
        if self.echo {
            let _ = socket.send(message);
        }
    }

    async fn on_disconnect(&self, socket: &Arc<Socket>, (): &(), reason: DisconnectReason) {
        self.note(socket, Seen::Disconnect(reason));
    }
}

/// Checks the life of one session as the handler saw it: one connect first, one disconnect
/// last, messages in between.
fn check_lifecycle(seen: &[Seen]) -> DisconnectReason {
    assert_eq!(seen.first(), Some(&Seen::Connect), "{seen:?}");
    let Some(Seen::Disconnect(reason)) = seen.last() else {
        panic!("the session ended without on_disconnect: {seen:?}");
    };
    let middle = &seen[1..seen.len() - 1];
    assert!(
        middle.iter().all(|s| matches!(s, Seen::Message(_))),
        "connect or disconnect twice: {seen:?}"
    );
    *reason
}

fn test_handshake(uri: &'static str) -> Handshake {
    Handshake {
        headers: HeaderMap::new(),
        uri: Uri::from_static(uri),
        remote_addr: None,
        issued_at: SystemTime::now(),
    }
}

/// The messages a client's packets hand to the handler: those before the first packet that
/// ends the session.
fn expected_messages(packets: &[EnginePacket]) -> Vec<Message> {
    let mut messages = Vec::new();
    for packet in packets {
        match packet {
            EnginePacket::Message(text) => messages.push(Message::Text(text.clone())),
            EnginePacket::Binary(data) => messages.push(Message::Binary(data.clone())),
            EnginePacket::Pong(_) | EnginePacket::Noop => {}
            EnginePacket::Ping(data) if data.is_empty() => {}
            EnginePacket::Ping(_)
            | EnginePacket::Open(_)
            | EnginePacket::Upgrade
            | EnginePacket::Close => break,
        }
    }
    messages
}

// ---------------------------------------------------------------------------------------------
// The WebSocket message path and long-polling POSTs
// ---------------------------------------------------------------------------------------------

/// `engine_ws_message`: WebSocket messages ([`frames`]) of one live session, handed to the
/// engine the way the WebSocket reader does: text frames are decoded as Engine.IO packets (a
/// bad one closes the session), binary frames are binary messages.
pub fn engine_ws_message(data: &[u8]) {
    let chunks = frames(data);
    run("engine_ws_message", async {
        let engine = Engine::new(EngineConfig::default(), Recorder::default());
        let session = engine
            .open_session(
                TransportKind::WebSocket,
                test_handshake("/engine.io/?EIO=4&transport=websocket"),
            )
            .await
            .expect("the recorder accepts every session");
        let socket = session.socket.clone();
        let mut packets = Vec::new();
        let mut bad_frame = false;
        for chunk in chunks {
            let packet = match chunk {
                Chunk::Text(text) => match EnginePacket::decode_text(Str::from(text), false) {
                    Ok(packet) => packet,
                    Err(_) => {
                        socket.close(DisconnectReason::TransportError);
                        bad_frame = true;
                        break;
                    }
                },
                Chunk::Binary(data) => EnginePacket::Binary(data),
            };
            packets.push(packet.clone());
            if engine.on_packet(&session, packet).await == Flow::Stop {
                assert!(socket.is_closed(), "Flow::Stop on an open session");
                break;
            }
            assert!(
                !socket.is_closed(),
                "a closed session asked for more packets"
            );
        }
        let ended_by_client = socket.is_closed();
        socket.close(DisconnectReason::ServerClose);
        let sid = socket.sid().clone();
        settle("session cleanup", || engine.get(sid.as_str()).is_none()).await;
        settle("lifecycle task", || alive_tasks() == 0).await;

        let seen = engine.handler.seen(&sid);
        let reason = check_lifecycle(&seen);
        assert_eq!(engine.handler.messages(&sid), expected_messages(&packets));
        let expected_reason = match packets.last() {
            _ if bad_frame => DisconnectReason::TransportError,
            _ if !ended_by_client => DisconnectReason::ServerClose,
            Some(EnginePacket::Close) => DisconnectReason::ClientClose,
            // Nothing reads this session's queue: the pongs answering pings fill it.
            Some(EnginePacket::Ping(data)) if data.is_empty() => DisconnectReason::SlowClient,
            _ => DisconnectReason::TransportError,
        };
        assert_eq!(reason, expected_reason, "{packets:?}");
    });
}

/// Sends one request to an engine service and reads the whole answer.
async fn call<S>(service: &mut S, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes)
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: Debug,
{
    let response = service.call(request).await.expect("infallible service");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("an in-memory body").to_bytes();
    (parts.status, parts.headers, body)
}

/// The payload inside a long-polling answer, unwrapped from its JSONP script if need be.
fn polling_body(body: &[u8], jsonp: bool) -> Bytes {
    if !jsonp {
        return Bytes::copy_from_slice(body);
    }
    let text = std::str::from_utf8(body).expect("a JSONP answer is text");
    let quoted = text
        .strip_prefix("___eio[0](")
        .and_then(|rest| rest.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not a JSONP answer: {text:?}"));
    let inner: String = serde_json::from_str(quoted).expect("a JSON string literal");
    Bytes::from(inner)
}

/// `polling_post`: a long-polling POST body sent through the real engine service to a live
/// session of an echo engine. First byte: bit 0 JSONP (`j=0`, the body is a form with `d=`),
/// bit 1 no `Content-Length`, bits 2-7 the max payload (in 32-byte steps; 0 is 1 MB).
///
/// Checks: the answer is `200 ok` or a 400 that closed the session; without JSONP, `200`
/// exactly when the payload decoder accepts the body and it fits; the handler got the
/// messages before the first packet that ends the session, in order; and polls hand all of
/// them back as echoes, in order, as the conformance contract requires.
pub fn polling_post(data: &[u8]) {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let jsonp = flags & 1 == 1;
    let announce_length = flags & 2 == 0;
    let max_payload = match usize::from(flags >> 2) * 32 {
        0 => 1_000_000,
        limit => limit,
    };
    let body = Bytes::copy_from_slice(body);
    run("polling_post", async move {
        let config = EngineConfig::default().max_payload(max_payload);
        let recorder = Recorder {
            echo: true,
            ..Recorder::default()
        };
        let eio = EngineIo::with_handler(config, recorder);
        let mut service = eio.service();
        let j = if jsonp { "&j=0" } else { "" };
        let open = Request::get(format!("/engine.io/?EIO=4&transport=polling{j}"))
            .body(Body::empty())
            .expect("a valid request");
        let (status, _, open) = call(&mut service, open).await;
        assert_eq!(status, StatusCode::OK);
        let open = polling_body(&open, jsonp);
        let json = open.strip_prefix(b"0").expect("an open packet");
        let handshake: Value = serde_json::from_slice(json).expect("handshake JSON");
        let sid = Sid::from(handshake["sid"].as_str().expect("a sid"));

        let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}{j}");
        let mut post = Request::post(&uri);
        if announce_length {
            post = post.header(http::header::CONTENT_LENGTH, body.len());
        }
        let post = post
            .body(Body::from(body.clone()))
            .expect("a valid request");
        let (status, _, answer) = call(&mut service, post).await;
        let socket = eio.socket(sid.as_str());
        match status {
            StatusCode::OK => assert_eq!(&answer[..], b"ok"),
            StatusCode::BAD_REQUEST => assert!(
                socket.as_ref().is_none_or(|s| s.is_closed()),
                "a refused POST left the session open"
            ),
            other => panic!("POST answered {other}"),
        }
        let received = eio.handler().messages(&sid);
        if !jsonp {
            let decoded = payload::decode(body.clone(), payload::MAX_PACKETS)
                .ok()
                .filter(|_| body.len() <= max_payload);
            assert_eq!(
                status == StatusCode::OK,
                decoded.is_some(),
                "the service and the payload decoder disagree"
            );
            if let Some(packets) = decoded {
                assert_eq!(received, expected_messages(&packets));
            }
        }

        // Every echo was queued before the POST was answered: polls return them in order.
        let mut echoed = Vec::new();
        while echoed.len() < received.len() && socket.as_ref().is_some_and(|s| !s.is_closed()) {
            let poll = Request::get(&uri)
                .body(Body::empty())
                .expect("a valid request");
            let (status, _, answer) = call(&mut service, poll).await;
            assert_eq!(status, StatusCode::OK, "poll refused");
            let packets = payload::decode(polling_body(&answer, jsonp), usize::MAX)
                .expect("the server's own payload decodes");
            echoed.extend(expected_messages(&packets));
        }
        if socket.as_ref().is_some_and(|s| !s.is_closed()) {
            assert_eq!(echoed, received, "echoes lost or reordered");
        }
        close_all(&eio).await;
        if let Some(socket) = &socket {
            check_lifecycle(&eio.handler().seen(socket.sid()));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The Socket.IO parser
// ---------------------------------------------------------------------------------------------

/// Parser limits picked by one input byte: the defaults when the top bit is clear, small
/// limits that inputs can reach otherwise.
fn limits_from(byte: u8) -> ParserLimits {
    if byte & 0x80 == 0 {
        return ParserLimits::default();
    }
    ParserLimits {
        max_attachments: usize::from(byte & 0x07),
        max_ack_id_digits: usize::from((byte >> 3) & 0x03) + 1,
        max_depth: usize::from((byte >> 5) & 0x03) + 1,
    }
}

/// Nesting depth of a JSON value, counting every array and object.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Marks the attachments that placeholders in `value` refer to, checking each placeholder
/// is in its exact form and in range.
fn mark_placeholders(value: &Value, seen: &mut [bool]) {
    if let Some(num) = placeholder_index(value) {
        assert!(num < seen.len(), "placeholder {num} out of range");
        assert_eq!(
            value,
            &crate::parser::placeholder(num),
            "a loose placeholder"
        );
        seen[num] = true;
        return;
    }
    match value {
        Value::Array(items) => items.iter().for_each(|item| mark_placeholders(item, seen)),
        Value::Object(map) => {
            assert!(
                map.get("_placeholder") != Some(&Value::Bool(true)),
                "a malformed placeholder got through: {value}"
            );
            map.values().for_each(|item| mark_placeholders(item, seen));
        }
        _ => {}
    }
}

/// Every placeholder in `args` is exact and in range, and every one of `attachments`
/// attachments is referred to.
fn check_placeholders(args: &[Value], attachments: usize) {
    let mut seen = vec![false; attachments];
    args.iter()
        .for_each(|arg| mark_placeholders(arg, &mut seen));
    assert!(seen.iter().all(|&s| s), "an attachment nobody refers to");
}

/// Checks what a handler receives (see [`check_placeholders`]).
fn check_payload(payload: &Payload) {
    check_placeholders(&payload.args, payload.attachments.len());
}

/// What a decoded packet must look like, whatever the input was.
fn check_decoded(packet: &Packet, limits: &ParserLimits) {
    assert!(packet.namespace.starts_with('/'), "{packet:?}");
    assert!(!packet.namespace.contains(','), "{packet:?}");
    if let Some(id) = packet.ack_id {
        assert!(id.to_string().len() <= limits.max_ack_id_digits);
    }
    let attachments = packet.attachments();
    assert!(attachments.len() <= limits.max_attachments);
    match &packet.data {
        PacketData::Connect(data) => {
            assert!(packet.ack_id.is_none());
            if let Some(data) = data {
                assert!(data.is_object());
                assert!(depth(data) <= limits.max_depth);
            }
        }
        PacketData::Disconnect => assert!(packet.ack_id.is_none()),
        PacketData::ConnectError(data) => {
            assert!(packet.ack_id.is_none());
            assert!(data.is_object() || data.is_string());
            assert!(depth(data) <= limits.max_depth);
        }
        PacketData::Event { args, .. } | PacketData::Ack { args, .. } => {
            assert!(args.iter().map(depth).max().unwrap_or(0) < limits.max_depth);
            check_placeholders(args, attachments.len());
            if let PacketData::Event { args, .. } = &packet.data {
                match args.first() {
                    Some(Value::String(name)) => assert!(!is_reserved_event(name)),
                    Some(Value::Number(_)) => {}
                    other => panic!("event name {other:?}"),
                }
                assert!(packet.event_name().is_some());
            } else {
                assert!(packet.ack_id.is_some(), "an ack without id");
            }
        }
    }
}

/// Whether serde_json reads every float back exactly as it wrote it. Without its
/// `float_roundtrip` feature its fast float parser can land one unit in the last place away
/// (`1.8446744077709754e19` reads as `1.844674407770975e19`); until the crate enables it,
/// round trips compare floats to within a few units in the last place instead of exactly.
/// The check is made at run time, so enabling the feature makes them exact again.
fn exact_floats() -> bool {
    static EXACT: OnceLock<bool> = OnceLock::new();
    *EXACT.get_or_init(|| {
        let text = "1.8446744077709754e19";
        serde_json::from_str::<f64>(text).ok() == text.parse::<f64>().ok()
    })
}

/// JSON equality, with the float tolerance of [`exact_floats`].
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() && !exact_floats() => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            (x - y).abs() <= x.abs().max(y.abs()) * 4.0 * f64::EPSILON
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same_json(vx, vy))
        }
        _ => a == b,
    }
}

fn same_args(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b))
}

/// Packet equality, with the float tolerance of [`exact_floats`].
fn same_packet(a: &Packet, b: &Packet) -> bool {
    let data = match (&a.data, &b.data) {
        (PacketData::Connect(Some(x)), PacketData::Connect(Some(y)))
        | (PacketData::ConnectError(x), PacketData::ConnectError(y)) => same_json(x, y),
        (
            PacketData::Event { args: x, .. } | PacketData::Ack { args: x, .. },
            PacketData::Event { args: y, .. } | PacketData::Ack { args: y, .. },
        ) => a.kind() == b.kind() && same_args(x, y),
        (x, y) => x == y,
    };
    data && a.namespace == b.namespace && a.ack_id == b.ack_id && a.attachments() == b.attachments()
}

/// Encodes `packet` and decodes it again with the same limits: the same packet must come out.
fn assert_round_trip(packet: &Packet, limits: ParserLimits) {
    let encoded = packet.encode();
    let mut decoder = Decoder::with_limits(limits);
    let mut status = decoder
        .feed_text(&encoded.text)
        .unwrap_or_else(|e| panic!("re-encoded {:?} does not decode: {e}", encoded.text));
    for attachment in &encoded.attachments {
        status = decoder
            .feed_binary(attachment.clone())
            .unwrap_or_else(|e| panic!("attachment of {:?} refused: {e}", encoded.text));
    }
    match status {
        DecodeStatus::Complete(again) if same_packet(&again, packet) => {}
        other => panic!(
            "{:?} decodes to another packet: {other:?}, not {packet:?}",
            encoded.text
        ),
    }
}

/// After an error the decoder is idle and decodes a good packet.
fn assert_recovers(decoder: &mut Decoder) {
    assert_eq!(decoder.remaining_attachments(), 0);
    let status = decoder.feed_text(r#"2["ok"]"#);
    assert!(
        matches!(status, Ok(DecodeStatus::Complete(_))),
        "decoder stuck after an error: {status:?}"
    );
}

/// The frame held as `Str` (a plain event then keeps its arguments raw, checked by the fast
/// scanner) decodes to the same packet or error as the text parsed whole, and its encoding
/// decodes to that packet again.
fn assert_shared_decodes_alike(text: &str, limits: ParserLimits) {
    let whole = Decoder::with_limits(limits).feed_text(text);
    let shared = Decoder::with_limits(limits).feed_str(&crate::engineio::Str::from(text));
    assert_eq!(shared, whole, "feed_str and feed_text disagree on {text:?}");
    // Raw arguments are written as they came (spacing included), so compare what the
    // encoding decodes to.
    if let (Ok(DecodeStatus::Complete(shared)), Ok(DecodeStatus::Complete(whole))) = (shared, whole)
    {
        let again = Decoder::with_limits(limits).feed_text(&shared.encode().text);
        assert_eq!(again, Ok(DecodeStatus::Complete(whole)), "{text:?}");
    }
}

/// `socketio_packet`: one Socket.IO text frame (the Engine.IO message payload). The first byte
/// picks the parser limits (see [`limits_from`]).
pub fn socketio_packet(data: &[u8]) {
    let Some((&byte, text)) = data.split_first() else {
        return;
    };
    let limits = limits_from(byte);
    let text = String::from_utf8_lossy(text);
    assert_shared_decodes_alike(&text, limits);
    let mut decoder = Decoder::with_limits(limits);
    match decoder.feed_text(&text) {
        Ok(DecodeStatus::Complete(packet)) => {
            assert!(packet.attachments().is_empty());
            check_decoded(&packet, &limits);
            assert_round_trip(&packet, limits);
            assert_recovers(&mut decoder);
        }
        Ok(DecodeStatus::Incomplete { remaining }) => {
            assert!(remaining >= 1 && remaining <= limits.max_attachments);
            assert_eq!(decoder.remaining_attachments(), remaining);
            let mut status = DecodeStatus::Incomplete { remaining };
            for index in 0..remaining {
                status = decoder
                    .feed_binary(Bytes::from(vec![index as u8; index]))
                    .expect("an expected attachment");
            }
            let DecodeStatus::Complete(packet) = status else {
                panic!("{remaining} attachments did not complete the packet");
            };
            assert_eq!(packet.attachments().len(), remaining);
            check_decoded(&packet, &limits);
            assert_round_trip(&packet, limits);
            assert_recovers(&mut decoder);
        }
        Err(_) => assert_recovers(&mut decoder),
    }
}

/// `socketio_binary_reassembly`: a sequence of text and binary frames ([`frames`]) fed to one
/// decoder, checked against a model of the protocol: a text frame announcing N attachments
/// is completed by exactly the next N binary frames, in order; a text frame while
/// attachments are due and a binary frame while none are due are errors that reset it. The
/// first byte picks the limits.
pub fn socketio_binary_reassembly(data: &[u8]) {
    let Some((&byte, rest)) = data.split_first() else {
        return;
    };
    let limits = limits_from(byte);
    let mut decoder = Decoder::with_limits(limits);
    // Attachments still due and those received, as the model sees it.
    let mut due = 0usize;
    let mut received: Vec<Bytes> = Vec::new();
    for chunk in frames(rest) {
        let status = match &chunk {
            Chunk::Text(text) => decoder.feed_text(text),
            Chunk::Binary(data) => decoder.feed_binary(data.clone()),
        };
        match (&chunk, status) {
            (Chunk::Text(_), Err(error)) if due > 0 => {
                assert_eq!(
                    error,
                    crate::parser::ParseError::UnexpectedText { remaining: due }
                );
                due = 0;
            }
            (Chunk::Text(_), Ok(_)) if due > 0 => panic!("text accepted while {due} are due"),
            (Chunk::Text(_), Ok(DecodeStatus::Complete(packet))) => {
                assert!(packet.attachments().is_empty());
                check_decoded(&packet, &limits);
                assert_round_trip(&packet, limits);
            }
            (Chunk::Text(_), Ok(DecodeStatus::Incomplete { remaining })) => {
                assert!(remaining >= 1 && remaining <= limits.max_attachments);
                due = remaining;
                received.clear();
            }
            (Chunk::Text(_), Err(_)) => {}
            (Chunk::Binary(_), Err(error)) => {
                assert_eq!(due, 0, "attachment refused while {due} are due: {error}");
                assert_eq!(error, crate::parser::ParseError::UnexpectedBinary);
            }
            (Chunk::Binary(data), Ok(status)) => {
                assert!(due > 0, "binary accepted while none is due");
                received.push(data.clone());
                due -= 1;
                match status {
                    DecodeStatus::Incomplete { remaining } => assert_eq!(remaining, due),
                    DecodeStatus::Complete(packet) => {
                        assert_eq!(due, 0, "completed with {due} still due");
                        assert_eq!(packet.attachments(), received.as_slice());
                        check_decoded(&packet, &limits);
                        assert_round_trip(&packet, limits);
                    }
                }
            }
        }
        assert_eq!(decoder.remaining_attachments(), due);
    }
}

// ---------------------------------------------------------------------------------------------
// Typed arguments
// ---------------------------------------------------------------------------------------------

/// A chat line, as handlers commonly declare one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    room: String,
    text: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    reply_to: Option<u64>,
}

/// An externally tagged enum with every kind of variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Square(u32),
    Pair(String, i64),
    Circle { r: f64 },
}

/// An internally tagged enum (serde buffers the value first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Command {
    Join {
        room: String,
    },
    Leave {
        room: String,
        reason: Option<String>,
    },
}

/// An untagged, recursive "any JSON" type. No binary variant: serde's buffering lets bytes
/// and strings stand in for each other there, so such a type cannot round-trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<Json>),
    Map(BTreeMap<String, Json>),
}

/// A struct with binary fields, the way uploads are declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    data: Bytes,
    #[serde(default)]
    thumbnail: Option<Bytes>,
}

/// Deserializes the payload as `T`; whatever succeeds must serialize back into a payload
/// that deserializes to the same value.
fn round_trip_as<T>(payload: &Payload)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let Ok(value) = from_args::<T>(payload) else {
        return;
    };
    let again = to_payload(&value)
        .unwrap_or_else(|e| panic!("{value:?} deserialized but does not serialize: {e}"));
    assert_eq!(
        from_args::<T>(&again).as_ref(),
        Ok(&value),
        "{value:?} does not survive a round trip through {again:?}"
    );
}

/// Deserializes one argument as `T`, the way a handler's single parameter reads it.
fn one_arg_as<T>(payload: &Payload)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    for arg in &payload.args {
        let Ok(value) = from_arg::<T>(arg, &payload.attachments) else {
            continue;
        };
        let mut attachments = Vec::new();
        let back = crate::args::to_arg(&value, &mut attachments)
            .unwrap_or_else(|e| panic!("{value:?} does not serialize: {e}"));
        assert_eq!(from_arg::<T>(&back, &attachments).as_ref(), Ok(&value));
    }
}

/// `typed_args`: an event or ack (a text frame and its attachments, [`frames`]) whose
/// arguments are deserialized into representative types, as handler parameters and awaited
/// acks are: structs, tuples, `Vec`, `Option`, `Bytes`, enums of each representation, maps.
pub fn typed_args(data: &[u8]) {
    let mut chunks = frames(data).into_iter();
    let Some(Chunk::Text(text)) = chunks.next() else {
        return;
    };
    let mut decoder = Decoder::new();
    let mut status = match decoder.feed_text(&text) {
        Ok(status) => status,
        Err(_) => return,
    };
    for chunk in chunks {
        let (DecodeStatus::Incomplete { .. }, Chunk::Binary(data)) = (&status, chunk) else {
            break;
        };
        match decoder.feed_binary(data) {
            Ok(next) => status = next,
            Err(_) => return,
        }
    }
    let DecodeStatus::Complete(packet) = status else {
        return;
    };
    let payload = match packet.data {
        PacketData::Event {
            mut args,
            attachments,
        } => {
            args.remove(0);
            Payload { args, attachments }
        }
        PacketData::Ack { args, attachments } => Payload { args, attachments },
        _ => return,
    };
    round_trip_as::<Line>(&payload);
    round_trip_as::<(String, u32, Option<bool>)>(&payload);
    round_trip_as::<(Bytes, Option<Bytes>)>(&payload);
    round_trip_as::<Vec<u8>>(&payload);
    round_trip_as::<Vec<f64>>(&payload);
    round_trip_as::<Option<Line>>(&payload);
    round_trip_as::<(Shape, Command)>(&payload);
    round_trip_as::<Json>(&payload);
    round_trip_as::<(Json, Json, Json)>(&payload);
    round_trip_as::<BTreeMap<u32, String>>(&payload);
    round_trip_as::<HashMap<String, Vec<Option<i64>>>>(&payload);
    round_trip_as::<[u8; 4]>(&payload);
    round_trip_as::<(char, u128, i8)>(&payload);
    round_trip_as::<Upload>(&payload);
    round_trip_as::<()>(&payload);
    one_arg_as::<Upload>(&payload);
    one_arg_as::<Bytes>(&payload);
    one_arg_as::<Vec<Shape>>(&payload);
    one_arg_as::<Json>(&payload);
    // These have no inverse to check, only that they answer.
    let _ = from_args::<Rest>(&payload);
    let _ = from_args::<(String, Rest)>(&payload);
    let _ = from_args::<Value>(&payload);
    let _ = from_args::<(Value, Value)>(&payload);
}

// ---------------------------------------------------------------------------------------------
// The message bus
// ---------------------------------------------------------------------------------------------

/// `bus_message`: one message from the pub/sub bus (python-socketio's JSON format and our
/// additions). The first byte picks the size limit (255: none).
pub fn bus_message(data: &[u8]) {
    let Some((&byte, message)) = data.split_first() else {
        return;
    };
    let limit = match byte {
        255 => usize::MAX,
        byte => 1 << (byte % 16),
    };
    match BusMessage::decode(message, limit) {
        Ok(decoded) => {
            assert!(message.len() <= limit);
            let encoded = decoded.encode();
            let again = BusMessage::decode(&encoded, usize::MAX).unwrap_or_else(|e| {
                panic!(
                    "{:?} does not decode: {e}",
                    String::from_utf8_lossy(&encoded)
                )
            });
            let (rest, payload) = without_payload(decoded.clone());
            let (rest_again, payload_again) = without_payload(again);
            assert!(
                rest == rest_again
                    && payload.attachments == payload_again.attachments
                    && same_args(&payload.args, &payload_again.args),
                "{decoded:?} does not survive a round trip through {:?}",
                String::from_utf8_lossy(&encoded)
            );
            let payload = match &decoded {
                BusMessage::Emit { payload, .. } | BusMessage::Callback { payload, .. } => payload,
                _ => return,
            };
            if !payload.attachments.is_empty() {
                check_payload(payload);
            }
        }
        Err(MessageError::TooLarge { size, limit: l }) => {
            assert_eq!((size, l), (message.len(), limit));
            assert!(size > limit);
        }
        Err(_) => assert!(message.len() <= limit),
    }
}

/// The message with its payload taken out (empty for messages without one), and the payload.
fn without_payload(mut message: BusMessage) -> (BusMessage, Payload) {
    let payload = match &mut message {
        BusMessage::Emit { payload, .. } | BusMessage::Callback { payload, .. } => {
            std::mem::take(payload)
        }
        _ => Payload::empty(),
    };
    (message, payload)
}

// ---------------------------------------------------------------------------------------------
// Query string, CORS, cookie, static files
// ---------------------------------------------------------------------------------------------

/// `query_string`: the query of a request URL. `reference` is an independent parser of
/// `application/x-www-form-urlencoded` text (the fuzz crate passes the `url` crate's); every
/// name it finds must have the same first value in ours. Then the same query goes to the
/// engine service, whose answer must follow the `EIO` and `transport` rules.
pub fn query_string(data: &[u8], reference: impl Fn(&str) -> Vec<(String, String)>) {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    // hyper hands the engine a parsed URI, so only what parses as one reaches it.
    let Ok(uri) = Uri::try_from(format!("/engine.io/?{query}")) else {
        return;
    };
    let raw = uri.query().unwrap_or_default();
    let handshake = Handshake {
        headers: HeaderMap::new(),
        uri: uri.clone(),
        remote_addr: None,
        issued_at: SystemTime::now(),
    };
    let pairs = reference(raw);
    // Every lookup parses the whole query again, so a long query is checked on its first and
    // last names only, not on each of its thousands of names.
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in pairs.iter().take(16).chain(pairs.iter().rev().take(16)) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    for name in names {
        let expected = pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone());
        assert_eq!(handshake.query(name), expected, "first value of {name:?}");
    }
    let values = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let eio_ok = values("EIO") == ["4"];
    let transport = values("transport");
    let transport_ok = matches!(transport.as_slice(), ["polling" | "websocket"]);
    run("query_string", async {
        let eio = EngineIo::with_handler(EngineConfig::default(), Recorder::default());
        let mut service = eio.service();
        let request = Request::get(uri)
            .body(Body::empty())
            .expect("a valid request");
        let (status, _, body) = call(&mut service, request).await;
        let code = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["code"].as_u64());
        if !eio_ok {
            assert_eq!(
                (status, code),
                (StatusCode::BAD_REQUEST, Some(5)),
                "{query:?}"
            );
        } else if !transport_ok {
            assert_eq!(
                (status, code),
                (StatusCode::BAD_REQUEST, Some(0)),
                "{query:?}"
            );
        } else {
            assert!(
                status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
                "{query:?}: {status}"
            );
        }
        close_all(&eio).await;
    });
}

/// Request headers from `name:value` lines; lines that are no valid header are skipped.
fn header_lines(text: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    headers
}

/// The origins the `List` policy of [`cors_headers`] accepts.
const LISTED_ORIGINS: [&str; 2] = ["https://example.com", "http://localhost:3000"];

/// `cors_headers`: request headers (`name:value` lines) sent through the engine service under
/// a CORS policy picked by the first byte (bits 0-2: same origin, any, a list, a predicate,
/// disabled; bit 3: credentials; bit 4: preflight `OPTIONS` rather than `GET`).
///
/// Checks: an allowed origin is echoed exactly, never another; a refused one gets 400 and no
/// `Access-Control-Allow-Origin`; a same-origin match names the `Host` (or the forwarded
/// host); credentials only with an echoed origin; nothing at all when CORS is disabled.
pub fn cors_headers(data: &[u8]) {
    let Some((&flags, lines)) = data.split_first() else {
        return;
    };
    let origins = match flags & 0x07 {
        0 | 5 => CorsOrigins::SameOrigin,
        1 | 6 => CorsOrigins::Any,
        2 | 7 => CorsOrigins::list(LISTED_ORIGINS),
        3 => CorsOrigins::predicate(|origin| origin.ends_with(".example.com")),
        _ => CorsOrigins::Disabled,
    };
    let disabled = matches!(origins, CorsOrigins::Disabled);
    let credentials = flags & 0x08 != 0;
    let preflight = flags & 0x10 != 0;
    let headers = header_lines(lines);
    let origin = headers.get(http::header::ORIGIN).cloned();
    run("cors_headers", async {
        let config = EngineConfig::default()
            .cors_allowed_origins(origins.clone())
            .cors_credentials(credentials);
        let eio = EngineIo::with_handler(config, Recorder::default());
        let mut service = eio.service();
        let method = if preflight {
            Method::OPTIONS
        } else {
            Method::GET
        };
        let mut request = Request::builder()
            .method(method)
            .uri("/engine.io/?EIO=4&transport=polling&sid=unknown")
            .body(Body::empty())
            .expect("a valid request");
        *request.headers_mut() = headers.clone();
        let (status, answer, _) = call(&mut service, request).await;
        let allowed = answer.get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN);
        let allow_credentials = answer.get(http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
        if disabled {
            assert!(
                answer
                    .keys()
                    .all(|name| !name.as_str().starts_with("access-control-")),
                "CORS headers while disabled: {answer:?}"
            );
            return;
        }
        match &origin {
            None => assert!(allowed.is_none() && allow_credentials.is_none()),
            Some(origin) => match allowed {
                Some(allowed) => {
                    assert_eq!(allowed, origin, "echoed another origin");
                    let text = origin.to_str().ok();
                    match &origins {
                        CorsOrigins::List(list) => {
                            assert!(list.iter().any(|o| Some(o.as_str()) == text));
                        }
                        CorsOrigins::Predicate(_) => {
                            assert!(text.is_some_and(|t| t.ends_with(".example.com")));
                        }
                        CorsOrigins::SameOrigin => {
                            check_same_origin(text.unwrap_or_default(), &headers);
                        }
                        _ => {}
                    }
                    assert_eq!(
                        allow_credentials.is_some(),
                        credentials,
                        "credentials header without credentials set"
                    );
                }
                None => {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "refused but not 400");
                    assert!(allow_credentials.is_none());
                }
            },
        }
        if preflight && status == StatusCode::OK {
            let methods = answer.get(http::header::ACCESS_CONTROL_ALLOW_METHODS);
            assert!(methods.is_some(), "a preflight answer without methods");
            assert_eq!(
                answer.get(http::header::ACCESS_CONTROL_ALLOW_HEADERS),
                headers.get(http::header::ACCESS_CONTROL_REQUEST_HEADERS),
            );
        }
        let refused = origin.is_some() && allowed.is_none();
        assert!(
            refused
                || answer
                    .get_all(http::header::VARY)
                    .iter()
                    .any(|v| v == "Origin"),
            "no Vary: Origin"
        );
    });
}

/// An origin accepted as the same origin names the host of the request (the `Host` header,
/// or the first `X-Forwarded-Host`), with `http`, `https` or the forwarded scheme.
fn check_same_origin(origin: &str, headers: &HeaderMap) {
    let (scheme, host) = origin
        .split_once("://")
        .unwrap_or_else(|| panic!("accepted {origin:?} without a scheme"));
    let text = |name: &str, list: bool| {
        let value = headers.get(name)?.to_str().ok()?;
        let value = if list {
            value.split(',').next()?
        } else {
            value
        };
        Some(value.trim().to_ascii_lowercase())
    };
    let hosts = [text("host", false), text("x-forwarded-host", true)];
    let schemes = [
        Some("http".into()),
        Some("https".into()),
        text("x-forwarded-proto", true),
    ];
    let host = host.to_ascii_lowercase();
    let scheme = scheme.to_ascii_lowercase();
    assert!(
        hosts.iter().flatten().any(|h| *h == host),
        "accepted {origin:?} for hosts {hosts:?}"
    );
    assert!(
        schemes.iter().flatten().any(|s| *s == scheme),
        "accepted {origin:?} for schemes {schemes:?}"
    );
}

/// RFC 6265 §4.1.1 cookie-octet.
fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// RFC 9110 tchar, what a cookie name is made of.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// RFC 6265 path-value / domain characters: any CHAR except controls and `;`.
fn is_attribute_char(byte: u8) -> bool {
    (0x20..0x7f).contains(&byte) && byte != b';'
}

/// `cookie_header`: the `Set-Cookie` header of the sticky-session cookie, for a name, sid,
/// path and domain from the input (four frames split at `0xff`, the first byte of the input
/// holding the flags). `Some` exactly when every part is allowed where it goes (RFC 6265),
/// and then the header reads back as exactly the configured cookie: nothing can inject an
/// attribute.
pub fn cookie_header(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0xff).map(String::from_utf8_lossy);
    let mut next = || parts.next().map(|p| p.into_owned()).unwrap_or_default();
    let (name, sid, path, domain) = (next(), next(), next(), next());
    let config = CookieConfig {
        name: name.clone(),
        path: path.clone(),
        http_only: flags & 1 != 0,
        same_site: match (flags >> 1) & 3 {
            0 => None,
            1 => Some(SameSite::Strict),
            2 => Some(SameSite::Lax),
            _ => Some(SameSite::None),
        },
        secure: flags & 8 != 0,
        domain: (flags & 16 != 0).then(|| domain.clone()),
        max_age: (flags & 32 != 0).then(|| Duration::from_secs(u64::from(flags))),
    };
    let domain = config.domain.clone().unwrap_or_default();
    let valid = !name.is_empty()
        && name.bytes().all(is_tchar)
        && sid.bytes().all(is_cookie_octet)
        && path.bytes().all(is_attribute_char)
        && domain.bytes().all(is_attribute_char);
    let header = config.header_value(&sid);
    assert_eq!(
        header.is_some(),
        valid,
        "{config:?} with sid {sid:?}: {header:?}"
    );
    let Some(header) = header else {
        return;
    };
    let text = header.to_str().expect("a cookie header is visible ASCII");
    let mut attributes = text.split("; ");
    assert_eq!(attributes.next(), Some(format!("{name}={sid}").as_str()));
    let mut expected = Vec::new();
    if !path.is_empty() {
        expected.push(format!("Path={path}"));
    }
    if !domain.is_empty() {
        expected.push(format!("Domain={domain}"));
    }
    if let Some(max_age) = config.max_age {
        expected.push(format!("Max-Age={}", max_age.as_secs()));
    }
    if config.http_only {
        expected.push("HttpOnly".into());
    }
    if config.secure {
        expected.push("Secure".into());
    }
    if let Some(same_site) = config.same_site {
        expected.push(format!("SameSite={same_site:?}"));
    }
    assert_eq!(attributes.collect::<Vec<_>>(), expected, "{text:?}");
    assert_eq!(
        text.matches(';').count(),
        expected.len(),
        "an attribute was injected: {text:?}"
    );
}

/// `static_path`: a request path resolved against static-file rules from the input. Frames
/// ([`frames`], text only) alternate URL and target of each rule; the last frame is the
/// request path. Whatever the path, the file it resolves to lies inside the target of a
/// rule: the target itself or below it, never above it, never absolute when the target is
/// relative.
pub fn static_path(data: &[u8]) {
    let mut texts: Vec<String> = frames(data)
        .into_iter()
        .map(|chunk| match chunk {
            Chunk::Text(text) => text,
            Chunk::Binary(data) => String::from_utf8_lossy(&data).into_owned(),
        })
        .collect();
    let Some(request) = texts.pop() else {
        return;
    };
    let mut files = StaticFiles::new();
    let mut targets = Vec::new();
    for rule in texts.chunks(2) {
        let [url, target] = rule else { break };
        files = files.route(url.as_str(), target.as_str());
        targets.push(target.clone());
    }
    if data.len() % 2 == 1 {
        files = files.default_file("home.html");
    }
    let Some(resolved) = files.resolve(&request) else {
        return;
    };
    let path = resolved.path.as_path();
    // What the request adds below the target must be plain names: no `..`, no root, and
    // nothing a file system could read as a separator or the end of the name.
    let inside = targets.iter().any(|target| {
        let Ok(below) = path.strip_prefix(Path::new(target)) else {
            return false;
        };
        !below.to_string_lossy().contains(['\0', '\\'])
            && below
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    });
    assert!(
        inside,
        "{request:?} escapes every target of {targets:?}: {path:?}"
    );
    assert!(!resolved.content_type.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The client, against a scripted server on 127.0.0.1
// ---------------------------------------------------------------------------------------------

/// A client for the scripted server on `port`: no reconnection, and short timeouts so that
/// every input ends well within [`HANG`].
fn scripted_client(port: u16, transports: Transports) -> ClientBuilder {
    Client::builder(format!("http://127.0.0.1:{port}"))
        .transports(transports)
        .reconnection(Reconnection {
            enabled: false,
            ..Reconnection::default()
        })
        .connect_timeout(Duration::from_millis(300))
}

async fn local_listener() -> (tokio::net::TcpListener, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on 127.0.0.1");
    let port = listener.local_addr().expect("a bound listener").port();
    (listener, port)
}

/// What the client must accept in an open packet, read from the handshake answer by our own
/// rules: a payload whose first packet is `0` + a JSON object with a `sid` of 1 to 256 bytes,
/// `pingInterval` and `pingTimeout` of 1 ms to 24 h, `upgrades` absent or a list of strings,
/// `maxPayload` absent or a positive integer. Returns the sid.
fn acceptable_open(body: &Bytes) -> Option<String> {
    let packets = payload::decode(body.clone(), usize::MAX).ok()?;
    let Some(EnginePacket::Open(json)) = packets.first() else {
        return None;
    };
    let Value::Object(open) = serde_json::from_str::<Value>(json).ok()? else {
        return None;
    };
    let sid = open.get("sid")?.as_str()?;
    let millis = |key: &str| {
        open.get(key)
            .and_then(Value::as_u64)
            .is_some_and(|ms| (1..=86_400_000).contains(&ms))
    };
    let upgrades = match open.get("upgrades") {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items.iter().all(Value::is_string),
        Some(_) => false,
    };
    let max_payload = match open.get("maxPayload") {
        None | Some(Value::Null) => true,
        Some(value) => value
            .as_u64()
            .is_some_and(|n| n > 0 && usize::try_from(n).is_ok()),
    };
    let ok = (1..=256).contains(&sid.len())
        && millis("pingInterval")
        && millis("pingTimeout")
        && upgrades
        && max_payload;
    ok.then(|| sid.to_owned())
}

/// A long-polling server that answers the handshake with `open`, every later GET with the
/// close packet and every POST with `ok`, and logs each request.
async fn scripted_polling_server(
    listener: tokio::net::TcpListener,
    open: Bytes,
    requests: Arc<Mutex<Vec<Request<()>>>>,
) {
    // Dropped when this task is aborted, which aborts every connection with it.
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        // Small answers must not wait for the client's delayed acks (Nagle).
        let _ = stream.set_nodelay(true);
        let (open, requests) = (open.clone(), requests.clone());
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let (open, requests) = (open.clone(), requests.clone());
            async move {
                let (parts, body) = request.into_parts();
                let _ = body.collect().await;
                let has_sid = parts.uri.query().is_some_and(|q| q.contains("sid="));
                let answer = match parts.method {
                    _ if !has_sid => open,
                    Method::GET => Bytes::from_static(b"1"),
                    _ => Bytes::from_static(b"ok"),
                };
                let mut log = requests.lock().unwrap_or_else(|e| e.into_inner());
                log.push(Request::from_parts(parts, ()));
                Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(answer)))
            }
        });
        connections.spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

/// `client_open_packet`: the body of the handshake answer a long-polling client receives (the
/// open packet, and whatever packets follow it). The client must go on with the session
/// exactly when the open packet is acceptable ([`acceptable_open`]), and then name that sid,
/// percent-decoded back exactly, in every later request; otherwise it must fail to connect
/// without sending anything more. Either way it ends within the timeouts, with no task left.
pub fn client_open_packet(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    run_networked("client_open_packet", async move {
        let (listener, port) = local_listener().await;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let server = tokio::spawn(scripted_polling_server(
            listener,
            body.clone(),
            requests.clone(),
        ));
        let client = scripted_client(port, Transports::Polling)
            .build()
            .expect("a valid client");
        let outcome = client.connect().await;
        client.disconnect();
        client.wait().await;
        drop(client);
        server.abort();
        let _ = server.await;

        let requests = std::mem::take(&mut *requests.lock().unwrap_or_else(|e| e.into_inner()));
        let sid_of = |request: &Request<()>| {
            let handshake = Handshake {
                headers: HeaderMap::new(),
                uri: request.uri().clone(),
                remote_addr: None,
                issued_at: SystemTime::now(),
            };
            handshake.query("sid")
        };
        assert_eq!(
            requests.first().and_then(sid_of),
            None,
            "the handshake had a sid"
        );
        let later = requests.get(1..).unwrap_or_default();
        match acceptable_open(&body) {
            Some(sid) => {
                // Packets after the open packet may still end the session before the client
                // sends anything, but the handshake itself must have been taken.
                assert!(
                    !matches!(outcome, Err(ClientError::Handshake(_))),
                    "a good open packet was refused: {outcome:?}"
                );
                for request in later {
                    assert_eq!(
                        sid_of(request).as_deref(),
                        Some(sid.as_str()),
                        "{request:?}"
                    );
                }
            }
            None => {
                assert!(later.is_empty(), "a bad open packet was used: {later:?}");
                assert!(outcome.is_err(), "connected on a bad open packet");
            }
        }
    });
}

/// Handlers of every kind, on each namespace of the scripted client.
fn scripted_handlers(namespace: ClientNamespaceBuilder) -> ClientNamespaceBuilder {
    namespace
        .on(
            "echo",
            |payload: Payload, ack: Option<ClientAck>| async move {
                check_payload(&payload);
                if let Some(ack) = ack {
                    let _ = ack.send(payload);
                }
            },
        )
        .on("typed", |text: String, n: u32| async move {
            format!("{text}{n}")
        })
        .on("upload", |upload: Upload| async move { upload.data })
        .on_any(|payload: Payload| async move {
            check_payload(&payload);
        })
        .on_connect(|| async {})
        .on_connect_error(|_refusal: serde_json::Value| async {})
        .on_disconnect(|_reason: crate::client::DisconnectReason| async {})
}

/// The acks the scripted client waits for when the frames arrive: ids 0 and 1 on `/chat`.
const PENDING_ACKS: usize = 2;
/// The last ping of the scripted server; its pong means the client has read every frame.
const LAST_PING: &str = "2fuzz-end";

/// A WebSocket server that opens a session, accepts the namespaces the client asks for,
/// waits for its [`PENDING_ACKS`] emits, sends `frames`, and then a last ping whose pong
/// tells that the client has read them all.
async fn scripted_websocket_server(listener: tokio::net::TcpListener, frames: Vec<Chunk>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Ws;
    let Ok((stream, _)) = listener.accept().await else {
        return;
    };
    let _ = stream.set_nodelay(true);
    // A small read buffer: tungstenite's 128 KiB default is allocated and zeroed per input.
    let config =
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let open = r#"0{"sid":"fuzz","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    if ws.send(Ws::text(open)).await.is_err() {
        return;
    }
    let mut emits = 0;
    while emits < PENDING_ACKS {
        let Some(Ok(message)) = ws.next().await else {
            return;
        };
        let Ws::Text(text) = message else { continue };
        if let Some(rest) = text.as_str().strip_prefix("40") {
            let namespace = rest.strip_suffix(',').unwrap_or(rest);
            let reply = match namespace {
                "" => r#"40{"sid":"root"}"#.to_owned(),
                namespace => format!(r#"40{namespace},{{"sid":"s{}"}}"#, namespace.len()),
            };
            if ws.send(Ws::text(reply)).await.is_err() {
                return;
            }
        } else if text.as_str().starts_with("42") {
            emits += 1;
        }
    }
    for frame in frames {
        let message = match frame {
            Chunk::Text(text) => Ws::text(text),
            Chunk::Binary(data) => Ws::binary(data),
        };
        if ws.send(message).await.is_err() {
            return;
        }
    }
    if ws.send(Ws::text(LAST_PING)).await.is_err() {
        return;
    }
    let pong = format!("3{}", &LAST_PING[1..]);
    while let Some(Ok(message)) = ws.next().await {
        if matches!(&message, Ws::Text(text) if text.as_str() == pong) {
            break;
        }
    }
}

/// `client_server_packet`: WebSocket frames ([`frames`]; text frames are whole Engine.IO
/// packets) from a server to a client joined to `/` and `/chat`, with handlers of every kind
/// and two acks pending. The client must handle or refuse each frame without panicking, end
/// its session when the server goes away, and leave no task behind (handler jobs included).
pub fn client_server_packet(data: &[u8]) {
    let frames = frames(data);
    run_networked("client_server_packet", async move {
        let (listener, port) = local_listener().await;
        let server = tokio::spawn(scripted_websocket_server(listener, frames));
        let client = scripted_client(port, Transports::WebSocket)
            .namespace("/", scripted_handlers)
            .namespace("/chat", scripted_handlers)
            .build()
            .expect("a valid client");
        let outcome = client.connect().await;
        assert!(
            outcome.is_ok(),
            "the scripted server was refused: {outcome:?}"
        );
        let chat = client.of("/chat");
        for n in 0..PENDING_ACKS {
            let sent = chat.emit_with_callback(
                "ask",
                Payload::from_args(vec![Value::from(n)]),
                |reply| async move {
                    if let Ok(payload) = reply {
                        check_payload(&payload);
                    }
                },
            );
            assert!(
                sent.is_ok(),
                "emit on a connected namespace failed: {sent:?}"
            );
        }
        let _ = server.await;
        client.wait().await;
        drop(client);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed seeds (`fuzz/corpus/<target>/seed-*`) run clean through every entry
    /// point, so that `cargo test --features fuzzing` checks the harness on a stable
    /// toolchain, without libFuzzer.
    #[test]
    fn every_seed_runs_clean() {
        let query = |data: &[u8]| {
            query_string(data, |query| {
                // A rough reference, enough for the seeds: they hold no `%` or `+` escapes
                // that the two parsers could read differently.
                query
                    .split('&')
                    .filter(|pair| !pair.is_empty() && !pair.contains(['%', '+']))
                    .map(|pair| {
                        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                        (name.to_owned(), value.to_owned())
                    })
                    .collect()
            })
        };
        type Entry<'a> = &'a dyn Fn(&[u8]);
        let targets: [(&str, Entry); 14] = [
            ("engine_packet", &engine_packet),
            ("polling_payload", &polling_payload),
            ("polling_post", &polling_post),
            ("engine_ws_message", &engine_ws_message),
            ("socketio_packet", &socketio_packet),
            ("socketio_binary_reassembly", &socketio_binary_reassembly),
            ("typed_args", &typed_args),
            ("bus_message", &bus_message),
            ("query_string", &query),
            ("cookie_header", &cookie_header),
            ("cors_headers", &cors_headers),
            ("static_path", &static_path),
            ("client_open_packet", &client_open_packet),
            ("client_server_packet", &client_server_packet),
        ];
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        for (target, entry) in targets {
            let mut seeds = 0;
            for file in std::fs::read_dir(corpus.join(target)).expect("a seed directory") {
                let path = file.expect("a directory entry").path();
                let is_seed = path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("seed-"));
                if is_seed {
                    entry(&std::fs::read(&path).expect("a readable seed"));
                    seeds += 1;
                }
            }
            assert!(seeds > 0, "no seeds for {target}");
        }
    }
}
