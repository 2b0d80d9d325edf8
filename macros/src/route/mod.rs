//! `#[route(read)]` / `#[route(write)]`: parse the arguments, validate the function, then
//! generate the wrapper that checks out the connection and runs the body.
//!
//! A mistake in the arguments (or a role that contradicts the connection type) is reported
//! at its tokens, and the function is still generated, with the role its connection type
//! implies (`Reader` reads, `Writer` writes): its callers then compile, instead of each
//! reporting an error of its own. A signature that cannot be routed is given back as
//! written, with the errors beside it.

mod args;
mod codegen;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => return with_error(&item, Some(not_a_function())),
    };
    // Mistakes after which the function can still be generated...
    let mut mistakes = Errors::default();
    let parsed = args::parse(args, &mut mistakes);
    parsed.require_role(&mut mistakes);
    // ...and those after which it cannot.
    let mut blockers = Errors::default();
    let routed = validate::function(&function, parsed.role, &mut blockers);
    let generated = match (routed, blockers.is_empty()) {
        (Some(routed), true) => {
            if let Some(given) = parsed.role {
                validate::check_role(&routed, given, &mut mistakes);
            }
            routed
                .implied
                .or(parsed.role)
                .map(|role| codegen::generate(&parsed.with_role(role), &function, &routed))
        }
        _ => None,
    };
    mistakes.combine(blockers);
    match generated {
        Some(generated) => with_error(&generated, mistakes.finish().err()),
        None => {
            let function = validate::compilable_alone(function);
            with_error(&quote!(#function), mistakes.finish().err())
        }
    }
}

/// The function (generated, or back as written so that the IDE keeps working) with the
/// errors beside it.
fn with_error(item: &TokenStream, error: Option<syn::Error>) -> TokenStream {
    let error = error.map(syn::Error::into_compile_error);
    quote!(#item #error)
}

fn not_a_function() -> syn::Error {
    syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[route]` goes on an `async fn` whose first parameter is the connection, as in \
         `async fn list(conn: &mut Reader)`",
    )
}
