//! Generated code adds no compiler warnings. (Clippy's, pedantic ones included, are checked
//! on `benches/compile`, a crate that uses every macro form: trybuild runs rustc only.)
#![deny(warnings, rust_2018_idioms, unreachable_pub, missing_docs)]

use diesel_route::prelude::*;

diesel_route::databases! {
    /// The database.
    default: sqlite,
}

mod schema {
    #![allow(missing_docs)]
    diesel::table! {
        posts (id) {
            id -> Integer,
            title -> Text,
        }
    }
}
use schema::posts;
diesel_route::tables!(default: posts);

/// Titles.
///
/// # Errors
///
/// When the database fails.
#[route(read)]
pub async fn titles(conn: &mut Reader<'_>, limit: i64) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table.select(posts::title).limit(limit).load(conn).await?)
}

/// Publishes.
///
/// # Errors
///
/// When the database fails.
#[route(write, transaction)]
pub async fn publish(conn: &mut Writer<'_>, title: &str) -> diesel_route::Result<usize> {
    titles(conn, 1).await?;
    Ok(diesel::insert_into(posts::table)
        .values(posts::title.eq(title))
        .execute(conn)
        .await?)
}

fn main() {}
