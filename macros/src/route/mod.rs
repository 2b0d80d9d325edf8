//! `#[route(read)]` / `#[route(write)]`: parse the arguments, validate the function, then
//! generate the wrapper that checks out the connection and runs the body.

mod args;
mod codegen;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => return with_error(&item, not_a_function()),
    };
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    let routed = validate::function(&function, args.as_ref(), &mut errors);
    match (errors.finish(), args, routed) {
        (Ok(()), Some(args), Some(routed)) => codegen::generate(&args, &function, &routed),
        (Err(error), ..) => {
            let function = validate::compilable_alone(function);
            with_error(&quote!(#function), error)
        }
        _ => unreachable!("validation reports an error whenever it returns nothing"),
    }
}

/// The function back, unchanged, so that the IDE keeps working, with the errors beside it.
fn with_error(item: &TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#item #error)
}

fn not_a_function() -> syn::Error {
    syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[route]` goes on an `async fn` whose first parameter is the connection, as in \
         `async fn list(conn: &mut Reader)`",
    )
}
