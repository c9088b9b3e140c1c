//! The one place that spells paths into the runtime crate.

use proc_macro2::TokenStream;
use quote::quote;

/// The runtime's hidden module for one side: `::socketio::__private` for server handlers,
/// `::socketio::__private::client` for client handlers (or the same under `crate = "…"`).
/// Both export the same names, so the expansion does not depend on the side.
pub(crate) fn private(krate: Option<&syn::Path>, client: bool) -> TokenStream {
    let root = match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::socketio::__private),
    };
    if client { quote!(#root::client) } else { root }
}
