//! Origin and Host allow-lists: the DNS-rebinding protection the MCP transport spec asks every
//! server for, which many servers (server-everything among them) lack.

use std::net::SocketAddr;

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

/// The allow-lists of one API.
#[derive(Debug, Clone)]
pub(crate) struct HostPolicy {
    origins: Option<Vec<String>>,
    hosts: Option<Vec<String>>,
    loopback_listener: bool,
}

fn is_loopback_name(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.ends_with(".localhost")
}

/// Splits `host[:port]` (IPv6 in brackets) into the host part, lowercased.
fn host_part(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if a.starts_with('[') {
        return match a.find(']') {
            Some(end) => a[..=end].to_owned(),
            None => a,
        };
    }
    match a.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_owned(),
        _ => a,
    }
}

impl HostPolicy {
    /// Lists as configured (`None`: the loopback defaults).
    pub(crate) fn new(
        origins: Option<&[String]>,
        hosts: Option<&[String]>,
        loopback_listener: bool,
    ) -> Self {
        let norm = |l: &[String]| -> Vec<String> {
            l.iter()
                .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect()
        };
        Self {
            origins: origins.map(norm),
            hosts: hosts.map(norm),
            loopback_listener,
        }
    }

    /// [`HostPolicy::check`] for a request to the gateway listening on `listen`: its own
    /// address (and, on loopback, `localhost` with its port) is always an allowed `Host`, and
    /// `http://` that address an allowed `Origin`, so a page the gateway serves and clients
    /// that name it by address work whatever the lists say. A rebinding attack names the
    /// attacker's host, which is never the gateway's own.
    /// `own` is [`own_authorities`] of the listener, made once.
    pub(crate) fn check_at(&self, headers: &HeaderMap, own: &[String]) -> Result<(), String> {
        self.check_with(headers, own)
    }

    /// `Err(reason)` when the request must be refused with 403, the lists alone deciding.
    #[cfg(test)]
    fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        self.check_with(headers, &[])
    }

    fn check_with(&self, headers: &HeaderMap, own: &[String]) -> Result<(), String> {
        // Clients write the authority as they were given it, so an exact compare usually
        // decides; the case-blind one (a byte at a time) is the fallback.
        let is_own = |authority: &str| {
            own.iter().any(|o| o == authority)
                || own.iter().any(|o| o.eq_ignore_ascii_case(authority))
        };
        let raw_host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        // The usual case, the listener's own name, is compared without lowercasing a copy (an
        // allocation per request).
        let own_host = raw_host.is_some_and(is_own);
        let host = if own_host {
            None
        } else {
            raw_host.map(str::to_ascii_lowercase)
        };
        let host_ok = own_host
            || match (&self.hosts, &host) {
                (Some(list), Some(h)) => list
                    .iter()
                    .any(|e| e == "*" || e == h || (!e.contains(':') && *e == host_part(h))),
                (Some(list), None) => list.iter().any(|e| e == "*"),
                (None, Some(h)) => !self.loopback_listener || is_loopback_name(&host_part(h)),
                (None, None) => !self.loopback_listener,
            };
        if !host_ok {
            return Err(format!(
                "Host {:?} is not allowed",
                host.unwrap_or_default()
            ));
        }
        // Non-browser clients send no Origin; browsers always do on cross-origin POSTs, which is
        // what a rebinding attack needs.
        let Some(origin) = headers.get(ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
        let ok = origin
            .strip_prefix("http://")
            .is_some_and(|a| is_own(a.trim_end_matches('/')))
            || match &self.origins {
                Some(list) => list.iter().any(|e| e == "*" || *e == origin),
                None => match origin.split_once("://") {
                    Some(("http" | "https", rest)) => is_loopback_name(&host_part(rest)),
                    _ => false,
                },
            };
        if ok {
            Ok(())
        } else {
            Err(format!("Origin {origin:?} is not allowed"))
        }
    }
}

