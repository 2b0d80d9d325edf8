//! The wrapper around a routed function's body.
//!
//! The connection parameter becomes a connection source (`&mut dyn ReadSource<D>`); the
//! body runs in a span, with the typed connection checked out of (or borrowed from) the
//! source, and the lease settles the call (transaction, connection health) when the body is
//! done. A read whose connection died runs again on a new connection, once, when its
//! arguments can be given again. The body's tokens are kept as written, so that errors in
//! it point at the user's code.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, Pat, PatIdent, ReturnType};

use super::args::{Role, RouteArgs};
use super::validate::{Routed, SourceParam, source_type};

/// What the generated body refers to.
struct Parts<'a> {
    args: &'a RouteArgs,
    function: &'a ItemFn,
    routed: &'a Routed,
    private: TokenStream,
    database: TokenStream,
}

pub(crate) fn generate(args: &RouteArgs, function: &ItemFn, routed: &Routed) -> TokenStream {
    let private = crate::crate_path::private(args.crate_path.as_ref());
    let typed = &routed.typed;
    let database = quote_spanned!(typed.span()=> <#typed as #private::TypedConnection>::Database);
    let parts = Parts {
        args,
        function,
        routed,
        private,
        database,
    };
    let ItemFn { attrs, vis, .. } = function;
    let (sig, kept) = signature(&parts);
    let body = match args.role {
        Role::Read => read_body(&parts, &kept),
        Role::Write => write_body(&parts),
    };
    let span_and_call = call(&parts, &body);
    quote! {
        #(#attrs)*
        #vis #sig {
            #span_and_call
        }
    }
}

