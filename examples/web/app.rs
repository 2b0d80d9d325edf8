//! The web example: a small API over two databases, each request with its own session.
//!
//! | endpoint | what | served by |
//! | --- | --- | --- |
//! | `GET /health` | `ok`: the liveness probe | no database at all |
//! | `GET /ready` | readiness: `200`, or `503` and why (a primary unreachable, ...) | a ping of each primary |
//! | `GET /posts?limit=N` | the newest posts | a replica of `default` |
//! | `GET /posts/{id}` | a post and its view count | replicas of `default` and `analytics` |
//! | `POST /posts` `{"title": ..}` | adds a post, records a view; `409` on a taken title | the primaries |
//! | `POST /posts/{id}/views` | records a view of a post | a replica of `default`, the primary of `analytics` |
//! | `GET /debug/db` | a page for a browser: servers, rotation, pool bars, errors, requests' connections; `Router::stats()` as JSON for other clients | a ping of each primary (the page) |
//! | `GET /metrics` | Prometheus' text format: pools, checkouts, waits, errors, rotation | no database |
//!
//! Each request's writes commit together when it answers with a success, and roll back when
//! it fails: `POST /posts` with a title that is taken inserts the post and its view first,
//! then answers `409`, and neither row is kept.

#[path = "db.rs"]
pub mod db;
#[path = "debug.rs"]
pub mod debug;
#[path = "ops.rs"]
pub mod ops;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, Path, Query, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use diesel_route::axum::{RequestSession, SessionLayer};
use diesel_route::{DatabaseConfig, Router};
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

pub use self::ops::install_metrics;

use self::db::Post;
use crate::{Databases, analytics, default};

#[cfg(not(any(feature = "postgres", feature = "mysql")))]
const MIGRATIONS: [EmbeddedMigrations; 2] = [
    embed_migrations!("migrations/sqlite"),
    embed_migrations!("migrations/analytics/sqlite"),
];
#[cfg(feature = "postgres")]
const MIGRATIONS: [EmbeddedMigrations; 2] = [
    embed_migrations!("migrations/postgres"),
    embed_migrations!("migrations/analytics/postgres"),
];
#[cfg(all(feature = "mysql", not(feature = "postgres")))]
const MIGRATIONS: [EmbeddedMigrations; 2] = [
    embed_migrations!("migrations/mysql"),
    embed_migrations!("migrations/analytics/mysql"),
];

/// What the handlers share: the router, and the requests the debug page lists.
#[derive(Clone)]
struct AppState {
    router: Router,
    recent: Arc<debug::Recent>,
}

impl FromRef<AppState> for Router {
    fn from_ref(state: &AppState) -> Router {
        state.router.clone()
    }
}

impl FromRef<AppState> for Arc<debug::Recent> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.recent)
    }
}

/// The API, with a request session per request that commits when the handler succeeds.
pub fn app(router: Router) -> axum::Router {
    let recent = Arc::new(debug::Recent::default());
    axum::Router::new()
        .route("/health", get(health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/posts", get(list_posts).post(create_post))
        .route("/posts/{id}", get(show_post))
        .route("/posts/{id}/views", post(view_post))
        .route("/debug/db", get(debug::page))
        .layer(SessionLayer::new(router.clone()).commit_on_success())
        // Outside the session layer, which puts the connections each request used in its
        // response.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&recent),
            debug::record,
        ))
        // Outside the session layer: the session starts in the request's span, and the
        // `route` span of every call goes under it.
        .layer(axum::middleware::from_fn(request_span))
        .with_state(AppState { router, recent })
}

/// A span per request, the parent of the `route` spans of its calls.
async fn request_span(request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    );
    next.run(request).instrument(span).await
}

/// The router from the environment when `DATABASE_URL` is set (`ANALYTICS_DATABASE_URL`
/// too, and replicas in `DATABASE_REPLICA_URLS`, `ANALYTICS_DATABASE_REPLICA_URLS`);
/// otherwise SQLite files in the temp dir.
///
/// # Errors
///
/// A configuration error naming the variable at fault.
pub fn router_from_env() -> diesel_route::Result<Router> {
    if std::env::var_os("DATABASE_URL").is_some() {
        return Router::from_env(Databases);
    }
    let file = |name: &str| {
        std::env::temp_dir()
            .join(name)
            .to_string_lossy()
            .into_owned()
    };
    Router::builder(Databases)
        .database("default", DatabaseConfig::new(file("diesel-route-web.db")))
        .database(
            "analytics",
            DatabaseConfig::new(file("diesel-route-web-analytics.db")),
        )
        .build()
}

