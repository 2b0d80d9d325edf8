//! The web example's data: posts in the `default` database, page views in `analytics`
//! (bound with `#[bind]`), and the routed functions the handlers call.

use diesel_route::prelude::*;
use serde::Serialize;

use crate::{Reader, Writer, analytics};

/// The tables, as diesel's CLI would print them.
#[allow(missing_docs)]
pub mod schema {
    diesel::table! {
        posts (id) {
            id -> Integer,
            title -> Text,
            published -> Bool,
        }
    }

    diesel::table! {
        page_views (id) {
            id -> Integer,
            path -> Text,
        }
    }
}
use schema::{page_views, posts};

// The tables of the default database; `page_views` is bound below.
diesel_route::tables!(default: posts);

/// A post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct Post {
    /// Its id.
    pub id: i32,
    /// Its title; the app keeps titles unique.
    pub title: String,
    /// Whether it is out.
    pub published: bool,
}

/// A page view, in the `analytics` database.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = page_views)]
#[bind("analytics")]
pub struct PageView {
    /// The path that was viewed.
    pub path: String,
}

/// The newest posts, from a replica.
#[route(read)]
pub async fn recent_posts(conn: &mut Reader, limit: i64) -> diesel_route::Result<Vec<Post>> {
    Ok(posts::table
        .order(posts::id.desc())
        .limit(limit)
        .select(Post::as_select())
        .load(conn)
        .await?)
}

/// One post; [`diesel_route::Error::Query`] with `NotFound` when there is none.
#[route(read)]
pub async fn post(conn: &mut Reader, id: i32) -> diesel_route::Result<Post> {
    Ok(posts::table
        .find(id)
        .select(Post::as_select())
        .first(conn)
        .await?)
}

/// How many posts have this title. Through a writer, it counts the writer's own, uncommitted
/// posts too.
#[route(read)]
pub async fn count_titled(conn: &mut Reader, title: &str) -> diesel_route::Result<i64> {
    Ok(posts::table
        .filter(posts::title.eq(title))
        .count()
        .get_result(conn)
        .await?)
}

/// Adds a post, on the primary.
#[route(write)]
pub async fn add_post(
    conn: &mut Writer,
    title: &str,
    published: bool,
) -> diesel_route::Result<Post> {
    let values = (posts::title.eq(title), posts::published.eq(published));
    insert_returning(conn, values).await
}

#[cfg(not(all(feature = "mysql", not(feature = "postgres"))))]
async fn insert_returning(
    conn: &mut Writer<'_>,
    values: (
        diesel::dsl::Eq<posts::title, &str>,
        diesel::dsl::Eq<posts::published, bool>,
    ),
) -> diesel_route::Result<Post> {
    Ok(diesel::insert_into(posts::table)
        .values(values)
        .returning(Post::as_returning())
        .get_result(conn)
        .await?)
}

/// MySQL has no `RETURNING`: read the row back by the id it was given.
#[cfg(all(feature = "mysql", not(feature = "postgres")))]
async fn insert_returning(
    conn: &mut Writer<'_>,
    values: (
        diesel::dsl::Eq<posts::title, &str>,
        diesel::dsl::Eq<posts::published, bool>,
    ),
) -> diesel_route::Result<Post> {
    #[derive(QueryableByName)]
    struct LastId {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        id: i32,
    }
    diesel::insert_into(posts::table)
        .values(values)
        .execute(conn)
        .await?;
    let last = diesel::sql_query("SELECT CAST(LAST_INSERT_ID() AS SIGNED INTEGER) AS id");
    let LastId { id } = diesel_route::raw_write(last).get_result(conn).await?;
    post(conn, id).await
}

/// Records a view of `path`, on the primary of `analytics`.
#[route(write)]
pub async fn record_view(conn: &mut Writer<analytics>, path: &str) -> diesel_route::Result<()> {
    let view = PageView {
        path: path.to_owned(),
    };
    diesel::insert_into(page_views::table)
        .values(view)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many times `path` was viewed.
#[route(read)]
pub async fn views_of(conn: &mut Reader<analytics>, path: &str) -> diesel_route::Result<i64> {
    Ok(page_views::table
        .filter(page_views::path.eq(path))
        .count()
        .get_result(conn)
        .await?)
}
