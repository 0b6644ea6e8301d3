//! Spring-style actuator endpoints at MOSIP's paths: health (checks the database) and Prometheus.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{AppState, tags};

/// Liveness and database health.
#[utoipa::path(get, path = "/actuator/health", tag = tags::OPERATIONS,
    responses((status = 200, description = "UP"), (status = 503, description = "DOWN: the database does not answer")))]
pub async fn health(State(state): State<AppState>) -> Response {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        // shutting down: still serving, but no longer ready for new work
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"status": "OUT_OF_SERVICE"}))).into_response();
    }
    match state.health.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "UP", "components": {"db": {"status": "UP"}}})))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "DOWN", "components": {"db": {"status": "DOWN"}}})),
            )
                .into_response()
        }
    }
}

/// Request counts and latency by route, in Prometheus text format.
#[utoipa::path(get, path = "/actuator/prometheus", tag = tags::OPERATIONS,
    responses((status = 200, description = "Prometheus exposition format", content_type = "text/plain")))]
pub async fn prometheus(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(h) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
