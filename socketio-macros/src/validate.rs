//! Checks that turn misuse into errors at the offending token.

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, LitStr, ReturnType, Signature, Type};

use crate::model::{Handler, Kind};

/// Event names a client cannot send, so a server handler for them would never run.
const RESERVED_EVENTS: &[&str] = &["connect_error", "newListener", "removeListener", "error"];

/// Event names a server cannot send; `connect_error` is the client's own special handler.
const RESERVED_CLIENT_EVENTS: &[&str] = &["disconnecting", "newListener", "removeListener"];

/// Collects every error of one item, to report them all at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: impl Spanned, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span.span(), message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The event name: not empty, not reserved.
pub(crate) fn event(errors: &mut Errors, event: &LitStr, client: bool) {
    let name = event.value();
    let (reserved, sender) = if client {
        (RESERVED_CLIENT_EVENTS, "servers")
    } else {
        (RESERVED_EVENTS, "clients")
    };
    if name.is_empty() {
        errors.at(event, "the event name is empty");
    } else if reserved.contains(&name.as_str()) {
        errors.at(
            event,
            format!("`{name}` is a reserved event name: {sender} cannot send it, so this handler would never run"),
        );
    }
}

/// A namespace name: `/…` without `,`, or `*` (server handlers only).
pub(crate) fn namespace(errors: &mut Errors, namespace: &LitStr, client: bool) {
    let name = namespace.value();
    if name == "*" {
        if client {
            errors.at(
                namespace,
                "a client handler needs the namespace it joins: `*` is for server handlers",
            );
        }
        return;
    }
    if !name.starts_with('/') {
        errors.at(
            namespace,
            format!(
                "a namespace starts with `/`: write \"/{name}\" (or \"*\" for every namespace)"
            ),
        );
    } else if name.contains(',') {
        errors.at(namespace, "a namespace name cannot contain `,`");
    }
}

/// The signature of a handler: a plain `async fn` without generics.
pub(crate) fn signature(errors: &mut Errors, sig: &Signature, what: &str) {
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token,
            format!("{what} must be `async fn`: handlers run on the server's tokio runtime"),
        );
    }
    if let Some(constness) = &sig.constness {
        errors.at(constness, format!("{what} cannot be `const`"));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.at(unsafety, format!("{what} cannot be `unsafe`"));
    }
    if let Some(abi) = &sig.abi {
        errors.at(abi, format!("{what} cannot have an `extern` ABI"));
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic, format!("{what} cannot be variadic"));
    }
    let generics = &sig.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        errors.at(
            generics,
            format!("{what} cannot be generic: the registry needs one concrete function per event"),
        );
    }
    for input in &sig.inputs {
        if let FnArg::Typed(pat) = input
            && let Some(span) = impl_trait(&pat.ty)
        {
            errors.at(
                span,
                "`impl Trait` parameters make the handler generic; name a concrete type",
            );
        }
    }
}

/// What a handler of this kind may return.
pub(crate) fn output(errors: &mut Errors, handler: &Handler) {
    if matches!(handler.kind, Kind::Disconnect | Kind::Disconnecting)
        && let ReturnType::Type(_, ty) = &handler.output
        && !matches!(&**ty, Type::Tuple(tuple) if tuple.elems.is_empty())
    {
        errors.at(
            ty,
            "a disconnect handler returns nothing: there is no one to answer",
        );
    }
}

/// Where a type mentions `impl Trait`, if it does.
pub(crate) fn impl_trait(ty: &Type) -> Option<proc_macro2::Span> {
    struct Finder(Option<proc_macro2::Span>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, node: &'ast syn::TypeImplTrait) {
            self.0.get_or_insert(node.span());
        }
    }
    let mut finder = Finder(None);
    finder.visit_type(ty);
    finder.0
}
