//! The one place that spells paths into the runtime crate.

use proc_macro2::TokenStream;
use quote::quote;

/// The runtime's hidden module: `::socketio::__private`, or `<crate = "…">::__private`.
pub(crate) fn private(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::socketio::__private),
    }
}
