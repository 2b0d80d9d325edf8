//! Checks across the signature: an `async fn` (or method), a connection parameter first
//! (after `self`) whose type matches the role, a return type. Every mistake is reported, not
//! only the first.

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, ReturnType, Type};

use super::args::Role;
use crate::errors::Errors;

/// What the generator needs to know about the connection parameter.
pub(crate) struct Routed {
    /// Its index among the parameters (1 after a `self` receiver).
    pub(crate) index: usize,
    /// Its name, as the body uses it.
    pub(crate) conn: Ident,
    /// Its type as written (`&mut Reader`, `&mut Writer<analytics>`), with the lifetime
    /// spelled `'_`: the body's binding, free of the `elided_lifetimes_in_paths` lint.
    pub(crate) conn_type: Type,
    /// The written connection type without its `&mut`, with an explicit `'static` lifetime
    /// so that it can stand in the signature: `Reader<'static>`, `Writer<'static, analytics>`.
    pub(crate) typed: syn::Path,
    /// The role the written type names: `Reader` reads, `Writer` writes; `None` for another
    /// name (an alias).
    pub(crate) implied: Option<Role>,
    /// Whether the function is a method (`&self`, `&mut self`).
    pub(crate) method: bool,
}

/// The connection parameter and what the signature says, or `None` after reporting why it
/// cannot be routed. `role` is the role given, if any.
pub(crate) fn function(
    function: &ItemFn,
    role: Option<Role>,
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
    let method = receiver(function, role, errors);
    let routed = connection(function, usize::from(method), errors)?;
    Some(Routed { method, ..routed })
}

/// Whether the function takes `self`; a read method must borrow it, since its body may run
/// twice.
fn receiver(function: &ItemFn, role: Option<Role>, errors: &mut Errors) -> bool {
    let Some(FnArg::Receiver(receiver)) = function.sig.inputs.first() else {
        return false;
    };
    if receiver.reference.is_none() && role == Some(Role::Read) {
        errors.push(
            receiver,
            "a `#[route(read)]` method takes `&self` or `&mut self`: a read whose connection \
             dies runs its body again\n\
             help: borrow `self`, or make the method `#[route(write)]`",
        );
    }
    true
}

fn connection(function: &ItemFn, index: usize, errors: &mut Errors) -> Option<Routed> {
    let sig = &function.sig;
    let first = match sig.inputs.iter().nth(index) {
        Some(FnArg::Typed(first)) => first,
        _ => {
            let after_self = if index == 0 { "" } else { " after `self`" };
            errors.push_at(
                sig.paren_token.span.join(),
                format!(
                    "a routed function takes its connection as its first parameter{after_self}\n\
                     help: add `conn: &mut Reader` (for `read`) or `conn: &mut Writer` (for `write`)"
                ),
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
        index,
        conn: pattern.ident.clone(),
        conn_type: syn::parse_quote_spanned!(first.ty.span()=> &mut #anonymous),
        typed: with_lifetime(path, &syn::parse_quote!('static)),
        implied: implied_role(path),
        method: false,
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

/// `Reader` reads, `Writer` writes.
fn implied_role(path: &syn::Path) -> Option<Role> {
    let last = path.segments.last()?;
    if last.ident == "Reader" {
        Some(Role::Read)
    } else if last.ident == "Writer" {
        Some(Role::Write)
    } else {
        None
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
pub(crate) fn check_role(routed: &Routed, role: Role, errors: &mut Errors) {
    let (expected, other, fix) = match role {
        Role::Read => ("Reader", "Writer", "write"),
        Role::Write => ("Writer", "Reader", "read"),
    };
    if routed.implied.is_some_and(|implied| implied != role) {
        let Some(path) = connection_path(&routed.conn_type) else {
            return;
        };
        let Some(last) = path.segments.last() else {
            return;
        };
        errors.push(
            &last.ident,
            format!(
                "a `#[route({})]` function gets a `&mut {expected}`, not a `&mut {other}`\n\
                 help: take `&mut {expected}`, or make it `#[route({fix})]`",
                role.keyword(),
            ),
        );
    }
}

/// The parameter types a `#[route(read)]` function gets a read-only view of: connection
/// sources that could otherwise serve a write function.
pub(crate) fn source_type(ty: &Type) -> Option<SourceParam> {
    let (by_ref, elem) = match ty {
        Type::Reference(reference) if reference.mutability.is_some() => (true, &*reference.elem),
        Type::Reference(_) => return None,
        other => (false, other),
    };
    let Type::Path(path) = elem else {
        return None;
    };
    let last = path.path.segments.last()?;
    let is_source = ["Router", "Session", "RequestSession"]
        .iter()
        .any(|name| last.ident == name);
    is_source.then_some(if by_ref {
        SourceParam::Borrowed
    } else {
        SourceParam::Owned
    })
}

/// How a read function holds a connection source.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SourceParam {
    /// `router: &mut Router`.
    Borrowed,
    /// `router: Router`.
    Owned,
}

/// The function as written, for the error path: `async fn` requires the lifetime of
/// `&mut Reader` to be spelled out (`Reader<'_>`), which the generated code otherwise does.
/// Without it the function would add an error of its own to the ones reported.
pub(crate) fn compilable_alone(mut function: ItemFn) -> ItemFn {
    let Some(FnArg::Typed(first)) = function
        .sig
        .inputs
        .iter_mut()
        .find(|input| matches!(input, FnArg::Typed(_)))
    else {
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
