//! `tables!(key: table, ...)`: puts tables in a database, one line per schema.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Token};

use crate::membership::impl_in_database;

struct Tables {
    key: Ident,
    tables: Punctuated<syn::Path, Token![,]>,
}

impl Parse for Tables {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.call(syn::ext::IdentExt::parse_any)?;
        input.parse::<Token![:]>().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected `:` after the database key, as in `tables!(default: posts, users)`",
            )
        })?;
        let tables = Punctuated::parse_terminated(input)?;
        Ok(Self { key, tables })
    }
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let Tables { key, tables } = syn::parse2(input)?;
    if tables.is_empty() {
        return Err(syn::Error::new_spanned(
            &key,
            "`tables!` needs at least one table, as in `tables!(default: posts, users)`",
        ));
    }
    let private = crate::crate_path::private(None);
    let impls = tables
        .iter()
        .map(|table| impl_in_database(&private, &key, table));
    Ok(quote!(#(#impls)*))
}
