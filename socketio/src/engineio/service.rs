//! The tower `Service` in front of the engine: routes the engine path, static files and
//! everything else, and turns [`EngineError`]s into responses.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};

use super::config::TransportKind;
use super::engine::Engine;
use super::error::EngineError;
use super::handler::EngineHandler;
use super::query::Query;
use super::socket::{Handshake, Socket, TransportState};
use super::transport::polling::{self, Framing};
use super::transport::websocket;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A tower service that answers Engine.IO requests on the engine path, serves the
/// configured static files, and passes every other request to the wrapped service
/// (python-engineio's `WSGIApp(eio, app)`).
///
/// Made by [`EngineIo::layer`](super::EngineIo::layer) or
/// [`EngineIo::service`](super::EngineIo::service).
pub struct EngineService<H: EngineHandler, S = NotFound> {
    engine: Arc<Engine<H>>,
    inner: S,
}

impl<H: EngineHandler, S: Clone> Clone for EngineService<H, S> {
    fn clone(&self) -> Self {
        EngineService {
            engine: self.engine.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<H: EngineHandler, S> EngineService<H, S> {
    pub(crate) fn new(engine: Arc<Engine<H>>, inner: S) -> Self {
        EngineService { engine, inner }
    }
}

/// A [`tower_layer::Layer`] that puts the engine in front of a service.
pub struct EngineLayer<H: EngineHandler> {
    engine: Arc<Engine<H>>,
}

impl<H: EngineHandler> Clone for EngineLayer<H> {
    fn clone(&self) -> Self {
        EngineLayer {
            engine: self.engine.clone(),
        }
    }
}

impl<H: EngineHandler> EngineLayer<H> {
    pub(crate) fn new(engine: Arc<Engine<H>>) -> Self {
        EngineLayer { engine }
    }
}

impl<H: EngineHandler, S> tower_layer::Layer<S> for EngineLayer<H> {
    type Service = EngineService<H, S>;
    fn layer(&self, inner: S) -> Self::Service {
        EngineService::new(self.engine.clone(), inner)
    }
}

/// The innermost service when nothing is wrapped: answers 404.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> tower_service::Service<Request<B>> for NotFound {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        let mut response = Response::new(Body::from("Not Found"));
        *response.status_mut() = StatusCode::NOT_FOUND;
        std::future::ready(Ok(response))
    }
}

impl<H, S, B, ResBody> tower_service::Service<Request<B>> for EngineService<H, S>
where
    H: EngineHandler,
    S: tower_service::Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let engine = self.engine.clone();
        if engine.config.matches_path(request.uri().path()) {
            return Box::pin(async move { Ok(handle(engine, request).await) });
        }
        // Take the service that was driven to readiness, leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if let Some(files) = &engine.config.static_files
                && let Some(response) = files.serve(request.method(), request.uri().path()).await
            {
                return Ok(response);
            }
            let response = inner.call(request).await?;
            Ok(response.map(Body::new))
        })
    }
}

/// Answers one request on the engine path.
async fn handle<H: EngineHandler, B>(engine: Arc<Engine<H>>, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let secure = request.uri().scheme_str() == Some("https");
    let origin = match engine.cors.check(request.headers(), secure) {
        Ok(origin) => origin,
        Err(forbidden) => {
            tracing::debug!(?forbidden, "origin refused");
            return EngineError::ForbiddenOrigin(forbidden.to_string()).into_response();
        }
    };
    if request.method() == Method::OPTIONS {
        return engine.cors.preflight(origin.as_ref(), request.headers());
    }
    let mut response = route(&engine, request)
        .await
        .unwrap_or_else(EngineError::into_response);
    engine.cors.apply(origin.as_ref(), response.headers_mut());
    response
}

