//! What PostgreSQL and MariaDB clusters share: a work dir, a primary and replicas, and
//! stopping them all on drop.

use std::time::Duration;
use std::{panic, thread};

use crate::node::{Flavor, Node, Role};
use crate::workdir::WorkDir;
use crate::{ServerRef, Stop};

/// How long a clean stop may take before the server is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Nodes of one cluster, in a work dir removed on drop. The node named `primary` starts as the
/// primary; after a failover another one is.
#[derive(Debug)]
pub(crate) struct Cluster<F: Flavor> {
    pub(crate) flavor: F,
    pub(crate) nodes: Vec<Node>,
    // Declared last so the nodes are stopped (in `Drop`) before the dir goes.
    pub(crate) dir: WorkDir,
}

impl<F: Flavor> Cluster<F> {
    /// A cluster of stopped nodes named `primary`, `replica1`, ... in a new work dir.
    pub(crate) fn new(flavor: F, prefix: &str, replicas: usize) -> Cluster<F> {
        let dir = WorkDir::new(prefix);
        let primary = std::iter::once(("primary".to_owned(), Role::Primary));
        let replicas = (1..=replicas).map(|n| (format!("replica{n}"), Role::Replica));
        let nodes = primary
            .chain(replicas)
            .map(|(name, role)| Node::new(dir.path(), dir.pid_file(&name), &name, role))
            .collect();
        Cluster { flavor, nodes, dir }
    }

    /// The node in the primary role.
    pub(crate) fn primary(&self) -> &Node {
        self.nodes
            .iter()
            .find(|node| node.role() == Role::Primary)
            .expect("a cluster always has a primary")
    }

    /// The nodes that replicate from the primary, in order.
    pub(crate) fn replicas(&self) -> impl Iterator<Item = &Node> {
        self.nodes
            .iter()
            .filter(|node| node.role() == Role::Replica)
    }

    /// Makes the replica `node` the primary, and the primary so far a former one.
    pub(crate) fn hand_over(&self, node: &Node) {
        assert_eq!(
            node.role(),
            Role::Replica,
            "only a replica can be promoted, not `{}`",
            node.name
        );
        self.primary().set_role(Role::Former);
        node.set_role(Role::Primary);
    }

    /// The node `server` names; panics if it belongs to another cluster.
    pub(crate) fn node(&self, server: &ServerRef) -> &Node {
        self.nodes
            .iter()
            .find(|node| node.name == server.name && node.port() == server.port)
            .unwrap_or_else(|| panic!("`{}` is not a server of this cluster", server.name))
    }

    pub(crate) fn servers(&self) -> Vec<ServerRef> {
        self.nodes.iter().map(Node::server_ref).collect()
    }

    pub(crate) fn server_by_port(&self, port: u16) -> Option<ServerRef> {
        self.nodes
            .iter()
            .find(|node| node.port() == port)
            .map(Node::server_ref)
    }

    /// Starts `node` and waits until it accepts connections.
    pub(crate) fn start_node(&self, node: &Node) {
        node.start(&self.flavor, self.primary().port());
    }

    /// Starts every replica at once: on two cores the waits overlap well.
    pub(crate) fn start_replicas(&self, prepare: impl Fn(&Node) + Sync) {
        thread::scope(|scope| {
            let start = |node| {
                prepare(node);
                self.start_node(node);
            };
            let starts: Vec<_> = self
                .replicas()
                .map(|node| scope.spawn(move || start(node)))
                .collect();
            for start in starts {
                // Re-raise the replica's own panic, with its message and log tail.
                if let Err(panic) = start.join() {
                    panic::resume_unwind(panic);
                }
            }
        });
    }

    /// Stops `server` the way `how` says; panics if it is not running.
    pub(crate) fn stop(&self, server: &ServerRef, how: Stop) {
        let node = self.node(server);
        let stopped = node.stop(self.flavor.signal(how), STOP_GRACE);
        assert!(stopped, "cannot stop `{}`: it is not running", node.name);
    }

    /// Replicas whose server runs and whose replication the harness does not hold back: the
    /// ones that catch up with the primary.
    pub(crate) fn following_replicas(&self) -> impl Iterator<Item = &Node> {
        self.replicas()
            .filter(|node| node.is_running() && !node.is_held())
    }
}

impl<F: Flavor> Drop for Cluster<F> {
    fn drop(&mut self) {
        let signal = self.flavor.signal(Stop::Fast);
        thread::scope(|scope| {
            for node in &self.nodes {
                scope.spawn(move || node.stop(signal, Duration::from_secs(10)));
            }
        });
    }
}
