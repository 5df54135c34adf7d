//! `mcp-policy serve` with the OAuth2 plan and with a secured backend relayed, against a small
//! in-test authorization server whose keys are made at test time. It exists to drive what a
//! real server (e2e/oauth, oidc-provider) cannot be made to do on demand: rotate keys under a
//! live gateway, count key fetches and introspection calls, stop answering.

mod common;
use common::Gateway;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use ed25519_dalek::Signer as _;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

fn json_response(status: u16, v: &Value) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(full(v.to_string()))
        .unwrap()
}

/// Serves `handler` on a free loopback port, over TLS when `tls` is given.
async fn serve<F>(tls: Option<tokio_rustls::TlsAcceptor>, handler: F) -> SocketAddr
where
    F: Fn(http::request::Parts, Bytes) -> http::Response<Body> + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let handler = handler.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        Ok::<_, Infallible>(handler(parts, body))
                    }
                });
                match tls {
                    Some(tls) => {
                        let Ok(stream) = tls.accept(stream).await else {
                            return;
                        };
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    }
                    None => {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    }
                }
            });
        }
    });
    addr
}

/// A TLS acceptor for `127.0.0.1` with a certificate made now, and that certificate in PEM
/// (the gateway's `ca_file`).
fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    #[expect(deprecated, reason = "the gateway's own provider, for the same reason")]
    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ck.cert.pem(),
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One Ed25519 signing key and its `kid`.
struct Key {
    kid: String,
    sk: ed25519_dalek::SigningKey,
}

impl Key {
    fn new(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            sk: ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    fn jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "alg": "EdDSA", "use": "sig",
               "x": URL_SAFE_NO_PAD.encode(self.sk.verifying_key().as_bytes())})
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": self.kid});
        let msg = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.sk.sign(msg.as_bytes());
        format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

/// The authorization server: RFC 8414 metadata, a key set that can be swapped, an
/// introspection endpoint answering from a table; every call counted.
#[derive(Default)]
struct AuthServer {
    issuer: Mutex<String>,
    keys: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    introspections: AtomicUsize,
    /// Token → introspection answer.
    opaque: Mutex<HashMap<String, Value>>,
    /// Answers 503 to everything while set.
    down: AtomicBool,
}

async fn auth_server() -> (Arc<AuthServer>, String) {
    auth_server_over(None).await
}

async fn auth_server_over(tls: Option<tokio_rustls::TlsAcceptor>) -> (Arc<AuthServer>, String) {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let state = Arc::new(AuthServer::default());
    let s = state.clone();
    let addr = serve(tls, move |parts, body| {
        if s.down.load(Ordering::SeqCst) {
            return json_response(503, &json!({}));
        }
        let issuer = s.issuer.lock().unwrap().clone();
        match parts.uri.path() {
            "/.well-known/oauth-authorization-server" => json_response(
                200,
                &json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}/authorize"),
                        "token_endpoint": format!("{issuer}/token"), "jwks_uri": format!("{issuer}/jwks"),
                        "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"]}),
            ),
            "/jwks" => {
                s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                json_response(200, &json!({"keys": *s.keys.lock().unwrap()}))
            }
            "/introspect" => {
                s.introspections.fetch_add(1, Ordering::SeqCst);
                // RFC 7662: the resource server authenticates; `gw:s3cret` here.
                let auth = parts.headers.get("authorization").map(|v| v.to_str().unwrap());
                if auth != Some("Basic Z3c6czNjcmV0") {
                    return json_response(401, &json!({"error": "invalid_client"}));
                }
                let form = String::from_utf8(body.to_vec()).unwrap();
                let token = form
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("token="))
                    .unwrap_or_default()
                    .to_owned();
                let answer = s.opaque.lock().unwrap().get(&token).cloned();
                json_response(200, &answer.unwrap_or(json!({"active": false})))
            }
            _ => json_response(404, &json!({})),
        }
    })
    .await;
    let issuer = format!("{scheme}://{addr}");
    *state.issuer.lock().unwrap() = issuer.clone();
    (state, issuer)
}

/// What the backend saw: the `Authorization` header of every request.
type Seen = Arc<Mutex<Vec<Option<String>>>>;