async fn route<H: EngineHandler, B>(
    engine: &Arc<Engine<H>>,
    mut request: Request<B>,
) -> Result<Response<Body>, EngineError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let query = Query::parse(request.uri().query().unwrap_or_default());
    if query.single("EIO") != Ok(Some("4")) {
        return Err(EngineError::UnsupportedProtocolVersion);
    }
    let transport = query
        .single("transport")
        .ok()
        .flatten()
        .and_then(TransportKind::from_query)
        .filter(|&t| engine.config.allows(t))
        .ok_or(EngineError::UnknownTransport)?;
    let framing = match query.single("j") {
        Ok(None) => Framing::Plain,
        Ok(Some(index)) if transport == TransportKind::Polling => index
            .parse()
            .map(Framing::Jsonp)
            .map_err(|_| EngineError::BadRequest("invalid JSONP index".into()))?,
        _ => return Err(EngineError::BadRequest("invalid JSONP index".into())),
    };
    let sid = query
        .single("sid")
        .map_err(|_| EngineError::BadRequest("sid given twice".into()))?;

    let Some(sid) = sid else {
        if request.method() != Method::GET {
            return Err(EngineError::BadHandshakeMethod);
        }
        let (session, mut response) = match transport {
            TransportKind::Polling => {
                polling::handshake(engine, handshake_of(&request), framing).await?
            }
            TransportKind::WebSocket => {
                let response = websocket::accept(request.headers())?;
                let on_upgrade = hyper::upgrade::on(&mut request);
                let session = engine
                    .open_session(TransportKind::WebSocket, handshake_of(&request))
                    .await?;
                tokio::spawn(websocket::serve_new(
                    engine.clone(),
                    session.clone(),
                    on_upgrade,
                ));
                (session, response)
            }
        };
        set_cookie(engine, &session.socket, &mut response);
        return Ok(response);
    };

    let session = engine.get(sid).ok_or(EngineError::UnknownSid)?;
    let socket = &session.socket;
    if socket.ping_timed_out() {
        return Err(EngineError::UnknownSid);
    }
    match transport {
        TransportKind::Polling => match *request.method() {
            Method::GET => polling::poll(engine, socket, framing, request.headers()).await,
            Method::POST => {
                let (parts, body) = request.into_parts();
                polling::post(engine, &session, framing, &parts.headers, body).await
            }
            _ => Err(EngineError::MethodNotAllowed),
        },
        TransportKind::WebSocket => {
            if request.method() != Method::GET {
                return Err(EngineError::MethodNotAllowed);
            }
            if !engine.config.allow_upgrades {
                return Err(EngineError::BadRequest("upgrades are disabled".into()));
            }
            let response = websocket::accept(request.headers())?;
            let on_upgrade = hyper::upgrade::on(&mut request);
            if socket.state() == TransportState::Polling && socket.claim_probe() {
                let session = session.clone();
                tokio::spawn(websocket::serve_upgrade(
                    engine.clone(),
                    session,
                    on_upgrade,
                ));
            } else {
                tokio::spawn(websocket::close_extra(
                    on_upgrade,
                    engine.config.max_payload,
                ));
            }
            Ok(response)
        }
    }
}

/// The request as the session keeps it. Headers and URI are copied, not cloned: hyper's
/// values are slices of the connection's read buffer (8 KiB), which a clone would keep alive
/// for as long as the session lasts.
fn handshake_of<B>(request: &Request<B>) -> Handshake {
    let mut headers = HeaderMap::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        let mut copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        headers.append(name.clone(), copy);
    }
    let uri = request.uri();
    let copy = match (uri.scheme(), uri.authority(), uri.path_and_query()) {
        // The usual request target, a path and a query: copied as it is, not through `fmt`.
        (None, None, Some(target)) => {
            Uri::from_maybe_shared(Bytes::copy_from_slice(target.as_str().as_bytes()))
        }
        _ => Uri::try_from(uri.to_string()),
    };
    let uri = copy.unwrap_or_else(|_| uri.clone());
    Handshake {
        headers,
        uri,
        remote_addr: request
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0),
        issued_at: SystemTime::now(),
    }
}

fn set_cookie<H: EngineHandler>(
    engine: &Engine<H>,
    socket: &Socket,
    response: &mut Response<Body>,
) {
    let cookie = engine.config.cookie.as_ref();
    if let Some(value) = cookie.and_then(|c| c.header_value(socket.sid().as_str())) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hyper hands over header values and the URI as slices of the connection's read buffer;
    /// the session's copy must point elsewhere, or it would keep that buffer alive.
    #[test]
    fn the_handshake_keeps_copies_not_slices_of_the_read_buffer() {
        let buffer = Bytes::from_static(
            b"/socket.io/?EIO=4&transport=websocket&token=abc|Bearer secret|x-trace-1",
        );
        let within = |bytes: &[u8]| {
            let start = buffer.as_ptr() as usize;
            let at = bytes.as_ptr() as usize;
            at >= start && at < start + buffer.len()
        };
        let uri = Uri::from_maybe_shared(buffer.slice(0..47)).unwrap();
        let mut auth = HeaderValue::from_maybe_shared(buffer.slice(48..61)).unwrap();
        auth.set_sensitive(true);
        let request = Request::builder()
            .uri(uri)
            .header(header::AUTHORIZATION, auth)
            .header(
                "x-trace",
                HeaderValue::from_maybe_shared(buffer.slice(62..)).unwrap(),
            )
            .body(())
            .unwrap();
        assert!(within(request.headers()[header::AUTHORIZATION].as_bytes()));

        let handshake = handshake_of(&request);
        assert_eq!(handshake.uri, *request.uri());
        assert_eq!(handshake.headers, *request.headers());
        assert!(handshake.headers[header::AUTHORIZATION].is_sensitive());
        for value in handshake.headers.values() {
            assert!(
                !within(value.as_bytes()),
                "{value:?} still points into the buffer"
            );
        }
        let query = handshake.uri.query().unwrap_or_default();
        assert!(
            !within(query.as_bytes()),
            "the URI still points into the buffer"
        );
    }
}
