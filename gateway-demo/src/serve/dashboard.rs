//! The traffic dashboard: `GET /dashboard` (one self-contained HTML page) and
//! `GET /dashboard/stats` (the JSON it polls), modelled on Gravitee's MCP "API Traffic" screen.
//!
//! The counters live in [`Stats`], fed by [`super::metrics::Metrics::record`] once per finished
//! exchange. Memory is bounded whatever the clients send: time series are fixed rings of
//! [`WINDOW_SECS`] one-second slots, every name map keeps at most [`MAX_NAMES`] distinct names
//! (of at most [`MAX_NAME_BYTES`] bytes) and counts the rest under [`OTHER`], and at most
//! [`MAX_APIS`] APIs are tracked (reloads can rename APIs forever).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hashbrown::HashMap;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Method, StatusCode};
use hyper::body::Incoming;
use serde::Serialize;

use super::Shared;
use super::metrics::Sample;
use super::origin::HostPolicy;
use super::replies::{Resp, full};

/// Seconds of history kept for the charts (10 minutes).
pub(crate) const WINDOW_SECS: usize = 600;
/// Distinct names kept per kind (methods, tools, resources, prompts, error codes...).
pub(crate) const MAX_NAMES: usize = 200;
/// Longer names are cut: 200 names of a megabyte each would still be 200 MB.
pub(crate) const MAX_NAME_BYTES: usize = 256;
/// Distinct APIs tracked; more are counted under [`OTHER`].
pub(crate) const MAX_APIS: usize = 64;
/// The bucket of names that arrived once a map was full.
pub(crate) const OTHER: &str = "(other)";
/// Entries per list in the JSON (the rest is summed into [`OTHER`]).
const TOP: usize = 15;

/// Path of the page.
const PAGE_PATH: &str = "/dashboard";
/// Path of the JSON the page polls.
const STATS_PATH: &str = "/dashboard/stats";

const PAGE: &str = include_str!("dashboard.html");

/// What was counted under one name: every exchange, and how many of them the policy let
/// through or denied (the others were invalid, rejected or failed).
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    count: u64,
    allowed: u64,
    denied: u64,
}

impl Tally {
    fn add(&mut self, decision: &str) {
        self.count += 1;
        match decision {
            "allow" | "pass-through" => self.allowed += 1,
            "deny" => self.denied += 1,
            _ => {}
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.allowed += other.allowed;
        self.denied += other.denied;
    }
}

/// Counts by name, at most [`MAX_NAMES`] of them; later names go to [`OTHER`].
#[derive(Debug, Default)]
struct TopN {
    counts: HashMap<Box<str>, Tally>,
    other: Tally,
}

/// Cuts a name to [`MAX_NAME_BYTES`] on a character boundary.
pub(crate) fn cut(name: &str) -> &str {
    if name.len() <= MAX_NAME_BYTES {
        return name;
    }
    let mut end = MAX_NAME_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

impl TopN {
    /// Counts one exchange under `name`, whose policy decision was `decision`.
    fn add(&mut self, name: &str, decision: &str) {
        let name = cut(name);
        // Looked up first so a known name costs no allocation.
        if let Some(c) = self.counts.get_mut(name) {
            c.add(decision);
        } else if self.counts.len() < MAX_NAMES {
            self.counts.entry(name.into()).or_default().add(decision);
        } else {
            self.other.add(decision);
        }
    }

    /// Adds `other`'s counts, keeping the cap: names that find no place go to [`OTHER`].
    fn merge(&mut self, other: &TopN) {
        for (name, t) in &other.counts {
            if let Some(c) = self.counts.get_mut(name) {
                c.merge(t);
            } else if self.counts.len() < MAX_NAMES {
                self.counts.insert(name.clone(), *t);
            } else {
                self.other.merge(t);
            }
        }
        self.other.merge(&other.other);
    }

    /// The `TOP` largest counts (ties by name), then [`OTHER`] with everything else; with
    /// `split`, each entry tells how many were allowed and denied.
    fn top(&self, split: bool) -> Vec<NameCount> {
        let mut all: Vec<(&str, Tally)> = self.counts.iter().map(|(k, v)| (&**k, *v)).collect();
        all.sort_unstable_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        let mut rest = self.other;
        for (_, t) in all.iter().skip(TOP) {
            rest.merge(t);
        }
        let entry = |name: &str, t: Tally| NameCount {
            name: name.to_owned(),
            count: t.count,
            allowed: split.then_some(t.allowed),
            denied: split.then_some(t.denied),
        };
        let mut out: Vec<NameCount> = all
            .into_iter()
            .take(TOP)
            .map(|(name, t)| entry(name, t))
            .collect();
        if rest.count > 0 {
            out.push(entry(OTHER, rest));
        }
        out
    }
}

/// Latency buckets: 4 per power of two of microseconds (each ~19% wide), up to ~2^27 µs
/// (134 s); the last one takes everything longer. Percentiles are bucket upper bounds.
const LAT_BUCKETS: usize = 4 * 27 + 2;

fn lat_bucket(us: u64) -> usize {
    if us == 0 {
        return 0;
    }
    let i = (4.0 * (us as f64).log2()).floor() as usize + 1;
    i.min(LAT_BUCKETS - 1)
}

fn lat_upper_us(i: usize) -> f64 {
    if i == 0 {
        1.0
    } else {
        2f64.powf(i as f64 / 4.0)
    }
}

#[derive(Debug)]
struct Latency {
    buckets: [u64; LAT_BUCKETS],
    count: u64,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            buckets: [0; LAT_BUCKETS],
            count: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
        }
    }
}

