//! The endpoints operators use: `GET /metrics` (Prometheus' text format, from the `metrics`
//! facade diesel-route records into) and `GET /ready` (a readiness probe that knows the
//! topology). `GET /health`, the liveness probe, answers without touching a database.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use diesel_route::{Readiness, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder, once per process, and returns its handle. Call it
/// before building the router: its pools register their metrics when they are built.
///
/// # Panics
///
/// When another `metrics` recorder is installed already.
pub fn install_metrics() -> &'static PrometheusHandle {
    METRICS.get_or_init(|| {
        // Matched against the name as Prometheus writes it, before the unit suffix.
        let wait_time = diesel_route::metrics::WAIT_TIME.replace('.', "_");
        let handle = PrometheusBuilder::new()
            // `_total` on counters, `_seconds` on the wait-time histogram.
            .with_recommended_naming(true)
            // Buckets make the histogram a Prometheus histogram (quantiles with
            // `histogram_quantile`) rather than a summary.
            .set_buckets_for_metric(
                Matcher::Full(wait_time),
                diesel_route::metrics::WAIT_TIME_BUCKETS,
            )
            .expect("buckets are given")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        let upkeep = handle.clone();
        // Drains the histograms' samples into their buckets now and then, scrapes or not.
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// `GET /metrics`: every metric in Prometheus' text format, the gauges read now.
pub async fn metrics(State(router): State<Router>) -> Response {
    let Some(handle) = METRICS.get() else {
        let why = "no metrics recorder: call `web::install_metrics()` before building the router";
        return (StatusCode::NOT_FOUND, why).into_response();
    };
    router.record_gauges();
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], handle.render()).into_response()
}

/// `GET /ready`: `200` when every database's primary answers and its reads have a server,
/// `503` otherwise; the body says why (`problems`) and shows each server.
pub async fn ready(State(router): State<Router>) -> (StatusCode, Json<Readiness>) {
    let readiness = router.readiness().await;
    let status = match readiness.ready {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(readiness))
}
