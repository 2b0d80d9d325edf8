//! The impl that puts a table in a database, shared by `#[bind]` and `tables!`.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::Ident;

use crate::databases::lookup_macro;

/// `table` (the path of a `table!` module) belongs to database `key`. Spanned on `key`, so
/// that an unknown key is reported where it was written; the type named after the key
/// exists for that report only (see `databases.rs`).
pub(crate) fn impl_in_database(
    private: &TokenStream,
    key: &Ident,
    table: &syn::Path,
) -> TokenStream {
    let lookup = lookup_macro();
    let span = key.span();
    quote_spanned! {span=>
        const _: () = {
            mod __diesel_route_key {
                #[allow(non_camel_case_types, dead_code)]
                pub(super) enum #key {}
            }

            #[automatically_derived]
            impl<D> #private::InDatabase<D> for #table::table
            where
                crate::#lookup!(#key): #private::SameDatabase<D, #table::table>,
            {
            }
        };
    }
}
