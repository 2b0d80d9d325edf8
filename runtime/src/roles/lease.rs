//! A routed call's hold on its connection: checked out of a pool for this call, or borrowed
//! from the caller's typed connection. Ending the lease settles the call: its transaction,
//! and what to do when the connection died under it (retry a read elsewhere; tell a write's
//! caller whether it may have been committed).

use std::marker::PhantomData;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::TransactionManager;

use super::{Reader, Writer};
use crate::backend::Backend;
use crate::database::Database;
use crate::error::Error;
use crate::server::Server;
use crate::topology::{Checkout, Cluster, Pooled};

/// The connection of one routed call, for a reader (`Lease<'s, D, ForRead>`) or a writer
/// (`ForWrite`). Generated code holds it; it is not for direct use.
#[doc(hidden)]
pub struct Lease<'s, D: Database, Role> {
    held: Held<'s, D>,
    _role: PhantomData<Role>,
}

/// The lease of a read call.
#[doc(hidden)]
pub type ReadLease<'s, D> = Lease<'s, D, ForRead>;

/// The lease of a write call.
#[doc(hidden)]
pub type WriteLease<'s, D> = Lease<'s, D, ForWrite>;

/// The role of a read call's lease.
#[doc(hidden)]
pub enum ForRead {}

/// The role of a write call's lease.
#[doc(hidden)]
pub enum ForWrite {}

/// How a read call ended.
#[doc(hidden)]
pub enum Finished<R> {
    /// With this result.
    Done(R),
    /// Its connection died: run it again, on a connection checked out anew.
    Retry,
}

struct Held<'s, D: Database> {
    conn: Conn<'s, D::Connection>,
    /// For a connection this call checked out: its cluster, told when the connection dies.
    /// `None` for a borrowed one, which the caller's own call settles.
    cluster: Option<&'s Cluster<D>>,
    in_transaction: bool,
    /// The connection holds a request session's transaction, begun before this call.
    in_request_transaction: bool,
}

enum Conn<'s, C: Backend> {
    Checkout(Checkout<C>),
    Borrowed(&'s mut Pooled<C>),
    /// A request session's connection: settled like a checkout, but kept by the session
    /// after the call.
    Kept(&'s mut Pooled<C>),
}

impl<'s, D: Database, Role> Lease<'s, D, Role> {
    fn new(held: Held<'s, D>) -> Self {
        Self {
            held,
            _role: PhantomData,
        }
    }

    pub(crate) fn checkout(conn: Checkout<D::Connection>, cluster: &'s Cluster<D>) -> Self {
        Self::new(Held::checkout(conn, cluster))
    }

    pub(crate) fn borrow(conn: &'s mut Pooled<D::Connection>) -> Self {
        Self::new(Held::borrow(conn))
    }

    /// A request session's connection; `in_request_transaction` when the session's
    /// transaction is open on it.
    pub(crate) fn kept(
        conn: &'s mut Pooled<D::Connection>,
        cluster: &'s Cluster<D>,
        in_request_transaction: bool,
    ) -> Self {
        Self::new(Held::kept(conn, cluster, in_request_transaction))
    }

    /// The server the call is on.
    pub fn server(&mut self) -> &Server {
        &self.held.pooled().server
    }

    /// Opens a transaction (a savepoint when the caller's connection is in one already).
    ///
    /// # Errors
    ///
    /// The database's refusal, or a lost connection.
    pub async fn begin(&mut self) -> Result<(), Error> {
        self.held.begin().await
    }
}

impl<D: Database> Lease<'_, D, ForRead> {
    /// The reader the function body gets.
    pub fn reader(&mut self) -> Reader<'_, D> {
        Reader::new(self.held.pooled())
    }

    /// Ends the call. A call whose own connection died is retried when `may_retry` (its
    /// first attempt, with arguments it can be given again): reads are safe to run again.
    pub async fn finish<R>(
        mut self,
        result: R,
        outcome: &Outcome<R>,
        may_retry: bool,
    ) -> Finished<R> {
        let result = self.held.settle(result, outcome).await;
        if outcome.is_ok(&result) || !self.held.lost().await || !may_retry {
            return Finished::Done(result);
        }
        Finished::Retry
    }
}

impl<D: Database> Lease<'_, D, ForWrite> {
    /// The writer the function body gets.
    pub fn writer(&mut self) -> Writer<'_, D> {
        Writer::new(self.held.pooled())
    }

    /// Ends the call: commits its transaction on `Ok`, rolls it back on `Err`. A write is
    /// never retried: when its connection died, the error says whether it may have been
    /// committed (a statement outside a transaction may have been; an uncommitted
    /// transaction was rolled back by the server).
    pub async fn finish<R>(mut self, result: R, outcome: &Outcome<R>) -> R {
        let in_transaction = self.held.in_transaction || self.held.in_request_transaction;
        let result = self.held.settle(result, outcome).await;
        if outcome.is_ok(&result) || !self.held.lost().await {
            return result;
        }
        outcome.failed(Error::ConnectionLost {
            commit_unknown: !in_transaction,
            source: DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                Box::new("the connection died during the call".to_owned()),
            ),
        })
    }
}

