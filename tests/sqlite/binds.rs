//! A model bound with `#[bind("other")]` is read from and written to database `other` only.

use diesel_route::prelude::*;

use crate::schema::{App, Event, count_in_file, events, execute_in_file};
use crate::{Reader, Writer, other};

#[route(write)]
async fn record(conn: &mut Writer<other>, kind: &str) -> diesel_route::Result<&'static str> {
    diesel::insert_into(events::table)
        .values(events::kind.eq(kind))
        .execute(conn)
        .await?;
    Ok(conn.server().database())
}

#[route(read)]
async fn recorded(conn: &mut Reader<other>) -> diesel_route::Result<(Vec<Event>, &'static str)> {
    let events = events::table
        .select(Event::as_select())
        .order(events::id)
        .load(conn)
        .await?;
    Ok((events, conn.server().database()))
}

#[tokio::test]
async fn a_bound_model_is_read_from_and_written_to_its_own_file_only() {
    let mut app = App::new().await;
    // The same table in `app.db`, holding a row the reads must not see.
    execute_in_file(
        &app.app_db,
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL);
         INSERT INTO events (kind) VALUES ('in app.db');",
    );

    assert_eq!(record(&mut app.router, "signup").await.unwrap(), "other");
    let (events, database) = recorded(&mut app.router).await.unwrap();
    assert_eq!(database, "other");
    assert_eq!(
        events,
        [Event {
            id: 1,
            kind: "signup".into()
        }]
    );
    assert_eq!(count_in_file(&app.other_db, "events"), 1);
    assert_eq!(
        count_in_file(&app.app_db, "events"),
        1,
        "only the row put there"
    );
}
