//! Everything a client is set up with before it connects.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::BoxFuture;
use super::engine::Transports;
use super::error::{ClientError, DisconnectReason};
use super::http::Endpoint;
use super::socket::{Client, ClientAck, ClientSocket};
use crate::args::Payload;
use crate::args::{from_args, to_payload};
use crate::parser::{ParserLimits, ROOT_NAMESPACE};

pub(crate) type EventFn =
    dyn Fn(ClientSocket, Payload, Option<ClientAck>) -> BoxFuture<()> + Send + Sync;
pub(crate) type AnyFn =
    dyn Fn(ClientSocket, String, Payload, Option<ClientAck>) -> BoxFuture<()> + Send + Sync;
pub(crate) type ConnectFn = dyn Fn(ClientSocket) -> BoxFuture<()> + Send + Sync;
pub(crate) type ConnectErrorFn = dyn Fn(ClientSocket, ClientError) -> BoxFuture<()> + Send + Sync;
pub(crate) type DisconnectFn =
    dyn Fn(ClientSocket, DisconnectReason) -> BoxFuture<()> + Send + Sync;
pub(crate) type AuthFn = dyn Fn() -> BoxFuture<Value> + Send + Sync;

/// The handlers and the auth of one namespace; see [`ClientBuilder::namespace`].
///
/// Handlers of one client run one at a time, in the order the packets arrived, so a handler
/// that waits for another event would wait forever: spawn such work
/// ([`Client::start_background_task`]). Awaiting an ack ([`ClientSocket::emit_with_ack`]) inside a
/// handler is fine.
#[derive(Default)]
pub struct ClientNamespaceBuilder {
    pub(crate) auth: Option<Arc<AuthFn>>,
    pub(crate) events: HashMap<String, Box<EventFn>>,
    pub(crate) any: Option<Box<AnyFn>>,
    pub(crate) connect: Option<Box<ConnectFn>>,
    pub(crate) connect_error: Option<Box<ConnectErrorFn>>,
    pub(crate) disconnect: Option<Box<DisconnectFn>>,
}

impl fmt::Debug for ClientNamespaceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientNamespaceBuilder")
            .field("events", &self.events.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ClientNamespaceBuilder {
    /// Sends `auth` with every CONNECT of this namespace (`Value::Null` sends none).
    pub fn auth(self, auth: Value) -> Self {
        self.auth_with(move || {
            let auth = auth.clone();
            async move { auth }
        })
    }

    /// Computes the auth anew for every connection and reconnection, e.g. to fetch a fresh
    /// token.
    pub fn auth_with<F, Fut>(mut self, auth: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Value> + Send + 'static,
    {
        self.auth = Some(Arc::new(move || Box::pin(auth())));
        self
    }

    /// Handles `event`. The handler gets the arguments and, when the server asked for an
    /// acknowledgement, the [`ClientAck`] to answer with.
    ///
    /// This is the erased form every other way of registering a handler builds on.
    pub fn on<F, Fut>(mut self, event: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ClientSocket, Payload, Option<ClientAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.events.insert(
            event.into(),
            Box::new(move |socket, payload, ack| Box::pin(handler(socket, payload, ack))),
        );
        self
    }

    /// Handles `event` with typed arguments: they are deserialized with
    /// [`from_args`] into `T` (a tuple for several arguments), and the value
    /// the handler returns is serialized with [`to_payload`] into the acknowledgement when the
    /// server asked for one (a tuple gives several arguments, `()` none). Arguments that do not
    /// fit `T` are logged and the handler is not called.
    pub fn on_typed<F, Fut, T, R>(self, event: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ClientSocket, T) -> Fut + Send + Sync + 'static,
        T: DeserializeOwned + Send + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Serialize + Send + 'static,
    {
        let event = event.into();
        let name = event.clone();
        self.on(event, move |socket, payload, ack| {
            let call = from_args::<T>(&payload).map(|args| handler(socket, args));
            let name = name.clone();
            async move {
                let reply = match call {
                    Ok(call) => call.await,
                    Err(error) => {
                        tracing::warn!(event = %name, %error, "event arguments do not fit the handler");
                        return;
                    }
                };
                let Some(ack) = ack else { return };
                match to_payload(&reply) {
                    Ok(payload) => {
                        let _ = ack.send(payload);
                    }
                    Err(error) => tracing::warn!(event = %name, %error, "ack is not serializable"),
                }
            }
        })
    }

    /// Handles every event that has no handler of its own, with its name.
    pub fn on_any<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ClientSocket, String, Payload, Option<ClientAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.any = Some(Box::new(move |socket, event, payload, ack| {
            Box::pin(handler(socket, event, payload, ack))
        }));
        self
    }

    /// Runs each time the namespace is connected (after every reconnection too).
    pub fn on_connect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ClientSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.connect = Some(Box::new(move |socket| Box::pin(handler(socket))));
        self
    }

    /// Runs when the server refuses the namespace; the error is
    /// [`ClientError::ConnectRefused`] with the server's message and data.
    pub fn on_connect_error<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ClientSocket, ClientError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.connect_error = Some(Box::new(move |socket, error| {
            Box::pin(handler(socket, error))
        }));
        self
    }

    /// Runs each time the namespace is disconnected, with the reason.
    pub fn on_disconnect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ClientSocket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.disconnect = Some(Box::new(move |socket, reason| {
            Box::pin(handler(socket, reason))
        }));
        self
    }
}

