//! The database check: every table a query reads or writes must belong to the connection's
//! database.
//!
//! Tables join a database through impls that `#[bind]` and `tables!` generate; statements
//! are in a database when their target or `FROM` clause is. Subselects inside expressions
//! are not looked into.

use diesel::QuerySource;
use diesel::internal::table_macro::{Join, JoinOn};
use diesel::query_builder::{
    BoxedSelectStatement, BoxedSqlQuery, DeleteStatement, FromClause, InsertStatement,
    NoFromClause, SelectStatement, SqlQuery, UpdateStatement,
};
use diesel::query_source::{Alias, AliasSource};

use super::RawSql;

/// A query (or a table, or a `FROM` clause) whose tables all belong to database `D`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not known to belong to database `{D}`",
    label = "cannot check which database this query belongs to",
    note = "a table belongs to a database through `#[bind(\"key\")]` on its model, or `diesel_route::tables!(key: table, ...)`",
    note = "raw SQL the types cannot check runs as `diesel_route::raw_write(query)` on a writer, `diesel_route::raw_read(query)` on a reader"
)]
pub trait InDatabase<D> {}

/// Implemented by every database for itself only: the bound that fails, with a message
/// naming both databases, when a table of one database is queried through a connection to
/// another.
#[diagnostic::on_unimplemented(
    message = "table `{Table}` belongs to database `{Self}`, but this connection is to database `{Conn}`",
    label = "this connection is to database `{Conn}`",
    note = "query `{Table}` in a function routed to `{Self}`: take `&mut Reader<{Self}>` or `&mut Writer<{Self}>`"
)]
pub trait SameDatabase<Conn, Table> {}

impl<D, Table> SameDatabase<D, Table> for D {}

impl<D, F, S, Di, W, O, LOf, G, H, L> InDatabase<D>
    for SelectStatement<F, S, Di, W, O, LOf, G, H, L>
where
    F: InDatabase<D>,
{
}

impl<D, ST, QS, DB, GB> InDatabase<D> for BoxedSelectStatement<'_, ST, QS, DB, GB> where
    QS: InDatabase<D>
{
}

impl<D, F> InDatabase<D> for FromClause<F> where F: QuerySource + InDatabase<D> {}

/// `SELECT` without `FROM`: nothing to check.
impl<D> InDatabase<D> for NoFromClause {}

impl<D, L, R, K> InDatabase<D> for Join<L, R, K>
where
    L: QuerySource + InDatabase<D>,
    R: QuerySource + InDatabase<D>,
{
}

impl<D, J, On> InDatabase<D> for JoinOn<J, On> where J: InDatabase<D> {}

impl<D, S> InDatabase<D> for Alias<S>
where
    S: AliasSource,
    S::Target: InDatabase<D>,
{
}

impl<D, T, U, Op, Ret> InDatabase<D> for InsertStatement<T, U, Op, Ret> where
    T: diesel::Table + InDatabase<D>
{
}

impl<D, T, U, V, Ret> InDatabase<D> for UpdateStatement<T, U, V, Ret> where
    T: QuerySource + InDatabase<D>
{
}

impl<D, T, U, Ret> InDatabase<D> for DeleteStatement<T, U, Ret> where T: QuerySource + InDatabase<D> {}

/// Raw SQL names no table the types can see: a writer runs it on trust.
impl<D, Inner> InDatabase<D> for SqlQuery<Inner> {}

impl<D, DB: diesel::backend::Backend, Query> InDatabase<D> for BoxedSqlQuery<'_, DB, Query> {}

impl<D, Q, M> InDatabase<D> for RawSql<Q, M> {}

#[cfg(feature = "postgres")]
mod postgres {
    use diesel::query_builder::{Only, Tablesample};

    use super::InDatabase;

    impl<D, S> InDatabase<D> for Only<S> where S: InDatabase<D> {}

    impl<D, S, TSM> InDatabase<D> for Tablesample<S, TSM>
    where
        S: InDatabase<D>,
        TSM: diesel::internal::table_macro::TablesampleMethod,
    {
    }
}
