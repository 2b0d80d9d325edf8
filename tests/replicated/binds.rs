//! A model bound with `#[bind("other")]` is read from and written to database `other` only.

use diesel_route::prelude::*;

use crate::schema::{App, Event, events, whoami_in_other};
use crate::{Reader, Writer, other};

#[route(write)]
async fn record(conn: &mut Writer<other>, kind: &str) -> diesel_route::Result<()> {
    diesel::insert_into(events::table)
        .values(events::kind.eq(kind))
        .execute(conn)
        .await?;
    Ok(())
}

#[route(read)]
async fn recorded(conn: &mut Reader<other>) -> diesel_route::Result<Vec<Event>> {
    Ok(events::table
        .select(Event::as_select())
        .order(events::id)
        .load(conn)
        .await?)
}

#[tokio::test]
async fn a_bound_model_is_read_from_and_written_to_its_own_database_only() {
    let Some(mut app) = App::start("bound_model").await else {
        return;
    };
    let primary = app.cluster.primary();
    // The same table in the database of `default`, with a row reads must not return.
    app.sql(&primary, "INSERT INTO events (kind) VALUES ('in default')");

    record(&mut app.router, "signup").await.unwrap();
    assert_eq!(
        app.sql_in_other(&primary, "SELECT kind FROM events"),
        "signup"
    );
    assert_eq!(app.sql(&primary, "SELECT kind FROM events"), "in default");

    app.cluster.wait_caught_up();
    let events = recorded(&mut app.router).await.unwrap();
    assert_eq!(
        events,
        [Event {
            id: 1,
            kind: "signup".into()
        }]
    );
    for replica in app.cluster.replicas() {
        assert_eq!(
            app.sql_in_other(&replica, "SELECT kind FROM events"),
            "signup"
        );
        assert_eq!(app.sql(&replica, "SELECT kind FROM events"), "in default");
    }
    for _ in 0..10 {
        let read = whoami_in_other(&mut app.router).await.unwrap();
        assert!(!read.server(app.cluster).is_primary, "{read:?}");
        assert_eq!(read.identity.database, app.other_db);
    }
}
