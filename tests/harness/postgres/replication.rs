//! Failover, held-back replication and commits that wait for a standby, on PostgreSQL.

use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use super::PgCluster;
use crate::node::{Hold, Node, Role};
use crate::process::{hermetic, run};
use crate::wait::{PATIENCE, wait_until};
use crate::{ServerRef, Stop};

/// `application_name` of the session that checks whether commits wait.
const COMMIT_PROBE: &str = "harness-commit-probe";

impl PgCluster {
    /// Promotes the standby `server` to primary (`pg_promote`, which first replays the WAL it
    /// has received) and points the other standbys at it; returns once it takes writes and
    /// they stream from it.
    ///
    /// The primary so far becomes a former primary, neither [`PgCluster::primary`] nor one of
    /// [`PgCluster::replicas`]. If it still runs, it still takes writes, as a primary cut off
    /// from its standbys would, until [`PgCluster::demote`] makes it a standby. Stop it (or
    /// [`PgCluster::wait_caught_up`]) before promoting: a standby that has WAL the promoted one
    /// lacks cannot follow it. `ServerRef`s taken before keep their old `is_primary`.
    pub fn promote(&self, server: &ServerRef) {
        let node = self.cluster.node(server);
        let promoted = self.sql(server, "SELECT pg_promote(true, 60)");
        assert_eq!(promoted, "t", "`{}` was not promoted in 60 s", server.name);
        self.cluster.hand_over(node);
        let postgres = &self.cluster.flavor;
        let connected = self
            .cluster
            .replicas()
            .filter(|standby| standby.is_running() && !standby.is_held_by(Hold::Receiver));
        for standby in connected {
            postgres.follow(standby, Some(node.port()));
            self.sql(&standby.server_ref(), "SELECT pg_reload_conf()");
        }
        self.wait_streaming(self.cluster.following_replicas());
    }

    /// Makes the former primary `server` a standby of the current primary: stops it if it
    /// runs, rewinds it with `pg_rewind` to where the timelines forked (dropping what it wrote
    /// after the promotion; nothing to do if it stopped cleanly before it), starts it in standby
    /// mode and waits until it streams. It keeps its name: `primary` may now be a standby.
    pub fn demote(&self, server: &ServerRef) {
        let node = self.cluster.node(server);
        assert_eq!(
            node.role(),
            Role::Former,
            "`{}` is not a former primary: promote a standby first",
            server.name
        );
        if node.is_running() {
            self.stop(server, Stop::Fast);
        }
        self.rewind(node);
        node.set_role(Role::Replica);
        self.cluster.start_node(node);
        self.wait_streaming([node]);
    }

    /// Makes every commit on the primary wait for a synchronous standby `nobody` that never
    /// comes (`synchronous_standby_names`), for "COMMIT in flight" tests. A committing session
    /// then hangs, wait event `SyncRep`, until [`PgCluster::release_commits`] or until it is
    /// cancelled or terminated: its commit then stands (a terminated client sees only its
    /// connection die). Other sessions see the transaction once it no longer waits. Returns
    /// once a probe commit has been seen waiting.
    pub fn hold_commits(&self) {
        let primary = self.primary();
        self.sql(
            &primary,
            "ALTER SYSTEM SET synchronous_standby_names = 'nobody';
             ALTER SYSTEM SET synchronous_commit = on;
             SELECT pg_reload_conf();",
        );
        wait_until("commits to wait for a standby", PATIENCE, || {
            self.commit_waits(&primary)
        })
        .unwrap_or_else(|why| panic!("{why}"));
    }

