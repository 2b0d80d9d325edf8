//! Which table a model maps: diesel's `#[diesel(table_name = ...)]`, or the name diesel
//! infers from the struct's name.

use syn::punctuated::Punctuated;
use syn::{Meta, Token};

pub(crate) fn of(model: &syn::ItemStruct) -> syn::Result<syn::Path> {
    for attr in model
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("diesel"))
    {
        let metas = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
        for meta in metas {
            if let Meta::NameValue(pair) = meta
                && pair.path.is_ident("table_name")
            {
                return table_path(&pair.value);
            }
        }
    }
    Ok(inferred(&model.ident))
}

fn table_path(value: &syn::Expr) -> syn::Result<syn::Path> {
    match value {
        syn::Expr::Path(path) => Ok(path.path.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            "expected the path of a `table!` module, as in `table_name = posts`",
        )),
    }
}

/// diesel's rule: `BlogPost` maps `blog_posts`.
fn inferred(model: &syn::Ident) -> syn::Path {
    let mut snake = String::new();
    for (index, c) in model.to_string().chars().enumerate() {
        if c.is_uppercase() && index > 0 {
            snake.push('_');
        }
        snake.extend(c.to_lowercase());
    }
    snake.push('s');
    syn::Ident::new(&snake, model.span()).into()
}
