//! A request [`Session`] per axum request: [`SessionLayer`] opens it and ends it,
//! [`RequestSession`] hands it to the handler.
//!
//! ```
//! use axum::routing::{get, post};
//! use diesel_route::axum::{RequestSession, SessionLayer};
//! # use diesel_route::prelude::*;
//! # diesel_route::databases! { default: sqlite }
//! # diesel::table! { posts (id) { id -> Integer, title -> Text } }
//! # diesel_route::tables!(default: posts);
//!
//! #[route(read)]
//! async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
//!     Ok(posts::table.select(posts::title).load(conn).await?)
//! }
//!
//! async fn list(mut session: RequestSession) -> String {
//!     // The request's reader, checked out on this first use.
//!     match titles(&mut session).await {
//!         Ok(titles) => titles.join("\n"),
//!         Err(error) => error.to_string(),
//!     }
//! }
//!
//! fn app(router: diesel_route::Router) -> axum::Router {
//!     axum::Router::new()
//!         .route("/titles", get(list))
//!         // Commits the request's writes when the response is a success (below 400).
//!         .layer(SessionLayer::new(router).commit_on_success())
//! }
//! # fn main() {}
//! ```
//!
//! The session ends when the handler has produced its response and before the response is
//! sent: with [`SessionLayer::commit_on_success`], a response whose status is below 400
//! (informational, success, redirection) commits the request's writes, any other rolls them
//! back, and a commit that fails replaces the response with a `500 Internal Server Error`, so
//! that a client is never told that a write succeeded when it did not. A handler that panics
//! rolls back, and the panic goes on. Every connection goes back to its pool before the
//! response leaves.
//!
//! The session's fallback span is the one current when the layer runs: put the layer inside
//! your request span (`tower_http::trace::TraceLayer`, say) so that `route` spans of calls
//! made through the session belong to the request's trace, also from tasks the handler
//! spawns.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::axum::extract::FromRequestParts;
use ::axum::http::header::{COOKIE, SET_COOKIE};
use ::axum::http::request::Parts;
use ::axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use ::axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::call::source::{Origin, ReadSource, WriteSource};
use crate::database::Database;
use crate::error::{Error, Role};
use crate::seal::Sealed;
use crate::session::Session;
use crate::token::Token;
use crate::topology::{Deadline, Router};

/// A tower layer that gives each request a [`Session`] on `router` and ends it once the
/// handler has responded; handlers take it as a [`RequestSession`].
///
/// ```
/// # diesel_route::databases! { default: sqlite }
/// # fn app(router: diesel_route::Router) -> axum::Router {
/// axum::Router::new()
///     // .route(...)
///     .layer(diesel_route::axum::SessionLayer::new(router).commit_on_success())
/// # }
/// # fn main() {}
/// ```
#[derive(Clone, Debug)]
pub struct SessionLayer {
    router: Router,
    commit_on_success: bool,
    tokens: Tokens,
}

/// How a client's token travels between its requests.
#[derive(Clone, Debug)]
struct Tokens {
    /// The cookie's name and lifetime.
    cookie: Option<(&'static str, Duration)>,
    /// The header's name, in requests and responses.
    header: Option<HeaderName>,
}

/// The token cookie's name, by default.
pub const TOKEN_COOKIE: &str = "diesel_route_token";

/// The token header's name, by default.
pub const TOKEN_HEADER: &str = "x-diesel-route-token";

impl SessionLayer {
    /// A session per request on `router`. Without
    /// [`commit_on_success`](Self::commit_on_success), each call's writes commit as the call
    /// ends, and the layer only gives the connections back (rolling back anything left open).
    ///
    /// A client's writes are seen by its next requests' reads: a response to a request that
    /// wrote carries the session's [`Token`] in a cookie
    /// ([`TOKEN_COOKIE`], for 30 s) and a header ([`TOKEN_HEADER`]), and a request that
    /// carries either reads on a replica that has replayed those writes, or on the primary
    /// when the fallback policy allows it (see [`Token`] for when a token is not honoured).
    /// With the router's token keys
    /// ([`RouterBuilder::token_key`](crate::RouterBuilder::token_key)), the tokens it sets
    /// are signed and those it reads are ignored unless signed by one of the keys.
    pub fn new(router: Router) -> Self {
        Self {
            router,
            commit_on_success: false,
            tokens: Tokens {
                cookie: Some((TOKEN_COOKIE, Duration::from_secs(30))),
                header: Some(HeaderName::from_static(TOKEN_HEADER)),
            },
        }
    }

    /// The token cookie's name, and how long after a write it lasts (default
    /// `diesel_route_token`, 30 s: longer than replicas lag, short enough that a client's
    /// reads soon spread over replicas again). The cookie is `HttpOnly`, `SameSite=Lax`,
    /// for the whole site.
    #[must_use]
    pub fn token_cookie(mut self, name: &'static str, lifetime: Duration) -> Self {
        self.tokens.cookie = Some((name, lifetime));
        self
    }

