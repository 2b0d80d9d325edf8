//! The read-only check: which kinds of statement a [`Reader`](crate::Reader) runs.
//!
//! A reader runs `SELECT`s without a row lock (plain, boxed, combined with `UNION`), and raw
//! SQL marked with [`raw_read`](crate::raw_read). The other kinds (locked selects, inserts,
//! updates, deletes, raw SQL) ask for a [`Writer`]: each is a trait implemented for every
//! query on a writer and on nothing else, whose message says what a reader cannot do. A
//! connection of a type only known to be a [`TypedConnection`](crate::TypedConnection) (a
//! generic helper's) may be a reader: it runs what a reader runs.

use crate::database::Database;
use crate::roles::Writer;

/// A statement that writes: runs on a [`Writer`] only.
#[diagnostic::on_unimplemented(
    message = "`{C}` cannot run this query: a reader runs only read-only queries",
    label = "this connection can only read",
    note = "a write belongs in a `#[route(write)]` function, whose `Writer` runs any query",
    note = "a helper generic over its connection may be given a reader: to write, take `&mut Writer<'_, D>`"
)]
pub trait WritesOn<C> {}

impl<D: Database, Q> WritesOn<Writer<'_, D>> for Q {}

/// A `SELECT` with a row lock: runs on a [`Writer`] only.
#[diagnostic::on_unimplemented(
    message = "`{C}` cannot lock rows: `FOR UPDATE`, `FOR SHARE` and the other row locks need a writer",
    label = "this connection can only read",
    note = "a lock protects rows about to be written: take it in the `#[route(write)]` function that writes them"
)]
pub trait LocksOn<C> {}

impl<D: Database, Q> LocksOn<Writer<'_, D>> for Q {}

/// Raw SQL not marked as a read: runs on a [`Writer`] only.
#[diagnostic::on_unimplemented(
    message = "`{C}` cannot run raw SQL as it is: the types cannot see whether it writes",
    label = "this connection can only read",
    note = "raw SQL that only reads runs on a reader as `diesel_route::raw_read(query)`; the reader's session refuses a write hidden in it",
    note = "raw SQL that writes belongs in a `#[route(write)]` function"
)]
pub trait RawSqlOn<C> {}

impl<D: Database, Q> RawSqlOn<Writer<'_, D>> for Q {}
