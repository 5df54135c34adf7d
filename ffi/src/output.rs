//! What a judging call gives back: the bytes to send on, the bytes to send back to the
//! server, the HTTP status and headers, and the same in the JSON answer format.

use std::cell::OnceCell;

use mcp_policy::answer;
use mcp_policy::exchange::{Answer, Delivery, Notes, Reply, Step, Summary};
use mcp_policy::policy::{Filtered, Rewrite};

use crate::error::{free_box, quiet};
use crate::mcp_policy_slice;

/// Which call made an output, and so which accessors mean something.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcp_policy_kind {
    /// A client body to forward (from `mcp_policy_exchange_new`): `content_type` is the type to
    /// forward it with.
    Forward = 1,
    /// A client body answered by the engine: send `status`, the headers and `body` instead.
    Reply = 2,
    /// A step of a server event stream: send `body` (whole SSE events) to the client, each
    /// `to_server` message to the server; end the stream after it when `end` is true.
    Step = 3,
    /// A whole server answer judged: send `status`, the headers and the body (or the server's
    /// body unchanged), and each `to_server` message.
    Answer = 4,
    /// One server message judged (a stdio line): deliver `body` if set, send each `to_server`.
    Delivery = 5,
    /// A filtered answer (`mcp_policy_engine_filter`): forward per the body state.
    Filtered = 6,
    /// The errors answering every waiting request of a session (`mcp_policy_session_fail_all`):
    /// read them with `mcp_policy_output_failed`.
    Failures = 7,
}

/// Whether an output has a body to send.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcp_policy_body {
    /// `mcp_policy_output_body` is what to send (possibly empty).
    Set = 1,
    /// Send what the server sent, as it was (an answer or filtered response left unchanged).
    Unchanged = 2,
    /// Nothing to send (a message dropped, an output without a body).
    None = 3,
}

/// Counts of what the engine did, for logs and metrics.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct mcp_policy_notes {
    /// Answers to waiting requests delivered (judged, possibly filtered).
    pub answered: u32,
    /// Answers withheld and replaced by errors.
    pub withheld: u32,
    /// Server requests refused (answered to the server with an error).
    pub refused: u32,
    /// Messages not delivered.
    pub dropped: u32,
    /// List items and links hidden.
    pub hidden: u32,
    /// Waiting requests answered with an error because the answer failed.
    pub failed: u32,
    /// Whether `error_code` is set.
    pub has_error_code: bool,
    /// The JSON-RPC error code of the last error answer delivered.
    pub error_code: i64,
}

#[derive(Debug)]
pub(crate) enum Out {
    Forward(&'static str, Summary),
    Reply(Reply),
    Step(Step),
    Answer(Answer),
    Delivery(Delivery),
    Filtered(Filtered, Vec<u8>),
    Failures(Vec<(u64, Vec<u8>)>),
}

/// The result of a judging call. Read it with the `mcp_policy_output_*` accessors (views valid
/// until it is freed); free with [`mcp_policy_output_free`]. Not for use by two threads at
/// once.
#[derive(Debug)]
pub struct mcp_policy_output {
    out: Out,
    json: OnceCell<String>,
}

impl mcp_policy_output {
    pub(crate) fn new(out: Out) -> Self {
        Self {
            out,
            json: OnceCell::new(),
        }
    }

    fn kind(&self) -> mcp_policy_kind {
        use mcp_policy_kind as K;
        match self.out {
            Out::Forward(..) => K::Forward,
            Out::Reply(_) => K::Reply,
            Out::Step(_) => K::Step,
            Out::Answer(_) => K::Answer,
            Out::Delivery(_) => K::Delivery,
            Out::Filtered(..) => K::Filtered,
            Out::Failures(_) => K::Failures,
        }
    }

    fn body(&self) -> (mcp_policy_body, &[u8]) {
        use mcp_policy_body as B;
        match &self.out {
            Out::Reply(r) => (B::Set, &r.body),
            Out::Step(s) => (B::Set, &s.to_client),
            Out::Answer(a) => a
                .body
                .as_deref()
                .map_or((B::Unchanged, &[][..]), |b| (B::Set, b)),
            Out::Delivery(d) => d
                .message
                .as_deref()
                .map_or((B::None, &[][..]), |b| (B::Set, b)),
            Out::Filtered(f, _) => match &f.rewrite {
                Rewrite::Unchanged => (B::Unchanged, &[]),
                Rewrite::Replaced(t) => (B::Set, t.as_bytes()),
                Rewrite::Dropped => (B::None, &[]),
            },
            Out::Forward(..) | Out::Failures(_) => (B::None, &[]),
        }
    }

    fn headers(&self) -> Vec<(&'static str, &str)> {
        match &self.out {
            Out::Reply(r) => r.headers(),
            Out::Answer(a) => a
                .content_type
                .map(|ct| ("content-type", ct))
                .into_iter()
                .collect(),
            Out::Forward(ct, _) => vec![("content-type", *ct)],
            _ => Vec::new(),
        }
    }

