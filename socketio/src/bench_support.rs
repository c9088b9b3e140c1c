//! Crate internals for the benchmarks in `socketio/benches/`; not a public API.
//!
//! Only compiled with the `bench-internals` feature and hidden from the docs. Nothing here
//! is covered by semver: it exists so that `benches/broadcast.rs` can measure
//! [`BroadcastOperator::emit`] over many sockets without opening any connection.

use std::sync::{Arc, Weak};
use std::time::SystemTime;

use http::{HeaderMap, Uri};

use crate::engineio::{self, Handshake, TransportKind};
use crate::manager::LocalManager;
use crate::ns::namespace::{HandlerTable, Namespace};
use crate::ns::socket::{Connection, Socket};
use crate::operators::BroadcastOperator;

/// Entries each engine queue can hold. Every broadcast queues one entry per socket (a binary
/// packet and its attachments form a single entry), so this is plenty as long as the caller
/// drains between broadcasts, which the benchmark does.
const QUEUE_CAPACITY: usize = 64;

/// A namespace with `n` connected sockets whose Engine.IO sessions have no transport.
///
/// Each session is created as a WebSocket session but nothing ever reads its queue, so
/// whatever is emitted stays there until [`drain`](Self::drain) is called. Connecting goes
/// through the namespace's usual path (socket registered, own room joined, CONNECT reply
/// queued), and the CONNECT replies are drained before `new` returns.
pub struct BenchNamespace {
    ns: Arc<Namespace>,
    engines: Vec<Arc<engineio::Socket>>,
}

impl std::fmt::Debug for BenchNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchNamespace")
            .field("namespace", &self.ns.name())
            .field("sockets", &self.engines.len())
            .finish()
    }
}

impl BenchNamespace {
    /// Namespace `/` with `n` connected sockets and empty queues, its rooms kept by a
    /// [`LocalManager`] as in a single-process server.
    ///
    /// # Panics
    ///
    /// If a socket fails to connect, which cannot happen without connect handlers.
    pub fn new(n: usize) -> Self {
        let ns = Namespace::new(
            "/".to_owned(),
            Arc::new(HandlerTable::default()),
            Arc::new(LocalManager::new()),
        );
        // `Namespace::connect` is async only because of connect handlers; there are none,
        // so a current-thread runtime finishes each call without ever waiting.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread tokio runtime");
        let engines = (0..n)
            .map(|_| {
                let engine =
                    engineio::Socket::new(TransportKind::WebSocket, handshake(), QUEUE_CAPACITY);
                let socket = Socket::new(
                    ns.clone(),
                    engine.clone(),
                    None,
                    Weak::<NoConnection>::new(),
                );
                runtime
                    .block_on(ns.connect(&socket, Default::default()))
                    .expect("no connect handler to refuse the socket");
                engine
            })
            .collect();
        let bench = BenchNamespace { ns, engines };
        bench.drain();
        bench
    }

    /// Number of sockets in the namespace.
    pub fn socket_count(&self) -> usize {
        self.engines.len()
    }

    /// A broadcast to every socket of the namespace, as
    /// [`Socket::namespace_sockets`](crate::Socket::namespace_sockets) returns it.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.ns.clone())
    }

    /// Empties every socket's queue, as a transport writing to the client would, and returns
    /// how many frames were taken (a binary packet counts its text frame and each
    /// attachment).
    ///
    /// # Panics
    ///
    /// If a queue is locked, which only a transport does; these sessions have none.
    pub fn drain(&self) -> usize {
        let mut frames = 0;
        for engine in &self.engines {
            let mut outbox = engine.try_outbox().expect("no transport holds the outbox");
            while outbox.try_recv().is_some() {
                frames += 1;
            }
        }
        frames
    }
}

/// A plausible handshake for a session that was never opened over HTTP.
fn handshake() -> Handshake {
    Handshake {
        headers: HeaderMap::new(),
        uri: Uri::from_static("/socket.io/?EIO=4&transport=websocket"),
        remote_addr: None,
        issued_at: SystemTime::now(),
    }
}

/// Bench sockets belong to no client connection.
struct NoConnection;

impl Connection for NoConnection {
    fn forget_socket(&self, _namespace: &str) {}
}
