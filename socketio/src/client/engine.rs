//! The Engine.IO v4 client: the handshake, long-polling, WebSocket, the polling → WebSocket
//! upgrade and heartbeats. One driver task per connection owns the transport; the Socket.IO
//! layer talks to it through two bounded channels.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http::Method;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::error::{ClientError, DisconnectReason};
use super::http::{Endpoint, Lane, WsStream};
use crate::engineio::Str;
use crate::engineio::TransportKind;
use crate::engineio::packet::{Frame, Packet};
use crate::engineio::payload::{self, SEPARATOR};

/// Which transports the client may use.
///
/// ```
/// use socketio::client::Transports;
///
/// assert_eq!(Transports::default(), Transports::Upgrade);
/// assert_eq!("websocket".parse::<Transports>(), Ok(Transports::WebSocket));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transports {
    /// HTTP long-polling only.
    Polling,
    /// WebSocket only, opened directly.
    WebSocket,
    /// Long-polling first, then the upgrade to WebSocket when the server offers it (the
    /// official clients' default).
    #[default]
    Upgrade,
}

impl std::str::FromStr for Transports {
    type Err = ClientError;

    /// `polling`, `websocket`, or `default` / `upgrade`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "polling" => Ok(Transports::Polling),
            "websocket" => Ok(Transports::WebSocket),
            "default" | "upgrade" => Ok(Transports::Upgrade),
            other => Err(ClientError::Config(format!("unknown transports {other:?}"))),
        }
    }
}

/// What the client learnt from the open packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handshake {
    pub(crate) sid: String,
    pub(crate) upgrades: Vec<String>,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) max_payload: usize,
}

/// Longest sid, and largest heartbeat setting, the client accepts from a server.
const MAX_SID_LEN: usize = 256;
const MAX_HEARTBEAT_MS: u64 = 24 * 3600 * 1000;

impl Handshake {
    /// Parses the JSON of an open packet.
    pub(crate) fn parse(json: &str) -> Result<Handshake, ClientError> {
        let bad = |what: &str| ClientError::Handshake(format!("{what} in open packet {json:.200}"));
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|_| bad("invalid JSON"))?;
        let sid = value["sid"].as_str().ok_or_else(|| bad("no sid"))?;
        if sid.is_empty() || sid.len() > MAX_SID_LEN {
            return Err(bad("bad sid"));
        }
        let millis = |key: &str| {
            value[key]
                .as_u64()
                .filter(|&ms| ms > 0 && ms <= MAX_HEARTBEAT_MS)
                .map(Duration::from_millis)
                .ok_or_else(|| bad(&format!("bad {key}")))
        };
        let upgrades = match &value["upgrades"] {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("bad upgrades"))?,
            _ => return Err(bad("bad upgrades")),
        };
        let max_payload = match &value["maxPayload"] {
            serde_json::Value::Null => 1_000_000,
            other => other
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| bad("bad maxPayload"))?,
        };
        Ok(Handshake {
            sid: sid.to_owned(),
            upgrades,
            ping_interval: millis("pingInterval")?,
            ping_timeout: millis("pingTimeout")?,
            max_payload,
        })
    }

    /// How long the client waits for a packet (pings come every `ping_interval`).
    fn silence_limit(&self) -> Duration {
        self.ping_interval + self.ping_timeout
    }
}

/// What the driver reports upward.
#[derive(Debug)]
pub(crate) enum EngineEvent {
    Text(Str),
    Binary(Bytes),
    Closed(DisconnectReason),
}

/// Frames sent in this order with nothing in between (a packet and its attachments).
pub(crate) type Outbound = Vec<Frame>;

/// Capacity of the channels between the driver and the Socket.IO layer.
const CHANNEL: usize = 1024;
/// Most packets in one POST: python-engineio servers refuse more.
const MAX_POST_PACKETS: usize = payload::MAX_PACKETS;
/// How long a closing client waits to deliver its last packets.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long the upgrade probe may take before the client stays on polling.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// One Engine.IO session, seen from the Socket.IO layer.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) handshake: Handshake,
    pub(crate) outbound: mpsc::Sender<Outbound>,
    pub(crate) events: mpsc::Receiver<EngineEvent>,
    pub(crate) transport: watch::Receiver<TransportKind>,
    /// Cancel to close the session: what is queued goes out, then the close packet. Unlike
    /// a packet, this always gets through, even when the queue is full.
    pub(crate) close: CancellationToken,
}

