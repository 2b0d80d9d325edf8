//! A routed call's hold on its connection: checked out of a pool for this call, kept by a
//! request session, or borrowed from the caller's typed connection. Ending the lease settles
//! the call: its transaction, the read guard on the primary, and what it means when the
//! connection died under it or the call was abandoned (retry a read elsewhere; tell a
//! write's caller whether it may have been committed).
//!
//! # Whether a failed write may have been committed
//!
//! The lease follows the call through its phases, and a write whose connection is lost (or
//! whose deadline passes) reports `commit_unknown` from the phase it was in:
//!
//! | phase | inside a transaction (its own or its session's) | outside one |
//! | --- | --- | --- |
//! | before any statement was sent | `false` | `false` |
//! | statements sent, no `COMMIT` yet | `false`: the server rolls back | `true`: each statement commits alone |
//! | `COMMIT` sent, no answer | `true` | - |

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::TransactionManager;
use diesel_async::pooled_connection::PoolableConnection;

use super::{Reader, Writer};
use crate::backend::Backend;
use crate::backend::{Last, Watch};
use crate::database::Database;
use crate::error::Error;
use crate::server::Server;
use crate::token::TokenSlot;
use crate::topology::metrics;
use crate::topology::{Checkout, Cluster, OnReplica, Pooled, Rotation};

type Manager<C> = <C as diesel_async::AsyncConnection>::TransactionManager;

// Transaction statements and pings are awaited boxed: their futures (diesel-async's simple
// queries, not boxed themselves) would otherwise make every call's future several times
// larger, which overflows small stacks in debug builds.

/// The connection of one routed call, for a reader (`Lease<'s, D, ForRead>`) or a writer
/// (`ForWrite`). Generated code holds it; it is not for direct use.
#[doc(hidden)]
pub struct Lease<'s, D: Database, Role> {
    held: Held<'s, D>,
    /// The call it serves, told what the lease leaves behind if it is dropped unfinished.
    call: &'s CallState,
    finished: bool,
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
    /// Its connection died, or its deadline passed: run it again, on a connection checked
    /// out anew.
    Retry,
}

/// What a call shares with its lease: whether its deadline passed, and what a lease dropped
/// unfinished left behind.
#[derive(Debug)]
pub(crate) struct CallState {
    timed_out: AtomicBool,
    abandoned: Mutex<Option<Abandoned>>,
    /// The lease running now, as the lease keeps it up to date: what a deadline that passes
    /// now leaves behind, told before the lease itself is dropped (generated code keeps the
    /// attempt's future, and the lease in it, until the call returns). Atomics but for the
    /// lease's server and watch, set once per lease.
    live: AtomicBool,
    lease: Mutex<Option<(Arc<Server>, Arc<Watch>)>>,
    statements_before: AtomicU64,
    /// Its statements run in a transaction (the call's own, or its session's).
    transactional: AtomicBool,
    /// `COMMIT` sent, or the write done.
    committing: AtomicBool,
    /// The replica the running read is on, if it is on one: a read that waits learns from it
    /// that its replica left the rotation (see [`OnReplica`]). Atomics, set once per lease.
    replica: AtomicUsize,
    departures: AtomicU32,
    /// The rotation of the call's database, set by its first read on a replica.
    rotation: OnceLock<Arc<Rotation>>,
}

/// The value of `CallState::replica` while the running lease is on no replica.
const NO_REPLICA: usize = usize::MAX;

/// The server a lease dropped unfinished was on, and whether its write may have committed.
#[derive(Debug)]
pub(crate) struct Abandoned {
    pub(crate) server: std::sync::Arc<Server>,
    pub(crate) commit_unknown: bool,
}

impl Default for CallState {
    fn default() -> Self {
        Self {
            timed_out: AtomicBool::default(),
            abandoned: Mutex::default(),
            live: AtomicBool::default(),
            lease: Mutex::default(),
            statements_before: AtomicU64::default(),
            transactional: AtomicBool::default(),
            committing: AtomicBool::default(),
            replica: AtomicUsize::new(NO_REPLICA),
            departures: AtomicU32::default(),
            rotation: OnceLock::new(),
        }
    }
}

