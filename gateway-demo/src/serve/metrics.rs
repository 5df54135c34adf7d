//! Prometheus text exposition of the gateway's counters.
//!
//! Every label value is bounded: methods are the MCP catalogue's names, HTTP methods the verbs
//! the MCP endpoint serves, decisions the gateway's words; tool names and JSON-RPC error codes,
//! which clients and backends choose, are capped at [`MAX_NAMES`] distinct values per API and
//! the rest counted under [`OTHER`].

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use super::dashboard::{MAX_NAMES, OTHER, Stats, cut};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `method` label of an exchange that carried no JSON-RPC message (a GET stream, a DELETE).
const NO_METHOD: &str = "(none)";

/// One latency histogram.
#[derive(Debug, Default)]
struct Histogram {
    /// Exchanges by the first bucket they fit, not cumulative (summed when rendered): one
    /// increment per exchange instead of one per bucket.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters by a label value chosen by clients or backends, at most [`MAX_NAMES`] distinct
/// values; values first seen after that share `other`.
#[derive(Debug)]
struct Capped<K, V> {
    counts: BTreeMap<K, V>,
    other: V,
}

impl<K, V: Default> Default for Capped<K, V> {
    fn default() -> Self {
        Self {
            counts: BTreeMap::new(),
            other: V::default(),
        }
    }
}

/// Counts by decision, indexed as [`DECISIONS`].
type ByDecision = [u64; DECISIONS.len()];

/// The counters of one API. The bounded labels are keyed by their index in their fixed set
/// ([`HTTP_METHODS`], `mcp::CATALOGUE` for methods, [`DECISIONS`]): maps keyed by the label
/// text compared strings, most of the cost of counting an exchange. Counting the usual
/// exchange allocates nothing.
#[derive(Debug, Default)]
struct ApiCounters {
    /// (HTTP method, method, status, decision) → exchanges.
    requests: BTreeMap<(u8, u8, u16, u8), u64>,
    /// By (HTTP method, method).
    latency: BTreeMap<(u8, u8), Histogram>,
    /// By decision.
    decisions: ByDecision,
    /// `tools/call` by tool name, then decision.
    tools: Capped<Box<str>, ByDecision>,
    /// Answers that were JSON-RPC errors, by code.
    rpc_errors: Capped<i64, u64>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By API name; looked up by `&str`, so only a new API allocates.
    apis: BTreeMap<Box<str>, ApiCounters>,
    /// Behind the same lock: one lock per exchange, not two.
    dashboard: Stats,
}

/// One finished exchange, as counted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample<'a> {
    /// API name.
    pub(crate) api: &'a str,
    /// HTTP method of the request (`POST`; `GET` for a session stream, `DELETE` to end one).
    pub(crate) http_method: &'a str,
    /// JSON-RPC method of the first message, when the request carried one.
    pub(crate) method: Option<&'a str>,
    /// Tool name, resource URI or prompt name, as the log line has it.
    pub(crate) subject: Option<&'a str>,
    /// HTTP status sent to the client (0: none was).
    pub(crate) status: u16,
    /// `allow`, `pass-through`, `deny`, `invalid`, `error`, `reject`.
    pub(crate) decision: &'a str,
    /// JSON-RPC error code of the answer, when it was an error.
    pub(crate) rpc_error: Option<i64>,
    /// From the request to the end of the response.
    pub(crate) latency: Duration,
}

/// Counters by API, HTTP method, method, status and decision, by tool and by JSON-RPC error
/// code, and a latency histogram by API, HTTP method and method; plus the dashboard's bounded
/// aggregates ([`Stats`]).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

/// The `method` label of a method outside the catalogue, as an index (past the catalogue's).
const OTHER_METHOD: u8 = u8::MAX - 1;
/// The `method` label of an exchange without a JSON-RPC message, as an index.
const NONE_METHOD: u8 = u8::MAX;

/// Keeps label cardinality bounded: a client can send any method name, but only the MCP
/// catalogue's names become label values. The index is the method's place in
/// `mcp::CATALOGUE`, which lists every variant in declaration order.
fn method_index(method: Option<&str>) -> u8 {
    match method {
        None => NONE_METHOD,
        Some(m) => mcp_policy::mcp::Method::from_name(m).map_or(OTHER_METHOD, |m| m as u8),
    }
}