/// An MCP backend that answers every request with a JSON result and records what it saw.
/// With `secured`, it is itself a protected resource: 401 with its own challenge unless the
/// bearer token is `upstream-token`, and its own metadata at the well-known URL.
async fn backend(secured: bool) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let me = Arc::new(Mutex::new(String::new()));
    let me2 = me.clone();
    let addr = serve(None, move |parts, body| {
        let base = me2.lock().unwrap().clone();
        if parts.uri.path() == "/.well-known/oauth-protected-resource/mcp" {
            return json_response(
                200,
                &json!({"resource": format!("{base}/mcp"), "authorization_servers": ["http://as.example"],
                        "scopes_supported": ["files:read"]}),
            );
        }
        let auth = parts
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        s.lock().unwrap().push(auth.clone());
        if secured && auth.as_deref() != Some("Bearer upstream-token") {
            return http::Response::builder()
                .status(401)
                .header(
                    "www-authenticate",
                    format!(
                        r#"Bearer realm="up", resource_metadata="{base}/.well-known/oauth-protected-resource/mcp""#
                    ),
                )
                .body(full(""))
                .unwrap();
        }
        let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let result = if req["method"] == "tools/list" {
            json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}},
                             {"name": "get-env", "inputSchema": {"type": "object"}}]})
        } else {
            json!({"content": [{"type": "text", "text": "ok"}]})
        };
        http::Response::builder()
            .header("content-type", "application/json")
            .header("mcp-session-id", "up-1")
            .body(full(
                json!({"jsonrpc": "2.0", "id": req["id"], "result": result}).to_string(),
            ))
            .unwrap()
    })
    .await;
    *me.lock().unwrap() = format!("http://{addr}");
    (addr, seen)
}

