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
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use self::source::{Origin, ReadSource, Via, WriteSource};
use crate::database::Database;
use crate::error::{Error, Role};
use crate::roles::lease::{CallState, Finished, Outcome};
use crate::roles::{ReadLease, WriteLease};
use crate::seal::Sealed;
use crate::server::Server;
use crate::topology::{Deadline, Registration};

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
    deadline: Option<Deadline>,
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
        deadline: Option<Deadline>,
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
                let conn = match router.token.position(D::KEY) {
                    None => cluster.reader().await,
                    Some(wanted) => {
                        cluster
                            .reader_for(Some(&wanted), router.signs_tokens())
                            .await
                    }
                };
                let conn = conn.inspect_err(|e| cluster.call_failed(e, Role::Reader))?;
                ReadLease::checkout(conn, cluster, &router.token, state)
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
                WriteLease::checkout(conn, cluster, &router.token, state)
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
    /// rotation) and runs again on another server when `may_retry`; so is one that waits on a
    /// replica taken out of the rotation meanwhile (by a health check, say).
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
        let timed_out = move |error| match may_retry {
            true => {
                crate::topology::metrics::timeout_retry(&error);
                Finished::Retry
            }
            false => Finished::Done(outcome.failed(error)),
        };
        let replica_left = may_retry.then_some(|| Finished::Retry);
        self.within_deadline(attempt, timed_out, replica_left)
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
        self.within_deadline(attempt, |error| outcome.failed(error), None::<fn() -> R>)
    }

    /// `attempt`, bounded by the call's deadline; `timed_out` gives the output of an attempt
    /// that missed it, `replica_left` (when given) that of a read abandoned because its
    /// replica left the rotation. A plain function returning a future type, not an
    /// `async fn`: the attempt's future is then stored once, where an `async fn` would keep
    /// its argument and its local copy both.
    fn within_deadline<F, T, L>(
        &self,
        attempt: F,
        timed_out: T,
        replica_left: Option<L>,
    ) -> WithinDeadline<'_, D, F, T, L>
    where
        F: Future,
        T: FnOnce(Error) -> F::Output,
        L: FnOnce() -> F::Output,
    {
        WithinDeadline {
            call: self,
            timed_out: Some(timed_out),
            replica_left,
            waiting: None,
            attempt: Some(attempt),
            fallback: None,
        }
    }

    /// The error of an attempt abandoned for its deadline, once it is dropped.
    fn timeout_error(&self) -> Error {
        let abandoned = self.state.take_abandoned();
        Error::Timeout {
            server: abandoned.as_ref().map(|left| Arc::clone(&left.server)),
            role: self.role,
            after: self
                .deadline
                .as_ref()
                .map_or(Duration::ZERO, |deadline| deadline.limit),
            commit_unknown: abandoned.is_some_and(|left| left.commit_unknown),
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
    /// passes, the output of `timed_out` after the attempt was dropped (the call's state says
    /// why first, so that its lease knows it is abandoned for a frozen server). With
    /// `replica_left`, a read whose replica leaves the rotation while it waits is dropped too,
    /// and ends with that output.
    ///
    /// While the attempt waits, the router's watchdog holds its waker (see `watchdog.rs`),
    /// and wakes it at its deadline or when its replica leaves; a timer of its own stands in
    /// for the deadline when the watchdog's task does not run.
    struct WithinDeadline<'c, D: Database, F, T, L> {
        call: &'c RouteCall<D>,
        timed_out: Option<T>,
        replica_left: Option<L>,
        waiting: Option<Waiting>,
        #[pin]
        attempt: Option<F>,
        #[pin]
        fallback: Option<tokio::time::Sleep>,
    }

    impl<D: Database, F, T, L> PinnedDrop for WithinDeadline<'_, D, F, T, L> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some(waiting), Some(deadline)) = (this.waiting.take(), &this.call.deadline) {
                deadline.watchdog.unregister(&waiting.registration);
            }
        }
    }
}

/// An attempt's place in the watchdog, the waker it registered with, and whether the
/// watchdog knows the replica it reads on.
struct Waiting {
    registration: Registration,
    waker: Waker,
    watching: bool,
}

impl<D, F, T, L> Future for WithinDeadline<'_, D, F, T, L>
where
    D: Database,
    F: Future,
    T: FnOnce(Error) -> F::Output,
    L: FnOnce() -> F::Output,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let attempt = this.attempt.as_mut().as_pin_mut();
        let attempt = attempt.expect("`WithinDeadline` polled after it ended");
        if let Poll::Ready(output) = attempt.poll(cx) {
            this.attempt.set(None);
            return Poll::Ready(output);
        }
        let Some(deadline) = &this.call.deadline else {
            return Poll::Pending;
        };
        let state = &this.call.state;
        let watches = this.replica_left.is_some();
        let expired = match (this.waiting.as_mut(), deadline.watchdog.is_alive()) {
            (Some(waiting), true) => {
                if !waiting.waker.will_wake(cx.waker()) {
                    waiting.waker = cx.waker().clone();
                    deadline.watchdog.rewake(&waiting.registration, cx.waker());
                }
                if watches
                    && !waiting.watching
                    && let Some(on_replica) = state.on_replica()
                {
                    deadline.watchdog.watch(&waiting.registration, on_replica);
                    waiting.watching = true;
                }
                deadline.watchdog.expired(&waiting.registration)
            }
            (None, true) if this.fallback.is_none() => {
                let on_replica = watches.then(|| state.on_replica()).flatten();
                let watching = on_replica.is_some();
                let registration =
                    deadline
                        .watchdog
                        .register(deadline.limit, cx.waker(), on_replica);
                let waker = cx.waker().clone();
                *this.waiting = Some(Waiting {
                    registration,
                    waker,
                    watching,
                });
                false
            }
            // No watchdog runs: a timer of the attempt's own.
            _ => {
                if this.fallback.is_none() {
                    this.fallback.set(Some(tokio::time::sleep(deadline.limit)));
                }
                let fallback = this.fallback.as_mut().as_pin_mut();
                fallback.is_some_and(|sleep| sleep.poll(cx).is_ready())
            }
        };
        if expired {
            state.time_out();
            this.attempt.set(None);
            let timed_out = this.timed_out.take().expect("a deadline passes once");
            return Poll::Ready(timed_out(this.call.timeout_error()));
        }
        if watches && state.replica_left() {
            // Dropped, the lease abandons its connection and cancels its statement.
            this.attempt.set(None);
            let left = state.take_abandoned();
            crate::topology::metrics::retry(
                left.as_ref().map(|left| &*left.server),
                "replica_left",
            );
            let replica_left = this.replica_left.take().expect("a replica leaves once");
            return Poll::Ready(replica_left());
        }
        Poll::Pending
    }
}
