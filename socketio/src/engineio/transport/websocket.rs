//! WebSocket: sessions opened directly and the upgrade of polling sessions
//! (`2probe` → `3probe`, then `5`). One Engine.IO packet per frame.

use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

use crate::engineio::config::TransportKind;
use crate::engineio::engine::{Engine, Flow, Session};
use crate::engineio::error::EngineError;
use crate::engineio::handler::EngineHandler;
use crate::engineio::outbox::Outbox;
use crate::engineio::packet::{Frame, Packet};
use crate::engineio::socket::{DisconnectReason, Socket, TransportState};
use crate::engineio::str::Str;

type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// Bytes read from a WebSocket connection at a time. The WebSocket library allocates this
/// much per connection and zeroes it before every read, so it is small: Socket.IO messages
/// mostly are, and a larger one is assembled across reads (a megabyte takes a thousand).
const READ_CHUNK: usize = 1024;

/// Most frames written before one flush. WebSocket frames stand alone (unlike a polling
/// payload, whose packet count python-engineio limits), so a backlog goes out in few writes:
/// under overload, when queues are deep, that is what keeps a core delivering.
const WRITE_BATCH: usize = 64;

/// How long a closing WebSocket may take to flush its last frames and its close frame to the
/// client. A client that stopped reading must not keep the connection (and its task and file
/// descriptor) alive past it.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Checks the WebSocket handshake headers and builds the `101 Switching Protocols` answer.
pub(crate) fn accept(headers: &HeaderMap) -> Result<Response<Body>, EngineError> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .to_str()
                .unwrap_or_default()
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return Err(EngineError::BadRequest(
            "transport=websocket needs a WebSocket upgrade request".into(),
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(EngineError::BadRequest(
            "unsupported WebSocket version".into(),
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or_else(|| EngineError::BadRequest("missing Sec-WebSocket-Key".into()))?;
    if !is_valid_key(key.as_bytes()) {
        return Err(EngineError::BadRequest(
            "Sec-WebSocket-Key is not the base64 of 16 bytes".into(),
        ));
    }
    let accept_key = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|_| EngineError::BadRequest("bad Sec-WebSocket-Key".into()))?;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::SEC_WEBSOCKET_ACCEPT, accept_key);
    Ok(response)
}

/// RFC 6455 §4.2.1: the key is a nonce of 16 bytes in base64, so 24 characters with padding.
fn is_valid_key(key: &[u8]) -> bool {
    use base64::Engine as _;
    let mut nonce = [0u8; 18];
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode_slice(key, &mut nonce)
            .is_ok_and(|len| len == 16)
}

async fn into_websocket(on_upgrade: OnUpgrade, max_payload: usize) -> Option<Ws> {
    let upgraded = on_upgrade.await.ok()?;
    // The library reads in chunks of `read_buffer_size` and allocates that much per
    // connection up front; its 128 KiB default would cost over a gigabyte at 10 000 clients.
    // Larger messages still arrive whole, assembled across reads.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_CHUNK)
        .max_message_size(Some(max_payload))
        .max_frame_size(Some(max_payload));
    Some(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await)
}

/// Runs a session that was opened over WebSocket: open packet first, then the session.
pub(crate) async fn serve_new<H: EngineHandler>(
    engine: Arc<Engine<H>>,
    session: Session<H::Connection>,
    on_upgrade: OnUpgrade,
) {
    let socket = &session.socket;
    let Some(mut ws) = into_websocket(on_upgrade, engine.config.max_payload).await else {
        socket.close(DisconnectReason::TransportError);
        return;
    };
    let open = engine.open_packet(socket, TransportKind::WebSocket);
    if ws.send(to_ws_message(open)).await.is_err() {
        socket.close(DisconnectReason::TransportClose);
        return;
    }
    run_session(&engine, &session, ws).await;
}

/// Runs the probe of a polling session and, when the client sends `5`, takes over the
/// session. A failed probe leaves the session on polling.
pub(crate) async fn serve_upgrade<H: EngineHandler>(
    engine: Arc<Engine<H>>,
    session: Session<H::Connection>,
    on_upgrade: OnUpgrade,
) {
    let socket = &session.socket;
    let Some(mut ws) = into_websocket(on_upgrade, engine.config.max_payload).await else {
        socket.release_probe();
        return;
    };
    let probe = tokio::time::timeout(engine.config.upgrade_timeout, probe(socket, &mut ws));
    match probe.await.unwrap_or(Err("upgrade timed out")) {
        Ok(()) => {
            socket.set_state(TransportState::WebSocket);
            tracing::debug!(sid = %socket.sid(), "upgraded to websocket");
            run_session(&engine, &session, ws).await;
        }
        Err(reason) => {
            tracing::debug!(sid = %socket.sid(), reason, "upgrade failed");
            if socket.state() == TransportState::Upgrading {
                socket.set_state(TransportState::Polling);
            }
            socket.release_probe();
            let _ = ws.close(Some(protocol_error(reason))).await;
        }
    }
}

/// Completes the handshake of a WebSocket that asked for a session which already has one
/// (upgraded, upgrading, or opened over WebSocket), then closes it at once, as Node's
/// engine.io does; the session is left alone.
pub(crate) async fn close_extra(on_upgrade: OnUpgrade, max_payload: usize) {
    let Some(mut ws) = into_websocket(on_upgrade, max_payload).await else {
        return;
    };
    let goodbye = CloseFrame {
        code: CloseCode::Policy,
        reason: "the session already has a WebSocket".into(),
    };
    // Send the close and give the client a moment to answer it; never wait on it longer.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        if ws.close(Some(goodbye)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}

/// Waits for `2probe`, answers `3probe` (pending polls get a noop from now on), then waits
/// for `5`. Anything else fails the upgrade.
async fn probe(socket: &Socket, ws: &mut Ws) -> Result<(), &'static str> {
    let mut probed = false;
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            _ = socket.closed() => return Err("session closed during upgrade"),
        };
        let text = match message {
            Some(Ok(WsMessage::Text(text))) => Str::from_utf8_bytes(text),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            _ => return Err("connection ended during upgrade"),
        };
        match Packet::decode_text(text, false) {
            Ok(Packet::Ping(data)) if data == "probe" && !probed => {
                probed = true;
                ws.send(to_ws_message(Frame::PONG_PROBE))
                    .await
                    .map_err(|_| "connection ended during upgrade")?;
                socket.set_state(TransportState::Upgrading);
            }
            Ok(Packet::Ping(data)) if data == "probe" => return Err("second probe"),
            Ok(Packet::Upgrade) if probed => return Ok(()),
            Ok(Packet::Upgrade) => return Err("upgrade without a probe"),
            _ => return Err("unexpected packet during upgrade"),
        }
    }
}

