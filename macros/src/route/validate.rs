//! Checks across the signature: an `async fn`, a connection parameter first whose type
//! matches the role, a return type. Every mistake is reported, not only the first.

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, ReturnType, Type};

use super::args::{Role, RouteArgs};
use crate::errors::Errors;

/// What the generator needs to know about the connection parameter.
pub(crate) struct Routed {
    /// Its name, as the body uses it.
    pub(crate) conn: Ident,
    /// Its type as written (`&mut Reader`, `&mut Writer<analytics>`), with the lifetime
    /// spelled `'_`: the body's binding, free of the `elided_lifetimes_in_paths` lint.
    pub(crate) conn_type: Type,
    /// The written connection type without its `&mut`, with an explicit `'static` lifetime
    /// so that it can stand in the signature: `Reader<'static>`, `Writer<'static, analytics>`.
    pub(crate) typed: syn::Path,
}

pub(crate) fn function(
    function: &ItemFn,
    args: Option<&RouteArgs>,
    errors: &mut Errors,
) -> Option<Routed> {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(
            sig.fn_token,
            "`#[route]` functions must be `async`: they wait for a pooled connection\n\
             help: write `async fn`",
        );
    }
    if matches!(sig.output, ReturnType::Default) {
        errors.push_at(
            sig.paren_token.span.close(),
            "a routed function must return a `Result`: checking out a connection can fail\n\
             help: add a return type such as `-> diesel_route::Result<T>`",
        );
    }
    let routed = connection(function, errors)?;
    if let Some(args) = args {
        check_role(&routed.conn_type, args.role, errors);
    }
    Some(routed)
}

fn connection(function: &ItemFn, errors: &mut Errors) -> Option<Routed> {
    let sig = &function.sig;
    let first = match sig.inputs.first() {
        Some(FnArg::Typed(first)) => first,
        Some(FnArg::Receiver(receiver)) => {
            errors.push(
                receiver,
                "`#[route]` does not go on methods: the first parameter must be the connection\n\
                 help: take `conn: &mut Reader` (or `&mut Writer`) first, and `self` not at all",
            );
            return None;
        }
        None => {
            errors.push_at(
                sig.paren_token.span.join(),
                "a routed function takes its connection as its first parameter\n\
                 help: add `conn: &mut Reader` (for `read`) or `conn: &mut Writer` (for `write`)",
            );
            return None;
        }
    };
    let Pat::Ident(pattern) = &*first.pat else {
        errors.push(
            &first.pat,
            "name the connection parameter, as in `conn: &mut Reader`",
        );
        return None;
    };
    let Some(path) = connection_path(&first.ty) else {
        errors.push(
            &first.ty,
            "the first parameter of a routed function is its connection: `&mut Reader` or \
             `&mut Writer` (`&mut Reader<analytics>` for another database)",
        );
        return None;
    };
    let anonymous = with_lifetime(path, &syn::parse_quote!('_));
    Some(Routed {
        conn: pattern.ident.clone(),
        conn_type: syn::parse_quote_spanned!(first.ty.span()=> &mut #anonymous),
        typed: with_lifetime(path, &syn::parse_quote!('static)),
    })
}

/// The path of `&mut Path`, the only shape a connection parameter has.
fn connection_path(ty: &Type) -> Option<&syn::Path> {
    let Type::Reference(reference) = ty else {
        return None;
    };
    match (&reference.mutability, &*reference.elem) {
        (Some(_), Type::Path(path)) if path.qself.is_none() => Some(&path.path),
        _ => None,
    }
}

/// With `'static`, `Reader` becomes `Reader<'static>` and `Reader<'_, analytics>` becomes
/// `Reader<'static, analytics>`.
fn with_lifetime(path: &syn::Path, lifetime: &syn::Lifetime) -> syn::Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        let types = match &last.arguments {
            PathArguments::AngleBracketed(args) => args
                .args
                .iter()
                .filter(|arg| !matches!(arg, GenericArgument::Lifetime(_)))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        last.arguments = PathArguments::AngleBracketed(syn::parse_quote!(<#lifetime, #(#types),*>));
    }
    path
}

/// A `read` function gets a `Reader`, a `write` function a `Writer`. Other names (aliases)
/// are left to the type checker.
fn check_role(conn_type: &Type, role: Role, errors: &mut Errors) {
    let Some(path) = connection_path(conn_type) else {
        return;
    };
    let Some(last) = path.segments.last() else {
        return;
    };
    let (expected, other) = match role {
        Role::Read => ("Reader", "Writer"),
        Role::Write => ("Writer", "Reader"),
    };
    if last.ident == other {
        errors.push(
            &last.ident,
            format!(
                "a `#[route({})]` function gets a `&mut {expected}`, not a `&mut {other}`\n\
                 help: take `&mut {expected}`, or make it `#[route({})]`",
                role.keyword(),
                match role {
                    Role::Read => "write",
                    Role::Write => "read",
                }
            ),
        );
    }
}

/// The function as written, for the error path: `async fn` requires the lifetime of
/// `&mut Reader` to be spelled out (`Reader<'_>`), which the generated code otherwise does.
/// Without it the function would add an error of its own to the ones reported.
pub(crate) fn compilable_alone(mut function: ItemFn) -> ItemFn {
    let Some(FnArg::Typed(first)) = function.sig.inputs.first_mut() else {
        return function;
    };
    let Type::Reference(reference) = &mut *first.ty else {
        return function;
    };
    let Type::Path(path) = &mut *reference.elem else {
        return function;
    };
    let Some(last) = path.path.segments.last_mut() else {
        return function;
    };
    if last.ident != "Reader" && last.ident != "Writer" {
        return function;
    }
    match &mut last.arguments {
        PathArguments::None => {
            last.arguments = PathArguments::AngleBracketed(syn::parse_quote!(<'_>))
        }
        PathArguments::AngleBracketed(args)
            if !args
                .args
                .iter()
                .any(|arg| matches!(arg, GenericArgument::Lifetime(_))) =>
        {
            args.args.insert(0, syn::parse_quote!('_));
        }
        _ => {}
    }
    function
}
