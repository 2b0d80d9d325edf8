//! A small API on axum over two databases, a request session per request.
//!
//! ```text
//! cargo run --example web
//! curl localhost:3000/posts
//! curl -X POST localhost:3000/posts -H 'content-type: application/json' -d '{"title": "Hello"}'
//! curl localhost:3000/debug/db        # JSON; a browser gets a page
//! curl localhost:3000/metrics         # Prometheus
//! curl localhost:3000/ready           # 200, or 503 and why
//! ```
//!
//! runs on SQLite files in the temp dir with no set-up. With `DATABASE_URL` and
//! `ANALYTICS_DATABASE_URL` set (and their `..._REPLICA_URLS`), the same program runs on
//! PostgreSQL or MariaDB, built with the backend's feature:
//!
//! ```text
//! DATABASE_URL=postgres://app@primary/app DATABASE_REPLICA_URLS=postgres://app@replica/app \
//! ANALYTICS_DATABASE_URL=postgres://app@primary/analytics \
//!     cargo run --example web --features postgres
//! ```
//!
//! It listens on `LISTEN_ADDR` (default `127.0.0.1:3000`), after waiting up to
//! `STARTUP_WAIT_SECS` (default 30) for the databases' primaries to answer. The endpoints are listed in
//! `web/app.rs`; every routed call is traced with the server that served it.

use std::time::Duration;

use diesel_route_examples::web;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_target(false)
        .init();

    // Before the router: its pools register their metrics when they are built.
    web::install_metrics();
    let router = web::router_from_env()?;
    let wait = std::env::var("STARTUP_WAIT_SECS").map_or(Ok(30), |secs| secs.parse())?;
    router.wait_for_primaries(Duration::from_secs(wait)).await?;
    web::migrate(&router).await?;

    let address = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, web::app(router))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
