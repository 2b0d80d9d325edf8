//! The second line of defence: a write that slips past the types onto a reader (raw SQL
//! marked `raw_read`) fails with `Error::ReadOnly` and writes nothing.

use diesel_route::prelude::*;
use diesel_route::{Error, raw_read};

use crate::Reader;
use crate::schema::{App, count_in_file, item_names};

#[route(read)]
async fn sneak_in(conn: &mut Reader, name: &str) -> diesel_route::Result<usize> {
    let insert = diesel::sql_query("INSERT INTO items (name) VALUES (?)")
        .bind::<diesel::sql_types::Text, _>(name);
    Ok(raw_read(insert).execute(conn).await?)
}

#[tokio::test]
async fn a_raw_write_through_a_reader_fails_with_read_only_and_writes_nothing() {
    let mut app = App::new().await;
    for _ in 0..2 {
        // Twice: the connection back in the pool is still read-only.
        let error = sneak_in(&mut app.router, "sneaky").await.unwrap_err();
        assert!(matches!(error, Error::ReadOnly(_)), "{error:?}");
        assert!(error.to_string().contains("read-only"), "{error}");
    }
    assert_eq!(count_in_file(&app.app_db, "items"), 0);
    assert_eq!(
        item_names(&mut app.router).await.unwrap(),
        Vec::<String>::new()
    );
}
