//! Handlers registered by the attribute macros: the records they submit, and how
//! [`SocketIoBuilder::build`](crate::SocketIoBuilder::build) gathers them into namespaces.
//!
//! Every `#[socketio::on]` function submits one [`HandlerRegistration`] and every
//! `#[socketio::namespace]` impl block one [`NamespaceRegistration`], collected at link time.
//! Building groups them by namespace; the same `(namespace, event)` twice is an error that
//! names both places, except that a function wins over a method, as in python-socketio.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;

use crate::handler::{BoxFuture, Call, Instance, NamespaceBuilder, ServerSide, Side};

/// A generated handler function.
pub(crate) type HandlerFn<S = ServerSide> = fn(Call<S>) -> BoxFuture;

/// A generated handler method: the namespace instance, then the call.
pub(crate) type MethodFn<S = ServerSide> = fn(Instance, Call<S>) -> BoxFuture;

/// Where a handler was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLocation {
    /// The source file, as `file!()` gives it.
    pub file: &'static str,
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1.
    pub column: u32,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl From<&'static std::panic::Location<'static>> for SourceLocation {
    fn from(location: &'static std::panic::Location<'static>) -> Self {
        SourceLocation {
            file: location.file(),
            line: location.line(),
            column: location.column(),
        }
    }
}

/// One `#[socketio::on]` function (of the server, or with `client` of the client).
#[derive(Debug)]
pub struct HandlerRegistration<S: Side = ServerSide> {
    /// Its namespace (`*` for every namespace without handlers of its own).
    pub namespace: &'static str,
    /// Its event: a name, or `connect`, `disconnect`, `*`.
    pub event: &'static str,
    /// The generated function that extracts the parameters and calls it.
    pub handler: HandlerFn<S>,
    /// Where it was written.
    pub location: SourceLocation,
}

/// One `#[socketio::namespace]` impl block.
#[derive(Debug)]
pub struct NamespaceRegistration<S: Side = ServerSide> {
    /// The namespace its methods serve.
    pub namespace: &'static str,
    /// The `TypeId` of the implementing type.
    pub type_id: fn() -> TypeId,
    /// The implementing type's name, for errors.
    pub type_name: &'static str,
    /// Its `Default` value, when it has one.
    pub default_instance: fn() -> Option<Instance>,
    /// Its handler methods.
    pub methods: &'static [MethodRegistration<S>],
}

/// One handler method of a `#[socketio::namespace]` impl block.
#[derive(Debug)]
pub struct MethodRegistration<S: Side = ServerSide> {
    /// Its event: a name, or `connect`, `disconnect`, `*`.
    pub event: &'static str,
    /// The generated function that extracts the parameters and calls it.
    pub handler: MethodFn<S>,
    /// Where it was written.
    pub location: SourceLocation,
}

inventory::collect!(HandlerRegistration<ServerSide>);
inventory::collect!(NamespaceRegistration<ServerSide>);

/// Why the handlers registered with the attribute macros do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two handlers for one event of one namespace.
    #[error("two handlers for event {event:?} of namespace {namespace:?}: {first} and {second}")]
    Duplicate {
        /// The namespace.
        namespace: String,
        /// The event.
        event: String,
        /// Where the first one was written.
        first: String,
        /// Where the second one was written.
        second: String,
    },
    /// A namespace type without `Default` that was not given to the builder.
    #[error(
        "namespace {namespace:?} is handled by {type_name}, which has no Default value: \
         give an instance to SocketIoBuilder::register_namespace"
    )]
    MissingInstance {
        /// The namespace.
        namespace: String,
        /// The type of the impl block.
        type_name: String,
    },
}

/// A handler ready to be put into its namespace.
pub(crate) struct Resolved<S: Side = ServerSide> {
    pub(crate) namespace: &'static str,
    pub(crate) event: &'static str,
    pub(crate) location: SourceLocation,
    pub(crate) call: Erased<S>,
}

/// A handler function, or a method with its instance.
pub(crate) enum Erased<S: Side> {
    Function(HandlerFn<S>),
    Method(MethodFn<S>, Instance),
}

impl<S: Side> Erased<S> {
    pub(crate) fn call(&self, call: Call<S>) -> BoxFuture {
        match self {
            Erased::Function(handler) => handler(call),
            Erased::Method(handler, instance) => handler(instance.clone(), call),
        }
    }
}

/// Every handler of side `S` in the binary, functions first; `instances` are the namespace
/// values given to the builder, by type.
pub(crate) fn collect<S: Side>(
    instances: &mut HashMap<TypeId, Instance>,
) -> Result<Vec<Resolved<S>>, RegistryError>
where
    HandlerRegistration<S>: inventory::Collect,
    NamespaceRegistration<S>: inventory::Collect,
{
    let mut functions: Vec<&HandlerRegistration<S>> =
        inventory::iter::<HandlerRegistration<S>>().collect();
    functions.sort_by_key(|r| (r.namespace, r.event, r.location.file, r.location.line));
    let mut resolved: Vec<Resolved<S>> = Vec::new();
    for registration in functions {
        if let Some(first) = find(&resolved, registration.namespace, registration.event) {
            return Err(duplicate(first, registration.location));
        }
        resolved.push(Resolved {
            namespace: registration.namespace,
            event: registration.event,
            location: registration.location,
            call: Erased::Function(registration.handler),
        });
    }
    let function_count = resolved.len();
    let mut classes: Vec<&NamespaceRegistration<S>> =
        inventory::iter::<NamespaceRegistration<S>>().collect();
    classes.sort_by_key(|r| (r.namespace, r.type_name));
    for class in classes {
        let instance = match instances.remove(&(class.type_id)()) {
            Some(instance) => instance,
            None => (class.default_instance)().ok_or_else(|| RegistryError::MissingInstance {
                namespace: class.namespace.to_owned(),
                type_name: class.type_name.to_owned(),
            })?,
        };
        for method in class.methods {
            match resolved
                .iter()
                .position(|r| r.namespace == class.namespace && r.event == method.event)
            {
                // A function handler wins over a method, as in python-socketio.
                Some(index) if index < function_count => continue,
                Some(index) => return Err(duplicate(&resolved[index], method.location)),
                None => {}
            }
            resolved.push(Resolved {
                namespace: class.namespace,
                event: method.event,
                location: method.location,
                call: Erased::Method(method.handler, instance.clone()),
            });
        }
    }
    Ok(resolved)
}

fn find<'a, S: Side>(
    resolved: &'a [Resolved<S>],
    namespace: &str,
    event: &str,
) -> Option<&'a Resolved<S>> {
    resolved
        .iter()
        .find(|r| r.namespace == namespace && r.event == event)
}

fn duplicate<S: Side>(first: &Resolved<S>, second: SourceLocation) -> RegistryError {
    RegistryError::Duplicate {
        namespace: first.namespace.to_owned(),
        event: first.event.to_owned(),
        first: first.location.to_string(),
        second: second.to_string(),
    }
}

impl Resolved<ServerSide> {
    /// Adds this handler to `builder`; an event the builder already handles (registered by
    /// hand) is a duplicate.
    pub(crate) fn install(
        self,
        builder: NamespaceBuilder,
    ) -> Result<NamespaceBuilder, RegistryError> {
        if let Some(first) = builder.registered_at(self.event) {
            return Err(RegistryError::Duplicate {
                namespace: self.namespace.to_owned(),
                event: self.event.to_owned(),
                first: first.to_string(),
                second: self.location.to_string(),
            });
        }
        let handler = self.call;
        let builder = builder.on_generated(self.event, move |call| handler.call(call));
        Ok(builder.with_location(self.event, self.location))
    }
}
