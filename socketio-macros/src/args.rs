//! Attribute arguments: `("event", namespace = "/chat", guard = path, crate = "path")`.

use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, Lit, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(namespace);
    syn::custom_keyword!(guard);
    syn::custom_keyword!(client);
}

/// What `#[on(...)]` or `#[namespace(...)]` was given.
#[derive(Default)]
pub(crate) struct AttrArgs {
    /// The leading string: the event of `#[on]`, the namespace of `#[namespace]`.
    pub(crate) name: Option<LitStr>,
    /// `#[on(Line)]`: the event is a type's, through `socketio::Event` (functions only).
    pub(crate) event_type: Option<Path>,
    pub(crate) namespace: Option<LitStr>,
    pub(crate) guard: Option<Path>,
    pub(crate) krate: Option<Path>,
    /// `client`: handlers of the Socket.IO client rather than the server.
    pub(crate) client: bool,
}

/// Which keys an attribute accepts, for the "unknown key" message.
#[derive(Clone, Copy)]
pub(crate) enum Accepts {
    /// `#[socketio::on]` on a function: `namespace`, `guard`, `crate`.
    Function,
    /// `#[socketio::namespace]`: `guard`, `crate`.
    Namespace,
    /// `#[on]` on a method inside `#[socketio::namespace]`: `guard`.
    Method,
}

impl Accepts {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Accepts::Function => &["namespace", "guard", "client", "crate"],
            Accepts::Namespace => &["guard", "client", "crate"],
            Accepts::Method => &["guard"],
        }
    }
}

impl AttrArgs {
    /// Parses the arguments; `what` names the leading string for error messages.
    pub(crate) fn parse(input: ParseStream, accepts: Accepts, what: &str) -> syn::Result<AttrArgs> {
        let mut args = AttrArgs::default();
        if input.is_empty() {
            return Err(input.error(format!("expected the {what} as a string literal")));
        }
        if input.peek(LitStr) {
            args.name = Some(input.parse()?);
        } else if matches!(accepts, Accepts::Function) && starts_with_type_path(input) {
            args.event_type = Some(input.parse()?);
        } else {
            let expr: Expr = input.parse()?;
            let found = match &expr {
                Expr::Lit(lit) if !matches!(lit.lit, Lit::Str(_)) => "a literal of another type",
                Expr::Path(_) => "a name",
                _ => "an expression",
            };
            return Err(syn::Error::new(
                expr.span(),
                format!(
                    "the {what} must be a string literal{or_type}, found {found}: the registry is built at compile time",
                    or_type = if matches!(accepts, Accepts::Function) {
                        " or an event type"
                    } else {
                        ""
                    },
                ),
            ));
        }
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            args.parse_key(input, accepts)?;
        }
        Ok(args)
    }

    fn parse_key(&mut self, input: ParseStream, accepts: Accepts) -> syn::Result<()> {
        let lookahead = input.lookahead1();
        let (key, span) = if lookahead.peek(kw::namespace) {
            ("namespace", input.parse::<kw::namespace>()?.span)
        } else if lookahead.peek(kw::guard) {
            ("guard", input.parse::<kw::guard>()?.span)
        } else if lookahead.peek(kw::client) {
            ("client", input.parse::<kw::client>()?.span)
        } else if lookahead.peek(Token![crate]) {
            ("crate", input.parse::<Token![crate]>()?.span)
        } else {
            let unknown: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
            return Err(syn::Error::new(
                unknown.span(),
                format!(
                    "unknown option `{unknown}`; expected {}",
                    list(accepts.keys())
                ),
            ));
        };
        if !accepts.keys().contains(&key) {
            return Err(syn::Error::new(
                span,
                format!(
                    "`{key}` is not an option here; expected {}",
                    list(accepts.keys())
                ),
            ));
        }
        let repeated = || syn::Error::new(span, format!("`{key}` is given twice"));
        if key == "client" {
            if input.peek(Token![=]) {
                return Err(input.error("`client` is a flag: write `client` without a value"));
            }
            if std::mem::replace(&mut self.client, true) {
                return Err(repeated());
            }
            return Ok(());
        }
        input.parse::<Token![=]>()?;
        match key {
            "namespace" => {
                let value: LitStr = input.parse()?;
                if self.namespace.replace(value).is_some() {
                    return Err(repeated());
                }
            }
            "guard" => {
                let value: Path = input.parse()?;
                if self.guard.replace(value).is_some() {
                    return Err(repeated());
                }
            }
            _ => {
                let value: LitStr = input.parse()?;
                let path: Path = value.parse()?;
                if self.krate.replace(path).is_some() {
                    return Err(repeated());
                }
            }
        }
        Ok(())
    }
}

fn list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Parses `#[on(...)]` arguments on a free function.
pub(crate) struct FunctionArgs(pub(crate) AttrArgs);

impl Parse for FunctionArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        AttrArgs::parse(input, Accepts::Function, "event name").map(FunctionArgs)
    }
}

/// Parses `#[namespace(...)]` arguments.
pub(crate) struct NamespaceArgs(pub(crate) AttrArgs);

impl Parse for NamespaceArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        AttrArgs::parse(input, Accepts::Namespace, "namespace").map(NamespaceArgs)
    }
}

/// Parses `#[on(...)]` arguments on a method.
pub(crate) struct MethodArgs(pub(crate) AttrArgs);

impl Parse for MethodArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        AttrArgs::parse(input, Accepts::Method, "event name").map(MethodArgs)
    }
}

/// A path that names a type (`Line`, `chat::Line`), not a constant (`EVENT`): constants go to
/// the "must be a string literal" error, which says why.
fn starts_with_type_path(input: ParseStream) -> bool {
    let Ok(path) = input.fork().parse::<Path>() else {
        return false;
    };
    path.segments.last().is_some_and(|last| {
        let name = last.ident.to_string();
        name.chars().next().is_some_and(char::is_uppercase)
            && !name
                .chars()
                .all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '_')
    })
}