impl Latency {
    fn add(&mut self, us: u64) {
        self.buckets[lat_bucket(us)] += 1;
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
    }

    fn merge(&mut self, other: &Latency) {
        for (b, n) in self.buckets.iter_mut().zip(other.buckets) {
            *b += n;
        }
        self.count += other.count;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                // The bucket bound can lie outside what was seen; the exact extremes are known.
                let us = lat_upper_us(i).clamp(self.min_us as f64, self.max_us as f64);
                return us / 1000.0;
            }
        }
        self.max_us as f64 / 1000.0
    }

    fn summary(&self) -> LatencyJson {
        if self.count == 0 {
            return LatencyJson::default();
        }
        LatencyJson {
            min: self.min_us as f64 / 1000.0,
            avg: self.sum_us as f64 / self.count as f64 / 1000.0,
            max: self.max_us as f64 / 1000.0,
            p50: self.quantile_ms(0.50),
            p90: self.quantile_ms(0.90),
            p99: self.quantile_ms(0.99),
        }
    }
}

/// One second of traffic.
#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    /// Seconds since the gateway started; a slot whose `sec` is not the one asked for is stale.
    sec: u64,
    requests: u32,
    denied: u32,
    invalid: u32,
    errors: u32,
    lat_sum_us: u64,
    lat_max_us: u64,
}

/// Everything counted for one API (or for all of them).
#[derive(Debug)]
struct Agg {
    total: u64,
    decisions: TopN,
    /// JSON-RPC methods, for the exchanges that carried a JSON-RPC message.
    methods: TopN,
    /// HTTP methods of every exchange: POST, and the GET streams and DELETEs that carry no
    /// JSON-RPC message.
    http_methods: TopN,
    /// `tools/call` by tool, with how many the policy allowed and denied.
    tools: TopN,
    resources: TopN,
    prompts: TopN,
    rpc_errors: HashMap<i64, u64>,
    rpc_errors_other: u64,
    /// 1xx..5xx at 1..=5; index 0 for anything else (0 = no response was sent).
    status: [u64; 6],
    latency: Latency,
    ring: Box<[Slot; WINDOW_SECS]>,
}

impl Default for Agg {
    fn default() -> Self {
        Self {
            total: 0,
            decisions: TopN::default(),
            methods: TopN::default(),
            http_methods: TopN::default(),
            tools: TopN::default(),
            resources: TopN::default(),
            prompts: TopN::default(),
            rpc_errors: HashMap::new(),
            rpc_errors_other: 0,
            status: [0; 6],
            latency: Latency::default(),
            ring: Box::new([Slot::default(); WINDOW_SECS]),
        }
    }
}

