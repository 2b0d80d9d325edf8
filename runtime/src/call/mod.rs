//! A routed call: where its connection comes from (its [source](source)), its trace span,
//! and the arguments a read keeps to run again. Generated code drives it.
//!
//! A read call runs with its function's name in a task-local: a write call started while it
//! is set (through a router or session the read function holds, which the types cannot
//! stop) is refused before it checks a connection out, naming both functions. A read may
//! run twice, and must not write.

pub(crate) mod retry;
pub(crate) mod source;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use futures_util::FutureExt;

use self::source::{Origin, ReadSource, Via, WriteSource};
use crate::database::Database;
use crate::error::{Error, Role};
use crate::roles::lease::{CallState, Finished, Outcome};
use crate::roles::{ReadLease, WriteLease};
use crate::seal::Sealed;
use crate::server::Server;

tokio::task_local! {
    /// The read function running in this task, while its body runs.
    static READING: &'static str;
}

/// One call of a routed function: its trace span, the checkout recorded in it, and its
/// deadline.
#[doc(hidden)]
pub struct RouteCall<D: Database> {
    function: &'static str,
    span: tracing::Span,
    role: Role,
    /// The deadline of each attempt; `None` for a call on a connection its caller holds,
    /// which runs within the caller's.
    deadline: Option<Duration>,
    state: CallState,
    _database: std::marker::PhantomData<fn() -> D>,
}

impl<D: Database> RouteCall<D> {
    /// Opens the span of a read call to `function`, whose connection comes from `source`.
    pub fn read(function: &'static str, source: &(dyn ReadSource<D> + Send)) -> Self {
        let deadline = source.deadline(Sealed(()));
        Self::new(
            function,
            Role::Reader,
            source.parent_span(Sealed(())),
            deadline,
        )
    }

    /// Opens the span of a write call to `function`, whose connection comes from `source`.
    pub fn write(function: &'static str, source: &(dyn WriteSource<D> + Send)) -> Self {
        let deadline = source.deadline(Sealed(()));
        Self::new(
            function,
            Role::Writer,
            source.parent_span(Sealed(())),
            deadline,
        )
    }

