//! Accepting HTTP connections with the timeouts a long-lived server needs.
//!
//! `axum::serve` sets no timer on its connections: a long-polling client that vanishes without
//! closing its socket (a half-open connection), or one that stops reading its responses, keeps
//! its connection and its task for ever. [`serve`] runs the same HTTP/1.1 server with two
//! bounds, so such a connection is closed and its memory freed:
//!
//! - a request's headers must arrive within [`Serve::header_read_timeout`] (10 s by default),
//!   which also bounds how long an idle keep-alive connection waits for its next request;
//! - a write that makes no progress for [`Serve::write_stall_timeout`] (5 s by default) fails,
//!   which ends the connection (an upgraded WebSocket included: its session closes as a
//!   transport error).
//!
//! Each request carries the peer address as `axum::extract::ConnectInfo<SocketAddr>`, as with
//! `into_make_service_with_connect_info`, so the engine's environ sees the remote address.

use std::convert::Infallible;
use std::future::{Future, IntoFuture, Pending};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Sleep;
use tower_service::Service;

/// How long a client may take to send a request's headers, and an idle keep-alive connection
/// may wait for its next request.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a write may make no progress before the connection is given up.
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The listen backlog [`bind`] asks for (the kernel may cap it, at `net.core.somaxconn`).
pub const LISTEN_BACKLOG: u32 = 1024;

/// A listener on `addr` with a backlog of [`LISTEN_BACKLOG`], for [`serve`].
///
/// `tokio::net::TcpListener::bind` asks for 128, as the standard library does. A burst of
/// connecting clients overflows that while the server is busy with the handshakes already
/// accepted, and the kernel then drops their SYNs, which the clients only send again after a
/// second.
///
/// ```no_run
/// # async fn demo(io: socketio::SocketIo) -> std::io::Result<()> {
/// let listener = socketio::bind("127.0.0.1:3000").await?;
/// socketio::serve(listener, io.router()).await
/// # }
/// ```
pub async fn bind(addr: impl tokio::net::ToSocketAddrs) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        match bind_one(addr) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind to")))
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As tokio's own `bind` does: a restarted server may take its port back at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `service` (an `axum::Router`, or any cloneable tower service of HTTP requests) on the
/// connections `listener` accepts, with the bounds described in the module documentation.
/// Await the returned [`Serve`] (or call [`Serve::run`]) to run the server.
///
/// ```no_run
/// use socketio::engineio::EngineIo;
///
/// # async fn run() -> std::io::Result<()> {
/// let eio = EngineIo::builder()
///     .on_message(|socket, message| async move {
///         let _ = socket.send(message);
///     })
///     .build();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// socketio::serve(listener, eio.router())
///     .with_graceful_shutdown(async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
///     .await
/// # }
/// ```
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S> {
    Serve {
        listener,
        service,
        limits: Limits {
            header_read: DEFAULT_HEADER_READ_TIMEOUT,
            write_stall: DEFAULT_WRITE_STALL_TIMEOUT,
        },
        shutdown: std::future::pending(),
    }
}

/// A server being set up by [`serve`]; await it to run it.
#[must_use = "a Serve does nothing until it is awaited"]
pub struct Serve<S, F = Pending<()>> {
    listener: TcpListener,
    service: S,
    limits: Limits,
    shutdown: F,
}

#[derive(Clone, Copy)]
struct Limits {
    header_read: Duration,
    write_stall: Duration,
}

impl<S, F> Serve<S, F> {
    /// How long a client may take to send a request's headers, and an idle keep-alive
    /// connection may wait for its next one (default [`DEFAULT_HEADER_READ_TIMEOUT`]).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read = timeout;
        self
    }

    /// How long a write to a client may make no progress before its connection is closed
    /// (default [`DEFAULT_WRITE_STALL_TIMEOUT`]).
    pub fn write_stall_timeout(mut self, timeout: Duration) -> Self {
        self.limits.write_stall = timeout;
        self
    }

    /// Stops accepting when `signal` resolves, then lets every HTTP connection finish the
    /// request it is serving before the server returns. Upgraded WebSockets are not waited
    /// for: close them with `EngineIo::shutdown` / `SocketIo::shutdown` when `signal` fires.
    pub fn with_graceful_shutdown<G>(self, signal: G) -> Serve<S, G>
    where
        G: Future<Output = ()> + Send + 'static,
    {
        Serve {
            listener: self.listener,
            service: self.service,
            limits: self.limits,
            shutdown: signal,
        }
    }
}

