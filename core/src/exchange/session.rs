//! One MCP session's requests in flight, shared by every exchange of the session.
//!
//! Answers may arrive on any stream of a session (the POST they answer, another request's
//! POST, `initialize`'s stream, the GET stream, a resumed stream), so the table of requests
//! waiting for an answer belongs to the session, and each exchange matches what it receives
//! against it.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;

use super::ids::IdKey;
use super::lock::Lock;
use crate::error::{Error, ErrorKind};
use crate::jsonrpc::{Body, MessageKind};
use crate::limits::Limits;
use crate::mcp::{Method, Revision};
use crate::policy::AclMethod;

/// Server requests refused by the policy that are remembered, so that a client "answer" to one
/// is not forwarded (the server already has the gateway's error).
const REFUSED_REMEMBERED: usize = 256;
/// Resumption points (last event id of a stream) remembered.
const RESUME_POINTS: usize = 256;
/// Event ids longer than this are not remembered as resumption points.
const MAX_EVENT_ID: usize = 1024;

/// A client request waiting for its answer.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) key: IdKey,
    pub(crate) method: Option<Method>,
    /// The request's JSON text, parsed again only when its answer needs it (lists, links).
    pub(crate) request: Arc<str>,
    /// Where in `request` the id is, as the client wrote it (JSON text), for the errors
    /// answering it: a span, not a copy, so that registering a request copies nothing else.
    pub(crate) id: Range<usize>,
    /// Where in `request` `params._meta.progressToken` is.
    pub(crate) progress: Option<Range<usize>>,
    /// The exchange that carried it.
    pub(crate) exchange: u64,
    /// Whether its exchange still exists (a request of a finished, resumable stream waits for
    /// a resumed one and is the first to go when the table is full).
    pub(crate) live: bool,
}

impl Pending {
    /// The id as the client wrote it (JSON text).
    pub(crate) fn raw_id(&self) -> &str {
        self.request
            .get(self.id.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or("null")
    }

    /// Whether `token` could be read as this request's progress token.
    fn has_progress_token(&self, token: &IdKey) -> bool {
        self.progress
            .clone()
            .and_then(|r| self.request.get(r))
            .and_then(|text| crate::jsonrpc::RawValue::parse(text).ok())
            .and_then(|v| progress_key(&v))
            .is_some_and(|k| k.matches(token))
    }
}

#[derive(Debug)]
struct State {
    next_exchange: u64,
    pending: Vec<Pending>,
    refused: VecDeque<IdKey>,
    resume: VecDeque<(Vec<u8>, u64)>,
    revision: Option<Revision>,
    resumable: bool,
    max_pending: usize,
    /// Which tool created each task this session saw (bounded like the waiting requests).
    tasks: Arc<Lock<Tasks>>,
}

/// Task id → the tool whose call created it, oldest first, bounded: past `max` the oldest
/// binding is forgotten, and that task becomes unknown (hidden), never unjudged.
#[derive(Debug)]
pub(crate) struct Tasks {
    bound: VecDeque<(Box<str>, Arc<str>)>,
    max: usize,
}

impl Tasks {
    pub(crate) fn shared(max: usize) -> Arc<Lock<Self>> {
        Arc::new(Lock::new(Self {
            bound: VecDeque::new(),
            max: max.max(1),
        }))
    }

    /// Records that the call of `tool` created `task`.
    pub(crate) fn bind(&mut self, task: &str, tool: &str) {
        self.bound.retain(|(id, _)| id.as_ref() != task);
        while self.bound.len() >= self.max {
            self.bound.pop_front();
        }
        self.bound.push_back((Box::from(task), Arc::from(tool)));
    }

    /// The tool whose call created `task`, if it was bound.
    pub(crate) fn tool(&self, task: &str) -> Option<Arc<str>> {
        self.bound
            .iter()
            .find(|(id, _)| id.as_ref() == task)
            .map(|(_, tool)| tool.clone())
    }
}

/// The state of one MCP session that its exchanges share: the client requests waiting for an
/// answer, the server requests the policy refused, the negotiated revision, and where streams
/// can be resumed. Cheap to clone (a reference count); `Send + Sync`.
///
/// Hosts make one per MCP session ([`super::Guard::session`]) and one per request that belongs
/// to no session (a stateless server), and hand it to every exchange of that session.
#[derive(Debug, Clone)]
pub struct Session {
    state: Arc<Lock<State>>,
}

/// Where a server message goes, for hosts that receive a session's messages on one channel (a
/// stdio process writes every message to its stdout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// It answers (or reports progress of) a request of this exchange ([`super::Exchange::id`]):
    /// judge it with that exchange and send it on that exchange's stream.
    Exchange(u64),
    /// It belongs to no request: a notification, a server request, or an answer to nothing
    /// pending. Judge it with the exchange of the stream it will be sent on (the GET stream).
    Unsolicited,
    /// It cannot be read. Nothing says which request it answered: fail them all
    /// ([`Session::fail_all`]).
    Unreadable,
}