/// The label text of a [`method_index`].
fn method_label(i: u8) -> &'static str {
    match mcp_policy::mcp::CATALOGUE.get(usize::from(i)) {
        Some(info) => info.name,
        None if i == NONE_METHOD => NO_METHOD,
        None => "other",
    }
}

/// The verbs of the MCP endpoint; any other verb counts as `other`.
const HTTP_METHODS: [&str; 4] = ["DELETE", "GET", "POST", "other"];

/// The index in [`HTTP_METHODS`] of the label of `method`.
fn http_method_index(method: &str) -> u8 {
    match method {
        "DELETE" => 0,
        "GET" => 1,
        "POST" => 2,
        _ => 3,
    }
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The decision words the gateway uses (anything else counts as `other`).
const DECISIONS: [&str; 7] = [
    "allow",
    "deny",
    "error",
    "invalid",
    "other",
    "pass-through",
    "reject",
];

/// The index in [`DECISIONS`] of the label of `decision`.
fn decision_index(decision: &str) -> u8 {
    match decision {
        "allow" => 0,
        "deny" => 1,
        "error" => 2,
        "invalid" => 3,
        "pass-through" => 5,
        "reject" => 6,
        _ => 4,
    }
}

/// The label at index `i` of a fixed label set.
fn label(set: &[&'static str], i: u8) -> &'static str {
    set.get(usize::from(i)).copied().unwrap_or("other")
}

/// The decisions counted in `counts`, with their counts (those never seen are left out).
fn seen(counts: &ByDecision) -> impl Iterator<Item = (&'static str, u64)> + '_ {
    DECISIONS
        .iter()
        .zip(counts)
        .filter(|&(_, &n)| n > 0)
        .map(|(&d, &n)| (d, n))
}

impl<K: Ord, V: Default> Capped<K, V> {
    /// The counter of `key`: a new key takes a place while fewer than [`MAX_NAMES`] are taken,
    /// after that it shares `other`. `own` makes the key, only when it is new.
    fn get<Q>(&mut self, key: &Q, own: impl FnOnce(&Q) -> K) -> &mut V
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let known = self.counts.contains_key(key);
        if !known {
            if self.counts.len() >= MAX_NAMES {
                return &mut self.other;
            }
            self.counts.insert(own(key), V::default());
        }
        match self.counts.get_mut(key) {
            Some(v) => v,
            None => &mut self.other,
        }
    }
}

impl Metrics {
    /// Counts one finished exchange.
    pub(crate) fn record(&self, sample: &Sample<'_>) {
        let Sample {
            api,
            status,
            decision,
            latency,
            ..
        } = *sample;
        let method = method_index(sample.method);
        let http_method = http_method_index(sample.http_method);
        let decision = decision_index(decision);
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        // The dashboard gets the bounded labels too, so its method lists cannot be flooded.
        inner.dashboard.record(&Sample {
            method: sample.method.map(|_| method_label(method)),
            http_method: label(&HTTP_METHODS, http_method),
            ..*sample
        });
        let counters = match inner.apis.get_mut(api) {
            Some(c) => c,
            None => inner.apis.entry(api.into()).or_default(),
        };
        *counters
            .requests
            .entry((http_method, method, status, decision))
            .or_default() += 1;
        let d = usize::from(decision);
        if let Some(n) = counters.decisions.get_mut(d) {
            *n += 1;
        }
        if method == mcp_policy::mcp::Method::ToolsCall as u8
            && let Some(tool) = sample.subject
        {
            let tool = cut(tool);
            // A tool really named like the overflow bucket joins it: one series per label set.
            let by_decision = if tool == OTHER {
                &mut counters.tools.other
            } else {
                counters.tools.get(tool, |t| Box::from(t))
            };
            if let Some(n) = by_decision.get_mut(d) {
                *n += 1;
            }
        }
        if let Some(code) = sample.rpc_error {
            *counters.rpc_errors.get(&code, |c| *c) += 1;
        }
        let h = counters.latency.entry((http_method, method)).or_default();
        let secs = latency.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|le| secs <= *le) {
            h.buckets[i] += 1;
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The JSON of `/dashboard/stats`; `sessions` is the number of live sessions per API.
    pub(crate) fn dashboard_json(&self, sessions: &BTreeMap<String, usize>) -> String {
        match self.inner.lock() {
            Ok(inner) => inner.dashboard.to_json(sessions),
            Err(_) => "{}".to_owned(),
        }
    }

    /// The exposition text; `sessions` is the number of live sessions per API.
    pub(crate) fn render(&self, sessions: &BTreeMap<String, usize>) -> String {
        let mut out = String::new();
        let Ok(inner) = self.inner.lock() else {
            return out;
        };
        let apis = || inner.apis.iter().map(|(api, c)| (escape(api), c));
        out.push_str(
            "# HELP mcp_gateway_requests_total Client exchanges by API, HTTP method (http_method: \
             POST; GET opens a session's stream, DELETE ends a session), JSON-RPC method \
             (method: MCP catalogue names, \"other\" for unknown ones, \"(none)\" when the \
             request carried no JSON-RPC message), HTTP status and decision.\n\
             # TYPE mcp_gateway_requests_total counter\n",
        );
        for (api, c) in apis() {
            for (&(http_method, method, status, decision), n) in &c.requests {
                let _ = writeln!(
                    out,
                    "mcp_gateway_requests_total{{api=\"{api}\",http_method=\"{}\",\
                     method=\"{}\",status=\"{status}\",decision=\"{}\"}} {n}",
                    label(&HTTP_METHODS, http_method),
                    escape(method_label(method)),
                    label(&DECISIONS, decision),
                );
            }
        }
        out.push_str(
            "# HELP mcp_gateway_decisions_total Client exchanges by API and decision (allow, \
             pass-through, deny, invalid, reject, error).\n\
             # TYPE mcp_gateway_decisions_total counter\n",
        );
        for (api, c) in apis() {
            for (decision, n) in seen(&c.decisions) {
                let _ = writeln!(
                    out,
                    "mcp_gateway_decisions_total{{api=\"{api}\",decision=\"{decision}\"}} {n}"
                );
            }
        }
        let _ = write!(
            out,
            "# HELP mcp_gateway_tool_calls_total tools/call exchanges by API, tool name and \
             decision. At most {MAX_NAMES} distinct tools per API (names cut to {} bytes); \
             calls of tools first seen after that are counted under tool=\"{OTHER}\".\n\
             # TYPE mcp_gateway_tool_calls_total counter\n",
            super::dashboard::MAX_NAME_BYTES
        );
        for (api, c) in apis() {
            let tools = c.tools.counts.iter().map(|(t, d)| (escape(t), d));
            for (tool, by_decision) in tools.chain(Some((OTHER.to_owned(), &c.tools.other))) {
                for (decision, n) in seen(by_decision) {
                    let _ = writeln!(
                        out,
                        "mcp_gateway_tool_calls_total{{api=\"{api}\",tool=\"{tool}\",\
                         decision=\"{decision}\"}} {n}"
                    );
                }
            }
        }
        let _ = write!(
            out,
            "# HELP mcp_gateway_rpc_errors_total Answers that were JSON-RPC errors, by API and \
             error code. At most {MAX_NAMES} distinct codes per API; codes first seen after \
             that are counted under code=\"{OTHER}\".\n\
             # TYPE mcp_gateway_rpc_errors_total counter\n"
        );
        for (api, c) in apis() {
            for (code, n) in &c.rpc_errors.counts {
                let _ = writeln!(
                    out,
                    "mcp_gateway_rpc_errors_total{{api=\"{api}\",code=\"{code}\"}} {n}"
                );
            }
            if c.rpc_errors.other > 0 {
                let _ = writeln!(
                    out,
                    "mcp_gateway_rpc_errors_total{{api=\"{api}\",code=\"{OTHER}\"}} {}",
                    c.rpc_errors.other
                );
            }
        }
        out.push_str(
            "# HELP mcp_gateway_request_duration_seconds Time from request to the end of the \
             response (streams included), by API, HTTP method and JSON-RPC method (labels as \
             in mcp_gateway_requests_total).\n\
             # TYPE mcp_gateway_request_duration_seconds histogram\n",
        );
        for (api, c) in apis() {
            for (&(http_method, method), h) in &c.latency {
                let labels = format!(
                    "api=\"{api}\",http_method=\"{}\",method=\"{}\"",
                    label(&HTTP_METHODS, http_method),
                    escape(method_label(method))
                );
                let mut below = 0;
                for (le, n) in BUCKETS.iter().zip(h.buckets) {
                    below += n;
                    let _ = writeln!(
                        out,
                        "mcp_gateway_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {below}"
                    );
                }
                let _ = writeln!(
                    out,
                    "mcp_gateway_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                     mcp_gateway_request_duration_seconds_sum{{{labels}}} {}\n\
                     mcp_gateway_request_duration_seconds_count{{{labels}}} {}",
                    h.count, h.sum, h.count
                );
            }
        }
        out.push_str(
            "# HELP mcp_gateway_sessions Live MCP sessions.\n# TYPE mcp_gateway_sessions gauge\n",
        );
        for (api, n) in sessions {
            let _ = writeln!(out, "mcp_gateway_sessions{{api=\"{}\"}} {n}", escape(api));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `POST` whose JSON-RPC method is `method` (`None`: a `GET` or `DELETE`, in `verb`).
    fn sample<'a>(
        verb: &'a str,
        method: Option<&'a str>,
        subject: Option<&'a str>,
        status: u16,
        decision: &'a str,
        rpc_error: Option<i64>,
        ms: u64,
    ) -> Sample<'a> {
        Sample {
            api: "a",
            http_method: verb,
            method,
            subject,
            status,
            decision,
            rpc_error,
            latency: Duration::from_millis(ms),
        }
    }

    fn call<'a>(tool: &'a str, decision: &'a str) -> Sample<'a> {
        let code = (decision == "deny").then_some(-32602);
        sample(
            "POST",
            Some("tools/call"),
            Some(tool),
            200,
            decision,
            code,
            1,
        )
    }

    /// The value of the one line that starts with `series ` (labels included).
    fn value(text: &str, series: &str) -> Option<f64> {
        let mut found = text
            .lines()
            .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '));
        let v = found.next()?.parse().ok();
        assert!(found.next().is_none(), "{series} appears twice");
        v
    }

    #[test]
    fn label_indices_read_back_as_their_labels() {
        for info in mcp_policy::mcp::CATALOGUE {
            assert_eq!(method_label(method_index(Some(info.name))), info.name);
        }
        assert!(mcp_policy::mcp::CATALOGUE.len() < usize::from(OTHER_METHOD));
        assert_eq!(method_label(method_index(Some("made/up"))), "other");
        assert_eq!(method_label(method_index(None)), NO_METHOD);
        for (i, verb) in HTTP_METHODS.iter().enumerate() {
            assert_eq!(usize::from(http_method_index(verb)), i);
        }
        assert_eq!(label(&HTTP_METHODS, http_method_index("PUT")), "other");
        for (i, d) in DECISIONS.iter().enumerate() {
            assert_eq!(usize::from(decision_index(d)), i);
        }
        assert_eq!(label(&DECISIONS, decision_index("maybe")), "other");
    }

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        let tc = Some("tools/call");
        m.record(&sample("POST", tc, Some("echo"), 200, "allow", None, 3));
        m.record(&sample("POST", tc, Some("echo"), 200, "allow", None, 30));
        m.record(&sample("POST", Some("made/up"), None, 403, "deny", None, 1));
        let text = m.render(&BTreeMap::from([("a".to_owned(), 2)]));
        assert!(text.contains(
            "mcp_gateway_requests_total{api=\"a\",http_method=\"POST\",method=\"tools/call\",\
             status=\"200\",decision=\"allow\"} 2"
        ));
        assert!(text.contains("method=\"other\",status=\"403\""));
        assert!(text.contains(
            "mcp_gateway_request_duration_seconds_bucket{api=\"a\",http_method=\"POST\",\
             method=\"tools/call\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "mcp_gateway_request_duration_seconds_count{api=\"a\",http_method=\"POST\",\
             method=\"tools/call\"} 2"
        ));
        assert!(text.contains("mcp_gateway_sessions{api=\"a\"} 2"));
        for family in [
            "requests_total counter",
            "decisions_total counter",
            "tool_calls_total counter",
            "rpc_errors_total counter",
            "request_duration_seconds histogram",
            "sessions gauge",
        ] {
            let name = family.split(' ').next().unwrap();
            assert!(
                text.contains(&format!("# TYPE mcp_gateway_{family}\n")),
                "{family}"
            );
            assert!(
                text.contains(&format!("# HELP mcp_gateway_{name} ")),
                "{family}"
            );
        }
        // The dashboard saw the same exchanges, with the same bounded method label.
        let j: serde_json::Value =
            serde_json::from_str(&m.dashboard_json(&BTreeMap::new())).unwrap();
        assert_eq!(j["overall"]["total"], 3);
        assert_eq!(j["overall"]["tools"][0]["name"], "echo");
        assert_eq!(j["overall"]["tools"][0]["count"], 2);
        assert_eq!(j["overall"]["methods"][1]["name"], "other");
    }

    #[test]
    fn http_verbs_are_not_methods() {
        let m = Metrics::default();
        m.record(&sample("GET", None, None, 200, "allow", None, 2_000));
        m.record(&sample("DELETE", None, None, 200, "allow", None, 1));
        m.record(&sample(
            "DELETE",
            None,
            None,
            404,
            "reject",
            Some(-32001),
            1,
        ));
        m.record(&sample("PUT", None, None, 405, "reject", Some(-32000), 1));
        m.record(&sample("POST", Some("GET"), None, 200, "allow", None, 1));
        let text = m.render(&BTreeMap::new());
        let req = |verb: &str, method: &str, status: u16, decision: &str| {
            let series = format!(
                "mcp_gateway_requests_total{{api=\"a\",http_method=\"{verb}\",\
                 method=\"{method}\",status=\"{status}\",decision=\"{decision}\"}}"
            );
            value(&text, &series)
        };
        assert_eq!(req("GET", NO_METHOD, 200, "allow"), Some(1.0));
        assert_eq!(req("DELETE", NO_METHOD, 200, "allow"), Some(1.0));
        assert_eq!(req("DELETE", NO_METHOD, 404, "reject"), Some(1.0));
        assert_eq!(req("other", NO_METHOD, 405, "reject"), Some(1.0));
        // A JSON-RPC method named like a verb is an unknown method, not a GET.
        assert_eq!(req("POST", "other", 200, "allow"), Some(1.0));
        let count = |verb: &str| {
            let series = format!(
                "mcp_gateway_request_duration_seconds_count{{api=\"a\",http_method=\"{verb}\",\
                 method=\"{NO_METHOD}\"}}"
            );
            value(&text, &series)
        };
        assert_eq!(count("GET"), Some(1.0));
        assert_eq!(count("DELETE"), Some(2.0));
        let get_2s = "mcp_gateway_request_duration_seconds_bucket{api=\"a\",http_method=\"GET\",\
                      method=\"(none)\",le=\"2.5\"}";
        assert_eq!(value(&text, get_2s), Some(1.0));
        let get_1s = get_2s.replace("le=\"2.5\"", "le=\"1\"");
        assert_eq!(value(&text, &get_1s), Some(0.0));
        let sum = "mcp_gateway_request_duration_seconds_sum{api=\"a\",http_method=\"GET\",\
                   method=\"(none)\"}";
        assert_eq!(value(&text, sum), Some(2.0));
        let decisions = "mcp_gateway_decisions_total{api=\"a\",decision=\"reject\"}";
        assert_eq!(value(&text, decisions), Some(2.0));
        let code = "mcp_gateway_rpc_errors_total{api=\"a\",code=\"-32001\"}";
        assert_eq!(value(&text, code), Some(1.0));
        // The dashboard counts the verbs apart from the methods too.
        let j: serde_json::Value =
            serde_json::from_str(&m.dashboard_json(&BTreeMap::new())).unwrap();
        let names = |list: &str| -> Vec<String> {
            let list = j["overall"][list].as_array().unwrap();
            list.iter()
                .map(|e| e["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(names("methods"), ["other"]);
        assert_eq!(names("http_methods"), ["DELETE", "GET", "POST", "other"]);
    }

    #[test]
    fn counts_tools_by_decision_and_errors_by_code() {
        let m = Metrics::default();
        for d in ["allow", "allow", "allow", "deny", "error"] {
            m.record(&call("echo", d));
        }
        m.record(&call("get-env", "deny"));
        m.record(&call("get-env", "deny"));
        // Subjects of other methods are not tools.
        m.record(&sample(
            "POST",
            Some("prompts/get"),
            Some("p"),
            200,
            "allow",
            None,
            1,
        ));
        m.record(&sample(
            "POST",
            Some("tools/call"),
            None,
            400,
            "invalid",
            Some(-32700),
            1,
        ));
        let text = m.render(&BTreeMap::new());
        let tool = |name: &str, decision: &str| {
            let series = format!(
                "mcp_gateway_tool_calls_total{{api=\"a\",tool=\"{name}\",decision=\"{decision}\"}}"
            );
            value(&text, &series)
        };
        assert_eq!(tool("echo", "allow"), Some(3.0));
        assert_eq!(tool("echo", "deny"), Some(1.0));
        assert_eq!(tool("echo", "error"), Some(1.0));
        assert_eq!(tool("get-env", "deny"), Some(2.0));
        assert_eq!(tool("get-env", "allow"), None);
        assert_eq!(tool("p", "allow"), None);
        assert_eq!(text.matches("mcp_gateway_tool_calls_total{").count(), 4);
        let code = |c: &str| {
            value(
                &text,
                &format!("mcp_gateway_rpc_errors_total{{api=\"a\",code=\"{c}\"}}"),
            )
        };
        assert_eq!(code("-32602"), Some(3.0));
        assert_eq!(code("-32700"), Some(1.0));
        let decision = |d: &str| {
            value(
                &text,
                &format!("mcp_gateway_decisions_total{{api=\"a\",decision=\"{d}\"}}"),
            )
        };
        assert_eq!(decision("allow"), Some(4.0));
        assert_eq!(decision("deny"), Some(3.0));
        assert_eq!(decision("invalid"), Some(1.0));
    }

    #[test]
    fn tool_labels_are_capped_per_api() {
        let m = Metrics::default();
        for i in 0..MAX_NAMES + 50 {
            let name = format!("tool-{i:04}");
            m.record(&call(&name, if i % 2 == 0 { "allow" } else { "deny" }));
        }
        // A tool named like the overflow bucket joins it instead of making a second series.
        m.record(&call(OTHER, "allow"));
        // Names already kept go on being counted under their own label.
        m.record(&call("tool-0000", "allow"));
        // Another API has room of its own.
        m.record(&Sample {
            api: "b",
            ..call("tool-9999", "allow")
        });
        let text = m.render(&BTreeMap::new());
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("mcp_gateway_tool_calls_total{api=\"a\""))
            .collect();
        let tools: std::collections::BTreeSet<&str> = series
            .iter()
            .filter_map(|l| l.split("tool=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(tools.len(), MAX_NAMES + 1, "200 tools and (other)");
        let tool = |name: &str, decision: &str| {
            let series = format!(
                "mcp_gateway_tool_calls_total{{api=\"a\",tool=\"{name}\",decision=\"{decision}\"}}"
            );
            value(&text, &series)
        };
        assert_eq!(tool("tool-0000", "allow"), Some(2.0));
        assert_eq!(tool("tool-0199", "deny"), Some(1.0));
        assert_eq!(tool("tool-0200", "allow"), None);
        assert_eq!(tool(OTHER, "allow"), Some(26.0));
        assert_eq!(tool(OTHER, "deny"), Some(25.0));
        let b = "mcp_gateway_tool_calls_total{api=\"b\",tool=\"tool-9999\",decision=\"allow\"}";
        assert_eq!(value(&text, b), Some(1.0));
        assert!(text.contains("At most 200 distinct tools per API"));
        // Error codes are capped the same way.
        let m = Metrics::default();
        for code in 0..(MAX_NAMES as i64 + 3) {
            m.record(&sample(
                "POST",
                Some("ping"),
                None,
                200,
                "allow",
                Some(code),
                1,
            ));
        }
        let text = m.render(&BTreeMap::new());
        assert_eq!(
            text.matches("mcp_gateway_rpc_errors_total{").count(),
            MAX_NAMES + 1
        );
        let other = format!("mcp_gateway_rpc_errors_total{{api=\"a\",code=\"{OTHER}\"}}");
        assert_eq!(value(&text, &other), Some(3.0));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape("plain"), "plain");
        let m = Metrics::default();
        let tool = "say \"hi\"\\\nnow";
        m.record(&Sample {
            api: "my \"api\"\n",
            ..call(tool, "allow")
        });
        let text = m.render(&BTreeMap::from([("my \"api\"\n".to_owned(), 1)]));
        let api = "api=\"my \\\"api\\\"\\n\"";
        assert!(text.contains(&format!(
            "mcp_gateway_tool_calls_total{{{api},tool=\"say \\\"hi\\\"\\\\\\nnow\",\
             decision=\"allow\"}} 1\n"
        )));
        assert!(text.contains(&format!("mcp_gateway_sessions{{{api}}} 1\n")));
        // No raw newline inside a sample: every line is a comment or a whole sample.
        for line in text.lines() {
            assert!(
                line.starts_with('#') || line.starts_with("mcp_gateway_"),
                "{line:?}"
            );
            assert!(line.starts_with('#') || line.ends_with(|c: char| c.is_ascii_digit()));
        }
    }
}
