//! JSON log lines: one per exchange on stdout, operational messages on stderr.

use std::io::Write;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde::Serialize;

use super::metrics::Metrics;

fn now() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

fn emit_stderr(level: &str, msg: &str) {
    #[derive(Serialize)]
    struct Line<'a> {
        time: String,
        level: &'a str,
        msg: &'a str,
    }
    if let Ok(text) = serde_json::to_string(&Line {
        time: now(),
        level,
        msg,
    }) {
        // A closed stderr must not take the gateway down, so write errors are ignored.
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}

/// An operational message.
pub(crate) fn info(msg: &str) {
    emit_stderr("info", msg);
}

/// Something the operator should look at.
pub(crate) fn warn(msg: &str) {
    emit_stderr("warn", msg);
}

/// A failure.
pub(crate) fn error(msg: &str) {
    emit_stderr("error", msg);
}

/// One client exchange (an HTTP request and everything streamed back for it). It is logged and
/// counted when dropped, so a streamed response is accounted for when the stream ends, however
/// it ends.
#[derive(Debug)]
pub(crate) struct Exchange {
    metrics: Arc<Metrics>,
    start: Instant,
    /// API name.
    pub(crate) api: Arc<str>,
    /// HTTP method.
    pub(crate) http_method: String,
    /// JSON-RPC method (first message of a batch), if any.
    pub(crate) method: Option<String>,
    /// Tool name, resource URI or prompt name.
    pub(crate) subject: Option<String>,
    /// `allow`, `pass-through`, `deny`, `invalid`, `error`...
    pub(crate) decision: &'static str,
    /// HTTP status sent to the client.
    pub(crate) status: u16,
    /// JSON-RPC error code of the answer, when it was an error.
    pub(crate) rpc_error: Option<i64>,
    /// Gateway session id.
    pub(crate) session: Option<String>,
    /// Free-text detail for errors.
    pub(crate) detail: Option<String>,
}

impl Exchange {
    /// Starts timing an exchange.
    pub(crate) fn start(metrics: Arc<Metrics>, api: Arc<str>, http_method: &http::Method) -> Self {
        Self {
            metrics,
            start: Instant::now(),
            api,
            http_method: http_method.as_str().to_owned(),
            method: None,
            subject: None,
            decision: "allow",
            status: 0,
            rpc_error: None,
            session: None,
            detail: None,
        }
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        #[derive(Serialize)]
        struct Line<'a> {
            time: String,
            api: &'a str,
            http_method: &'a str,
            method: Option<&'a str>,
            subject: Option<&'a str>,
            decision: &'a str,
            status: u16,
            rpc_error: Option<i64>,
            latency_us: u128,
            session: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            detail: Option<&'a str>,
        }
        let latency = self.start.elapsed();
        let method_label = self.method.as_deref().unwrap_or(&self.http_method);
        self.metrics.record(&super::metrics::Sample {
            api: &self.api,
            method: method_label,
            subject: self.subject.as_deref(),
            status: self.status,
            decision: self.decision,
            rpc_error: self.rpc_error,
            latency,
        });
        let line = Line {
            time: now(),
            api: &self.api,
            http_method: &self.http_method,
            method: self.method.as_deref(),
            subject: self.subject.as_deref(),
            decision: self.decision,
            status: self.status,
            rpc_error: self.rpc_error,
            latency_us: latency.as_micros(),
            session: self.session.as_deref(),
            detail: self.detail.as_deref(),
        };
        if let Ok(text) = serde_json::to_string(&line) {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
    }
}
