//! The Socket.IO server: builder, cloneable handle, and the axum router / tower layer.

pub(crate) mod glue;
mod node;
mod registry;

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::args::{EmitError, IntoPayload};
use crate::engineio::{EngineConfig, EngineIo, EngineLayer, EngineService, NotFound};
use crate::handler::{
    Call, CallError, ClassNamespace, FromCall, Instance, NamespaceBuilder, ServerContext, StateMap,
    ViaExtractor,
};
use crate::manager::{LocalManager, Manager};
use crate::ns::namespace::Namespace;
use crate::operators::BroadcastOperator;
use crate::parser::ParserLimits;
use crate::registry::RegistryError;
use glue::{Namespaces, SocketIoHandler};
use registry::Matcher;

/// Why [`SocketIoBuilder::build`] refused the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A namespace name must start with `/` and contain no `,`.
    #[error("invalid namespace name {0:?}: it must start with '/' and contain no ','")]
    InvalidNamespace(String),
    /// The handlers registered with the attribute macros do not fit together.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Builds a [`SocketIo`] server.
///
/// ```
/// use socketio::{Payload, SocketIo};
///
/// let io = SocketIo::builder()
///     .namespace("/", |ns| {
///         // The arguments come back as the ack.
///         ns.on("ping", |payload: Payload| async move { payload })
///     })
///     .build()
///     .unwrap();
/// let app: axum::Router = io.router();
/// ```
pub struct SocketIoBuilder {
    config: EngineConfig,
    namespaces: HashMap<String, NamespaceBuilder>,
    dynamic: Vec<(Matcher, NamespaceBuilder)>,
    /// The `*` namespace: tried after every other matcher.
    catch_all: Option<NamespaceBuilder>,
    manager: Arc<dyn Manager>,
    always_connect: bool,
    connect_reply_pause: Option<std::time::Duration>,
    parser_limits: ParserLimits,
    /// Shared with every handler registered so far; filled by `build`.
    context: Arc<ServerContext>,
    state: StateMap,
    instances: HashMap<TypeId, Instance>,
    registered_handlers: bool,
}

impl std::fmt::Debug for SocketIoBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoBuilder")
            .field("config", &self.config)
            .field("namespaces", &self.namespaces.keys().collect::<Vec<_>>())
            .field("dynamic_namespaces", &self.dynamic.len())
            .finish()
    }
}

impl Default for SocketIoBuilder {
    fn default() -> Self {
        SocketIoBuilder {
            config: EngineConfig::default()
                .path("/socket.io/")
                .connect_timeout(Duration::from_secs(45)),
            namespaces: HashMap::new(),
            dynamic: Vec::new(),
            catch_all: None,
            manager: Arc::new(LocalManager::new()),
            always_connect: false,
            connect_reply_pause: None,
            parser_limits: ParserLimits::default(),
            context: Arc::default(),
            state: StateMap::new(),
            instances: HashMap::new(),
            registered_handlers: true,
        }
    }
}

impl SocketIoBuilder {
    /// Adjusts the Engine.IO settings, starting from Socket.IO's defaults (path
    /// `/socket.io/`, connect timeout 45 s).
    pub fn engine(mut self, configure: impl FnOnce(EngineConfig) -> EngineConfig) -> Self {
        self.config = configure(self.config);
        self
    }

    /// The manager that keeps rooms (default: [`LocalManager`], in memory).
    pub fn manager(mut self, manager: impl Manager) -> Self {
        self.manager = Arc::new(manager);
        self
    }

    /// Answers a namespace CONNECT before running the connect handlers, like
    /// python-socketio's `always_connect=True` (default false). A handler that refuses then
    /// disconnects the socket instead of sending CONNECT_ERROR; clients that cannot handle
    /// CONNECT_ERROR well prefer this.
    pub fn always_connect(mut self, always: bool) -> Self {
        self.always_connect = always;
        self
    }