/// Opens a session with `transports` and starts its driver.
pub(crate) async fn connect(
    endpoint: Arc<Endpoint>,
    transports: Transports,
) -> Result<Connection, ClientError> {
    let (outbound, outbound_rx) = mpsc::channel(CHANNEL);
    let (events_tx, events) = mpsc::channel(CHANNEL);
    let start = match transports {
        Transports::WebSocket => {
            let mut ws = endpoint.websocket(None).await?;
            let handshake = match ws.next().await {
                Some(Ok(Message::Text(text))) => match text.as_str().strip_prefix('0') {
                    Some(json) => Handshake::parse(json)?,
                    None => return Err(ClientError::Handshake(format!("{:.200}", text.as_str()))),
                },
                Some(Ok(other)) => {
                    return Err(ClientError::Handshake(format!(
                        "the first message is not the open packet: {other:.200}"
                    )));
                }
                Some(Err(e)) => return Err(ClientError::Transport(e.to_string())),
                None => return Err(ClientError::Transport("connection closed".into())),
            };
            Start::WebSocket(handshake, Box::new(ws))
        }
        Transports::Polling | Transports::Upgrade => {
            let mut lane = Lane::new(endpoint.clone());
            let body = lane.polling(Method::GET, None, Bytes::new()).await?;
            let mut packets = decode_polling(body)?.into_iter();
            let handshake = match packets.next() {
                Some(Packet::Open(json)) => Handshake::parse(&json)?,
                _ => {
                    return Err(ClientError::Handshake(
                        "the first packet is not the open packet".into(),
                    ));
                }
            };
            let upgrade = transports == Transports::Upgrade
                && handshake.upgrades.iter().any(|u| u == "websocket");
            Start::Polling {
                handshake,
                lane,
                rest: packets.collect(),
                upgrade,
            }
        }
    };
    let (transport_tx, transport) = watch::channel(match start {
        Start::WebSocket(..) => TransportKind::WebSocket,
        Start::Polling { .. } => TransportKind::Polling,
    });
    let handshake = match &start {
        Start::WebSocket(handshake, _) | Start::Polling { handshake, .. } => handshake.clone(),
    };
    let close = CancellationToken::new();
    let driver = Driver {
        close: close.clone(),
        deadline: Instant::now() + handshake.silence_limit(),
        handshake: handshake.clone(),
        endpoint,
        outbound: outbound_rx,
        events: events_tx,
        transport: transport_tx,
        pending: VecDeque::new(),
    };
    tokio::spawn(driver.run(start));
    Ok(Connection {
        handshake,
        outbound,
        events,
        transport,
        close,
    })
}

/// Decodes a polling response. The body size is already bounded, and with it the number of
/// packets, so no count limit applies here (servers may send more than 16 at once).
fn decode_polling(body: Bytes) -> Result<Vec<Packet>, ClientError> {
    payload::decode(body, usize::MAX).map_err(|e| ClientError::Protocol(e.to_string()))
}

enum Start {
    WebSocket(Handshake, Box<WsStream>),
    Polling {
        handshake: Handshake,
        lane: Lane,
        rest: Vec<Packet>,
        upgrade: bool,
    },
}

/// How the polling phase ended.
enum PollingEnd {
    Closed(DisconnectReason),
    Upgraded(Box<WsStream>),
}

/// A boxed, sendable future; the client's handlers and tasks use it too.
pub(crate) type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

struct Driver {
    handshake: Handshake,
    endpoint: Arc<Endpoint>,
    outbound: mpsc::Receiver<Outbound>,
    close: CancellationToken,
    events: mpsc::Sender<EngineEvent>,
    transport: watch::Sender<TransportKind>,
    /// Frames waiting to be sent, in order; pongs jump the queue.
    pending: VecDeque<Frame>,
    /// When the server counts as gone unless a packet arrives.
    deadline: Instant,
}

/// What to do after a packet from the server.
enum Next {
    Continue,
    Close(DisconnectReason),
}

impl Driver {
    async fn run(mut self, start: Start) {
        let reason = match start {
            Start::WebSocket(_, ws) => self.websocket(*ws).await,
            Start::Polling {
                lane,
                rest,
                upgrade,
                ..
            } => match self.polling(lane, rest, upgrade).await {
                PollingEnd::Closed(reason) => reason,
                PollingEnd::Upgraded(ws) => {
                    let _ = self.transport.send(TransportKind::WebSocket);
                    self.websocket(*ws).await
                }
            },
        };
        tracing::debug!(sid = %self.handshake.sid, %reason, "engine.io client session ended");
        let _ = self.events.send(EngineEvent::Closed(reason)).await;
    }

