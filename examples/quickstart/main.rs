//! diesel-route in one file: routed writes on the primary, routed reads on a replica.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! runs on SQLite with no set-up: one file, one writer connection, read-only reader
//! connections. With `DATABASE_URL` (and `DATABASE_REPLICA_URLS`) set, the same program runs
//! on PostgreSQL or MariaDB, built with the backend's feature:
//!
//! ```text
//! DATABASE_URL=postgres://app@primary/app DATABASE_REPLICA_URLS=postgres://app@replica/app \
//!     cargo run --example quickstart --features postgres
//! ```
//!
//! Every routed call is traced; the trace lines show which server and role served it.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router};
use tracing_subscriber::fmt::format::FmtSpan;

// The backend is chosen when the program is built: a real service declares one.
#[cfg(not(any(feature = "postgres", feature = "mysql")))]
diesel_route::databases! { default: sqlite }
#[cfg(feature = "postgres")]
diesel_route::databases! { default: postgres }
#[cfg(all(feature = "mysql", not(feature = "postgres")))]
diesel_route::databases! { default: mysql }

#[cfg(not(any(feature = "postgres", feature = "mysql")))]
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
#[cfg(feature = "postgres")]
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
#[cfg(all(feature = "mysql", not(feature = "postgres")))]
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

mod schema {
    diesel::table! {
        posts (id) {
            id -> Integer,
            title -> Text,
            published -> Bool,
        }
    }
}
use schema::posts;

// The tables of the default database.
diesel_route::tables!(default: posts);

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = posts)]
struct Post {
    id: i32,
    title: String,
    published: bool,
}

/// Runs on the primary, in a transaction: the insert and the read of the new row commit
/// together or not at all.
#[route(write, transaction)]
async fn publish(conn: &mut Writer, title: &str) -> diesel_route::Result<Post> {
    diesel::insert_into(posts::table)
        .values((posts::title.eq(title), posts::published.eq(true)))
        .execute(conn)
        .await?;
    // A writer serves read functions too, and they see its uncommitted row.
    latest(conn).await
}

/// Runs on a replica when called with the router; on the caller's connection otherwise.
#[route(read)]
async fn latest(conn: &mut Reader) -> diesel_route::Result<Post> {
    Ok(posts::table
        .order(posts::id.desc())
        .select(Post::as_select())
        .first(conn)
        .await?)
}

/// Runs on a replica.
#[route(read)]
async fn published_titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table
        .filter(posts::published.eq(true))
        .order(posts::id)
        .select(posts::title)
        .load(conn)
        .await?)
}

/// What a reader does with a write that slips past the types: the database refuses it.
#[route(read)]
async fn sneaky_write(conn: &mut Reader) -> diesel_route::Result<usize> {
    let insert = diesel::sql_query("INSERT INTO posts (title, published) VALUES ('x', false)");
    Ok(diesel_route::raw_read(insert).execute(conn).await?)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // As a person reads it: the error, its causes, and what to do.
            eprintln!("error: {error}");
            let mut cause = error.source();
            while let Some(error) = cause {
                eprintln!("  caused by: {error}");
                cause = error.source();
            }
            if let Some(hint) = hint() {
                eprintln!("hint: {hint}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// What to change when `DATABASE_URL` names a server this build has no backend for.
fn hint() -> Option<&'static str> {
    let url = std::env::var("DATABASE_URL").ok()?;
    let postgres = url.starts_with("postgres");
    let mysql = url.starts_with("mysql") || url.starts_with("mariadb");
    match (postgres, mysql) {
        (true, _) if !cfg!(feature = "postgres") => Some(
            "build with the backend's feature: `cargo run --example quickstart --features postgres`",
        ),
        (_, true) if !cfg!(feature = "mysql") || cfg!(feature = "postgres") => Some(
            "build with the backend's feature: `cargo run --example quickstart --features mysql`",
        ),
        _ => None,
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_span_events(FmtSpan::CLOSE)
        .with_target(false)
        .without_time()
        .init();

    let mut router = router()?;
    let applied = router.run_pending_migrations::<default>(MIGRATIONS).await?;
    println!("migrations applied: {applied:?}\n");

    let post = publish(&mut router, "Hello from the primary").await?;
    println!(
        "published post #{} {:?} (published: {})\n",
        post.id, post.title, post.published
    );

    let titles = published_titles(&mut router).await?;
    println!(
        "{} published titles, the last: {:?}\n",
        titles.len(),
        titles.last()
    );

    match sneaky_write(&mut router).await {
        Err(diesel_route::Error::ReadOnly(error)) => {
            println!("a write through a reader was refused by the database: {error}");
        }
        other => return Err(format!("a reader wrote: {other:?}").into()),
    }
    Ok(())
}

/// From the environment when `DATABASE_URL` is set; otherwise a SQLite file in the temp dir.
fn router() -> diesel_route::Result<Router> {
    if std::env::var_os("DATABASE_URL").is_some() {
        return Router::from_env(Databases);
    }
    let path = std::env::temp_dir().join("diesel-route-quickstart.db");
    println!("SQLite database: {}", path.display());
    Router::builder(Databases)
        .database("default", DatabaseConfig::new(path.to_string_lossy()))
        .build()
}
