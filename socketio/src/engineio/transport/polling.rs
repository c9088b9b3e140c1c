//! HTTP long-polling: the handshake GET, the waiting GET, and POSTs of client packets.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, header};
use http_body_util::{BodyExt, Limited};

use crate::engineio::config::TransportKind;
use crate::engineio::engine::{Engine, Flow, Session};
use crate::engineio::error::EngineError;
use crate::engineio::handler::EngineHandler;
use crate::engineio::packet::Frame;
use crate::engineio::payload::{self, MAX_PACKETS};
use crate::engineio::socket::{DisconnectReason, Handshake, Socket, TransportState};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a GET that arrives during an upgrade probe waits for the upgrade to complete.
const UPGRADE_SETTLE: std::time::Duration = std::time::Duration::from_millis(100);

/// How the response body is framed: plain, or wrapped for a JSONP `<script>` (`j=N`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Framing {
    Plain,
    Jsonp(u32),
}

/// Opens a session and answers with its open packet.
pub(crate) async fn handshake<H: EngineHandler>(
    engine: &Arc<Engine<H>>,
    handshake: Handshake,
    framing: Framing,
) -> Result<(Session<H::Connection>, Response<Body>), EngineError> {
    let accept_encoding = handshake.headers.get(header::ACCEPT_ENCODING).cloned();
    let session = engine
        .open_session(TransportKind::Polling, handshake)
        .await?;
    let open = engine.open_packet(&session.socket, TransportKind::Polling);
    let response = respond(engine, &[open], framing, accept_encoding.as_ref());
    Ok((session, response))
}

/// A GET on an open session: waits for packets and answers with up to 16 of them.
pub(crate) async fn poll<H: EngineHandler>(
    engine: &Engine<H>,
    socket: &Arc<Socket>,
    framing: Framing,
    headers: &HeaderMap,
) -> Result<Response<Body>, EngineError> {
    let accept_encoding = headers.get(header::ACCEPT_ENCODING);
    match socket.state() {
        TransportState::Polling => {}
        TransportState::Upgrading => {
            return match upgrade_outcome(socket).await {
                TransportState::WebSocket => Err(upgraded()),
                _ => Ok(respond(engine, &[Frame::NOOP], framing, accept_encoding)),
            };
        }
        TransportState::WebSocket => return Err(upgraded()),
        TransportState::Closed => return final_poll(engine, socket, framing, accept_encoding),
    }
    let Some(mut queue) = socket.try_outbox() else {
        socket.close(DisconnectReason::TransportError);
        return Err(EngineError::BadRequest("overlapping poll requests".into()));
    };
    let mut state = socket.watch_state();
    let mut frames = Vec::new();
    {
        let _waiting = PollWaiting::start(socket);
        tokio::select! {
            biased;
            frame = queue.recv() => frames.push(frame),
            _ = state.wait_for(|s| *s != TransportState::Polling) => {}
        }
    }
    while frames.len() < MAX_PACKETS && !frames.last().is_some_and(Frame::is_close) {
        match queue.try_recv() {
            Some(frame) => frames.push(frame),
            None => break,
        }
    }
    drop(queue);
    if frames.is_empty() && upgrade_outcome(socket).await == TransportState::WebSocket {
        return Err(upgraded());
    }
    if frames.is_empty() {
        frames.push(match socket.close_reason() {
            // A client that closed is told nothing more; a poll on a broken session learns
            // that it is over.
            None => Frame::NOOP,
            Some(DisconnectReason::ClientClose) => {
                socket.answer_client_close();
                socket.notify_close_delivered();
                Frame::NOOP
            }
            Some(_) => Frame::CLOSE,
        });
    } else if socket.is_closed() && !frames.last().is_some_and(Frame::is_close) {
        frames.push(Frame::CLOSE);
    }
    if frames.last().is_some_and(Frame::is_close) {
        socket.notify_close_delivered();
    }
    Ok(respond(engine, &frames, framing, accept_encoding))
}

/// Where an upgrade under way ends up, waiting at most [`UPGRADE_SETTLE`] for it: the client
/// may have sent `5` on the WebSocket before this GET, and the two connections race (Node
/// answers such polls from a 100 ms check too). A GET during a real probe still gets its
/// noop; one that the upgrade overtook is refused.
async fn upgrade_outcome(socket: &Socket) -> TransportState {
    if socket.state() == TransportState::Upgrading {
        let mut state = socket.watch_state();
        let _ = tokio::time::timeout(
            UPGRADE_SETTLE,
            state.wait_for(|s| *s != TransportState::Upgrading),
        )
        .await;
    }
    socket.state()
}

fn upgraded() -> EngineError {
    EngineError::BadRequest("the session was upgraded to websocket".into())
}

/// A GET on a session the server has just closed: hands over what is left, ending with the
/// close packet. After the client's own close packet, the first GET gets a noop (its POST
/// and this GET may have raced, as they do in the official test suite). Sessions closed for
/// other reasons are unknown from now on.
fn final_poll<H: EngineHandler>(
    engine: &Engine<H>,
    socket: &Socket,
    framing: Framing,
    accept_encoding: Option<&HeaderValue>,
) -> Result<Response<Body>, EngineError> {
    if socket.close_reason() == Some(DisconnectReason::ClientClose) {
        if !socket.answer_client_close() {
            return Err(EngineError::UnknownSid);
        }
        socket.notify_close_delivered();
        return Ok(respond(engine, &[Frame::NOOP], framing, accept_encoding));
    }
    let server_closed = socket
        .close_reason()
        .is_some_and(DisconnectReason::is_server_initiated);
    let Some(mut queue) = server_closed.then(|| socket.try_outbox()).flatten() else {
        return Err(EngineError::UnknownSid);
    };
    let mut frames = Vec::new();
    while frames.len() < MAX_PACKETS && !frames.last().is_some_and(Frame::is_close) {
        match queue.try_recv() {
            Some(frame) => frames.push(frame),
            None => break,
        }
    }
    if !frames.last().is_some_and(Frame::is_close) && frames.len() < MAX_PACKETS {
        frames.push(Frame::CLOSE);
    }
    if frames.last().is_some_and(Frame::is_close) {
        socket.notify_close_delivered();
    }
    Ok(respond(engine, &frames, framing, accept_encoding))
}

