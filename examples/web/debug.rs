//! `GET /debug/db` as a page a person reads at a glance: each database's servers (in the read
//! rotation or not, and why), a bar per pool (in use / idle / max), the errors, and the
//! connections recent requests used. The equivalent of the seeds' debug-toolbar panel.
//!
//! Self-contained: one HTML document with its style inline, no script, no external asset,
//! rendered on the server from `Router::stats()`, `Router::readiness()` and the requests
//! [`record`] saw. A client that does not ask for HTML (`Accept: application/json`, curl's
//! `*/*`) gets `Router::stats()` as JSON, as before.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use diesel_route::axum::{RequestSession, UsedConnection, UsedConnections};
use diesel_route::{DatabaseReadiness, DatabaseStats, PoolStats, Readiness, Router, ServerStats};

/// How many requests the page lists.
const KEPT: usize = 20;

/// The last requests of the API and the connections each used, newest first.
#[derive(Debug, Default)]
pub struct Recent(Mutex<VecDeque<Seen>>);

/// One request, as the page shows it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    method: String,
    path: String,
    status: StatusCode,
    took: Duration,
    connections: Vec<UsedConnection>,
}

impl Recent {
    fn push(&self, seen: Seen) {
        let mut recent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        recent.push_front(seen);
        recent.truncate(KEPT);
    }

    fn list(&self) -> Vec<Seen> {
        let recent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        recent.iter().cloned().collect()
    }
}

/// A middleware outside the session layer: notes each API request with the connections its
/// session used (which the layer puts in the response). The operations endpoints are left
/// out, so that the page and the probes do not push the API's requests off the list.
pub async fn record(State(recent): State<Arc<Recent>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if ["/debug/", "/metrics", "/ready", "/health"]
        .iter()
        .any(|skipped| path.starts_with(skipped))
    {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let at = Instant::now();
    let response = next.run(request).await;
    let used = response.extensions().get::<UsedConnections>();
    recent.push(Seen {
        at,
        method,
        path,
        status: response.status(),
        took: at.elapsed(),
        connections: used
            .map(|used| used.connections.clone())
            .unwrap_or_default(),
    });
    response
}

/// `GET /debug/db`: the page for a browser, `Router::stats()` as JSON for anything else.
pub async fn page(
    State(router): State<Router>,
    State(recent): State<Arc<Recent>>,
    headers: HeaderMap,
    session: RequestSession,
) -> Response {
    let accept = headers.get(ACCEPT).and_then(|accept| accept.to_str().ok());
    if !accept.is_some_and(|accept| accept.contains("text/html")) {
        return axum::Json(router.stats()).into_response();
    }
    let this_request = UsedConnections::of(&session).connections;
    let readiness = router.readiness().await;
    let page = Page {
        stats: router.stats().databases,
        readiness,
        recent: recent.list(),
        this_request,
    };
    Html(page.render()).into_response()
}

/// What the page shows.
struct Page {
    stats: Vec<DatabaseStats>,
    readiness: Readiness,
    recent: Vec<Seen>,
    this_request: Vec<UsedConnection>,
}

const STYLE: &str = "
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2430; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 6px; }
.meta, .facts { color: #5b6472; margin: 0 0 12px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 16px;
  margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; } table.topology { table-layout: fixed; }