const POLICY: &str = r#"{"denial": "hide", "authorizations": [
  {"name": "tools", "authorizedFeatures": [{"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "echo"}]},
  {"name": "admin", "scopes": ["mcp:admin"],
   "condition": "{#context.attributes['user.roles'].contains('mcp:admin')}",
   "authorizedFeatures": [{"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "get-env"}]}
]}"#;

fn gateway(name: &str, config: &str) -> Gateway {
    let dir = std::env::temp_dir().join(format!("mcp-gw-oauth-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("policy.json"), POLICY).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        config.replace("POLICY", &dir.join("policy.json").display().to_string()),
    )
    .unwrap();
    common::start(&path)
}

async fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, http::HeaderMap, String) {
    request_with(method, url, token, &[], body).await
}

async fn request_with(
    method: &str,
    url: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn www(h: &http::HeaderMap) -> String {
    h.get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

const CALL_ECHO: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
const CALL_ENV: &str =
    r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get-env","arguments":{}}}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#;

fn claims(issuer: &str, aud: &str, scope: &str) -> Value {
    json!({"iss": issuer, "sub": "alice", "aud": aud, "scope": scope, "client_id": "c1",
           "iat": now(), "exp": now() + 300})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_plan_end_to_end() {
    let (auth, issuer) = auth_server().await;
    let k1 = Key::new("k1");
    *auth.keys.lock().unwrap() = vec![k1.jwk()];
    let (back, seen) = backend(false).await;
    let gw = gateway(
        "jwt",
        &format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"mcp\"\npath = \"/mcp\"\nplan = \"oauth2\"\n\
             policy = \"POLICY\"\nbackend = {{ url = \"http://{back}/mcp\" }}\n\
             [api.oauth2]\nauthorization_servers = [\"{issuer}\"]\n\
             scopes_supported = [\"mcp:tools\", \"mcp:admin\"]\nrequired_scopes = [\"mcp:tools\"]\n\
             jwks_min_refetch_s = 2\n"
        ),
    );
    let url = format!("{}/mcp", gw.base);
    let meta_url = format!("{}/.well-known/oauth-protected-resource/mcp", gw.base);

    // Metadata: every form, no token, readable cross-origin, naming the gateway's own URL.
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/mcp/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource",
    ] {
        let (status, h, body) = request("GET", &format!("{}{path}", gw.base), None, "").await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(h["access-control-allow-origin"], "*");
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], url, "{path}");
        assert_eq!(doc["authorization_servers"], json!([issuer]));
        assert_eq!(doc["scopes_supported"], json!(["mcp:tools", "mcp:admin"]));
    }
    let (status, _, _) = request(
        "GET",
        &format!("{}/.well-known/oauth-protected-resource/other", gw.base),
        None,
        "",
    )
    .await;
    assert_eq!(status, 404);

    // No token: the challenge that starts discovery; a malformed header: 400.
    for method in ["POST", "GET", "DELETE"] {
        let (status, h, _) = request(method, &url, None, LIST).await;
        assert_eq!(status, 401, "{method}");
        assert_eq!(
            www(&h),
            format!(r#"Bearer resource_metadata="{meta_url}", scope="mcp:tools""#)
        );
    }
    let (status, h, _) = request("POST", &url, Some("not a token"), LIST).await;
    assert_eq!(status, 400);
    assert!(
        www(&h).contains(r#"error="invalid_request""#),
        "{}",
        www(&h)
    );

    // A good token: forwarded without it; the policy reads its scopes.
    let basic = k1.sign(&claims(&issuer, &url, "mcp:tools"));
    let (status, _, body) = request("POST", &url, Some(&basic), LIST).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("echo") && !body.contains("get-env"), "{body}");
    let (status, _, body) = request("POST", &url, Some(&basic), CALL_ECHO).await;
    assert_eq!(status, 200, "{body}");
    // A denial the admin scope would cure: 403 naming the plan's scope and the rule's.
    let (status, h, _) = request("POST", &url, Some(&basic), CALL_ENV).await;
    assert_eq!(status, 403);
    assert!(
        www(&h).starts_with(&format!(
            r#"Bearer resource_metadata="{meta_url}", scope="mcp:tools mcp:admin", error="insufficient_scope""#
        )),
        "{}",
        www(&h)
    );
    let admin = k1.sign(&claims(&issuer, &url, "mcp:tools mcp:admin"));
    let (status, _, body) = request("POST", &url, Some(&admin), CALL_ENV).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ok\""), "{body}");
    let backend_saw = seen.lock().unwrap().clone();
    assert_eq!(
        backend_saw.len(),
        3,
        "list, echo, get-env with admin: {backend_saw:?}"
    );
    assert!(
        backend_saw.iter().all(Option::is_none),
        "the client's token never goes upstream: {backend_saw:?}"
    );

    // Tokens that must not open anything: 401 invalid_token, nothing forwarded.
    let mut expired = claims(&issuer, &url, "mcp:tools");
    expired["exp"] = json!(now() - 3600);
    expired["iat"] = json!(now() - 7200);
    let mut tampered = basic.clone().into_bytes();
    let dot = basic.find('.').unwrap();
    tampered[dot + 5] = if tampered[dot + 5] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let other_issuer = Key::new("k1").sign(&claims(&issuer, &url, "mcp:tools"));
    let bad = [
        (
            "other audience",
            k1.sign(&claims(&issuer, "http://elsewhere/mcp", "mcp:tools")),
        ),
        (
            "other issuer",
            k1.sign(&claims("http://evil.example", &url, "mcp:tools")),
        ),
        ("expired", k1.sign(&expired)),
        ("tampered", String::from_utf8(tampered).unwrap()),
        ("signed by a stranger", other_issuer),
    ];
    for (what, token) in &bad {
        let (status, h, body) = request("POST", &url, Some(token), LIST).await;
        assert_eq!(status, 401, "{what}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["error"], "invalid_token",
            "{what}: the body names the challenge's code"
        );
        assert!(
            www(&h).contains(r#"error="invalid_token""#),
            "{what}: {}",
            www(&h)
        );
    }
    // Required scope missing from the token: 403 before the policy.
    let (status, h, _) = request(
        "POST",
        &url,
        Some(&k1.sign(&claims(&issuer, &url, "profile"))),
        LIST,
    )
    .await;
    assert_eq!(status, 403);
    assert!(www(&h).contains(r#"scope="mcp:tools""#), "{}", www(&h));
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "no refused request reached the backend"
    );

    // Key rotation: a token naming a new key makes the gateway fetch the keys again, once.
    let fetches = auth.jwks_fetches.load(Ordering::SeqCst);
    assert_eq!(fetches, 1, "keys are fetched once and cached");
    let k2 = Key::new("k2");
    *auth.keys.lock().unwrap() = vec![k1.jwk(), k2.jwk()];
    // Past the refetch interval (2 s here) since the first fetch.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let rotated = k2.sign(&claims(&issuer, &url, "mcp:tools"));
    let (status, _, _) = request("POST", &url, Some(&rotated), LIST).await;
    assert_eq!(status, 200, "the rotated key is fetched and accepted");
    assert_eq!(auth.jwks_fetches.load(Ordering::SeqCst), 2);
    // Random kids do not turn into a flood of fetches.
    for i in 0..20 {
        let token = Key::new(&format!("random-{i}")).sign(&claims(&issuer, &url, "mcp:tools"));
        let (status, _, _) = request("POST", &url, Some(&token), LIST).await;
        assert_eq!(status, 401);
    }
    assert_eq!(auth.jwks_fetches.load(Ordering::SeqCst), 2, "rate limited");
    // The server going away does not stop tokens signed with known keys.
    auth.down.store(true, Ordering::SeqCst);
    let (status, _, _) = request("POST", &url, Some(&basic), LIST).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_belong_to_their_user_and_browsers_get_cors() {
    let (auth, issuer) = auth_server().await;
    let key = Key::new("k1");
    *auth.keys.lock().unwrap() = vec![key.jwk()];
    let (back, seen) = backend(false).await;
    let gw = gateway(
        "owner",
        &format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"mcp\"\npath = \"/mcp\"\nplan = \"oauth2\"\n\
             allowed_origins = [\"http://localhost:6274\"]\n\
             backend = {{ url = \"http://{back}/mcp\" }}\n\
             [api.oauth2]\nauthorization_servers = [\"{issuer}\"]\n"
        ),
    );
    let url = format!("{}/mcp", gw.base);
    let alice = key.sign(&claims(&issuer, &url, "mcp:tools"));
    let mut m = claims(&issuer, &url, "mcp:tools");
    m["sub"] = json!("mallory");
    let mallory = key.sign(&m);
    let (status, h, _) = request("POST", &url, Some(&alice), LIST).await;
    assert_eq!(status, 200);
    let sid = h["mcp-session-id"].to_str().unwrap().to_owned();
    let with_sid = [("mcp-session-id", sid.as_str())];
    let (status, _, _) = request_with("POST", &url, Some(&alice), &with_sid, CALL_ECHO).await;
    assert_eq!(status, 200, "the owner continues her session");
    let before = seen.lock().unwrap().len();
    for method in ["POST", "GET", "DELETE"] {
        let (status, _, body) =
            request_with(method, &url, Some(&mallory), &with_sid, CALL_ECHO).await;
        assert_eq!(
            status, 404,
            "{method}: another user's valid token does not open the session: {body}"
        );
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "nothing reached the backend"
    );
    let (status, _, _) = request_with("POST", &url, Some(&alice), &with_sid, CALL_ECHO).await;
    assert_eq!(status, 200, "and the session is still hers");

    // CORS: a preflight from an allowed origin, without a token; the answers readable by the
    // page, the challenge included. Other origins are refused.
    let page = [
        ("origin", "http://localhost:6274"),
        ("access-control-request-method", "POST"),
    ];
    let (status, h, _) = request_with("OPTIONS", &url, None, &page, "").await;
    assert_eq!(status, 204);
    assert_eq!(h["access-control-allow-origin"], "http://localhost:6274");
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("mcp-session-id")
    );
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("DELETE")
    );
    let (status, h, _) = request_with("POST", &url, None, &page[..1], LIST).await;
    assert_eq!(status, 401);
    assert_eq!(h["access-control-allow-origin"], "http://localhost:6274");
    assert!(
        h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("www-authenticate")
    );
    let (status, h, _) = request_with("POST", &url, Some(&alice), &page[..1], LIST).await;
    assert_eq!(status, 200);
    assert!(
        h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("mcp-session-id")
    );
    let evil = [("origin", "http://evil.example")];
    let (status, h, _) = request_with("OPTIONS", &url, None, &evil, "").await;
    assert_eq!(status, 403);
    assert!(h.get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_authorization_server_is_503_not_a_pass() {
    let (auth, issuer) = auth_server().await;
    *auth.keys.lock().unwrap() = vec![Key::new("other").jwk()];
    auth.down.store(true, Ordering::SeqCst);
    let (back, seen) = backend(false).await;
    let gw = gateway(
        "down",
        &format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"mcp\"\npath = \"/mcp\"\nplan = \"oauth2\"\n\
             backend = {{ url = \"http://{back}/mcp\" }}\n\
             [api.oauth2]\nauthorization_servers = [\"{issuer}\"]\njwks_min_refetch_s = 0\n"
        ),
    );
    let url = format!("{}/mcp", gw.base);
    let token = Key::new("k").sign(&claims(&issuer, &url, "mcp:tools"));
    let (status, _, body) = request("POST", &url, Some(&token), LIST).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(r#""error":"temporarily_unavailable""#),
        "{body}"
    );
    assert!(seen.lock().unwrap().is_empty());
    // Back up: the next request fetches the keys, and once more for the unknown kid (no
    // refetch interval here); this key is not among them: 401.
    auth.down.store(false, Ordering::SeqCst);
    let (status, _, body) = request("POST", &url, Some(&token), LIST).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(auth.jwks_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_plan_caches_for_the_token_lifetime() {
    let (auth, issuer) = auth_server().await;
    let (back, seen) = backend(false).await;
    let gw = gateway(
        "introspect",
        &format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"opaque\"\npath = \"/opaque\"\nplan = \"oauth2\"\n\
             policy = \"POLICY\"\nbackend = {{ url = \"http://{back}/mcp\" }}\n\
             [api.oauth2]\nauthorization_servers = [\"{issuer}\"]\n\
             introspection = {{ endpoint = \"{issuer}/introspect\", client_id = \"gw\", client_secret = \"s3cret\" }}\n"
        ),
    );
    let url = format!("{}/opaque", gw.base);
    auth.opaque.lock().unwrap().insert(
        "opaque-admin".into(),
        json!({"active": true, "sub": "bob", "iss": issuer, "aud": url, "scope": "mcp:admin",
               "exp": now() + 300}),
    );
    auth.opaque.lock().unwrap().insert(
        "opaque-short".into(),
        json!({"active": true, "sub": "eve", "iss": issuer, "aud": url, "scope": "mcp:admin",
               "exp": now() + 1}),
    );
    for _ in 0..3 {
        let (status, _, body) = request("POST", &url, Some("opaque-admin"), CALL_ENV).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(auth.introspections.load(Ordering::SeqCst), 1, "cached");
    let (status, h, _) = request("POST", &url, Some("revoked"), LIST).await;
    assert_eq!(status, 401);
    assert!(www(&h).contains("invalid_token"));
    assert_eq!(auth.introspections.load(Ordering::SeqCst), 2);
    // An entry lives only as long as its token: once it is over, the server is asked again
    // (and now says the token is no longer active).
    let (status, _, _) = request("POST", &url, Some("opaque-short"), LIST).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    auth.opaque
        .lock()
        .unwrap()
        .insert("opaque-short".into(), json!({"active": false}));
    let (status, _, _) = request("POST", &url, Some("opaque-short"), LIST).await;
    assert_eq!(status, 401, "expired, asked again");
    assert_eq!(auth.introspections.load(Ordering::SeqCst), 4);
    assert!(seen.lock().unwrap().iter().all(Option::is_none));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secured_backend_is_relayed_to_the_gateway_url() {
    let (back, seen) = backend(true).await;
    let gw = gateway(
        "relay",
        &format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"secured\"\npath = \"/secured\"\n\
             upstream_oauth = \"relay\"\nbackend = {{ url = \"http://{back}/mcp\" }}\n"
        ),
    );
    let url = format!("{}/secured", gw.base);
    let meta_url = format!("{}/.well-known/oauth-protected-resource/secured", gw.base);
    let (status, h, _) = request("POST", &url, None, LIST).await;
    assert_eq!(status, 401);
    assert_eq!(
        www(&h),
        format!(r#"Bearer realm="up", resource_metadata="{meta_url}""#)
    );
    let (status, _, body) = request("GET", &meta_url, None, "").await;
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["resource"], url, "the gateway's URL, not the backend's");
    assert_eq!(doc["authorization_servers"], json!(["http://as.example"]));
    assert_eq!(doc["scopes_supported"], json!(["files:read"]));
    let (status, _, body) = request("POST", &url, Some("upstream-token"), LIST).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        seen.lock().unwrap().last().cloned().flatten().as_deref(),
        Some("Bearer upstream-token"),
        "the backend's own token goes to the backend"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_authorization_server_checked_against_ca_file() {
    let (acceptor, pem) = tls_acceptor();
    let (auth, issuer) = auth_server_over(Some(acceptor)).await;
    assert!(issuer.starts_with("https://"));
    let key = Key::new("k1");
    *auth.keys.lock().unwrap() = vec![key.jwk()];
    let (back, _) = backend(false).await;
    let dir = std::env::temp_dir().join(format!("mcp-gw-oauth-{}-tls", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let config = |ca_line: &str| {
        format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"mcp\"\npath = \"/mcp\"\nplan = \"oauth2\"\n\
             backend = {{ url = \"http://{back}/mcp\" }}\n\
             [api.oauth2]\nauthorization_servers = [\"{issuer}\"]\n{ca_line}"
        )
    };
    let gw = gateway("tls", &config(&format!("ca_file = \"{}\"\n", ca.display())));
    let url = format!("{}/mcp", gw.base);
    let token = key.sign(&claims(&issuer, &url, "mcp:tools"));
    let (status, _, body) = request("POST", &url, Some(&token), LIST).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(auth.jwks_fetches.load(Ordering::SeqCst), 1);
    drop(gw);
    // Without the CA the server's certificate is not trusted: no keys, so no pass.
    let gw = gateway("tls-untrusted", &config(""));
    let url = format!("{}/mcp", gw.base);
    let token = key.sign(&claims(&issuer, &url, "mcp:tools"));
    let (status, _, body) = request("POST", &url, Some(&token), LIST).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(auth.jwks_fetches.load(Ordering::SeqCst), 1);
}

#[test]
fn plan_settings_are_checked_at_start() {
    let dir = std::env::temp_dir().join(format!("mcp-gw-oauth-{}-bad", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("plan = \"oauth2\"\n", "needs an [api.oauth2] table"),
        (
            "[api.oauth2]\nauthorization_servers = [\"http://a\"]\n",
            "only read with plan",
        ),
        (
            "plan = \"oauth2\"\n[api.oauth2]\nauthorization_servers = [\"ftp://a\"]\n",
            "https:// or http:// URL",
        ),
        (
            "plan = \"oauth2\"\n[api.oauth2]\nauthorization_servers = [\"https://a\"]\nca_file = \"/nonexistent.pem\"\n",
            "ca_file /nonexistent.pem",
        ),
        (
            "plan = \"oauth2\"\nupstream_oauth = \"relay\"\n[api.oauth2]\nauthorization_servers = [\"http://a\"]\n",
            "use plan",
        ),
        (
            "plan = \"oauth2\"\n[api.oauth2]\nauthorization_servers = [\"http://a\"]\nintrospection = { endpoint = \"http://a/i\", client_id = \"x\" }\n",
            "exactly one of `client_secret`",
        ),
    ];
    for (i, (extra, needle)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.toml"));
        // The [api.oauth2] table must come after the api's plain keys.
        let (head, table) = extra.split_at(extra.find('[').unwrap_or(extra.len()));
        std::fs::write(
            &path,
            format!(
                "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"a\"\npath = \"/mcp\"\n{head}\
                 backend = {{ url = \"http://127.0.0.1:1/mcp\" }}\n{table}"
            ),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-policy"))
            .args(["serve", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{extra}: {err}");
    }
}
