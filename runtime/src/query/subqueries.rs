//! The database check of the tables a statement reads in its expressions: the subqueries of
//! `exists`, `eq_any`, `ne_all` and `single_value`, at any depth.
//!
//! Expressions are made of diesel's node types and of the user's own (a function declared
//! with `define_sql_function!`), so no impl per node type could cover them. Diesel already
//! walks every expression when it checks that its columns appear in the query's `FROM`
//! clause: `AppearsOnTable<QS>`, implemented for every node, user's included. The check
//! asks diesel that same question with a `FROM` clause of its own, [`Scope<F, D>`]: the
//! statement's real sources `F`, plus "the tables of database `D`".
//!
//! - A column of `F` appears in `Scope<F, D>` as in `F`.
//! - A subquery asks diesel whether its `FROM` tables and `WHERE` clause fit the outer
//!   query (`ValidSubselect`): they are counted in `Join<Sub, Scope<F, D>>`, where
//!   `Scope<F, D>` counts a table that is not in `F` only if it belongs to `D`.
//!   A subquery of a table of another database fails there, at any depth.
//!
//! The statement's clauses are reached without naming diesel's private clause types: the
//! select list through `SelectClauseExpression::Selection`, the `WHERE` clause by building
//! a statement type of the same `WHERE` clause over `Scope<F, D>` and asking diesel whether
//! it is a valid query (`Synth`), `ORDER BY` through `OrderClause`. The failure happens deep
//! in diesel's traits; the check traits are implemented with `#[diagnostic::do_not_recommend]`
//! so that the error is reported at them, with their message.
//!
//! Diesel does not look into some parts of a statement, so neither can this check (see
//! `docs/architecture.md`): `HAVING` and `GROUP BY`, the select list and `ORDER BY` of a
//! subquery, boxed subqueries, the parts of a boxed query, `INSERT` values and sources,
//! `UPDATE ... SET`.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, BoxableExpression, Expression, SelectableExpression, ValidGrouping,
    is_aggregate,
};
use diesel::internal::derives::multiconnection::{Exists, SelectStatementAccessor};
use diesel::query_builder::{
    FromClause, NoFromClause, NoOrderClause, OrderClause, Query, SelectClauseExpression,
    SelectStatement,
};
use diesel::query_source::{AppearsInFromClause, MoreThanOnce, Never, Once, QuerySource};

use super::membership::InDatabase;

/// A `FROM` clause for the check: the sources `F` of the statement, and the tables of
/// database `D`.
pub struct Scope<F, D>(PhantomData<fn() -> (F, D)>);

impl<F, D> Clone for Scope<F, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F, D> Copy for Scope<F, D> {}

/// The sources of a statement without `FROM`.
#[derive(Debug, Clone, Copy)]
pub struct Nothing;

impl<T> AppearsInFromClause<T> for Nothing {
    type Count = Never;
}

/// A table appears in `Scope<F, D>` as often as in `F`. When it is not in `F` (the table of
/// a subquery), it must belong to `D`.
impl<F, D, T> AppearsInFromClause<T> for Scope<F, D>
where
    F: AppearsInFromClause<T>,
    (F::Count, T): Counted<D>,
{
    type Count = F::Count;
}

/// `(count in F, table)`: a table of `F` is checked elsewhere; any other must be in `D`.
pub trait Counted<D> {}

impl<T, D> Counted<D> for (Once, T) {}
impl<T, D> Counted<D> for (MoreThanOnce, T) {}
impl<T: InDatabase<D>, D> Counted<D> for (Never, T) {}

impl<F, D> QuerySource for Scope<F, D> {
    type FromClause = ();
    type DefaultSelection = NoColumns<F, D>;

    fn from_clause(&self) -> Self::FromClause {}

    fn default_selection(&self) -> Self::DefaultSelection {
        NoColumns(PhantomData)
    }
}

/// The columns of a `Scope`: none (it is never selected from).
pub struct NoColumns<F, D>(PhantomData<fn() -> (F, D)>);

impl<F, D> Clone for NoColumns<F, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F, D> Copy for NoColumns<F, D> {}

impl<F, D> Expression for NoColumns<F, D> {
    type SqlType = diesel::sql_types::Bool;
}