code { overflow-wrap: anywhere; }
th { text-align: left; font-weight: 600; color: #5b6472; border-bottom: 1px solid #dde1e7; }
th, td { padding: 6px 10px 6px 0; vertical-align: top; }
tr + tr td { border-top: 1px solid #eef0f3; }
code { font: 12px ui-monospace, monospace; color: #5b6472; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; vertical-align: middle; }
.ok { background: #dff3e4; color: #1a6b34; } .bad { background: #fbe0e0; color: #a11c1c; }
.muted { background: #eef0f3; color: #5b6472; }
.why { color: #a11c1c; font-size: 12px; max-width: 360px; }
.pool { margin: 0 0 10px; min-width: 280px; }
.bar { display: flex; height: 12px; background: #eef0f3; border-radius: 6px; overflow: hidden;
  margin: 3px 0; }
.bar .used { background: #d9822b; } .bar .idle { background: #6aa6e8; }
.legend { font-size: 12px; color: #5b6472; }
.key { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin: 0 3px 0 8px; }
.nonzero { color: #a11c1c; font-weight: 600; }
.conn { display: inline-block; background: #eef0f3; border-radius: 4px; padding: 0 6px;
  margin: 0 4px 2px 0; font-size: 12px; }
";

impl Page {
    fn render(&self) -> String {
        let mut html = String::with_capacity(16 * 1024);
        let _ = write!(
            html,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>diesel-route: databases</title><style>{STYLE}</style></head><body>\
             <h1>Databases</h1><p class=\"meta\">{} &middot; {} &middot; \
             <a href=\"/debug/db\">refresh</a> &middot; <a href=\"/metrics\">metrics</a> \
             &middot; <a href=\"/ready\">readiness</a></p>",
            self.overall(),
            plural(self.stats.len(), "database"),
        );
        for database in &self.stats {
            self.database(&mut html, database);
        }
        self.errors(&mut html);
        self.requests(&mut html);
        html.push_str("</body></html>");
        html
    }

    fn overall(&self) -> String {
        match self.readiness.ready {
            true => "<span class=\"badge ok\" id=\"ready\">ready</span>".to_owned(),
            false => format!(
                "<span class=\"badge bad\" id=\"ready\">not ready</span> {}",
                escape(&self.readiness.problems.join("; "))
            ),
        }
    }

    fn readiness_of(&self, database: &str) -> Option<&DatabaseReadiness> {
        let databases = &self.readiness.databases;
        databases.iter().find(|each| each.database == database)
    }

    /// A database: its servers, their place in the rotation, their pools.
    fn database(&self, html: &mut String, stats: &DatabaseStats) {
        let readiness = self.readiness_of(stats.database);
        let replicas = stats.servers.len() - 1;
        let in_rotation = stats.servers[1..]
            .iter()
            .filter(|server| server.in_rotation)
            .count();
        let _ = write!(
            html,
            "<section class=\"database\" data-database=\"{key}\"><h2>{key} \
             <span class=\"badge muted\">{backend}</span> {status}</h2>\
             <p class=\"facts\">{rotation} &middot; {fallbacks} fell back to the primary \
             &middot; {unavailable} found no server</p><table class=\"topology\"><colgroup>\
             <col style=\"width:30%\"><col style=\"width:22%\"><col style=\"width:9%\"><col>\
             </colgroup><tr><th>server</th><th>reads</th><th>ejections</th><th>pools</th></tr>",
            key = escape(stats.database),
            backend = stats.backend,
            status = match readiness.map(|each| each.ready) {
                Some(true) => "<span class=\"badge ok\">ready</span>",
                _ => "<span class=\"badge bad\">not ready</span>",
            },
            rotation = match replicas {
                0 => "no replicas: the primary serves reads".to_owned(),
                _ => format!(
                    "{in_rotation} of {} in the read rotation",
                    plural(replicas, "replica")
                ),
            },
            fallbacks = plural(stats.read_fallbacks as usize, "read"),
            unavailable = plural(stats.unavailable as usize, "call"),
        );
        for server in &stats.servers {
            self.server(html, stats.database, server, readiness);
        }
        html.push_str("</table></section>");
    }

    /// A server's row: whether reads go to it (or, for the primary, whether it answers).
    fn server(
        &self,
        html: &mut String,
        database: &str,
        server: &ServerStats,
        readiness: Option<&DatabaseReadiness>,
    ) {
        let primary = server.server == "primary";
        let reads = match (primary, readiness) {
            (true, Some(readiness)) => primary_mark(readiness),
            (true, None) => String::new(),
            (false, _) if server.in_rotation => {
                "<span class=\"badge ok\">in rotation</span>".to_owned()
            }
            (false, _) => format!(
                "<span class=\"badge bad\">out of rotation</span><div class=\"why\">{}</div>",
                escape(
                    server
                        .why_out_of_rotation
                        .as_deref()
                        .unwrap_or("reason unknown")
                )
            ),
        };
        let _ = write!(
            html,
            "<tr class=\"server\" data-server=\"{name}\" data-in-rotation=\"{in_rotation}\">\
             <td><b>{name}</b><br><code>{url}</code></td><td>{reads}</td><td>{ejections}</td><td>",
            name = escape(&server.server),
            in_rotation = server.in_rotation,
            url = escape(&server.url),
            ejections = if primary {
                "&ndash;".to_owned()
            } else {
                server.ejections.to_string()
            },
        );
        for pool in &server.pools {
            pool_bar(html, database, &server.server, pool);
        }
        html.push_str("</td></tr>");
    }

    /// Every pool's failures, the ones that happened in red.
    fn errors(&self, html: &mut String) {
        html.push_str(
            "<section id=\"errors\"><h2>Errors</h2><table><tr><th>pool</th>\
             <th>pool timeouts</th><th>connect</th><th>connection lost</th>\
             <th>deadline passed</th><th>failed calls</th></tr>",
        );
        for database in &self.stats {
            for server in &database.servers {
                for pool in &server.pools {
                    let errors = &pool.errors;
                    let cells = [
                        errors.pool_timeout,
                        errors.connect,
                        errors.connection_lost,
                        errors.timeouts,
                        errors.failed_calls,
                    ];
                    let _ = write!(
                        html,
                        "<tr data-pool=\"{}\"><td>{}</td>",
                        pool_name(database.database, &server.server, pool),
                        pool_name(database.database, &server.server, pool),
                    );
                    for count in cells {
                        let class = if count > 0 { " class=\"nonzero\"" } else { "" };
                        let _ = write!(html, "<td{class}>{count}</td>");
                    }
                    html.push_str("</tr>");
                }
            }
        }
        html.push_str("</table></section>");
    }

    /// This request and the recent ones, with the connections each used.
    fn requests(&self, html: &mut String) {
        let _ = write!(
            html,
            "<section id=\"requests\"><h2>Requests</h2><p class=\"facts\">The connections \
             each request's session held when it ended (a request that wrote holds its \
             database's writer).</p><table><tr><th>when</th><th>request</th><th>status</th>\
             <th>took</th><th>connections</th></tr><tr class=\"this-request\"><td>now</td>\
             <td>this page</td><td></td><td></td><td>{}</td></tr>",
            connections(
                &self.this_request,
                "none: the page reads the router's counters, and pings the primaries outside the pools"
            ),
        );
        for seen in &self.recent {
            let _ = write!(
                html,
                "<tr class=\"request\"><td>{ago} ago</td><td><code>{method} {path}</code></td>\
                 <td>{status}</td><td>{took:.1} ms</td><td>{connections}</td></tr>",
                ago = age(seen.at.elapsed()),
                method = escape(&seen.method),
                path = escape(&seen.path),
                status = seen.status.as_u16(),
                took = seen.took.as_secs_f64() * 1e3,
                connections = connections(&seen.connections, "none"),
            );
        }
        html.push_str("</table></section>");
    }
}

/// Whether the primary answered the page's ping.
fn primary_mark(readiness: &DatabaseReadiness) -> String {
    let primary = &readiness.primary;
    match (&primary.why_unreachable, primary.answered_in_ms) {
        (Some(why), _) => format!(
            "<span class=\"badge bad\">unreachable</span><div class=\"why\">{}</div>",
            escape(why)
        ),
        (None, Some(ms)) => format!(
            "<span class=\"badge ok\">reachable</span> <span class=\"legend\">{}</span>",
            micros((ms * 1e3) as u64)
        ),
        (None, None) => "<span class=\"badge ok\">reachable</span>".to_owned(),
    }
}

/// A pool: a bar of its connections in use and idle against its maximum, and its counters.
fn pool_bar(html: &mut String, database: &str, server: &str, pool: &PoolStats) {
    let max = pool.max_size.max(1) as f64;
    let width = |count: usize| count as f64 * 100.0 / max;
    let average_us = match pool.checkouts {
        0 => 0,
        checkouts => pool.wait_time_us / checkouts,
    };
    let _ = write!(
        html,
        "<div class=\"pool\" data-pool=\"{name}\" data-role=\"{role}\" data-in-use=\"{in_use}\" \
         data-idle=\"{idle}\" data-max=\"{max}\" data-waiting=\"{waiting}\">\
         <div><b>{role}</b> <span class=\"legend\">\
         <span class=\"key\" style=\"background:#d9822b\"></span>{in_use} in use\
         <span class=\"key\" style=\"background:#6aa6e8\"></span>{idle} idle \
         &middot; max {max}{waiting_text}</span></div>\
         <div class=\"bar\" title=\"{in_use} in use, {idle} idle, of {max}\">\
         <span class=\"used\" style=\"width:{used_width:.1}%\"></span>\
         <span class=\"idle\" style=\"width:{idle_width:.1}%\"></span></div>\
         <div class=\"legend\">{checkouts} &middot; {waits} waited &middot; average wait \
         {average}</div></div>",
        name = pool_name(database, server, pool),
        role = pool.role,
        in_use = pool.in_use,
        idle = pool.idle,
        max = pool.max_size,
        waiting = pool.waiting,
        waiting_text = match pool.waiting {
            0 => String::new(),
            waiting => format!(" &middot; <b>{waiting} waiting</b>"),
        },
        used_width = width(pool.in_use),
        idle_width = width(pool.idle),
        checkouts = plural(pool.checkouts as usize, "checkout"),
        waits = pool.waits,
        average = micros(average_us),
    );
}

fn connections(used: &[UsedConnection], none: &str) -> String {
    if used.is_empty() {
        return format!("<span class=\"legend\">{}</span>", escape(none));
    }
    let each = used.iter().map(|used| {
        format!(
            "<span class=\"conn\">{} {} on <b>{}</b></span>",
            escape(used.database),
            used.role,
            escape(&used.server)
        )
    });
    each.collect()
}

fn pool_name(database: &str, server: &str, pool: &PoolStats) -> String {
    escape(&format!("{database}/{server}/{}", pool.role))
}

fn plural(count: usize, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        _ => format!("{count} {noun}s"),
    }
}

fn micros(micros: u64) -> String {
    match micros {
        0..1_000 => format!("{micros} µs"),
        _ => format!("{:.1} ms", micros as f64 / 1e3),
    }
}

fn age(age: Duration) -> String {
    match age.as_secs() {
        0..60 => format!("{} s", age.as_secs()),
        seconds => format!("{} min", seconds / 60),
    }
}

/// Text for HTML: the five characters that could end an element or an attribute, escaped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}