/// Reads and writes an established WebSocket session until it closes, in this one task: a
/// reply queued by a handler that ran here goes out on the next turn of the loop, with no
/// task to wake. Queued frames go first; while a batch is written nothing is read (a client
/// that stops reading is caught by the heartbeat, and the close ends a stuck write).
async fn run_session<H: EngineHandler>(
    engine: &Engine<H>,
    session: &Session<H::Connection>,
    mut ws: Ws,
) {
    let socket = &session.socket;
    let mut queue = socket.outbox().await;
    let closed = socket.closed();
    tokio::pin!(closed);
    // After a paced frame nothing is written until this fires. Boxed and made only when
    // needed (rarely): every idle session's task would carry a timer otherwise.
    let mut pause: Option<Pin<Box<tokio::time::Sleep>>> = None;
    // Set once the close packet went out: nothing may follow it.
    let mut close_sent = false;
    loop {
        tokio::select! {
            biased;
            () = async {
                if let Some(pause) = pause.as_mut() {
                    pause.await;
                }
            }, if pause.is_some() => {
                pause = None;
            }
            frame = queue.recv(), if pause.is_none() => {
                // The close only cuts a write that is stuck (a client that stopped reading);
                // one that can go on finishes first, the close packet included.
                let written = tokio::select! {
                    biased;
                    written = write_batch(&mut ws, &mut queue, frame) => written,
                    _ = &mut closed => break,
                };
                match written {
                    Err(()) => {
                        socket.close(DisconnectReason::TransportClose);
                        break;
                    }
                    Ok(Batch::Closing) => {
                        close_sent = true;
                        break;
                    }
                    Ok(Batch::Pause(duration)) => pause = Some(Box::pin(tokio::time::sleep(duration))),
                    Ok(Batch::Done) => {}
                }
            }
            message = ws.next() => {
                // Boxed: what a packet's handling holds while it runs would otherwise be part
                // of every idle session's task.
                if Box::pin(read(engine, session, message)).await == Flow::Stop {
                    break;
                }
            }
            _ = &mut closed => break,
        }
    }
    // The session is over: send what is still queued and the close frame, but a client that
    // stopped reading must not hold the connection past the grace period.
    let goodbye = async {
        // Nothing may follow a close packet that went out already.
        while let Some(frame) = queue.try_recv().filter(|_| !close_sent) {
            let last = frame.is_close();
            if ws.feed(to_ws_message(frame)).await.is_err() || last {
                break;
            }
        }
        let frame = match socket.close_reason() {
            Some(DisconnectReason::TransportError) => Some(protocol_error("protocol error")),
            _ => None,
        };
        let _ = ws.send(WsMessage::Close(frame)).await;
    };
    if tokio::time::timeout(CLOSE_GRACE, goodbye).await.is_err() {
        tracing::debug!(sid = %socket.sid(), "client did not take the last frames; dropping it");
    }
}

