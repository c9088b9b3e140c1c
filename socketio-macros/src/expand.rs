//! Code generation: a registration per handler, inside `const _: () = { … };`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ImplItem, ImplItemFn, Item, ItemImpl, LitStr, Path, Type};

use crate::args::{FunctionArgs, MethodArgs, NamespaceArgs};
use crate::model::{Handler, Kind, Ret};
use crate::paths;
use crate::validate::{self, Errors};

/// `#[socketio::on]`: on error, the item is kept so its call sites still compile.
pub(crate) fn on(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand_function(attr, item.clone()) {
        Ok(tokens) => tokens,
        Err(error) => with_error(item, error),
    }
}

/// `#[socketio::namespace]`: on error, the impl block is kept without its `#[on]`
/// attributes, so they do not add errors of their own.
pub(crate) fn namespace(attr: TokenStream, item: TokenStream) -> TokenStream {
    match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(mut block) => match expand_namespace(attr, &mut block) {
            Ok(tokens) => tokens,
            Err(error) => {
                strip_on_attributes(&mut block);
                with_error(quote!(#block), error)
            }
        },
        Err(_) => with_error(
            item.clone(),
            syn::Error::new(
                first_span(&item),
                "`#[socketio::namespace]` goes on an `impl` block, like `impl Chat { async fn on_message(&self, …) }`",
            ),
        ),
    }
}

fn with_error(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#item #error)
}

fn first_span(tokens: &TokenStream) -> Span {
    tokens
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

fn expand_function(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => function,
        _ => {
            return Err(syn::Error::new(
                first_span(&item),
                "`#[socketio::on]` goes on an `async fn`",
            ));
        }
    };
    let FunctionArgs(args) = syn::parse2(attr)?;
    let private = paths::private(args.krate.as_ref(), args.client);
    let mut errors = Errors::default();
    // `#[on(Line)]`: the name (and, unless given, the namespace) are the type's constants,
    // which its derive already checked.
    let (event, event_tokens) = match (&args.name, &args.event_type) {
        (Some(name), _) => {
            validate::event(&mut errors, name, args.client);
            (name.clone(), quote!(#name))
        }
        (None, Some(ty)) => (
            LitStr::new("event type", ty.span()),
            quote_spanned!(ty.span()=> <#ty as #private::Event>::NAME),
        ),
        (None, None) => unreachable!("the parser requires an event name or type"),
    };
    let namespace = match (&args.namespace, &args.event_type) {
        (Some(namespace), _) => {
            validate::namespace(&mut errors, namespace, args.client);
            quote!(#namespace)
        }
        (None, Some(ty)) => quote_spanned!(ty.span()=> #private::event_namespace::<#ty>()),
        (None, None) => quote!("/"),
    };
    validate::signature(&mut errors, &function.sig, "a handler");
    if let Some(FnArg::Receiver(receiver)) = function.sig.inputs.first() {
        errors.at(
            receiver,
            "a handler function cannot take `self`: put `#[socketio::namespace(\"/…\")]` on the impl block and drop `#[socketio::on]`",
        );
    }
    let handler = Handler::new(event, &function.sig, args.guard.into_iter().collect());
    validate::output(&mut errors, &handler);
    errors.finish()?;

    let ident = &handler.ident;
    let body = call_body(
        &handler,
        &private,
        quote!(#ident),
        None,
        args.event_type.as_ref(),
    );
    let event = event_tokens;
    Ok(quote! {
        #function

        const _: () = {
            fn __socketio_handler(
                mut __call: #private::Call,
            ) -> #private::BoxFuture {
                #body
            }

            #private::inventory::submit! {
                #private::HandlerRegistration {
                    namespace: #namespace,
                    event: #event,
                    handler: __socketio_handler,
                    location: #private::SourceLocation {
                        file: ::core::file!(),
                        line: ::core::line!(),
                        column: ::core::column!(),
                    },
                }
            }
        };
    })
}

/// The body of a generated handler: guards, parameters, the call, the ack. `this` is the
/// instance a method is called on.
fn call_body(
    handler: &Handler,
    private: &TokenStream,
    callee: TokenStream,
    this: Option<&Ident>,
    event_type: Option<&Path>,
) -> TokenStream {
    // With `#[on(Line)]`, a parameter written as the type itself takes the whole event.
    let event_type = event_type.map(|ty| quote!(#ty).to_string());
    let guards = handler.guards.iter().map(|guard| {
        quote_spanned! {guard.span()=>
            if let ::core::result::Result::Err(__error) = __call.guard(#guard) {
                return __call.reject(__error);
            }
        }
    });
    let vars: Vec<_> = (0..handler.params.len())
        .map(|i| format_ident!("__arg{}", i))
        .collect();
    let extract = handler.params.iter().zip(&vars).map(|(ty, var)| {
        if event_type.as_deref() == Some(quote!(#ty).to_string().as_str()) {
            return quote_spanned! {ty.span()=>
                let #var = match #private::event_value::<#ty, _>(&mut __call) {
                    ::core::result::Result::Ok(__value) => __value,
                    ::core::result::Result::Err(__error) => return __call.reject(__error),
                };
            };
        }
        quote_spanned! {ty.span()=>
            let #var = match <#ty as #private::FromCall<_, _>>::from_call(&mut __call) {
                ::core::result::Result::Ok(__value) => __value,
                ::core::result::Result::Err(__error) => return __call.reject(__error),
            };
        }
    });
    let receiver = this.map(|this| quote!(#this.));
    let assertions = assertions(&handler.ret, private);
    let finish = finish(handler, private);
    quote! {
        #(#assertions)*
        #private::boxed(async move {
            #(#guards)*
            #(#extract)*
            let __ret = #receiver #callee(#(#vars),*).await;
            #finish
        })
    }
}

/// Compile-time checks that land on the part of the return type that cannot be an ack.
fn assertions(ret: &Ret, private: &TokenStream) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let mut value = |ty: &Type| {
        if validate::impl_trait(ty).is_none() {
            out.push(quote_spanned! {ty.span()=>
                #private::assert_ack_value::<#ty>();
            });
        }
    };
    match ret {
        Ret::Unit => {}
        Ret::Single(ty) => value(ty),
        Ret::Tuple(types) => types.iter().for_each(value),
        Ret::Result { ok, err } => {
            out.extend(assertions(ok, private));
            if validate::impl_trait(err).is_none() {
                out.push(quote_spanned! {err.span()=>
                    #private::assert_ack_error::<#err>();
                });
            }
        }
    }
    out
}

/// Turns `__ret` into the end of the call, by kind.
fn finish(handler: &Handler, private: &TokenStream) -> TokenStream {
    match handler.kind {
        Kind::Connect => {
            let span = handler.output_span();
            quote_spanned! {span=> __call.connected(__ret) }
        }
        Kind::Disconnect | Kind::Disconnecting => quote! {
            let () = __ret;
            __call.finished()
        },
        Kind::Event => {
            let reply = ack_reply(&handler.ret, quote!(__ret), private);
            quote! {
                #[allow(unused_imports)]
                use #private::{Unconvertible as _, ViaDisplay as _, ViaSerialize as _};
                __call.reply(#reply)
            }
        }
    }
}

fn ack_reply(ret: &Ret, value: TokenStream, private: &TokenStream) -> TokenStream {
    match ret {
        Ret::Unit => quote! {{
            let () = #value;
            #private::AckReply::empty()
        }},
        // A tuple splits into one argument per element when serialized, like an emit's.
        Ret::Single(_) | Ret::Tuple(_) => quote! { (&#private::AckProbe(#value)).ack_value() },
        Ret::Result { ok, .. } => {
            let ok = ack_reply(ok, quote!(__ok), private);
            quote! {
                match #value {
                    ::core::result::Result::Ok(__ok) => #ok,
                    ::core::result::Result::Err(__err) => (&#private::AckProbe(__err)).ack_error(),
                }
            }
        }
    }
}

/// A handler method found in the impl block.
struct Method {
    handler: Handler,
    wrapper: Ident,
}

fn expand_namespace(attr: TokenStream, block: &mut ItemImpl) -> syn::Result<TokenStream> {
    let NamespaceArgs(args) = syn::parse2(attr)?;
    let namespace = args.name.expect("the parser requires the namespace");
    let mut errors = Errors::default();
    validate::namespace(&mut errors, &namespace, args.client);
    if !block.generics.params.is_empty() || block.generics.where_clause.is_some() {
        errors.at(
            &block.generics,
            "a namespace impl block cannot be generic: the registry needs one concrete type",
        );
    }
    if let Some((_, path, _)) = &block.trait_ {
        errors.at(
            path,
            "`#[socketio::namespace]` goes on an inherent impl block (`impl Chat { … }`), not a trait impl",
        );
    }
    let mut methods: Vec<Method> = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(function) = item else {
            continue;
        };
        match method(function, args.guard.as_ref(), args.client, &mut errors) {
            Some(handler) => {
                if let Some(first) = methods
                    .iter()
                    .find(|m| m.handler.event.value() == handler.event.value())
                {
                    errors.at(
                        &handler.ident,
                        format!(
                            "a second handler for event `{}` in this impl block; the first is `{}`",
                            handler.event.value(),
                            first.handler.ident
                        ),
                    );
                }
                let wrapper = format_ident!("__socketio_{}", handler.ident);
                methods.push(Method { handler, wrapper });
            }
            None => continue,
        }
    }
    errors.finish()?;

    let private = paths::private(args.krate.as_ref(), args.client);
    let self_ty = &block.self_ty;
    let wrappers = methods.iter().map(|m| {
        let ident = &m.handler.ident;
        let wrapper = &m.wrapper;
        let this = format_ident!("__this");
        let body = call_body(&m.handler, &private, quote!(#ident), Some(&this), None);
        quote! {
            #[doc(hidden)]
            fn #wrapper(
                __instance: #private::Instance,
                mut __call: #private::Call,
            ) -> #private::BoxFuture {
                let ::core::option::Option::Some(#this) = #private::instance::<Self>(__instance) else {
                    return #private::boxed(async move { __call.finished() });
                };
                #body
            }
        }
    });
    let records = methods.iter().map(|m| {
        let event = &m.handler.event;
        let wrapper = &m.wrapper;
        let span = m.handler.ident.span();
        quote_spanned! {span=>
            #private::MethodRegistration {
                event: #event,
                handler: <#self_ty>::#wrapper,
                location: #private::SourceLocation {
                    file: ::core::file!(),
                    line: ::core::line!(),
                    column: ::core::column!(),
                },
            }
        }
    });
    let type_name = quote!(#self_ty).to_string().replace(' ', "");
    let ns_impl = quote_spanned! {self_ty.span()=>
        impl #private::ClassNamespace for #self_ty {
            const NAMESPACE: &'static str = #namespace;
        }
    };
    Ok(quote! {
        #block

        #ns_impl

        const _: () = {
            impl #self_ty {
                #(#wrappers)*

                #[doc(hidden)]
                fn __socketio_default_instance() -> ::core::option::Option<#private::Instance> {
                    #[allow(unused_imports)]
                    use #private::{WithDefault as _, WithoutDefault as _};
                    (&&#private::DefaultProbe::<Self>::new()).instance()
                }
            }

            #private::inventory::submit! {
                #private::NamespaceRegistration {
                    namespace: #namespace,
                    type_id: ::core::any::TypeId::of::<#self_ty>,
                    type_name: #type_name,
                    default_instance: <#self_ty>::__socketio_default_instance,
                    methods: &[#(#records),*],
                }
            }
        };
    })
}

/// A handler method: `on_<event>`, or any method with `#[on("event")]` (which is removed).
/// Other methods are left alone.
fn method(
    function: &mut ImplItemFn,
    class_guard: Option<&Path>,
    client: bool,
    errors: &mut Errors,
) -> Option<Handler> {
    let mut explicit: Option<(LitStr, Option<Path>)> = None;
    let mut kept = Vec::new();
    for attr in std::mem::take(&mut function.attrs) {
        if !attr.path().is_ident("on") {
            kept.push(attr);
            continue;
        }
        match attr.parse_args::<MethodArgs>() {
            Ok(MethodArgs(args)) if explicit.is_none() => {
                explicit = Some((
                    args.name.expect("the parser requires the event name"),
                    args.guard,
                ));
            }
            Ok(_) => errors.at(&attr, "a method takes one `#[on(\"…\")]`"),
            Err(error) => errors.push(error),
        }
    }
    function.attrs = kept;
    let name = function.sig.ident.to_string();
    let (event, guard) = match explicit {
        Some(found) => found,
        None => match name.strip_prefix("on_") {
            Some(event) if !event.is_empty() => {
                (LitStr::new(event, function.sig.ident.span()), None)
            }
            _ => return None,
        },
    };
    validate::event(errors, &event, client);
    validate::signature(errors, &function.sig, "a handler method");
    match function.sig.inputs.first() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() && receiver.colon_token.is_none() => {}
        Some(FnArg::Receiver(receiver)) => errors.at(
            receiver,
            "a handler method takes `&self`: one instance serves every socket at once, so it cannot be moved or borrowed mutably",
        ),
        _ => errors.at(
            &function.sig.ident,
            format!("handler method `{name}` needs `&self` as its first parameter"),
        ),
    }
    let guards = class_guard.into_iter().cloned().chain(guard).collect();
    let handler = Handler::new(event, &function.sig, guards);
    validate::output(errors, &handler);
    Some(handler)
}

fn strip_on_attributes(block: &mut ItemImpl) {
    for item in &mut block.items {
        if let ImplItem::Fn(function) = item {
            function.attrs.retain(|attr| !attr.path().is_ident("on"));
        }
    }
}
