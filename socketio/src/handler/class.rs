//! Class-style namespaces: an `impl` block whose methods are the handlers.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

/// A value whose methods handle one namespace; implemented by
/// [`#[socketio::namespace]`](crate::namespace) for the type of the `impl` block.
///
/// A type that implements `Default` registers itself with its default value; hand any other
/// instance to [`SocketIoBuilder::register_namespace`](crate::SocketIoBuilder::register_namespace).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a namespace",
    label = "put `#[socketio::namespace(\"/name\")]` on an `impl` block of this type"
)]
pub trait ClassNamespace: Send + Sync + 'static {
    /// The namespace its methods serve.
    const NAMESPACE: &'static str;
}

/// A namespace instance, type-erased for the registry.
pub type Instance = Arc<dyn Any + Send + Sync>;

/// Finds out, in generated code, whether a type has a `Default` value to register itself
/// with: `(&&DefaultProbe::<T>::new()).instance()` picks [`WithDefault`] when `T: Default`
/// (method lookup tries `&&DefaultProbe` before `&DefaultProbe`) and [`WithoutDefault`]
/// otherwise.
#[derive(Debug)]
pub struct DefaultProbe<T>(PhantomData<T>);

impl<T> DefaultProbe<T> {
    /// A probe for `T`.
    pub const fn new() -> Self {
        DefaultProbe(PhantomData)
    }
}

impl<T> Default for DefaultProbe<T> {
    fn default() -> Self {
        DefaultProbe::new()
    }
}

/// The probe's answer for a type with a `Default` value.
pub trait WithDefault {
    /// The default instance.
    fn instance(&self) -> Option<Instance>;
}

impl<T: Default + Send + Sync + 'static> WithDefault for &DefaultProbe<T> {
    fn instance(&self) -> Option<Instance> {
        Some(Arc::new(T::default()))
    }
}

/// The probe's answer for a type without one: it must be registered by hand.
pub trait WithoutDefault {
    /// Nothing: there is no instance to make.
    fn instance(&self) -> Option<Instance>;
}

impl<T> WithoutDefault for DefaultProbe<T> {
    fn instance(&self) -> Option<Instance> {
        None
    }
}
