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

/// `path`: `::diesel_route` unless overridden.
pub(crate) fn root(crate_path: Option<&syn::Path>) -> TokenStream {
    match crate_path {
        Some(path) => quote!(#path),
        None => quote!(::diesel_route),
    }
}

/// An optional leading `crate = "path";`, as `databases!` and `tables!` take it.
pub(crate) fn parse_leading(input: syn::parse::ParseStream<'_>) -> syn::Result<Option<syn::Path>> {
    if !(input.peek(syn::Token![crate]) && input.peek2(syn::Token![=])) {
        return Ok(None);
    }
    input.parse::<syn::Token![crate]>()?;
    input.parse::<syn::Token![=]>()?;
    let value: LitStr = input.parse().map_err(|error| {
        syn::Error::new(error.span(), "`crate` takes a string: `crate = \"path\";`")
    })?;
    let path = parse(&value)?;
    input.parse::<syn::Token![;]>().map_err(|error| {
        syn::Error::new(
            error.span(),
            "expected `;` after `crate = \"...\"`, then the rest of the macro's input",
        )
    })?;
    Ok(Some(path))
}