impl Agg {
    fn add(&mut self, s: &Sample<'_>, sec: u64) {
        self.total += 1;
        self.decisions.add(s.decision, s.decision);
        self.http_methods.add(s.http_method, s.decision);
        if let Some(method) = s.method {
            self.methods.add(method, s.decision);
        }
        if let (Some(method), Some(subject)) = (s.method, s.subject) {
            // Gravitee's MCP analytics name the subject of these three methods only.
            match method {
                "tools/call" => self.tools.add(subject, s.decision),
                "resources/read" => self.resources.add(subject, s.decision),
                "prompts/get" => self.prompts.add(subject, s.decision),
                _ => {}
            }
        }
        if let Some(code) = s.rpc_error {
            self.count_code(code, 1);
        }
        let class = usize::from(s.status / 100);
        self.status[if (1..=5).contains(&class) { class } else { 0 }] += 1;
        let us = u64::try_from(s.latency.as_micros()).unwrap_or(u64::MAX);
        self.latency.add(us);
        let slot = &mut self.ring[(sec % WINDOW_SECS as u64) as usize];
        if slot.sec != sec {
            *slot = Slot {
                sec,
                ..Slot::default()
            };
        }
        slot.requests += 1;
        match s.decision {
            "deny" => slot.denied += 1,
            "invalid" => slot.invalid += 1,
            "error" => slot.errors += 1,
            _ => {}
        }
        slot.lat_sum_us = slot.lat_sum_us.saturating_add(us);
        slot.lat_max_us = slot.lat_max_us.max(us);
    }

    /// Counts `n` answers with JSON-RPC error `code`. A backend can answer with any code: the
    /// map is capped like the name maps.
    fn count_code(&mut self, code: i64, n: u64) {
        if let Some(c) = self.rpc_errors.get_mut(&code) {
            *c += n;
        } else if self.rpc_errors.len() < MAX_NAMES {
            self.rpc_errors.insert(code, n);
        } else {
            self.rpc_errors_other += n;
        }
    }

    /// Adds `other`'s counts (the overall figures are the APIs' summed when asked for, so
    /// each exchange is counted once, not twice).
    fn merge(&mut self, other: &Agg) {
        self.total += other.total;
        self.decisions.merge(&other.decisions);
        self.methods.merge(&other.methods);
        self.http_methods.merge(&other.http_methods);
        self.tools.merge(&other.tools);
        self.resources.merge(&other.resources);
        self.prompts.merge(&other.prompts);
        for (&code, &n) in &other.rpc_errors {
            self.count_code(code, n);
        }
        self.rpc_errors_other += other.rpc_errors_other;
        for (a, b) in self.status.iter_mut().zip(other.status) {
            *a += b;
        }
        self.latency.merge(&other.latency);
        for (mine, theirs) in self.ring.iter_mut().zip(other.ring.iter()) {
            if theirs.requests == 0 {
                continue;
            }
            if mine.requests == 0 || mine.sec < theirs.sec {
                *mine = *theirs;
            } else if mine.sec == theirs.sec {
                mine.requests += theirs.requests;
                mine.denied += theirs.denied;
                mine.invalid += theirs.invalid;
                mine.errors += theirs.errors;
                mine.lat_sum_us = mine.lat_sum_us.saturating_add(theirs.lat_sum_us);
                mine.lat_max_us = mine.lat_max_us.max(theirs.lat_max_us);
            }
        }
    }

    fn slot(&self, sec: u64) -> Slot {
        let s = self.ring[(sec % WINDOW_SECS as u64) as usize];
        if s.sec == sec && s.requests > 0 {
            s
        } else {
            Slot::default()
        }
    }

