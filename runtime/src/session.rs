//! Request sessions: the connections one request (or one job) uses, checked out on first use,
//! kept until the session ends, and given back then with whatever they left open rolled back.
//!
//! A session is a connection source like the router: routed functions take `&mut session`.
//! It holds at most one reader and one writer per database, type-erased so that one session
//! serves databases of different backends, the way the router holds their clusters.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, TransactionManager};

use crate::backend::{Backend, Last};
use crate::config::PoolOptions;
use crate::database::Database;
use crate::error::is_connection_lost;
use crate::error::{Error, Role};
use crate::roles::lease::CallState;
use crate::roles::{ReadLease, WriteLease};
use crate::server::Server;
use crate::token::{Position, Token};
use crate::topology::{Checkout, Fate, Router};

/// The database connections of one request: checked out the first time a routed call needs
/// them, kept for the rest of the request, given back when it ends.
///
/// Pass `&mut session` to routed functions as you would `&mut router`:
///
/// ```
/// # use diesel_route::prelude::*;
/// # diesel_route::databases! { default: sqlite }
/// # diesel::table! { posts (id) { id -> Integer, title -> Text } }
/// # diesel_route::tables!(default: posts);
/// #[route(read)]
/// async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
///     Ok(posts::table.select(posts::title).load(conn).await?)
/// }
///
/// #[route(write)]
/// async fn add(conn: &mut Writer, title: &str) -> diesel_route::Result<usize> {
///     Ok(diesel::insert_into(posts::table).values(posts::title.eq(title)).execute(conn).await?)
/// }
///
/// # #[route(write)]
/// # async fn create_schema(conn: &mut Writer) -> diesel_route::Result<()> {
/// #     Ok(conn.batch_execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL)").await?)
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> diesel_route::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let url = dir.path().join("app.db");
/// # let mut router = diesel_route::Router::builder(Databases)
/// #     .database("default", diesel_route::DatabaseConfig::new(url.to_str().unwrap()))
/// #     .build()?;
/// # create_schema(&mut router).await?;
/// let mut session = router.session().commit_on_success();
/// titles(&mut session).await?;          // checks out a reader
/// titles(&mut session).await?;          // the same reader: one replica for the request
/// add(&mut session, "hello").await?;    // checks out the writer, opens the transaction
/// assert_eq!(titles(&mut session).await?, ["hello"]); // through the writer: sees its write
/// session.commit().await?;              // commits, and gives both connections back
/// # Ok(())
/// # }
/// ```
///
/// - **Lazily, once.** A session checks out nothing until a routed call needs it; then it
///   checks out a reader (a replica, picked once: the whole request reads from one) or the
///   writer of that call's database, and keeps it for the calls that follow.
/// - **Read your writes.** Once a session holds a database's writer, its reads of that
///   database go through the writer, so that they see the request's own writes (a replica
///   may not have them yet), and its reader goes back to the pool.
/// - **The end.** [`commit`](Self::commit) or [`rollback`](Self::rollback) ends the session:
///   every connection goes back to its pool, and a transaction still open is rolled back. A
///   session dropped without either rolls back on a task of its own.
/// - **One transaction per request**, with [`commit_on_success`](Self::commit_on_success):
///   the writer's first checkout begins a transaction, which `commit` commits and
///   `rollback` (or a drop) rolls back. Without it, each call's writes commit as the call
///   ends, as they do through the router.
///
/// Calls through a session open their `route` span under the span current at the call, as
/// any span; where none is (a task spawned without one), under the span that was current
/// when the session was made, the request's.
///
/// A session holds its connections for its whole life: keep sessions as short as the
/// request, and mind that SQLite has one writer per database, so requests that write queue
/// for it.
pub struct Session {
    router: Router,
    commit_on_success: bool,
    span: tracing::Span,
    databases: Vec<Box<dyn AnyConnections>>,
    /// The writes its reads must see: the token it was given (and its router handle's).
    token: Token,
}

/// What a session holds of one database.
struct Connections<D: Database> {
    reader: Option<Memo<D::Connection>>,
    writer: Option<Memo<D::Connection>>,
    /// Take the primary's position when the session ends (`read_your_writes`).
    take_position: bool,
    /// How long its end may wait on its reader and on its writer: the database's
    /// `read_timeout` and `write_timeout`, as a call's.
    limits: Limits,
}