/// How a batch of queued frames ended.
enum Batch {
    /// Written and flushed.
    Done,
    /// The last frame asked for a pause before anything else is written.
    Pause(std::time::Duration),
    /// The close packet went out: nothing more is written.
    Closing,
}

/// Writes `first` and what else is queued now (up to [`WRITE_BATCH`] frames) and flushes once.
async fn write_batch(ws: &mut Ws, queue: &mut Outbox<'_>, first: Frame) -> Result<Batch, ()> {
    let mut frame = first;
    let mut written = 1;
    loop {
        let pause = queue.take_pause();
        let closing = frame.is_close();
        ws.feed(to_ws_message(frame)).await.map_err(drop)?;
        if closing || pause.is_some() || written == WRITE_BATCH {
            ws.flush().await.map_err(drop)?;
            return Ok(match pause {
                _ if closing => Batch::Closing,
                Some(pause) => Batch::Pause(pause),
                None => Batch::Done,
            });
        }
        match queue.try_recv() {
            Some(next) => {
                frame = next;
                written += 1;
            }
            None => {
                ws.flush().await.map_err(drop)?;
                return Ok(Batch::Done);
            }
        }
    }
}

/// Handles what the WebSocket read: a packet goes to the engine; the end of the connection,
/// an error or a bad packet closes the session.
async fn read<H: EngineHandler>(
    engine: &Engine<H>,
    session: &Session<H::Connection>,
    message: Option<Result<WsMessage, tungstenite::Error>>,
) -> Flow {
    let socket = &session.socket;
    let packet = match message {
        Some(Ok(WsMessage::Text(text))) => {
            match Packet::decode_text(Str::from_utf8_bytes(text), false) {
                Ok(packet) => packet,
                Err(err) => {
                    tracing::debug!(sid = %socket.sid(), %err, "bad websocket packet");
                    socket.close(DisconnectReason::TransportError);
                    return Flow::Stop;
                }
            }
        }
        Some(Ok(WsMessage::Binary(data))) => Packet::Binary(data),
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {
            return Flow::Continue;
        }
        Some(Ok(WsMessage::Close(_))) | None => {
            socket.close(DisconnectReason::TransportClose);
            return Flow::Stop;
        }
        Some(Err(err)) => {
            tracing::debug!(sid = %socket.sid(), %err, "websocket error");
            socket.close(close_reason_for(&err));
            return Flow::Stop;
        }
    };
    engine.on_packet(session, packet).await
}

fn close_reason_for(err: &tungstenite::Error) -> DisconnectReason {
    use tungstenite::error::ProtocolError;
    match err {
        // The peer went away without a close frame: the connection closed, nothing was wrong
        // with what it sent.
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            DisconnectReason::TransportClose
        }
        tungstenite::Error::Capacity(_)
        | tungstenite::Error::Protocol(_)
        | tungstenite::Error::Utf8(_) => DisconnectReason::TransportError,
        _ => DisconnectReason::TransportClose,
    }
}

fn protocol_error(reason: &str) -> CloseFrame {
    CloseFrame {
        code: CloseCode::Protocol,
        reason: reason.into(),
    }
}

fn to_ws_message(frame: Frame) -> WsMessage {
    match frame {
        Frame::Text(text) => WsMessage::Text(text.into_utf8_bytes()),
        Frame::Binary(data) => WsMessage::Binary(data),
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_key;

    #[test]
    fn only_the_base64_of_16_bytes_is_a_key() {
        // The sample nonce of RFC 6455 §1.3.
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_valid_key(b"AAAAAAAAAAAAAAAAAAAAAA=="));
        for bad in [
            &b""[..],
            b"abc",
            b"dGhlIHNhbXBsZSBub25jZQ",
            b"dGhlIHNhbXBsZSBub25jZQ===",
            b"AAAAAAAAAAAAAAAAAAAAAAA=",
            b"AAAAAAAAAAAAAAAAAAAAAAAA",
            b"dGhlIHNhbXBsZSBub25jZ*==",
            b"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9==",
        ] {
            assert!(!is_valid_key(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
