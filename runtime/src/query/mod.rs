//! Running queries on typed connections, with the two compile-time checks: a [`Reader`] runs
//! only read-only queries (see [`ReadQuery`]), and every query's tables belong to the
//! connection's database (see [`InDatabase`]).
//!
//! [`Reader`]: crate::Reader

mod membership;
mod raw;
mod read_only;
mod statement;

use diesel::dsl::Limit;
use diesel::query_builder::{AsQuery, QueryId};
use diesel::query_dsl::methods::LimitDsl;
use diesel_async::AsyncConnectionCore;
use diesel_async::methods::{ExecuteDsl, LoadQuery};
use diesel_async::return_futures::{GetResult, LoadFuture};

pub use self::membership::{InDatabase, SameDatabase};
pub use self::raw::{RawSql, raw_read, raw_write};
pub use self::read_only::ReadQuery;
use crate::database::Database;
use crate::roles::{Reader, TypedConnection, Writer};
use crate::seal::Sealed;

/// The diesel-async connection under a typed connection.
type RawConnection<C> = <<C as TypedConnection>::Database as Database>::Connection;

/// Whether typed connection `Self` may run query `Q`: a [`Writer`] runs any query of its
/// database, a [`Reader`] only the read-only ones.
#[doc(hidden)]
pub trait CanRun<Q> {}

impl<'c, D: Database, Q> CanRun<Q> for Reader<'c, D> where Q: ReadQuery<Self> + InDatabase<D> {}

impl<D: Database, Q> CanRun<Q> for Writer<'_, D> where Q: InDatabase<D> {}

/// The query methods of diesel-async, for [`Reader`]s and [`Writer`]s.
///
/// The same methods with the same results as `diesel_async::RunQueryDsl`, plus the checks:
/// a query that writes does not compile on a reader, and a query whose table belongs to
/// another database does not compile at all. Bring it into scope with
/// `use diesel_route::prelude::*;` in place of diesel's and diesel-async's preludes.
pub trait RunQueryDsl: QueryId + Sized {
    /// Executes a statement, returning the number of rows affected.
    fn execute<'c, 'q, C>(
        self,
        conn: &'c mut C,
    ) -> <RawConnection<C> as AsyncConnectionCore>::ExecuteFuture<'c, 'q>
    where
        C: TypedConnection + CanRun<Self>,
        Self: ExecuteDsl<RawConnection<C>> + 'q,
    {
        diesel_async::RunQueryDsl::execute(self, conn.raw(Sealed(())))
    }

    /// Runs a query and loads every row into a `Vec<U>`.
    fn load<'q, 'c, U, C>(self, conn: &'c mut C) -> LoadFuture<'c, 'q, Self, RawConnection<C>, U>
    where
        C: TypedConnection + CanRun<Self::Query>,
        Self: AsQuery + LoadQuery<'q, RawConnection<C>, U> + 'q,
        U: Send,
    {
        diesel_async::RunQueryDsl::load(self, conn.raw(Sealed(())))
    }

    /// Runs a query and loads the first row; `Err(NotFound)` when there is none.
    fn get_result<'q, 'c, U, C>(
        self,
        conn: &'c mut C,
    ) -> GetResult<'c, 'q, Self, RawConnection<C>, U>
    where
        C: TypedConnection + CanRun<Self::Query>,
        Self: AsQuery + LoadQuery<'q, RawConnection<C>, U> + 'q,
        U: Send + 'c,
    {
        diesel_async::RunQueryDsl::get_result(self, conn.raw(Sealed(())))
    }

    /// Same as [`load`](RunQueryDsl::load).
    fn get_results<'q, 'c, U, C>(
        self,
        conn: &'c mut C,
    ) -> LoadFuture<'c, 'q, Self, RawConnection<C>, U>
    where
        C: TypedConnection + CanRun<Self::Query>,
        Self: AsQuery + LoadQuery<'q, RawConnection<C>, U> + 'q,
        U: Send,
    {
        diesel_async::RunQueryDsl::load(self, conn.raw(Sealed(())))
    }

    /// Adds `LIMIT 1` and loads the row; `Err(NotFound)` when there is none.
    fn first<'q, 'c, U, C>(
        self,
        conn: &'c mut C,
    ) -> GetResult<'c, 'q, Limit<Self>, RawConnection<C>, U>
    where
        C: TypedConnection + CanRun<<Limit<Self> as AsQuery>::Query>,
        Self: LimitDsl,
        Limit<Self>: AsQuery + LoadQuery<'q, RawConnection<C>, U> + Send + 'q,
        U: Send + 'c,
    {
        diesel_async::RunQueryDsl::first(self, conn.raw(Sealed(())))
    }
}

/// Every query is `QueryId`; bounding on it keeps these methods off other types, so that
/// `Arc<AtomicUsize>::load` and friends still resolve to their own methods.
impl<T: QueryId> RunQueryDsl for T {}
