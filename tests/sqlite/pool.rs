//! Pool limits: SQLite lets one writer in at a time, and a call that cannot get a connection
//! in time fails with `Error::PoolTimeout`.

use crate::hung::unless_hung;
use std::time::{Duration, Instant};

use diesel_route::Error;
use diesel_route::prelude::*;
use tokio::sync::oneshot;

use crate::Writer;
use crate::schema::{App, insert_item};

/// How long a call may take before it counts as hung.
const HUNG: Duration = Duration::from_secs(10);

/// Holds the writer until `release` fires, after saying so on `held`.
#[route(write)]
async fn hold_writer(
    conn: &mut Writer,
    held: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
) -> diesel_route::Result<()> {
    let _ = conn.server();
    held.send(()).unwrap();
    release.await.unwrap();
    Ok(())
}

#[tokio::test]
async fn a_second_writer_times_out_while_the_only_one_is_held() {
    let timeout = Duration::from_millis(200);
    // `max_size(4)`: SQLite's writer pool holds one connection whatever the setting.
    let app = App::with(|config| config.max_size(4).checkout_timeout(timeout)).await;
    let (held, is_held) = oneshot::channel();
    let (release, released) = oneshot::channel();
    let mut holder = app.router.clone();
    let mut caller = app.router.clone();
    let holding = hold_writer(&mut holder, held, released);
    let calling = async {
        is_held.await.unwrap();
        let started = Instant::now();
        let result = unless_hung(HUNG, insert_item(&mut caller, "late")).await;
        let waited = started.elapsed();
        release.send(()).unwrap();
        (result, waited)
    };
    let (held, (result, waited)) = tokio::join!(holding, calling);
    held.unwrap();

    let error = result.unwrap_err();
    let Error::PoolTimeout {
        server,
        role,
        waited: reported,
    } = &error
    else {
        panic!("expected a pool timeout, got {error:?}");
    };
    assert_eq!(
        (server.name(), server.database(), *role),
        ("primary".into(), "default", diesel_route::Role::Writer)
    );
    assert_eq!(*reported, timeout);
    assert!(waited >= timeout && waited < timeout * 10, "{waited:?}");
    assert!(error.is_transient());
    let message = error.to_string();
    assert!(
        message.contains("writer") && message.contains("app.db"),
        "{message}"
    );
}