/// How the client reconnects after losing its connection.
///
/// The delay before attempt `n` is `delay · 2ⁿ⁻¹`, at most `delay_max`, then moved by up to
/// `randomization` times itself in either direction.
///
/// ```
/// use std::time::Duration;
/// use socketio::client::Reconnection;
///
/// let fast = Reconnection {
///     delay: Duration::from_millis(200),
///     delay_max: Duration::from_secs(1),
///     ..Reconnection::default()
/// };
/// assert_eq!(fast.attempts, 0); // forever
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Reconnection {
    /// Whether the client reconnects at all (default `true`).
    pub enabled: bool,
    /// How many attempts before giving up; 0 tries forever (the default).
    pub attempts: u32,
    /// The delay before the first attempt (default 1 s).
    pub delay: Duration,
    /// The longest delay (default 5 s).
    pub delay_max: Duration,
    /// Jitter as a fraction of the delay, 0 to 1 (default 0.5).
    pub randomization: f64,
}

impl Default for Reconnection {
    fn default() -> Self {
        Reconnection {
            enabled: true,
            attempts: 0,
            delay: Duration::from_secs(1),
            delay_max: Duration::from_secs(5),
            randomization: 0.5,
        }
    }
}

impl Reconnection {
    /// The delay before attempt `attempt` (counting from 1), with `random` in `0..1`.
    pub(crate) fn delay_for(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let base = self
            .delay
            .saturating_mul(1 << exponent)
            .min(self.delay_max)
            .as_secs_f64();
        let factor = self.randomization.clamp(0.0, 1.0);
        let jittered = base + base * factor * (2.0 * random - 1.0);
        Duration::from_secs_f64(jittered.max(0.0))
    }
}

pub(crate) type AttemptFn = dyn Fn(u32) + Send + Sync;
pub(crate) type FailedFn = dyn Fn() + Send + Sync;

