//! The application under test: its tables, routed functions every module uses, and a router
//! on fresh files in a temp dir.

use std::path::{Path, PathBuf};

use diesel::sql_types::BigInt;
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router};
use tempfile::TempDir;

use crate::{Databases, Reader, Writer, other};

diesel::table! {
    items (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> Integer,
        kind -> Text,
    }
}

diesel_route::tables!(default: items);

/// Lives in database `other` only.
#[derive(Queryable, Selectable, Debug, PartialEq)]
#[diesel(table_name = events)]
#[bind("other")]
pub(crate) struct Event {
    pub(crate) id: i32,
    pub(crate) kind: String,
}

/// Two databases in files of their own, in a temp dir removed on drop.
pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) app_db: PathBuf,
    pub(crate) other_db: PathBuf,
    _dir: TempDir,
}

impl App {
    /// Fresh files with the schema: `items` in `app.db`, `events` in `other.db`.
    pub(crate) async fn new() -> App {
        App::with(|config| config).await
    }

    /// Like [`App::new`], with `configure` applied to both databases' configuration.
    pub(crate) async fn with(configure: impl Fn(DatabaseConfig) -> DatabaseConfig) -> App {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut router = router_in(dir.path(), configure);
        create_items(&mut router).await.expect("schema of app.db");
        create_events(&mut router)
            .await
            .expect("schema of other.db");
        App {
            router,
            app_db: dir.path().join("app.db"),
            other_db: dir.path().join("other.db"),
            _dir: dir,
        }
    }
}

/// A router on `app.db` (`default`) and `other.db` (`other`) in `dir`, with `configure`
/// applied to both databases' configuration; no schema.
pub(crate) fn router_in(
    dir: &Path,
    configure: impl Fn(DatabaseConfig) -> DatabaseConfig,
) -> Router {
    let config = |file: &str| configure(DatabaseConfig::new(path_str(&dir.join(file))));
    Router::builder(Databases)
        .database("default", config("app.db"))
        .database("other", config("other.db"))
        .build()
        .expect("a valid configuration")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

#[route(write)]
async fn create_items(conn: &mut Writer) -> diesel_route::Result<()> {
    Ok(conn
        .batch_execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .await?)
}

#[route(write)]
async fn create_events(conn: &mut Writer<other>) -> diesel_route::Result<()> {
    Ok(conn
        .batch_execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL)")
        .await?)
}

#[route(write)]
pub(crate) async fn insert_item(conn: &mut Writer, name: &str) -> diesel_route::Result<i32> {
    Ok(diesel::insert_into(items::table)
        .values(items::name.eq(name))
        .returning(items::id)
        .get_result(conn)
        .await?)
}

#[route(read)]
pub(crate) async fn item_names(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(items::table
        .select(items::name)
        .order(items::id)
        .load(conn)
        .await?)
}

/// `count(*)` of `table` in the SQLite file at `path`, read with a plain diesel connection of
/// its own, past the router.
pub(crate) fn count_in_file(path: &Path, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn =
        diesel::SqliteConnection::establish(path_str(path)).expect("the file opens directly");
    let query = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"));
    let count: Count = diesel::RunQueryDsl::get_result(query, &mut conn).expect("a count");
    count.n
}

/// Runs `sql` on the SQLite file at `path` with a plain diesel connection, past the router.
pub(crate) fn execute_in_file(path: &Path, sql: &str) {
    use diesel::connection::SimpleConnection;
    let mut conn =
        diesel::SqliteConnection::establish(path_str(path)).expect("the file opens directly");
    conn.batch_execute(sql)
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}