    fn to_json(&self, name: &str, sessions: usize, now: u64, uptime: Duration) -> AggJson {
        // The current second is still filling: rates use the ten seconds before it.
        let last10: u64 = (now.saturating_sub(10)..now)
            .map(|s| u64::from(self.slot(s).requests))
            .sum();
        let span = now.clamp(1, 10);
        let first = (now + 1).saturating_sub(WINDOW_SECS as u64);
        let slots: Vec<Slot> = (first..=now).map(|s| self.slot(s)).collect();
        let ms = |us: u64| (us as f64 / 10.0).round() / 100.0;
        let mut rpc: Vec<(i64, u64)> = self.rpc_errors.iter().map(|(k, v)| (*k, *v)).collect();
        rpc.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut rpc_errors: Vec<ErrorJson> = rpc
            .into_iter()
            .map(|(code, count)| ErrorJson {
                code: Some(code),
                label: rpc_error_label(code).map_or_else(|| code.to_string(), str::to_owned),
                count,
            })
            .collect();
        if self.rpc_errors_other > 0 {
            rpc_errors.push(ErrorJson {
                code: None,
                label: OTHER.to_owned(),
                count: self.rpc_errors_other,
            });
        }
        let classes = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"];
        AggJson {
            name: name.to_owned(),
            sessions,
            total: self.total,
            rps_10s: last10 as f64 / span as f64,
            rps_avg: self.total as f64 / uptime.as_secs_f64().max(1.0),
            latency_ms: self.latency.summary(),
            decisions: self.decisions.top(false),
            methods: self.methods.top(false),
            http_methods: self.http_methods.top(false),
            tools: self.tools.top(true),
            resources: self.resources.top(false),
            prompts: self.prompts.top(false),
            rpc_errors,
            status_classes: classes
                .iter()
                .zip(self.status)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| NameCount {
                    name: (*c).to_owned(),
                    count: n,
                    allowed: None,
                    denied: None,
                })
                .collect(),
            series: SeriesJson {
                first_sec: first,
                requests: slots.iter().map(|s| s.requests).collect(),
                denied: slots.iter().map(|s| s.denied).collect(),
                invalid: slots.iter().map(|s| s.invalid).collect(),
                errors: slots.iter().map(|s| s.errors).collect(),
                latency_avg_ms: slots
                    .iter()
                    .map(|s| ms(s.lat_sum_us / u64::from(s.requests.max(1))))
                    .collect(),
                latency_max_ms: slots.iter().map(|s| ms(s.lat_max_us)).collect(),
            },
        }
    }
}

/// Gravitee's labels for the JSON-RPC error codes its MCP dashboard names; others show as
/// numbers.
pub(crate) fn rpc_error_label(code: i64) -> Option<&'static str> {
    Some(match code {
        -32700 => "PARSE_ERROR",
        -32600 => "INVALID_REQUEST",
        -32601 => "METHOD_NOT_FOUND",
        -32602 => "INVALID_PARAMS",
        -32603 => "INTERNAL_ERROR",
        -32002 => "RESOURCE_NOT_FOUND",
        _ => return None,
    })
}

/// Dashboard counters per API; the overall figures are their sum, made when the JSON is.
#[derive(Debug)]
pub(crate) struct Stats {
    start: Instant,
    start_wall: SystemTime,
    apis: BTreeMap<Box<str>, Agg>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            start_wall: SystemTime::now(),
            apis: BTreeMap::new(),
        }
    }
}

impl Stats {
    /// Counts one finished exchange now.
    pub(crate) fn record(&mut self, s: &Sample<'_>) {
        let sec = self.start.elapsed().as_secs();
        self.record_at(s, sec);
    }

    /// Counts one finished exchange at `sec` seconds after the start (tests pick the time).
    pub(crate) fn record_at(&mut self, s: &Sample<'_>, sec: u64) {
        let api = cut(s.api);
        if let Some(a) = self.apis.get_mut(api) {
            a.add(s, sec);
        } else if self.apis.len() < MAX_APIS {
            self.apis.entry(api.into()).or_default().add(s, sec);
        } else {
            self.apis.entry(OTHER.into()).or_default().add(s, sec);
        }
    }

    /// Every API's counts summed. Counting each exchange into an overall aggregate as well
    /// as its API's was ~800 instructions per proxied request; this runs per poll of the page.
    fn overall(&self) -> Agg {
        let mut all = Agg::default();
        for a in self.apis.values() {
            all.merge(a);
        }
        all
    }

    /// The JSON of `/dashboard/stats`; `sessions` is the number of live sessions per API.
    pub(crate) fn to_json(&self, sessions: &BTreeMap<String, usize>) -> String {
        let uptime = self.start.elapsed();
        self.to_json_at(sessions, uptime.as_secs(), uptime)
    }

