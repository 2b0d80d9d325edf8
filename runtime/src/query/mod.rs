//! Running queries on typed connections, and the two compile-time checks: a [`Reader`] runs
//! only read-only queries, and every table a query reads or writes belongs to the
//! connection's database.
//!
//! [`RunQueryDsl`] is diesel-async's, with the checks. A query is first sorted into a
//! [kind](kinds) (a `SELECT`, a locked `SELECT`, an `INSERT`, raw SQL...); each kind has one
//! rule, an impl of [`CanRun`], made of the role's check ([`WritesOn`], [`LocksOn`],
//! [`RawSqlOn`]: what needs a writer) and the database's: the statement's sources and target
//! ([`InDatabase`], failing on [`SameDatabase`] with both databases named) and the tables of
//! its subqueries ([`Subqueries`], [`WhereIn`], [`CompoundIn`]).
//!
//! # What is checked, and what is not
//!
//! The positions of a statement whose tables are checked, and those that are not (diesel
//! does not expose them to the types), are listed once, in the README's section [What is
//! checked, and what is not][checked]; `docs/architecture.md` says how each check works.
//!
//! [checked]: https://github.com/diesel-route/diesel-route#what-is-checked-and-what-is-not
//! [`Reader`]: crate::Reader

mod kind;
mod membership;
mod raw;
mod read_only;
mod statement;
mod subqueries;

use diesel::dsl::Limit;
use diesel::query_builder::{
    AsQuery, BoxedDeleteStatement, BoxedSelectStatement, BoxedSqlQuery, BoxedUpdateStatement,
    DeleteStatement, InsertStatement, QueryId, SelectStatement, UpdateStatement,
};
use diesel::query_dsl::methods::LimitDsl;
use diesel::query_source::QuerySource;
use diesel_async::AsyncConnectionCore;
use diesel_async::methods::{ExecuteDsl, LoadQuery};
use diesel_async::return_futures::{GetResult, LoadFuture};

pub use self::kind::{Statement, kinds};
use self::kinds::{
    Boxed, BoxedDelete, BoxedSql, BoxedUpdate, Compound, Delete, Insert, Literal, Locked, Marked,
    Select, Sql, Update,
};
pub use self::membership::{InDatabase, SameDatabase};
pub use self::raw::{RawIn, RawKind, RawSql, ReadOnly, Unchecked, raw_kinds, raw_read, raw_write};
pub use self::read_only::{LocksOn, RawSqlOn, WritesOn};
pub use self::subqueries::{CompoundIn, Subqueries, WhereIn};
use crate::database::Database;
use crate::roles::{RawAccess, TypedConnection};

/// The diesel-async connection under a typed connection.
type RawConnection<C> = <<C as TypedConnection>::Database as Database>::Connection;

/// Whether typed connection `Self` may run query `Q` of kind `K`: the rule of each kind
/// ([`kinds`]), the role's and the database's checks together.
///
/// Its impls are the whole policy; the query methods of [`RunQueryDsl`] require it. Each
/// condition is a trait whose message says what is wrong: [`WritesOn`], [`LocksOn`] and
/// [`RawSqlOn`] (a reader), [`InDatabase`] and [`SameDatabase`] (a table of another
/// database), [`Subqueries`], [`WhereIn`] and [`CompoundIn`] (a subquery of one).
pub trait CanRun<Q, K> {}

/// `SELECT`: any typed connection, its sources and subqueries in its database.
impl<C, F, S, Di, W, O, LOf, G, H> CanRun<SelectStatement<F, S, Di, W, O, LOf, G, H>, Select> for C
where
    C: TypedConnection,
    F: InDatabase<C::Database>,
    SelectStatement<F, S, Di, W, O, LOf, G, H>: Subqueries<C::Database>,
{
}

/// `SELECT ... FOR UPDATE`: a writer.
impl<C, F, S, Di, W, O, LOf, G, H, LC>
    CanRun<SelectStatement<F, S, Di, W, O, LOf, G, H, LC>, Locked> for C
where
    C: TypedConnection,
    SelectStatement<F, S, Di, W, O, LOf, G, H, LC>: LocksOn<C> + Subqueries<C::Database>,
    F: InDatabase<C::Database>,
{
}