impl<F, D, QS> AppearsOnTable<QS> for NoColumns<F, D> {}

impl<F, D> SelectableExpression<Scope<F, D>> for NoColumns<F, D> {}

impl<F, D, GB> ValidGrouping<GB> for NoColumns<F, D> {
    type IsAggregate = is_aggregate::Never;
}

/// A boxed expression of the statement's sources (a filter built at run time) appears in
/// its scope. What it holds was erased by diesel: its subqueries cannot be checked.
impl<'a, F, D, DB, GB, IsAggregate, ST> AppearsOnTable<Scope<F, D>>
    for Box<dyn BoxableExpression<F, DB, GB, IsAggregate, SqlType = ST> + 'a>
where
    DB: Backend,
    Self: Expression,
{
}

/// The `Scope` of a statement's `FROM` clause.
pub trait ScopeOf<D> {
    /// `Scope<F, D>`.
    type Scope: QuerySource;
}

impl<D, F: QuerySource> ScopeOf<D> for FromClause<F> {
    type Scope = Scope<F, D>;
}

impl<D> ScopeOf<D> for NoFromClause {
    type Scope = Scope<Nothing, D>;
}

/// An `ORDER BY` clause whose expressions appear in `QS`.
pub trait OrderIn<QS> {}

impl<QS> OrderIn<QS> for NoOrderClause {}

impl<QS, E: AppearsOnTable<QS>> OrderIn<QS> for OrderClause<E> {}

/// A `SELECT` over `F` with the `WHERE` clause `W` (and nothing else): the statement diesel
/// is asked to validate in order to check `W`.
pub(crate) type Synth<F, W> = SelectStatement<
    F,
    <SelectStatement<F> as SelectStatementAccessor>::Select,
    <SelectStatement<F> as SelectStatementAccessor>::Distinct,
    W,
>;

/// A statement whose subqueries read only tables of database `D`.
#[diagnostic::on_unimplemented(
    message = "a subquery of this query reads a table that does not belong to database `{D}`",
    label = "this connection is to database `{D}`",
    note = "every table in `exists`, `eq_any`, `ne_all` and `single_value` subqueries must belong to the connection's database: query the other database in a function routed to it, and combine the results in Rust"
)]
pub trait Subqueries<D> {}

#[diagnostic::do_not_recommend]
impl<D, F, S, Di, W, O, LOf, G, H, LC> Subqueries<D>
    for SelectStatement<F, S, Di, W, O, LOf, G, H, LC>
where
    F: ScopeOf<D>,
    S: SelectClauseExpression<F>,
    S::Selection: AppearsOnTable<F::Scope>,
    O: OrderIn<F::Scope>,
    Synth<FromClause<F::Scope>, W>: Query,
{
}

/// The `WHERE` clause of an `UPDATE` or `DELETE` of table `T`, whose subqueries read only
/// tables of database `D`.
#[diagnostic::on_unimplemented(
    message = "a subquery in the `WHERE` clause of this statement reads a table that does not belong to database `{D}`",
    label = "this connection is to database `{D}`",
    note = "every table in `exists`, `eq_any` and `ne_all` subqueries must belong to the connection's database"
)]
pub trait WhereIn<T, D> {}

#[diagnostic::do_not_recommend]
impl<T, D, W> WhereIn<T, D> for W
where
    T: QuerySource,
    Synth<FromClause<Scope<T, D>>, W>: Query,
{
}

/// A `UNION`, `INTERSECT` or `EXCEPT` whose selects read only tables of database `D`:
/// diesel checks each select's `FROM` and `WHERE` clauses against `Scope<Nothing, D>`, as
/// it checks the subquery of an `exists`.
#[diagnostic::on_unimplemented(
    message = "a select of this compound query reads a table that does not belong to database `{D}`",
    label = "this connection is to database `{D}`",
    note = "every select of a `union`, `intersect` or `except` must read tables of the connection's database"
)]
pub trait CompoundIn<D> {}

#[diagnostic::do_not_recommend]
impl<D, Q> CompoundIn<D> for Q where Exists<Q>: AppearsOnTable<Scope<Nothing, D>> {}