/// Brings both databases' schemas up to date, on their primaries.
///
/// # Errors
///
/// When a primary cannot be reached or a migration fails.
pub async fn migrate(router: &Router) -> diesel_route::Result<()> {
    let [posts, views] = MIGRATIONS;
    router.run_pending_migrations::<default>(posts).await?;
    router.run_pending_migrations::<analytics>(views).await?;
    Ok(())
}

async fn health() -> &'static str {
    "ok"
}

/// `?limit=N` of `GET /posts`.
#[derive(Debug, Deserialize)]
struct Page {
    limit: Option<i64>,
}

async fn list_posts(
    mut session: RequestSession,
    Query(page): Query<Page>,
) -> Result<Json<Vec<Post>>, AppError> {
    let limit = page.limit.unwrap_or(20).clamp(1, 100);
    Ok(Json(db::recent_posts(&mut session, limit).await?))
}

/// A post with its view count.
#[derive(Debug, Serialize)]
struct PostPage {
    post: Post,
    views: i64,
}

async fn show_post(
    mut session: RequestSession,
    Path(id): Path<i32>,
) -> Result<Json<PostPage>, AppError> {
    let post = db::post(&mut session, id).await?;
    let views = db::views_of(&mut session, &format!("/posts/{id}")).await?;
    Ok(Json(PostPage { post, views }))
}

/// The body of `POST /posts`.
#[derive(Debug, Deserialize)]
struct NewPost {
    title: String,
    #[serde(default)]
    published: bool,
}

/// Adds the post and records its first view, then checks that its title is not taken: a
/// rule checked after the writes, which the session's transaction makes safe (a `409` rolls
/// both writes back).
async fn create_post(
    mut session: RequestSession,
    Json(new): Json<NewPost>,
) -> Result<(StatusCode, Json<Post>), AppError> {
    if new.title.trim().is_empty() {
        return Err(AppError::Invalid("a post needs a title"));
    }
    let post = db::add_post(&mut session, &new.title, new.published).await?;
    db::record_view(&mut session, &format!("/posts/{}", post.id)).await?;
    // Through the session's writer: it sees the post just added.
    if db::count_titled(&mut session, &new.title).await? > 1 {
        return Err(AppError::Conflict("a post with this title exists"));
    }
    Ok((StatusCode::CREATED, Json(post)))
}

/// The view count of `POST /posts/{id}/views`.
#[derive(Debug, Serialize)]
struct Views {
    views: i64,
}

/// Reads the post from a replica of `default`, writes the view on the primary of
/// `analytics`, and counts the views there, through the writer that just wrote.
async fn view_post(
    mut session: RequestSession,
    Path(id): Path<i32>,
) -> Result<Json<Views>, AppError> {
    db::post(&mut session, id).await?;
    let path = format!("/posts/{id}");
    db::record_view(&mut session, &path).await?;
    let views = db::views_of(&mut session, &path).await?;
    Ok(Json(Views { views }))
}

/// What a handler fails with, as an HTTP answer.
#[derive(Debug)]
enum AppError {
    Database(diesel_route::Error),
    Invalid(&'static str),
    Conflict(&'static str),
}

impl From<diesel_route::Error> for AppError {
    fn from(error: diesel_route::Error) -> Self {
        Self::Database(error)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::Invalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, why.to_owned()),
            Self::Conflict(why) => (StatusCode::CONFLICT, why.to_owned()),
            Self::Database(diesel_route::Error::Query(diesel::result::Error::NotFound)) => {
                (StatusCode::NOT_FOUND, "not found".to_owned())
            }
            Self::Database(error) if error.is_transient() => {
                tracing::warn!(%error, "database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "try again later".to_owned(),
                )
            }
            Self::Database(error) => {
                tracing::error!(%error, "database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}