/// Sets up a [`Client`]: where the server is, transports, namespaces with their handlers and
/// auth, reconnection. [`connect`](Self::connect) opens the connection.
///
/// ```no_run
/// use serde_json::json;
/// use socketio::client::{Client, Transports};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("http://127.0.0.1:3000")
///     .transports(Transports::WebSocket)
///     .on("message-back", |_socket, payload, _ack| async move {
///         println!("got {:?}", payload.args);
///     })
///     .namespace("/chat", |ns| ns.auth(json!({ "token": "secret" })))
///     .connect()
///     .await?;
/// client.emit("message", "hello")?;
/// # Ok(())
/// # }
/// ```
pub struct ClientBuilder {
    pub(crate) url: String,
    pub(crate) path: String,
    pub(crate) transports: Transports,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) max_payload: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) tls_config: Option<Arc<rustls::ClientConfig>>,
    pub(crate) reconnection: Reconnection,
    pub(crate) parser_limits: ParserLimits,
    pub(crate) namespaces: Vec<(String, ClientNamespaceBuilder)>,
    pub(crate) on_reconnect_attempt: Option<Box<AttemptFn>>,
    pub(crate) on_reconnect: Option<Box<AttemptFn>>,
    pub(crate) on_reconnect_failed: Option<Box<FailedFn>>,
    pub(crate) error: Option<ClientError>,
    /// Instances of `#[socketio::namespace(…, client)]` types, by type.
    pub(crate) instances: HashMap<std::any::TypeId, crate::handler::Instance>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("path", &self.path)
            .field("transports", &self.transports)
            .field("reconnection", &self.reconnection)
            .field("namespaces", &self.namespaces)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        ClientBuilder {
            url: url.into(),
            path: "/socket.io/".into(),
            transports: Transports::default(),
            headers: HeaderMap::new(),
            query: Vec::new(),
            max_payload: 16 * 1024 * 1024,
            connect_timeout: Duration::from_secs(20),
            tls_config: None,
            reconnection: Reconnection::default(),
            parser_limits: ParserLimits::default(),
            namespaces: Vec::new(),
            on_reconnect_attempt: None,
            on_reconnect: None,
            on_reconnect_failed: None,
            error: None,
            instances: HashMap::new(),
        }
    }

    /// The Engine.IO path on the server (default `/socket.io/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Which transports to use (default: polling, then the upgrade to WebSocket).
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// Adds a header to every HTTP request and to the WebSocket handshake. An invalid name or
    /// value makes [`connect`](Self::connect) fail.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => {
                self.error = Some(ClientError::Config(format!("bad header {name:?}")));
            }
        }
        self
    }

    /// Adds a query parameter to every Engine.IO request.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// The most bytes the client accepts in one polling response or WebSocket message
    /// (default 16 MiB); more closes the connection with an error.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// How long [`connect`](Self::connect) waits for the session and for each namespace
    /// (default 20 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The TLS settings for `https`/`wss` (default: the Mozilla roots of `webpki-roots`).
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// How to reconnect (default: forever, 1 s doubling up to 5 s, ±50 %).
    pub fn reconnection(mut self, reconnection: Reconnection) -> Self {
        self.reconnection = reconnection;
        self
    }

    /// Limits on the Socket.IO packets the server sends.
    pub fn parser_limits(mut self, limits: ParserLimits) -> Self {
        self.parser_limits = limits;
        self
    }

    /// Joins `namespace` on connect, set up by `setup` (calling it again for the same
    /// namespace adds to its setup). Without any namespace, the client joins `/`.
    pub fn namespace(
        mut self,
        namespace: impl Into<String>,
        setup: impl FnOnce(ClientNamespaceBuilder) -> ClientNamespaceBuilder,
    ) -> Self {
        let mut namespace = namespace.into();
        if !namespace.starts_with('/') {
            namespace.insert(0, '/');
        }
        if namespace.contains(',') {
            self.error = Some(ClientError::Config(format!(
                "namespace {namespace:?} contains a comma"
            )));
            return self;
        }
        match self
            .namespaces
            .iter_mut()
            .find(|(name, _)| *name == namespace)
        {
            Some((_, existing)) => *existing = setup(std::mem::take(existing)),
            None => {
                let built = setup(ClientNamespaceBuilder::default());
                self.namespaces.push((namespace, built));
            }
        }
        self
    }

    /// Handles `event` on the main namespace `/`; see [`ClientNamespaceBuilder::on`].
    pub fn on<F, Fut>(self, event: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ClientSocket, Payload, Option<ClientAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.namespace(ROOT_NAMESPACE, |ns| ns.on(event, handler))
    }

    /// Called with the attempt number (from 1) before each reconnection attempt.
    pub fn on_reconnect_attempt(mut self, handler: impl Fn(u32) + Send + Sync + 'static) -> Self {
        self.on_reconnect_attempt = Some(Box::new(handler));
        self
    }

    /// Called with the number of attempts it took when a reconnection succeeds (the session
    /// is open again; namespaces rejoin right after).
    pub fn on_reconnect(mut self, handler: impl Fn(u32) + Send + Sync + 'static) -> Self {
        self.on_reconnect = Some(Box::new(handler));
        self
    }

    /// Called when the client gives up reconnecting after
    /// [`Reconnection::attempts`] attempts.
    pub fn on_reconnect_failed(mut self, handler: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_reconnect_failed = Some(Box::new(handler));
        self
    }

    /// Builds the client without connecting; [`Client::connect`] connects it. Every handler
    /// written with `#[socketio::on("…", client)]` or `#[socketio::namespace("/…", client)]`
    /// in the binary joins in, and so do their namespaces.
    pub fn build(mut self) -> Result<Client, ClientError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        self.install_registered()?;
        if self.namespaces.is_empty() {
            self.namespaces
                .push((ROOT_NAMESPACE.to_owned(), ClientNamespaceBuilder::default()));
        }
        let endpoint = Endpoint::parse(&self.url, &self.path)?.with_options(
            &self.query,
            std::mem::take(&mut self.headers),
            self.tls_config.take(),
            self.max_payload,
        );
        Ok(Client::from_builder(self, endpoint))
    }

    /// Builds the client and connects it: opens the session and joins every namespace,
    /// failing if the server refuses one of them.
    pub async fn connect(self) -> Result<Client, ClientError> {
        let client = self.build()?;
        client.connect().await?;
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_max_with_proportional_jitter() {
        let r = Reconnection {
            delay: Duration::from_millis(100),
            delay_max: Duration::from_millis(1000),
            randomization: 0.5,
            ..Reconnection::default()
        };
        assert_eq!(r.delay_for(1, 0.5), Duration::from_millis(100));
        assert_eq!(r.delay_for(3, 0.5), Duration::from_millis(400));
        assert_eq!(r.delay_for(10, 0.5), Duration::from_millis(1000));
        assert_eq!(r.delay_for(1, 0.0), Duration::from_millis(50));
        assert_eq!(r.delay_for(10, 1.0), Duration::from_millis(1500));
        assert_eq!(r.delay_for(u32::MAX, 0.5), Duration::from_millis(1000));
    }
}
