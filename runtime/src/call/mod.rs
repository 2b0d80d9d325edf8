//! A routed call: where its connection comes from (its [source](source)), its trace span,
//! and the arguments a read keeps to run again. Generated code drives it.

pub(crate) mod retry;
pub(crate) mod source;

use std::time::Instant;

use self::source::{Origin, ReadSource, Via, WriteSource};
use crate::database::Database;
use crate::error::{Error, Role};
use crate::roles::{ReadLease, WriteLease};
use crate::seal::Sealed;
use crate::server::Server;

/// One call of a routed function: its trace span, and the checkout recorded in it.
#[doc(hidden)]
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
