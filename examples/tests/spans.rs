//! The `route` spans of calls made through a request session: under the span current at the
//! call, else under the session's. In a test binary of its own: tracing caches whether a
//! callsite is enabled process-wide, which other tests running beside a thread-local
//! subscriber would race with.

mod common;

use diesel_route_examples::web::db;

use self::common::App;

/// A span's name and its parent's.
type SpanAndParent = (String, Option<String>);

/// Records each new span's name and its parent's.
#[derive(Clone, Default)]
struct Parents(std::sync::Arc<std::sync::Mutex<Vec<SpanAndParent>>>);

impl<S> tracing_subscriber::Layer<S> for Parents
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span.parent().map(|parent| parent.name().to_owned());
        let mut spans = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        spans.push((span.name().to_owned(), parent));
    }
}

#[tokio::test]
async fn route_spans_fall_back_to_the_session_span_when_no_span_is_current() {
    use tracing::Instrument as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let parents = Parents::default();
    let subscriber = tracing_subscriber::registry().with(parents.clone());
    // This thread only: the test runs on one.
    let _default = tracing::subscriber::set_default(subscriber);
    let Some(app) = App::start().await else {
        return;
    };

    let request = tracing::info_span!("request");
    let mut session = request.in_scope(|| app.router.session());
    // No span current: the call's span goes under the session's.
    db::recent_posts(&mut session, 1).await.unwrap();
    // A span current: the call's span goes under it, as any span would.
    let step = tracing::info_span!(parent: &request, "step");
    db::recent_posts(&mut session, 1)
        .instrument(step)
        .await
        .unwrap();
    session.rollback().await.unwrap();

    let spans = parents.0.lock().unwrap().clone();
    let routes: Vec<Option<&str>> = spans
        .iter()
        .filter(|(name, _)| name == "route")
        .map(|(_, parent)| parent.as_deref())
        .collect();
    assert_eq!(routes, [Some("request"), Some("step")], "{spans:?}");
}
