//! The standalone Engine.IO server, in the spirit of python-engineio's `Server`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::config::EngineConfig;
use super::engine::Engine;
use super::error::ConnectRejection;
use super::handler::EngineHandler;
use super::service::{EngineLayer, EngineService, NotFound};
use super::socket::{DisconnectReason, Message, SendError, Socket};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type ConnectFn = dyn Fn(Arc<Socket>) -> BoxFuture<Result<(), ConnectRejection>> + Send + Sync;
type MessageFn = dyn Fn(Arc<Socket>, Message) -> BoxFuture<()> + Send + Sync;
type DisconnectFn = dyn Fn(Arc<Socket>, DisconnectReason) -> BoxFuture<()> + Send + Sync;

/// The closures registered on an [`EngineIoBuilder`]; the engine's handler.
#[derive(Default)]
pub struct Callbacks {
    connect: Option<Box<ConnectFn>>,
    message: Option<Box<MessageFn>>,
    disconnect: Option<Box<DisconnectFn>>,
}

impl fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks")
            .field("connect", &self.connect.is_some())
            .field("message", &self.message.is_some())
            .field("disconnect", &self.disconnect.is_some())
            .finish()
    }
}

impl EngineHandler for Callbacks {
    type Connection = ();

    async fn on_connect(&self, socket: &Arc<Socket>) -> Result<(), ConnectRejection> {
        match &self.connect {
            Some(connect) => connect(socket.clone()).await,
            None => Ok(()),
        }
    }

    async fn on_message(&self, socket: &Arc<Socket>, (): &(), message: Message) {
        if let Some(on_message) = &self.message {
            on_message(socket.clone(), message).await;
        }
    }

    async fn on_disconnect(&self, socket: &Arc<Socket>, (): &(), reason: DisconnectReason) {
        if let Some(disconnect) = &self.disconnect {
            disconnect(socket.clone(), reason).await;
        }
    }
}

/// Builds an [`EngineIo`] from settings and closures.
///
/// ```
/// use socketio::engineio::{EngineConfig, EngineIo};
///
/// let eio = EngineIo::builder()
///     .config(EngineConfig::default().path("/engine.io/"))
///     .on_connect(|socket| async move {
///         println!("{} connected from {:?}", socket.sid(), socket.handshake().remote_addr);
///         Ok(())
///     })
///     .on_message(|socket, message| async move {
///         let _ = socket.send(message); // echo
///     })
///     .on_disconnect(|socket, reason| async move {
///         println!("{} left: {reason}", socket.sid());
///     })
///     .build();
/// let app: axum::Router = eio.router();
/// ```
#[derive(Debug, Default)]
pub struct EngineIoBuilder {
    config: EngineConfig,
    callbacks: Callbacks,
}

impl EngineIoBuilder {
    /// Engine settings (defaults: [`EngineConfig::default`]).
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Called for each new session; an `Err` refuses it with HTTP 401 and a JSON body.
    pub fn on_connect<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectRejection>> + Send + 'static,
    {
        self.callbacks.connect = Some(Box::new(move |socket| Box::pin(f(socket))));
        self
    }

    /// Called for each message, text or binary, in the order the client sent them.
    pub fn on_message<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.callbacks.message = Some(Box::new(move |socket, msg| Box::pin(f(socket, msg))));
        self
    }

    /// Called once when a session ends, with the reason.
    pub fn on_disconnect<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Socket>, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.callbacks.disconnect = Some(Box::new(move |socket, why| Box::pin(f(socket, why))));
        self
    }

    /// Finishes the server.
    pub fn build(self) -> EngineIo {
        EngineIo::with_handler(self.config, self.callbacks)
    }
}

/// A running Engine.IO server: a cheap, cloneable handle to its sessions, and the source of
/// the axum router or tower layer that serves it.
pub struct EngineIo<H: EngineHandler = Callbacks> {
    engine: Arc<Engine<H>>,
}

impl<H: EngineHandler> Clone for EngineIo<H> {
    fn clone(&self) -> Self {
        EngineIo {
            engine: self.engine.clone(),
        }
    }
}

impl<H: EngineHandler> fmt::Debug for EngineIo<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIo")
            .field("path", &self.engine.config.path)
            .finish_non_exhaustive()
    }
}

impl EngineIo {
    /// Starts building a server from closures.
    pub fn builder() -> EngineIoBuilder {
        EngineIoBuilder::default()
    }
}

impl<H: EngineHandler> EngineIo<H> {
    /// A server driven by your own [`EngineHandler`].
    pub fn with_handler(config: EngineConfig, handler: H) -> Self {
        EngineIo {
            engine: Engine::new(config, handler),
        }
    }

    pub(crate) fn downgrade(&self) -> std::sync::Weak<Engine<H>> {
        Arc::downgrade(&self.engine)
    }

    pub(crate) fn from_inner(engine: Arc<Engine<H>>) -> Self {
        EngineIo { engine }
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.engine.config
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.engine.handler
    }

    /// The open session `sid`, if any.
    pub fn socket(&self, sid: &str) -> Option<Arc<Socket>> {
        self.engine
            .get(sid)
            .map(|session| session.socket)
            .filter(|socket| !socket.is_closed())
    }

    /// Every open session.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.engine.sockets()
    }

    /// Queues a message for session `sid`.
    pub fn send(&self, sid: &str, message: impl Into<Message>) -> Result<(), SendError> {
        self.socket(sid).ok_or(SendError::Closed)?.send(message)
    }

    /// Closes session `sid` from the server side. Returns whether it was open.
    pub fn disconnect(&self, sid: &str) -> bool {
        self.socket(sid).map(|socket| socket.disconnect()).is_some()
    }

    /// A copy of session `sid`'s value of type `T` (see [`Socket::get_session`]).
    pub fn get_session<T: Clone + Send + Sync + 'static>(&self, sid: &str) -> Option<T> {
        self.socket(sid)?.get_session()
    }

    /// Stores session `sid`'s value of type `T`; returns whether the session was open.
    pub fn save_session<T: Send + Sync + 'static>(&self, sid: &str, value: T) -> bool {
        self.socket(sid)
            .map(|socket| socket.save_session(value))
            .is_some()
    }

    /// Runs `f` on session `sid`'s value of type `T` (see [`Socket::with_session`]); `None`
    /// when the session is not open.
    pub fn with_session<T: Default + Send + Sync + 'static, R>(
        &self,
        sid: &str,
        f: impl FnOnce(&mut T) -> R,
    ) -> Option<R> {
        Some(self.socket(sid)?.with_session(f))
    }

    /// Closes every session, telling clients the server is going away.
    pub fn shutdown(&self) {
        self.engine.close_all(DisconnectReason::ServerShutdown);
    }

    /// Runs a future in the background on the tokio runtime, like python-engineio's
    /// `start_background_task`.
    pub fn start_background_task<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(task)
    }

    /// The engine as a service that answers 404 outside the engine path and static files.
    pub fn service(&self) -> EngineService<H, NotFound> {
        EngineService::new(self.engine.clone(), NotFound)
    }

    /// A layer that serves the engine in front of another service.
    pub fn layer(&self) -> EngineLayer<H> {
        EngineLayer::new(self.engine.clone())
    }

    /// An axum router serving the engine path and static files; 404 elsewhere. Wrap your own
    /// router with [`EngineIo::layer`] instead to keep its routes.
    pub fn router(&self) -> axum::Router {
        axum::Router::new().fallback_service(self.service())
    }
}
