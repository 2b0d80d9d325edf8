//! What generated code reaches, and nothing else should: `::diesel_route::__private`.
//! Not part of the public API; it changes without notice.

use std::cell::Cell;
use std::time::Instant;

pub use tracing::Instrument;

pub use crate::database::{Catalog, Database, Declared};
pub use crate::error::{Error, Role};
pub use crate::query::{BatchExecuteOnReader, InDatabase, SameDatabase};
pub use crate::roles::lease::{Finished, Outcome, RouteResult};
pub use crate::roles::source::Origin;
use crate::roles::source::Via;
pub use crate::roles::{
    ReadLease, ReadSource, Reader, TypedConnection, WriteLease, WriteSource, Writer,
};
pub use crate::topology::Server;

/// A token only this crate can make: methods that take it are callable from here alone.
#[derive(Debug)]
pub struct Sealed(pub(crate) ());

/// Names a type in a position where an error is also emitted (see `backend/declare.rs`).
pub trait StandIn<const ERROR: usize> {
    /// `Self`.
    type Is;
}

impl<T, const ERROR: usize> StandIn<ERROR> for T {
    type Is = T;
}

/// One call of a routed function: its trace span, and the checkout recorded in it.
pub struct RouteCall<D: Database> {
    span: tracing::Span,
    _database: std::marker::PhantomData<fn() -> D>,
}

impl<D: Database> RouteCall<D> {
    /// Opens the span of a read call to `function`, whose connection comes from `source`.
    pub fn read(function: &'static str, source: &(dyn ReadSource<D> + Send)) -> Self {
        Self::new(function, Role::Reader, source.parent_span(Sealed(())))
    }

    /// Opens the span of a write call to `function`, whose connection comes from `source`.
    pub fn write(function: &'static str, source: &(dyn WriteSource<D> + Send)) -> Self {
        Self::new(function, Role::Writer, source.parent_span(Sealed(())))
    }

    /// The span's parent is the current span, as usual; `fallback` (a session's span) when
    /// there is none, as in a task spawned without one: calls made through a request's
    /// session stay in that request's trace.
    fn new(function: &'static str, role: Role, fallback: Option<&tracing::Span>) -> Self {
        use crate::backend::Backend;
        macro_rules! route_span {
            ($($parent:tt)*) => {
                tracing::info_span!(
                    $($parent)*
                    "route",
                    function,
                    database = D::KEY,
                    role = role.as_str(),
                    db.system = D::Connection::NAME,
                    server = tracing::field::Empty,
                    server.address = tracing::field::Empty,
                    server.port = tracing::field::Empty,
                    wait_us = tracing::field::Empty,
                )
            };
        }
        let span = match fallback {
            Some(parent) if tracing::Span::current().is_none() => route_span!(parent: parent,),
            _ => route_span!(),
        };
        Self {
            span,
            _database: std::marker::PhantomData,
        }
    }

    /// The span the call's future runs in.
    pub fn span(&self) -> tracing::Span {
        self.span.clone()
    }

    /// Gets the reader's connection from `source`.
    ///
    /// # Errors
    ///
    /// When no connection can be checked out.
    pub async fn read_lease<'s>(
        &self,
        source: &'s mut (dyn ReadSource<D> + Send),
    ) -> Result<ReadLease<'s, D>, Error> {
        let started = self.started();
        let mut lease = match source.read_origin(Sealed(())) {
            Origin(Via::Router(router)) => {
                let cluster = router.cluster::<D>()?;
                ReadLease::checkout(cluster.reader().await?, cluster)
            }
            Origin(Via::Held(conn)) => ReadLease::borrow(conn),
            Origin(Via::Session(session)) => session.read_lease().await?,
        };
        self.record(lease.server(), started);
        Ok(lease)
    }

    /// Gets the writer's connection from `source`.
    ///
    /// # Errors
    ///
    /// When no connection can be checked out.
    pub async fn write_lease<'s>(
        &self,
        source: &'s mut (dyn WriteSource<D> + Send),
    ) -> Result<WriteLease<'s, D>, Error> {
        let started = self.started();
        let mut lease = match source.write_origin(Sealed(())) {
            Origin(Via::Router(router)) => {
                let cluster = router.cluster::<D>()?;
                WriteLease::checkout(cluster.writer().await?, cluster)
            }
            Origin(Via::Held(conn)) => WriteLease::borrow(conn),
            Origin(Via::Session(session)) => session.write_lease().await?,
        };
        self.record(lease.server(), started);
        Ok(lease)
    }

    /// When the checkout started, if the span is there to record it: no clock read else.
    fn started(&self) -> Option<Instant> {
        (!self.span.is_disabled()).then(Instant::now)
    }

    fn record(&self, server: &Server, started: Option<Instant>) {
        let Some(started) = started else {
            return;
        };
        let wait = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.span.record("server", server.name());
        if let Some(host) = server.url().host() {
            self.span.record("server.address", host);
        }
        if let Some(port) = server.url().port() {
            self.span.record("server.port", port);
        }
        self.span.record("wait_us", wait);
    }
}

/// The replica selection step alone, for benchmarks: the server a read of `D` would go to.
///
/// # Errors
///
/// When `D` is not in the router, or no server can serve reads.
pub fn pick_reader<D: Database>(router: &crate::Router) -> Result<&Server, Error> {
    router.cluster::<D>()?.pick_reader().map(|server| &**server)
}

/// An argument of a routed read function, kept so that the body can run again when its
/// connection dies. `(&arg).next()` hands out a clone when the argument's type is `Clone`
/// (`ArgClone`), else the argument itself, once (`ArgOnce`): a body whose arguments cannot
/// be given again is not retried.
pub struct Arg<T>(Cell<Option<T>>);

impl<T> Arg<T> {
    /// Keeps `value`.
    pub fn new(value: T) -> Self {
        Self(Cell::new(Some(value)))
    }
}

/// [`Arg`] of a `Clone` type: any number of attempts.
pub trait ArgClone<T> {
    /// The argument for one attempt.
    fn next(&self) -> Option<T>;
    /// Whether the argument can be given again.
    fn repeatable(&self) -> bool;
}

impl<T: Clone> ArgClone<T> for Arg<T> {
    fn next(&self) -> Option<T> {
        let value = self.0.take();
        let next = value.clone();
        self.0.set(value);
        next
    }

    fn repeatable(&self) -> bool {
        true
    }
}

/// [`Arg`] of any other type: one attempt. Picked by method resolution only where
/// [`ArgClone`] does not apply (autoref specialization).
pub trait ArgOnce<T> {
    /// The argument for the one attempt.
    fn next(&self) -> Option<T>;
    /// Never.
    fn repeatable(&self) -> bool;
}

impl<T> ArgOnce<T> for &Arg<T> {
    fn next(&self) -> Option<T> {
        self.0.take()
    }

    fn repeatable(&self) -> bool {
        false
    }
}
