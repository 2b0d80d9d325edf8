//! The typed connections routed functions receive: a [`Reader`] runs read-only queries, a
//! [`Writer`] runs any query. Both are bound to one database.

pub(crate) mod lease;

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel_async::SimpleAsyncConnection;

use self::lease::Outcome;
pub use self::lease::{ReadLease, WriteLease};
use crate::database::Database;
use crate::error::Error;
use crate::server::Server;
use crate::topology::Pooled;

/// A read-only connection to database `D`, given to `#[route(read)]` functions.
///
/// It runs the queries that only read: `SELECT`s built with diesel's query builder (filters,
/// joins, groupings, subselects, boxed queries...), and raw SQL marked with
/// [`raw_read`](crate::raw_read). An `INSERT`, `UPDATE`, `DELETE`, `FOR UPDATE` or raw
/// `sql_query` does not compile on it. Its session is also read-only in the database, so that
/// a write hidden in raw SQL fails with [`Error::ReadOnly`](crate::Error::ReadOnly).
///
/// A `Reader` can be passed on to other read functions (they share its connection, so one
/// read call stays on one replica); it can never become a [`Writer`].
///
/// Routed functions name it through the `Reader` alias that
/// [`databases!`](crate::databases) declares at the crate root, whose database defaults to
/// `default`; this type names its database: `diesel_route::Reader<'_, default>`.
pub struct Reader<'c, D: DatabaseOf<Reader<'c, D>> = UseTheAlias> {
    conn: &'c mut Pooled<D::Connection>,
    _database: PhantomData<fn() -> D>,
}

/// A read-write connection to database `D`'s primary, given to `#[route(write)]` functions.
///
/// It runs any query. Passed to a read function it serves as that function's [`Reader`],
/// so reads inside a write see the write's own, uncommitted changes.
///
/// Routed functions name it through the `Writer` alias that
/// [`databases!`](crate::databases) declares at the crate root, whose database defaults to
/// `default`; this type names its database: `diesel_route::Writer<'_, default>`.
pub struct Writer<'c, D: DatabaseOf<Writer<'c, D>> = UseTheAlias> {
    conn: &'c mut Pooled<D::Connection>,
    _database: PhantomData<fn() -> D>,
}

impl<'c, D: Database> Reader<'c, D> {
    pub(crate) fn new(conn: &'c mut Pooled<D::Connection>) -> Self {
        Self {
            conn,
            _database: PhantomData,
        }
    }

    /// The pooled connection, lent to a routed call this one makes.
    pub(crate) fn pooled(&mut self) -> &mut Pooled<D::Connection> {
        self.conn
    }

    /// The server this connection is on: a replica, or the primary when reads fall back to
    /// it (or when a writer is lent as a reader).
    pub fn server(&self) -> &Server {
        &self.conn.server
    }

    /// A reader cannot run a batch of raw SQL: it could write. Use a [`Writer`], or
    /// [`raw_read`](crate::raw_read) for raw SQL that only reads. (Its bound is never met:
    /// it exists to say so when called.)
    #[doc(hidden)]
    pub fn batch_execute(&mut self, _sql: &str) -> std::future::Ready<QueryResult<()>>
    where
        D: BatchExecuteOnReader,
    {
        unreachable!("`BatchExecuteOnReader` has no implementation")
    }
}

impl<'c, D: Database> Writer<'c, D> {
    pub(crate) fn new(conn: &'c mut Pooled<D::Connection>) -> Self {
        Self {
            conn,
            _database: PhantomData,
        }
    }

    /// The pooled connection, lent to a routed call this one makes.
    pub(crate) fn pooled(&mut self) -> &mut Pooled<D::Connection> {
        self.conn
    }

    /// The server this connection is on: the primary.
    pub fn server(&self) -> &Server {
        &self.conn.server
    }

