//! The first step of every request: the dashboard and metrics endpoints, then the API whose
//! entrypoint path matches, its Origin/Host allow-lists, and the HTTP method.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ALLOW, CONTENT_TYPE, HeaderValue,
    ORIGIN, VARY,
};
use http::{Method, StatusCode};
use hyper::body::Incoming;
use mcp_policy::oauth::{WellKnownForm, WellKnownRequest};

use super::log::Record;
use super::replies::{GatewayError, Resp, full, respond};
use super::{Api, Runtime, Shared, dashboard, exchange};

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
        // Exchanges that ended are counted in the log flusher's batches: count them now.
        super::log::flush();
        let mut r = http::Response::new(full(shared.metrics.render(&shared.session_counts())));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return Ok(r);
    }
    if let Some(wk) = mcp_policy::oauth::parse_well_known_request(path) {
        return Ok(well_known(&rt, &shared, wk, req.method()).await);
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
    // Browser clients (MCP Inspector in direct mode, web apps) need CORS; the Origin was
    // checked against the allow-list above, so it is echoed only when allowed.
    let origin = req.headers().get(ORIGIN).cloned();
    if req.method() == Method::OPTIONS {
        let mut r = http::Response::new(full(Bytes::new()));
        *r.status_mut() = StatusCode::NO_CONTENT;
        let h = r.headers_mut();
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE"),
        );
        h.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(CORS_REQUEST_HEADERS),
        );
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        rec.status = 204;
        rec.decision = "reject";
        return Ok(with_cors(r, origin));
    }
    let principal = match &api.oauth {
        Some(gate) => match gate.authenticate(req.headers()).await {
            Ok(p) => Some(p),
            Err(refusal) => return Ok(with_cors(refusal.respond(&mut rec), origin)),
        },
        None => None,
    };
    let method = req.method().clone();
    let resp = match method {
        Method::POST => exchange::post(shared, api, req, remote_ip, principal, rec).await,
        Method::GET | Method::DELETE => {
            exchange::get_or_delete(shared, api, req, remote_ip, principal, rec).await
        }
        _ => GatewayError::MethodNotAllowed.respond(&mut rec, None),
    };
    Ok(with_cors(resp, origin))
}

/// Request headers a browser client may send (the Streamable HTTP transport's and OAuth's).
const CORS_REQUEST_HEADERS: &str = "authorization, content-type, accept, mcp-session-id, \
     mcp-protocol-version, last-event-id, mcp-method, mcp-name";

/// Lets the page that sent an allowed `Origin` read the response, including the headers a
/// client acts on (the session id, the challenge).
fn with_cors(mut r: Resp, origin: Option<HeaderValue>) -> Resp {
    if let Some(o) = origin {
        let h = r.headers_mut();
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("mcp-session-id, mcp-protocol-version, www-authenticate"),
        );
        h.append(VARY, HeaderValue::from_static("origin"));
    }
    r
}

/// The API a protected resource metadata request asks about: the one whose entrypoint or
/// public URL path is the request's resource path, or for the root form the only API with
/// OAuth (with several, the root form names none of them).
fn metadata_api<'a>(rt: &'a Runtime, wk: &WellKnownRequest<'_>) -> Option<&'a Arc<Api>> {
    let with_oauth = || {
        rt.apis
            .iter()
            .filter(|a| a.oauth.is_some() || a.relay.is_some())
    };
    if wk.form == WellKnownForm::Root {
        let mut it = with_oauth();
        let first = it.next()?;
        return it.next().is_none().then_some(first);
    }
    with_oauth().find(|a| {
        a.config.path == wk.resource_path
            || a.public_url
                .parse::<http::Uri>()
                .is_ok_and(|u| u.path().trim_end_matches('/') == wk.resource_path)
    })
}

/// Serves RFC 9728 protected resource metadata in every URL form, without a token, readable
/// from browser-based clients (their discovery runs in the page).
async fn well_known(
    rt: &Runtime,
    shared: &Shared,
    wk: WellKnownRequest<'_>,
    method: &Method,
) -> Resp {
    let mut r = match (method, metadata_api(rt, &wk)) {
        (&Method::OPTIONS, _) => {
            let mut r = http::Response::new(full(Bytes::new()));
            *r.status_mut() = StatusCode::NO_CONTENT;
            let h = r.headers_mut();
            h.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, OPTIONS"),
            );
            h.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*"));
            r
        }
        (&Method::GET | &Method::HEAD, Some(api)) => {
            let doc = match (&api.oauth, &api.relay) {
                (Some(gate), _) => Ok(gate.metadata.clone()),
                (None, Some(relay)) => relay.metadata().await.map(Bytes::from),
                (None, None) => Err("no OAuth on this API".to_owned()),
            };
            match doc {
                Ok(doc) => {
                    let mut r = http::Response::new(full(doc));
                    r.headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    r
                }
                Err(e) => {
                    let mut rec = Record::start(shared.metrics.clone(), api.name.clone(), method);
                    rec.detail = Some(format!(
                        "the protected resource metadata of the backend cannot be read: {e}"
                    ));
                    rec.decision = "error";
                    let body = serde_json::json!({
                        "error": "temporarily_unavailable",
                        "error_description": "The backend's protected resource metadata cannot be read"
                    });
                    respond(
                        &mut rec,
                        StatusCode::BAD_GATEWAY,
                        Some("application/json"),
                        Bytes::from(body.to_string()),
                    )
                }
            }
        }
        (&Method::GET | &Method::HEAD, None) => {
            let mut r = http::Response::new(full("no protected resource metadata here\n"));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
        _ => {
            let mut r = http::Response::new(full(Bytes::new()));
            *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
            r
        }
    };
    r.headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r
}
