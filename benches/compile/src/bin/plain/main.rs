//! The plain program of the compile-time bench (`measure.sh`): the functions of
//! `gen/generate.py` on diesel-async alone.

#[path = "../../models.rs"]
mod models;
#[path = "../../schema.rs"]
mod schema;

mod analytics_queries;
mod posts;
mod users;
mod writes;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::models::Post;
use crate::schema::{page_views, posts as posts_table};

/// A page view, in `analytics`.
#[allow(dead_code)]
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = page_views)]
pub(crate) struct PageView {
    pub(crate) id: i32,
    pub(crate) path: String,
    pub(crate) user_id: i32,
    pub(crate) millis: i32,
}

/// Posts of one author, as a service.
pub(crate) struct Author {
    id: i32,
    calls: u32,
}

impl Author {
    /// The author's titles.
    pub(crate) async fn titles(
        &self,
        conn: &mut AsyncPgConnection,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        posts_table::table
            .filter(posts_table::user_id.eq(self.id))
            .select(posts_table::title)
            .limit(limit)
            .load(conn)
            .await
    }

    /// Publishes every post of the author, in a transaction.
    pub(crate) async fn publish_all(&mut self, conn: &mut AsyncPgConnection) -> QueryResult<usize> {
        self.calls += 1;
        let id = self.id;
        let published = conn
            .transaction(async move |conn| {
                diesel::update(posts_table::table.filter(posts_table::user_id.eq(id)))
                    .set(posts_table::published.eq(true))
                    .execute(conn)
                    .await
            })
            .await?;
        let _ = self.titles(conn, 10).await?;
        Ok(published)
    }
}

/// Creates a post and counts, in a transaction.
async fn create_and_count(conn: &mut AsyncPgConnection, user_id: i32) -> QueryResult<i64> {
    conn.transaction(async move |conn| {
        let post: Post =
            writes::create_post(conn, user_id, "title".to_owned(), String::new()).await?;
        let _ = writes::publish(conn, post.id).await?;
        posts::post_count(conn).await
    })
    .await
}

/// A read on two connections, one per database.
async fn overview(
    conn: &mut AsyncPgConnection,
    analytics: &mut AsyncPgConnection,
) -> QueryResult<(i64, Option<i32>)> {
    let count = posts::post_count(conn).await?;
    Ok((count, analytics_queries::slowest(analytics).await?))
}

/// An axum handler on a pool of plain connections.
async fn handler(
    axum::extract::State(pool): axum::extract::State<
        diesel_async::pooled_connection::deadpool::Pool<AsyncPgConnection>,
    >,
) -> String {
    let Ok(mut conn) = pool.get().await else {
        return "no connection".to_owned();
    };
    match posts::recent_posts(&mut conn, 10, 0).await {
        Ok(posts) => posts.len().to_string(),
        Err(error) => error.to_string(),
    }
}

/// Calls every function: they are compiled to machine code, as in an application. (The
/// program is built, not run: it exits unless given an argument.)
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _: axum::Router<diesel_async::pooled_connection::deadpool::Pool<AsyncPgConnection>> =
        axum::Router::new().route("/", axum::routing::get(handler));
    let Some(url) = std::env::args().nth(1) else {
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let mut conn = AsyncPgConnection::establish(&url).await?;
        let mut analytics = AsyncPgConnection::establish(&url).await?;
        posts::exercise(&mut conn).await;
        users::exercise(&mut conn).await;
        writes::exercise(&mut conn).await;
        analytics_queries::exercise(&mut analytics).await;
        let _ = create_and_count(&mut conn, 1).await;
        let _ = overview(&mut conn, &mut analytics).await;
        let mut author = Author { id: 1, calls: 0 };
        let _ = author.titles(&mut conn, 1).await;
        let _ = author.publish_all(&mut conn).await;
        Ok(())
    })
}
