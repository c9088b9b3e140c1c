//! What the attribute macros' generated code names, and nothing else. Not a public API:
//! it changes without notice.

pub use inventory;

pub use crate::args::Event;
pub use crate::handler::call::{
    AckReply, BoxFuture, Completion, ConnectOutcome, GuardOutcome, ServerContext,
};
pub use crate::handler::class::{DefaultProbe, Instance, WithDefault, WithoutDefault};
pub use crate::handler::{Call, CallError, ClassNamespace, FromCall, Side};
pub use crate::registry::{
    HandlerRegistration, MethodRegistration, NamespaceRegistration, SourceLocation,
};

/// Fails to compile, at the return type, when a handler's return value cannot be an ack
/// argument.
pub const fn assert_ack_value<T: AckValue + ?Sized>() {}

/// Fails to compile, at the error type, when a handler's `Err` cannot become an error ack.
pub const fn assert_ack_error<T: std::fmt::Display + ?Sized>() {}

/// A type a handler may return as (part of) its ack.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as an ack argument",
    label = "the return value becomes the ack, so it must implement `serde::Serialize`",
    note = "return `()` for no ack argument, a `Serialize` type for one, a tuple for several, or a `Result` of those"
)]
pub trait AckValue {}

impl<T: serde::Serialize + ?Sized> AckValue for T {}

/// Turns a handler's return value into its ack without naming a bound, so that a type that
/// cannot be an ack is reported once, at the return type (by [`assert_ack_value`] or
/// [`assert_ack_error`]), and not a second time at the attribute. Method lookup on
/// `&AckProbe(value)` finds [`ViaSerialize`] / [`ViaDisplay`] first when their bounds hold;
/// the [`Unconvertible`] fallback is only reached in code that fails to compile anyway.
#[derive(Debug)]
pub struct AckProbe<T>(pub T);

/// The conversion for a return value that can be an ack: split like an emit's value (a
/// tuple into one argument per element), as for handlers registered by hand.
pub trait ViaSerialize {
    /// The ack arguments.
    fn ack_value(&self) -> AckReply;
}

impl<T: serde::Serialize> ViaSerialize for AckProbe<T> {
    fn ack_value(&self) -> AckReply {
        AckReply::value(&self.0)
    }
}

/// The conversion for a handler's `Err`.
pub trait ViaDisplay {
    /// The error object.
    fn ack_error(&self) -> AckReply;
}

impl<T: std::fmt::Display> ViaDisplay for AckProbe<T> {
    fn ack_error(&self) -> AckReply {
        AckReply::error(&self.0)
    }
}

/// The fallback of [`AckProbe`], never part of a program that compiles.
pub trait Unconvertible {
    /// Unreachable in a compiled program.
    fn ack_value(&self) -> AckReply;
    /// Unreachable in a compiled program.
    fn ack_error(&self) -> AckReply;
}

impl<T> Unconvertible for &AckProbe<T> {
    fn ack_value(&self) -> AckReply {
        AckReply::error("the return value cannot be an ack")
    }

    fn ack_error(&self) -> AckReply {
        AckReply::error("the error cannot be an ack")
    }
}

/// Boxes a handler's future; a function so the generated code stays short.
pub fn boxed<F>(future: F) -> BoxFuture
where
    F: std::future::Future<Output = crate::handler::call::Completion> + Send + 'static,
{
    Box::pin(future)
}

/// The handler parameter of `#[socketio::on(Type)]` whose type is the event type: every
/// argument read as one value of it. (`event_namespace` reports a type that is no `Event`.)
pub fn event_value<T: serde::de::DeserializeOwned, S: Side>(
    call: &mut crate::handler::Call<S>,
) -> Result<T, CallError> {
    call.event_value()
}

/// The namespace of `#[socketio::on(Type)]` without `namespace = …`: the event type's own, or
/// `/`.
pub const fn event_namespace<T: Event>() -> &'static str {
    match T::NAMESPACE {
        Some(namespace) => namespace,
        None => "/",
    }
}

/// Downcasts a namespace instance to the impl block's type (the registry pairs them by
/// `TypeId`, so this cannot fail in practice).
pub fn instance<T: Send + Sync + 'static>(instance: Instance) -> Option<std::sync::Arc<T>> {
    instance.downcast::<T>().ok()
}

/// The same names for client handlers (`#[socketio::on("…", client)]`).
#[cfg(feature = "client")]
pub mod client {
    pub use super::{
        AckProbe, AckReply, BoxFuture, DefaultProbe, Event, FromCall, Instance, SourceLocation,
        Unconvertible, ViaDisplay, ViaSerialize, WithDefault, WithoutDefault, assert_ack_error,
        assert_ack_value, boxed, event_namespace, event_value, instance, inventory,
    };
    pub use crate::client::ClientNamespace as ClassNamespace;
    use crate::client::ClientSide;

    /// A client handler call.
    pub type Call = crate::handler::Call<ClientSide>;
    /// One client handler function.
    pub type HandlerRegistration = crate::registry::HandlerRegistration<ClientSide>;
    /// One client namespace impl block.
    pub type NamespaceRegistration = crate::registry::NamespaceRegistration<ClientSide>;
    /// One method of a client namespace impl block.
    pub type MethodRegistration = crate::registry::MethodRegistration<ClientSide>;
}