impl CallState {
    /// The deadline passed: the lease about to be dropped is abandoned because its server
    /// did not answer, not because the caller went away.
    pub(crate) fn time_out(&self) {
        self.timed_out.store(true, Ordering::Relaxed);
    }

    /// What the lease abandoned for the call's deadline leaves behind: read from its live
    /// state while it is still to be dropped, or recorded when it was.
    pub(crate) fn take_abandoned(&self) -> Option<Abandoned> {
        let dropped = self
            .abandoned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if !self.live.swap(false, Ordering::AcqRel) {
            return dropped;
        }
        let lease = self.lease.lock().unwrap_or_else(PoisonError::into_inner);
        let (server, watch) = lease.as_ref()?;
        let sent = watch.statements() > self.statements_before.load(Ordering::Relaxed);
        Some(Abandoned {
            server: Arc::clone(server),
            commit_unknown: self.committing.load(Ordering::Relaxed)
                || (!self.transactional.load(Ordering::Relaxed) && sent),
        })
    }

    /// A lease begins on `pooled`.
    fn lease_began<C>(&self, pooled: &Pooled<C>) {
        let lease = (Arc::clone(&pooled.server), Arc::clone(&pooled.watch));
        *self.lease.lock().unwrap_or_else(PoisonError::into_inner) = Some(lease);
        self.live.store(true, Ordering::Release);
    }

    /// Where the lease stands now.
    fn lease_is(&self, statements_before: u64, transactional: bool, committing: bool) {
        self.statements_before
            .store(statements_before, Ordering::Relaxed);
        self.transactional.store(transactional, Ordering::Relaxed);
        self.committing.store(committing, Ordering::Relaxed);
    }

    /// The lease ended: finished, or dropped (which records what it left behind).
    fn lease_ended(&self) {
        self.live.store(false, Ordering::Release);
        self.replica.store(NO_REPLICA, Ordering::Relaxed);
    }

    /// The read runs on `replica` of `rotation`, which it is in now.
    fn read_on(&self, rotation: &Arc<Rotation>, replica: usize) {
        let rotation = self.rotation.get_or_init(|| Arc::clone(rotation));
        let departures = rotation.departures(replica);
        self.departures.store(departures, Ordering::Relaxed);
        self.replica.store(replica, Ordering::Relaxed);
    }

    /// The replica the running read is on, if it is on one.
    pub(crate) fn on_replica(&self) -> Option<OnReplica> {
        let replica = self.replica.load(Ordering::Relaxed);
        let rotation = self.rotation.get().filter(|_| replica != NO_REPLICA)?;
        Some(OnReplica {
            rotation: Arc::clone(rotation),
            replica,
            departures: self.departures.load(Ordering::Relaxed),
        })
    }

    /// Whether the replica the running read is on left the rotation since the read began
    /// there: two loads, and a third when it runs on a replica.
    pub(crate) fn replica_left(&self) -> bool {
        let replica = self.replica.load(Ordering::Relaxed);
        replica != NO_REPLICA
            && self.rotation.get().is_some_and(|rotation| {
                rotation.left_since(replica, self.departures.load(Ordering::Relaxed))
            })
    }
}

struct Held<'s, D: Database> {
    conn: Conn<'s, D::Connection>,
    /// For a connection this call checked out or a session keeps: its cluster, told when
    /// the connection dies. `None` for a borrowed one, which the caller's own call settles.
    cluster: Option<&'s Cluster<D>>,
    /// This call's transaction (`#[route(..., transaction)]`) is open.
    in_transaction: bool,
    /// This call ran its statements in a transaction of its own, open or ended.
    transactional: bool,
    /// The router handle whose token takes the primary's position after a write.
    token: Option<&'s TokenSlot>,
    /// The call, told where the lease stands (see [`CallState`]).
    call: Option<&'s CallState>,
    /// The connection holds a request session's transaction, begun before this call.
    in_request_transaction: bool,
    /// A guarded read-only transaction is open (a read on the primary).
    guarding: bool,
    phase: Phase,
    /// Statements the connection had sent when the call began.
    statements_before: u64,
}