/// `host:port` forms that name the gateway listening on `listen`.
pub(crate) fn own_authorities(listen: SocketAddr) -> Vec<String> {
    let port = listen.port();
    let mut own = vec![listen.to_string()];
    if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        own.push(format!("localhost:{port}"));
        own.push(format!("127.0.0.1:{port}"));
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn loopback_defaults() {
        let p = HostPolicy::new(None, None, true);
        assert!(p.check(&h(&[("host", "127.0.0.1:8080")])).is_ok());
        assert!(p.check(&h(&[("host", "localhost:8080")])).is_ok());
        assert!(p.check(&h(&[("host", "[::1]:8080")])).is_ok());
        assert!(p.check(&h(&[("host", "LOCALHOST")])).is_ok());
        assert!(p.check(&h(&[("host", "evil.example:8080")])).is_err());
        assert!(p.check(&h(&[])).is_err());
        let ok_origin = [
            ("host", "localhost:8080"),
            ("origin", "http://localhost:6274"),
        ];
        assert!(p.check(&h(&ok_origin)).is_ok());
        assert!(
            p.check(&h(&[("host", "localhost"), ("origin", "http://127.0.0.1")]))
                .is_ok()
        );
        for bad in [
            "http://evil.example",
            "null",
            "http://localhost.evil.example",
            "file://",
        ] {
            assert!(
                p.check(&h(&[("host", "localhost"), ("origin", bad)]))
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn public_listener_defaults_accept_any_host_but_not_foreign_origins() {
        let p = HostPolicy::new(None, None, false);
        assert!(p.check(&h(&[("host", "gw.example.com")])).is_ok());
        let r = p.check(&h(&[
            ("host", "gw.example.com"),
            ("origin", "http://evil.example"),
        ]));
        assert!(r.is_err());
    }

    #[test]
    fn the_gateway_own_address_is_always_allowed() {
        let listen: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let origins = ["http://localhost:6274".to_owned()];
        let hosts = ["gw.example.com".to_owned()];
        let p = HostPolicy::new(Some(&origins), Some(&hosts), true);
        for (host, origin) in [
            ("127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            ("localhost:8080", Some("http://localhost:8080")),
            ("127.0.0.1:8080", None),
            ("127.0.0.1:8080", Some("http://localhost:6274")),
        ] {
            let mut pairs = vec![("host", host)];
            pairs.extend(origin.map(|o| ("origin", o)));
            assert!(
                p.check_at(&h(&pairs), &own_authorities(listen)).is_ok(),
                "{host} {origin:?}"
            );
        }
        for (host, origin) in [
            ("127.0.0.1:8080", "http://evil.example:8080"),
            ("evil.example:8080", "http://evil.example:8080"),
            ("evil.example:8080", "http://127.0.0.1:8080"),
            ("127.0.0.1:9090", "http://127.0.0.1:9090"),
        ] {
            assert!(
                p.check_at(
                    &h(&[("host", host), ("origin", origin)]),
                    &own_authorities(listen)
                )
                .is_err(),
                "{host} {origin}"
            );
        }
    }

    #[test]
    fn configured_lists() {
        let origins = ["https://app.example.com/".to_owned()];
        let hosts = ["gw.example.com".to_owned(), "127.0.0.1:8080".to_owned()];
        let p = HostPolicy::new(Some(&origins), Some(&hosts), true);
        assert!(p.check(&h(&[("host", "gw.example.com:443")])).is_ok());
        assert!(p.check(&h(&[("host", "127.0.0.1:8080")])).is_ok());
        assert!(p.check(&h(&[("host", "127.0.0.1:9090")])).is_err());
        assert!(p.check(&h(&[("host", "localhost:8080")])).is_err());
        let o = |origin| h(&[("host", "gw.example.com"), ("origin", origin)]);
        assert!(p.check(&o("https://APP.example.com")).is_ok());
        assert!(p.check(&o("http://app.example.com")).is_err());
        assert!(p.check(&o("http://localhost")).is_err());
        let star = ["*".to_owned()];
        let any = HostPolicy::new(Some(&star), Some(&star), true);
        assert!(
            any.check(&h(&[("host", "x"), ("origin", "http://evil.example")]))
                .is_ok()
        );
    }
}
