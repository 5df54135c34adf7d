//! JSON log lines: one per exchange on stdout, operational messages on stderr.
//!
//! Exchange lines are gathered and written in batches: one `write` per exchange was a system
//! call per proxied request, and so was one each time a runtime thread ran out of work (every
//! second request under load). Once [`start_flusher`] has run, a thread of the log's own
//! counts and writes what gathered [`BATCH_WINDOW`] after the first line of a batch arrived;
//! the exchange that makes the batch reach [`FLUSH_AT`] lines writes it at once. Counting and
//! formatting thus happen off the request path, never in front of a request that is waiting.
//! [`stop_flusher`] makes every later line go out on its own. Operational messages are rare
//! and written immediately.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::metrics::Metrics;

/// Exchanges not counted and logged yet.
#[derive(Debug)]
struct Pending {
    /// Ended exchanges, in the order they ended.
    done: Vec<Done>,
    /// The batch being written (kept for its allocation).
    buf: Vec<u8>,
    /// Whether the flusher thread runs; if not, each exchange is counted and written at once.
    deferred: bool,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    done: Vec::new(),
    buf: Vec::new(),
    deferred: false,
});
/// Wakes the flusher when the first line of a batch arrives (or when it must stop).
static FIRST_LINE: Condvar = Condvar::new();
/// This many ended exchanges are counted and written by the exchange that ended last (~64 KB
/// of log lines).
const FLUSH_AT: usize = 256;
/// How long the first line of a batch waits for the others: the delay before a line shows,
/// against one `write` per this long at most.
const BATCH_WINDOW: Duration = Duration::from_millis(10);

fn pending() -> MutexGuard<'static, Pending> {
    // A panic while appending leaves at worst a partial line; logging must go on.
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts the ended exchanges (metrics, dashboard) and writes their log lines to stdout now.
/// `/metrics` and the dashboard call it before reading the counters, so an exchange whose
/// answer was sent is always counted in what they show.
pub(crate) fn flush() {
    let mut p = pending();
    if p.done.is_empty() {
        return;
    }
    let done = std::mem::take(&mut p.done);
    let mut batch = std::mem::take(&mut p.buf);
    // Counted under the lock: a reader that flushes first waits for a flush under way.
    for d in &done {
        d.count();
        d.write_line(&mut batch);
        batch.push(b'\n');
    }
    drop(p);
    // A closed stdout must not take the gateway down, so write errors are ignored.
    let _ = std::io::stdout().lock().write_all(&batch);
    batch.clear();
    drop(done);
    let mut p = pending();
    if p.buf.is_empty() {
        // Keep the allocation for the next batch.
        p.buf = batch;
    }
}

/// From now on ended exchanges are gathered and written by a thread of their own, in batches
/// [`BATCH_WINDOW`] apart at most. Without that thread (it could not be started), every
/// exchange is written as it ends.
pub(crate) fn start_flusher() {
    // Set before the thread starts, which stops at once when it finds it clear.
    pending().deferred = true;
    let spawned = std::thread::Builder::new()
        .name("log-flusher".into())
        .spawn(flusher);
    if let Err(e) = spawned {
        pending().deferred = false;
        warn(&format!(
            "cannot start the log flusher thread ({e}); each exchange line is written as it ends"
        ));
    }
}

/// The flusher thread: waits for a first line, lets the batch gather, writes it.
fn flusher() {
    loop {
        {
            let mut p = pending();
            while p.done.is_empty() {
                if !p.deferred {
                    return;
                }
                p = FIRST_LINE.wait(p).unwrap_or_else(PoisonError::into_inner);
            }
        }
        std::thread::sleep(BATCH_WINDOW);
        flush();
    }
}

/// From now on every exchange line is written at once (the gateway is stopping), what
/// gathered is written now, and the flusher thread ends.
pub(crate) fn stop_flusher() {
    pending().deferred = false;
    FIRST_LINE.notify_all();
    flush();
}

/// Appends `t` as RFC 3339 UTC with microseconds (`2026-11-25T15:38:23.123456Z`, as
/// `humantime::format_rfc3339_micros`), without the formatting machinery.
fn push_time(out: &mut Vec<u8>, t: SystemTime) {
    thread_local! {
        /// The date and time up to the second of the last line, which the next lines of the
        /// same second share: the civil date was ~1 k instructions per exchange.
        static LAST_SECOND: std::cell::Cell<(u64, [u8; 20])> =
            const { std::cell::Cell::new((u64::MAX, [0; 20])) };
    }
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let prefix = LAST_SECOND.with(|last| {
        let (cached, prefix) = last.get();
        if cached == secs {
            return prefix;
        }
        let prefix = second_prefix(secs);
        last.set((secs, prefix));
        prefix
    });
    out.extend_from_slice(&prefix);
    push_digits(out, u64::from(since.subsec_micros()), 6);
    out.push(b'Z');
}