/// The deadlines of a session's end on one database's servers.
#[derive(Clone, Copy)]
struct Limits {
    read: Option<Duration>,
    write: Option<Duration>,
}

/// A connection a session keeps.
struct Memo<C: Backend> {
    conn: Checkout<C>,
    /// The session's request transaction is open on it.
    transaction: bool,
}

impl Router {
    /// A request session on this router: see [`Session`].
    pub fn session(&self) -> Session {
        Session {
            router: self.clone(),
            commit_on_success: false,
            span: tracing::Span::current(),
            databases: Vec::new(),
            token: self.token(),
        }
    }
}

impl Session {
    /// Runs the session's writes in one transaction per database, begun when the writer is
    /// first checked out, committed by [`commit`](Self::commit), rolled back by
    /// [`rollback`](Self::rollback) or a drop.
    ///
    /// Databases commit one after the other, not atomically (there is no two-phase commit):
    /// when one fails to commit, the ones after it are rolled back.
    #[must_use]
    pub fn commit_on_success(mut self) -> Self {
        self.commit_on_success = true;
        self
    }

    /// Reads through the session see the writes `token` covers: a token from an earlier
    /// request of the same client (see the axum layer), or carried in a job's payload. Its
    /// reads then go to a replica that has replayed those writes, or to the primary when the
    /// fallback policy allows it (see [`Token`] for when a token is not honoured). With
    /// token keys, a token not signed by one of the router's keys is ignored.
    #[must_use]
    pub fn with_token(mut self, token: &Token) -> Self {
        self.token.merge(&self.router.accepted(token));
        self.token = self.router.signed(std::mem::take(&mut self.token));
        self
    }

    /// [`with_token`](Self::with_token) for the token's text form. Text that does not parse
    /// is ignored (and counted in [`Stats::tokens_ignored`](crate::Stats::tokens_ignored)):
    /// a mangled or forged token never fails a request.
    #[must_use]
    pub fn with_token_text(self, text: &str) -> Self {
        let token = self.router.parse_token(text);
        self.with_token(&token)
    }

    /// The token the session's reads honour: the one it was given (signed with the router's
    /// token key, when it has one). After
    /// [`commit`](Self::commit), the token returned also covers the session's writes.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The span calls fall back to as their parent (the one current when the session was
    /// made), replaced.
    #[must_use]
    pub fn in_span(mut self, span: tracing::Span) -> Self {
        self.span = span;
        self
    }

    /// The router the session checks connections out of.
    pub(crate) fn router(&self) -> &Router {
        &self.router
    }

    /// The span calls fall back to as their parent.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The servers of the connections the session holds now, with their roles: what a
    /// request used, for logs and debugging.
    pub fn servers(&self) -> Vec<(Role, &Server)> {
        self.databases
            .iter()
            .flat_map(|held| held.servers())
            .collect()
    }

    /// Ends the session: commits its transactions (with
    /// [`commit_on_success`](Self::commit_on_success)) and gives every connection back.
    ///
    /// # Errors
    ///
    /// The first database that failed to commit ([`Error::ConnectionLost`] with
    /// `commit_unknown` when the answer to the commit never came); the databases after it
    /// are rolled back. With `commit_on_success`: [`Error::Interrupted`] when a call was
    /// interrupted with its own transaction open (its future dropped, a panic caught), as
    /// the request's writes to that database are then rolled back rather than committed half
    /// done; [`Error::ConnectionLost`] when the request's transaction died with its
    /// connection.
    /// [`Error::Timeout`] when a database's `COMMIT` got no answer within its
    /// `write_timeout`, with `commit_unknown`: a frozen server may still act on it when it
    /// thaws. (A position that does not come in time after a commit is left out of the
    /// token, and the commit reported as done.)
    ///
    /// Returns the session's token, covering its writes (with `read_your_writes`, one round
    /// trip per database written): give it to the client's next request, or to a job, for
    /// their reads to see these writes.
    pub async fn commit(mut self) -> Result<Token, Error> {
        let ended = end(std::mem::take(&mut self.databases), true).await;
        let mut token = std::mem::take(&mut self.token);
        for (database, position, server) in ended.positions {
            self.router.primary_wrote(database, &position, &server);
            token.merge_position(database, &position);
        }
        ended.result.map(|()| self.router.signed(token))
    }

