//! The primary goes down: writes fail fast with a connect error that names it and not the
//! password, reads keep going to the replicas, and writes recover when it is back, on the same
//! router.

use std::time::{Duration, Instant};

use diesel_route::Error;
use harness::Stop;

use super::common::{App, whoami, write_mark};
use crate::support::{blocking, unless_hung};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_primary_down_writes_fail_fast_naming_it_and_reads_go_on() {
    let connect_timeout = Duration::from_secs(1);
    let Some(mut app) = App::own(|_| {}, |config| config.connect_timeout(connect_timeout)).await
    else {
        return;
    };
    let primary = app.server("primary");
    write_mark(&mut app.router, "before")
        .await
        .expect("a write");
    assert_eq!(app.read_every_replica(200).await.len(), 2);

    blocking(|| app.cluster.stop(&primary, Stop::Kill));
    // The primary is down, not going down: a write racing the crash itself may find its
    // connection dead before the driver has noticed, and fails with `ConnectionLost`, which
    // the write cases in `lost.rs` cover. Down means its port refuses connections.
    let port = primary.port;
    let refused = crate::support::within(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    });
    assert!(
        refused.await.is_some(),
        "the killed primary still accepts connections"
    );
    for n in 1..=5 {
        let started = Instant::now();
        let error = unless_hung(Duration::from_secs(30), write_mark(&mut app.router, "lost"))
            .await
            .expect_err("a write with the primary down");
        let took = started.elapsed();
        assert!(
            took < connect_timeout + Duration::from_secs(2),
            "write {n} failed after {took:?}: {error}"
        );
        let Error::Connect { server, .. } = &error else {
            panic!("write {n}: expected a connect error, got {error:?}");
        };
        assert!(server.is_configured_primary(), "{server:?}");
        assert_eq!(server.url().port(), Some(primary.port));
        let (shown, debug) = (error.to_string(), format!("{error:?}"));
        assert!(shown.contains("the primary"), "{shown}");
        assert!(
            shown.contains(&format!("127.0.0.1:{}", primary.port)),
            "{shown}"
        );
        assert!(
            !shown.contains(super::PASSWORD) && !debug.contains(super::PASSWORD),
            "the password shows: {shown}\n{debug}"
        );
        // Reads go on, on the replicas.
        for _ in 0..10 {
            let ran = whoami(&mut app.router)
                .await
                .unwrap_or_else(|e| panic!("a read with the primary down: {e:?}"));
            assert_ne!(ran.server, "primary");
        }
    }

    blocking(|| app.cluster.restart(&primary));
    let ran = write_mark(&mut app.router, "after")
        .await
        .expect("the first write after the primary's restart");
    assert_eq!(ran.server, "primary");
    assert_eq!(
        app.sql(&primary, "SELECT note FROM marks ORDER BY id"),
        "before\nafter"
    );
    let stats = crate::support::server_stats(&app.stats(), "primary");
    let writer = crate::support::pool_stats(&stats, diesel_route::Role::Writer);
    assert_eq!(writer.errors.connect, 5, "{writer:?}");
}