/// A boxed `SELECT`: its source in its database; the rest was erased by diesel.
impl<C, ST, QS, DB, GB> CanRun<BoxedSelectStatement<'_, ST, QS, DB, GB>, Boxed> for C
where
    C: TypedConnection,
    QS: InDatabase<C::Database>,
{
}

/// `UNION`, `INTERSECT`, `EXCEPT`: any typed connection, each select in its database.
impl<C, Q> CanRun<Q, Compound> for C
where
    C: TypedConnection,
    Q: CompoundIn<C::Database>,
{
}

/// `INSERT`: a writer, the target in its database.
impl<C, T, U, Op, Ret> CanRun<InsertStatement<T, U, Op, Ret>, Insert> for C
where
    C: TypedConnection,
    T: QuerySource + InDatabase<C::Database>,
    InsertStatement<T, U, Op, Ret>: WritesOn<C>,
{
}

/// `UPDATE`: a writer, the target and the `WHERE` clause's subqueries in its database.
impl<C, T, U, V, Ret> CanRun<UpdateStatement<T, U, V, Ret>, Update> for C
where
    C: TypedConnection,
    T: QuerySource + InDatabase<C::Database>,
    UpdateStatement<T, U, V, Ret>: WritesOn<C>,
    U: WhereIn<T, C::Database>,
{
}

/// A boxed `UPDATE`: a writer, the target in its database.
impl<'a, C, DB, T, V, Ret> CanRun<BoxedUpdateStatement<'a, DB, T, V, Ret>, BoxedUpdate> for C
where
    C: TypedConnection,
    T: QuerySource + InDatabase<C::Database>,
    BoxedUpdateStatement<'a, DB, T, V, Ret>: WritesOn<C>,
{
}

/// `DELETE`: a writer, the target and the `WHERE` clause's subqueries in its database.
impl<C, T, U, Ret> CanRun<DeleteStatement<T, U, Ret>, Delete> for C
where
    C: TypedConnection,
    T: QuerySource + InDatabase<C::Database>,
    DeleteStatement<T, U, Ret>: WritesOn<C>,
    U: WhereIn<T, C::Database>,
{
}

/// A boxed `DELETE`: a writer, the target in its database.
impl<'a, C, DB, T, Ret> CanRun<BoxedDeleteStatement<'a, DB, T, Ret>, BoxedDelete> for C
where
    C: TypedConnection,
    T: QuerySource + InDatabase<C::Database>,
    BoxedDeleteStatement<'a, DB, T, Ret>: WritesOn<C>,
{
}

/// Raw SQL: a writer, on trust (the types cannot see its tables).
impl<C, Q> CanRun<Q, Sql> for C
where
    C: TypedConnection,
    Q: RawSqlOn<C>,
{
}

/// Raw SQL, boxed: as [`Sql`].
impl<C, DB, Q> CanRun<BoxedSqlQuery<'_, DB, Q>, BoxedSql> for C
where
    C: TypedConnection,
    DB: diesel::backend::Backend,
    BoxedSqlQuery<'static, DB, Q>: RawSqlOn<C>,
{
}

/// `diesel::dsl::sql` run as a query: as [`Sql`].
impl<C, Q> CanRun<Q, Literal> for C
where
    C: TypedConnection,
    Q: RawSqlOn<C>,
{
}

/// Raw SQL marked by `raw_read`: any typed connection (the session is read-only and the
/// text is checked before it is sent); a compound select's selects in its database.
impl<C, Q, K> CanRun<RawSql<Q, ReadOnly, K>, Marked> for C
where
    C: TypedConnection,
    Q: RawIn<C::Database, K>,
{
}

/// Raw SQL marked by `raw_write`: a writer.
impl<C, Q, K> CanRun<RawSql<Q, Unchecked, K>, Marked> for C
where
    C: TypedConnection,
    RawSql<Q, Unchecked, K>: WritesOn<C>,
    Q: RawIn<C::Database, K>,
{
}

