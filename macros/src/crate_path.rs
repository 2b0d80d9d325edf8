//! The path generated code uses to reach the runtime: `::diesel_route` unless the caller
//! overrides it with `crate = "..."` (for a renamed or re-exported dependency).

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

/// `#path::__private`, the only part of the runtime generated code touches.
pub(crate) fn private(crate_path: Option<&syn::Path>) -> TokenStream {
    match crate_path {
        Some(path) => quote!(#path::__private),
        None => quote!(::diesel_route::__private),
    }
}

/// Parses the string of `crate = "..."` as a path.
pub(crate) fn parse(value: &LitStr) -> syn::Result<syn::Path> {
    value.parse().map_err(|_| {
        syn::Error::new(
            value.span(),
            "`crate` takes the path of the `diesel_route` crate, such as `crate = \"my_deps::diesel_route\"`",
        )
    })
}