    /// Ends the session: rolls back whatever is open and gives every connection back.
    ///
    /// # Errors
    ///
    /// None in practice: a connection whose rollback fails, or gets no answer within its
    /// database's deadline, is discarded by its pool, and its server rolls the transaction
    /// back when the connection closes.
    pub async fn rollback(mut self) -> Result<(), Error> {
        end(std::mem::take(&mut self.databases), false).await.result
    }

    /// The lease of a read call of database `D`: through the session's writer when it holds
    /// one, else through its reader, checked out now if it has none.
    pub(crate) async fn read_lease<'s, D: Database>(
        &'s mut self,
        call: &'s CallState,
    ) -> Result<ReadLease<'s, D>, Error> {
        let cluster = self.router.cluster::<D>()?;
        let held = connections::<D>(&mut self.databases, cluster.options());
        held.forget_lost(self.commit_on_success)?;
        if let Some(writer) = &mut held.writer {
            let transaction = writer.transaction;
            return Ok(ReadLease::kept(
                &mut writer.conn,
                cluster,
                transaction,
                call,
            ));
        }
        let reader = match held.reader.take() {
            Some(reader) => reader,
            None => {
                let conn = cluster
                    .reader_for(self.token.position(D::KEY), self.router.signs_tokens())
                    .await
                    .inspect_err(|e| cluster.call_failed(e, Role::Reader))?;
                Memo::new(conn, false)
            }
        };
        let reader = held.reader.insert(reader);
        Ok(ReadLease::kept(&mut reader.conn, cluster, false, call))
    }

    /// The lease of a write call of database `D`: through the session's writer, checked out
    /// now (and its transaction begun) if it has none.
    pub(crate) async fn write_lease<'s, D: Database>(
        &'s mut self,
        call: &'s CallState,
    ) -> Result<WriteLease<'s, D>, Error> {
        let cluster = self.router.cluster::<D>()?;
        let transaction = self.commit_on_success;
        let held = connections::<D>(&mut self.databases, cluster.options());
        held.forget_lost(transaction)?;
        let writer = match held.writer.take() {
            Some(writer) => writer,
            None => {
                let mut conn = cluster
                    .writer()
                    .await
                    .inspect_err(|e| cluster.call_failed(e, Role::Writer))?;
                if transaction {
                    Manager::<D::Connection>::begin_transaction(&mut conn.raw).await?;
                }
                // From now on reads go through the writer: the reader can go back.
                held.reader = None;
                held.take_position = cluster.options().read_your_writes;
                Memo::new(conn, transaction)
            }
        };
        let writer = held.writer.insert(writer);
        let transaction = writer.transaction;
        Ok(WriteLease::kept(
            &mut writer.conn,
            cluster,
            transaction,
            call,
        ))
    }
}

type Manager<C> = <C as AsyncConnection>::TransactionManager;

/// The connections of database `D` in `databases`, added empty on its first use. A free
/// function on the field, so that the caller keeps its other fields (the router) borrowed.
fn connections<'d, D: Database>(
    databases: &'d mut Vec<Box<dyn AnyConnections>>,
    options: &PoolOptions,
) -> &'d mut Connections<D> {
    let index = databases
        .iter()
        .position(|held| (&**held as &dyn Any).is::<Connections<D>>())
        .unwrap_or_else(|| {
            databases.push(Box::new(Connections::<D> {
                reader: None,
                writer: None,
                take_position: false,
                limits: Limits {
                    read: options.read_timeout,
                    write: options.write_timeout,
                },
            }));
            databases.len() - 1
        });
    let held: &mut dyn Any = &mut *databases[index];
    held.downcast_mut()
        .expect("the entry at `index` was found, or pushed, as `Connections<D>`")
}

/// How a session's connections ended: the first failure, and the primaries' positions after
/// the databases it committed.
struct Ended {
    result: Result<(), Error>,
    positions: Vec<Taken>,
}

/// Ends the session's connections, database by database; after a failure, the rest roll
/// back.
async fn end(databases: Vec<Box<dyn AnyConnections>>, mut commit: bool) -> Ended {
    let mut first_error = None;
    let mut positions = Vec::new();
    for held in databases {
        match held.end(commit).await {
            Ok(position) => positions.extend(position),
            Err(error) => {
                commit = false;
                first_error.get_or_insert(error);
            }
        }
    }
    Ended {
        result: first_error.map_or(Ok(()), Err),
        positions,
    }
}