    fn to_json_at(&self, sessions: &BTreeMap<String, usize>, now: u64, uptime: Duration) -> String {
        let start_unix = self
            .start_wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let out = StatsJson {
            start_unix,
            uptime_s: uptime.as_secs_f64(),
            now_sec: now,
            window_s: WINDOW_SECS,
            overall: self
                .overall()
                .to_json("all", sessions.values().sum(), now, uptime),
            apis: self
                .apis
                .iter()
                .map(|(name, a)| {
                    let n = sessions.get(&**name).copied().unwrap_or(0);
                    a.to_json(name, n, now, uptime)
                })
                .collect(),
        };
        serde_json::to_string(&out).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[derive(Debug, Serialize)]
struct NameCount {
    name: String,
    count: u64,
    /// Of `count`, those the policy let through (`allow`, `pass-through`); tools only.
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed: Option<u64>,
    /// Of `count`, those the policy denied; tools only.
    #[serde(skip_serializing_if = "Option::is_none")]
    denied: Option<u64>,
}

#[derive(Debug, Serialize)]
struct ErrorJson {
    /// `None` for the [`OTHER`] bucket.
    code: Option<i64>,
    label: String,
    count: u64,
}

#[derive(Debug, Default, Serialize)]
struct LatencyJson {
    min: f64,
    avg: f64,
    max: f64,
    p50: f64,
    p90: f64,
    p99: f64,
}

#[derive(Debug, Serialize)]
struct SeriesJson {
    /// Second (since `start_unix`) of the first element; one element per second up to `now_sec`.
    first_sec: u64,
    requests: Vec<u32>,
    denied: Vec<u32>,
    invalid: Vec<u32>,
    errors: Vec<u32>,
    latency_avg_ms: Vec<f64>,
    latency_max_ms: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct AggJson {
    name: String,
    sessions: usize,
    total: u64,
    rps_10s: f64,
    rps_avg: f64,
    latency_ms: LatencyJson,
    decisions: Vec<NameCount>,
    methods: Vec<NameCount>,
    http_methods: Vec<NameCount>,
    tools: Vec<NameCount>,
    resources: Vec<NameCount>,
    prompts: Vec<NameCount>,
    rpc_errors: Vec<ErrorJson>,
    status_classes: Vec<NameCount>,
    series: SeriesJson,
}

#[derive(Debug, Serialize)]
struct StatsJson {
    start_unix: f64,
    uptime_s: f64,
    now_sec: u64,
    window_s: usize,
    overall: AggJson,
    apis: Vec<AggJson>,
}

fn plain(status: StatusCode, text: &'static str) -> Resp {
    let mut r = http::Response::new(full(text));
    *r.status_mut() = status;
    r
}

/// The dashboard's answer to a request for one of its paths; `None` for any other request.
pub(crate) fn serve(shared: &Shared, req: &http::Request<Incoming>) -> Option<Resp> {
    let path = req.uri().path();
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    if path != PAGE_PATH && path != STATS_PATH {
        return None;
    }
    let rt = shared.runtime();
    // An empty `metrics_path` turns the observability endpoints off; an API configured at one
    // of these paths keeps it.
    if rt.config.metrics_path.is_empty() || rt.api_for_path(path).is_some() {
        return None;
    }
    // The same DNS-rebinding protection as the APIs: the page shows tool names and traffic.
    // Every API shares the listener, so a request any of them would accept is accepted.
    let allowed = if rt.apis.is_empty() {
        HostPolicy::new(None, None, rt.config.listen.ip().is_loopback())
            .check_at(req.headers(), &shared.own_authorities)
            .is_ok()
    } else {
        rt.apis.iter().any(|a| {
            a.hosts
                .check_at(req.headers(), &shared.own_authorities)
                .is_ok()
        })
    };
    if !allowed {
        return Some(plain(StatusCode::FORBIDDEN, "Forbidden: Origin or Host\n"));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed\n");
        r.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(r);
    }
    let (body, ctype) = if path == PAGE_PATH {
        (
            Bytes::from_static(PAGE.as_bytes()),
            "text/html; charset=utf-8",
        )
    } else {
        // Exchanges that ended are counted in the log flusher's batches: count them now.
        super::log::flush();
        (
            Bytes::from(shared.metrics.dashboard_json(&shared.session_counts())),
            "application/json",
        )
    };
    let mut r = http::Response::new(full(body));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // The page needs nothing from elsewhere; the browser enforces that (and no framing).
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exchange; `method` is an HTTP verb for the exchanges without a JSON-RPC message
    /// (`GET`, `DELETE`, an unreadable `POST`), else the JSON-RPC method of a `POST`.
    fn sample<'a>(
        api: &'a str,
        method: &'a str,
        subject: Option<&'a str>,
        decision: &'a str,
        status: u16,
        rpc_error: Option<i64>,
        ms: u64,
    ) -> Sample<'a> {
        let verb = ["GET", "POST", "DELETE"].contains(&method);
        Sample {
            api,
            http_method: if verb { method } else { "POST" },
            method: (!verb).then_some(method),
            subject,
            status,
            decision,
            rpc_error,
            latency: Duration::from_millis(ms),
        }
    }

    fn json(s: &Stats, now: u64) -> serde_json::Value {
        let text = s.to_json_at(&BTreeMap::new(), now, Duration::from_secs(now + 1));
        serde_json::from_str(&text).unwrap()
    }

    fn count(list: &serde_json::Value, name: &str) -> u64 {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name || e["label"] == name)
            .map_or(0, |e| e["count"].as_u64().unwrap())
    }