    /// Over WebSocket, leave `pause` between a namespace's CONNECT reply and the packets that
    /// follow it (the connect handler's emits; default: none). The reply then reaches the
    /// client in a read of its own, which matters to clients that attach their next listener
    /// only after handling the reply, such as the official socket.io-protocol test suite
    /// run on Node's `ws`: without a gap, the packets that follow arrive in the same read and
    /// are dispatched before it listens. Order is kept; only that connection waits.
    pub fn connect_reply_pause(mut self, pause: std::time::Duration) -> Self {
        self.connect_reply_pause = Some(pause);
        self
    }

    /// Limits on incoming packets: attachments per packet, ack id length, JSON depth
    /// (defaults: [`ParserLimits::default`]). A packet past them closes its connection.
    pub fn parser_limits(mut self, limits: ParserLimits) -> Self {
        self.parser_limits = limits;
        self
    }

    /// Registers the handlers of namespace `name`. Calling it again for the same name adds
    /// to the same namespace. The name `*` is a catch-all: any namespace that is not
    /// registered otherwise is created on its first connect with these handlers.
    pub fn namespace(
        mut self,
        name: impl Into<String>,
        register: impl FnOnce(NamespaceBuilder) -> NamespaceBuilder,
    ) -> Self {
        let name = name.into();
        if name == "*" {
            let builder = self
                .catch_all
                .take()
                .unwrap_or_else(|| self.new_namespace());
            self.catch_all = Some(register(builder));
            return self;
        }
        let builder = match self.namespaces.remove(&name) {
            Some(builder) => builder,
            None => self.new_namespace(),
        };
        self.namespaces.insert(name, register(builder));
        self
    }

    /// Registers handlers for every namespace whose name `matches` accepts (a pattern, a
    /// prefix, a lookup…). Each accepted name becomes its own namespace, with its own sockets
    /// and rooms, on its first connect. Names registered with
    /// [`namespace`](Self::namespace) take precedence; matchers are tried in order.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use socketio::{Socket, SocketIo};
    ///
    /// let io = SocketIo::builder()
    ///     .dynamic_namespace(|name| name.starts_with("/team-"), |ns| {
    ///         ns.on("hello", |socket: Arc<Socket>| async move {
    ///             println!("hello in {}", socket.namespace());
    ///         })
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = io;
    /// ```
    pub fn dynamic_namespace(
        mut self,
        matches: impl Fn(&str) -> bool + Send + Sync + 'static,
        register: impl FnOnce(NamespaceBuilder) -> NamespaceBuilder,
    ) -> Self {
        self.dynamic
            .push((Arc::new(matches), register(self.new_namespace())));
        self
    }