    fn to_server(&self) -> &[Vec<u8>] {
        match &self.out {
            Out::Step(s) => &s.to_server,
            Out::Answer(a) => &a.to_server,
            Out::Delivery(d) => &d.to_server,
            _ => &[],
        }
    }

    fn notes(&self) -> Option<&Notes> {
        match &self.out {
            Out::Step(s) => Some(&s.notes),
            Out::Answer(a) => Some(&a.notes),
            Out::Delivery(d) => Some(&d.notes),
            _ => None,
        }
    }

    fn json(&self) -> &str {
        self.json.get_or_init(|| {
            let v = match &self.out {
                Out::Forward(ct, summary) => answer::forward(ct, summary),
                Out::Reply(r) => {
                    answer::client_verdict(&mcp_policy::ClientVerdict::Reply(r.clone()))
                }
                Out::Step(s) => answer::of(s),
                Out::Answer(a) => answer::of(a),
                Out::Delivery(d) => answer::of(d),
                Out::Filtered(f, original) => answer::filtered(f, original),
                Out::Failures(list) => serde_json::Value::Array(
                    list.iter()
                        .map(|(id, body)| serde_json::json!([id, String::from_utf8_lossy(body)]))
                        .collect(),
                ),
            };
            v.to_string()
        })
    }
}

fn output<'a>(o: *const mcp_policy_output) -> Option<&'a mcp_policy_output> {
    // SAFETY: every accessor's caller promises NULL or a live output.
    unsafe { o.as_ref() }
}

/// Which call made the output; 0 for NULL.
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_kind(output_: *const mcp_policy_output) -> u32 {
    quiet(0, || output(output_).map_or(0, |o| o.kind() as u32))
}

/// The HTTP status to send, for a reply or an answer; 0 otherwise.
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_status(output_: *const mcp_policy_output) -> u16 {
    quiet(0, || match output(output_).map(|o| &o.out) {
        Some(Out::Reply(r)) => r.status,
        Some(Out::Answer(a)) => a.status,
        _ => 0,
    })
}

/// Whether there is a body to send, the server's unchanged, or none
/// ([`mcp_policy_body`] as a number); `NONE` for NULL.
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_body_state(output_: *const mcp_policy_output) -> u32 {
    quiet(mcp_policy_body::None as u32, || {
        output(output_).map_or(mcp_policy_body::None, |o| o.body().0) as u32
    })
}

/// The bytes to send to the client: a reply's body, a step's SSE events, an answer's or
/// filtered response's new body, a delivery's message. Empty when the body state is not `SET`.
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_body(
    output_: *const mcp_policy_output,
) -> mcp_policy_slice {
    quiet(mcp_policy_slice::EMPTY, || {
        output(output_).map_or(mcp_policy_slice::EMPTY, |o| {
            mcp_policy_slice::of(o.body().1)
        })
    })
}

/// The `Content-Type` to send (a reply's or answer's), or to forward the client body with (a
/// forward); empty when there is none.
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_content_type(
    output_: *const mcp_policy_output,
) -> mcp_policy_slice {
    quiet(mcp_policy_slice::EMPTY, || {
        output(output_)
            .and_then(|o| {
                let ct = o.headers().into_iter().find(|(n, _)| *n == "content-type");
                ct.map(|(_, v)| mcp_policy_slice::of(v.as_bytes()))
            })
            .unwrap_or(mcp_policy_slice::EMPTY)
    })
}

/// How many headers to send with the status (`content-type`, `www-authenticate`).
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_header_count(
    output_: *const mcp_policy_output,
) -> usize {
    quiet(0, || output(output_).map_or(0, |o| o.headers().len()))
}

/// Header `index` (from 0) to send: writes its lowercase name and its value. Returns false,
/// writing nothing, when there is no such header.
///
/// # Safety
/// `output` must be NULL or a live output; `name` and `value` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_header(
    output_: *const mcp_policy_output,
    index: usize,
    name: *mut mcp_policy_slice,
    value: *mut mcp_policy_slice,
) -> bool {
    quiet(false, || {
        let Some(o) = output(output_) else {
            return false;
        };
        let Some((n, v)) = o.headers().get(index).copied() else {
            return false;
        };
        if name.is_null() || value.is_null() {
            return false;
        }
        // SAFETY: `name` is a writable slice (the caller's promise), checked not NULL.
        unsafe { name.write(mcp_policy_slice::of(n.as_bytes())) };
        // SAFETY: as above, for `value`.
        unsafe { value.write(mcp_policy_slice::of(v.as_bytes())) };
        true
    })
}

/// How many JSON-RPC messages to send to the server (errors answering the server requests the
/// policy refused), each as a body of its own.
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_to_server_count(
    output_: *const mcp_policy_output,
) -> usize {
    quiet(0, || output(output_).map_or(0, |o| o.to_server().len()))
}

