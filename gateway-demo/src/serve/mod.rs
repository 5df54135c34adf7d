//! `mcp-policy serve`: a Streamable HTTP MCP gateway.
//!
//! One listener serves several APIs (entrypoint path → backend). The gateway only transports
//! and converts: every client body is judged by the API's engine (the host protocol of
//! `mcp_policy::exchange`) before the backend sees it, and everything the backend sends back is
//! judged by the exchange of that request before the client sees it. Configuration and
//! policies are reloaded on SIGHUP or when their files change; a configuration that fails to
//! load is refused and the running one kept.
//!
//! Modules depend one way: [`routing`] → [`exchange`] → the backends ([`http_backend`],
//! [`stdio`], [`upstream`]) → [`guard`], [`session`], [`replies`], and the telemetry
//! ([`log`], [`metrics`], [`dashboard`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use http::HeaderName;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

pub(crate) mod config;
mod dashboard;
mod exchange;
mod guard;
mod h1;
mod http_backend;
pub(crate) mod log;
mod metrics;
mod oauth;
mod origin;
mod replies;
mod routing;
pub(crate) mod seal;
mod session;
mod stdio;
mod upstream;

use config::{Backend, GatewayConfig};
use guard::ApiGuard;
use metrics::Metrics;
use origin::HostPolicy;
use session::{SessionTable, Upstream};

/// `Mcp-Session-Id`.
pub(crate) const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");
/// `MCP-Protocol-Version`.
pub(crate) const VERSION_HEADER: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// Arguments of `mcp-policy serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Gateway configuration (TOML).
    #[arg(long, short)]
    config: PathBuf,
    /// Listen on this address instead of the configuration's `listen` (port 0 picks a free one;
    /// the chosen address is logged).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

/// One API, ready to serve.
pub(crate) struct Api {
    pub(crate) name: Arc<str>,
    pub(crate) config: config::ApiConfig,
    pub(crate) backend: Backend,
    pub(crate) guard: ApiGuard,
    /// Kept-alive connections to the HTTP backend (`None` for a stdio backend).
    pub(crate) pool: Option<Arc<upstream::BackendPool>>,
    /// `Host` of the requests to an HTTP backend (`host[:port]`), made once: the client would
    /// format it for every request.
    pub(crate) upstream_host: Option<http::HeaderValue>,
    pub(crate) hosts: HostPolicy,
    /// The URL clients reach the API at (the OAuth resource identifier).
    pub(crate) public_url: String,
    /// The OAuth2 plan, when the API has it.
    pub(crate) oauth: Option<Arc<oauth::OAuthGate>>,
    /// The relay of a secured backend's OAuth (`upstream_oauth = "relay"`).
    pub(crate) relay: Option<Arc<oauth::Relay>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("name", &self.name)
            .field("backend", &self.backend)
            .finish()
    }
}

impl Api {
    /// How the backend is named in errors and logs.
    pub(crate) fn backend_label(&self) -> String {
        match &self.backend {
            Backend::Http(uri) => uri.to_string(),
            Backend::Stdio { command, .. } => format!("`{}`", command.join(" ")),
        }
    }
}

/// A loaded configuration.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) config: GatewayConfig,
    pub(crate) apis: Vec<Arc<Api>>,
    /// Files whose change triggers a reload, with their modification time when loaded.
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    /// Session id keys: the key files' (`[sessions]`), else this process's own.
    pub(crate) keys: Arc<seal::Keyring>,
}

