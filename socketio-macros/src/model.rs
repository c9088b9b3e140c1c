//! The parsed form of a handler: the syn nodes the checks and the expansion need.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, Ident, LitStr, Path, PathArguments, ReturnType, Signature, Type,
};

/// What a handler is for, decided by its event name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Connect,
    Disconnect,
    /// `disconnecting` (server only): before `disconnect`, still in the rooms.
    Disconnecting,
    /// A named event, or `*` for every event without a handler.
    Event,
}

impl Kind {
    pub(crate) fn of(event: &str) -> Kind {
        match event {
            "connect" => Kind::Connect,
            "disconnect" => Kind::Disconnect,
            "disconnecting" => Kind::Disconnecting,
            _ => Kind::Event,
        }
    }
}

/// How the return value becomes the ack, read from the written return type.
pub(crate) enum Ret {
    /// No return type, or `()`.
    Unit,
    /// One ack argument.
    Single(Type),
    /// One ack argument per element.
    Tuple(Vec<Type>),
    /// The ok value as above, or an error object.
    Result { ok: Box<Ret>, err: Type },
}

impl Ret {
    pub(crate) fn of(output: &ReturnType) -> Ret {
        match output {
            ReturnType::Default => Ret::Unit,
            ReturnType::Type(_, ty) => Ret::of_type(ty),
        }
    }

    fn of_type(ty: &Type) -> Ret {
        match ty {
            Type::Paren(inner) => Ret::of_type(&inner.elem),
            Type::Group(inner) => Ret::of_type(&inner.elem),
            Type::Tuple(tuple) if tuple.elems.is_empty() => Ret::Unit,
            Type::Tuple(tuple) => Ret::Tuple(tuple.elems.iter().cloned().collect()),
            Type::Path(path) => match result_args(&path.path) {
                Some((ok, err)) => Ret::Result {
                    ok: Box::new(Ret::of_type(ok)),
                    err: err.clone(),
                },
                None => Ret::Single(ty.clone()),
            },
            _ => Ret::Single(ty.clone()),
        }
    }
}

/// `Result<T, E>` (however qualified): its two type arguments.
fn result_args(path: &Path) -> Option<(&Type, &Type)> {
    let last = path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    match (types.next(), types.next(), types.next()) {
        (Some(ok), Some(err), None) => Some((ok, err)),
        _ => None,
    }
}

/// One handler: a free function or a method of a namespace impl block.
pub(crate) struct Handler {
    pub(crate) event: LitStr,
    pub(crate) kind: Kind,
    pub(crate) ident: Ident,
    /// The parameters after the receiver.
    pub(crate) params: Vec<Type>,
    pub(crate) ret: Ret,
    /// The written return type, for spans.
    pub(crate) output: ReturnType,
    pub(crate) guards: Vec<Path>,
}

impl Handler {
    pub(crate) fn new(event: LitStr, sig: &Signature, guards: Vec<Path>) -> Handler {
        let params = sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(pat) => Some((*pat.ty).clone()),
                FnArg::Receiver(_) => None,
            })
            .collect();
        Handler {
            kind: Kind::of(&event.value()),
            event,
            ident: sig.ident.clone(),
            params,
            ret: Ret::of(&sig.output),
            output: sig.output.clone(),
            guards,
        }
    }

    /// Where the return type is written (the function name when there is none).
    pub(crate) fn output_span(&self) -> Span {
        match &self.output {
            ReturnType::Default => self.ident.span(),
            ReturnType::Type(_, ty) => ty.span(),
        }
    }
}