impl<C: Backend> Memo<C> {
    fn new(conn: Checkout<C>, transaction: bool) -> Self {
        Self { conn, transaction }
    }

    /// Why the connection cannot be used again, if a call found so.
    fn fate(&self) -> Fate {
        self.conn.fate()
    }

    /// Whether the connection can serve further calls.
    fn usable(&self) -> bool {
        self.fate() == Fate::Usable
    }

    /// How many transactions (the outermost, then savepoints) are open on the connection;
    /// `None` when its transaction manager is broken.
    fn open_transactions(&mut self) -> Option<u32> {
        let status = Manager::<C>::transaction_manager_status_mut(&mut self.conn.raw);
        let depth = status.transaction_depth().ok()?;
        Some(depth.map_or(0, std::num::NonZeroU32::get))
    }

    /// Rolls back every open transaction, by `deadline`. A rollback that fails, or gets no
    /// answer in time, leaves the connection broken or abandoned, and its pool discards it:
    /// the server then rolls back as the connection closes.
    async fn roll_back_all(&mut self, deadline: Option<Instant>) {
        if !self.usable() {
            // Its pool discards it, and its server rolls back as it closes: a connection
            // left mid-statement may not even answer a rollback.
            return;
        }
        while self.open_transactions().is_some_and(|depth| depth > 0) {
            self.conn.abandon();
            let rollback = Manager::<C>::rollback_transaction(&mut self.conn.raw);
            if !matches!(by(deadline, rollback).await, Some(Ok(()))) {
                return;
            }
            self.conn.reinstate();
        }
    }

    /// Commits the request transaction when asked to and it is the only one open; rolls
    /// everything else back; by `deadline`. A transaction left open inside the request's
    /// means a call was interrupted half done: the request's writes are then rolled back,
    /// not committed.
    async fn end(
        &mut self,
        commit: bool,
        database: &'static str,
        limit: Option<Duration>,
    ) -> Result<(), Error> {
        let deadline = limit.map(|limit| Instant::now() + limit);
        let expected = u32::from(self.transaction);
        let open = self.open_transactions();
        let fate = self.fate();
        if commit && self.transaction && fate != Fate::Usable {
            return Err(request_transaction_gone(fate, database));
        }
        if !commit || fate != Fate::Usable || open == Some(0) {
            self.roll_back_all(deadline).await;
            return Ok(());
        }
        if open != Some(expected) {
            self.roll_back_all(deadline).await;
            if !self.transaction {
                // Only the interrupted call's own writes are lost: it never returned `Ok`.
                return Ok(());
            }
            return Err(Error::Interrupted { database });
        }
        self.conn.abandon();
        let commit = by(
            deadline,
            Manager::<C>::commit_transaction(&mut self.conn.raw),
        )
        .await;
        if commit.is_some() {
            self.conn.reinstate();
        }
        match commit {
            Some(Ok(())) => Ok(()),
            Some(Err(error)) => Err(self.commit_failed(error)),
            // The `COMMIT` went out and no answer came: it may have taken effect.
            None => Err(self.timed_out(limit, true)),
        }
    }

    /// The error of a session's end that missed its deadline on this connection.
    fn timed_out(&self, limit: Option<Duration>, commit_unknown: bool) -> Error {
        Error::Timeout {
            server: Some(Arc::clone(&self.conn.server)),
            role: Role::Writer,
            after: limit.unwrap_or_default(),
            commit_unknown,
        }
    }

    /// A failed `COMMIT` whose answer may never have come (the connection died, or failed
    /// in words not recognised) may have taken effect: say so.
    fn commit_failed(&self, error: DieselError) -> Error {
        let dead = is_connection_lost(&error) || self.conn.watch.last() != Last::Fine;
        match dead {
            true => Error::ConnectionLost {
                commit_unknown: true,
                source: error,
            },
            false => Error::from(error),
        }
    }
}

