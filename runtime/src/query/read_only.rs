//! The read-only check: which queries a [`Reader`](crate::Reader) runs.
//!
//! A query is read-only when it is a `SELECT` without a locking clause. diesel's
//! `SelectStatement` has the locking clause as its last type parameter, defaulting to "no
//! lock": implementing [`ReadQuery`] for `SelectStatement` with that parameter left out
//! leaves out `FOR UPDATE`, `FOR SHARE` and the rest. Everything else (insert, update,
//! delete, `sql_query`) is not a `SELECT` and has no implementation.

use diesel::query_builder::{BoxedSelectStatement, SelectStatement};

use super::RawSql;
use super::raw::ReadOnly;

/// A query a reader may run. Sealed: the implementations are diesel's `SELECT`s and
/// [`raw_read`](crate::raw_read).
#[diagnostic::on_unimplemented(
    message = "`{Conn}` cannot run this query: a reader runs only read-only queries",
    label = "this reader can only read",
    note = "a write belongs in a `#[route(write)]` function, whose `Writer` runs any query",
    note = "`FOR UPDATE` and other row locks need a writer too",
    note = "raw SQL that only reads runs on a reader as `diesel_route::raw_read(query)`"
)]
pub trait ReadQuery<Conn>: sealed::Sealed {}

impl<Conn, F, S, D, W, O, LOf, G, H> ReadQuery<Conn> for SelectStatement<F, S, D, W, O, LOf, G, H> {}
impl<F, S, D, W, O, LOf, G, H> sealed::Sealed for SelectStatement<F, S, D, W, O, LOf, G, H> {}

impl<Conn, ST, QS, DB, GB> ReadQuery<Conn> for BoxedSelectStatement<'_, ST, QS, DB, GB> {}
impl<ST, QS, DB, GB> sealed::Sealed for BoxedSelectStatement<'_, ST, QS, DB, GB> {}

impl<Conn, Q> ReadQuery<Conn> for RawSql<Q, ReadOnly> {}
impl<Q> sealed::Sealed for RawSql<Q, ReadOnly> {}

mod sealed {
    pub trait Sealed {}
}