/// A POST of client packets. Echoes the handler queues while handling them go out before
/// the `ok`, so a client's next GET sees them.
pub(crate) async fn post<H, B>(
    engine: &Engine<H>,
    session: &Session<H::Connection>,
    framing: Framing,
    headers: &HeaderMap,
    body: B,
) -> Result<Response<Body>, EngineError>
where
    H: EngineHandler,
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    let socket = &session.socket;
    match socket.state() {
        TransportState::Polling | TransportState::Upgrading => {}
        TransportState::WebSocket => {
            return Err(EngineError::BadRequest(
                "the session was upgraded to websocket".into(),
            ));
        }
        TransportState::Closed => return Err(EngineError::UnknownSid),
    }
    let Ok(_one_post_at_a_time) = socket.post_lock.try_lock() else {
        socket.close(DisconnectReason::TransportError);
        return Err(EngineError::BadRequest("overlapping POST requests".into()));
    };
    let body = match read_body(engine.config.max_payload, headers, body).await {
        Ok(body) => body,
        Err(err) => {
            socket.close(DisconnectReason::TransportError);
            return Err(err);
        }
    };
    let body = match framing {
        Framing::Plain => body,
        Framing::Jsonp(_) => match jsonp_form_data(&body) {
            Some(data) => data,
            None => {
                socket.close(DisconnectReason::TransportError);
                return Err(EngineError::BadRequest("JSONP body without d=".into()));
            }
        },
    };
    let packets = match payload::decode(body, engine.config.max_packets_per_post) {
        Ok(packets) => packets,
        Err(err) => {
            tracing::debug!(sid = %socket.sid(), %err, "bad polling payload");
            socket.close(DisconnectReason::TransportError);
            return Err(EngineError::BadRequest(err.to_string()));
        }
    };
    for packet in packets {
        if engine.on_packet(session, packet).await == Flow::Stop {
            break;
        }
    }
    let mut response = Response::new(Body::from("ok"));
    set_text_content_type(&mut response, framing);
    Ok(response)
}

/// Reads a POST body, refusing to read past `max_payload`, whether the size is announced in
/// `Content-Length` or the body is chunked.
async fn read_body<B>(
    max_payload: usize,
    headers: &HeaderMap,
    body: B,
) -> Result<Bytes, EngineError>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > max_payload as u64) {
        return Err(EngineError::BadRequest("payload too large".into()));
    }
    match Limited::new(body, max_payload).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            Err(EngineError::BadRequest("payload too large".into()))
        }
        Err(err) => Err(EngineError::BadRequest(format!(
            "could not read body: {err}"
        ))),
    }
}

/// The `d` field of a JSONP POST (`application/x-www-form-urlencoded`).
fn jsonp_form_data(body: &[u8]) -> Option<Bytes> {
    let text = std::str::from_utf8(body).ok()?;
    let query = crate::engineio::query::Query::parse(text);
    query.first("d").map(Bytes::from)
}

/// Builds a response body from frames: JSONP-wrapped if asked, compressed when worth it.
fn respond<H: EngineHandler>(
    engine: &Engine<H>,
    frames: &[Frame],
    framing: Framing,
    accept_encoding: Option<&HeaderValue>,
) -> Response<Body> {
    let mut body = payload::encode(frames);
    if let Framing::Jsonp(index) = framing {
        let text = String::from_utf8_lossy(&body);
        let escaped = serde_json::to_string(&*text).unwrap_or_default();
        body = Bytes::from(format!("___eio[{index}]({escaped});"));
    }
    let compression = &engine.config.compression;
    let encoding = compression
        .worth_compressing(body.len())
        .then(|| compression.negotiate(accept_encoding))
        .flatten();
    let mut response = match encoding {
        Some(encoding) => {
            let mut response = Response::new(Body::from(compression.compress(body, encoding)));
            response.headers_mut().insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(encoding.as_header()),
            );
            response
        }
        None => Response::new(Body::from(body)),
    };
    set_text_content_type(&mut response, framing);
    response
}

fn set_text_content_type(response: &mut Response<Body>, framing: Framing) {
    let content_type = match framing {
        Framing::Plain => "text/plain; charset=UTF-8",
        Framing::Jsonp(_) => "text/javascript; charset=UTF-8",
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
}

/// Marks the session as having a poll waiting, until dropped (also when the client gives up
/// on the request and its future is dropped).
struct PollWaiting<'a>(&'a Socket);

impl<'a> PollWaiting<'a> {
    fn start(socket: &'a Socket) -> Self {
        socket.poll_waiting.store(true, Ordering::Release);
        PollWaiting(socket)
    }
}

impl Drop for PollWaiting<'_> {
    fn drop(&mut self) {
        self.0.poll_waiting.store(false, Ordering::Release);
    }
}