impl<D: Database> Connections<D> {
    /// Drops the connections a call found dead, so that the next call checks out another;
    /// except a writer that held the request's transaction: its writes are gone, and
    /// carrying on elsewhere would commit half a request.
    fn forget_lost(&mut self, transaction: bool) -> Result<(), Error> {
        if self.reader.as_ref().is_some_and(|memo| !memo.usable()) {
            self.reader = None;
        }
        if let Some(writer) = self.writer.as_ref().filter(|memo| !memo.usable()) {
            if transaction {
                return Err(request_transaction_gone(writer.fate(), D::KEY));
            }
            self.writer = None;
        }
        Ok(())
    }
}

/// The request's transaction cannot commit: its connection died (the server rolled it back),
/// or a call was dropped half done on it (the session rolls it back).
fn request_transaction_gone(fate: Fate, database: &'static str) -> Error {
    if fate == Fate::Abandoned {
        return Error::Interrupted { database };
    }
    Error::ConnectionLost {
        commit_unknown: false,
        source: DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new(format!(
                "the request's transaction on database `{database}` died with its \
                 connection; its writes were rolled back by the server"
            )),
        ),
    }
}

/// `step`'s output, or `None` when `deadline` passes first (a frozen server). The caller
/// abandons the connection the step runs on first: cut short, it is never used again.
async fn by<F: Future>(deadline: Option<Instant>, step: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.into(), step).await.ok(),
        None => Some(step.await),
    }
}

/// A database's primary position after a session's commit, and the server it was taken on.
type Taken = (&'static str, Position, Arc<Server>);

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A database's connections with their type erased, so that one session holds databases of
/// different backends.
trait AnyConnections: Any + Send {
    /// Gives the connections back: `commit` the writer's request transaction, or roll back.
    /// After a commit, the primary's position when the database's `read_your_writes` is on.
    fn end(self: Box<Self>, commit: bool) -> BoxFuture<'static, Result<Option<Taken>, Error>>;
    fn servers(&self) -> Vec<(Role, &Server)>;
}

impl<D: Database> AnyConnections for Connections<D> {
    fn end(self: Box<Self>, commit: bool) -> BoxFuture<'static, Result<Option<Taken>, Error>> {
        Box::pin(async move {
            let Connections {
                reader,
                writer,
                take_position,
                limits,
            } = *self;
            if let Some(mut reader) = reader {
                let deadline = limits.read.map(|limit| Instant::now() + limit);
                reader.roll_back_all(deadline).await;
            }
            let Some(mut writer) = writer else {
                return Ok(None);
            };
            let started = Instant::now();
            writer.end(commit, D::KEY, limits.write).await?;
            if !(commit && take_position && writer.usable()) {
                return Ok(None);
            }
            // Committed. A deadline that passes while the position is taken leaves the token
            // without this database's position (the connection abandoned): reporting the
            // commit as failed would roll back the databases after it.
            let deadline = limits.write.map(|limit| started + limit);
            writer.conn.abandon();
            let conn = &mut *writer.conn;
            let Some(position) = by(deadline, conn.raw.position(&conn.watch)).await else {
                tracing::debug!(
                    database = D::KEY,
                    "no position after the commit within the deadline: the token lacks it"
                );
                return Ok(None);
            };
            writer.conn.reinstate();
            let server = Arc::clone(&writer.conn.server);
            Ok(position
                .ok()
                .flatten()
                .map(|position| (D::KEY, position, server)))
        })
    }

    fn servers(&self) -> Vec<(Role, &Server)> {
        let reader = self.reader.iter().map(|memo| (Role::Reader, memo));
        let writer = self.writer.iter().map(|memo| (Role::Writer, memo));
        reader
            .chain(writer)
            .map(|(role, memo)| (role, &*memo.conn.server))
            .collect()
    }
}

/// A session dropped before it ended rolls back on a task of its own, so that its
/// connections go back to their pools clean. Outside a Tokio runtime they are dropped as
/// they are: their pools discard those left in a transaction.
impl Drop for Session {
    fn drop(&mut self) {
        let databases = std::mem::take(&mut self.databases);
        if databases.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = end(databases, false).await;
            });
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<String> = self
            .servers()
            .iter()
            .map(|(role, server)| format!("{role} on {server}"))
            .collect();
        f.debug_struct("Session")
            .field("commit_on_success", &self.commit_on_success)
            .field("connections", &servers)
            .finish_non_exhaustive()
    }
}