/// `host[:port]` of an HTTP backend, as the client sends it in `Host` (no port when it is 80).
fn upstream_host(backend: &Backend) -> Option<http::HeaderValue> {
    let Backend::Http(uri) = backend else {
        return None;
    };
    let host = uri.host()?;
    let text = match uri.port_u16() {
        Some(port) if port != 80 => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    http::HeaderValue::from_str(&text).ok()
}

fn stamp(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Runtime {
    fn build(config: GatewayConfig, config_path: &Path) -> Result<Self, String> {
        let loopback = config.listen.ip().is_loopback();
        let mut apis = Vec::new();
        let mut stamps = vec![(config_path.to_owned(), stamp(config_path))];
        // Key files are watched like policies: rotation is writing them and reloading.
        let keys = match &config.sessions {
            Some(s) => {
                stamps.extend(s.key_files.iter().map(|p| (p.clone(), stamp(p))));
                Arc::new(seal::Keyring::from_files(&s.key_files)?)
            }
            None => seal::Keyring::process()?,
        };
        for api in &config.apis {
            let public_url = api.public_url(config.listen);
            let oauth = match &api.oauth2 {
                Some(o) => Some(Arc::new(oauth::OAuthGate::new(api, o, &public_url)?)),
                None => None,
            };
            let guard = guard::build(api, oauth.as_deref())?;
            if let Some(p) = &api.policy {
                stamps.push((p.clone(), stamp(p)));
            }
            let backend = api.backend()?;
            let pool = match &backend {
                Backend::Http(uri) => Some(Arc::new(upstream::BackendPool::new(
                    uri,
                    api.timeouts.connect(),
                ))),
                Backend::Stdio { .. } => None,
            };
            let relay = match (&api.upstream_oauth, &backend) {
                (Some(_), Backend::Http(uri)) => Some(Arc::new(oauth::Relay::new(
                    api,
                    &uri.to_string(),
                    &public_url,
                )?)),
                _ => None,
            };
            apis.push(Arc::new(Api {
                name: Arc::from(api.name.as_str()),
                public_url,
                oauth,
                relay,
                upstream_host: upstream_host(&backend),
                backend,
                guard,
                pool,
                hosts: HostPolicy::new(
                    api.allowed_origins.as_deref(),
                    api.allowed_hosts.as_deref(),
                    loopback,
                ),
                config: api.clone(),
            }));
        }
        Ok(Self {
            config,
            apis,
            stamps,
            keys,
        })
    }

    pub(crate) fn api_for_path(&self, path: &str) -> Option<&Arc<Api>> {
        let name = &self.config.api_for_path(path)?.name;
        self.apis.iter().find(|a| &*a.name == name)
    }

    pub(crate) fn api(&self, name: &str) -> Option<&Arc<Api>> {
        self.apis.iter().find(|a| &*a.name == name)
    }
}

/// State shared by every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    runtime: RwLock<Arc<Runtime>>,
    pub(crate) sessions: SessionTable,
    pub(crate) metrics: Arc<Metrics>,
    config_path: PathBuf,
    /// Turns true once on SIGTERM/ctrl-c, so open streams end instead of holding shutdown.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// The `host:port` forms naming the listener, always allowed as Host and Origin (made once:
    /// the listen address never changes while running).
    pub(crate) own_authorities: Vec<String>,
    /// Whether `--listen` replaced the file's address (a reload then never reports a change).
    listen_overridden: bool,
}

impl Shared {
    /// The current configuration (a snapshot: a reload does not affect requests in flight).
    pub(crate) fn runtime(&self) -> Arc<Runtime> {
        match self.runtime.read() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Ends a session's upstream side (process killed, or DELETE sent to an HTTP backend).
    pub(crate) fn end_session(&self, s: &session::Session, why: &str) {
        match &s.upstream {
            Upstream::Stdio(p) => p.end(why),
            Upstream::Http(upstream_id) => {
                if let Some(api) = self.runtime().api(&s.api).cloned() {
                    http_backend::delete_upstream(api, upstream_id.clone());
                }
            }
        }
    }

    fn reload(&self, why: &str) {
        let old = self.runtime();
        let loaded = GatewayConfig::load(&self.config_path).and_then(|mut cfg| {
            if cfg.listen != old.config.listen && !self.listen_overridden {
                log::warn(&format!(
                    "reload ({why}): the listen address changed to {}; that needs a restart, \
                     still listening on {}",
                    cfg.listen, old.config.listen
                ));
            }
            // Default public URLs are made from the address actually listened on.
            cfg.listen = old.config.listen;
            Runtime::build(cfg, &self.config_path)
        });
        match loaded {
            Ok(new) => {
                let apis: Vec<&str> = new.apis.iter().map(|a| &*a.name).collect();
                log::info(&format!("reloaded configuration ({why}): apis {apis:?}"));
                match self.runtime.write() {
                    Ok(mut r) => *r = Arc::new(new),
                    Err(p) => *p.into_inner() = Arc::new(new),
                }
            }
            Err(e) => {
                // Keep the stamps of the refused files, or a broken file would be re-read (and
                // re-reported) every poll until it changes again.
                let stamps = old
                    .stamps
                    .iter()
                    .map(|(p, _)| (p.clone(), stamp(p)))
                    .collect();
                let kept = Runtime {
                    config: old.config.clone(),
                    apis: old.apis.clone(),
                    stamps,
                    keys: old.keys.clone(),
                };
                match self.runtime.write() {
                    Ok(mut r) => *r = Arc::new(kept),
                    Err(p) => *p.into_inner() = Arc::new(kept),
                }
                log::error(&format!(
                    "reload ({why}) refused, keeping the previous configuration: {e}"
                ));
            }
        }
    }

    fn files_changed(&self) -> bool {
        self.runtime().stamps.iter().any(|(p, t)| stamp(p) != *t)
    }

    /// A receiver that turns true when the gateway starts shutting down.
    pub(crate) fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Live sessions per API (for `/metrics`).
    pub(crate) fn session_counts(&self) -> BTreeMap<String, usize> {
        self.sessions.counts()
    }
}

/// Entry point of `mcp-policy serve`.
pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    let rt = match crate::serve_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            log::error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(serve(args));
    // Exchanges still open end with the runtime; their lines are written as they drop.
    log::stop_flusher();
    drop(rt);
    code
}

async fn serve(args: &ServeArgs) -> ExitCode {
    let mut config = match GatewayConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            log::error(&e);
            return ExitCode::from(2);
        }
    };
    if let Some(l) = args.listen {
        config.listen = l;
    }
    let listener = match TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            log::error(&format!("cannot listen on {}: {e}", config.listen));
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(config.listen);
    // Built once the address is known: with port 0, the default public URLs need the real
    // port.
    config.listen = addr;
    let runtime = match Runtime::build(config, &args.config) {
        Ok(r) => r,
        Err(e) => {
            log::error(&e);
            return ExitCode::from(2);
        }
    };
    if !addr.ip().is_loopback() && runtime.apis.iter().any(|a| a.oauth.is_none()) {
        log::warn(&format!(
            "listening on non-loopback address {addr}: anyone who reaches it can use the keyless \
             APIs"
        ));
    }
    for api in &runtime.apis {
        log::info(&format!(
            "api {:?}: {} -> {} (plan {:?})",
            api.name,
            api.public_url,
            api.backend_label(),
            api.config.plan
        ));
    }
    let shared = Arc::new(Shared {
        runtime: RwLock::new(Arc::new(runtime)),
        sessions: SessionTable::default(),
        metrics: Arc::new(Metrics::default()),
        config_path: args.config.clone(),
        shutdown: tokio::sync::watch::Sender::new(false),
        own_authorities: origin::own_authorities(addr),
        listen_overridden: args.listen.is_some(),
    });
    log::info(&format!("listening on http://{addr}"));

    log::start_flusher();
    tokio::spawn(reap_idle_sessions(shared.clone()));
    tokio::spawn(watch_for_reload(shared.clone()));

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        log::warn(&format!("accept failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                // Formatted once per connection: policy conditions read it as text.
                let remote_ip: Arc<str> = Arc::from(remote.ip().to_string());
                let service = service_fn(move |req| {
                    routing::route(shared.clone(), req, remote_ip.clone())
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    // Client-side connection errors (resets, timeouts) are routine.
                    let _ = conn.await;
                });
            }
            signal = &mut shutdown => {
                log::info(&format!("{signal}: shutting down"));
                break;
            }
        }
    }
    drop(listener);
    shared.shutdown.send_replace(true);
    // Ending the sessions first closes their streams, so the connections can finish. Sessions
    // other replicas may serve stay alive upstream.
    let keys = shared.runtime().keys.clone();
    for s in shared.sessions.drain() {
        if s.ended_with_local_copy(&keys) {
            shared.end_session(&s, "gateway shutting down");
        }
    }
    tokio::select! {
        () = graceful.shutdown() => log::info("all connections closed"),
        () = tokio::time::sleep(Duration::from_secs(5)) => {
            log::warn("connections still open after 5 s; closing them");
        }
    }
    ExitCode::SUCCESS
}