    /// Undoes [`PgCluster::hold_commits`]: the waiting commits end, and new ones do not wait.
    pub fn release_commits(&self) {
        let primary = self.primary();
        self.sql(
            &primary,
            "ALTER SYSTEM RESET synchronous_standby_names;
             ALTER SYSTEM RESET synchronous_commit;
             SELECT pg_reload_conf();",
        );
        let waiting = "SELECT current_setting('synchronous_standby_names') <> ''
             OR EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'SyncRep')";
        wait_until("waiting commits to end", PATIENCE, || {
            Ok(self.try_sql(&primary, "app", waiting)? == "f")
        })
        .unwrap_or_else(|why| panic!("{why}"));
    }

    /// Pauses replay on the standby `replica` (`pg_wal_replay_pause()`): it still receives WAL
    /// but applies none, so it serves older and older data, until [`PgCluster::resume_replay`]
    /// or a restart. [`PgCluster::wait_caught_up`] does not wait for it meanwhile.
    pub fn pause_replay(&self, replica: &ServerRef) {
        let node = self.running_standby(replica);
        self.sql(replica, "SELECT pg_wal_replay_pause()");
        let paused = "SELECT pg_get_wal_replay_pause_state()";
        wait_until(
            &format!("replay on `{}` to pause", node.name),
            PATIENCE,
            || Ok(self.try_sql(replica, "app", paused)? == "paused"),
        )
        .unwrap_or_else(|why| panic!("{why}"));
        node.set_hold(Hold::Replay, true);
    }

    /// Resumes replay on a standby that [`PgCluster::pause_replay`] paused.
    pub fn resume_replay(&self, replica: &ServerRef) {
        let node = self.running_standby(replica);
        self.sql(replica, "SELECT pg_wal_replay_resume()");
        node.set_hold(Hold::Replay, false);
    }

    /// Cuts the standby `replica` off the primary: an empty `primary_conninfo`, reloaded, ends
    /// its WAL receiver, so that nothing new arrives until [`PgCluster::start_replication`] or
    /// a restart; it still replays what it received. [`PgCluster::wait_caught_up`] does not
    /// wait for it meanwhile.
    pub fn stop_replication(&self, replica: &ServerRef) {
        let node = self.running_standby(replica);
        node.set_hold(Hold::Receiver, true);
        self.cluster.flavor.follow(node, None);
        self.sql(replica, "SELECT pg_reload_conf()");
        let receivers = "SELECT count(*) FROM pg_stat_wal_receiver";
        wait_until(
            &format!("`{}` to stop receiving", node.name),
            PATIENCE,
            || Ok(self.try_sql(replica, "app", receivers)? == "0"),
        )
        .unwrap_or_else(|why| panic!("{why}"));
    }

    /// Connects a standby that [`PgCluster::stop_replication`] cut off to the current primary
    /// again and waits until it streams.
    pub fn start_replication(&self, replica: &ServerRef) {
        let node = self.running_standby(replica);
        let primary_port = self.cluster.primary().port();
        self.cluster.flavor.follow(node, Some(primary_port));
        self.sql(replica, "SELECT pg_reload_conf()");
        node.set_hold(Hold::Receiver, false);
        self.wait_streaming([node]);
    }

    /// The node of `server`; panics unless it is a running standby.
    fn running_standby(&self, server: &ServerRef) -> &Node {
        let node = self.cluster.node(server);
        assert!(
            node.role() == Role::Replica && node.is_running(),
            "`{}` is not a running standby",
            server.name
        );
        node
    }

    /// `pg_rewind` of `node`'s data dir onto the primary's timeline. It finds nothing to do
    /// when `node` did not diverge, and runs crash recovery first if `node` was killed.
    fn rewind(&self, node: &Node) {
        // A promoted server's control file names its new timeline only after a checkpoint;
        // until then pg_rewind sees one timeline and rewinds nothing.
        self.sql(&self.primary(), "CHECKPOINT");
        let postgres = &self.cluster.flavor;
        let mut rewind = hermetic(postgres.bin.join("pg_rewind"));
        rewind
            .arg("--target-pgdata")
            .arg(&node.data_dir)
            .arg(format!(
                "--source-server=host=127.0.0.1 port={} user=postgres dbname=postgres",
                self.cluster.primary().port()
            ))
            .arg("--no-sync")
            .current_dir(&node.data_dir);
        postgres.run_as.apply(&mut rewind);
        run(&mut rewind, "").unwrap_or_else(|why| panic!("cannot rewind `{}`: {why}", node.name));
    }

    /// Whether a commit on `primary` now waits for a synchronous standby. Sessions see a new
    /// `synchronous_standby_names` a moment before the checkpointer makes commits wait for it,
    /// so only a commit tells. Only a transaction that wrote WAL waits: the probe writes a
    /// logical-decoding message, which changes no table. Its wait is then cancelled.
    fn commit_waits(&self, primary: &ServerRef) -> Result<bool, String> {
        let mut probe = self
            .cluster
            .flavor
            .psql(primary.port, "postgres", "postgres");
        probe
            .env("PGAPPNAME", COMMIT_PROBE)
            .args([
                "-c",
                "SELECT pg_logical_emit_message(true, 'harness', 'probe')",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut probe = probe.spawn().map_err(|e| format!("cannot run psql: {e}"))?;
        let cancel = format!(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
             WHERE application_name = '{COMMIT_PROBE}' AND wait_event = 'SyncRep'"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut outcome = || loop {
            if self.try_sql(primary, "postgres", &cancel)? == "t" {
                return Ok(true);
            }
            if probe.try_wait().map_or(true, |status| status.is_some()) {
                return Ok(false);
            }
            if Instant::now() >= deadline {
                return Err("the probe commit neither waited nor ended in 10 s".to_owned());
            }
            thread::sleep(Duration::from_millis(5));
        };
        let waits = outcome();
        let _ = probe.kill();
        let _ = probe.wait();
        waits
    }
}
