//! The typed connections routed functions receive: a [`Reader`] runs read-only queries, a
//! [`Writer`] runs any query. Both are bound to one database.

pub(crate) mod lease;

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel_async::SimpleAsyncConnection;

pub use self::lease::{ReadLease, WriteLease};
use crate::database::Database;
use crate::seal::Sealed;
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
pub struct Reader<'c, D: Database> {
    conn: &'c mut Pooled<D::Connection>,
    _database: PhantomData<fn() -> D>,
}

/// A read-write connection to database `D`'s primary, given to `#[route(write)]` functions.
///
/// It runs any query. Passed to a read function it serves as that function's [`Reader`],
/// so reads inside a write see the write's own, uncommitted changes.
pub struct Writer<'c, D: Database> {
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

/// A typed connection, [`Reader`] or [`Writer`]: what the query methods of
/// [`RunQueryDsl`](crate::RunQueryDsl) accept.
pub trait TypedConnection: Send {
    /// The database it is bound to.
    type Database: Database;

    /// The diesel-async connection underneath. Only this crate can call it (`Sealed` has a
    /// private constructor), so that a reader never hands out its raw connection.
    #[doc(hidden)]
    fn raw(&mut self, _: Sealed) -> &mut <Self::Database as Database>::Connection;
}

impl<D: Database> TypedConnection for Reader<'_, D> {
    type Database = D;
    fn raw(&mut self, _: Sealed) -> &mut D::Connection {
        &mut self.conn.raw
    }
}

impl<D: Database> TypedConnection for Writer<'_, D> {
    type Database = D;
    fn raw(&mut self, _: Sealed) -> &mut D::Connection {
        &mut self.conn.raw
    }
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
pub trait BatchExecuteOnReader {}
