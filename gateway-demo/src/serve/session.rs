//! The gateway's MCP sessions: the ids it minted and what each maps to upstream.
//!
//! The gateway always mints its own session ids. That lets it answer 404 for any id it does not
//! know (unknown, ended, or from before a restart: the client then re-initialises, as the spec
//! says), gives stdio backends a session id at all, and keeps upstream ids away from clients.
//!
//! Ids are sealed ([`super::seal`]): an HTTP session's id carries its upstream id, so with key
//! files shared by several replicas, a replica that never saw a session continues it from the
//! id alone ([`SessionTable::find`]). The table is then a cache, and forgetting a session
//! (idle, shutdown) must not end it upstream, where another replica may be serving it
//! ([`Session::ended_with_local_copy`]). A stdio session's process lives in one replica: the
//! others answer 404 to its id, so stdio APIs need a load balancer with session affinity.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hashbrown::HashMap;

use super::log;
use super::seal::{Bound, Keyring};
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
    /// `id` as a header value, made once: validating and copying it into a new `HeaderValue`
    /// was an allocation per answer. `None` if it cannot be one (never for minted ids).
    pub(crate) id_header: Option<http::HeaderValue>,
    /// The HTTP backend's session id as a header value, made once for the same reason. `None`
    /// for stdio, or for an id that cannot be sent back.
    pub(crate) upstream_header: Option<http::HeaderValue>,
    /// Under the OAuth2 plan, who opened the session (issuer and user): another caller's
    /// valid token does not open it (the MCP security guidance binds sessions to users, so a
    /// leaked or guessed session id is worth nothing without its owner's token).
    pub(crate) owner: Option<Arc<str>>,
    last_seen: Mutex<Instant>,
    /// The [`Keyring::generation`] that last opened the id (0: none yet).
    checked_with: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these small locks leaves consistent data behind, so keep
    // serving rather than poisoning every later request.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Session {
    /// A new session with a freshly sealed id, carrying on the engine's session `core`.
    pub(crate) fn new(
        keys: &Keyring,
        api: Arc<str>,
        upstream: Upstream,
        core: mcp_policy::exchange::Session,
        owner: Option<Arc<str>>,
    ) -> Self {
        let bound = match &upstream {
            Upstream::Http(up) => Bound::Http(up.clone()),
            Upstream::Stdio(_) => Bound::Stdio,
        };
        let id = mint(keys, &api, &bound, owner.as_deref());
        let s = Self::with_id(id, api, upstream, core, owner);
        // Sealed with these keys just now: no need to open it on its next request.
        s.checked_with.store(keys.generation(), Ordering::Relaxed);
        s
    }

    /// A session with a chosen id (a stdio process needs to know its id before it exists).
    pub(crate) fn with_id(
        id: String,
        api: Arc<str>,
        upstream: Upstream,
        core: mcp_policy::exchange::Session,
        owner: Option<Arc<str>>,
    ) -> Self {
        // Kept under an id the client sends back: a stream of it can be resumed.
        core.set_resumable(true);
        let upstream_header = match &upstream {
            Upstream::Http(up) => http::HeaderValue::from_str(up).ok(),
            Upstream::Stdio(_) => None,
        };
        Self {
            core,
            id_header: http::HeaderValue::from_str(&id).ok(),
            id: Arc::from(id),
            api,
            upstream,
            upstream_header,
            owner,
            last_seen: Mutex::new(Instant::now()),
            checked_with: AtomicU64::new(0),
        }
    }

    /// Marks activity now.
    pub(crate) fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(*lock(&self.last_seen))
    }

    /// Whether forgetting this session here (idle, shutdown) ends it: a stdio process lives
    /// only here, and without shared keys no other process can serve the session. With shared
    /// keys an HTTP session may be alive on another replica, so only the local copy goes; the
    /// upstream session ends on the client's DELETE or by the backend's own expiry.
    pub(crate) fn ended_with_local_copy(&self, keys: &Keyring) -> bool {
        match &self.upstream {
            Upstream::Stdio(_) => true,
            Upstream::Http(_) => !keys.shared(),
        }
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

/// A sealed session id for a session of `api` bound to `bound`. Sealing only fails when the
/// system's random source does; a random id then still serves the session in this process.
pub(crate) fn mint(keys: &Keyring, api: &str, bound: &Bound, owner: Option<&str>) -> String {
    keys.seal(api, bound, owner).unwrap_or_else(|e| {
        log::warn(&format!(
            "api {api:?}: {e}; the new session gets an unsealed id only this process knows"
        ));
        mint_id()
    })
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

    /// The session of API `api` named by `id`, marked active: the one in the table, or, with
    /// shared keys, an HTTP session another replica minted, rebuilt from its sealed id with a
    /// fresh engine session from `new_core` and kept. `None` (the client gets 404) for an id
    /// of another API, one that does not open, or a stdio session (its process is elsewhere).
    pub(crate) fn find(
        &self,
        id: &str,
        api: &Arc<str>,
        keys: &Keyring,
        new_core: impl FnOnce() -> mcp_policy::exchange::Session,
    ) -> Option<Arc<Session>> {
        if let Some(s) = self.get(id) {
            if s.api != *api {
                return None;
            }
            if keys.shared()
                && matches!(s.upstream, Upstream::Http(_))
                && s.checked_with.load(Ordering::Relaxed) != keys.generation()
            {
                if keys.open(api, id).is_none() {
                    // Its key was retired: refused here as on the replicas that never saw it.
                    self.remove(id);
                    log::info(&format!(
                        "api {api:?}: session {id} forgotten: its id no longer opens with the \
                         session keys"
                    ));
                    return None;
                }
                s.checked_with.store(keys.generation(), Ordering::Relaxed);
            }
            return Some(s);
        }
        if !keys.shared() {
            return None;
        }
        let claims = keys.open(api, id)?;
        let Bound::Http(upstream) = claims.bound else {
            return None;
        };
        let fresh = Arc::new(Session::with_id(
            id.to_owned(),
            api.clone(),
            Upstream::Http(upstream),
            new_core(),
            claims.owner.map(Arc::from),
        ));
        fresh
            .checked_with
            .store(keys.generation(), Ordering::Relaxed);
        // Two requests of the session may race here: both use the first one kept.
        let kept = lock(&self.map)
            .entry(fresh.id.clone())
            .or_insert_with(|| fresh.clone())
            .clone();
        if Arc::ptr_eq(&kept, &fresh) {
            let age = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .saturating_sub(claims.minted);
            log::info(&format!(
                "api {api:?}: session {id} continued here from its sealed id (minted {age} s ago)"
            ));
        }
        Some(kept)
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

    fn core() -> mcp_policy::exchange::Session {
        mcp_policy::exchange::Guard::new(Arc::new(
            mcp_policy::policy::Engine::allow_all(&mcp_policy::Limits::default()).unwrap(),
        ))
        .session()
    }

    fn shared_keys() -> Keyring {
        Keyring::from_keys(&[[3; 32]], true)
    }

    fn http(api: &str) -> Arc<Session> {
        Arc::new(Session::new(
            &Keyring::process().unwrap(),
            Arc::from(api),
            Upstream::Http("up".into()),
            core(),
            None,
        ))
    }

    #[test]
    fn another_replica_continues_an_http_session_from_its_id() {
        let keys = shared_keys();
        let api: Arc<str> = Arc::from("a");
        let owner: Option<Arc<str>> = Some(Arc::from("https://as.example\nalice"));
        let minted = Session::new(
            &keys,
            api.clone(),
            Upstream::Http("up-7".into()),
            core(),
            owner.clone(),
        );
        let replica = SessionTable::default();
        let s = replica.find(&minted.id, &api, &keys, core).unwrap();
        assert_eq!(s.id, minted.id);
        assert!(matches!(&s.upstream, Upstream::Http(u) if u == "up-7"));
        assert_eq!(s.owner, owner, "bound to the same user on every replica");
        assert!(
            Arc::ptr_eq(&replica.find(&minted.id, &api, &keys, core).unwrap(), &s),
            "kept as a cache"
        );
        assert_eq!(replica.counts(), BTreeMap::from([("a".to_owned(), 1)]));
        assert!(
            !s.ended_with_local_copy(&keys),
            "another replica may serve it"
        );
    }

    #[test]
    fn a_retired_key_ends_cached_sessions_too() {
        let (old, new) = ([5; 32], [6; 32]);
        let api: Arc<str> = Arc::from("a");
        let t = SessionTable::default();
        let keys = Keyring::from_keys(&[old], true);
        let s = Arc::new(Session::new(
            &keys,
            api.clone(),
            Upstream::Http("u".into()),
            core(),
            None,
        ));
        t.insert(s.clone());
        assert!(t.find(&s.id, &api, &keys, core).is_some());
        let rotated = Keyring::from_keys(&[new, old], true);
        assert!(
            t.find(&s.id, &api, &rotated, core).is_some(),
            "old key second"
        );
        let retired = Keyring::from_keys(&[new], true);
        assert!(t.find(&s.id, &api, &retired, core).is_none());
        assert!(t.peek(&s.id).is_none(), "forgotten");
        assert!(
            t.find(&s.id, &api, &rotated, core).is_some(),
            "rebuilt while it opens"
        );
    }

    #[test]
    fn ids_that_do_not_open_here_are_unknown() {
        let keys = shared_keys();
        let api: Arc<str> = Arc::from("a");
        let t = SessionTable::default();
        let id = Session::new(&keys, api.clone(), Upstream::Http("u".into()), core(), None).id;
        assert!(
            t.find(&id, &Arc::from("b"), &keys, core).is_none(),
            "other API"
        );
        let other = Keyring::from_keys(&[[4; 32]], true);
        assert!(t.find(&id, &api, &other, core).is_none(), "other key");
        let mut bad = id.to_string();
        let last = if bad.ends_with('A') { 'B' } else { 'A' };
        bad.pop();
        bad.push(last);
        assert!(t.find(&bad, &api, &keys, core).is_none(), "tampered");
        let stdio = mint(&keys, &api, &Bound::Stdio, None);
        assert!(
            t.find(&stdio, &api, &keys, core).is_none(),
            "stdio lives elsewhere"
        );
        let single = Keyring::process().unwrap();
        let alone = mint(&single, &api, &Bound::Http("u".into()), None);
        assert!(
            t.find(&alone, &api, &single, core).is_none(),
            "without shared keys only the table counts"
        );
        assert!(t.counts().is_empty());
        // A session in the table is only found on its own API.
        let s = http("a");
        t.insert(s.clone());
        assert!(t.find(&s.id, &api, &single, core).is_some());
        assert!(t.find(&s.id, &Arc::from("b"), &single, core).is_none());
        assert!(s.ended_with_local_copy(&single), "a single gateway ends it");
    }

    #[test]
    fn ids_are_unique_visible_ascii() {
        let a = mint_id();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_ne!(a, mint_id());
        let s = http("a");
        assert!(s.id.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_ne!(s.id, http("a").id);
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
