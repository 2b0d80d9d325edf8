//! `#[bind("key")]` and `#[bind("key", crate = "path")]`.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

pub(crate) struct BindArgs {
    /// The key as an identifier, spanned on the string the user wrote.
    pub(crate) key: Ident,
    pub(crate) crate_path: Option<syn::Path>,
}

pub(crate) fn parse(args: TokenStream) -> syn::Result<BindArgs> {
    if args.is_empty() {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[bind]` needs the key of a database, as in `#[bind(\"analytics\")]`",
        ));
    }
    syn::parse2(args)
}

impl Parse for BindArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = key(&input.parse::<LitStr>().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the key of a database as a string, as in `#[bind(\"analytics\")]`",
            )
        })?)?;
        let mut crate_path = None;
        while input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            input.parse::<Token![crate]>().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "unknown `bind` argument, expected `crate = \"...\"`",
                )
            })?;
            input.parse::<Token![=]>()?;
            crate_path = Some(crate::crate_path::parse(&input.parse()?)?);
        }
        Ok(Self { key, crate_path })
    }
}

/// Keys are identifiers: `databases!` declares them as such.
fn key(literal: &LitStr) -> syn::Result<Ident> {
    let value = literal.value();
    let valid = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(syn::Error::new(
            literal.span(),
            format!(
                "`{value}` is not a database key: keys are identifiers, as declared in `databases!`"
            ),
        ));
    }
    Ok(Ident::new(&value, literal.span()))
}
