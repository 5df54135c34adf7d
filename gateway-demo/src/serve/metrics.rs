//! Prometheus text exposition of the gateway's counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use super::dashboard::Stats;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The counters of one API. Keys are static labels, so counting allocates nothing.
#[derive(Debug, Default)]
struct ApiCounters {
    /// (method, status, decision) → exchanges.
    requests: BTreeMap<(&'static str, u16, &'static str), u64>,
    latency: BTreeMap<&'static str, Histogram>,
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
    /// JSON-RPC method of the first message, else the HTTP method (`GET`, `DELETE`...).
    pub(crate) method: &'a str,
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

/// Counters by API, method, status and decision, and a latency histogram by API and method;
/// plus the dashboard's bounded aggregates ([`Stats`]).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

/// Keeps label cardinality bounded: a client can send any method name, but only the MCP
/// catalogue's names (and the HTTP verbs used for GET/DELETE) become label values.
fn method_label(method: &str) -> &'static str {
    match mcp_policy::mcp::Method::from_name(method) {
        Some(m) => m.as_str(),
        None => match method {
            "GET" => "GET",
            "POST" => "POST",
            "DELETE" => "DELETE",
            _ => "other",
        },
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The decision words the gateway uses, as static labels (anything else counts as `other`).
fn decision_label(decision: &str) -> &'static str {
    match decision {
        "allow" => "allow",
        "pass-through" => "pass-through",
        "deny" => "deny",
        "invalid" => "invalid",
        "error" => "error",
        "reject" => "reject",
        _ => "other",
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
        let label = method_label(sample.method);
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        // The dashboard gets the bounded label too, so its method list cannot be flooded.
        inner.dashboard.record(&Sample {
            method: label,
            ..*sample
        });
        let counters = match inner.apis.get_mut(api) {
            Some(c) => c,
            None => inner.apis.entry(api.into()).or_default(),
        };
        *counters
            .requests
            .entry((label, status, decision_label(decision)))
            .or_default() += 1;
        let h = counters.latency.entry(label).or_default();
        let secs = latency.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.buckets[i] += 1;
            }
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
        out.push_str(
            "# HELP mcp_gateway_requests_total Client exchanges by API, JSON-RPC method, HTTP \
             status and decision.\n# TYPE mcp_gateway_requests_total counter\n",
        );
        let requests = inner.apis.iter().flat_map(|(api, c)| {
            c.requests
                .iter()
                .map(move |((method, status, decision), n)| (api, method, status, decision, n))
        });
        for (api, method, status, decision, n) in requests {
            let _ = writeln!(
                out,
                "mcp_gateway_requests_total{{api=\"{}\",method=\"{}\",status=\"{status}\",\
                 decision=\"{}\"}} {n}",
                escape(api),
                escape(method),
                escape(decision)
            );
        }
        out.push_str(
            "# HELP mcp_gateway_request_duration_seconds Time from request to the end of the \
             response (streams included).\n# TYPE mcp_gateway_request_duration_seconds histogram\n",
        );
        let latency = inner
            .apis
            .iter()
            .flat_map(|(api, c)| c.latency.iter().map(move |(method, h)| (api, method, h)));
        for (api, method, h) in latency {
            let labels = format!("api=\"{}\",method=\"{}\"", escape(api), escape(method));
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "mcp_gateway_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "mcp_gateway_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "mcp_gateway_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "mcp_gateway_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
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

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        let s = |method, status, decision, ms| Sample {
            api: "a",
            method,
            subject: Some("echo"),
            status,
            decision,
            rpc_error: None,
            latency: Duration::from_millis(ms),
        };
        m.record(&s("tools/call", 200, "allow", 3));
        m.record(&s("tools/call", 200, "allow", 30));
        m.record(&s("made/up", 403, "deny", 1));
        let text = m.render(&BTreeMap::from([("a".to_owned(), 2)]));
        assert!(text.contains(
            "mcp_gateway_requests_total{api=\"a\",method=\"tools/call\",status=\"200\",decision=\"allow\"} 2"
        ));
        assert!(text.contains("method=\"other\",status=\"403\""));
        assert!(text.contains(
            "mcp_gateway_request_duration_seconds_bucket{api=\"a\",method=\"tools/call\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "mcp_gateway_request_duration_seconds_count{api=\"a\",method=\"tools/call\"} 2"
        ));
        assert!(text.contains("mcp_gateway_sessions{api=\"a\"} 2"));
        // The dashboard saw the same exchanges, with the same bounded method label.
        let j: serde_json::Value =
            serde_json::from_str(&m.dashboard_json(&BTreeMap::new())).unwrap();
        assert_eq!(j["overall"]["total"], 3);
        assert_eq!(j["overall"]["tools"][0]["name"], "echo");
        assert_eq!(j["overall"]["tools"][0]["count"], 2);
        assert_eq!(j["overall"]["methods"][1]["name"], "other");
    }
}
