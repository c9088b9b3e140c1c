//! The network under the Engine.IO client: where the server is, TCP or TLS streams, a minimal
//! HTTP/1.1 exchange for long-polling, and the WebSocket handshake.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::error::ClientError;
use crate::engineio::TransportKind;

/// How much a client WebSocket reads at a time (and allocates for it).
const WEBSOCKET_READ_CHUNK: usize = 4 * 1024;

/// A WebSocket to the server, plain or over TLS.
pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where the Engine.IO server is and how to talk to it.
#[derive(Clone)]
pub(crate) struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
    /// `host[:port]` as given, for the `Host` header.
    authority: String,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    tls_config: Option<Arc<rustls::ClientConfig>>,
    max_payload: usize,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("tls", &self.tls)
            .field("authority", &self.authority)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The client TLS settings used unless the application gives its own: the Mozilla roots
/// shipped by `webpki-roots` and the `ring` crypto provider.
fn default_tls_config() -> Result<Arc<rustls::ClientConfig>, ClientError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|builder| {
                    Arc::new(builder.with_root_certificates(roots).with_no_client_auth())
                })
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| ClientError::Config(format!("TLS setup: {e}")))
}

impl Endpoint {
    /// Parses `http(s)://` or `ws(s)://` URLs. The URL's path must be empty or `/`: the
    /// Engine.IO path is `path` and namespaces are chosen separately.
    pub(crate) fn parse(url: &str, path: &str) -> Result<Endpoint, ClientError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| ClientError::Config(format!("bad URL {url:?}: {e}")))?;
        let tls = match uri.scheme_str() {
            Some("http" | "ws") => false,
            Some("https" | "wss") => true,
            _ => {
                return Err(ClientError::Config(format!(
                    "URL {url:?} must start with http://, https://, ws:// or wss://"
                )));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| ClientError::Config(format!("URL {url:?} has no host")))?;
        if !matches!(uri.path(), "" | "/") {
            return Err(ClientError::Config(format!(
                "URL {url:?} has a path: choose the Engine.IO path with `path()` and namespaces \
                 with `namespace()`"
            )));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let mut query = Vec::new();
        for pair in uri.query().unwrap_or_default().split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                query.push((key.to_owned(), value.to_owned()));
            } else if !pair.is_empty() {
                query.push((pair.to_owned(), String::new()));
            }
        }
        let mut path = path.to_owned();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(Endpoint {
            tls,
            host,
            port,
            authority: authority.as_str().to_owned(),
            path,
            query,
            headers: HeaderMap::new(),
            tls_config: None,
            max_payload: 0,
        })
    }

    pub(crate) fn with_options(
        mut self,
        query: &[(String, String)],
        headers: HeaderMap,
        tls_config: Option<Arc<rustls::ClientConfig>>,
        max_payload: usize,
    ) -> Endpoint {
        self.query.extend(query.iter().cloned());
        self.headers = headers;
        self.tls_config = tls_config;
        self.max_payload = max_payload;
        self
    }

    /// `{path}?EIO=4&transport=…[&sid=…]` plus the user's query.
    fn target(&self, transport: TransportKind, sid: Option<&str>) -> String {
        let mut target = format!("{}?EIO=4&transport={}", self.path, transport.as_str());
        if let Some(sid) = sid {
            target.push_str("&sid=");
            encode_component(&mut target, sid);
        }
        for (key, value) in &self.query {
            target.push('&');
            encode_component(&mut target, key);
            target.push('=');
            encode_component(&mut target, value);
        }
        target
    }

    async fn tcp(&self) -> Result<TcpStream, ClientError> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                ClientError::Transport(format!("connecting to {}: {e}", self.authority))
            })?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, ClientError> {
        match &self.tls_config {
            Some(config) => Ok(config.clone()),
            None => default_tls_config(),
        }
    }

    /// Opens a new HTTP/1.1 connection (TLS for `https`).
    async fn http_connection(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        let tcp = self.tcp().await?;
        let io: Box<dyn Io> = if self.tls {
            let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                .map_err(|e| ClientError::Config(format!("bad TLS server name: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(self.tls_config()?)
                .connect(name, tcp)
                .await
                .map_err(|e| ClientError::Transport(format!("TLS handshake: {e}")))?;
            Box::new(stream)
        } else {
            Box::new(tcp)
        };
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| ClientError::Transport(format!("HTTP handshake: {e}")))?;
        tokio::spawn(async move {
            // Ends when the connection closes; errors surface on the request side.
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Opens the WebSocket transport, for the upgrade of session `sid` or on its own.
    pub(crate) async fn websocket(&self, sid: Option<&str>) -> Result<WsStream, ClientError> {
        let scheme = if self.tls { "wss" } else { "ws" };
        let url = format!(
            "{scheme}://{}{}",
            self.authority,
            self.target(TransportKind::WebSocket, sid)
        );
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::Config(format!("bad WebSocket URL {url:?}: {e}")))?;
        for (name, value) in &self.headers {
            request.headers_mut().append(name, value.clone());
        }
        // Read in 4 KiB chunks rather than tungstenite's 128 KiB, allocated (and zeroed) up
        // front per connection; larger messages still arrive whole, assembled across reads.
        let config = WebSocketConfig::default()
            .read_buffer_size(WEBSOCKET_READ_CHUNK)
            .max_message_size(Some(self.max_payload))
            .max_frame_size(Some(self.max_payload));
        let connector = if self.tls {
            Connector::Rustls(self.tls_config()?)
        } else {
            Connector::Plain
        };
        let tcp = self.tcp().await?;
        let (ws, _) = tokio_tungstenite::client_async_tls_with_config(
            request,
            tcp,
            Some(config),
            Some(connector),
        )
        .await
        .map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(response) => ClientError::Http {
                status: response.status().as_u16(),
                body: body_excerpt(response.body().as_deref().unwrap_or_default()),
            },
            other => ClientError::Transport(format!("WebSocket handshake: {other}")),
        })?;
        Ok(ws)
    }
}

/// Things a hyper connection can run over.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Percent-encodes a query component (everything but RFC 3986's unreserved characters).
fn encode_component(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// The first 200 characters of a body, for error messages.
fn body_excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// One keep-alive HTTP connection used for one kind of request (GETs or POSTs): long-polling
/// never has two requests of the same kind in flight, and each kind gets its own connection so
/// a parked GET does not hold up a POST.
pub(crate) struct Lane {
    endpoint: Arc<Endpoint>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Lane {
    pub(crate) fn new(endpoint: Arc<Endpoint>) -> Lane {
        Lane {
            endpoint,
            sender: None,
        }
    }

    /// One polling request; the body of a `200` answer, at most `max_payload` bytes.
    pub(crate) async fn polling(
        &mut self,
        method: Method,
        sid: Option<&str>,
        body: Bytes,
    ) -> Result<Bytes, ClientError> {
        let endpoint = &self.endpoint;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(endpoint.target(TransportKind::Polling, sid))
            .header(header::HOST, endpoint.authority.as_str());
        if method == Method::POST {
            request = request.header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
        }
        let mut request = request
            .body(Full::new(body))
            .map_err(|e| ClientError::Config(format!("bad polling request: {e}")))?;
        for (name, value) in &endpoint.headers {
            request.headers_mut().append(name, value.clone());
        }
        let reused = match self.sender.take() {
            Some(mut sender) => sender.ready().await.ok().map(|()| sender),
            None => None,
        };
        let mut sender = match reused {
            Some(sender) => sender,
            None => endpoint.http_connection().await?,
        };
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Transport(format!("polling request: {e}")))?;
        let status = response.status();
        let limit = endpoint.max_payload;
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    ClientError::PayloadTooLarge { limit }
                } else {
                    ClientError::Transport(format!("polling response: {e}"))
                }
            })?
            .to_bytes();
        if !status.is_success() {
            return Err(ClientError::Http {
                status: status.as_u16(),
                body: body_excerpt(&body),
            });
        }
        self.sender = Some(sender);
        Ok(body)
    }
}
