//! A routed call's hold on its connection: checked out of a pool for this call, or borrowed
//! from the caller's typed connection. Ending the lease settles the call's transaction.

use diesel_async::TransactionManager;

use super::{Reader, Writer};
use crate::backend::Backend;
use crate::database::Database;
use crate::error::Error;
use crate::topology::{Checkout, Pooled, Server};

/// The connection of one read call. Generated code holds it; it is not for direct use.
#[doc(hidden)]
pub struct ReadLease<'s, D: Database> {
    held: Held<'s, D::Connection>,
}

/// The connection of one write call. Generated code holds it; it is not for direct use.
#[doc(hidden)]
pub struct WriteLease<'s, D: Database> {
    held: Held<'s, D::Connection>,
}

enum Held<'s, C: Backend> {
    Checkout {
        conn: Checkout<C>,
        in_transaction: bool,
    },
    Borrowed {
        conn: &'s mut Pooled<C>,
        in_transaction: bool,
    },
}

impl<'s, D: Database> ReadLease<'s, D> {
    pub(crate) fn checkout(conn: Checkout<D::Connection>) -> Self {
        Self {
            held: Held::checkout(conn),
        }
    }

    pub(crate) fn borrow(conn: &'s mut Pooled<D::Connection>) -> Self {
        Self {
            held: Held::borrow(conn),
        }
    }

    /// The reader the function body gets.
    pub fn reader(&mut self) -> Reader<'_, D> {
        Reader::new(self.held.pooled())
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

    /// Ends the call: settles its transaction, and marks the connection for a ping when the
    /// call failed (the failure may have been the connection dying).
    pub async fn finish<R>(mut self, result: R, outcome: &Outcome<R>) -> R {
        self.held.finish(result, outcome).await
    }
}

impl<'s, D: Database> WriteLease<'s, D> {
    pub(crate) fn checkout(conn: Checkout<D::Connection>) -> Self {
        Self {
            held: Held::checkout(conn),
        }
    }

    pub(crate) fn borrow(conn: &'s mut Pooled<D::Connection>) -> Self {
        Self {
            held: Held::borrow(conn),
        }
    }

    /// The writer the function body gets.
    pub fn writer(&mut self) -> Writer<'_, D> {
        Writer::new(self.held.pooled())
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

    /// Ends the call: commits its transaction on `Ok`, rolls it back on `Err`.
    pub async fn finish<R>(mut self, result: R, outcome: &Outcome<R>) -> R {
        self.held.finish(result, outcome).await
    }
}

impl<'s, C: Backend> Held<'s, C> {
    fn checkout(conn: Checkout<C>) -> Self {
        Self::Checkout {
            conn,
            in_transaction: false,
        }
    }

    fn borrow(conn: &'s mut Pooled<C>) -> Self {
        Self::Borrowed {
            conn,
            in_transaction: false,
        }
    }

    fn pooled(&mut self) -> &mut Pooled<C> {
        match self {
            Self::Checkout { conn, .. } => conn,
            Self::Borrowed { conn, .. } => conn,
        }
    }

    fn in_transaction(&mut self) -> &mut bool {
        match self {
            Self::Checkout { in_transaction, .. } | Self::Borrowed { in_transaction, .. } => {
                in_transaction
            }
        }
    }

    async fn begin(&mut self) -> Result<(), Error> {
        C::TransactionManager::begin_transaction(&mut self.pooled().raw).await?;
        *self.in_transaction() = true;
        Ok(())
    }

    async fn finish<R>(&mut self, result: R, outcome: &Outcome<R>) -> R {
        let result = match *self.in_transaction() {
            true => self.settle_transaction(result, outcome).await,
            false => result,
        };
        if !outcome.is_ok(&result) {
            self.pooled().mark_suspect();
        }
        result
    }

    async fn settle_transaction<R>(&mut self, result: R, outcome: &Outcome<R>) -> R {
        let raw = &mut self.pooled().raw;
        if !outcome.is_ok(&result) {
            // The rollback's own failure leaves the transaction manager broken: the pool
            // then discards the connection.
            let _ = C::TransactionManager::rollback_transaction(raw).await;
            return result;
        }
        match C::TransactionManager::commit_transaction(raw).await {
            Ok(()) => result,
            Err(error) => outcome.failed(commit_failed(error)),
        }
    }
}

/// A commit whose answer never came may have taken effect: say so.
fn commit_failed(error: diesel::result::Error) -> Error {
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
