//! The wrapper around a routed function's body.
//!
//! The connection parameter becomes a connection source (`&mut dyn ReadSource<D>`); the
//! body runs in a span, with the typed connection checked out of (or borrowed from) the
//! source, and the lease settles the call (transaction, connection health) when the body
//! is done. The body's tokens are kept as written, so that errors in it point at the user's
//! code.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{FnArg, Ident, ItemFn, ReturnType};

use super::args::{Role, RouteArgs};
use super::validate::Routed;

pub(crate) fn generate(args: &RouteArgs, function: &ItemFn, routed: &Routed) -> TokenStream {
    let private = crate::crate_path::private(args.crate_path.as_ref());
    let typed = &routed.typed;
    let database = quote!(<#typed as #private::TypedConnection>::Database);
    let ItemFn {
        attrs, vis, sig, ..
    } = function;
    let mut sig = sig.clone();
    let source = match args.role {
        Role::Read => quote!(#private::ReadSource<#database>),
        Role::Write => quote!(#private::WriteSource<#database>),
    };
    if let Some(FnArg::Typed(first)) = sig.inputs.first_mut() {
        first.ty = syn::parse_quote!(&mut (dyn #source + ::core::marker::Send));
    }
    let body = body(args, function, routed, &private, &database);
    quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    }
}

fn body(
    args: &RouteArgs,
    function: &ItemFn,
    routed: &Routed,
    private: &TokenStream,
    database: &TokenStream,
) -> TokenStream {
    let [call, span, lease, result, error, outcome] =
        ["call", "span", "lease", "result", "error", "outcome"].map(hidden);
    let conn = &routed.conn;
    let conn_type = &routed.conn_type;
    let name = function.sig.ident.to_string();
    let (role, checkout, typed) = match args.role {
        Role::Read => (quote!(Reader), quote!(read_lease), quote!(reader)),
        Role::Write => (quote!(Writer), quote!(write_lease), quote!(writer)),
    };
    let fake_return = fake_return(&function.sig.output);
    let block = &function.block;
    let begin = args.transaction.then(|| {
        quote! {
            if let ::core::result::Result::Err(#error) = #lease.begin().await {
                return #outcome.failed(#error);
            }
        }
    });
    quote! {
        let #call = #private::RouteCall::<#database>::new(#name, #private::Role::#role);
        let #span = #call.span();
        #private::Instrument::instrument(async move {
            #fake_return
            let #outcome = #private::Outcome::new();
            let mut #lease = match #call.#checkout(#conn).await {
                ::core::result::Result::Ok(#lease) => #lease,
                ::core::result::Result::Err(#error) => return #outcome.failed(#error),
            };
            #begin
            let #result = {
                let #lease = &mut #lease;
                async move {
                    #fake_return
                    let #conn: #conn_type = &mut #lease.#typed();
                    #block
                }
                .await
            };
            #lease.finish(#result, &#outcome).await
        }, #span)
        .await
    }
}

/// Names only generated code sees (`Span::mixed_site`): they cannot clash with the user's.
fn hidden(name: &str) -> Ident {
    Ident::new(&format!("__diesel_route_{name}"), Span::mixed_site())
}

/// Gives an `async` block the function's return type, so that `?` in the body knows what to
/// convert errors into (the device tracing's `#[instrument]` uses). Skipped for
/// `impl Trait` return types, which cannot be named in a `let`.
fn fake_return(output: &ReturnType) -> TokenStream {
    let ReturnType::Type(_, ty) = output else {
        return TokenStream::new();
    };
    if ty.to_token_stream().to_string().contains("impl ") {
        return TokenStream::new();
    }
    let fake = hidden("fake_return");
    quote! {
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #fake: #ty = loop {};
            return #fake;
        }
    }
}
