//! `databases!`: declares the databases of a crate, once, at its root.
//!
//! Generates a marker type per database (named after its key, so that compile errors name
//! the database as the user wrote it), the `Databases` catalog for the router, the
//! `Reader`/`Writer` aliases defaulting to `default`, and a lookup macro through which
//! `#[bind]` and `tables!` resolve keys, failing with the list of declared keys.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token};

use crate::errors::Errors;

const BACKENDS: &str = "`postgres`, `mysql` or `sqlite`";

/// The name of the macro that maps a key to its marker type.
pub(crate) fn lookup_macro() -> Ident {
    Ident::new("__diesel_route_database", Span::call_site())
}

struct Entry {
    attrs: Vec<Attribute>,
    key: Ident,
    backend: Ident,
}

struct Declaration {
    crate_path: Option<syn::Path>,
    entries: Punctuated<Entry, Token![,]>,
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let key = input.call(syn::ext::IdentExt::parse_any)?;
        input.parse::<Token![:]>().map_err(|error| {
            syn::Error::new(
                error.span(),
                format!("expected `:` after `{key}`, as in `{key}: postgres`"),
            )
        })?;
        let backend = input.parse().map_err(|error: syn::Error| {
            syn::Error::new(
                error.span(),
                format!("expected a backend after `{key}:`, one of {BACKENDS}"),
            )
        })?;
        Ok(Self {
            attrs,
            key,
            backend,
        })
    }
}

impl Parse for Declaration {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(Self {
            crate_path: crate::crate_path::parse_leading(input)?,
            entries: Punctuated::parse_terminated(input)?,
        })
    }
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let declaration: Declaration = syn::parse2(input)?;
    validate(&declaration)?;
    Ok(generate(&declaration))
}

fn validate(declaration: &Declaration) -> syn::Result<()> {
    let mut errors = Errors::default();
    let entries: Vec<&Entry> = declaration.entries.iter().collect();
    for (index, entry) in entries.iter().enumerate() {
        if !matches!(
            entry.backend.to_string().as_str(),
            "postgres" | "mysql" | "sqlite"
        ) {
            errors.push(
                &entry.backend,
                format!("unknown backend `{}`, expected {BACKENDS}", entry.backend),
            );
        }
        if entries[..index]
            .iter()
            .any(|earlier| earlier.key == entry.key)
        {
            errors.push(
                &entry.key,
                format!("database `{}` is declared twice", entry.key),
            );
        }
    }
    if !entries.iter().any(|entry| entry.key == "default") {
        errors.push_at(
            Span::call_site(),
            "`databases!` must declare the `default` database, which holds every table not \
             bound elsewhere\n\
             help: start with `default: postgres` (or `mysql`, `sqlite`)",
        );
    }
    errors.finish()
}

fn generate(declaration: &Declaration) -> TokenStream {
    let root = crate::crate_path::root(declaration.crate_path.as_ref());
    let private = crate::crate_path::private(declaration.crate_path.as_ref());
    let markers = declaration
        .entries
        .iter()
        .map(|entry| marker(entry, &root, &private));
    let keys: Vec<&Ident> = declaration.entries.iter().map(|entry| &entry.key).collect();
    let catalog = catalog(&keys, &private);
    let lookup = lookup(&keys);
    quote! {
        #(#markers)*
        #catalog
        #lookup
    }
}

fn marker(entry: &Entry, root: &TokenStream, private: &TokenStream) -> TokenStream {
    let Entry {
        attrs,
        key,
        backend,
    } = entry;
    let key_str = key.to_string();
    let backend_macro = format_ident!("__diesel_route_backend_{}", backend);
    // A macro per backend, at the runtime's root: it names the connection type, or says
    // which cargo feature is off. (It cannot be reached through `__private`: rustc does not
    // let a `#[macro_export]` macro made by another macro be re-exported by path.)
    let connection = quote_spanned!(backend.span()=> #root::#backend_macro!());
    let doc = format!("The `{key_str}` database ({backend}).");
    let doc = match attrs.iter().any(|attr| attr.path().is_ident("doc")) {
        true => quote!(),
        false => quote!(#[doc = #doc]),
    };
    quote! {
        #(#attrs)*
        #doc
        #[allow(non_camel_case_types, dead_code)]
        pub enum #key {}

        impl #private::Database for #key {
            const KEY: &'static str = #key_str;
            type Connection = #connection;
        }
    }
}

fn catalog(keys: &[&Ident], private: &TokenStream) -> TokenStream {
    quote! {
        /// The databases declared by `databases!`: give it to `Router::builder` or
        /// `Router::from_env`.
        #[derive(Debug, Clone, Copy, Default)]
        #[allow(dead_code)]
        pub struct Databases;

        impl #private::Catalog for Databases {
            fn databases() -> ::std::vec::Vec<#private::Declared> {
                ::std::vec![#(#private::Declared::of::<#keys>()),*]
            }
        }

        /// A read-only connection to database `D` (`default` unless named).
        #[allow(dead_code)]
        pub type Reader<'c, D = default> = #private::Reader<'c, D>;

        /// A read-write connection to database `D`'s primary (`default` unless named).
        #[allow(dead_code)]
        pub type Writer<'c, D = default> = #private::Writer<'c, D>;
    }
}

/// `__diesel_route_database!(key)` expands to the marker type of `key`.
///
/// For an undeclared key it expands to a type whose bound fails with a message naming the
/// key and listing the declared ones. The caller defines a type named after the key in
/// `__diesel_route_key` (see `membership.rs`), so that the message can print it.
fn lookup(keys: &[&Ident]) -> TokenStream {
    let name = lookup_macro();
    let unknown = format_ident!("__unknown");
    let declared = keys
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let note = format!("`databases!` declares {declared}");
    quote! {
        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #name {
            #( (#keys) => { $crate::#keys }; )*
            ($#unknown:ident) => {
                crate::__DieselRouteUnknownDatabase<__diesel_route_key::$#unknown>
            };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #name;

        #[doc(hidden)]
        #[diagnostic::on_unimplemented(
            message = "unknown database `{Self}`",
            label = "this database is not declared",
            note = #note,
            note = "declare it in `databases!`, or use one of these keys"
        )]
        pub trait __DieselRouteDeclared {}
        #( impl __DieselRouteDeclared for #keys {} )*

        #[doc(hidden)]
        #[allow(dead_code)]
        pub struct __DieselRouteUnknownDatabase<K: __DieselRouteDeclared>(
            ::core::marker::PhantomData<K>,
        );
    }
}