fn push_digits(out: &mut Vec<u8>, n: u64, width: u32) {
    for i in (0..width).rev() {
        out.push(b'0' + (n / 10u64.pow(i) % 10) as u8);
    }
}

/// `YYYY-MM-DDTHH:MM:SS.` of `secs` after the Unix epoch.
fn second_prefix(secs: u64) -> [u8; 20] {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Days to civil date (H. Hinnant's algorithm), for dates after 1970.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let fields = [
        (year, 4, b'-'),
        (month, 2, b'-'),
        (day, 2, b'T'),
        (rem / 3_600, 2, b':'),
        (rem / 60 % 60, 2, b':'),
        (rem % 60, 2, b'.'),
    ];
    let mut b = Vec::with_capacity(20);
    for (n, width, then) in fields {
        push_digits(&mut b, n, width);
        b.push(then);
    }
    let mut prefix = [0; 20];
    // Every field has a fixed width: 20 bytes.
    let len = b.len().min(20);
    prefix[..len].copy_from_slice(&b[..len]);
    prefix
}

/// The current time as [`push_time`] writes it.
fn now() -> String {
    let mut b = Vec::with_capacity(27);
    push_time(&mut b, SystemTime::now());
    String::from_utf8(b).unwrap_or_default()
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

/// The log record of one client exchange (an HTTP request and everything streamed back for it). It is logged and
/// counted when dropped, so a streamed response is accounted for when the stream ends, however
/// it ends.
#[derive(Debug)]
pub(crate) struct Record {
    metrics: Arc<Metrics>,
    start: Instant,
    /// API name.
    pub(crate) api: Arc<str>,
    /// HTTP method.
    pub(crate) http_method: http::Method,
    /// JSON-RPC method (first message of a batch), if any.
    pub(crate) method: Option<Cow<'static, str>>,
    /// Tool name, resource URI or prompt name.
    pub(crate) subject: Option<String>,
    /// `allow`, `pass-through`, `deny`, `invalid`, `error`...
    pub(crate) decision: &'static str,
    /// HTTP status sent to the client.
    pub(crate) status: u16,
    /// JSON-RPC error code of the answer, when it was an error.
    pub(crate) rpc_error: Option<i64>,
    /// Gateway session id.
    pub(crate) session: Option<Arc<str>>,
    /// Free-text detail for errors.
    pub(crate) detail: Option<String>,
}

impl Record {
    /// Starts timing an exchange.
    pub(crate) fn start(metrics: Arc<Metrics>, api: Arc<str>, http_method: &http::Method) -> Self {
        Self {
            metrics,
            start: Instant::now(),
            api,
            http_method: http_method.clone(),
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

/// Appends `s` as a JSON string.
fn push_str(out: &mut Vec<u8>, s: &str) {
    // Most values need no escaping: copied as they are.
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether `b` holds a control character, `"` or `\\`, eight bytes at a time: byte by byte,
/// this check was ~250 instructions per value (the session id is ~100 bytes), six values per
/// exchange.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero: the classic test, exact as to whether any byte is.
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Below 0x20: the same test shifted (exact for thresholds up to 0x80).
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if control
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

fn push_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends `n` in decimal, without the formatting machinery.
pub(crate) fn push_int(out: &mut Vec<u8>, n: impl Into<i128>) {
    let n: i128 = n.into();
    if n < 0 {
        out.push(b'-');
    }
    let mut n = n.unsigned_abs();
    let mut digits = [0u8; 40];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// An ended exchange, as counted and logged.
#[derive(Debug)]
struct Done {
    metrics: Arc<Metrics>,
    api: Arc<str>,
    http_method: http::Method,
    method: Option<Cow<'static, str>>,
    subject: Option<String>,
    decision: &'static str,
    status: u16,
    rpc_error: Option<i64>,
    session: Option<Arc<str>>,
    detail: Option<String>,
    latency: Duration,
    /// When it ended.
    time: SystemTime,
}

impl Done {
    fn count(&self) {
        self.metrics.record(&super::metrics::Sample {
            api: &self.api,
            http_method: self.http_method.as_str(),
            method: self.method.as_deref(),
            subject: self.subject.as_deref(),
            status: self.status,
            decision: self.decision,
            rpc_error: self.rpc_error,
            latency: self.latency,
        });
    }

    /// The log line (without its newline): the members of the JSON object in a fixed order,
    /// written directly (this runs once per proxied request).
    fn write_line(&self, out: &mut Vec<u8>) {
        let latency_us = self.latency.as_micros();
        out.extend_from_slice(b"{\"time\":\"");
        push_time(out, self.time);
        out.extend_from_slice(b"\",\"api\":");
        push_str(out, &self.api);
        out.extend_from_slice(b",\"http_method\":");
        push_str(out, self.http_method.as_str());
        out.extend_from_slice(b",\"method\":");
        push_opt_str(out, self.method.as_deref());
        out.extend_from_slice(b",\"subject\":");
        push_opt_str(out, self.subject.as_deref());
        out.extend_from_slice(b",\"decision\":");
        push_str(out, self.decision);
        out.extend_from_slice(b",\"status\":");
        push_int(out, self.status);
        out.extend_from_slice(b",\"rpc_error\":");
        match self.rpc_error {
            Some(code) => push_int(out, code),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"latency_us\":");
        push_int(out, i128::try_from(latency_us).unwrap_or(i128::MAX));
        out.extend_from_slice(b",\"session\":");
        push_opt_str(out, self.session.as_deref());
        if let Some(detail) = &self.detail {
            out.extend_from_slice(b",\"detail\":");
            push_str(out, detail);
        }
        out.push(b'}');
    }
}

impl Record {
    /// What is counted and logged of the exchange, taken out of the record.
    fn take(&mut self, latency: Duration, time: SystemTime) -> Done {
        Done {
            metrics: self.metrics.clone(),
            api: self.api.clone(),
            http_method: self.http_method.clone(),
            method: self.method.take(),
            subject: self.subject.take(),
            decision: self.decision,
            status: self.status,
            rpc_error: self.rpc_error,
            session: self.session.take(),
            detail: self.detail.take(),
            latency,
            time,
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        let end = Instant::now();
        let latency = end.saturating_duration_since(self.start);
        let done = self.take(latency, SystemTime::now());
        // Counting and formatting wait for the flusher (off the request path), unless
        // nothing will flush.
        let mut p = pending();
        let first = p.done.is_empty();
        p.done.push(done);
        if !p.deferred || p.done.len() >= FLUSH_AT {
            drop(p);
            flush();
        } else if first {
            drop(p);
            FIRST_LINE.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_check_agrees_with_the_byte_by_byte_one() {
        let slow = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"bench".to_vec(),
            "h\u{e9}llo w\u{f6}rld, caf\u{e9} \u{1f600}"
                .as_bytes()
                .to_vec(),
        ];
        for len in [1, 7, 8, 9, 15, 16, 17, 40] {
            for pos in 0..len {
                for bad in [0x00, 0x1f, b'"', b'\\', 0x20, 0x7f, 0x80, 0xff, b'!', b']'] {
                    let mut v = vec![b'a'; len];
                    v[pos] = bad;
                    cases.push(v);
                }
            }
        }
        for c in &cases {
            assert_eq!(needs_escape(c), slow(c), "{c:?}");
        }
    }
    use std::time::Duration;

    #[test]
    fn time_is_rfc3339_micros() {
        for secs in [0, 951_782_400, 1_709_164_800, 1_795_620_703, 4_102_444_799] {
            for micros in [0, 7, 999_999] {
                let t = SystemTime::UNIX_EPOCH + Duration::new(secs, micros * 1_000);
                let mut b = Vec::new();
                push_time(&mut b, t);
                let expected = humantime::format_rfc3339_micros(t).to_string();
                assert_eq!(String::from_utf8(b).unwrap(), expected);
            }
        }
    }

    #[test]
    fn lines_are_json_with_every_member() {
        let mut ex = Record::start(
            Arc::new(Metrics::default()),
            Arc::from("a\"pi"),
            &http::Method::POST,
        );
        let mut out = Vec::new();
        let line = |ex: &mut Record, out: &mut Vec<u8>, latency: Duration| {
            ex.take(latency, SystemTime::UNIX_EPOCH).write_line(out);
        };
        line(&mut ex, &mut out, Duration::from_micros(42));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"time": "1970-01-01T00:00:00.000000Z", "api": "a\"pi",
                "http_method": "POST", "method": null, "subject": null, "decision": "allow",
                "status": 0, "rpc_error": null, "latency_us": 42, "session": null})
        );
        ex.method = Some(Cow::Borrowed("tools/call"));
        ex.subject = Some("t\u{1}\\".into());
        ex.rpc_error = Some(-32603);
        ex.session = Some(Arc::from("s"));
        ex.detail = Some("why\n".into());
        ex.status = 502;
        out.clear();
        line(&mut ex, &mut out, Duration::MAX);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["subject"], "t\u{1}\\");
        assert_eq!(v["rpc_error"], -32603);
        assert_eq!(v["status"], 502);
        assert_eq!(v["detail"], "why\n");
        assert_eq!(v["session"], "s");
        assert_eq!(v["method"], "tools/call");
        assert!(v["latency_us"].as_f64().unwrap() > 1e24);
        // Not an exchange the gateway served: keep it out of the test's stdout.
        std::mem::forget(ex);
    }
}