impl Session {
    pub(crate) fn new(max_pending: usize) -> Self {
        Self {
            state: Arc::new(Lock::new(State {
                next_exchange: 1,
                pending: Vec::new(),
                refused: VecDeque::new(),
                resume: VecDeque::new(),
                revision: None,
                resumable: false,
                max_pending: max_pending.max(1),
                tasks: Tasks::shared(max_pending),
            })),
        }
    }

    /// Says whether the session outlives its exchanges (the host keeps it under a session id,
    /// so a client can resume a stream with `Last-Event-ID`). A stream of a resumable session
    /// that ends after an event id, without answering, leaves its requests waiting for the
    /// resumed stream; otherwise they are answered with errors when it ends. Default `false`.
    /// Set it no later than the head of the answer that names the session: until then the
    /// session's streams keep no resume points.
    pub fn set_resumable(&self, resumable: bool) {
        self.state.with(|s| s.resumable = resumable);
    }

    pub(crate) fn resumable(&self) -> bool {
        self.state.with(|s| s.resumable)
    }

    /// The protocol revision negotiated by `initialize` (read from its answer), if seen.
    pub fn revision(&self) -> Option<Revision> {
        self.state.with(|s| s.revision)
    }

    pub(crate) fn set_revision(&self, r: Revision) {
        self.state.with(|s| s.revision = Some(r));
    }

    /// This session's task bindings.
    pub(crate) fn tasks(&self) -> Arc<Lock<Tasks>> {
        self.state.with(|s| s.tasks.clone())
    }

    /// How many client requests wait for their answer.
    pub fn pending_count(&self) -> usize {
        self.state.with(|s| s.pending.len())
    }

    pub(crate) fn next_exchange(&self) -> u64 {
        self.state.with(|s| {
            let id = s.next_exchange;
            s.next_exchange += 1;
            id
        })
    }

    /// Numbers a new exchange and records its body's requests as waiting, all or none. The
    /// exchange's number, or why the requests cannot wait: an id already waiting (as a client
    /// would read it) or a full table, with the raw id of the request to answer.
    pub(crate) fn register(&self, mut entries: Vec<Pending>) -> Result<u64, (Error, String)> {
        self.state.with(|s| {
            for (i, e) in entries.iter().enumerate() {
                let clash = s.pending.iter().any(|p| p.key.matches(&e.key))
                    || entries
                        .get(..i)
                        .is_some_and(|before| before.iter().any(|p| p.key.matches(&e.key)));
                if clash {
                    return Err((
                        Error::new(
                            ErrorKind::DuplicateId,
                            alloc::format!(
                                "request id {} is the id of a request still waiting for its \
                                 answer, so the answers could not be told apart",
                                e.raw_id()
                            ),
                        )
                        .at_path("id"),
                        String::from(e.raw_id()),
                    ));
                }
            }
            let room = s.max_pending;
            while s.pending.len() + entries.len() > room {
                match s.pending.iter().position(|p| !p.live) {
                    Some(i) => {
                        s.pending.remove(i);
                    }
                    None => {
                        let raw = entries
                            .first()
                            .map(|e| String::from(e.raw_id()))
                            .unwrap_or_default();
                        return Err((
                            Error::new(
                                ErrorKind::TooManyPending,
                                alloc::format!(
                                    "{} requests of this session already wait for their answers \
                                     (at most {room})",
                                    s.pending.len()
                                ),
                            ),
                            raw,
                        ));
                    }
                }
            }
            let id = s.next_exchange;
            s.next_exchange += 1;
            for e in &mut entries {
                e.exchange = id;
            }
            if s.pending.capacity() == 0 {
                // A session's first exchange (every one, for a stateless server): the list
                // built for it becomes the table, instead of a second allocation and a copy.
                s.pending = entries;
            } else {
                s.pending.extend(entries);
            }
            Ok(id)
        })
    }

    /// Takes the waiting request `key` answers.
    pub(crate) fn claim(&self, key: &IdKey) -> Option<Pending> {
        self.state.with(|s| {
            let i = s.pending.iter().position(|p| p.key.matches(key))?;
            Some(s.pending.remove(i))
        })
    }

    /// The key and text of a waiting list request of `exchange` (not taken), whose answer is
    /// the one worth parsing and filtering in one pass.
    pub(crate) fn own_list_request(&self, exchange: u64) -> Option<(IdKey, Method, Arc<str>)> {
        self.state.with(|s| {
            s.pending
                .iter()
                .find(|p| {
                    p.exchange == exchange
                        && p.method
                            .and_then(AclMethod::for_mcp)
                            .is_some_and(AclMethod::is_list)
                })
                .and_then(|p| Some((p.key.clone(), p.method?, p.request.clone())))
        })
    }

    /// How many requests of `exchange` wait.
    pub(crate) fn count_own(&self, exchange: u64) -> usize {
        self.state
            .with(|s| s.pending.iter().filter(|p| p.exchange == exchange).count())
    }

    /// Takes `exchange`'s requests still waiting.
    pub(crate) fn take_own(&self, exchange: u64) -> Vec<Pending> {
        self.state.with(|s| {
            let mut taken = Vec::new();
            let mut i = 0;
            while i < s.pending.len() {
                if s.pending.get(i).is_some_and(|p| p.exchange == exchange) {
                    taken.push(s.pending.remove(i));
                } else {
                    i += 1;
                }
            }
            taken
        })
    }