    #[test]
    fn counts_by_kind_decision_code_and_class() {
        let mut s = Stats::default();
        let ex = [
            sample("a", "tools/call", Some("echo"), "allow", 200, None, 2),
            sample("a", "tools/call", Some("echo"), "allow", 200, None, 4),
            sample(
                "a",
                "tools/call",
                Some("get-env"),
                "deny",
                200,
                Some(-32602),
                1,
            ),
            sample(
                "a",
                "resources/read",
                Some("file:///x"),
                "allow",
                200,
                None,
                3,
            ),
            sample(
                "b",
                "prompts/get",
                Some("p"),
                "allow",
                200,
                Some(-32002),
                10,
            ),
            sample("b", "tools/list", Some("ignored"), "allow", 200, None, 1),
            sample("b", "other", None, "invalid", 400, Some(-32700), 1),
            sample("b", "POST", None, "error", 502, Some(-1234), 100),
        ];
        for (i, e) in ex.iter().enumerate() {
            s.record_at(e, 700 + i as u64 % 2);
        }
        let j = json(&s, 701);
        let all = &j["overall"];
        assert_eq!(all["total"], 8);
        assert_eq!(count(&all["methods"], "tools/call"), 3);
        assert_eq!(count(&all["tools"], "echo"), 2);
        assert_eq!(count(&all["tools"], "get-env"), 1);
        assert_eq!(count(&all["tools"], "ignored"), 0);
        assert_eq!(count(&all["resources"], "file:///x"), 1);
        assert_eq!(count(&all["prompts"], "p"), 1);
        assert_eq!(count(&all["decisions"], "deny"), 1);
        assert_eq!(count(&all["decisions"], "allow"), 5);
        assert_eq!(count(&all["rpc_errors"], "INVALID_PARAMS"), 1);
        assert_eq!(count(&all["rpc_errors"], "RESOURCE_NOT_FOUND"), 1);
        assert_eq!(count(&all["rpc_errors"], "PARSE_ERROR"), 1);
        assert_eq!(count(&all["rpc_errors"], "-1234"), 1);
        assert_eq!(count(&all["status_classes"], "2xx"), 6);
        assert_eq!(count(&all["status_classes"], "4xx"), 1);
        assert_eq!(count(&all["status_classes"], "5xx"), 1);
        let lat = &all["latency_ms"];
        assert_eq!(lat["min"], 1.0);
        assert_eq!(lat["max"], 100.0);
        assert!((lat["avg"].as_f64().unwrap() - 122.0 / 8.0).abs() < 1e-9);
        let p50 = lat["p50"].as_f64().unwrap();
        assert!((2.0..=2.4).contains(&p50), "{p50}");
        assert_eq!(lat["p99"], 100.0);
        let series = &all["series"];
        let req = series["requests"].as_array().unwrap();
        assert_eq!(req.len(), WINDOW_SECS);
        assert_eq!(series["first_sec"], 701 + 1 - WINDOW_SECS as u64);
        assert_eq!(req[WINDOW_SECS - 2], 4);
        assert_eq!(req[WINDOW_SECS - 1], 4);
        let denied: u64 = series["denied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(denied, 1);
        // Per API.
        let apis = j["apis"].as_array().unwrap();
        assert_eq!(apis.len(), 2);
        assert_eq!(apis[0]["name"], "a");
        assert_eq!(apis[0]["total"], 4);
        assert_eq!(apis[1]["total"], 4);
        assert_eq!(count(&apis[1]["tools"], "echo"), 0);
    }

    #[test]
    fn tools_tell_allowed_from_denied_and_http_verbs_stay_apart() {
        let mut s = Stats::default();
        let call = |tool, decision| sample("a", "tools/call", Some(tool), decision, 200, None, 1);
        let ex = [
            call("echo", "allow"),
            call("echo", "allow"),
            call("echo", "pass-through"),
            call("echo", "error"),
            call("get-env", "deny"),
            call("get-env", "deny"),
            call("get-env", "invalid"),
            sample("a", "GET", None, "allow", 200, None, 1),
            sample("a", "DELETE", None, "allow", 200, None, 1),
            sample("a", "tools/list", None, "allow", 200, None, 1),
        ];
        for e in &ex {
            s.record_at(e, 1);
        }
        let j = json(&s, 1);
        let tools = j["overall"]["tools"].as_array().unwrap();
        assert_eq!(
            tools[0],
            serde_json::json!({"name": "echo", "count": 4, "allowed": 3, "denied": 0})
        );
        assert_eq!(
            tools[1],
            serde_json::json!({"name": "get-env", "count": 3, "allowed": 0, "denied": 2})
        );
        assert_eq!(tools.len(), 2);
        // Only tools carry the split.
        assert!(j["overall"]["methods"][0].get("allowed").is_none());
        let methods = &j["overall"]["methods"];
        assert_eq!(count(methods, "tools/call"), 7);
        assert_eq!(count(methods, "tools/list"), 1);
        assert_eq!(count(methods, "GET"), 0, "HTTP verbs are not MCP methods");
        assert_eq!(methods.as_array().unwrap().len(), 2);
        let http = &j["overall"]["http_methods"];
        assert_eq!(count(http, "POST"), 8);
        assert_eq!(count(http, "GET"), 1);
        assert_eq!(count(http, "DELETE"), 1);
    }

    #[test]
    fn tools_past_the_cap_keep_their_split_in_other() {
        let mut s = Stats::default();
        for i in 0..MAX_NAMES + TOP + 5 {
            let name = format!("t{i}");
            let decision = if i % 2 == 0 { "allow" } else { "deny" };
            s.record_at(
                &sample("a", "tools/call", Some(&name), decision, 200, None, 1),
                1,
            );
        }
        let j = json(&s, 1);
        let tools = j["overall"]["tools"].as_array().unwrap();
        assert_eq!(tools.len(), TOP + 1);
        let other = &tools[TOP];
        assert_eq!(other["name"], OTHER);
        // Ties go by name: the top 15 are the first 15 kept names in text order.
        let mut kept: Vec<String> = (0..MAX_NAMES).map(|i| format!("t{i}")).collect();
        kept.sort();
        let top: Vec<&String> = kept.iter().take(TOP).collect();
        for (entry, name) in tools.iter().zip(&top) {
            assert_eq!(&entry["name"], name.as_str());
        }
        let rest = (MAX_NAMES + 5) as u64;
        assert_eq!(other["count"], rest);
        let denied = (0..MAX_NAMES + TOP + 5)
            .filter(|i| i % 2 == 1 && !top.contains(&&format!("t{i}")))
            .count() as u64;
        assert_eq!(other["denied"], denied);
        assert_eq!(other["allowed"], rest - denied);
    }

    #[test]
    fn old_seconds_leave_the_window() {
        let mut s = Stats::default();
        s.record_at(&sample("a", "ping", None, "allow", 200, None, 1), 5);
        s.record_at(&sample("a", "ping", None, "allow", 200, None, 1), 5 + 600);
        let j = json(&s, 5 + 600);
        let req = j["overall"]["series"]["requests"].as_array().unwrap();
        assert_eq!(req.iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 1);
        assert_eq!(j["overall"]["total"], 2);
        // The rate looks at the ten seconds before the current one.
        for sec in 700..710 {
            s.record_at(&sample("a", "ping", None, "allow", 200, None, 1), sec);
            s.record_at(&sample("a", "ping", None, "allow", 200, None, 1), sec);
        }
        assert_eq!(json(&s, 710)["overall"]["rps_10s"], 2.0);
        assert_eq!(json(&s, 720)["overall"]["rps_10s"], 0.0);
    }

    #[test]
    fn bounded_under_ten_thousand_distinct_names() {
        let mut s = Stats::default();
        let long = "x".repeat(100_000);
        let mut methods = TopN::default();
        for i in 0..10_000u64 {
            let name = format!("tool-{i}-{}", if i % 100 == 0 { &long } else { "" });
            let api = format!("api-{i}");
            let subject = Some(name.as_str());
            let ex = sample(&api, "tools/call", subject, &name, 200, Some(i as i64), 1);
            s.record_at(&ex, i);
            // Metrics hands over bounded method labels, but the map does not rely on it.
            methods.add(&name, "allow");
        }
        let overall = s.overall();
        let caps = [&overall.tools, &methods, &overall.decisions];
        for m in caps {
            assert_eq!(m.counts.len(), MAX_NAMES);
            assert_eq!(m.other.count, 10_000 - MAX_NAMES as u64);
            assert!(m.counts.keys().all(|k| k.len() <= MAX_NAME_BYTES));
        }
        assert_eq!(overall.rpc_errors.len(), MAX_NAMES);
        assert_eq!(overall.rpc_errors_other, 10_000 - MAX_NAMES as u64);
        assert_eq!(s.apis.len(), MAX_APIS + 1);
        assert_eq!(s.apis[OTHER].total, 10_000 - MAX_APIS as u64);
        let j = json(&s, 9_999);
        let tools = j["overall"]["tools"].as_array().unwrap();
        assert_eq!(tools.len(), TOP + 1);
        let sum: u64 = tools.iter().map(|e| e["count"].as_u64().unwrap()).sum();
        assert_eq!(sum, 10_000, "nothing is lost, the rest is in (other)");
        assert_eq!(tools[TOP]["name"], OTHER);
        // The JSON stays small too.
        let text = s.to_json_at(&BTreeMap::new(), 9_999, Duration::from_secs(10_000));
        assert!(text.len() < 2_000_000, "{}", text.len());
    }

    #[test]
    fn overall_series_sum_the_apis_and_drop_their_stale_seconds() {
        let mut s = Stats::default();
        s.record_at(&sample("a", "ping", None, "deny", 200, None, 4), 5);
        s.record_at(&sample("a", "ping", None, "allow", 200, None, 2), 605);
        s.record_at(&sample("b", "ping", None, "deny", 200, None, 8), 605);
        // Same ring place as 605, ten minutes older: gone from the window.
        s.record_at(&sample("c", "ping", None, "allow", 200, None, 1), 5);
        let j = json(&s, 605);
        let series = &j["overall"]["series"];
        let req = series["requests"].as_array().unwrap();
        assert_eq!(req.last().unwrap(), 2);
        assert_eq!(req.iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 2);
        assert_eq!(series["denied"].as_array().unwrap().last().unwrap(), 1);
        assert_eq!(
            series["latency_avg_ms"].as_array().unwrap().last().unwrap(),
            5.0
        );
        assert_eq!(
            series["latency_max_ms"].as_array().unwrap().last().unwrap(),
            8.0
        );
        assert_eq!(j["overall"]["total"], 4);
        assert_eq!(j["overall"]["latency_ms"]["min"], 1.0);
    }

    #[test]
    fn series_start_at_the_start() {
        let mut s = Stats::default();
        s.record_at(&sample("a", "ping", None, "allow", 200, None, 1), 3);
        let j = json(&s, 9);
        let req = j["overall"]["series"]["requests"].as_array().unwrap();
        assert_eq!(req.len(), 10);
        assert_eq!(req[3], 1);
        assert_eq!(j["overall"]["series"]["first_sec"], 0);
    }

    #[test]
    fn cut_respects_char_boundaries() {
        let s = "é".repeat(MAX_NAME_BYTES);
        let c = cut(&s);
        assert!(c.len() <= MAX_NAME_BYTES && c.len() >= MAX_NAME_BYTES - 1);
        assert_eq!(cut("short"), "short");
    }

    #[test]
    fn labels_like_gravitee() {
        assert_eq!(rpc_error_label(-32700), Some("PARSE_ERROR"));
        assert_eq!(rpc_error_label(-32600), Some("INVALID_REQUEST"));
        assert_eq!(rpc_error_label(-32601), Some("METHOD_NOT_FOUND"));
        assert_eq!(rpc_error_label(-32602), Some("INVALID_PARAMS"));
        assert_eq!(rpc_error_label(-32603), Some("INTERNAL_ERROR"));
        assert_eq!(rpc_error_label(-32002), Some("RESOURCE_NOT_FOUND"));
        assert_eq!(rpc_error_label(-32001), None);
    }

    #[test]
    fn latency_buckets_are_monotonic_and_tight() {
        for us in [1u64, 2, 3, 10, 999, 1000, 1001, 123_456, 10_000_000] {
            let i = lat_bucket(us);
            assert!(lat_upper_us(i) >= us as f64, "{us}");
            assert!(lat_upper_us(i) <= us as f64 * 1.19 + 1.0, "{us}");
        }
        assert_eq!(lat_bucket(u64::MAX), LAT_BUCKETS - 1);
    }
}