impl<'s, D: Database> Held<'s, D> {
    fn checkout(conn: Checkout<D::Connection>, cluster: &'s Cluster<D>) -> Self {
        Self {
            conn: Conn::Checkout(conn),
            cluster: Some(cluster),
            in_transaction: false,
            in_request_transaction: false,
        }
    }

    fn borrow(conn: &'s mut Pooled<D::Connection>) -> Self {
        Self {
            conn: Conn::Borrowed(conn),
            cluster: None,
            in_transaction: false,
            in_request_transaction: false,
        }
    }

    /// A session's connection is settled like one checked out for the call (the cluster
    /// hears of its death), but stays with the session.
    fn kept(
        conn: &'s mut Pooled<D::Connection>,
        cluster: &'s Cluster<D>,
        in_request_transaction: bool,
    ) -> Self {
        Self {
            conn: Conn::Kept(conn),
            cluster: Some(cluster),
            in_transaction: false,
            in_request_transaction,
        }
    }

    fn pooled(&mut self) -> &mut Pooled<D::Connection> {
        match &mut self.conn {
            Conn::Checkout(conn) => conn,
            Conn::Borrowed(conn) | Conn::Kept(conn) => conn,
        }
    }

    async fn begin(&mut self) -> Result<(), Error> {
        type Manager<C> = <C as diesel_async::AsyncConnection>::TransactionManager;
        Manager::<D::Connection>::begin_transaction(&mut self.pooled().raw).await?;
        self.in_transaction = true;
        Ok(())
    }

    /// Commits on success, rolls back on failure, and marks a failed call's connection for a
    /// ping before its next use.
    async fn settle<R>(&mut self, result: R, outcome: &Outcome<R>) -> R {
        type Manager<C> = <C as diesel_async::AsyncConnection>::TransactionManager;
        let ok = outcome.is_ok(&result);
        let in_transaction = self.in_transaction;
        let raw = &mut self.pooled().raw;
        let result = match (in_transaction, ok) {
            (false, _) => result,
            (true, true) => match Manager::<D::Connection>::commit_transaction(raw).await {
                Ok(()) => result,
                Err(error) => outcome.failed(commit_failed(error)),
            },
            (true, false) => {
                // A failed rollback leaves the transaction manager broken: the pool then
                // discards the connection.
                let _ = Manager::<D::Connection>::rollback_transaction(raw).await;
                result
            }
        };
        self.in_transaction = false;
        if !outcome.is_ok(&result) {
            self.pooled().mark_suspect();
        }
        result
    }

    /// After a failure: whether this call's own connection died. Its server then leaves the
    /// read rotation until it answers health checks again. A borrowed connection is the
    /// caller's to judge.
    async fn lost(&mut self) -> bool {
        let Some(cluster) = self.cluster else {
            return false;
        };
        let conn = self.pooled();
        let lost = conn.raw.is_lost().await;
        conn.counters.failed_call(lost);
        if lost {
            conn.mark_lost();
            cluster.connection_lost(&conn.server);
        }
        lost
    }
}

/// A commit whose answer never came may have taken effect: say so.
pub(crate) fn commit_failed(error: DieselError) -> Error {
    match Error::from(error) {
        Error::ConnectionLost { source, .. } => Error::ConnectionLost {
            commit_unknown: true,
            source,
        },
        other => other,
    }
}

/// What a routed function returns: a `Result` whose error can hold a [`Error`], so that a
/// failed checkout or commit can be returned.
#[diagnostic::on_unimplemented(
    message = "a routed function must return `Result<_, E>` where `E: From<diesel_route::Error>`, not `{Self}`",
    label = "checking out a connection can fail, so the function must be able to return `diesel_route::Error`",
    note = "return `diesel_route::Result<T>`, or an error type with `impl From<diesel_route::Error>`"
)]
pub trait RouteResult: Sized {
    /// The result of a call that failed before or after its body ran.
    fn from_route_error(error: Error) -> Self;

    /// Whether the call succeeded.
    fn is_ok(&self) -> bool;
}

impl<T, E: From<Error>> RouteResult for Result<T, E> {
    fn from_route_error(error: Error) -> Self {
        Err(E::from(error))
    }

    fn is_ok(&self) -> bool {
        Result::is_ok(self)
    }
}

/// [`RouteResult`]'s functions for the call's result type `R`, captured once: the one place
/// generated code requires `R: RouteResult`, so that a wrong return type is one error.
#[doc(hidden)]
pub struct Outcome<R> {
    failed: fn(Error) -> R,
    is_ok: fn(&R) -> bool,
}

impl<R: RouteResult> Outcome<R> {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            failed: R::from_route_error,
            is_ok: R::is_ok,
        }
    }
}

impl<R> Outcome<R> {
    /// The result of a call that failed outside its body.
    pub fn failed(&self, error: Error) -> R {
        (self.failed)(error)
    }

    fn is_ok(&self, result: &R) -> bool {
        (self.is_ok)(result)
    }
}