    /// Application state for handlers: a handler parameter [`State<T>`](crate::handler::State)
    /// receives a clone of the value of type `T` given here. One value per type.
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(
            TypeId::of::<T>(),
            Box::new(value) as Box<dyn std::any::Any + Send + Sync>,
        );
        self
    }

    /// Serves the namespace of a `#[socketio::namespace]` impl block with this instance
    /// (needed when the type has no `Default`; otherwise its default value serves it).
    ///
    /// ```standalone_crate
    /// use std::sync::Arc;
    /// use socketio::{Socket, SocketIo};
    ///
    /// struct Greeter { greeting: String }
    ///
    /// #[socketio::namespace("/greeter")]
    /// impl Greeter {
    ///     async fn on_hello(&self, socket: Arc<Socket>, name: String) -> String {
    ///         format!("{}, {name} ({})", self.greeting, socket.sid())
    ///     }
    /// }
    ///
    /// let io = SocketIo::builder()
    ///     .register_namespace(Greeter { greeting: "Hello".into() })
    ///     .build()
    ///     .unwrap();
    /// # let _ = io;
    /// ```
    pub fn register_namespace<T: ClassNamespace>(mut self, instance: T) -> Self {
        self.instances
            .insert(TypeId::of::<T>(), Arc::new(instance) as Instance);
        self
    }

    /// Whether [`build`](Self::build) gathers the `#[socketio::on]` and `#[socketio::namespace]`
    /// handlers of the binary (the default) or leaves them out, so that the server has only
    /// the handlers given to this builder: for two servers in one process, or a test that
    /// picks its own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use socketio::{Socket, SocketIo};
    ///
    /// let io = SocketIo::builder()
    ///     .registered_handlers(false)
    ///     .namespace("/", |ns| ns.on("ping", |socket: Arc<Socket>| async move {
    ///         let _ = socket.emit("pong", ());
    ///     }))
    ///     .build()
    ///     .unwrap();
    /// # let _ = io;
    /// ```
    pub fn registered_handlers(mut self, gather: bool) -> Self {
        self.registered_handlers = gather;
        self
    }

    fn new_namespace(&self) -> NamespaceBuilder {
        NamespaceBuilder::new(self.context.clone())
    }

    /// Puts the handlers of the attribute macros into their namespaces.
    fn install_registered(&mut self) -> Result<(), BuildError> {
        for handler in crate::registry::collect(&mut self.instances)? {
            let namespace = handler.namespace;
            let builder = match namespace {
                "*" => self.catch_all.take(),
                name => self.namespaces.remove(name),
            };
            let builder = builder.unwrap_or_else(|| self.new_namespace());
            let installed = handler.install(builder)?;
            match namespace {
                "*" => self.catch_all = Some(installed),
                name => {
                    self.namespaces.insert(name.to_owned(), installed);
                }
            }
        }
        Ok(())
    }

    /// Checks the configuration, gathers every `#[socketio::on]` and
    /// `#[socketio::namespace]` handler in the binary (unless
    /// [`registered_handlers(false)`](Self::registered_handlers)), and starts the server.
    ///
    /// Fails on an invalid namespace name, on two handlers for one event of one namespace
    /// (the error names both places), and on a namespace type without `Default` whose
    /// instance was not given to [`register_namespace`](Self::register_namespace).
    pub fn build(mut self) -> Result<SocketIo, BuildError> {
        if self.registered_handlers {
            self.install_registered()?;
        }
        let context = self.context.clone();
        context.set_state(std::mem::take(&mut self.state));
        if let Some(catch_all) = self.catch_all.take() {
            self.dynamic.push((Arc::new(|_: &str| true), catch_all));
        }
        let mut fixed = HashMap::new();
        for (name, builder) in self.namespaces {
            if !name.starts_with('/') || name.contains(',') {
                return Err(BuildError::InvalidNamespace(name));
            }
            let ns = Namespace::new(
                name.clone(),
                Arc::new(builder.into_table()),
                self.manager.clone(),
            );
            fixed.insert(name, ns);
        }
        let dynamic = self
            .dynamic
            .into_iter()
            .map(|(matches, builder)| (matches, Arc::new(builder.into_table())))
            .collect();
        let namespaces = Arc::new(Namespaces::new(
            fixed,
            dynamic,
            self.manager,
            crate::ns::namespace::ConnectOptions {
                always_connect: self.always_connect,
                reply_pause: self.connect_reply_pause,
            },
            self.parser_limits,
        ));
        namespaces
            .manager()
            .attach(crate::manager::ServerNode::new(local_node(&namespaces)));
        let engine = EngineIo::with_handler(self.config, SocketIoHandler::new(namespaces.clone()));
        let io = SocketIo { namespaces, engine };
        context.set_server(Box::new(io.downgrade()));
        Ok(io)
    }
}

/// A [`SocketIo`] that does not keep the server alive: handlers hold this one, so that
/// dropping every handle stops the server.
struct WeakSocketIo {
    namespaces: Weak<Namespaces>,
    engine: Weak<crate::engineio::engine::Engine<SocketIoHandler>>,
}

impl WeakSocketIo {
    fn upgrade(&self) -> Option<SocketIo> {
        Some(SocketIo {
            namespaces: self.namespaces.upgrade()?,
            engine: EngineIo::from_inner(self.engine.upgrade()?),
        })
    }
}

/// The server handle, as a handler parameter.
impl FromCall<ViaExtractor> for SocketIo {
    fn from_call(call: &mut Call) -> Result<Self, CallError> {
        call.server::<WeakSocketIo>()
            .and_then(WeakSocketIo::upgrade)
            .ok_or(CallError::ServerGone)
    }
}

