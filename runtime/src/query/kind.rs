//! What kind of statement a query is: a `SELECT`, a locked `SELECT`, an `INSERT`, raw
//! SQL... Each kind has its own checks ([`CanRun`](super::CanRun)).
//!
//! The compiler finds the kind: [`Statement<K>`] has one implementation per kind, and the
//! query methods leave `K` to inference, which keeps the one implementation whose
//! conditions hold. Because the implementations are for different traits (`Statement<Select>`,
//! `Statement<Compound>`, ...), they may overlap on paper; the conditions tell them apart.
//! That is how the checks reach diesel types that cannot be named outside diesel: a
//! `UNION` is the one query with `positional_order_by`, a bound `sql_query` one with rows
//! of no SQL type, a locked `SELECT` one whose lock can be modified.

use diesel::expression::expression_types::Untyped;
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::query_builder::{
    BoxedDeleteStatement, BoxedSelectStatement, BoxedSqlQuery, BoxedUpdateStatement,
    DeleteStatement, FromClause, InsertStatement, Query, SelectStatement, UpdateStatement,
};
use diesel::query_dsl::methods::ModifyLockDsl;
use diesel::query_dsl::positional_order_dsl::PositionalOrderDsl;
use diesel::query_source::QuerySource;

use super::raw::RawSql;
use super::subqueries::Synth;

/// The kinds of statement, the second parameter of [`RunQueryDsl`](crate::RunQueryDsl),
/// found by the compiler.
pub mod kinds {
    /// A `SELECT` without a row lock.
    #[derive(Debug)]
    pub enum Select {}
    /// A `SELECT ... FOR UPDATE` (or another row lock).
    #[derive(Debug)]
    pub enum Locked {}
    /// A `SELECT` turned into a `BoxedSelectStatement`.
    #[derive(Debug)]
    pub enum Boxed {}
    /// A `UNION`, `INTERSECT` or `EXCEPT` of selects.
    #[derive(Debug)]
    pub enum Compound {}
    /// An `INSERT` (upserts and `INSERT ... SELECT` too).
    #[derive(Debug)]
    pub enum Insert {}
    /// An `UPDATE`.
    #[derive(Debug)]
    pub enum Update {}
    /// An `UPDATE` turned into a `BoxedUpdateStatement`.
    #[derive(Debug)]
    pub enum BoxedUpdate {}
    /// A `DELETE`.
    #[derive(Debug)]
    pub enum Delete {}
    /// A `DELETE` turned into a `BoxedDeleteStatement`.
    #[derive(Debug)]
    pub enum BoxedDelete {}
    /// Raw SQL: `sql_query`, with or without `.bind`.
    #[derive(Debug)]
    pub enum Sql {}
    /// Raw SQL: `sql_query(...).into_boxed()`.
    #[derive(Debug)]
    pub enum BoxedSql {}
    /// Raw SQL: `diesel::dsl::sql`, run as a query.
    #[derive(Debug)]
    pub enum Literal {}
    /// A query marked with [`raw_read`](crate::raw_read) or [`raw_write`](crate::raw_write).
    #[derive(Debug)]
    pub enum Marked {}
}

use self::kinds::{
    Boxed, BoxedDelete, BoxedSql, BoxedUpdate, Compound, Delete, Insert, Literal, Locked, Marked,
    Select, Sql, Update,
};

/// A query of kind `K`. Sealed: its implementations are the query types diesel-route knows.
#[diagnostic::on_unimplemented(
    message = "diesel-route cannot tell what `{Self}` does, so it cannot check it",
    label = "not a statement diesel-route knows",
    note = "typed connections run diesel's statements: `SELECT`s (also boxed or combined with `union`), `INSERT`, `UPDATE`, `DELETE` and `sql_query`"
)]
pub trait Statement<K>: sealed::Sealed<K> {}

mod sealed {
    pub trait Sealed<K> {}
}

macro_rules! statement {
    ($kind:ty: impl<$($param:tt),*> for $ty:ty $(where $($bound:tt)*)?) => {
        impl<$($param),*> Statement<$kind> for $ty $(where $($bound)*)? {}
        impl<$($param),*> sealed::Sealed<$kind> for $ty $(where $($bound)*)? {}
    };
}

statement!(Select: impl<F, S, D, W, O, LOf, G, H> for SelectStatement<F, S, D, W, O, LOf, G, H>);
statement!(Locked: impl<F, S, D, W, O, LOf, G, H, LC> for SelectStatement<F, S, D, W, O, LOf, G, H, LC>
    where Self: ModifyLockDsl<()>);
statement!(Boxed: impl<'a, ST, QS, DB, GB> for BoxedSelectStatement<'a, ST, QS, DB, GB>);
statement!(Compound: impl<Q> for Q where Q: PositionalOrderDsl<u32>);
statement!(Insert: impl<T, U, Op, Ret> for InsertStatement<T, U, Op, Ret> where T: QuerySource);
statement!(Update: impl<T, U, V, Ret> for UpdateStatement<T, U, V, Ret>
    where T: QuerySource, Synth<FromClause<T>, U>: Query);
statement!(BoxedUpdate: impl<'a, DB, T, V, Ret> for BoxedUpdateStatement<'a, DB, T, V, Ret>
    where T: QuerySource);
statement!(Delete: impl<T, U, Ret> for DeleteStatement<T, U, Ret>
    where T: QuerySource, Synth<FromClause<T>, U>: Query);
statement!(BoxedDelete: impl<'a, DB, T, Ret> for BoxedDeleteStatement<'a, DB, T, Ret>
    where T: QuerySource);
// `sql_query` and its `.bind`, whose type diesel does not export: the queries of rows of no
// SQL type that diesel's own `RunQueryDsl` runs on any connection type.
statement!(Sql: impl<Q> for Q where Q: Query<SqlType = Untyped> + diesel::RunQueryDsl<()>);
statement!(BoxedSql: impl<'f, DB, Q> for BoxedSqlQuery<'f, DB, Q> where DB: diesel::backend::Backend);
statement!(Literal: impl<ST, T> for SqlLiteral<ST, T>);
statement!(Literal: impl<Q, V> for UncheckedBind<Q, V>);
statement!(Marked: impl<Q, M, K> for RawSql<Q, M, K>);
