//! The first step of every request: the dashboard and metrics endpoints, then the API whose
//! entrypoint path matches, its Origin/Host allow-lists, and the HTTP method.

use std::convert::Infallible;
use std::sync::Arc;

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, StatusCode};
use hyper::body::Incoming;

use super::log::Record;
use super::replies::{GatewayError, Resp, full};
use super::{Shared, dashboard, exchange};

/// Serves one HTTP request.
pub(crate) async fn route(
    shared: Arc<Shared>,
    req: http::Request<Incoming>,
    remote_ip: Arc<str>,
) -> Result<Resp, Infallible> {
    if let Some(resp) = dashboard::serve(&shared, &req) {
        return Ok(resp);
    }
    let rt = shared.runtime();
    let path = req.uri().path();
    if !rt.config.metrics_path.is_empty() && path == rt.config.metrics_path {
        let mut r = http::Response::new(full(shared.metrics.render(&shared.session_counts())));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return Ok(r);
    }
    let Some(api) = rt.api_for_path(path).cloned() else {
        let mut r = http::Response::new(full("no MCP API at this path\n"));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return Ok(r);
    };
    drop(rt);
    let mut rec = Record::start(shared.metrics.clone(), api.name.clone(), req.method());
    if let Err(why) = api.hosts.check_at(req.headers(), &shared.own_authorities) {
        return Ok(GatewayError::Forbidden(why).respond(&mut rec, None));
    }
    let method = req.method().clone();
    Ok(match method {
        Method::POST => exchange::post(shared, api, req, remote_ip, rec).await,
        Method::GET | Method::DELETE => {
            exchange::get_or_delete(shared, api, req, remote_ip, rec).await
        }
        _ => GatewayError::MethodNotAllowed.respond(&mut rec, None),
    })
}