/// The query methods of diesel-async, for [`Reader`]s and [`Writer`]s: the same methods
/// with the same results as `diesel_async::RunQueryDsl`, plus the checks.
///
/// A query that writes does not compile on a reader, and a query that reads a table of
/// another database does not compile at all. Bring it into scope with
/// `use diesel_route::prelude::*;`, in place of diesel's and diesel-async's `RunQueryDsl`
/// (with one of those imported as well, `load` and friends are ambiguous, and the compiler
/// says so).
///
/// `Conn` is the typed connection; `Kind`, the kind of statement ([`kinds`]), is found by
/// the compiler. Give the row type as with diesel-async: `.load::<Post>(conn)`.
///
/// [`Reader`]: crate::Reader
/// [`Writer`]: crate::Writer
pub trait RunQueryDsl<Conn, Kind>: QueryId + Sized {
    /// Executes a statement, returning the number of rows affected.
    fn execute<'c, 'q>(
        self,
        conn: &'c mut Conn,
    ) -> <RawConnection<Conn> as AsyncConnectionCore>::ExecuteFuture<'c, 'q>
    where
        Self: Statement<Kind>,
        Conn: TypedConnection + CanRun<Self, Kind>,
        Self: ExecuteDsl<RawConnection<Conn>> + 'q,
    {
        diesel_async::RunQueryDsl::execute(self, conn.raw(RawAccess(())))
    }

    /// Runs a query and loads every row into a `Vec<U>`.
    fn load<'q, 'c, U>(self, conn: &'c mut Conn) -> LoadFuture<'c, 'q, Self, RawConnection<Conn>, U>
    where
        Self: AsQuery,
        Self::Query: Statement<Kind>,
        Conn: TypedConnection + CanRun<Self::Query, Kind>,
        Self: LoadQuery<'q, RawConnection<Conn>, U> + 'q,
        U: Send,
    {
        diesel_async::RunQueryDsl::load(self, conn.raw(RawAccess(())))
    }

    /// Runs a query and loads the first row; `Err(NotFound)` when there is none.
    fn get_result<'q, 'c, U>(
        self,
        conn: &'c mut Conn,
    ) -> GetResult<'c, 'q, Self, RawConnection<Conn>, U>
    where
        Self: AsQuery,
        Self::Query: Statement<Kind>,
        Conn: TypedConnection + CanRun<Self::Query, Kind>,
        Self: LoadQuery<'q, RawConnection<Conn>, U> + 'q,
        U: Send + 'c,
    {
        diesel_async::RunQueryDsl::get_result(self, conn.raw(RawAccess(())))
    }

    /// Same as [`load`](RunQueryDsl::load).
    fn get_results<'q, 'c, U>(
        self,
        conn: &'c mut Conn,
    ) -> LoadFuture<'c, 'q, Self, RawConnection<Conn>, U>
    where
        Self: AsQuery,
        Self::Query: Statement<Kind>,
        Conn: TypedConnection + CanRun<Self::Query, Kind>,
        Self: LoadQuery<'q, RawConnection<Conn>, U> + 'q,
        U: Send,
    {
        diesel_async::RunQueryDsl::load(self, conn.raw(RawAccess(())))
    }

    /// Adds `LIMIT 1` and loads the row; `Err(NotFound)` when there is none.
    fn first<'q, 'c, U>(
        self,
        conn: &'c mut Conn,
    ) -> GetResult<'c, 'q, Limit<Self>, RawConnection<Conn>, U>
    where
        Self: LimitDsl,
        Limit<Self>: AsQuery,
        <Limit<Self> as AsQuery>::Query: Statement<Kind>,
        Conn: TypedConnection + CanRun<<Limit<Self> as AsQuery>::Query, Kind>,
        Limit<Self>: LoadQuery<'q, RawConnection<Conn>, U> + Send + 'q,
        U: Send + 'c,
    {
        diesel_async::RunQueryDsl::first(self, conn.raw(RawAccess(())))
    }
}

/// Every query is `QueryId`; bounding on it keeps these methods off other types, so that
/// `Arc<AtomicUsize>::load` and friends still resolve to their own methods.
impl<T: QueryId, Conn, Kind> RunQueryDsl<Conn, Kind> for T {}