    /// Handles one packet from the server.
    async fn on_packet(&mut self, packet: Packet) -> Next {
        self.deadline = Instant::now() + self.handshake.silence_limit();
        match packet {
            Packet::Ping(data) => self.pending.push_front(Packet::Pong(data).encode()),
            Packet::Message(text) => {
                if self.events.send(EngineEvent::Text(text)).await.is_err() {
                    return Next::Close(DisconnectReason::ClientDisconnect);
                }
            }
            Packet::Binary(data) => {
                if self.events.send(EngineEvent::Binary(data)).await.is_err() {
                    return Next::Close(DisconnectReason::ClientDisconnect);
                }
            }
            Packet::Close => return Next::Close(DisconnectReason::TransportClose),
            Packet::Pong(_) | Packet::Noop | Packet::Upgrade => {}
            Packet::Open(_) => {
                return Next::Close(DisconnectReason::ParseError(
                    "unexpected open packet".into(),
                ));
            }
        }
        Next::Continue
    }

    fn next_post(&mut self) -> Bytes {
        take_post(&mut self.pending, self.handshake.max_payload)
    }

    /// Long-polling until the session ends or the upgrade completes.
    async fn polling(&mut self, post_lane: Lane, first: Vec<Packet>, upgrade: bool) -> PollingEnd {
        let sid: Arc<str> = self.handshake.sid.as_str().into();
        for packet in first {
            if let Next::Close(reason) = self.on_packet(packet).await {
                return PollingEnd::Closed(reason);
            }
        }
        let paused = Arc::new(AtomicBool::new(false));
        let (batches_tx, mut batches) = mpsc::channel(1);
        let get_task = tokio::spawn(get_loop(
            Lane::new(self.endpoint.clone()),
            sid.clone(),
            paused.clone(),
            batches_tx,
        ));
        let _abort_get = AbortOnDrop(get_task);
        let mut idle_lane = Some(post_lane);
        let mut post: Option<BoxFuture<(Lane, Result<Bytes, ClientError>)>> = None;
        let mut probe: Option<BoxFuture<Result<WsStream, ClientError>>> = None;
        if upgrade {
            let endpoint = self.endpoint.clone();
            let sid = sid.clone();
            probe = Some(Box::pin(async move {
                timeout(PROBE_TIMEOUT, probe_websocket(&endpoint, &sid))
                    .await
                    .unwrap_or(Err(ClientError::Timeout))
            }));
        }
        let mut upgraded: Option<WsStream> = None;
        let mut get_done = false;
        loop {
            if let Some(ws) = upgraded.take_if(|_| get_done && post.is_none()) {
                return match self.finish_upgrade(ws).await {
                    Ok(ws) => PollingEnd::Upgraded(Box::new(ws)),
                    Err(reason) => PollingEnd::Closed(reason),
                };
            }
            if upgraded.is_none()
                && !self.pending.is_empty()
                && let Some(mut lane) = idle_lane.take()
            {
                let body = self.next_post();
                let sid = sid.clone();
                post = Some(Box::pin(async move {
                    let result = lane.polling(Method::POST, Some(&*sid), body).await;
                    (lane, result)
                }));
            }
            let room = self.pending.len() < CHANNEL;
            tokio::select! {
                batch = batches.recv(), if !get_done => match batch {
                    Some(Ok(packets)) => {
                        for packet in packets {
                            if let Next::Close(reason) = self.on_packet(packet).await {
                                return PollingEnd::Closed(reason);
                            }
                        }
                    }
                    Some(Err(error)) => return PollingEnd::Closed(transport_error(error)),
                    None => {
                        get_done = true;
                        if upgraded.is_none() {
                            return PollingEnd::Closed(DisconnectReason::TransportClose);
                        }
                    }
                },
                item = self.outbound.recv(), if room && upgraded.is_none() => match item {
                    Some(frames) => self.pending.extend(frames),
                    None => return self.close_polling(post.take(), &sid).await,
                },
                () = self.close.cancelled() => return self.close_polling(post.take(), &sid).await,
                (lane, result) = async { post.as_mut().expect("guarded").await }, if post.is_some() => {
                    post = None;
                    if let Err(error) = result {
                        return PollingEnd::Closed(transport_error(error));
                    }
                    idle_lane = Some(lane);
                },
                result = async { probe.as_mut().expect("guarded").await }, if probe.is_some() => {
                    probe = None;
                    match result {
                        Ok(ws) => {
                            // The server answers the parked GET with a noop; stop polling there.
                            paused.store(true, Ordering::SeqCst);
                            upgraded = Some(ws);
                        }
                        Err(error) => {
                            tracing::debug!(%error, "websocket upgrade failed; staying on polling");
                        }
                    }
                },
                () = sleep_until(self.deadline) => {
                    return PollingEnd::Closed(DisconnectReason::PingTimeout);
                }
            }
        }
    }