    /// Lends this writer as a reader, for code that takes a `&mut Reader`. Routed read
    /// functions take the writer itself.
    pub fn as_reader(&mut self) -> Reader<'_, D> {
        Reader::new(self.conn)
    }

    /// Runs a batch of raw SQL statements, separated by `;`.
    ///
    /// # Errors
    ///
    /// The database's error for the first statement that fails.
    pub async fn batch_execute(&mut self, sql: &str) -> QueryResult<()> {
        self.conn.raw.batch_execute(sql).await
    }

    /// The diesel-async connection underneath, for what diesel-route does not wrap
    /// (`diesel_async::AsyncConnection::transaction`, `load_stream`, ...). Queries run on it
    /// skip the check that their tables belong to database `D`.
    pub fn raw(&mut self) -> &mut D::Connection {
        &mut self.conn.raw
    }
}

/// The database of typed connection `C`: any declared database. Its one purpose is the
/// message when `diesel_route::Reader` (or `Writer`) is written without one, usually
/// because it was imported in place of the crate's own alias. (It names the connection
/// type so that the default `UseTheAlias` is checked where it is used, not where it is
/// declared.)
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`diesel_route::Reader` and `diesel_route::Writer` name their database: this one has none",
    label = "the `Reader` and `Writer` that `databases!` declares at the crate root default to `default`",
    note = "use the `Reader` that `databases!` declares at the root of your crate (import it from there, not from `diesel_route`), or name the database: `diesel_route::Reader<'_, default>`"
)]
pub trait DatabaseOf<C>: Database {}

#[diagnostic::do_not_recommend]
impl<D: Database, C> DatabaseOf<C> for D {}

/// The database of a `Reader` or `Writer` written without one: none (see [`DatabaseOf`]).
#[doc(hidden)]
#[derive(Debug)]
pub enum UseTheAlias {}

/// A typed connection, [`Reader`] or [`Writer`]: what the query methods of
/// [`RunQueryDsl`](crate::RunQueryDsl) accept.
///
/// A helper that runs read queries on whichever connection its caller holds names it as its
/// bound, with the database: read functions pass their `Reader`, write functions their
/// `Writer` (the helper then sees the write's own changes).
///
/// ```
/// # use diesel_route::prelude::*;
/// # diesel_route::databases! { default: sqlite }
/// # diesel::table! { posts (id) { id -> Integer, title -> Text } }
/// # diesel_route::tables!(default: posts);
/// # fn main() {}
/// use diesel_route::TypedConnection;
///
/// async fn titles<C>(conn: &mut C) -> diesel::QueryResult<Vec<String>>
/// where
///     C: TypedConnection<Database = default>,
/// {
///     posts::table.select(posts::title).load(conn).await
/// }
/// ```
///
/// A helper that writes takes `&mut Writer<'_, D>`: a generic connection may be a reader.
/// Only this crate implements the trait.
pub trait TypedConnection: Send + sealed::Sealed {
    /// The database it is bound to.
    type Database: Database;

    /// The diesel-async connection underneath. Only this crate can call it: nothing outside
    /// it can make a [`RawAccess`], so a reader never hands out its raw connection.
    #[doc(hidden)]
    fn raw(&mut self, _: RawAccess) -> &mut <Self::Database as Database>::Connection {
        unreachable!("`Reader` and `Writer`, the only typed connections, define it")
    }
}

/// The key to [`TypedConnection::raw`], which only this crate can make.
#[doc(hidden)]
#[derive(Debug)]
pub struct RawAccess(pub(crate) ());

impl<'c, D: DatabaseOf<Reader<'c, D>>> TypedConnection for Reader<'c, D> {
    type Database = D;
    fn raw(&mut self, _: RawAccess) -> &mut D::Connection {
        &mut self.conn.raw
    }
}

impl<'c, D: DatabaseOf<Writer<'c, D>>> TypedConnection for Writer<'c, D> {
    type Database = D;
    fn raw(&mut self, _: RawAccess) -> &mut D::Connection {
        &mut self.conn.raw
    }
}

mod sealed {
    /// Keeps [`TypedConnection`](super::TypedConnection) to `Reader` and `Writer`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a typed connection: only `Reader` and `Writer` are",
        label = "diesel-route's typed connections are sealed"
    )]
    pub trait Sealed {}

    impl<D: crate::database::Database> Sealed for super::Reader<'_, D> {}
    impl<D: crate::database::Database> Sealed for super::Writer<'_, D> {}

    /// Implemented by nothing: the bound no database can meet.
    #[diagnostic::on_unimplemented(
        message = "a reader never runs `batch_execute`: raw SQL batches may write",
        label = "diesel-route keeps this bound unmet"
    )]
    pub trait Never {}
}