    /// The span's parent is the current span, as usual; `fallback` (a session's span) when
    /// there is none, as in a task spawned without one: calls made through a request's
    /// session stay in that request's trace.
    fn new(
        function: &'static str,
        role: Role,
        fallback: Option<&tracing::Span>,
        deadline: Option<Duration>,
    ) -> Self {
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
            function,
            span,
            role,
            deadline,
            state: CallState::default(),
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
        &'s self,
        source: &'s mut (dyn ReadSource<D> + Send),
    ) -> Result<ReadLease<'s, D>, Error> {
        let started = self.started();
        let state = &self.state;
        let mut lease = match source.read_origin(Sealed(())) {
            Origin(Via::Router(router)) => {
                let cluster = router.cluster::<D>()?;
                let conn = cluster
                    .reader()
                    .await
                    .inspect_err(|e| cluster.call_failed(e, Role::Reader))?;
                ReadLease::checkout(conn, cluster, state)
            }
            Origin(Via::Held(conn) | Via::HeldByReader(conn)) => ReadLease::borrow(conn, state),
            Origin(Via::Session(session)) => session.read_lease::<D>(state).await?,
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
        &'s self,
        source: &'s mut (dyn WriteSource<D> + Send),
    ) -> Result<WriteLease<'s, D>, Error> {
        if let Ok(reader) = READING.try_with(|reader| *reader) {
            return Err(refused(format!(
                "the write function `{}` was called while the read function `{reader}` runs: \
                 a read may run twice, and its writes with it; call `{}` from a \
                 `#[route(write)]` function",
                self.function, self.function,
            )));
        }
        let started = self.started();
        let state = &self.state;
        let mut lease = match source.write_origin(Sealed(())) {
            Origin(Via::Router(router)) => {
                let cluster = router.cluster::<D>()?;
                let conn = cluster
                    .writer()
                    .await
                    .inspect_err(|e| cluster.call_failed(e, Role::Writer))?;
                WriteLease::checkout(conn, cluster, state)
            }
            Origin(Via::Held(conn)) => WriteLease::borrow(conn, state),
            Origin(Via::HeldByReader(_)) => {
                return Err(refused(format!(
                    "the write function `{}` was given a reader's connection",
                    self.function,
                )));
            }
            Origin(Via::Session(session)) => session.write_lease::<D>(state).await?,
        };
        self.record(lease.server(), started);
        Ok(lease)
    }

    /// Runs one attempt of a read call within the call's deadline. An attempt that misses it
    /// is abandoned (its connection dropped, its statement cancelled, its replica out of the
    /// rotation) and runs again on another server when `may_retry`.
    pub fn attempt_read<'c, R, F>(
        &'c self,
        outcome: &'c Outcome<R>,
        may_retry: bool,
        attempt: F,
    ) -> impl Future<Output = Finished<R>> + 'c
    where
        F: Future<Output = Finished<R>> + 'c,
    {
        let attempt = READING.scope(self.function, attempt);
        self.within_deadline(attempt).map(move |ended| match ended {
            Ok(finished) => finished,
            Err(_) if may_retry => Finished::Retry,
            Err(error) => Finished::Done(outcome.failed(error)),
        })
    }

    /// Runs a write call within the call's deadline. A write that misses it fails with
    /// [`Error::Timeout`], saying whether it may have committed; it never runs again.
    pub fn attempt_write<'c, R, F>(
        &'c self,
        outcome: &'c Outcome<R>,
        attempt: F,
    ) -> impl Future<Output = R> + 'c
    where
        F: Future<Output = R> + 'c,
    {
        self.within_deadline(attempt)
            .map(move |ended| ended.unwrap_or_else(|error| outcome.failed(error)))
    }

    /// `attempt`, bounded by the call's deadline. A plain function returning a future type,
    /// not an `async fn`: the attempt's future is then stored once, where an `async fn` would
    /// keep its argument and its local copy both.
    fn within_deadline<F: Future>(&self, attempt: F) -> WithinDeadline<'_, F> {
        WithinDeadline {
            state: &self.state,
            role: self.role,
            limit: self.deadline,
            attempt: Some(attempt),
            expiry: self.deadline.map(tokio::time::sleep),
        }
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

/// A write refused before any statement was sent.
fn refused(why: String) -> Error {
    Error::ReadOnly(DieselError::DatabaseError(
        DatabaseErrorKind::ReadOnlyTransaction,
        Box::new(why),
    ))
}

pin_project_lite::pin_project! {
    /// An attempt of a call and its deadline: the attempt's output, or, once the deadline
    /// passes, [`Error::Timeout`] after the attempt was dropped (the call's state says why
    /// first, so that its lease knows it is abandoned for a frozen server).
    struct WithinDeadline<'c, F> {
        state: &'c CallState,
        role: Role,
        limit: Option<Duration>,
        #[pin]
        attempt: Option<F>,
        #[pin]
        expiry: Option<tokio::time::Sleep>,
    }
}

impl<F: Future> Future for WithinDeadline<'_, F> {
    type Output = Result<F::Output, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let attempt = this.attempt.as_mut().as_pin_mut();
        let attempt = attempt.expect("`WithinDeadline` polled after it ended");
        if let Poll::Ready(output) = attempt.poll(cx) {
            this.attempt.set(None);
            return Poll::Ready(Ok(output));
        }
        let Some(expiry) = this.expiry.as_pin_mut() else {
            return Poll::Pending;
        };
        std::task::ready!(expiry.poll(cx));
        this.state.time_out();
        this.attempt.set(None);
        let abandoned = this.state.take_abandoned();
        Poll::Ready(Err(Error::Timeout {
            server: abandoned.as_ref().map(|left| Arc::clone(&left.server)),
            role: *this.role,
            after: this.limit.unwrap_or_default(),
            commit_unknown: abandoned.is_some_and(|left| left.commit_unknown),
        }))
    }
}