    /// Everything still queued, then the close packet.
    fn queue_close(&mut self) {
        while let Ok(frames) = self.outbound.try_recv() {
            self.pending.extend(frames);
        }
        self.pending.push_back(Frame::CLOSE);
    }

    /// Ends a polling session: the POST in flight, then what is queued and the close packet,
    /// within [`CLOSE_GRACE`].
    async fn close_polling(
        &mut self,
        post: Option<BoxFuture<(Lane, Result<Bytes, ClientError>)>>,
        sid: &str,
    ) -> PollingEnd {
        let _ = timeout(CLOSE_GRACE, async {
            let mut lane = match post {
                Some(post) => post.await.0,
                None => Lane::new(self.endpoint.clone()),
            };
            self.queue_close();
            while !self.pending.is_empty() {
                let body = self.next_post();
                if lane.polling(Method::POST, Some(sid), body).await.is_err() {
                    break;
                }
            }
        })
        .await;
        PollingEnd::Closed(DisconnectReason::ClientDisconnect)
    }

    /// Ends a WebSocket session: what is queued, the close packet and a close frame, within
    /// [`CLOSE_GRACE`].
    async fn close_websocket(&mut self, mut ws: WsStream) -> DisconnectReason {
        self.queue_close();
        let _ = timeout(CLOSE_GRACE, async {
            while let Some(frame) = self.pending.pop_front() {
                ws.send(to_message(frame)).await?;
            }
            ws.close(None).await
        })
        .await;
        DisconnectReason::ClientDisconnect
    }

    /// Sends the upgrade packet on the probed WebSocket.
    async fn finish_upgrade(&mut self, mut ws: WsStream) -> Result<WsStream, DisconnectReason> {
        ws.send(Message::text("5"))
            .await
            .map_err(|e| DisconnectReason::TransportError(e.to_string()))?;
        Ok(ws)
    }

    /// The WebSocket transport until the session ends.
    async fn websocket(&mut self, mut ws: WsStream) -> DisconnectReason {
        loop {
            while let Some(frame) = self.pending.pop_front() {
                // A server that stops reading counts as gone once its heartbeat is overdue.
                match tokio::time::timeout_at(self.deadline, ws.send(to_message(frame))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return DisconnectReason::TransportError(e.to_string()),
                    Err(_) => return DisconnectReason::PingTimeout,
                }
            }
            tokio::select! {
                message = ws.next() => {
                    let packet = match message {
                        Some(Ok(Message::Text(text))) => {
                            Packet::decode_text(Str::from_utf8_bytes(text), false)
                                .map_err(|e| DisconnectReason::ParseError(e.to_string()))
                        }
                        Some(Ok(Message::Binary(data))) => Ok(Packet::Binary(data)),
                        Some(Ok(Message::Close(_))) | None => Err(DisconnectReason::TransportClose),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => Err(DisconnectReason::TransportError(e.to_string())),
                    };
                    let next = match packet {
                        Ok(packet) => self.on_packet(packet).await,
                        Err(reason) => Next::Close(reason),
                    };
                    if let Next::Close(reason) = next {
                        return reason;
                    }
                }
                item = self.outbound.recv() => match item {
                    Some(frames) => self.pending.extend(frames),
                    None => return self.close_websocket(ws).await,
                },
                () = self.close.cancelled() => return self.close_websocket(ws).await,
                () = sleep_until(self.deadline) => return DisconnectReason::PingTimeout,
            }
        }
    }
}

/// Takes the packets of one POST from the front of `pending`: at most 16, and at most
/// `max_payload` bytes unless a single packet is larger on its own.
fn take_post(pending: &mut VecDeque<Frame>, max_payload: usize) -> Bytes {
    let mut body = BytesMut::new();
    let mut count = 0;
    while let Some(frame) = pending.front() {
        let len = frame.polling_len() + usize::from(count > 0);
        if count == MAX_POST_PACKETS || (count > 0 && body.len() + len > max_payload) {
            break;
        }
        if count > 0 {
            body.extend_from_slice(&[SEPARATOR]);
        }
        frame.write_polling(&mut body);
        count += 1;
        pending.pop_front();
    }
    body.freeze()
}

fn transport_error(error: ClientError) -> DisconnectReason {
    match error {
        ClientError::Protocol(detail) => DisconnectReason::ParseError(detail),
        other => DisconnectReason::TransportError(other.to_string()),
    }
}

