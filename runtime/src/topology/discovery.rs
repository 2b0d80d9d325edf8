//! Which server is the primary: asked of the servers themselves (PostgreSQL's
//! `pg_is_in_recovery()`, MySQL's `@@read_only`), by the health checks every interval and by
//! a discovery that asks all of them at once when writes cannot reach the primary or a
//! server's answer contradicts what the cluster believes (a failover, a demotion, a second
//! primary).
//!
//! - One server says it is the primary: writes go to it.
//! - None does: writes fail with `NoServerAvailable` (a replica being promoted, say), except
//!   that a primary that merely does not answer stays the one writes try (it may be
//!   restarting; its writes fail with `Connect`).
//! - Two or more do: writes fail closed with `ConflictingPrimaries`, naming them, until
//!   only one says so. Writing to either could lose the other's writes.
//!
//! A replica is in the read rotation only while it says it is a replica and replicates: a
//! promoted one leaves it (and may become the primary), and so does one that stopped
//! replicating while a primary is up (it follows a primary that is gone).
//!
//! A writer that loses its connection, passes its deadline or is refused as read-only puts
//! the primary in doubt: the next write asks every server first.

use std::sync::Arc;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::backend::{Backend, Health};
use crate::error::{Error, Role};
use crate::server::ServerRole;
use crate::topology::cluster::{Members, NO_PRIMARY};
use crate::topology::metrics;
use crate::topology::server::ServerPools;

impl<C: Backend> Members<C> {
    /// Asks every server what it is, at once, and makes the only one that says it is the
    /// primary the one writes go to. A discovery that began after `since` (the failure that
    /// calls for one) answers for it too: writes that fail together cost one round of
    /// questions.
    ///
    /// # Errors
    ///
    /// [`Error::NoServerAvailable`] when no server says it is the primary,
    /// [`Error::ConflictingPrimaries`] when two or more do.
    pub(crate) async fn discover(&self, since: Instant) -> Result<Arc<ServerPools<C>>, Error> {
        let mut last = self.discovery.lock().await;
        if !self.in_doubt() && last.is_some_and(|began| began >= since) {
            return self.known_primary();
        }
        *last = Some(Instant::now());
        self.primary_in_doubt.store(false, Ordering::Release);
        let asked = self.servers.iter().map(|server| server.observe());
        let answers = futures_util::future::join_all(asked).await;
        let roles: Vec<ServerRole> = answers.iter().map(|health| health.role).collect();
        for (server, role) in self.servers.iter().zip(&roles) {
            server.became(*role);
        }
        let found = self.choose_primary(&roles);
        let seen = Instant::now();
        for (server, health) in self.servers.iter().zip(answers) {
            self.record(server, health, seen);
        }
        found
    }

    /// Makes the only server that says it is the primary the one writes go to.
    fn choose_primary(&self, roles: &[ServerRole]) -> Result<Arc<ServerPools<C>>, Error> {
        let primaries: Vec<&Arc<ServerPools<C>>> = self
            .servers
            .iter()
            .zip(roles)
            .filter(|(_, role)| **role == ServerRole::Primary)
            .map(|(server, _)| server)
            .collect();
        *self.conflict.lock().unwrap_or_else(PoisonError::into_inner) = primaries
            .iter()
            .map(|pools| Arc::clone(&pools.server))
            .collect();
        match primaries.as_slice() {
            [primary] => self.make_primary(primary),
            [] => {
                // A primary that does not answer stays the one writes try; one that says it
                // is a replica now does not.
                if self
                    .primary()
                    .is_some_and(|primary| roles[primary.slot] != ServerRole::Down)
                {
                    self.set_primary(NO_PRIMARY);
                }
            }
            _several => {
                self.set_primary(NO_PRIMARY);
                tracing::error!(
                    database = self.key,
                    "several servers say they are the primary"
                );
            }
        }
        self.known_primary()
    }

    /// What a health check saw of `server`: its role and position recorded, and a
    /// discovery when the role contradicts what the cluster believes.
    pub(crate) async fn observed(&self, server: &Arc<ServerPools<C>>, health: Health) {
        server.became(health.role);
        let is_primary = self
            .primary()
            .is_some_and(|primary| primary.slot == server.slot);
        let contradicts = match health.role {
            ServerRole::Primary => !is_primary,
            ServerRole::Replica | ServerRole::Detached => is_primary,
            ServerRole::Down => false,
        };
        if contradicts {
            // The answer stands either way; the discovery's error is the writes' to see.
            let _ = self.discover(Instant::now()).await;
        } else {
            self.record(server, health, Instant::now());
        }
    }

