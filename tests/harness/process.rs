//! Running the servers' command-line tools and signalling server processes.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs, thread};

/// The signals the harness sends to servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Int,
    Term,
    Quit,
    Kill,
    /// Freezes a process; it cannot be caught.
    Stop,
    /// Thaws a frozen process.
    Cont,
}

impl Signal {
    /// The name `kill -s` takes, for the watchdog script.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Int => "INT",
            Signal::Term => "TERM",
            Signal::Quit => "QUIT",
            Signal::Kill => "KILL",
            Signal::Stop => "STOP",
            Signal::Cont => "CONT",
        }
    }

    fn to_rustix(self) -> rustix::process::Signal {
        use rustix::process::Signal as S;
        match self {
            Signal::Int => S::INT,
            Signal::Term => S::TERM,
            Signal::Quit => S::QUIT,
            Signal::Kill => S::KILL,
            Signal::Stop => S::STOP,
            Signal::Cont => S::CONT,
        }
    }
}

/// Sends `signal` to the process `pid`, which the caller holds as a `Child` or found as the
/// child of one (never by name).
pub(crate) fn send_signal(pid: u32, signal: Signal) {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        // It may have exited already; the caller's wait tells.
        let _ = rustix::process::kill_process(pid, signal.to_rustix());
    }
}

/// The processes whose parent is `pid`, found by scanning `/proc/*/stat`: this kernel has no
/// `/proc/<pid>/task/<tid>/children`.
pub(crate) fn child_pids(pid: u32) -> Vec<u32> {
    let entries = fs::read_dir("/proc").into_iter().flatten().flatten();
    entries
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&candidate| process_stat(candidate).is_some_and(|(_, ppid)| ppid == pid))
        .collect()
}

/// Waits until `pid` has stopped on SIGSTOP (or exited): the signal arrives asynchronously.
pub(crate) fn wait_stopped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_stat(pid).is_some_and(|(state, _)| !matches!(state, 'T' | 't' | 'Z' | 'X')) {
        assert!(Instant::now() < deadline, "process {pid} did not stop");
        thread::sleep(Duration::from_millis(1));
    }
}

/// The state letter and parent pid of `pid`, or `None` once it is gone. The command name
/// before them is in parentheses and may itself hold spaces or parentheses.
fn process_stat(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

/// Waits up to `grace` for `child` to exit, then SIGKILLs it; the child is always reaped.
pub(crate) fn wait_or_kill(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    child.wait().ok()
}

/// A command with a clean environment (`PATH` and `LC_ALL=C`), so a developer's `PG*` or
/// `MYSQL*` variables and locale cannot change what the tools do.
pub(crate) fn hermetic(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_clear().env("LC_ALL", "C");
    if let Some(path) = env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

/// Runs `command` to completion, feeding it `stdin`; returns its trimmed stdout, or an error
/// naming the program with its stderr.
pub(crate) fn run(command: &mut Command, stdin: &str) -> Result<String, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    // Small scripts fit in the pipe buffer, so writing before reading cannot deadlock.
    let mut input = child.stdin.take().expect("stdin is piped");
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let output = child
        .wait_with_output()
        .map_err(|e| format!("`{program}` failed: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(format!(
            "`{program}` exited with {}: {stderr}",
            output.status
        ))
    }
}

/// The user that owns PostgreSQL's files and runs its tools: PostgreSQL refuses to run as root,
/// so a root test process hands them to `postgres`; any other user runs them as itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunAs {
    ids: Option<(u32, u32)>,
}

impl RunAs {
    /// `postgres` when this process is root, else ourselves.
    pub(crate) fn postgres_user() -> Result<RunAs, String> {
        if !running_as_root() {
            return Ok(RunAs { ids: None });
        }
        let passwd = fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
        passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)
            .map(|fields| RunAs {
                ids: Some((parse_id(fields[2]), parse_id(fields[3]))),
            })
            .ok_or_else(|| {
                "running as root, but there is no user `postgres` to run PostgreSQL as".into()
            })
    }

    /// Makes `command` run as this user.
    pub(crate) fn apply(self, command: &mut Command) {
        if let Some((uid, gid)) = self.ids {
            command.uid(uid).gid(gid);
        }
    }

    /// Hands `path` (not recursively) to this user.
    pub(crate) fn chown(self, path: &Path) {
        if let Some((uid, gid)) = self.ids {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("cannot chown {}: {e}", path.display()));
        }
    }

    /// A label for template names: file ownership differs by user.
    pub(crate) fn label(self) -> String {
        format!("u{}", self.ids.map_or_else(effective_uid, |(uid, _)| uid))
    }
}

fn parse_id(field: &str) -> u32 {
    field.parse().expect("/etc/passwd has numeric ids")
}

pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

pub(crate) fn running_as_root() -> bool {
    effective_uid() == 0
}

/// The first executable `name` on `PATH` or in `extra_dirs` (for `sbin` dirs that a non-root
/// `PATH` may lack).
pub(crate) fn find_program(name: &str, extra_dirs: &[&str]) -> Option<std::path::PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(extra_dirs.iter().map(Into::into))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
