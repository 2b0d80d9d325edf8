//! Shared by the test binaries: a call that must end, bounded.

use std::future::Future;
use std::time::Duration;

/// `call`'s output, or a failure if it hangs for `limit`: a timeout that never fires is a
/// bug too.
pub(crate) async fn unless_hung<T>(limit: Duration, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| panic!("the call hung for {limit:?}: no timeout fired"))
}
