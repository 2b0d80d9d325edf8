//! One server process of a cluster: started as a `Child` we hold, on a port it keeps.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::ServerRef;
use crate::ports::free_port;
use crate::process::{Signal, child_pids, send_signal, wait_or_kill, wait_stopped};
use crate::wait::PATIENCE;

/// What differs between the servers the harness runs: PostgreSQL, MariaDB and PgBouncer.
pub(crate) trait Flavor: Sync {
    /// "PostgreSQL" or "MariaDB", for messages.
    fn product(&self) -> &'static str;
    /// Writes the files `node` reads at start that depend on its role or the primary's port;
    /// nothing by default.
    fn prepare(&self, _node: &Node, _port: u16, _primary_port: u16) {}
    /// The server command for `node` on `port`, replicating from `primary_port`.
    fn command(&self, node: &Node, port: u16, primary_port: u16) -> Command;
    /// Whether the freshly started server `pid` accepts connections.
    fn is_ready(&self, node: &Node, pid: u32) -> bool;
    /// The signal that stops a server the way `how` says.
    fn signal(&self, how: crate::Stop) -> Signal;
}

/// A node's part in its cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Primary,
    Replica,
    /// A primary that a promoted replica replaced: it follows nothing and nothing follows it
    /// until it is demoted.
    Former,
    /// The one-off server that prepares a cached data-dir template.
    Template,
    /// A connection pooler in front of a server.
    Pooler,
}

/// A way the harness holds a replica's replication back; see [`Node::is_held`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Replay is paused; WAL still arrives.
    Replay = 1,
    /// Nothing arrives: the replica does not connect to the primary.
    Receiver = 2,
}

/// How often a fresh port is tried when another process took the one picked.
const PORT_ATTEMPTS: usize = 5;

/// A server: its files, its port, and its process while it runs.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) name: String,
    // Changes on failover.
    role: Mutex<Role>,
    pub(crate) server_id: Option<u32>,
    pub(crate) data_dir: PathBuf,
    log_path: PathBuf,
    pid_file: PathBuf,
    /// 0 until the first start picks a free port.
    port: AtomicU16,
    /// Where the last run's output starts in the log, which all runs append to.
    log_offset: AtomicU64,
    /// The [`Hold`]s in force, as bits; a start clears them.
    holds: AtomicU8,
    running: Mutex<Option<Child>>,
    /// The processes [`Node::freeze`] stopped, the server first.
    frozen: Mutex<Vec<u32>>,
}

