// The README's tour, put together as a program: it must keep compiling as written there.
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router};

diesel_route::databases! {
    default: postgres,      // every table not bound elsewhere
    analytics: postgres,    // another database, with its own primary and replicas
}

mod schema {
    diesel::table! {
        posts (id) {
            id -> Integer,
            title -> Text,
            published -> Bool,
        }
    }
    diesel::table! {
        users (id) {
            id -> Integer,
            name -> Text,
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

// One line per schema: the tables of the default database.
diesel_route::tables!(default: schema::posts, schema::users);

#[derive(Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct Post {
    pub id: i32,
    pub title: String,
    pub published: bool,
}

// A model bound to another database.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = page_views)]
#[bind("analytics")]
#[allow(dead_code)]
struct PageView {
    id: i32,
    path: String,
}

#[route(read)]
async fn recent_posts(conn: &mut Reader, limit: i64) -> diesel_route::Result<Vec<Post>> {
    Ok(posts::table
        .order(posts::id.desc())
        .limit(limit)
        .select(Post::as_select())
        .load(conn)
        .await?)
}

#[route(write, transaction)]
async fn publish(conn: &mut Writer, post_id: i32) -> diesel_route::Result<Vec<Post>> {
    diesel::update(posts::table.find(post_id))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?;
    // A write function calls read functions with its writer: they see its changes.
    recent_posts(conn, 10).await
}

#[route(write)]
async fn record_view(conn: &mut Writer<analytics>, path: &str) -> diesel_route::Result<usize> {
    Ok(diesel::insert_into(page_views::table)
        .values(page_views::path.eq(path))
        .execute(conn)
        .await?)
}

async fn from_the_environment() -> diesel_route::Result<Vec<Post>> {
    let mut router = Router::from_env(Databases)?;
    // Callers pass the router: each call checks out its connection and gives it back.
    let posts = recent_posts(&mut router, 20).await?;
    publish(&mut router, 1).await?;
    record_view(&mut router, "/").await?;
    Ok(posts)
}

fn in_code(primary: &str, replicas: Vec<String>, analytics_url: &str) -> diesel_route::Result<Router> {
    Router::builder(Databases)
        .database("default", DatabaseConfig::new(primary).replicas(replicas).max_size(16))
        .database("analytics", DatabaseConfig::new(analytics_url))
        .build()
}

fn main() {
    let _ = (from_the_environment, in_code);
    let _: Option<PageView> = None;
}
