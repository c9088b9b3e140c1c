//! Engine settings, shared by the standalone engine and the Socket.IO server.

use std::time::Duration;

use super::compression::Compression;
use super::cookie::CookieConfig;
use super::cors::CorsOrigins;
use super::static_files::StaticFiles;

/// The two Engine.IO transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    pub(crate) fn from_query(value: &str) -> Option<TransportKind> {
        match value {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

/// Engine.IO server settings.
///
/// Every setter consumes and returns the config, so settings chain:
///
/// ```
/// use std::time::Duration;
/// use socketio::engineio::{CorsOrigins, EngineConfig};
///
/// let config = EngineConfig::default()
///     .path("/engine.io/")
///     .ping_interval(Duration::from_millis(300))
///     .ping_timeout(Duration::from_millis(200))
///     .cors_allowed_origins(CorsOrigins::Any);
/// assert_eq!(config.get_path(), "/engine.io/");
/// ```
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub(crate) path: String,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) max_payload: usize,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) queue_capacity: usize,
    pub(crate) max_sessions: Option<usize>,
    pub(crate) max_packets_per_post: usize,
    pub(crate) polling: bool,
    pub(crate) websocket: bool,
    pub(crate) allow_upgrades: bool,
    pub(crate) cors_origins: CorsOrigins,
    pub(crate) cors_credentials: bool,
    pub(crate) cookie: Option<CookieConfig>,
    pub(crate) compression: Compression,
    pub(crate) static_files: Option<StaticFiles>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/engine.io/".to_owned(),
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            max_payload: 1_000_000,
            upgrade_timeout: Duration::from_secs(10),
            connect_timeout: None,
            queue_capacity: 1024,
            max_sessions: None,
            max_packets_per_post: super::payload::MAX_PACKETS,
            polling: true,
            websocket: true,
            allow_upgrades: true,
            cors_origins: CorsOrigins::default(),
            cors_credentials: true,
            cookie: None,
            compression: Compression::default(),
            static_files: None,
        }
    }
}

impl EngineConfig {
    /// URL path the engine answers on (default `/engine.io/`). A trailing slash is optional in
    /// requests.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        self.path = path;
        self
    }

    /// The configured path.
    pub fn get_path(&self) -> &str {
        &self.path
    }

    /// How often the server pings each client (default 25 s).
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// How long the server waits for the pong before closing (default 20 s). The clock starts
    /// when the ping is queued.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self
    }

    /// Largest accepted message and POST body in bytes (default 1 000 000).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// How long a probing WebSocket may take to complete the upgrade (default 10 s).
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.upgrade_timeout = timeout;
        self
    }

    /// Closes a session that the layer above has not marked ready (see
    /// [`Socket::mark_ready`](super::Socket::mark_ready)) within this time. Off by default;
    /// Socket.IO uses it for sessions that never connect a namespace.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Packets that may wait in one connection's outbound queue (default 1024). A client
    /// that falls this far behind is disconnected with
    /// [`DisconnectReason::SlowClient`](super::DisconnectReason::SlowClient) instead of
    /// having packets dropped or queued without bound; volatile emits skip it instead.
    pub fn queue_capacity(mut self, packets: usize) -> Self {
        self.queue_capacity = packets.max(1);
        self
    }

    /// Most sessions open at once (default: no cap). A handshake beyond it is refused with
    /// `503 Service Unavailable` and `Retry-After: 1`, so a flood of handshakes costs a
    /// short answer each instead of memory; the official clients retry with backoff.
    ///
    /// ```
    /// use socketio::engineio::EngineConfig;
    ///
    /// let config = EngineConfig::default().max_sessions(50_000);
    /// # let _ = config;
    /// ```
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = Some(sessions);
        self
    }

    /// Most packets accepted in one long-polling POST (default 16, as python-engineio); a
    /// POST with more is refused with 400 and closes the session.
    ///
    /// The official JavaScript client puts every packet buffered during one tick into a
    /// single POST, so an application that emits more than 16 messages at once over polling
    /// needs a higher cap.
    pub fn max_packets_per_post(mut self, packets: usize) -> Self {
        self.max_packets_per_post = packets.max(1);
        self
    }

    /// Which transports clients may use (default both).
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        self.polling = false;
        self.websocket = false;
        for transport in transports {
            match transport {
                TransportKind::Polling => self.polling = true,
                TransportKind::WebSocket => self.websocket = true,
            }
        }
        self
    }

    /// Whether polling sessions may upgrade to WebSocket (default true).
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.allow_upgrades = allow;
        self
    }

    /// Which `Origin`s may connect (default: the server's own origin only).
    pub fn cors_allowed_origins(mut self, origins: CorsOrigins) -> Self {
        self.cors_origins = origins;
        self
    }

    /// Whether CORS responses allow credentials (default true).
    pub fn cors_credentials(mut self, credentials: bool) -> Self {
        self.cors_credentials = credentials;
        self
    }

    /// Sets a sticky-session cookie on the handshake response (off by default).
    pub fn cookie(mut self, cookie: CookieConfig) -> Self {
        self.cookie = Some(cookie);
        self
    }

    /// Compression of long-polling responses (gzip and deflate above 1024 bytes by default).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Serves static files next to the engine path.
    pub fn static_files(mut self, files: StaticFiles) -> Self {
        self.static_files = Some(files);
        self
    }

    pub(crate) fn allows(&self, transport: TransportKind) -> bool {
        match transport {
            TransportKind::Polling => self.polling,
            TransportKind::WebSocket => self.websocket,
        }
    }

    /// Whether `request_path` is on the engine path (with or without the trailing slash).
    pub(crate) fn matches_path(&self, request_path: &str) -> bool {
        let base = self.path.trim_end_matches('/');
        match request_path.strip_prefix(base) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_matching() {
        let config = EngineConfig::default();
        assert!(config.matches_path("/engine.io/"));
        assert!(config.matches_path("/engine.io"));
        assert!(!config.matches_path("/engine.iox"));
        assert!(!config.matches_path("/"));
        let root = EngineConfig::default().path("socket.io");
        assert_eq!(root.get_path(), "/socket.io");
        assert!(root.matches_path("/socket.io/"));
    }
}
