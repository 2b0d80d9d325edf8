//! Failover and stopped replication on MariaDB.

use super::MariaDbCluster;
use crate::ServerRef;
use crate::node::{Hold, Node, Role};
use crate::wait::PATIENCE;

impl MariaDbCluster {
    /// Promotes the replica `server` to primary: it applies what it has received, stops
    /// replicating (`STOP SLAVE; RESET SLAVE ALL`) and takes writes (`read_only = 0`). The
    /// other replicas then replicate from it, each from its GTID position; returns once they
    /// do.
    ///
    /// The primary so far becomes a former primary, neither [`MariaDbCluster::primary`] nor
    /// one of [`MariaDbCluster::replicas`]. If it still runs, it still takes writes until
    /// [`MariaDbCluster::demote`] makes it a replica. Stop it (or
    /// [`MariaDbCluster::wait_caught_up`]) before promoting: a replica that has transactions
    /// the promoted one lacks cannot follow it. `ServerRef`s taken before keep their old
    /// `is_primary`.
    pub fn promote(&self, server: &ServerRef) {
        let node = self.cluster.node(server);
        if !node.is_held() {
            self.apply_received(server);
        }
        self.sql(
            server,
            "STOP SLAVE;\nRESET SLAVE ALL;\nSET GLOBAL read_only = 0;",
        );
        self.cluster.hand_over(node);
        for replica in self.cluster.following_replicas() {
            self.follow_primary(replica);
        }
        for replica in self.cluster.following_replicas() {
            self.wait_replicating(replica);
        }
    }

    /// Makes the former primary `server` a read-only replica of the current primary, from
    /// the GTID position of its own binlog; starts it if it is stopped and waits until it
    /// replicates. It keeps its name: `primary` may now be a replica.
    ///
    /// MariaDB has no `pg_rewind`: a former primary that wrote anything after the promotion
    /// has transactions the new primary lacks, and `gtid_strict_mode` stops its replication
    /// with error 1236; this then panics with that error.
    pub fn demote(&self, server: &ServerRef) {
        let node = self.cluster.node(server);
        assert_eq!(
            node.role(),
            Role::Former,
            "`{}` is not a former primary: promote a replica first",
            server.name
        );
        node.set_role(Role::Replica);
        if node.is_running() {
            self.sql(server, "SET GLOBAL read_only = 1");
        } else {
            self.cluster.start_node(node);
        }
        self.sql(server, "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos");
        self.follow_primary(node);
        self.wait_replicating(node);
    }

    /// Stops replication on the replica `replica` (`STOP SLAVE`): nothing new arrives or is
    /// applied until [`MariaDbCluster::start_replication`] or a restart.
    /// [`MariaDbCluster::wait_caught_up`] does not wait for it meanwhile.
    pub fn stop_replication(&self, replica: &ServerRef) {
        let node = self.running_replica(replica);
        node.set_hold(Hold::Receiver, true);
        self.sql(replica, "STOP SLAVE");
    }

    /// Has a replica that [`MariaDbCluster::stop_replication`] stopped replicate from the
    /// current primary again, and waits until it does.
    pub fn start_replication(&self, replica: &ServerRef) {
        let node = self.running_replica(replica);
        self.follow_primary(node);
        node.set_hold(Hold::Receiver, false);
        self.wait_replicating(node);
    }

    /// The node of `server`; panics unless it is a running replica.
    fn running_replica(&self, server: &ServerRef) -> &Node {
        let node = self.cluster.node(server);
        assert!(
            node.role() == Role::Replica && node.is_running(),
            "`{}` is not a running replica",
            server.name
        );
        node
    }

    /// Waits until the replica `server` has applied every transaction it has received, as a
    /// failover must before it promotes a replica.
    fn apply_received(&self, server: &ServerRef) {
        let status = self
            .slave_status(server)
            .unwrap_or_else(|why| panic!("{why}"));
        let received = status.get("Gtid_IO_Pos").map_or("", String::as_str);
        if received.is_empty() {
            return;
        }
        let timeout = PATIENCE.as_secs();
        let wait = format!("SELECT MASTER_GTID_WAIT('{received}', {timeout})");
        let waited = self.sql(server, &wait);
        assert_eq!(
            waited, "0",
            "`{}` did not apply what it received, up to {received}, in {timeout} s",
            server.name
        );
    }
}