    /// Before a replica's health check: the primary's position now, so that the replica's
    /// lag is measured against a sample no older than the check.
    pub(crate) async fn sample_primary(&self, replica: &Arc<ServerPools<C>>) {
        let Some(primary) = self
            .primary()
            .filter(|primary| primary.slot != replica.slot)
        else {
            return;
        };
        if let Some(position) = primary.position_now().await {
            self.primary_wrote(&position, &primary.server);
        }
    }

    /// After a write `server` refused as read-only: whether the server is a replica now (a
    /// failover demoted it), in which case writes look for the new primary.
    pub(crate) async fn write_refused(&self, server: &Arc<ServerPools<C>>) -> bool {
        let health = server.observe().await;
        let role = health.role;
        self.observed(server, health).await;
        matches!(role, ServerRole::Replica | ServerRole::Detached)
    }

    /// After a writer of `server` lost its connection or passed its deadline: when `server`
    /// is the primary, its writers are dropped and the next write first asks every server
    /// which is the primary (a failover seldom kills one connection alone).
    pub(crate) fn doubt_primary(&self, server: &Arc<ServerPools<C>>) {
        if self
            .primary()
            .is_some_and(|primary| primary.slot == server.slot)
        {
            self.primary_in_doubt.store(true, Ordering::Release);
            server.dispose_writers();
        }
    }

    /// Whether the next write must find the primary first.
    pub(crate) fn in_doubt(&self) -> bool {
        self.primary_in_doubt.load(Ordering::Acquire)
    }

    /// Records what `server` was seen to be at `seen`: the primary's position goes in the
    /// history, a replica's is judged against it; then the server's place in the rotation.
    fn record(&self, server: &Arc<ServerPools<C>>, health: Health, seen: Instant) {
        let is_primary = self
            .primary()
            .is_some_and(|primary| primary.slot == server.slot);
        match (health.role, &health.position) {
            (ServerRole::Primary, Some(position)) if is_primary => {
                self.history
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .record(seen, position);
                server.freshness().position = Some(position.clone());
            }
            (ServerRole::Replica | ServerRole::Detached, _) => {
                let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
                let mut freshness = server.freshness();
                freshness.judge(health.position, seen, &history, &self.options);
                if let Some(lag) = freshness.lag {
                    metrics::replica_lag(&server.server, lag, freshness.behind);
                }
            }
            _ => {}
        }
        self.place(server, health.role);
    }

    /// Puts `server` in the read rotation or takes it out, for what it is. A detached
    /// replica serves reads only while no primary is up (its primary restarting, say): then
    /// no server has newer data. A replica beyond the database's maximum lag is out until it
    /// catches up.
    fn place(&self, server: &Arc<ServerPools<C>>, role: ServerRole) {
        let primary_up = self
            .primary()
            .is_some_and(|primary| primary.server.role() == ServerRole::Primary);
        let stale = server.freshness().stale;
        match role {
            ServerRole::Replica | ServerRole::Detached if stale => {
                let why = server.freshness().why_stale(&self.options);
                server.leave_rotation(&why);
            }
            ServerRole::Replica => self.join(server),
            ServerRole::Detached if !primary_up => self.join(server),
            ServerRole::Detached => server.leave_rotation(&"it replicates from no primary"),
            ServerRole::Primary => server.leave_rotation(&"it is a primary"),
            ServerRole::Down => {
                let why = server.why_out.get();
                let why = why.as_deref().unwrap_or("no answer to its health check");
                server.take_out_of_rotation(&why);
            }
        }
    }

    fn join(&self, server: &Arc<ServerPools<C>>) {
        if server.join_rotation() {
            tracing::info!(server = %server.server, "replica in the read rotation");
        }
    }

    /// Sends writes to `primary` from now on.
    fn make_primary(&self, primary: &Arc<ServerPools<C>>) {
        self.history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .follow(primary.slot);
        if self.set_primary(primary.slot) {
            tracing::warn!(server = %primary.server, "writes go to a new primary");
            for other in self
                .servers
                .iter()
                .filter(|other| other.slot != primary.slot)
            {
                other.dispose_writers();
            }
        }
    }

    /// The primary writes go to, when one is known; else why there is none.
    fn known_primary(&self) -> Result<Arc<ServerPools<C>>, Error> {
        if let Some(primary) = self.primary() {
            return Ok(Arc::clone(primary));
        }
        let claimants = self.conflict.lock().unwrap_or_else(PoisonError::into_inner);
        Err(match claimants.len() {
            0 | 1 => Error::NoServerAvailable {
                database: self.key,
                role: Role::Writer,
            },
            _ => Error::ConflictingPrimaries {
                database: self.key,
                servers: claimants.clone(),
            },
        })
    }
}