/// Where a call stands, for what its failure means (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The body runs, or has not begun.
    Running,
    /// `COMMIT` is sent and its answer not in, or the write is done: a failure now may
    /// follow a commit.
    Committing,
}

enum Conn<'s, C: Backend> {
    Checkout(Checkout<C>),
    Borrowed(&'s mut Pooled<C>),
    /// A request session's connection: settled like a checkout, but kept by the session
    /// after the call.
    Kept(&'s mut Pooled<C>),
}

impl<'s, D: Database, Role> Lease<'s, D, Role> {
    fn new(mut held: Held<'s, D>, call: &'s CallState) -> Self {
        call.lease_began(held.pooled());
        held.call = Some(call);
        held.publish();
        Self {
            held,
            call,
            finished: false,
            _role: PhantomData,
        }
    }

    /// A connection checked out for this call; a write through it takes the primary's
    /// position into `token` (the router handle's).
    pub(crate) fn checkout(
        conn: Checkout<D::Connection>,
        cluster: &'s Cluster<D>,
        token: &'s TokenSlot,
        call: &'s CallState,
    ) -> Self {
        let mut held = Held::new(Conn::Checkout(conn), Some(cluster), false);
        held.token = Some(token);
        Self::new(held, call)
    }

    pub(crate) fn borrow(conn: &'s mut Pooled<D::Connection>, call: &'s CallState) -> Self {
        Self::new(Held::new(Conn::Borrowed(conn), None, false), call)
    }

    /// A request session's connection; `in_request_transaction` when the session's
    /// transaction is open on it.
    pub(crate) fn kept(
        conn: &'s mut Pooled<D::Connection>,
        cluster: &'s Cluster<D>,
        in_request_transaction: bool,
        call: &'s CallState,
    ) -> Self {
        let held = Held::new(Conn::Kept(conn), Some(cluster), in_request_transaction);
        Self::new(held, call)
    }

    /// The server the call is on.
    pub fn server(&mut self) -> &Server {
        &self.held.pooled().server
    }
}

impl<D: Database> Lease<'_, D, ForRead> {
    /// Prepares the connection for the body: the read guard on the primary, then the call's
    /// own transaction when it has the `transaction` option.
    ///
    /// # Errors
    ///
    /// The database's refusal, or a lost connection: the call then ends with it, through
    /// [`finish`](Self::finish).
    pub async fn start(&mut self, transaction: bool) -> Result<(), Error> {
        self.watch_replica();
        self.held.open_guard().await?;
        if transaction {
            self.held.begin().await?;
        }
        Ok(())
    }

    /// Tells the call which replica it reads on, if it does: a read that waits there is
    /// abandoned and runs again elsewhere when the replica leaves the rotation. Only a server
    /// in the rotation now: never the primary (a fallback read, a session's writer lent as
    /// a reader), which is not in it, so its reads would be taken for abandoned at once.
    fn watch_replica(&mut self) {
        let Some(cluster) = self.held.cluster else {
            return;
        };
        let server = &self.held.pooled().server;
        if let Some(replica) = cluster
            .pools_of(server)
            .filter(|pools| cluster.rotation.contains(pools.slot))
        {
            self.call.read_on(&cluster.rotation, replica.slot);
        }
    }

    /// The reader the function body gets.
    pub fn reader(&mut self) -> Reader<'_, D> {
        Reader::new(self.held.pooled())
    }

    /// Ends the call. A call whose own connection died is retried when `may_retry` (its
    /// first attempt, with arguments it can be given again): reads are safe to run again.
    pub async fn finish<R>(
        &mut self,
        result: R,
        outcome: &Outcome<R>,
        may_retry: bool,
    ) -> Finished<R> {
        let result = self.held.settle(result, outcome).await;
        let retry = !outcome.is_ok(&result) && Box::pin(self.held.lost()).await && may_retry;
        // Finished only now: dropped before (its deadline), the connection may be
        // mid-statement and must not go back to its pool.
        self.finished = true;
        self.call.lease_ended();
        if !retry {
            return Finished::Done(result);
        }
        metrics::retry(Some(&self.held.pooled().server), "connection_lost");
        Finished::Retry
    }
}