/// A running Socket.IO server. Cheap to clone: emit from anywhere (a background task,
/// another thread) through a clone.
#[derive(Clone)]
pub struct SocketIo {
    namespaces: Arc<Namespaces>,
    engine: EngineIo<SocketIoHandler>,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("namespaces", &self.namespaces.names())
            .finish_non_exhaustive()
    }
}

impl SocketIo {
    /// Starts building a server.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder::default()
    }

    fn downgrade(&self) -> WeakSocketIo {
        WeakSocketIo {
            namespaces: Arc::downgrade(&self.namespaces),
            engine: self.engine.downgrade(),
        }
    }

    /// All sockets of namespace `name`, to broadcast to or narrow down; `None` for an unknown
    /// namespace.
    pub fn of(&self, name: &str) -> Option<BroadcastOperator> {
        self.namespaces
            .get(name)
            .map(|ns| BroadcastOperator::new(ns.clone()))
    }

    /// Sockets of the main namespace `/` in `room`.
    pub fn to(&self, room: impl Into<String>) -> BroadcastOperator {
        self.main().to(room)
    }

    /// Emits `event` with `args` to every socket of the main namespace `/`; see
    /// [`BroadcastOperator::emit`].
    pub fn emit(&self, event: &str, args: impl IntoPayload) -> Result<(), EmitError> {
        self.main().emit(event, args)
    }

    /// Every socket of the main namespace `/`, which always exists.
    fn main(&self) -> BroadcastOperator {
        let main = self.namespaces.main();
        BroadcastOperator::new(main)
    }

    /// Empties `room` of namespace `name`, on every node with a pub/sub manager; returns how
    /// many sockets of this node were in it.
    pub fn close_room(&self, name: &str, room: &str) -> usize {
        let Some(ns) = self.namespaces.get(name) else {
            return 0;
        };
        let closed = ns.close_room(room);
        ns.manager().publish(crate::manager::ClusterOp::CloseRoom {
            namespace: name,
            room,
        });
        closed
    }

    /// The rooms of namespace `name` that have members (socket id rooms included).
    pub fn rooms(&self, name: &str) -> Vec<String> {
        self.namespaces
            .get(name)
            .map(|ns| ns.rooms())
            .unwrap_or_default()
    }

    /// The rooms of namespace `name` with members on any node, sorted (socket id rooms
    /// included); see [`BroadcastOperator::fetch_sockets`] for who answers.
    pub async fn all_rooms(&self, name: &str) -> Vec<String> {
        match self.namespaces.get(name) {
            Some(ns) => ns.manager().all_rooms(name).await,
            None => Vec::new(),
        }
    }

    /// How many server nodes share this server's manager, this one included (1 without a
    /// pub/sub manager). Nodes count while their heartbeats arrive.
    pub async fn server_count(&self) -> usize {
        self.namespaces.manager().server_count().await
    }

    /// The Engine.IO server underneath.
    pub fn engine(&self) -> &EngineIo<SocketIoHandler> {
        &self.engine
    }

    /// Disconnects every client with "server shutting down".
    pub fn shutdown(&self) {
        self.engine.shutdown();
    }

    /// An axum router serving Socket.IO (and static files, if configured); 404 elsewhere.
    pub fn router(&self) -> axum::Router {
        self.engine.router()
    }

    /// A layer that serves Socket.IO in front of another service.
    pub fn layer(&self) -> EngineLayer<SocketIoHandler> {
        self.engine.layer()
    }

    /// Socket.IO as a tower service answering 404 elsewhere.
    pub fn service(&self) -> EngineService<SocketIoHandler, NotFound> {
        self.engine.service()
    }
}

/// The view of this server a manager gets: its own sockets, without keeping them alive.
fn local_node(namespaces: &Arc<Namespaces>) -> Weak<dyn crate::manager::LocalNode> {
    let weak: Weak<Namespaces> = Arc::downgrade(namespaces);
    weak
}
