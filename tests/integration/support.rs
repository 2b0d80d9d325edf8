//! What the self-tests share: client processes, waiting, and checking ports.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use harness::ServerRef;

pub(crate) fn ports_of(servers: &[ServerRef]) -> Vec<u16> {
    servers.iter().map(|server| server.port).collect()
}

pub(crate) fn assert_all_closed(ports: &[u16]) {
    for &port in ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still listens"
        );
    }
}

pub(crate) fn spawn_quietly(command: &mut Command) -> Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command.spawn().expect("cannot start the client")
}

/// Waits for `child`: whether it succeeded, and its stderr.
pub(crate) fn finish(child: Child) -> (bool, String) {
    let output = child.wait_with_output().expect("the client ran");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub(crate) fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A client (`psql`, `mariadb`) reading its statements from a pipe, so that a test can hold
/// its session open and send more statements later.
pub(crate) struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
}

/// How a [`Session`] ended.
pub(crate) struct Ended {
    pub(crate) succeeded: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Session {
    pub(crate) fn open(command: &mut Command) -> Session {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the client");
        let stdin = child.stdin.take();
        Session { child, stdin }
    }

    /// Sends `sql`, one statement per line.
    pub(crate) fn send(&mut self, sql: &str) {
        let stdin = self.stdin.as_mut().expect("the input is open");
        writeln!(stdin, "{sql}").expect("the client reads its stdin");
        stdin.flush().expect("the client reads its stdin");
    }

    /// Closes the session's input: the client ends once it has run what it got.
    pub(crate) fn close_input(&mut self) {
        self.stdin = None;
    }

    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("the client ran").is_none()
    }

    /// Closes the session's input and waits for the client to end.
    pub(crate) fn end(mut self) -> Ended {
        self.close_input();
        let output = self.child.wait_with_output().expect("the client ran");
        Ended {
            succeeded: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs a client `command` to its end: its trimmed stdout, or its stderr if it failed.
pub(crate) fn output(command: &mut Command) -> Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the client");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}
