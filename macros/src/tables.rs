//! `tables!(key: table, ...)`: puts tables in a database, one line per schema.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Token};

use crate::membership::impl_in_database;

struct Tables {
    crate_path: Option<syn::Path>,
    key: Ident,
    tables: Punctuated<syn::Path, Token![,]>,
}

impl Parse for Tables {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let crate_path = crate::crate_path::parse_leading(input)?;
        let key = input.call(syn::ext::IdentExt::parse_any).map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the key of a database, as in `tables!(default: posts, users)`",
            )
        })?;
        input.parse::<Token![:]>().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected `:` after the database key, as in `tables!(default: posts, users)`",
            )
        })?;
        let tables = Punctuated::parse_terminated(input).map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the paths of `table!` modules, separated by commas, as in \
                 `tables!(default: posts, schema::users)`",
            )
        })?;
        Ok(Self {
            crate_path,
            key,
            tables,
        })
    }
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let Tables {
        crate_path,
        key,
        tables,
    } = syn::parse2(input)?;
    if tables.is_empty() {
        return Err(syn::Error::new_spanned(
            &key,
            "`tables!` needs at least one table, as in `tables!(default: posts, users)`",
        ));
    }
    let private = crate::crate_path::private(crate_path.as_ref());
    let impls = tables
        .iter()
        .map(|table| impl_in_database(&private, &key, table));
    Ok(quote!(#(#impls)*))
}
