//! Raw SQL the types cannot check, marked by the caller: [`raw_read`] for SQL that only
//! reads, [`raw_write`] for anything else.

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryBuilder, QueryFragment, QueryId};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::statement::check_reads_only;

/// A query marked by [`raw_read`] or [`raw_write`]. It runs exactly as the query it wraps.
#[derive(Debug, Clone, Copy)]
#[must_use = "queries run only when `load`, `execute` or similar is called"]
pub struct RawSql<Q, Mode> {
    query: Q,
    _mode: PhantomData<Mode>,
}

/// The mode of [`raw_read`].
#[derive(Debug, Clone, Copy)]
pub enum ReadOnly {}

/// The mode of [`raw_write`].
#[derive(Debug, Clone, Copy)]
pub enum Unchecked {}

/// Marks raw SQL (`diesel::sql_query`, a `UNION`, ...) as read-only, so that a [`Reader`]
/// runs it.
///
/// The types cannot see what raw SQL does, so this is a promise; the reader's session is
/// read-only in the database, which refuses a broken promise with
/// [`Error::ReadOnly`](crate::Error::ReadOnly) and writes nothing.
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
pub fn raw_read<Q>(query: Q) -> RawSql<Q, ReadOnly> {
    RawSql {
        query,
        _mode: PhantomData,
    }
}

/// Marks raw SQL whose tables the types cannot check (`sql_query(...).bind(...)`, a
/// `UNION`), so that a [`Writer`](crate::Writer) runs it as is.
pub fn raw_write<Q>(query: Q) -> RawSql<Q, Unchecked> {
    RawSql {
        query,
        _mode: PhantomData,
    }
}

impl<Q, Mode> QueryId for RawSql<Q, Mode> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for RawSql<Q, Unchecked> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }
}

/// Raw SQL marked as a read runs only when its text is one statement that starts like a
/// read (see `statement.rs`): a statement that would weaken the session's read-only mode
/// (`SET ... READ WRITE`, `BEGIN`, `COMMIT`) is refused before it is sent.
impl<Q, DB> QueryFragment<DB> for RawSql<Q, ReadOnly>
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

impl<Q: Query, Mode> Query for RawSql<Q, Mode> {
    type SqlType = Q::SqlType;
}
