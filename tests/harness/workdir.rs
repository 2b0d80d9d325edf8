//! Temp dirs that clean up after their servers, even when the test process dies.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use tempfile::TempDir;

/// Where all harness dirs live: cached templates and one dir per running cluster.
pub(crate) fn harness_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = base_dir().join("diesel-route-harness");
        fs::create_dir_all(&root)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
        // PostgreSQL runs as `postgres` and must reach its data dirs below.
        let _ = fs::set_permissions(&root, fs::Permissions::from_mode(0o755));
        root
    })
}

/// Room a tmpfs needs for the harness to use it: a few dozen servers of ~40 MB each.
const TMPFS_ROOM: u64 = 4 << 30;

/// `/dev/shm` when it has room, else the temp dir. Copying a data dir's ~1300 files takes
/// 0.06 to 1.8 s on this machine's disk, depending on the load, and 0.06 to 0.1 s on tmpfs.
fn base_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let room = rustix::fs::statvfs(shm).map_or(0, |fs| fs.f_bavail.saturating_mul(fs.f_frsize));
    if room >= TMPFS_ROOM && fs::create_dir_all(shm.join("diesel-route-harness")).is_ok() {
        return shm.to_path_buf();
    }
    // Absolute: MariaDB wants absolute data dirs, and `TMPDIR` may be relative.
    std::path::absolute(std::env::temp_dir()).expect("the temp dir has an absolute path")
}

/// A temp dir under [`harness_root`] watched by a watchdog process. Servers register their pids
/// in it (see [`WorkDir::pid_file`]); if this process ends without dropping the `WorkDir`, the
/// watchdog stops those servers and removes the dir.
#[derive(Debug)]
pub(crate) struct WorkDir {
    // Dropped first: the dir goes, then the watchdog is released.
    temp: TempDir,
    _watchdog: Watchdog,
}

impl WorkDir {
    /// A new dir named `<prefix>-<random>`.
    pub(crate) fn new(prefix: &str) -> WorkDir {
        let temp = tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .tempdir_in(harness_root())
            .expect("cannot create a temp dir");
        let watchdog = Watchdog::spawn(temp.path());
        WorkDir {
            temp,
            _watchdog: watchdog,
        }
    }

    /// The dir's path.
    pub(crate) fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Where a server records `<pid> <signal>` for the watchdog while it runs; a frozen server
    /// also records its processes' pids beside it, in `<server>.frozen-pids`.
    pub(crate) fn pid_file(&self, server: &str) -> PathBuf {
        self.path().join(format!("{server}.server-pid"))
    }
}

/// Waits for EOF on its stdin, which comes when the `WorkDir` is dropped or this process dies,
/// then thaws frozen servers (and their children), stops the registered servers that still run
/// and removes the dir.
const WATCHDOG_SCRIPT: &str = r#"
trap '' INT HUP
dir=$1
alive() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$dir"; }
cat > /dev/null
for f in "$dir"/*.frozen-pids; do
  [ -f "$f" ] && kill -s CONT $(cat "$f") 2>/dev/null
done
for f in "$dir"/*.server-pid; do
  [ -f "$f" ] && read -r pid signal < "$f" && alive "$pid" && kill -s "$signal" "$pid"
done
for f in "$dir"/*.server-pid; do
  [ -f "$f" ] && read -r pid signal < "$f" || continue
  i=0
  while alive "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  alive "$pid" && kill -s KILL "$pid"
done
rm -rf -- "$dir"
"#;

#[derive(Debug)]
struct Watchdog {
    child: Child,
    // Closing it is the signal; std opens pipes close-on-exec, so no server inherits it.
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    fn spawn(dir: &Path) -> Watchdog {
        let mut child = Command::new("sh")
            .args(["-c", WATCHDOG_SCRIPT, "watchdog"])
            .arg(dir)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Out of the test's process group: a Ctrl-C must reach the test, not the watchdog.
            .process_group(0)
            .spawn()
            .expect("cannot start the watchdog shell");
        let stdin = child.stdin.take();
        Watchdog { child, stdin }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