async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(e) => {
                log::warn(&format!("cannot listen for SIGTERM: {e}"));
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "ctrl-c"
    }
}

async fn watch_for_reload(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    #[cfg(unix)]
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            log::warn(&format!("cannot listen for SIGHUP: {e}"));
            None
        }
    };
    loop {
        #[cfg(unix)]
        {
            let hup_recv = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = hup_recv => { shared.reload("SIGHUP"); continue; }
                _ = tick.tick() => {}
            }
        }
        #[cfg(not(unix))]
        tick.tick().await;
        if shared.files_changed() {
            shared.reload("file changed");
        }
    }
}

async fn reap_idle_sessions(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let rt = shared.runtime();
        let expired = shared.sessions.take_expired(Instant::now(), |api| {
            rt.api(api).map(|a| a.config.timeouts.session_idle())
        });
        for s in expired {
            if s.ended_with_local_copy(&rt.keys) {
                log::info(&format!("session {} on api {:?} ended: idle", s.id, s.api));
                shared.end_session(&s, "session idle timeout");
            } else {
                log::info(&format!(
                    "session {} on api {:?} forgotten here: idle (other replicas may serve it; \
                     it ends upstream on the client's DELETE or the backend's expiry)",
                    s.id, s.api
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_loaded_and_watched() {
        let dir = std::env::temp_dir().join(format!("mcp-policy-rt-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("current.key");
        let config = |keys: &str| {
            GatewayConfig::parse(&format!(
                "[sessions]\nkey_files = [{keys}]\n[[api]]\nname = \"a\"\npath = \"/mcp\"\n\
                 backend = {{ url = \"http://127.0.0.1:1/mcp\" }}\n"
            ))
            .unwrap()
        };
        let cfg_path = dir.join("gateway.toml");
        let e = Runtime::build(config(&format!("{key:?}")), &cfg_path).unwrap_err();
        assert!(e.contains("current.key") && e.contains("keygen"), "{e}");
        seal::write_key_file(&key, false).unwrap();
        let rt = Runtime::build(config(&format!("{key:?}")), &cfg_path).unwrap();
        assert!(rt.keys.shared());
        assert!(rt.stamps.iter().any(|(p, _)| p == &key), "rotation reloads");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn upstream_host_is_what_the_client_would_send() {
        let host = |url: &str| upstream_host(&Backend::Http(url.parse().unwrap()));
        assert_eq!(host("http://127.0.0.1:3001/mcp").unwrap(), "127.0.0.1:3001");
        assert_eq!(host("http://example.com/mcp").unwrap(), "example.com");
        assert_eq!(host("http://example.com:80/mcp").unwrap(), "example.com");
        assert_eq!(host("http://[::1]:8080/mcp").unwrap(), "[::1]:8080");
    }
}
