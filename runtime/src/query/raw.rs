//! Raw SQL the types cannot check, marked by the caller: [`raw_read`] for SQL that only
//! reads, [`raw_write`] for anything else.
//!
//! Only raw SQL is marked: `sql_query` (bound or boxed), `diesel::dsl::sql`, and compound
//! selects (`UNION`, `INTERSECT`, `EXCEPT`, which also run unmarked). A typed statement
//! given to either does not compile: it runs as it is, with its checks.

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::expression::expression_types::Untyped;
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::query_builder::{AstPass, BoxedSqlQuery, Query, QueryBuilder, QueryFragment, QueryId};
use diesel::query_dsl::positional_order_dsl::PositionalOrderDsl;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::statement::check_reads_only;
use super::subqueries::CompoundIn;

/// A query marked by [`raw_read`] or [`raw_write`]. It runs exactly as the query it wraps.
///
/// `Kind` says what it wraps ([`raw_kinds`]): raw SQL, or a compound select, whose selects'
/// tables are still checked.
#[derive(Debug, Clone, Copy)]
#[must_use = "queries run only when `load`, `execute` or similar is called"]
pub struct RawSql<Q, Mode, Kind> {
    query: Q,
    _mode: PhantomData<(Mode, Kind)>,
}

/// The mode of [`raw_read`].
#[derive(Debug, Clone, Copy)]
pub enum ReadOnly {}

/// The mode of [`raw_write`].
#[derive(Debug, Clone, Copy)]
pub enum Unchecked {}

/// What [`raw_read`] and [`raw_write`] take, found by the compiler.
pub mod raw_kinds {
    /// SQL text: `sql_query`, with or without `.bind`.
    #[derive(Debug, Clone, Copy)]
    pub enum Text {}
    /// SQL text: `sql_query(...).into_boxed()`.
    #[derive(Debug, Clone, Copy)]
    pub enum BoxedText {}
    /// SQL text: `diesel::dsl::sql`, with or without `.bind`.
    #[derive(Debug, Clone, Copy)]
    pub enum Literal {}
    /// A `UNION`, `INTERSECT` or `EXCEPT` of selects.
    #[derive(Debug, Clone, Copy)]
    pub enum Compound {}
}

use self::raw_kinds::{BoxedText, Compound, Literal, Text};

/// What [`raw_read`] and [`raw_write`] take: raw SQL, or a compound select.
#[diagnostic::on_unimplemented(
    message = "`raw_read` and `raw_write` take raw SQL, not `{Self}`",
    label = "a typed statement runs as it is",
    note = "raw SQL is `diesel::sql_query(...)` (with `.bind`, boxed) or `diesel::dsl::sql`; compound selects (`union`, ...) are taken too",
    note = "a typed `SELECT` runs on a reader as it is; an `INSERT`, `UPDATE`, `DELETE` or `FOR UPDATE` runs on the `Writer` of a `#[route(write)]` function"
)]
pub trait RawKind<K> {}

impl<Q> RawKind<Text> for Q where Q: Query<SqlType = Untyped> + diesel::RunQueryDsl<()> {}
impl<DB: Backend, Q> RawKind<BoxedText> for BoxedSqlQuery<'_, DB, Q> {}
impl<ST, T> RawKind<Literal> for SqlLiteral<ST, T> {}
impl<Q, V> RawKind<Literal> for UncheckedBind<Q, V> {}
impl<Q> RawKind<Compound> for Q where Q: PositionalOrderDsl<u32> {}

/// The database check of a marked query: none for SQL text (the types cannot see into it),
/// the selects' tables for a compound select.
pub trait RawIn<D, K> {}

impl<D, Q> RawIn<D, Text> for Q {}
impl<D, Q> RawIn<D, BoxedText> for Q {}
impl<D, Q> RawIn<D, Literal> for Q {}
impl<D, Q: CompoundIn<D>> RawIn<D, Compound> for Q {}

/// Marks raw SQL (`diesel::sql_query`, `diesel::dsl::sql`) as read-only, so that a
/// [`Reader`] runs it.
///
/// The types cannot see what raw SQL does, so this is a promise; the reader's session is
/// read-only in the database, which refuses a broken promise with
/// [`Error::ReadOnly`](crate::Error::ReadOnly) and writes nothing. The text must be one
/// statement that starts like a read (`SELECT`, `WITH`, `VALUES`, `SHOW`, `EXPLAIN`...),
/// else it is refused before it is sent. A typed statement does not compile here: it runs
/// as it is. A compound select (`union`) is taken too, and its selects' tables are checked
/// as when it runs unmarked.
///
/// ```
/// # use diesel_route::prelude::*;
/// # diesel_route::databases! { default: sqlite }
/// # fn main() {}
/// #[derive(QueryableByName)]
/// struct Count {
///     #[diesel(sql_type = diesel::sql_types::BigInt)]
///     n: i64,
/// }
///
/// #[diesel_route::route(read)]
/// async fn table_count(conn: &mut Reader) -> diesel_route::Result<i64> {
///     let query = diesel::sql_query("SELECT count(*) AS n FROM sqlite_master");
///     let count: Count = diesel_route::raw_read(query).get_result(conn).await?;
///     Ok(count.n)
/// }
/// ```
///
/// [`Reader`]: crate::Reader
pub fn raw_read<Q, K>(query: Q) -> RawSql<Q, ReadOnly, K>
where
    Q: RawKind<K>,
{
    RawSql {
        query,
        _mode: PhantomData,
    }
}

/// Marks raw SQL whose tables the types cannot check, so that a [`Writer`](crate::Writer)
/// runs it as is. A writer runs `sql_query` unmarked too; this spells out that the SQL is
/// taken on trust. A typed statement does not compile here.
pub fn raw_write<Q, K>(query: Q) -> RawSql<Q, Unchecked, K>
where
    Q: RawKind<K>,
{
    RawSql {
        query,
        _mode: PhantomData,
    }
}

impl<Q, Mode, K> QueryId for RawSql<Q, Mode, K> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<DB>, DB: Backend, K> QueryFragment<DB> for RawSql<Q, Unchecked, K> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }
}

/// Raw SQL marked as a read runs only when its text is one statement that starts like a
/// read (see `statement.rs`): a statement that would weaken the session's read-only mode
/// (`SET ... READ WRITE`, `BEGIN`, `COMMIT`) is refused before it is sent.
impl<Q, DB, K> QueryFragment<DB> for RawSql<Q, ReadOnly, K>
where
    Q: QueryFragment<DB>,
    DB: Backend<QueryBuilder: Default>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut sql = DB::QueryBuilder::default();
        self.query.to_sql(&mut sql, pass.backend())?;
        check_reads_only(&sql.finish()).map_err(|refusal| {
            DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, Box::new(refusal))
        })?;
        self.query.walk_ast(pass)
    }
}

impl<Q: Query, Mode, K> Query for RawSql<Q, Mode, K> {
    type SqlType = Q::SqlType;
}