impl<D: Database> Lease<'_, D, ForWrite> {
    /// Prepares the connection for the body: the call's own transaction when it has the
    /// `transaction` option (a savepoint when the connection is in one already).
    ///
    /// # Errors
    ///
    /// The database's refusal, or a lost connection: the call then ends with it, through
    /// [`finish`](Self::finish).
    pub async fn start(&mut self, transaction: bool) -> Result<(), Error> {
        if transaction {
            self.held.begin().await?;
        }
        Ok(())
    }

    /// The writer the function body gets.
    pub fn writer(&mut self) -> Writer<'_, D> {
        Writer::new(self.held.pooled())
    }

    /// Ends the call: commits its transaction on `Ok`, rolls it back on `Err`. A write is
    /// never retried: when its connection died, the error says whether it may have been
    /// committed (see the module's table).
    pub async fn finish<R>(&mut self, result: R, outcome: &Outcome<R>) -> R {
        let result = self.held.settle(result, outcome).await;
        let result = self.after_settling(result, outcome).await;
        // Finished only now: dropped before (its deadline), the connection may be
        // mid-statement and must not go back to its pool.
        self.finished = true;
        self.call.lease_ended();
        result
    }

    /// What a settled write means: its position taken when it succeeded, its error made
    /// precise when it failed.
    async fn after_settling<R>(&mut self, result: R, outcome: &Outcome<R>) -> R {
        if outcome.is_ok(&result) {
            // Committed: a deadline that passes while the position is taken must not report
            // the write as not done.
            self.held.phase = Phase::Committing;
            self.held.publish();
            Box::pin(self.held.take_position()).await;
            return result;
        }
        if let Some(demoted) = Box::pin(self.held.refused_by_replica()).await {
            return outcome.failed(demoted);
        }
        // Taken before `lost` asks: its ping's own failure is not what the call met.
        let cause = self.held.pooled().watch.cause();
        if !Box::pin(self.held.lost()).await {
            return result;
        }
        let (kind, message) = cause.map_or_else(
            || {
                let closed = "the connection was found closed after the call failed";
                (DatabaseErrorKind::ClosedConnection, closed.to_owned())
            },
            |cause| (cause.kind, cause.message),
        );
        outcome.failed(Error::ConnectionLost {
            commit_unknown: self.held.commit_unknown(),
            source: DieselError::DatabaseError(kind, Box::new(message)),
        })
    }
}

/// A lease dropped before it finished (its deadline passed, or its caller's future was
/// dropped) leaves its connection in an unknown state, maybe mid-statement: the connection is
/// never used again and its statement is cancelled on the server. On a timeout the server is
/// also reported to its cluster, and the call learns where it was and what a write may have
/// done.
impl<D: Database, Role> Drop for Lease<'_, D, Role> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.call.replica.store(NO_REPLICA, Ordering::Relaxed);
        let Some(cluster) = self.held.cluster else {
            // A borrowed connection: the call that owns it is dropped with this one.
            return;
        };
        let commit_unknown = self.held.commit_unknown();
        let timed_out = self.call.timed_out.load(Ordering::Relaxed);
        let conn = self.held.pooled();
        conn.abandon();
        if let Some(cancel) = conn.raw.cancel_request(conn.server.url())
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let limit = cluster.options().connect_timeout;
            runtime.spawn(async move {
                let _ = tokio::time::timeout(limit, cancel).await;
            });
        }
        if timed_out {
            conn.counters.timed_out();
            cluster.timed_out(&conn.server);
        }
        // Recorded unless the call's deadline already read it from the live state.
        if self.call.live.swap(false, Ordering::AcqRel) {
            let abandoned = Abandoned {
                server: Arc::clone(&conn.server),
                commit_unknown,
            };
            *self
                .call
                .abandoned
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(abandoned);
        }
    }
}

