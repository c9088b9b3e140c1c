//! Declared event sets: the Rust side of Socket.IO's `Server<ClientToServer, ServerToClient>`.
//!
//! An enum marked [`#[socketio::event_set]`](macro@crate::event_set) lists the [`Event`] types a
//! namespace or a client may emit, one per variant. A socket, a broadcast or a client wrapped in
//! [`Typed`] with that set only emits those types: emitting any other type does not compile, and
//! the error points at the call. Nothing of this exists at run time: `Typed` is the handle it
//! wraps, and every emit is the plain `emit_event`.

use std::fmt;
use std::marker::PhantomData;

use super::emit::Event;

/// A declared set of events; declare one on an enum with
/// [`#[socketio::event_set]`](macro@crate::event_set).
pub trait EventSet: 'static {}

/// `Self` declares the event `E`: `#[socketio::event_set]` implements it for each variant's type.
#[diagnostic::on_unimplemented(
    message = "`{E}` is not an event of `{Self}`",
    label = "not declared in `{Self}`",
    note = "add a variant holding `{E}` to the enum `{Self}`, or emit through the untyped handle (`.untyped()`)"
)]
pub trait Contains<E: Event>: EventSet {}

/// Declared in every set by `#[socketio::event_set]`, so that a set always has two candidates and an emit
/// of a foreign type is reported as "not an event of the set" rather than as a mismatch with
/// the one declared type. It has no values: nothing can be emitted as it.
#[doc(hidden)]
pub enum Undeclared {}

impl Event for Undeclared {
    const NAME: &'static str = "";
}

/// A handle (a socket, a broadcast, a client socket, an emitter) that emits only the events of
/// the set `S`.
///
/// Get one with `typed::<S>()` on the handle, or take it as a handler parameter
/// (`socket: Typed<Arc<Socket>, S>`). [`untyped`](Self::untyped) gives the handle back for
/// everything that is not an emit (rooms, sessions, disconnect…).
pub struct Typed<T, S> {
    inner: T,
    set: PhantomData<fn() -> S>,
}

impl<T, S: EventSet> Typed<T, S> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Typed {
            inner,
            set: PhantomData,
        }
    }

    /// The wrapped handle, for everything that is not a typed emit.
    pub fn untyped(&self) -> &T {
        &self.inner
    }

    /// Unwraps the handle.
    pub fn into_untyped(self) -> T {
        self.inner
    }

    /// The same set around another handle (a broadcast made from a socket, …).
    pub(crate) fn wrap<U>(&self, inner: U) -> Typed<U, S> {
        Typed::new(inner)
    }
}

impl<T: Clone, S: EventSet> Clone for Typed<T, S> {
    fn clone(&self) -> Self {
        Typed::new(self.inner.clone())
    }
}

impl<T: fmt::Debug, S> fmt::Debug for Typed<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Typed")
            .field("set", &std::any::type_name::<S>())
            .field("inner", &self.inner)
            .finish()
    }
}