impl Node {
    /// A stopped node with its data dir, log and pid file in `dir`.
    pub(crate) fn new(dir: &Path, pid_file: PathBuf, name: &str, role: Role) -> Node {
        Node {
            name: name.to_owned(),
            role: Mutex::new(role),
            server_id: None,
            data_dir: dir.join(name),
            log_path: dir.join(format!("{name}.log")),
            pid_file,
            port: AtomicU16::new(0),
            log_offset: AtomicU64::new(0),
            holds: AtomicU8::new(0),
            running: Mutex::new(None),
            frozen: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn role(&self) -> Role {
        *lock(&self.role)
    }

    /// Gives the node a new role, which ends the holds on its replication of the old one.
    pub(crate) fn set_role(&self, role: Role) {
        *lock(&self.role) = role;
        self.holds.store(0, Ordering::SeqCst);
    }

    /// Marks replication of this replica as held back by `hold`, or no longer.
    pub(crate) fn set_hold(&self, hold: Hold, held: bool) {
        let bit = hold as u8;
        if held {
            self.holds.fetch_or(bit, Ordering::SeqCst);
        } else {
            self.holds.fetch_and(!bit, Ordering::SeqCst);
        }
    }

    /// Whether the harness holds this replica's replication back, so that waiting for it to
    /// catch up would wait forever.
    pub(crate) fn is_held(&self) -> bool {
        self.holds.load(Ordering::SeqCst) != 0
    }

    /// Whether `hold` holds this replica's replication back.
    pub(crate) fn is_held_by(&self, hold: Hold) -> bool {
        self.holds.load(Ordering::SeqCst) & hold as u8 != 0
    }

    /// The port, once the node has started.
    pub(crate) fn port(&self) -> u16 {
        self.port.load(Ordering::SeqCst)
    }

    /// How tests name this node.
    pub(crate) fn server_ref(&self) -> ServerRef {
        ServerRef {
            name: self.name.clone(),
            port: self.port(),
            is_primary: self.role() == Role::Primary,
            server_id: self.server_id,
        }
    }

    /// Starts the server and waits until it accepts connections; panics with its log on
    /// failure. The first start picks a free port, retrying if another process takes it.
    pub(crate) fn start(&self, flavor: &impl Flavor, primary_port: u16) {
        assert!(!self.is_running(), "`{}` is already running", self.name);
        let fixed = Some(self.port()).filter(|&port| port != 0);
        for attempt in 1..=PORT_ATTEMPTS {
            let port = fixed.unwrap_or_else(free_port);
            let Err(failure) = self.launch(flavor, port, primary_port) else {
                self.port.store(port, Ordering::SeqCst);
                // Paused replay and a cut connection do not outlive the server.
                self.holds.store(0, Ordering::SeqCst);
                return;
            };
            let retry = fixed.is_none() && attempt < PORT_ATTEMPTS && failure.port_taken();
            if !retry {
                panic!(
                    "{} server `{}` did not start on port {port}: {}\n--- end of {} ---\n{}",
                    flavor.product(),
                    self.name,
                    failure.reason,
                    self.log_path.display(),
                    tail(&failure.log, 40),
                );
            }
        }
    }

    fn launch(&self, flavor: &impl Flavor, port: u16, primary_port: u16) -> Result<(), Failure> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path);
        let log = log.unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log_path.display()));
        let log_offset = log.metadata().map_or(0, |meta| meta.len());
        flavor.prepare(self, port, primary_port);
        let child = flavor
            .command(self, port, primary_port)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cannot duplicate the log file"))
            .stderr(log)
            // Signals for the test's process group (a Ctrl-C) are not for the server.
            .process_group(0)
            .spawn()
            .map_err(|e| Failure {
                reason: format!("cannot spawn it: {e}"),
                log: String::new(),
            })?;
        let pid = child.id();
        let crash = flavor.signal(crate::Stop::Kill).name();
        let _ = fs::write(&self.pid_file, format!("{pid} {crash}\n"));
        self.log_offset.store(log_offset, Ordering::SeqCst);
        *self.lock() = Some(child);
        self.wait_ready(flavor, pid)
    }

    fn wait_ready(&self, flavor: &impl Flavor, pid: u32) -> Result<(), Failure> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if !self.is_running() {
                let reason = "it exited".to_owned();
                return Err(Failure {
                    reason,
                    log: self.log_of_last_run(),
                });
            }
            if flavor.is_ready(self, pid) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let log = self.log_of_last_run();
                self.stop(Signal::Kill, Duration::ZERO);
                let reason = format!("not accepting connections after {PATIENCE:?}");
                return Err(Failure { reason, log });
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the server runs; one that exited by itself is reaped here.
    pub(crate) fn is_running(&self) -> bool {
        let mut running = self.lock();
        let exited = match running.as_mut() {
            None => return false,
            Some(child) => child.try_wait().map_or(true, |status| status.is_some()),
        };
        if exited {
            *running = None;
            let _ = fs::remove_file(&self.pid_file);
        }
        !exited
    }

    /// Sends `signal` and waits up to `grace` for the exit, then SIGKILLs. Returns whether the
    /// server was running.
    pub(crate) fn stop(&self, signal: Signal, grace: Duration) -> bool {
        let Some(mut child) = self.lock().take() else {
            return false;
        };
        // A frozen server acts on no signal but SIGKILL, and a SIGKILL would leave its frozen
        // children behind.
        self.thaw();
        send_signal(child.id(), signal);
        wait_or_kill(&mut child, grace);
        let _ = fs::remove_file(&self.pid_file);
        true
    }

    /// Freezes the server and its child processes with SIGSTOP, the server first so that it
    /// forks no new child meanwhile, and records their pids for the watchdog, which thaws them
    /// if this process dies. Panics unless the server runs.
    pub(crate) fn freeze(&self) {
        let mut frozen = lock(&self.frozen);
        assert!(frozen.is_empty(), "`{}` is already frozen", self.name);
        let pid = self.lock().as_ref().map(Child::id);
        let pid = pid.unwrap_or_else(|| panic!("cannot freeze `{}`: it is not running", self.name));
        send_signal(pid, Signal::Stop);
        frozen.push(pid);
        wait_stopped(pid);
        for child in child_pids(pid) {
            send_signal(child, Signal::Stop);
            frozen.push(child);
        }
        frozen.iter().for_each(|&pid| wait_stopped(pid));
        let pids: String = frozen.iter().map(|pid| format!("{pid}\n")).collect();
        let _ = fs::write(self.frozen_file(), pids);
    }

    /// Thaws what [`Node::freeze`] froze, the children first; returns whether it was frozen.
    pub(crate) fn thaw(&self) -> bool {
        let pids = std::mem::take(&mut *lock(&self.frozen));
        for &pid in pids.iter().rev() {
            send_signal(pid, Signal::Cont);
        }
        let _ = fs::remove_file(self.frozen_file());
        !pids.is_empty()
    }

    /// Where the pids of a frozen server are kept for the watchdog, beside its pid file.
    fn frozen_file(&self) -> PathBuf {
        self.pid_file.with_extension("frozen-pids")
    }

    /// What the server wrote to its log since it was last started.
    pub(crate) fn log_of_last_run(&self) -> String {
        let offset = self.log_offset.load(Ordering::SeqCst);
        let bytes = fs::read(&self.log_path).unwrap_or_default();
        let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Child>> {
        lock(&self.running)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test must not stop the cleanup of its servers.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a start failed, with what the server logged.
struct Failure {
    reason: String,
    log: String,
}

impl Failure {
    fn port_taken(&self) -> bool {
        self.log.contains("Address already in use")
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for line in &all[all.len().saturating_sub(lines)..] {
        let _ = writeln!(out, "{line}");
    }
    out
}