impl<D: Database> std::fmt::Debug for Reader<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("server", self.server())
            .finish()
    }
}

impl<D: Database> std::fmt::Debug for Writer<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("server", self.server())
            .finish()
    }
}

/// Never implemented: the bound of `Reader::batch_execute`, which exists only to say why a
/// reader has no such method.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a reader of database `{Self}` cannot run `batch_execute`: raw SQL batches may write",
    label = "this call needs a writer",
    note = "run it on the `Writer` of a `#[route(write)]` function",
    note = "raw SQL that only reads runs on a reader as `diesel_route::raw_read(diesel::sql_query(...))`"
)]
pub trait BatchExecuteOnReader: sealed::Never {}

/// What a routed function may return: a `Result` whose error takes a
/// [`diesel_route::Error`](crate::Error), since checking out a connection can fail.
/// `diesel_route::Result<T>` and diesel's `QueryResult<T>` are such results.
#[diagnostic::on_unimplemented(
    message = "a routed function returns `Result<T, E>` with `E: From<diesel_route::Error>`, not `{Self}`",
    label = "checking out a connection can fail: this type cannot hold a `diesel_route::Error`",
    note = "return `diesel_route::Result<T>` or diesel's `QueryResult<T>`, or implement `From<diesel_route::Error>` for your error type"
)]
pub trait RouteReturn: Sized {
    /// The functions of the result type a call needs, captured once: the one place
    /// generated code requires a routed function's return type to be right, spanned on it,
    /// so that a wrong one is one error.
    #[doc(hidden)]
    fn outcome() -> Returns<Self>;
}

#[diagnostic::do_not_recommend]
impl<T, E: From<Error>> RouteReturn for Result<T, E> {
    fn outcome() -> Returns<Self> {
        Returns {
            outcome: Outcome::new(),
            succeeded: Result::is_ok,
        }
    }
}

/// A routed function's result type, as its call handles it: how to fail, whether the body
/// succeeded, and the call's result from the body's and what its lease settled.
#[doc(hidden)]
pub struct Returns<R> {
    outcome: Outcome<R>,
    succeeded: fn(&R) -> bool,
}

impl<R> Returns<R> {
    /// The result of a call that failed outside its body.
    pub fn failed(&self, error: Error) -> R {
        self.outcome.failed(error)
    }

    /// Whether the body succeeded.
    pub fn succeeded(&self, result: &R) -> bool {
        (self.succeeded)(result)
    }

    /// The call's result: the body's, unless settling it failed (a commit, the end of a
    /// read guard), the lease found out more of its failure (a lost connection's
    /// `commit_unknown`, a demoted primary), or the call ended before it was settled (its
    /// deadline): then that error.
    pub fn resolve(&self, settled: Settled, body: Option<R>) -> R {
        match (settled, body) {
            (Settled::Succeeded | Settled::BodyFailed, Some(body)) => body,
            (Settled::Failed(error), _) => self.failed(error),
            (_, None) => unreachable!("a call is settled after its body"),
        }
    }
}

/// What a call's lease settles in place of the body's own result, which generated code
/// keeps beside it: whether the body succeeded, and then whether the call did (its commit).
/// One type for every routed function, so that the lease's code and the call's deadline
/// are compiled once, not once per function or per result type.
#[doc(hidden)]
#[derive(Debug)]
pub enum Settled {
    /// The body succeeded, and so did the call.
    Succeeded,
    /// The body failed, and its own error is the call's.
    BodyFailed,
    /// The call failed with this error, in place of the body's result.
    Failed(Error),
}

impl lease::RouteResult for Settled {
    fn from_route_error(error: Error) -> Self {
        Self::Failed(error)
    }

    fn is_ok(&self) -> bool {
        matches!(self, Self::Succeeded)
    }
}

/// What the lease is given for a body that `succeeded` or not.
#[doc(hidden)]
pub fn settled(succeeded: bool) -> Settled {
    match succeeded {
        true => Settled::Succeeded,
        false => Settled::BodyFailed,
    }
}