/// The signature with the connection parameter made a source. For a read function, each
/// other parameter is kept in an `Arg` so that the body can run again; patterns other than
/// a plain name get a name of their own in the signature.
fn signature(parts: &Parts<'_>) -> (syn::Signature, Vec<Kept>) {
    let Parts {
        private, database, ..
    } = parts;
    let mut sig = parts.function.sig.clone();
    let source = match parts.args.role {
        Role::Read => quote!(#private::ReadSource<#database>),
        Role::Write => quote!(#private::WriteSource<#database>),
    };
    let mut kept = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        let FnArg::Typed(param) = input else { continue };
        if index == parts.routed.index {
            let span = param.ty.span();
            param.ty = syn::parse_quote_spanned!(span=> &mut (dyn #source + ::core::marker::Send));
        } else if parts.args.role == Role::Read {
            kept.push(Kept::take(param, index));
        }
    }
    (sig, kept)
}

/// A read function's parameter, kept across attempts.
struct Kept {
    /// The binding the body sees, as written (`name`, `mut name`, `(a, b)`).
    pattern: Pat,
    /// The parameter's name in the signature.
    name: Ident,
    /// The `Arg` holding it.
    holder: Ident,
    /// A router or session: the body sees a read-only view of it.
    source: Option<SourceParam>,
}

impl Kept {
    /// Takes `param`'s pattern, leaving a plain name in the signature.
    fn take(param: &mut syn::PatType, index: usize) -> Self {
        let pattern = (*param.pat).clone();
        let name = match &pattern {
            Pat::Ident(PatIdent {
                ident,
                by_ref: None,
                subpat: None,
                ..
            }) => ident.clone(),
            _ => hidden(&format!("param{index}")),
        };
        *param.pat = syn::parse_quote!(#name);
        let source = match &pattern {
            Pat::Ident(PatIdent {
                by_ref: None,
                subpat: None,
                ..
            }) => source_type(&param.ty),
            _ => None,
        };
        Self {
            pattern,
            name,
            holder: hidden(&format!("arg{index}")),
            source,
        }
    }

    /// The binding of one attempt: the argument given again, and, for a router or session,
    /// its read-only view under the parameter's name, so that passing it to a write
    /// function does not compile.
    fn bind(&self, private: &TokenStream) -> TokenStream {
        let Self {
            pattern, holder, ..
        } = self;
        let given = quote! {
            let ::core::option::Option::Some(#pattern) = (&#holder).next() else {
                ::core::unreachable!("an argument that cannot be given again is never retried")
            };
        };
        let Pat::Ident(PatIdent { ident, .. }) = pattern else {
            return given;
        };
        let source = hidden(&format!("source_{ident}"));
        let view = match self.source {
            None => return given,
            Some(SourceParam::Borrowed) => quote! {
                let mut #source = #private::ReadsOnly::new(#ident);
                let #ident = &mut #source;
            },
            Some(SourceParam::Owned) => quote! {
                let mut #source = #ident;
                #[allow(unused_mut)]
                let mut #ident = #private::ReadsOnly::new(&mut #source);
            },
        };
        quote!(#given #view)
    }
}

/// The call: its span, the `Outcome` of its return type, then the attempts.
fn call(parts: &Parts<'_>, body: &TokenStream) -> TokenStream {
    let Parts {
        private, database, ..
    } = parts;
    let [call, span, outcome, settling] = ["call", "span", "outcome", "settling"].map(hidden);
    let name = parts.function.sig.ident.to_string();
    let conn = &parts.routed.conn;
    let open = match parts.args.role {
        Role::Read => quote!(read),
        Role::Write => quote!(write),
    };
    let new_outcome = new_outcome(private, &parts.function.sig.output);
    quote! {
        let #call = #private::RouteCall::<#database>::#open(#name, &*#conn);
        let #span = #call.span();
        let #outcome = #new_outcome;
        let #settling = #private::Outcome::<#private::Settled>::new();
        #body
    }
}

/// The call's `Outcome`, which requires the return type to be a `Result` whose error takes
/// a `diesel_route::Error`; spanned on the return type, where a wrong one is reported.
fn new_outcome(private: &TokenStream, output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Type(_, ty) if !ty.to_token_stream().to_string().contains("impl ") => {
            quote_spanned!(ty.span()=> <#ty as #private::RouteReturn>::outcome())
        }
        _ => quote!(<_ as #private::RouteReturn>::outcome()),
    }
}

/// Checks the writer out, runs the body once, settles; all within the call's deadline.
fn write_body(parts: &Parts<'_>) -> TokenStream {
    let [call, span, outcome, settling, result, attempt_future] = [
        "call",
        "span",
        "outcome",
        "settling",
        "result",
        "attempt_future",
    ]
    .map(hidden);
    let private = &parts.private;
    let attempt = attempt(
        parts,
        &quote!(write_lease),
        &quote!(writer),
        &TokenStream::new(),
    );
    quote! {
        let mut #result = ::core::option::Option::None;
        let #attempt_future = {
            let #attempt_future = #attempt;
            let #attempt_future = ::core::pin::pin!(#attempt_future);
            let #attempt_future: ::core::pin::Pin<
                &mut (dyn ::core::future::Future<Output = #private::Settled> + ::core::marker::Send),
            > = #attempt_future;
            #call
                .attempt_write(&#settling, #private::Instrument::instrument(#attempt_future, #span))
                .await
        };
        #outcome.resolve(#attempt_future, #result)
    }
}

/// Checks a reader out and runs the body, within the call's deadline; runs it again on a new
/// connection, once, when the first one died or missed the deadline and every argument can
/// be given again.
fn read_body(parts: &Parts<'_>, kept: &[Kept]) -> TokenStream {
    let [
        call,
        span,
        outcome,
        settling,
        result,
        attempt_number,
        repeatable,
        may_retry,
        finished,
        attempt_future,
    ] = [
        "call",
        "span",
        "outcome",
        "settling",
        "result",
        "attempt",
        "repeatable",
        "may_retry",
        "finished",
        "attempt_future",
    ]
    .map(hidden);
    let private = &parts.private;
    let holders = kept.iter().map(|kept| {
        let Kept { name, holder, .. } = kept;
        quote!(let #holder = #private::Arg::new(#name);)
    });
    let bindings = kept.iter().map(|kept| kept.bind(private));
    let repeatable_args = kept.iter().map(|kept| {
        let holder = &kept.holder;
        quote!(&& (&#holder).repeatable())
    });
    let attempt = attempt(
        parts,
        &quote!(read_lease),
        &quote!(reader),
        &quote!(#private::Finished::Done),
    );
    quote! {
        #[allow(unused_imports)]
        use #private::{ArgClone as _, ArgOnce as _};
        #(#holders)*
        let #repeatable = true #(#repeatable_args)*;
        let mut #attempt_number = 0_u32;
        loop {
            #attempt_number += 1;
            let #may_retry = #repeatable && #attempt_number == 1;
            #(#bindings)*
            let mut #result = ::core::option::Option::None;
            let #finished = {
                let #attempt_future = #attempt;
                let #attempt_future = ::core::pin::pin!(#attempt_future);
                let #attempt_future: ::core::pin::Pin<
                    &mut (dyn ::core::future::Future<Output = #private::Finished<#private::Settled>>
                        + ::core::marker::Send),
                > = #attempt_future;
                #call
                    .attempt_read(
                        &#settling,
                        #may_retry,
                        #private::Instrument::instrument(#attempt_future, #span.clone()),
                    )
                    .await
            };
            match #finished {
                #private::Finished::Done(#finished) => {
                    break #outcome.resolve(#finished, #result);
                }
                #private::Finished::Retry => continue,
            }
        }
    }
}

/// One attempt of the call: checks the connection out, runs the body, settles the lease;
/// the body's own result goes to `result` once the lease has settled it. A future of one
/// type for every routed function (pinned in the function's frame, used behind `dyn`), so
/// that what wraps it (the deadline, the span, the lease's code) is compiled once, not once
/// per function. `done` wraps what it settles (`Finished::Done` for a read).
fn attempt(
    parts: &Parts<'_>,
    lease_of: &TokenStream,
    typed: &TokenStream,
    done: &TokenStream,
) -> TokenStream {
    let [
        call,
        lease,
        error,
        outcome,
        settling,
        settled,
        result,
        body,
        succeeded,
        may_retry,
    ] = [
        "call",
        "lease",
        "error",
        "outcome",
        "settling",
        "settled",
        "result",
        "body",
        "succeeded",
        "may_retry",
    ]
    .map(hidden);
    let private = &parts.private;
    let conn = &parts.routed.conn;
    let transaction = parts.args.transaction;
    let run = run_body(parts, typed);
    let retry = match parts.args.role {
        Role::Read => quote!(, #may_retry),
        Role::Write => TokenStream::new(),
    };
    quote! {
        async {
            let mut #lease = match #call.#lease_of(&mut *#conn).await {
                ::core::result::Result::Ok(#lease) => #lease,
                ::core::result::Result::Err(#error) => {
                    #result = ::core::option::Option::Some(#outcome.failed(#error));
                    return #done(#private::settled(false));
                }
            };
            let #body = match #lease.start(#transaction).await {
                ::core::result::Result::Ok(()) => #run,
                ::core::result::Result::Err(#error) => #outcome.failed(#error),
            };
            let #succeeded = #outcome.succeeded(&#body);
            let #settled = #lease.finish(#private::settled(#succeeded), &#settling #retry).await;
            #result = ::core::option::Option::Some(#body);
            #settled
        }
    }
}

/// The user's body, in an `async` block of its own so that its `return`s end the body, not
/// the call (whose lease must still be settled).
fn run_body(parts: &Parts<'_>, typed: &TokenStream) -> TokenStream {
    let lease = hidden("lease");
    let conn = &parts.routed.conn;
    let conn_type = &parts.routed.conn_type;
    let fake_return = fake_return(&parts.function.sig.output);
    let block = &parts.function.block;
    // A method's body borrows `self` again on each attempt: an `async move` block would
    // move a `&mut self` into the first.
    let capture = (!parts.routed.method).then(|| quote!(move));
    quote! {
        {
            let #lease = &mut #lease;
            async #capture {
                #fake_return
                let #conn: #conn_type = &mut #lease.#typed();
                #block
            }
            .await
        }
    }
}

/// Names only generated code sees (`Span::mixed_site`): they cannot clash with the user's.
fn hidden(name: &str) -> Ident {
    format_ident!("__diesel_route_{}", name, span = Span::mixed_site())
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