impl<'s, D: Database> Held<'s, D> {
    fn new(
        mut conn: Conn<'s, D::Connection>,
        cluster: Option<&'s Cluster<D>>,
        in_request_transaction: bool,
    ) -> Self {
        let pooled = match &mut conn {
            Conn::Checkout(conn) => &mut **conn,
            Conn::Borrowed(conn) | Conn::Kept(conn) => &mut **conn,
        };
        let statements_before = pooled.watch.statements();
        pooled.watch.clear();
        Self {
            conn,
            cluster,
            in_transaction: false,
            transactional: false,
            token: None,
            call: None,
            in_request_transaction,
            guarding: false,
            phase: Phase::Running,
            statements_before,
        }
    }

    fn pooled(&mut self) -> &mut Pooled<D::Connection> {
        match &mut self.conn {
            Conn::Checkout(conn) => conn,
            Conn::Borrowed(conn) | Conn::Kept(conn) => conn,
        }
    }

    /// A read on a guarded connection (the primary's reader pool) runs in a read-only
    /// transaction the lease opens; a borrowed connection is already inside its caller's.
    async fn open_guard(&mut self) -> Result<(), Error> {
        if self.cluster.is_none() || !self.pooled().guarded {
            return Ok(());
        }
        Box::pin(self.pooled().raw.begin_read_guard()).await?;
        self.guarding = true;
        Ok(())
    }

    async fn begin(&mut self) -> Result<(), Error> {
        let raw = &mut self.pooled().raw;
        match Box::pin(Manager::<D::Connection>::begin_transaction(raw)).await {
            Ok(()) => {
                self.in_transaction = true;
                self.transactional = true;
                self.publish();
                Ok(())
            }
            Err(error) => {
                // A failed `BEGIN` wrote nothing: it does not count as a statement sent.
                self.statements_before = self.pooled().watch.statements();
                self.publish();
                Err(error.into())
            }
        }
    }

    /// Commits on success, rolls back on failure, ends the read guard, and marks a failed
    /// call's connection for a ping before its next use.
    async fn settle<R>(&mut self, result: R, outcome: &Outcome<R>) -> R {
        let ok = outcome.is_ok(&result);
        let mut result = match (self.in_transaction, ok) {
            (false, _) => result,
            (true, true) => {
                self.phase = Phase::Committing;
                self.publish();
                match Box::pin(Manager::<D::Connection>::commit_transaction(
                    &mut self.pooled().raw,
                ))
                .await
                {
                    Ok(()) => result,
                    Err(error) => outcome.failed(Error::from(error)),
                }
            }
            (true, false) => {
                // A failed rollback leaves the transaction manager broken: the pool then
                // discards the connection.
                let raw = &mut self.pooled().raw;
                let _ = Box::pin(Manager::<D::Connection>::rollback_transaction(raw)).await;
                result
            }
        };
        self.in_transaction = false;
        if self.guarding {
            result = self.end_guard(result, outcome).await;
        }
        if self.cluster.is_some() && self.pooled().watch.session_writable() {
            // A reader's session was made writable (where no guard could roll it back: a
            // standby, which refuses writes anyway): it serves no call again.
            self.pooled().abandon();
        }
        if !outcome.is_ok(&result) {
            self.pooled().mark_suspect();
        } else {
            self.phase = Phase::Running;
        }
        self.publish();
        result
    }

