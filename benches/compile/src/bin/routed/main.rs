//! The routed program of the compile-time bench (`measure.sh`): the functions of
//! `gen/generate.py` on diesel-route, and every macro form, for clippy.
#![doc(test(attr(deny(warnings))))]

#[path = "../../models.rs"]
mod models;
#[path = "../../schema.rs"]
mod schema;

mod analytics_queries;
mod posts;
mod users;
mod writes;

use diesel_route::prelude::*;

use crate::models::Post;
use crate::schema::{page_views, posts as posts_table};

/// `diesel_route` under another path, for the `crate = "..."` forms.
mod deps {
    pub(crate) use diesel_route as routing;
}

diesel_route::databases! {
    crate = "crate::deps::routing";
    /// Users, posts and comments.
    default: postgres,
    /// Page views.
    analytics: postgres,
}

diesel_route::tables!(default: schema::users, schema::posts);
diesel_route::tables!(crate = "crate::deps::routing"; default: schema::comments);

/// A page view, in `analytics`.
#[allow(dead_code)]
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = page_views)]
#[bind("analytics", crate = "crate::deps::routing")]
pub(crate) struct PageView {
    pub(crate) id: i32,
    pub(crate) path: String,
    pub(crate) user_id: i32,
    pub(crate) millis: i32,
}

/// Posts of one author, as a service with routed methods.
pub(crate) struct Author {
    id: i32,
    calls: u32,
}

impl Author {
    /// The author's titles.
    #[route(read)]
    pub(crate) async fn titles(
        &self,
        conn: &mut Reader,
        limit: i64,
    ) -> diesel_route::Result<Vec<String>> {
        Ok(posts_table::table
            .filter(posts_table::user_id.eq(self.id))
            .select(posts_table::title)
            .limit(limit)
            .load(conn)
            .await?)
    }

    /// Publishes every post of the author, in a transaction.
    #[route(write, transaction, crate = "crate::deps::routing")]
    pub(crate) async fn publish_all(&mut self, conn: &mut Writer) -> diesel_route::Result<usize> {
        self.calls += 1;
        let published = diesel::update(posts_table::table.filter(posts_table::user_id.eq(self.id)))
            .set(posts_table::published.eq(true))
            .execute(conn)
            .await?;
        let _ = self.titles(conn, 10).await?;
        Ok(published)
    }
}

/// Creates a post and records the view, on two databases; reads see the write.
#[route(write, transaction)]
async fn create_and_count(conn: &mut Writer, user_id: i32) -> diesel_route::Result<i64> {
    let post: Post = writes::create_post(conn, user_id, "title".to_owned(), String::new()).await?;
    let _ = writes::publish(conn, post.id).await?;
    posts::post_count(conn).await
}

/// A read that also reads another database through the router it is given.
#[route(read)]
async fn overview(
    conn: &mut Reader,
    router: &mut diesel_route::Router,
) -> diesel_route::Result<(i64, Option<i32>)> {
    let count = posts::post_count(conn).await?;
    Ok((count, analytics_queries::slowest(router).await?))
}

/// An axum handler: routed calls make `Send` futures.
async fn handler(mut session: diesel_route::axum::RequestSession) -> String {
    match posts::recent_posts(&mut session, 10, 0).await {
        Ok(posts) => posts.len().to_string(),
        Err(error) => error.to_string(),
    }
}

/// Calls every function: they are compiled to machine code, as in an application. (The
/// program is built, not run: it exits unless given an argument.)
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = axum::Router::<()>::new().route("/", axum::routing::get(handler));
    if std::env::args().len() < 2 {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let mut router = diesel_route::Router::from_env(Databases)?;
        posts::exercise(&mut router).await;
        users::exercise(&mut router).await;
        writes::exercise(&mut router).await;
        analytics_queries::exercise(&mut router).await;
        let _ = create_and_count(&mut router, 1).await;
        let mut other = router.clone();
        let _ = overview(&mut router, &mut other).await;
        let mut author = Author { id: 1, calls: 0 };
        let _ = author.titles(&mut router, 1).await;
        let _ = author.publish_all(&mut router).await;
        Ok(())
    })
}