    /// Marks `exchange`'s requests as waiting for a resumed stream.
    pub(crate) fn detach(&self, exchange: u64) {
        self.state.with(|s| {
            for p in s.pending.iter_mut().filter(|p| p.exchange == exchange) {
                p.live = false;
            }
        });
    }

    /// Remembers that `exchange` passed event `id`: a stream resumed from it continues that
    /// exchange. Only a resumable session keeps the point: elsewhere a stream's waiting
    /// requests are answered when it ends, so a resumed stream would find none to take over.
    pub(crate) fn note_event_id(&self, exchange: u64, id: &[u8]) {
        if id.len() > MAX_EVENT_ID {
            return;
        }
        self.state.with(|s| {
            if !s.resumable {
                return;
            }
            if let Some(slot) = s.resume.iter_mut().find(|(_, x)| *x == exchange) {
                slot.0.clear();
                slot.0.extend_from_slice(id);
                return;
            }
            if s.resume.len() == RESUME_POINTS {
                s.resume.pop_front();
            }
            s.resume.push_back((id.to_vec(), exchange));
        });
    }

    /// Gives `to` the waiting requests of the stream that passed event `last_event_id`, and
    /// says how many.
    pub(crate) fn adopt(&self, to: u64, last_event_id: &[u8]) -> usize {
        self.state.with(|s| {
            let Some(from) = s
                .resume
                .iter()
                .rev()
                .find(|(id, _)| id == last_event_id)
                .map(|(_, x)| *x)
            else {
                return 0;
            };
            let mut n = 0;
            for p in s.pending.iter_mut().filter(|p| p.exchange == from) {
                p.exchange = to;
                p.live = true;
                n += 1;
            }
            for r in s.resume.iter_mut().filter(|(_, x)| *x == from) {
                r.1 = to;
            }
            n
        })
    }

    /// Remembers a server request the policy refused.
    pub(crate) fn refused(&self, key: IdKey) {
        self.state.with(|s| {
            if s.refused.len() == REFUSED_REMEMBERED {
                s.refused.pop_front();
            }
            s.refused.push_back(key);
        });
    }

    /// Whether a client answer with `key` would reach a server request the policy refused.
    pub(crate) fn was_refused(&self, key: &IdKey) -> bool {
        self.state
            .with(|s| s.refused.iter().any(|k| k.matches(key)))
    }

    /// Where a message the server sent goes (see [`Route`]). Parses `message`; the exchange
    /// then judges it (parsing it again).
    pub fn route(&self, message: &[u8], limits: &Limits) -> Route {
        let Ok(body) = Body::parse(message, limits) else {
            return Route::Unreadable;
        };
        let mut target = None;
        for msg in body.messages() {
            let found = match msg.kind() {
                MessageKind::Response | MessageKind::ErrorResponse => {
                    let Some(id) = msg.id() else { continue };
                    let key = IdKey::of(&id);
                    self.state.with(|s| {
                        s.pending
                            .iter()
                            .find(|p| p.key.matches(&key))
                            .map(|p| p.exchange)
                    })
                }
                MessageKind::Notification if msg.method() == Some("notifications/progress") => {
                    let token = msg
                        .params()
                        .and_then(|p| p.get("progressToken"))
                        .and_then(|t| progress_key(&t));
                    token.and_then(|t| {
                        self.state.with(|s| {
                            s.pending
                                .iter()
                                .find(|p| p.has_progress_token(&t))
                                .map(|p| p.exchange)
                        })
                    })
                }
                _ => None,
            };
            match (target, found) {
                (None, Some(x)) => target = Some(x),
                (Some(t), Some(x)) if t != x => return Route::Unsolicited,
                _ => {}
            }
        }
        target.map_or(Route::Unsolicited, Route::Exchange)
    }

    /// Answers every request still waiting with an error (`code`, `message`): what a host
    /// does when a message it cannot read arrives on a channel shared by the whole session (a
    /// stdio process's stdout), since nothing says which request it answered. Returns, for each
    /// request, the exchange that carried it and the error response to deliver on its stream.
    pub fn fail_all(&self, code: i32, message: &str) -> Vec<(u64, Vec<u8>)> {
        let all = self.state.with(|s| core::mem::take(&mut s.pending));
        all.into_iter()
            .map(|p| {
                let e = crate::jsonrpc::error_response(Some(p.raw_id()), code, message, None);
                (p.exchange, e.into_bytes())
            })
            .collect()
    }
}

/// The key of a progress token (a string or a number, matched like ids).
pub(crate) fn progress_key(v: &crate::jsonrpc::RawValue<'_>) -> Option<IdKey> {
    use crate::jsonrpc::{Id, Kind};
    match v.kind() {
        Kind::Number => Some(IdKey::of(&Id::Number(v.as_text()))),
        Kind::String => v.as_json_str().map(|s| IdKey::of(&Id::String(s))),
        _ => None,
    }
}
