//! The gateway's MCP sessions: the ids it minted and what each maps to upstream.
//!
//! The gateway always mints its own session ids. That lets it answer 404 for any id it does not
//! know (unknown, ended, or from before a restart: the client then re-initialises, as the spec
//! says), gives stdio backends a session id at all, and keeps upstream ids away from clients.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::stdio::StdioSession;

/// What a session is bound to upstream.
#[derive(Debug)]
pub(crate) enum Upstream {
    /// The session id the HTTP backend handed out.
    Http(String),
    /// The process started for this session.
    Stdio(Arc<StdioSession>),
}

/// One MCP session.
#[derive(Debug)]
pub(crate) struct Session {
    /// The engine's state of the session: the requests waiting for answers on any of its
    /// streams, the server requests refused, the negotiated revision.
    pub(crate) core: mcp_policy::exchange::Session,
    /// Gateway-minted id, sent to the client as `Mcp-Session-Id` (shared, not copied, by
    /// every exchange of the session).
    pub(crate) id: Arc<str>,
    /// Name of the API the session was opened on.
    pub(crate) api: Arc<str>,
    /// Upstream binding.
    pub(crate) upstream: Upstream,
    /// Under the OAuth2 plan, who opened the session (issuer and user): another caller's
    /// valid token does not open it (the MCP security guidance binds sessions to users, so a
    /// leaked or guessed session id is worth nothing without its owner's token).
    pub(crate) owner: Option<Arc<str>>,
    last_seen: Mutex<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these small locks leaves consistent data behind, so keep
    // serving rather than poisoning every later request.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Session {
    /// A new session with a freshly minted id, carrying on the engine's session `core`.
    pub(crate) fn new(
        api: Arc<str>,
        upstream: Upstream,
        core: mcp_policy::exchange::Session,
    ) -> Self {
        Self::with_id(mint_id(), api, upstream, core)
    }

    /// A session with a chosen id (a stdio process needs to know its id before it exists).
    pub(crate) fn with_id(
        id: String,
        api: Arc<str>,
        upstream: Upstream,
        core: mcp_policy::exchange::Session,
    ) -> Self {
        // Kept under an id the client sends back: a stream of it can be resumed.
        core.set_resumable(true);
        Self {
            core,
            id: Arc::from(id),
            api,
            upstream,
            owner: None,
            last_seen: Mutex::new(Instant::now()),
        }
    }

    /// The same session, bound to `owner` (see [`Session::owner`]).
    pub(crate) fn owned_by(mut self, owner: Option<Arc<str>>) -> Self {
        self.owner = owner;
        self
    }

    /// Marks activity now.
    pub(crate) fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(*lock(&self.last_seen))
    }

    /// Whether the session still has streams open towards the client (a GET stream counts as
    /// activity even when no request comes in).
    fn busy(&self) -> bool {
        match &self.upstream {
            Upstream::Http(_) => false,
            Upstream::Stdio(s) => s.has_open_streams(),
        }
    }
}

/// A fresh session id: 128 random bits, visible ASCII as the spec requires.
pub(crate) fn mint_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// All live sessions.
#[derive(Debug, Default)]
pub(crate) struct SessionTable {
    map: Mutex<HashMap<Arc<str>, Arc<Session>>>,
}

impl SessionTable {
    /// Adds a session.
    pub(crate) fn insert(&self, s: Arc<Session>) {
        lock(&self.map).insert(s.id.clone(), s);
    }

    /// Looks a session up and marks it active.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        let s = lock(&self.map).get(id).cloned();
        if let Some(s) = &s {
            s.touch();
        }
        s
    }

    /// Looks a session up without counting it as activity.
    pub(crate) fn peek(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.map).get(id).cloned()
    }

    /// Removes a session; the caller ends its upstream side.
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.map).remove(id)
    }

    /// Removes and returns the sessions idle for longer than `idle(api)` allows.
    pub(crate) fn take_expired(
        &self,
        now: Instant,
        idle: impl Fn(&str) -> Option<Duration>,
    ) -> Vec<Arc<Session>> {
        let mut map = lock(&self.map);
        let expired: Vec<Arc<str>> = map
            .values()
            .filter(|s| {
                let limit = idle(&s.api);
                // A session whose API disappeared in a reload is ended at once.
                limit.is_none_or(|l| s.idle_for(now) > l && !s.busy())
            })
            .map(|s| s.id.clone())
            .collect();
        expired.iter().filter_map(|id| map.remove(id)).collect()
    }

    /// Removes and returns every session (shutdown).
    pub(crate) fn drain(&self) -> Vec<Arc<Session>> {
        lock(&self.map).drain().map(|(_, s)| s).collect()
    }

    /// Live sessions per API.
    pub(crate) fn counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for s in lock(&self.map).values() {
            *out.entry(s.api.to_string()).or_default() += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(api: &str) -> Arc<Session> {
        let guard = mcp_policy::exchange::Guard::new(Arc::new(
            mcp_policy::policy::Engine::allow_all(&mcp_policy::Limits::default()).unwrap(),
        ));
        Arc::new(Session::new(
            Arc::from(api),
            Upstream::Http("up".into()),
            guard.session(),
        ))
    }

    #[test]
    fn ids_are_unique_visible_ascii() {
        let a = mint_id();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_ne!(a, mint_id());
    }

    #[test]
    fn insert_get_remove() {
        let t = SessionTable::default();
        let s = http("a");
        t.insert(s.clone());
        assert!(Arc::ptr_eq(&t.get(&s.id).unwrap(), &s));
        assert!(t.get("nope").is_none());
        assert_eq!(t.counts(), BTreeMap::from([("a".to_owned(), 1)]));
        assert!(t.remove(&s.id).is_some());
        assert!(t.get(&s.id).is_none(), "an ended session is unknown");
        assert!(t.remove(&s.id).is_none());
    }

    #[test]
    fn expiry() {
        let t = SessionTable::default();
        let (a, b, gone) = (http("a"), http("b"), http("removed-api"));
        for s in [&a, &b, &gone] {
            t.insert(s.clone());
        }
        let later = Instant::now() + Duration::from_secs(10);
        let idle = |api: &str| match api {
            "a" => Some(Duration::from_secs(5)),
            "b" => Some(Duration::from_secs(60)),
            _ => None,
        };
        let mut expired: Vec<String> = t
            .take_expired(later, idle)
            .iter()
            .map(|s| s.api.to_string())
            .collect();
        expired.sort();
        assert_eq!(expired, ["a", "removed-api"]);
        assert!(t.get(&b.id).is_some());
        assert_eq!(t.drain().len(), 1);
        assert!(t.counts().is_empty());
    }
}
