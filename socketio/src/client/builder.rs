//! Everything a client is set up with before it connects.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::engine::Transports;
use super::error::ClientError;
use super::handlers::{self, ClientNamespace};
use super::http::Endpoint;
use super::namespace::ClientNamespaceBuilder;
use super::reconnection::{AttemptFn, FailedFn, Reconnection};
use super::socket::ClientSide;
use super::socket::{Client, Setup};
use crate::handler::{Handler, Instance, kind};
use crate::parser::{ParserLimits, ROOT_NAMESPACE};
use crate::registry;
use std::any::TypeId;

impl Client {
    /// Starts setting up a client for the server at `url` (`http://`, `https://`, `ws://` or
    /// `wss://`, without a path).
    ///
    /// ```
    /// use socketio::client::Client;
    ///
    /// let client = Client::builder("http://127.0.0.1:3000").build().unwrap();
    /// assert!(!client.connected());
    /// assert!(Client::builder("http://127.0.0.1:3000/chat").build().is_err());
    /// ```
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }
}

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
///     .on("message-back", |payload: socketio::Payload| async move {
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
    /// Whether `build` gathers the binary's macro handlers.
    pub(crate) registered_handlers: bool,
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
            registered_handlers: true,
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
    pub fn on<P>(
        self,
        event: impl Into<String>,
        handler: impl Handler<P, kind::Event, ClientSide>,
    ) -> Self {
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

    /// Whether [`build`](Self::build) gathers the binary's `#[socketio::on("…", client)]` and
    /// `#[socketio::namespace("/…", client)]` handlers (the default), or leaves them out so
    /// the client has only the handlers given to this builder.
    pub fn registered_handlers(mut self, gather: bool) -> Self {
        self.registered_handlers = gather;
        self
    }

    /// Builds the client without connecting; [`Client::connect`] connects it. Every handler
    /// written with `#[socketio::on("…", client)]` or `#[socketio::namespace("/…", client)]`
    /// in the binary joins in, and so do their namespaces (unless
    /// [`registered_handlers(false)`](Self::registered_handlers)).
    pub fn build(mut self) -> Result<Client, ClientError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        if self.registered_handlers {
            self.install_registered()?;
        }
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
        Ok(Client::new(Setup {
            endpoint,
            transports: self.transports,
            connect_timeout: self.connect_timeout,
            reconnection: self.reconnection,
            parser_limits: self.parser_limits,
            namespaces: self.namespaces,
            on_reconnect_attempt: self.on_reconnect_attempt,
            on_reconnect: self.on_reconnect,
            on_reconnect_failed: self.on_reconnect_failed,
        }))
    }

    /// Builds the client and connects it: opens the session and joins every namespace,
    /// failing if the server refuses one of them.
    pub async fn connect(self) -> Result<Client, ClientError> {
        let client = self.build()?;
        client.connect().await?;
        Ok(client)
    }
}

impl ClientBuilder {
    /// Handles the namespace of a `#[socketio::namespace("/…", client)]` impl block with this
    /// instance (needed when the type has no `Default`).
    pub fn register_namespace<T: ClientNamespace>(mut self, instance: T) -> Self {
        self.instances
            .insert(TypeId::of::<T>(), Arc::new(instance) as Instance);
        self
    }

    /// Puts every client handler of the attribute macros into its namespace.
    pub(crate) fn install_registered(&mut self) -> Result<(), ClientError> {
        let handlers = registry::collect::<ClientSide>(&mut self.instances)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        for handler in handlers {
            let index = match self
                .namespaces
                .iter()
                .position(|(n, _)| n == handler.namespace)
            {
                Some(index) => index,
                None => {
                    self.namespaces.push((
                        handler.namespace.to_owned(),
                        ClientNamespaceBuilder::default(),
                    ));
                    self.namespaces.len() - 1
                }
            };
            let builder = std::mem::take(&mut self.namespaces[index].1);
            self.namespaces[index].1 = handlers::install(handler, builder)?;
        }
        Ok(())
    }
}
