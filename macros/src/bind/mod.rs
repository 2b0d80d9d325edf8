//! `#[bind("key")]` on a model: puts the model's table in database `key`.

mod args;
mod table;

use proc_macro2::TokenStream;
use quote::quote;

use self::args::BindArgs;
use crate::membership::impl_in_database;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let model = match syn::parse2::<syn::ItemStruct>(item.clone()) {
        Ok(model) => model,
        Err(_) => return with_error(item, not_a_struct()),
    };
    match args::parse(args).and_then(|args| generate(&args, &model)) {
        Ok(impls) => quote!(#model #impls),
        Err(error) => with_error(quote!(#model), error),
    }
}

fn generate(args: &BindArgs, model: &syn::ItemStruct) -> syn::Result<TokenStream> {
    let table = table::of(model)?;
    let private = crate::crate_path::private(args.crate_path.as_ref());
    Ok(impl_in_database(&private, &args.key, &table))
}

/// The item back, so the IDE keeps working, with the error beside it.
fn with_error(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#item #error)
}

fn not_a_struct() -> syn::Error {
    syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[bind]` goes on a model struct, the one with `#[diesel(table_name = ...)]`",
    )
}
