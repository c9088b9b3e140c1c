//! What the attribute macros' generated code names, and nothing else. Not a public API:
//! it changes without notice.

pub use inventory;

pub use crate::handler::{
    AckReply, BoxFuture, Call, ClassNamespace, ConnectOutcome, DefaultProbe, FromCall,
    GuardOutcome, Instance, WithDefault, WithoutDefault,
};
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

/// Boxes a handler's future; a function so the generated code stays short.
pub fn boxed<F>(future: F) -> BoxFuture
where
    F: std::future::Future<Output = crate::handler::Completion> + Send + 'static,
{
    Box::pin(future)
}

/// Downcasts a namespace instance to the impl block's type (the registry pairs them by
/// `TypeId`, so this cannot fail in practice).
pub fn instance<T: Send + Sync + 'static>(instance: Instance) -> Option<std::sync::Arc<T>> {
    instance.downcast::<T>().ok()
}
