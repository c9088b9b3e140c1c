//! A stateful namespace handed to the builder, with a guard, `#[on]` names, helpers and
//! associated items left alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use socketio::{DisconnectReason, Socket, SocketIo};

struct Counter {
    next: AtomicU64,
}

fn signed_in(socket: &Arc<Socket>) -> bool {
    socket.auth().get("user").is_some()
}

#[socketio::namespace("/counter", guard = signed_in)]
impl Counter {
    const STEP: u64 = 1;

    async fn on_connect(&self, socket: Arc<Socket>) -> Result<(), String> {
        socket.join("counting");
        Ok(())
    }

    async fn on_next(&self) -> u64 {
        self.bump()
    }

    #[on("add many")]
    async fn add_many(&self, n: u64) -> (u64, u64) {
        (n, self.next.fetch_add(n, Ordering::SeqCst))
    }

    async fn on_disconnect(&self, _reason: DisconnectReason) {}

    fn bump(&self) -> u64 {
        self.next.fetch_add(Self::STEP, Ordering::SeqCst)
    }
}

fn main() {
    let _io = SocketIo::builder()
        .register_namespace(Counter { next: AtomicU64::new(0) })
        .build();
}
