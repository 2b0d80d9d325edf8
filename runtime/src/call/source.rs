//! Where a routed function gets its connection: the router checks one out for the call; a
//! typed connection the caller already holds is lent, so that routed functions compose.
//!
//! Routed functions take their source as `&mut dyn ReadSource<D>` (or `WriteSource<D>`):
//! a concrete parameter type, so that a caller passing the wrong source gets one error at
//! the argument, and passing `conn` on reborrows it instead of moving it.
//!
//! Both traits are sealed: the types that implement them are the router, sessions (and
//! what derefs to one, such as the axum extractor) and the typed connections, a `Reader`
//! serving reads only. A reader's origin is marked as such, so that even a source a user
//! writes around a session cannot pass a reader's connection to a write.

use std::ops::Deref;

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
pub trait ReadSource<D: Database>: Send + sealed::Reads {
    #[doc(hidden)]
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D>;

    /// The span a call's `route` span falls back to as its parent when no span is current:
    /// a session's. No default: a new source must say, as it must for its deadline.
    #[doc(hidden)]
    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span>;

    /// The deadline of a read call's attempt: the database's `read_timeout`, for a source
    /// that checks out connections; none for a connection the caller holds.
    #[doc(hidden)]
    fn deadline(&self, _: Sealed) -> Option<Deadline>;
}

/// Something a `#[route(write)]` function of database `D` can get its writer from: a
/// [`Router`], a request [`Session`], or a `Writer<D>` the caller holds. Never a `Reader`:
/// a read function cannot call a write function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serve writes to database `{D}`",
    label = "a write function needs a writer of database `{D}`",
    note = "pass a write function `&mut router`, a request session, or the `Writer` of a `#[route(write)]` function of database `{D}` (its `conn`)",
    note = "a `#[route(read)]` function cannot call write functions, not even through a router or session it holds: a read may run twice, and its writes with it"
)]
pub trait WriteSource<D: Database>: Send + sealed::Writes {
    #[doc(hidden)]
    fn write_origin(&mut self, _: Sealed) -> Origin<'_, D>;

    /// As [`ReadSource::parent_span`].
    #[doc(hidden)]
    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span>;

    /// The deadline of a write call: the database's `write_timeout`, for a source that
    /// checks out connections; none for a connection the caller holds.
    #[doc(hidden)]
    fn deadline(&self, _: Sealed) -> Option<Deadline>;
}

/// Where a call's connection comes from.
#[doc(hidden)]
pub struct Origin<'s, D: Database>(pub(crate) Via<'s, D>);

pub(crate) enum Via<'s, D: Database> {
    /// Check one out of the router's pools.
    Router(&'s Router),
    /// Borrow the caller's writer (or a writer lent as a reader).
    Held(&'s mut Pooled<D::Connection>),
    /// Borrow the caller's reader: serves reads only.
    HeldByReader(&'s mut Pooled<D::Connection>),
    /// The session's, checked out on its first use.
    Session(&'s mut Session),
}

impl<D: Database> ReadSource<D> for Router {
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Router(self))
    }

    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        None
    }

    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        self.deadline::<D>(Role::Reader)
    }
}

impl<D: Database> WriteSource<D> for Router {
    fn write_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Router(self))
    }

    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        None
    }

    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        self.deadline::<D>(Role::Writer)
    }
}

impl<D: Database> ReadSource<D> for Reader<'_, D> {
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::HeldByReader(self.pooled()))
    }

    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        None
    }

    /// Runs within its caller's deadline.
    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        None
    }
}

impl<D: Database> ReadSource<D> for Writer<'_, D> {
    fn read_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Held(self.pooled()))
    }

    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        None
    }

    /// Runs within its caller's deadline.
    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        None
    }
}

impl<D: Database> WriteSource<D> for Writer<'_, D> {
    fn write_origin(&mut self, _: Sealed) -> Origin<'_, D> {
        Origin(Via::Held(self.pooled()))
    }

    fn parent_span(&self, _: Sealed) -> Option<&tracing::Span> {
        None
    }

    /// Runs within its caller's deadline.
    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        None
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

/// A router, session or request session given to a `#[route(read)]` function, as its body
/// sees it: it serves the read functions the body calls, and derefs to the source for its
/// other (`&self`) methods, but it is no [`WriteSource`], so that passing it to a write
/// function does not compile: a read may run twice, and its writes with it.
///
/// `#[route(read)]` gives the body this view of each parameter of type `Router`,
/// `Session` or `RequestSession` (by value or `&mut`). A write started through a source the
/// macro cannot see (a router in a global, one cloned from the view) is refused at run time,
/// before it checks out a connection, with [`Error::ReadOnly`](crate::Error::ReadOnly).
pub struct ReadsOnly<'s, S: ?Sized>(&'s mut S);

impl<'s, S: ?Sized> ReadsOnly<'s, S> {
    /// The read-only view of `source`.
    #[doc(hidden)]
    pub fn new(source: &'s mut S) -> Self {
        Self(source)
    }
}

impl<D: Database, S: ReadSource<D> + ?Sized> ReadSource<D> for ReadsOnly<'_, S> {
    fn read_origin(&mut self, sealed: Sealed) -> Origin<'_, D> {
        ReadSource::<D>::read_origin(&mut *self.0, sealed)
    }

    fn parent_span(&self, sealed: Sealed) -> Option<&tracing::Span> {
        ReadSource::<D>::parent_span(&*self.0, sealed)
    }

    fn deadline(&self, sealed: Sealed) -> Option<Deadline> {
        ReadSource::<D>::deadline(&*self.0, sealed)
    }
}

impl<S: ?Sized> Deref for ReadsOnly<'_, S> {
    type Target = S;

    fn deref(&self) -> &S {
        self.0
    }
}

impl<S: ?Sized> std::fmt::Debug for ReadsOnly<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadsOnly")
    }
}

mod sealed {
    use std::ops::DerefMut;

    use super::{Reader, ReadsOnly, Router, Session, Writer};
    use crate::database::Database;

    /// The sources of reads: the router, sessions, typed connections, read-only views.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a connection source: diesel-route's sources are sealed",
        label = "not a router, a session or a typed connection",
        note = "routed functions are given `&mut router`, a session, or the `conn` of another routed function"
    )]
    pub trait Reads {}
    /// The sources of writes: the router, sessions, writers. Never a reader.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot serve writes: diesel-route's sources are sealed",
        label = "only a router, a session or a `Writer` serves a write function",
        note = "a reader never serves a write: a `#[route(read)]` function cannot call write functions"
    )]
    pub trait Writes {}

    impl Reads for Router {}
    impl Writes for Router {}
    impl Reads for Session {}
    impl Writes for Session {}
    impl<D: Database> Reads for Reader<'_, D> {}
    impl<D: Database> Reads for Writer<'_, D> {}
    impl<D: Database> Writes for Writer<'_, D> {}
    impl<S: ?Sized> Reads for ReadsOnly<'_, S> {}

    /// What derefs to a session is one (the axum extractor `RequestSession`).
    impl<T: DerefMut<Target = Session>> Reads for T {}
    impl<T: DerefMut<Target = Session>> Writes for T {}
}
