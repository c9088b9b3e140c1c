//! Tests that load the machine or hold the server to deadlines: slow consumers and overload, a
//! node killed in the middle of cluster traffic, and the short soak run.
//!
//! One test binary for these files (link time on two cores); each file is a module. Each test
//! takes [`alone`] first, so it has both cores to itself as it had in a binary of its own: a
//! deadline it checks must not depend on what another test happens to run beside it.

#[path = "../common/mod.rs"]
mod common;

mod node_loss;
mod overload;
mod soak;

/// The machine for one test: held for the whole test, it keeps the other tests of this binary
/// waiting. A test that fails releases it too (a tokio mutex is not poisoned).
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until no other test of this binary runs; for async tests.
async fn alone() -> tokio::sync::MutexGuard<'static, ()> {
    ALONE.lock().await
}

/// [`alone`] for tests without a runtime.
fn alone_blocking() -> tokio::sync::MutexGuard<'static, ()> {
    ALONE.blocking_lock()
}
