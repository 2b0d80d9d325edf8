//! The database check of a statement's sources: its `FROM` clause (tables, joins, aliases)
//! or its target table must belong to the connection's database.
//!
//! Tables join a database through impls that `#[bind]` and `tables!` generate. The tables a
//! statement reads in its expressions (subqueries) are checked by `subqueries.rs`.

use diesel::QuerySource;
use diesel::internal::table_macro::{Join, JoinOn};
use diesel::query_builder::{FromClause, NoFromClause, SelectStatement};
use diesel::query_source::{Alias, AliasSource};

/// A table, or a query source made of tables (a join, an alias), whose tables all belong
/// to database `D`.
///
/// `#[bind("key")]` and [`tables!`](crate::tables) implement it for tables; a table in no
/// database does not implement it, so that it cannot be queried at all.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not known to belong to database `{D}`",
    label = "this query reads a table that no `tables!` line or `#[bind]` puts in a database",
    note = "a table belongs to a database through `#[bind(\"key\")]` on its model, or `diesel_route::tables!(key: table, ...)` next to the schema",
    note = "a helper generic over its connection names the database: `C: TypedConnection<Database = default>`"
)]
pub trait InDatabase<D> {}

/// Implemented by every database for itself only: the bound that fails, with a message
/// naming both databases, when a table of one database is queried through a connection to
/// another. Users implement neither this trait nor its seal.
#[diagnostic::on_unimplemented(
    message = "table `{Table}` belongs to database `{Self}`, but this connection is to database `{Conn}`",
    label = "this connection is to database `{Conn}`",
    note = "query `{Table}` in a function routed to `{Self}`: take `&mut Reader<{Self}>` or `&mut Writer<{Self}>`"
)]
pub trait SameDatabase<Conn, Table>: sealed::Same<Conn> {}

impl<D, Table> SameDatabase<D, Table> for D {}

mod sealed {
    #[diagnostic::on_unimplemented(
        message = "`{Self}` and `{D}` are different databases",
        label = "a database is the same as itself only"
    )]
    pub trait Same<D> {}
    impl<D> Same<D> for D {}
}

impl<D, F> InDatabase<D> for FromClause<F> where F: QuerySource + InDatabase<D> {}

/// `SELECT` without `FROM`: nothing to check here (its subqueries are checked elsewhere).
impl<D> InDatabase<D> for NoFromClause {}

impl<D, L, R, K> InDatabase<D> for Join<L, R, K>
where
    L: QuerySource + InDatabase<D>,
    R: QuerySource + InDatabase<D>,
{
}

impl<D, J, On> InDatabase<D> for JoinOn<J, On> where J: InDatabase<D> {}

/// A nested join (`a.inner_join(b.inner_join(c))`): diesel makes its right side a plain
/// `SELECT` of the inner join, whose `FROM` clause holds the tables.
impl<D, F> InDatabase<D> for SelectStatement<FromClause<F>>
where
    F: QuerySource,
    FromClause<F>: InDatabase<D>,
{
}

impl<D, S> InDatabase<D> for Alias<S>
where
    S: AliasSource,
    S::Target: InDatabase<D>,
{
}

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