fn to_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::Text(text.into_utf8_bytes()),
        Frame::Binary(data) => Message::Binary(data),
    }
}

/// Parks a GET at the server again and again, passing every response up, until `paused` is set
/// (after the upgrade probe) or a request fails.
async fn get_loop(
    mut lane: Lane,
    sid: Arc<str>,
    paused: Arc<AtomicBool>,
    batches: mpsc::Sender<Result<Vec<Packet>, ClientError>>,
) {
    while !paused.load(Ordering::SeqCst) {
        let result = lane
            .polling(Method::GET, Some(&*sid), Bytes::new())
            .await
            .and_then(decode_polling);
        let failed = result.is_err();
        let closed = result
            .as_ref()
            .is_ok_and(|packets| packets.contains(&Packet::Close));
        if batches.send(result).await.is_err() || failed || closed {
            return;
        }
    }
}

/// Opens a WebSocket for session `sid` and checks it with `2probe` → `3probe`.
async fn probe_websocket(endpoint: &Endpoint, sid: &str) -> Result<WsStream, ClientError> {
    let mut ws = endpoint.websocket(Some(sid)).await?;
    ws.send(Message::text("2probe"))
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    match ws.next().await {
        Some(Ok(Message::Text(text))) if text.as_str() == "3probe" => Ok(ws),
        other => Err(ClientError::Protocol(format!(
            "unexpected answer to the upgrade probe: {other:?}"
        ))),
    }
}

/// Aborts a task when the driver leaves the polling phase.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn handshake_parsing_never_panics(text in any::<String>()) {
            let _ = Handshake::parse(&text);
        }

        #[test]
        fn handshake_fields_are_checked(
            sid in "[a-zA-Z0-9_-]{0,300}",
            interval in any::<i64>(),
            timeout in any::<i64>(),
        ) {
            let json = format!(
                r#"{{"sid":"{sid}","upgrades":[],"pingInterval":{interval},"pingTimeout":{timeout}}}"#
            );
            let valid = |ms: i64| ms > 0 && ms <= MAX_HEARTBEAT_MS as i64;
            let expected = !sid.is_empty() && sid.len() <= MAX_SID_LEN && valid(interval) && valid(timeout);
            prop_assert_eq!(Handshake::parse(&json).is_ok(), expected);
        }
    }

    #[test]
    fn parses_handshakes() {
        let handshake = Handshake::parse(
            r#"{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#,
        )
        .unwrap();
        assert_eq!(handshake.sid, "abc");
        assert_eq!(handshake.upgrades, ["websocket"]);
        assert_eq!(handshake.silence_limit(), Duration::from_millis(500));
        assert_eq!(handshake.max_payload, 1_000_000);
    }

    #[test]
    fn a_post_carries_at_most_16_packets_within_max_payload() {
        let mut pending: VecDeque<Frame> =
            (0..40).map(|i| Frame::message(&i.to_string())).collect();
        let counts: Vec<usize> = std::iter::from_fn(|| {
            (!pending.is_empty()).then(|| {
                let body = take_post(&mut pending, 1_000_000);
                body.iter().filter(|&&b| b == SEPARATOR).count() + 1
            })
        })
        .collect();
        assert_eq!(counts, [16, 16, 8]);

        let mut pending: VecDeque<Frame> = [
            Frame::message("aaaa"),
            Frame::message("bbbb"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4, 5, 6, 7, 8, 9])),
        ]
        .into();
        assert_eq!(&take_post(&mut pending, 11)[..], b"4aaaa\x1e4bbbb");
        // A packet larger than the limit still goes, alone.
        assert_eq!(&take_post(&mut pending, 11)[..], b"bAQIDBAUGBwgJ");
        assert!(pending.is_empty());
    }

    #[test]
    fn refuses_bad_handshakes() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"upgrades":[],"pingInterval":1,"pingTimeout":1}"#,
            r#"{"sid":"","upgrades":[],"pingInterval":1,"pingTimeout":1}"#,
            r#"{"sid":"a","upgrades":[1],"pingInterval":1,"pingTimeout":1}"#,
            r#"{"sid":"a","upgrades":[],"pingInterval":-1,"pingTimeout":1}"#,
            r#"{"sid":"a","upgrades":[],"pingInterval":1}"#,
            r#"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":1,"maxPayload":"x"}"#,
        ] {
            assert!(
                matches!(Handshake::parse(bad), Err(ClientError::Handshake(_))),
                "{bad:?} accepted"
            );
        }
    }
}