    /// Commits the read guard's transaction when the read wrote nothing and left its session
    /// read-only; otherwise it is rolled back and the call fails with `Error::ReadOnly`.
    async fn end_guard<R>(&mut self, result: R, outcome: &Outcome<R>) -> R {
        self.guarding = false;
        let raw = &mut self.pooled().raw;
        if !outcome.is_ok(&result) {
            let _ = Box::pin(Manager::<D::Connection>::rollback_transaction(raw)).await;
            return result;
        }
        match Box::pin(raw.end_read_guard()).await {
            Ok(()) => result,
            Err(error) => outcome.failed(Error::from(error)),
        }
    }

    /// After a failure: whether this call's own connection died. Asked of what its
    /// statements showed, of the driver, and, when their errors are unclear, of the server
    /// with a ping. Its server then leaves the read rotation until it answers health checks
    /// again. A borrowed connection is the caller's to judge.
    async fn lost(&mut self) -> bool {
        let Some(cluster) = self.cluster else {
            return false;
        };
        let timeout = cluster.options().health_check_timeout;
        let conn = self.pooled();
        let open = Manager::<D::Connection>::transaction_manager_status_mut(&mut conn.raw)
            .transaction_depth()
            .map_or(true, |depth| depth.is_some());
        let lost = match conn.watch.last() {
            Last::Lost => true,
            // Without a transaction open, the driver's "broken" means a closed socket.
            _ if !open && PoolableConnection::is_broken(&mut conn.raw) => true,
            Last::Unclear => !matches!(
                tokio::time::timeout(timeout, Box::pin(conn.raw.probe())).await,
                Ok(Ok(()))
            ),
            Last::Fine => false,
        };
        conn.counters.failed_call(lost);
        if lost {
            conn.mark_lost();
            cluster.connection_lost(&conn.server);
        }
        lost
    }

    /// After a write that succeeded, through a router handle: the primary's position, which
    /// covers the write, into the handle's token, so that its reads see the write (one round
    /// trip, when the database's `read_your_writes` is on and the call sent anything).
    async fn take_position(&mut self) {
        let (Some(cluster), Some(token)) = (self.cluster, self.token) else {
            return;
        };
        let sent = self.pooled().watch.statements() > self.statements_before;
        if !sent || !cluster.options().read_your_writes {
            return;
        }
        let conn = self.pooled();
        if let Ok(Some(position)) = conn.raw.position(&conn.watch).await {
            token.merge_position(D::KEY, &position);
            cluster.primary_wrote(&position, &conn.server);
        }
    }

    /// After a failed write: when the server refused it as read-only and says it is a
    /// replica now (a failover demoted it), the error that says so. The statements sent
    /// before the refused one may have been committed, outside a transaction.
    async fn refused_by_replica(&mut self) -> Option<Error> {
        let cluster = self.cluster?;
        let refused_after = self.pooled().watch.refused_after()?;
        let server = std::sync::Arc::clone(&self.pooled().server);
        let pools = cluster.pools_of(&server)?;
        if !cluster.write_refused(pools).await {
            return None;
        }
        let outside_transaction = !self.transactional && !self.in_request_transaction;
        Some(Error::NotPrimary {
            server,
            commit_unknown: outside_transaction && refused_after > self.statements_before,
        })
    }

    /// Tells the call where the lease stands now.
    fn publish(&self) {
        if let Some(call) = self.call {
            let transactional = self.transactional || self.in_request_transaction;
            let committing = self.phase == Phase::Committing;
            call.lease_is(self.statements_before, transactional, committing);
        }
    }

    /// Whether a write that failed now may have taken effect (see the module's table).
    fn commit_unknown(&mut self) -> bool {
        if self.phase == Phase::Committing {
            return true;
        }
        if self.transactional || self.in_request_transaction {
            return false;
        }
        let before = self.statements_before;
        self.pooled().watch.statements() > before
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
