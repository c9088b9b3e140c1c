//! `#[event_set]`: an enum lists the event types a namespace or a client may emit, one
//! per variant; the attribute declares each of them in the set.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Data, DeriveInput, Fields, Lifetime};

use crate::validate::Errors;

pub(crate) fn attribute(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr, item.clone()) {
        Ok(tokens) => tokens,
        // Keep the item, so one mistake does not also hide the enum from the rest of the crate.
        Err(error) => {
            let error = error.to_compile_error();
            quote::quote!(#item #error)
        }
    }
}

fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new_spanned(
            attr,
            "`#[socketio::event_set]` takes no options",
        ));
    }
    let input: DeriveInput = syn::parse2(item)?;
    let mut errors = Errors::default();
    let variants = match &input.data {
        Data::Enum(data) => &data.variants,
        Data::Struct(data) => {
            errors.at(
                data.struct_token,
                "an event set is an enum with one variant per event type: `enum ToClient { Line(Line) }`",
            );
            return errors.finish().map(|()| TokenStream::new());
        }
        Data::Union(data) => {
            errors.at(
                data.union_token,
                "an event set is an enum with one variant per event type: `enum ToClient { Line(Line) }`",
            );
            return errors.finish().map(|()| TokenStream::new());
        }
    };
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "an event set has no generic parameters");
    }
    let mut types = Vec::new();
    let mut names = Vec::new();
    for variant in variants {
        match &variant.fields {
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                types.push(&fields.unnamed[0].ty);
                names.push(&variant.ident);
            }
            _ => errors.at(
                variant,
                format!(
                    "each variant holds one event type: `{}(SomeEvent)`",
                    variant.ident
                ),
            ),
        }
    }
    errors.finish()?;

    let ident = &input.ident;
    let declared = types.iter().map(|ty| {
        // `Joined(MemberJoined<'static>)` declares `MemberJoined<'a>` for every `'a`, so an
        // event that borrows can be emitted.
        let mut ty = (*ty).clone();
        let mut lifetimes = AnyLifetime::default();
        lifetimes.visit_type_mut(&mut ty);
        let params = &lifetimes.0;
        quote_spanned! {ty.span()=>
            impl<#(#params),*> ::socketio::args::Contains<#ty> for #ident {}
        }
    });
    Ok(quote_spanned! {ident.span()=>
        // The enum is a declaration and is never built.
        #[allow(dead_code)]
        #input
        impl ::socketio::args::EventSet for #ident {}
        #[diagnostic::do_not_recommend]
        impl ::socketio::args::Contains<::socketio::args::Undeclared> for #ident {}
        #(#declared)*
    })
}

/// Replaces each lifetime of a type with a fresh parameter, and lists them.
#[derive(Default)]
struct AnyLifetime(Vec<Lifetime>);

impl VisitMut for AnyLifetime {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        let fresh = Lifetime::new(&format!("'__event{}", self.0.len()), lifetime.span());
        *lifetime = fresh.clone();
        self.0.push(fresh);
    }
}
