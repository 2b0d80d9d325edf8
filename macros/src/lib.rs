//! Procedural macros of [diesel-route](https://docs.rs/diesel-route). Depend on
//! `diesel-route`, which re-exports them; this crate is pinned to it and has no API of its
//! own.

mod bind;
mod crate_path;
mod databases;
mod errors;
#[cfg(test)]
mod expansions;
mod membership;
mod route;
mod tables;

use proc_macro::TokenStream;

/// Declares the databases of a crate and their backends. Call it once, at the root of the
/// crate (`main.rs` or `lib.rs`).
///
/// ```
/// diesel_route::databases! {
///     /// Posts and users.
///     default: sqlite,
///     /// Page views, in a database of their own.
///     analytics: sqlite,
/// }
/// # fn main() {}
/// ```
///
/// Each entry is `key: backend`, the backend one of `postgres`, `mysql`, `sqlite` (each
/// behind the cargo feature of the same name). `default` is required: it holds every table
/// not bound elsewhere. When `diesel_route` is renamed or re-exported, say where it is
/// first: `crate = "deps::diesel_route";`.
///
/// It generates, at the crate root:
///
/// - a type per database, named after its key (`default`, `analytics`), so that
///   `Reader<analytics>` names the reader of `analytics` and compile errors name the
///   database as written here;
/// - `Reader<'c, D = default>` and `Writer<'c, D = default>`, the connection types routed
///   functions take;
/// - `Databases`, to give to [`Router::builder`] or [`Router::from_env`];
/// - the lookup through which `#[bind("key")]` and [`tables!`] find a database, or fail to
///   compile naming the declared ones.
///
/// [`Router::builder`]: https://docs.rs/diesel-route/latest/diesel_route/struct.Router.html
/// [`Router::from_env`]: https://docs.rs/diesel-route/latest/diesel_route/struct.Router.html
#[proc_macro]
pub fn databases(input: TokenStream) -> TokenStream {
    databases::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Routes an `async fn` to a reader or a writer of its database.
///
/// ```
/// # use diesel_route::prelude::*;
/// # diesel_route::databases! { default: sqlite, analytics: sqlite }
/// # diesel::table! { posts (id) { id -> Integer, title -> Text } }
/// # diesel::table! { views (id) { id -> Integer, post_id -> Integer } }
/// # diesel_route::tables!(default: posts);
/// # diesel_route::tables!(analytics: views);
/// # fn main() {}
/// /// A random healthy replica of `default` runs it.
/// #[route(read)]
/// async fn titles(conn: &mut Reader, limit: i64) -> diesel_route::Result<Vec<String>> {
///     Ok(posts::table.select(posts::title).limit(limit).load(conn).await?)
/// }
///
/// /// The primary of `analytics` runs it, in a transaction.
/// #[route(write, transaction)]
/// async fn record_view(conn: &mut Writer<analytics>, post: i32) -> diesel_route::Result<()> {
///     diesel::insert_into(views::table)
///         .values(views::post_id.eq(post))
///         .execute(conn)
///         .await?;
///     Ok(())
/// }
/// ```
///
/// # The connection parameter
///
/// The first parameter (after `&self` or `&mut self` in a method) is the connection the
/// body uses: `&mut Reader` in a `read` function, `&mut Writer` in a `write` function,
/// `Reader<analytics>` / `Writer<analytics>` for a database other than `default`. Callers
/// pass a *source* in its place:
///
/// - `&mut router` (a [`Router`]): the call checks out a connection and returns it at the
///   end; a read call stays on one replica for its whole body;
/// - the `conn` of another routed function of the same database: the call shares that
///   connection. A write function can call read functions (they see its uncommitted
///   writes); a read function calling a write function does not compile.
///
/// A read function may take a `Router`, `Session` or `RequestSession` among its other
/// parameters (to call read functions of another database): its body sees a
/// read-only view of it (`diesel_route::ReadsOnly`), so that passing it to a write function
/// does not compile either. A read may run twice, and its writes with it. A write function
/// called while a read function runs, through a source the macro cannot see (a router in a
/// global), fails when it starts, before any SQL is sent, naming both functions.
///
/// Routed functions may be generic, and methods; a read method borrows `self`.
///
/// # Arguments
///
/// - `read` or `write` (one of them is required);
/// - `transaction`: the body runs in a transaction, committed when it returns `Ok`, rolled
///   back when it returns `Err` (a savepoint when the caller's connection is in a
///   transaction already);
/// - `crate = "path"`: where to find `diesel_route`, when it is renamed or re-exported.
///
/// The function must return `Result<T, E>` with `E: From<diesel_route::Error>`, since
/// checking out a connection can fail; `diesel_route::Result<T>` is the usual choice (diesel's
/// `QueryResult<T>` works too).
///
/// A mistake in the arguments is reported at the argument, and the function is generated
/// anyway, with the role its connection type names (`Reader` reads, `Writer` writes), so
/// that its callers do not each report an error of their own.
///
/// # Retries
///
/// A read call that checked out its own connection (it was given the router) and lost it
/// (the server went away, restarted, was killed) runs once more, from the start, on another
/// server. Its arguments are given again as clones, so a read function with an argument that
/// is not `Clone` is not retried. Reads are safe to run twice: they cannot write. Keep other
/// side effects out of read functions. Writes are never retried.
///
/// Each call runs in a `tracing` span named `route`, with the function, database, role and
/// server.
///
/// [`Router`]: https://docs.rs/diesel-route/latest/diesel_route/struct.Router.html
#[proc_macro_attribute]
pub fn route(args: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(args.into(), item.into()).into()
}

/// Puts a model's table in another database.
///
/// ```
/// # use diesel_route::prelude::*;
/// # diesel_route::databases! { default: sqlite, analytics: sqlite }
/// # fn main() {}
/// diesel::table! {
///     page_views (id) {
///         id -> Integer,
///         path -> Text,
///     }
/// }
///
/// #[derive(Queryable, Selectable)]
/// #[diesel(table_name = page_views)]
/// #[bind("analytics")]
/// struct PageView {
///     id: i32,
///     path: String,
/// }
/// ```
///
/// The table is then queried through `Reader<analytics>` and `Writer<analytics>` only;
/// through a connection of another database it does not compile, and the error names both
/// databases. A key that `databases!` does not declare does not compile either.
///
/// The table comes from `#[diesel(table_name = ...)]`, or from the struct's name as diesel
/// infers it. Bind each table once: on one of its models, or with [`tables!`].
#[proc_macro_attribute]
pub fn bind(args: TokenStream, item: TokenStream) -> TokenStream {
    bind::expand(args.into(), item.into()).into()
}

/// Puts tables in a database: `tables!(default: posts, users, comments);`.
///
/// Every table a routed function queries must belong to a database, so that the database
/// check can be made when the program is compiled. Write one `tables!` line per schema,
/// next to the schema module, listing its tables (the list diesel's CLI writes in
/// `allow_tables_to_appear_in_same_query!`); a table in no list fails to compile when
/// queried, with a message saying so.
///
/// ```
/// # diesel_route::databases! { default: sqlite }
/// # fn main() {}
/// mod schema {
///     diesel::table! { posts (id) { id -> Integer } }
///     diesel::table! { users (id) { id -> Integer } }
/// }
/// diesel_route::tables!(default: schema::posts, schema::users);
/// ```
///
/// When `diesel_route` is renamed or re-exported, say where it is first:
/// `tables!(crate = "deps::diesel_route"; default: posts)`.
#[proc_macro]
pub fn tables(input: TokenStream) -> TokenStream {
    tables::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