/// Message `index` (from 0) to send to the server; empty past the count.
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_to_server(
    output_: *const mcp_policy_output,
    index: usize,
) -> mcp_policy_slice {
    quiet(mcp_policy_slice::EMPTY, || {
        output(output_)
            .and_then(|o| o.to_server().get(index))
            .map_or(mcp_policy_slice::EMPTY, |b| mcp_policy_slice::of(b))
    })
}

/// For a step: the stream must end once its body is sent (what follows cannot be judged).
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_end(output_: *const mcp_policy_output) -> bool {
    quiet(
        false,
        || matches!(output(output_).map(|o| &o.out), Some(Out::Step(s)) if s.end),
    )
}

/// Writes the counts of what happened (steps, answers, deliveries; zeros otherwise) to
/// `notes`. Returns false, writing nothing, for NULL arguments.
///
/// # Safety
/// `output` must be NULL or a live output; `notes` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_notes(
    output_: *const mcp_policy_output,
    notes: *mut mcp_policy_notes,
) -> bool {
    quiet(false, || {
        let Some(o) = output(output_) else {
            return false;
        };
        if notes.is_null() {
            return false;
        }
        let n = o.notes().cloned().unwrap_or_default();
        let c = mcp_policy_notes {
            answered: n.answered,
            withheld: n.withheld,
            refused: n.refused,
            dropped: n.dropped,
            hidden: n.hidden,
            failed: n.failed,
            has_error_code: n.error_code.is_some(),
            error_code: n.error_code.unwrap_or(0),
        };
        // SAFETY: `notes` is writable (the caller's promise), checked not NULL.
        unsafe { notes.write(c) };
        true
    })
}

/// How many waiting requests a `FAILURES` output answers.
///
/// # Safety
/// `output` must be NULL or a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_failed_count(
    output_: *const mcp_policy_output,
) -> usize {
    quiet(0, || match output(output_).map(|o| &o.out) {
        Some(Out::Failures(list)) => list.len(),
        _ => 0,
    })
}

/// Failure `index` of a `FAILURES` output: the exchange whose stream the error goes to
/// (`mcp_policy_exchange_id`) and the JSON-RPC error response. Returns false, writing nothing,
/// past the count or for NULL arguments.
///
/// # Safety
/// `output` must be NULL or a live output; `exchange_id` and `body` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_failed(
    output_: *const mcp_policy_output,
    index: usize,
    exchange_id: *mut u64,
    body: *mut mcp_policy_slice,
) -> bool {
    quiet(false, || {
        let Some(Out::Failures(list)) = output(output_).map(|o| &o.out) else {
            return false;
        };
        let Some((id, bytes)) = list.get(index) else {
            return false;
        };
        if exchange_id.is_null() || body.is_null() {
            return false;
        }
        // SAFETY: writable (the caller's promise), checked not NULL.
        unsafe { exchange_id.write(*id) };
        // SAFETY: as above.
        unsafe { body.write(mcp_policy_slice::of(bytes)) };
        true
    })
}

/// The output in the JSON answer format (the same text the Rust, Python and Node hosts give):
/// a client verdict, a step, an answer, a delivery, a filter result, or
/// `[[exchange id, error response], ...]` for failures. Made on first use and kept; valid
/// until the output is freed.
///
/// # Safety
/// `output` must be NULL or a live output not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_json(
    output_: *const mcp_policy_output,
) -> mcp_policy_slice {
    quiet(mcp_policy_slice::EMPTY, || {
        output(output_).map_or(mcp_policy_slice::EMPTY, |o| {
            mcp_policy_slice::of(o.json().as_bytes())
        })
    })
}

/// Frees an output; NULL is ignored.
///
/// # Safety
/// `output` must be NULL or an output from this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_free(output_: *mut mcp_policy_output) {
    // SAFETY: forwarded from the caller's promise.
    quiet((), || unsafe { free_box(output_) })
}

/// Appends a later `STEP` output of the same stream to `into` (bodies concatenated, messages
/// to the server appended, `end` kept, counts summed): for hosts that collect a stream's steps
/// before sending (a test, a batch tool). `later` is left as it was.
///
/// Errors: `MCP_POLICY_RESULT_INVALID_ARGUMENT` when either is not a step.
///
/// # Safety
/// `into` must be a live output not in use elsewhere; `later` a live output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_output_merge(
    into: *mut mcp_policy_output,
    later: *const mcp_policy_output,
) -> crate::mcp_policy_result {
    crate::error::boundary(|| {
        // SAFETY: forwarded from the caller's promise.
        let later = unsafe { crate::error::handle(later, "later") }?;
        let Out::Step(l) = &later.out else {
            return Err(crate::error::Failure::argument(
                "later",
                "not a STEP output; merge steps of one stream",
            ));
        };
        let l = l.clone();
        // SAFETY: forwarded from the caller's promise.
        let into = unsafe { crate::error::handle_mut(into, "into") }?;
        let Out::Step(s) = &mut into.out else {
            return Err(crate::error::Failure::argument(
                "into",
                "not a STEP output; merge steps of one stream",
            ));
        };
        s.merge(l);
        into.json = OnceCell::new();
        Ok(())
    })
}