    /// The token header's name, read from requests and set on responses (default
    /// `x-diesel-route-token`), for API clients that keep no cookies: they send back the
    /// last one they got.
    ///
    /// # Panics
    ///
    /// When `name` is not a valid header name.
    #[must_use]
    pub fn token_header(mut self, name: &'static str) -> Self {
        self.tokens.header = Some(HeaderName::from_static(name));
        self
    }

    /// No token cookie.
    #[must_use]
    pub fn without_token_cookie(mut self) -> Self {
        self.tokens.cookie = None;
        self
    }

    /// No token header.
    #[must_use]
    pub fn without_token_header(mut self) -> Self {
        self.tokens.header = None;
        self
    }

    /// Runs each request's writes in one transaction per database
    /// ([`Session::commit_on_success`]), committed when the response's status is below 400
    /// and rolled back otherwise or when the handler panics.
    #[must_use]
    pub fn commit_on_success(mut self) -> Self {
        self.commit_on_success = true;
        self
    }
}

impl<S> tower_layer::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around the app.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    layer: SessionLayer,
}

/// The session of one request, shared between the layer (which ends it) and the handler
/// (which uses it).
#[derive(Clone)]
struct Shared(Arc<Mutex<Session>>);

impl<S, B> tower_service::Service<Request<B>> for SessionService<S>
where
    S: tower_service::Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was made ready is the one to call (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let mut session = self.layer.router.session();
        if self.layer.commit_on_success {
            session = session.commit_on_success();
        }
        for text in self.layer.tokens.given(&request) {
            session = session.with_token_text(&text);
        }
        let given = session.token().clone();
        let tokens = self.layer.tokens.clone();
        let shared = Arc::new(Mutex::new(session));
        request.extensions_mut().insert(Shared(Arc::clone(&shared)));
        Box::pin(async move {
            let responded = AssertUnwindSafe(inner.call(request)).catch_unwind().await;
            match responded {
                Ok(Ok(response)) => Ok(end(shared, response, &given, &tokens).await),
                Ok(Err(error)) => {
                    roll_back(shared).await;
                    Err(error)
                }
                Err(panic) => {
                    roll_back(shared).await;
                    std::panic::resume_unwind(panic)
                }
            }
        })
    }
}

impl Tokens {
    /// The token texts a request carries, in its cookie and its header.
    fn given<B>(&self, request: &Request<B>) -> Vec<String> {
        let headers = request.headers();
        let mut given = Vec::new();
        if let Some((name, _)) = self.cookie {
            let cookies = headers.get_all(COOKIE).iter();
            let pairs = cookies
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(';'));
            let values = pairs.filter_map(|pair| pair.trim().split_once('='));
            given.extend(
                values
                    .filter(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_owned()),
            );
        }
        if let Some(header) = &self.header {
            let values = headers.get_all(header).iter();
            given.extend(values.map(|value| value.to_str().unwrap_or("!").to_owned()));
        }
        given
    }

    /// Puts `token` on `response`, in the cookie and the header.
    fn carry(&self, token: &Token, response: &mut Response) {
        let text = token.to_string();
        let headers = response.headers_mut();
        if let Some((name, lifetime)) = self.cookie {
            let cookie = format!(
                "{name}={text}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax",
                lifetime.as_secs()
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(SET_COOKIE, value);
            }
        }
        if let (Some(header), Ok(value)) = (&self.header, HeaderValue::from_str(&text)) {
            headers.insert(header.clone(), value);
        }
    }
}

/// Ends the session after a response: commits on success, rolls back otherwise. A failed
/// commit turns the response into a 500. A commit that wrote puts the session's token on the
/// response.
async fn end(
    shared: Arc<Mutex<Session>>,
    mut response: Response,
    given: &Token,
    tokens: &Tokens,
) -> Response {
    let Some(session) = take(shared) else {
        return response;
    };
    response
        .extensions_mut()
        .insert(UsedConnections::of(&session));
    let succeeded = response.status().as_u16() < 400;
    if tracing::enabled!(tracing::Level::DEBUG) {
        let connections = connections(&session);
        tracing::debug!(%connections, commit = succeeded, "the request's session ends");
    }
    let ended = match succeeded {
        true => session.commit().await.map(Some),
        false => session.rollback().await.map(|()| None),
    };
    match ended {
        Ok(Some(token)) if token != *given => {
            tokens.carry(&token, &mut response);
            response
        }
        Ok(_) => response,
        Err(error) if succeeded => {
            tracing::error!(%error, "the request's writes could not be committed");
            let status = match error.is_transient() {
                true => StatusCode::SERVICE_UNAVAILABLE,
                false => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, "the request's changes could not be saved").into_response()
        }
        Err(error) => {
            tracing::warn!(%error, "the request's session did not end cleanly");
            response
        }
    }
}

/// The connections a request's session held when it ended, in the response's extensions:
/// [`SessionLayer`] puts them there for a middleware outside it that logs or shows what each
/// request used (the web example's debug page lists recent requests with theirs).
///
/// A session that wrote to a database holds its writer and no longer its reader, so a
/// request that read then wrote shows the writer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct UsedConnections {
    /// In the order the session checked them out, by database.
    pub connections: Vec<UsedConnection>,
}