impl<S: HttpService, F> Serve<S, F>
where
    F: Future<Output = ()> + Send + 'static,
{
    /// Runs the server until the graceful-shutdown signal (if any) resolves and the last HTTP
    /// connection has ended. Accept errors are logged and retried, so it returns `Ok`; the
    /// `io::Result` is `axum::serve`'s signature.
    pub async fn run(self) -> io::Result<()> {
        let Serve {
            listener,
            service,
            limits,
            shutdown,
        } = self;
        // Connections watch this; it also counts them: `closed()` resolves when the last
        // connection has dropped its receiver.
        let (stop, stopped) = watch::channel(false);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let connection =
                        serve_connection(stream, peer, service.clone(), limits, stopped.clone());
                    tokio::spawn(connection);
                }
                Err(error) if is_per_connection(&error) => {}
                Err(error) => {
                    // Out of file descriptors or memory: wait for some to be freed rather
                    // than spin on accept.
                    tracing::warn!(%error, "accept failed; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        drop(listener);
        drop(stopped);
        let _ = stop.send(true);
        stop.closed().await;
        Ok(())
    }
}

impl<S: HttpService, F> IntoFuture for Serve<S, F>
where
    F: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// What [`serve`] serves: a cloneable tower service of HTTP requests that never fails, such
/// as an `axum::Router`. Implemented for every such service.
pub trait HttpService:
    Service<Request<Incoming>, Response = Response<Self::Body>, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static
{
    /// The response body.
    type Body: http_body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;
}

impl<S, B> HttpService for S
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: http_body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static,
{
    type Body = B;
}

/// Errors of one incoming connection that say nothing about the listener.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn serve_connection<S: HttpService>(
    stream: TcpStream,
    peer: SocketAddr,
    service: S,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let io = TokioIo::new(StallGuard::new(stream, limits.write_stall));
    let handler = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        service.clone().call(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let connection = builder.serve_connection(io, handler).with_upgrades();
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopped.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// A stream whose writes fail once they have made no progress for a while: a peer that stops
/// reading (or vanished) cannot hold a connection open by never draining it.
struct StallGuard<T> {
    inner: T,
    limit: Duration,
    /// Armed when a write or flush could not proceed; disarmed by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    fn new(inner: T, limit: Duration) -> Self {
        StallGuard {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Turns a write's `Pending` into an error once the stall has lasted `limit`.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let deadline = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(deadline.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer read nothing for the write stall timeout",
        )))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// More clients than tokio's default backlog of 128 connect while nobody accepts: each
    /// connect completes, because the kernel queues them all. With a backlog of 128 the
    /// rest would wait for an accept that never comes.
    #[tokio::test]
    async fn the_listener_queues_a_burst_of_connects() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connects = (0..300).map(|_| tokio::net::TcpStream::connect(addr));
        let connected = tokio::time::timeout(
            Duration::from_secs(30),
            futures_util::future::try_join_all(connects),
        )
        .await
        .expect("every connect completes without an accept");
        assert_eq!(connected.unwrap().len(), 300);
        drop(listener);
    }

    /// A writer whose peer never reads: the first writes fill the pipe, then a write stays
    /// pending until the stall limit turns it into `TimedOut`.
    #[tokio::test(start_paused = true)]
    async fn a_write_that_never_progresses_times_out() {
        let (ours, _peer_never_reads) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(ours, Duration::from_secs(5));
        let writes = async {
            loop {
                if let Err(error) = guarded.write_all(&[0; 64]).await {
                    break error;
                }
            }
        };
        // Bounded, so that a guard that never fires fails the test instead of hanging it.
        let error = tokio::time::timeout(Duration::from_secs(60), writes)
            .await
            .expect("the stalled write failed within the limit");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    /// A peer that keeps reading, however slowly within the limit, never trips it.
    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_reader_is_not_cut_off() {
        use tokio::io::AsyncReadExt;
        let (ours, mut peer) = tokio::io::duplex(16);
        let mut guarded = StallGuard::new(ours, Duration::from_secs(5));
        let reader = tokio::spawn(async move {
            let mut total = 0;
            let mut chunk = [0; 16];
            while total < 256 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                total += peer.read(&mut chunk).await.expect("read");
            }
            total
        });
        guarded
            .write_all(&[1; 256])
            .await
            .expect("every write progresses in time");
        assert_eq!(reader.await.expect("reader"), 256);
    }
}
