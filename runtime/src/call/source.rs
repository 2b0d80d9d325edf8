//! Where a routed function gets its connection: the router checks one out for the call; a
//! typed connection the caller already holds is lent, so that routed functions compose.
//!
//! Routed functions take their source as `&mut dyn ReadSource<D>` (or `WriteSource<D>`):
//! a concrete parameter type, so that a caller passing the wrong source gets one error at
//! the argument, and passing `conn` on reborrows it instead of moving it.

use crate::database::Database;
use crate::error::Role;
use crate::roles::{Reader, Writer};
use crate::seal::Sealed;
use crate::session::Session;
use crate::topology::{Deadline, Pooled, Router};

/// Something a `#[route(read)]` function of database `D` can get its reader from: a
/// [`Router`], a request [`Session`], or a `Reader<D>` or `Writer<D>` the caller holds.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serve reads of database `{D}`",
    label = "this is not a connection source for database `{D}`",
    note = "pass `&mut router`, a request session, or the `conn` of a routed function of database `{D}`"
)]
pub trait ReadSource<D: Database>: Send {
    #[doc(hidden)]
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D>;

    /// The span a call's `route` span falls back to as its parent when no span is current:
    /// a session's.
    #[doc(hidden)]
    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        None
    }

    /// The deadline of a read call's attempt: the database's `read_timeout`, for a source
    /// that checks out connections; none for a connection the caller holds.
    #[doc(hidden)]
    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        None
    }
}

/// Something a `#[route(write)]` function of database `D` can get its writer from: a
/// [`Router`], a request [`Session`], or a `Writer<D>` the caller holds. Never a `Reader`: a read function cannot
/// call a write function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serve writes to database `{D}`",
    label = "a write function needs a writer of database `{D}`",
    note = "a read function cannot call a write function: make the caller `#[route(write)]`; its `Writer` can call both read and write functions"
)]
pub trait WriteSource<D: Database>: Send {
    #[doc(hidden)]
    fn write_origin(&mut self, _: Sealed) -> Origin<'_, D>;

    /// As [`ReadSource::parent_span`].
    #[doc(hidden)]
    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        None
    }

    /// The deadline of a write call: the database's `write_timeout`, for a source that
    /// checks out connections; none for a connection the caller holds.
    #[doc(hidden)]
    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        None
    }
}

/// Where a call's connection comes from.
#[doc(hidden)]
pub struct Origin<'s, D: Database>(pub(crate) Via<'s, D>);

pub(crate) enum Via<'s, D: Database> {
    /// Check one out of the router's pools.
    Router(&'s Router),
    /// Borrow the caller's.
    Held(&'s mut Pooled<D::Connection>),
    /// The session's, checked out on its first use.
    Session(&'s mut Session),
}

impl<D: Database> ReadSource<D> for Router {
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Router(self))
    }

    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        self.deadline::<D>(Role::Reader)
    }
}

impl<D: Database> WriteSource<D> for Router {
    fn write_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Router(self))
    }

    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        self.deadline::<D>(Role::Writer)
    }
}

impl<D: Database> ReadSource<D> for Reader<'_, D> {
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Held(self.pooled()))
    }
}

impl<D: Database> ReadSource<D> for Writer<'_, D> {
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Held(self.pooled()))
    }
}

impl<D: Database> WriteSource<D> for Writer<'_, D> {
    fn write_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Held(self.pooled()))
    }
}

impl<D: Database> ReadSource<D> for Session {
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Session(self))
    }

    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        Some(self.span())
    }

    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        self.router().deadline::<D>(Role::Reader)
    }
}

impl<D: Database> WriteSource<D> for Session {
    fn write_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Session(self))
    }

    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        Some(self.span())
    }

    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        self.router().deadline::<D>(Role::Writer)
    }
}
