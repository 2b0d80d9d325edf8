//! `#[route(read)]`, `#[route(write, transaction)]`, `#[route(read, crate = "path")]`.

use proc_macro2::{Span, TokenStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Lit, Meta, Token};

use crate::errors::Errors;

const EXPECTED: &str = "expected one of `read`, `write`, `transaction`, `crate = \"...\"`";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    Read,
    Write,
}

impl Role {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

pub(crate) struct RouteArgs {
    pub(crate) role: Role,
    pub(crate) transaction: bool,
    pub(crate) crate_path: Option<syn::Path>,
}

/// What could be made of the arguments; what is wrong with them is reported in `errors`.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Parsed {
    let mut parsed = Parsed::default();
    match syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, args) {
        Ok(metas) => {
            for meta in &metas {
                parsed.add(meta, errors);
            }
        }
        Err(error) => {
            parsed.unreadable = true;
            errors.push_at(
                error.span(),
                format!("`#[route]` takes a role and options: {EXPECTED}, as in `#[route(read)]`"),
            );
        }
    }
    parsed
}

/// The arguments as far as they could be read: a role is missing when none was given (or
/// the arguments did not parse).
#[derive(Default)]
pub(crate) struct Parsed {
    pub(crate) role: Option<Role>,
    transaction: bool,
    crate_path: Option<syn::Path>,
    /// The arguments are not `name` or `name = value` items at all.
    unreadable: bool,
    /// A role was named, if wrongly (`read = true`): no need to ask for one.
    named_role: bool,
}

impl Parsed {
    fn add(&mut self, meta: &Meta, errors: &mut Errors) {
        let name = meta.path().get_ident().map(ToString::to_string);
        match (name.as_deref(), meta) {
            (Some("read"), Meta::Path(_)) => self.set_role(Role::Read, meta, errors),
            (Some("write"), Meta::Path(_)) => self.set_role(Role::Write, meta, errors),
            (Some("transaction"), Meta::Path(_)) => self.transaction = true,
            (Some("crate"), Meta::NameValue(pair)) => match &pair.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(value),
                    ..
                }) => match crate::crate_path::parse(value) {
                    Ok(path) => self.crate_path = Some(path),
                    Err(error) => errors.add(error),
                },
                other => errors.push(other, "`crate` takes a string: `crate = \"path\"`"),
            },
            (Some(name @ ("read" | "write" | "transaction")), _) => {
                self.named_role |= name != "transaction";
                errors.push(
                    meta,
                    format!("`{name}` takes no value: write `{name}` alone"),
                );
            }
            _ => errors.push(
                meta.path(),
                format!(
                    "unknown `route` argument `{}`, {EXPECTED}",
                    path_text(meta.path())
                ),
            ),
        }
    }

    fn set_role(&mut self, role: Role, meta: &Meta, errors: &mut Errors) {
        // The first role given stands: a second one is reported, not taken.
        match self.role {
            Some(earlier) if earlier != role => errors.push(
                meta,
                "a routed function is either `read` or `write`, not both\n\
                 help: a `write` function can call `read` functions with its writer",
            ),
            Some(_) => errors.push(meta, format!("`{}` is given twice", role.keyword())),
            None => self.role = Some(role),
        }
    }

    /// The arguments, with the role the function is generated with: the one its connection
    /// type implies, else the one given (so that a mistake in the arguments does not also
    /// break every call of the function).
    pub(crate) fn with_role(self, role: Role) -> RouteArgs {
        RouteArgs {
            role,
            transaction: self.transaction,
            crate_path: self.crate_path,
        }
    }

    /// Reports a missing role (when the arguments could be read, and named none).
    pub(crate) fn require_role(&self, errors: &mut Errors) {
        if self.role.is_none() && !self.unreadable && !self.named_role {
            errors.push_at(
                Span::call_site(),
                "`#[route]` needs a role: `#[route(read)]` for a function that only reads, \
                 `#[route(write)]` for one that writes",
            );
        }
    }
}

fn path_text(path: &syn::Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
}