/// One connection a request used.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UsedConnection {
    /// The database's key.
    pub database: &'static str,
    /// `primary`, `replica1`, ...
    pub server: String,
    /// `reader` or `writer`.
    pub role: Role,
}

impl UsedConnections {
    /// The connections `session` holds now.
    pub fn of(session: &Session) -> Self {
        let used = session
            .servers()
            .into_iter()
            .map(|(role, server)| UsedConnection {
                database: server.database(),
                server: server.name(),
                role,
            });
        Self {
            connections: used.collect(),
        }
    }
}

/// `default reader on replica1, analytics writer on primary`.
impl fmt::Display for UsedConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, used) in self.connections.iter().enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            let UsedConnection {
                database,
                server,
                role,
            } = used;
            write!(f, "{separator}{database} {role} on {server}")?;
        }
        Ok(())
    }
}

/// What the request used, for the debug log: `default reader on replica1, ...`.
fn connections(session: &Session) -> String {
    let servers = session.servers();
    let used = servers
        .iter()
        .map(|(role, server)| format!("{} {role} on {}", server.database(), server.name()));
    used.collect::<Vec<_>>().join(", ")
}

async fn roll_back(shared: Arc<Mutex<Session>>) {
    if let Some(session) = take(shared)
        && let Err(error) = session.rollback().await
    {
        tracing::warn!(%error, "the request's session did not end cleanly");
    }
}

/// The session, once nothing else holds it. A handler that moved its `RequestSession` into a
/// task or the response body still holds it: the session then ends when that is dropped,
/// rolling back.
fn take(shared: Arc<Mutex<Session>>) -> Option<Session> {
    match Arc::try_unwrap(shared) {
        Ok(session) => Some(session.into_inner()),
        Err(_) => {
            tracing::warn!(
                "the request's session outlived its handler (kept in a task or the response \
                 body): it will roll back when dropped, and commit nothing"
            );
            None
        }
    }
}

/// The request's [`Session`], for a handler: pass `&mut session` to routed functions.
///
/// ```
/// # use diesel_route::prelude::*;
/// # diesel_route::databases! { default: sqlite }
/// # #[route(read)]
/// # async fn count(conn: &mut Reader) -> diesel_route::Result<i64> { Ok(0) }
/// use diesel_route::axum::RequestSession;
///
/// async fn handler(mut session: RequestSession) -> String {
///     format!("{:?}", count(&mut session).await)
/// }
/// # fn main() {}
/// ```
///
/// Extracting it needs [`SessionLayer`] on the route, and works once per request; otherwise
/// the request fails with a 500 whose body says why ([`SessionRejection`]).
pub struct RequestSession(OwnedMutexGuard<Session>);

impl<S: Send + Sync> FromRequestParts<S> for RequestSession {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, SessionRejection> {
        let shared = parts.extensions.get::<Shared>().ok_or_else(|| {
            SessionRejection(Error::Session(
                "`RequestSession` needs `diesel_route::axum::SessionLayer`: add \
                 `.layer(SessionLayer::new(router))` to the axum router"
                    .into(),
            ))
        })?;
        let guard = Arc::clone(&shared.0).try_lock_owned().map_err(|_| {
            SessionRejection(Error::Session(
                "the request's session is taken already: extract one `RequestSession` per \
                 request, and pass `&mut session` on"
                    .into(),
            ))
        })?;
        Ok(Self(guard))
    }
}

impl Deref for RequestSession {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl DerefMut for RequestSession {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.0
    }
}

/// The session's own source: its origin, span and deadline, each forwarded (the traits have
/// no default bodies, so that none can be forgotten here).
impl<D: Database> ReadSource<D> for RequestSession {
    fn read_origin(&mut self, sealed: Sealed) -> Origin<'_, D> {
        ReadSource::read_origin(&mut *self.0, sealed)
    }

    fn parent_span(&self, sealed: Sealed) -> Option<&tracing::Span> {
        ReadSource::<D>::parent_span(&*self.0, sealed)
    }

    fn deadline(&self, sealed: Sealed) -> Option<Deadline> {
        ReadSource::<D>::deadline(&*self.0, sealed)
    }
}

impl<D: Database> WriteSource<D> for RequestSession {
    fn write_origin(&mut self, sealed: Sealed) -> Origin<'_, D> {
        WriteSource::write_origin(&mut *self.0, sealed)
    }

    fn parent_span(&self, sealed: Sealed) -> Option<&tracing::Span> {
        WriteSource::<D>::parent_span(&*self.0, sealed)
    }

    fn deadline(&self, sealed: Sealed) -> Option<Deadline> {
        WriteSource::<D>::deadline(&*self.0, sealed)
    }
}

impl fmt::Debug for RequestSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Why a handler could not have its [`RequestSession`]: a `500 Internal Server Error` whose
/// body says so (a bug in the app, not the client's fault).
#[derive(Debug)]
pub struct SessionRejection(Error);

impl SessionRejection {
    /// The error: always [`Error::Session`].
    pub fn into_error(self) -> Error {
        self.0
    }
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SessionRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "no request session");
        (StatusCode::INTERNAL_SERVER_ERROR, self.0.to_string()).into_response()
    }
}
