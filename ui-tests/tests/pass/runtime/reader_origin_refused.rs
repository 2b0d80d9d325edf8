// A user type that derefs to a session may be a connection source; it cannot pass a
// reader's connection off as a writer's: the write is refused before any SQL is sent.
use std::ops::{Deref, DerefMut};

use diesel_route::__private::{Deadline, Origin, Sealed, Span};
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Error, ReadSource, Router, Session, WriteSource};

diesel_route::databases! {
    default: sqlite,
}

diesel::table! {
    notes (id) {
        id -> Integer,
        body -> Text,
    }
}
diesel_route::tables!(default: notes);

struct Disguised<'a> {
    session: Session,
    reader: Reader<'a>,
}

impl Deref for Disguised<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl DerefMut for Disguised<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.session
    }
}

impl WriteSource<default> for Disguised<'_> {
    fn write_origin(&mut self, sealed: Sealed) -> Origin<'_, default> {
        ReadSource::<default>::read_origin(&mut self.reader, sealed)
    }

    fn parent_span(&self, _: Sealed) -> Option<&Span> {
        None
    }

    fn deadline(&self, _: Sealed) -> Option<Deadline> {
        None
    }
}

#[route(write)]
async fn create_schema(conn: &mut Writer) -> diesel_route::Result<()> {
    Ok(conn
        .batch_execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .await?)
}

#[route(write)]
async fn add_note(conn: &mut Writer, body: String) -> diesel_route::Result<usize> {
    Ok(diesel::insert_into(notes::table)
        .values(notes::body.eq(body))
        .execute(conn)
        .await?)
}

#[route(write)]
async fn smuggle(conn: &mut Writer, session: Session) -> diesel_route::Result<usize> {
    let mut disguised = Disguised {
        session,
        reader: conn.as_reader(),
    };
    add_note(&mut disguised, "smuggled".to_owned()).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let path = std::env::temp_dir().join(format!("diesel-route-ui-{}.db", std::process::id()));
    let url = path.to_str().expect("a UTF-8 temp path").to_owned();
    let mut router = Router::builder(Databases)
        .database("default", DatabaseConfig::new(url))
        .build()
        .expect("a router");
    create_schema(&mut router).await.expect("the schema");
    let session = router.session();
    let error = smuggle(&mut router, session).await.expect_err("refused");
    assert!(matches!(error, Error::ReadOnly(_)), "{error:?}");
    drop(router);
    let _ = std::fs::remove_file(&path);
}
