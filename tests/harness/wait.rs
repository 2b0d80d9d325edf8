//! Polling for a condition with a deadline.

use std::thread;
use std::time::{Duration, Instant};

/// How long to wait for what a healthy server does within a second: generous, because
/// two cores may be busy with several test binaries.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `check` until it returns `Ok(true)`; after `timeout`, fails with `what` and the last
/// error `check` reported.
pub(crate) fn wait_until(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    // Short at first for quick answers, then longer: each check may spawn a client.
    let mut pause = Duration::from_millis(5);
    loop {
        match check() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(error) => last_error = error,
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "timed out after {timeout:?} waiting for {what}. {last_error}"
            ));
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}
