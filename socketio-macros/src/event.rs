//! `#[derive(Event)]`: gives a type its event name, and optionally its namespace, from an
//! `#[event("name", namespace = "/ns")]` attribute.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, LitStr, Token};

use crate::validate::{self, Errors};

/// Names `Socket::emit` refuses in Node, because the protocol gives them a meaning of their
/// own: an event struct with one of them could never be sent.
const RESERVED_EMITS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The contents of `#[event(…)]`.
struct EventAttr {
    name: LitStr,
    namespace: Option<LitStr>,
}

impl Parse for EventAttr {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: LitStr = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the event name as a string: `#[event(\"name\")]`",
            )
        })?;
        let mut namespace = None;
        if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "namespace" {
                return Err(syn::Error::new(
                    key.span(),
                    "unknown option: the only one is `namespace = \"/…\"`",
                ));
            }
            input.parse::<Token![=]>()?;
            namespace = Some(input.parse()?);
            input.parse::<Option<Token![,]>>()?;
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the event's options"));
        }
        Ok(EventAttr { name, namespace })
    }
}

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let mut errors = Errors::default();
    if let Data::Union(union) = &input.data {
        errors.at(
            union.union_token,
            "an event is a struct or an enum: a union cannot be serialized",
        );
    }
    let mut attrs = input.attrs.iter().filter(|a| a.path().is_ident("event"));
    let Some(first) = attrs.next() else {
        errors.at(
            &input.ident,
            format!(
                "name the event: add `#[event(\"name\")]` to `{}`",
                input.ident
            ),
        );
        return errors.finish().map(|()| TokenStream::new());
    };
    for again in attrs {
        errors.at(&again.meta, "an event has one `#[event(…)]` attribute");
    }
    let attr: EventAttr = match first.parse_args() {
        Ok(attr) => attr,
        Err(error) => {
            errors.push(error);
            return errors.finish().map(|()| TokenStream::new());
        }
    };
    let name = attr.name.value();
    if name.is_empty() {
        errors.at(&attr.name, "the event name is empty");
    } else if RESERVED_EMITS.contains(&name.as_str()) {
        errors.at(
            &attr.name,
            format!("`{name}` is a reserved event name: it cannot be emitted"),
        );
    }
    if let Some(namespace) = &attr.namespace {
        if namespace.value() == "*" {
            errors.at(
                namespace,
                "an event belongs to one namespace: `*` is for handlers",
            );
        } else {
            validate::namespace(&mut errors, namespace, false);
        }
    }
    errors.finish()?;

    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let event = &attr.name;
    let namespace = match &attr.namespace {
        Some(namespace) => quote!(::core::option::Option::Some(#namespace)),
        None => quote!(::core::option::Option::None),
    };
    let span = first.span();
    Ok(quote::quote_spanned! {span=>
        impl #impl_generics ::socketio::Event for #ident #ty_generics #where_clause {
            const NAME: &'static str = #event;
            const NAMESPACE: ::core::option::Option<&'static str> = #namespace;
        }
    })
}
