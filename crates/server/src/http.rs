//! The HTTP server: hyper's HTTP/1 connections around the router, with what `axum::serve` does not
//! give: a deadline for a request's headers (a half-sent request holds nothing), a cap on the
//! connections one client may keep open, and a shutdown that drains first (the health endpoint
//! answers 503 while requests are still served, so a load balancer moves away), then stops accepting
//! and lets requests in flight finish within a deadline.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use resident_domain::throttle::{RateLimits, client_key};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// What the server holds to.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    /// 0: no cap.
    pub max_connections_per_client: usize,
    pub drain: Duration,
    pub shutdown_deadline: Duration,
}

/// Open connections per client key; a connection's slot is given back when it closes.
#[derive(Default, Clone)]
struct Connections(Arc<Mutex<HashMap<String, usize>>>);

struct Slot {
    connections: Connections,
    key: String,
}

impl Connections {
    fn take(&self, key: String, max: usize) -> Option<Slot> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.clone()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot { connections: self.clone(), key })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.connections.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// Serves `router` until `stop` resolves, then drains (`draining` set: the health endpoint fails and
/// responses say `Connection: close`), stops accepting and waits for connections to finish, at most
/// `shutdown_deadline`. Returns whether every connection finished in time.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    rate_limits: RateLimits,
    draining: Arc<AtomicBool>,
    stop: impl std::future::Future<Output = ()>,
) -> bool {
    let graceful = GracefulShutdown::new();
    let connections = Connections::default();
    tokio::pin!(stop);
    let mut drain_ends: Option<tokio::time::Instant> = None;
    loop {
        // until the stop signal there is no drain deadline: a day stands for "never"
        let deadline = drain_ends.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stop, if drain_ends.is_none() => {
                tracing::info!(seconds = limits.drain.as_secs(), "shutting down: draining (health answers 503)");
                draining.store(true, Ordering::SeqCst);
                drain_ends = Some(tokio::time::Instant::now() + limits.drain);
                continue;
            }
            _ = tokio::time::sleep_until(deadline), if drain_ends.is_some() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // out of descriptors, or a connection reset before it was accepted: go on
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = if limits.max_connections_per_client == 0 || rate_limits.trusts(peer.ip()) {
            None
        } else {
            match connections.take(client_key(Some(peer.ip())), limits.max_connections_per_client) {
                Some(slot) => Some(slot),
                None => {
                    tracing::warn!("a client reached http.max_connections_per_client: connection refused");
                    drop(stream);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // what axum's `into_make_service_with_connect_info` would give the handlers
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(req)
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // a client that goes away or sends garbage ends its own connection; nothing to report
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!(seconds = limits.shutdown_deadline.as_secs(), "shutting down: finishing requests in flight");
    tokio::select! {
        _ = graceful.shutdown() => true,
        _ = tokio::time::sleep(limits.shutdown_deadline) => {
            tracing::warn!("shutting down: requests still in flight at the deadline are cut");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_slots_back_as_connections_close() {
        let c = Connections::default();
        let a = c.take("a".into(), 2).unwrap();
        let _b = c.take("a".into(), 2).unwrap();
        assert!(c.take("a".into(), 2).is_none(), "the third is refused");
        assert!(c.take("other".into(), 2).is_some(), "per client");
        drop(a);
        assert!(c.take("a".into(), 2).is_some());
    }
}
