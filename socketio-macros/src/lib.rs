//! Macros for the `socketio` crate: the attributes `#[socketio::on]` and
//! `#[socketio::namespace]`, `#[socketio::event_set]` and `#[derive(socketio::Event)]`. Use them through the `socketio`
//! crate, which documents them.
//!
//! Each macro parses its input into a model (`model`), checks it (`validate`) and
//! generates a registration (`expand`). The generated code only names items of
//! `::socketio::__private` (see `paths`); the runtime does the work.

mod args;
mod event;
mod event_set;
mod expand;
mod model;
mod paths;
mod validate;

use proc_macro::TokenStream;

/// Registers an `async fn` as the handler of an event.
#[proc_macro_attribute]
pub fn on(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::on(attr.into(), item.into()).into()
}

/// Registers the `on_<event>` methods of an `impl` block as the handlers of a namespace.
#[proc_macro_attribute]
pub fn namespace(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::namespace(attr.into(), item.into()).into()
}

/// Gives a type its event name (and optionally its namespace) from `#[event("name")]`.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(item: TokenStream) -> TokenStream {
    event::derive(item.into()).into()
}

/// Declares an enum's variant types as the events of a set, for `Typed` handles.
#[proc_macro_attribute]
pub fn event_set(attr: TokenStream, item: TokenStream) -> TokenStream {
    event_set::attribute(attr.into(), item.into()).into()
}
