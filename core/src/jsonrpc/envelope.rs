//! One pass over a message: validation, duplicate-key checks and the positions of the members
//! a policy reads, together. Walking the text again for each of those (as a generic validator
//! followed by lookups would) costs several times the parse itself on the hot path.
//!
//! The walk is one loop over an explicit stack of the containers whose members matter (the
//! message, `params` and everything in it, `result`, a list and its items); every other value
//! is validated by [`Scanner::scan_value`] without a frame. Keeping the cursor and the stack in
//! one function is what makes a `tools/call` parse a few thousand instructions: a call and a
//! `Result` per token cost more than the token.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::borrow::BorrowMut;

use super::scan::{Scanner, StrSpan};
use super::value::{JsonStr, Kind, RawValue};
use crate::error::{Error, ErrorKind};
use crate::limits::Limits;

/// The members of `params` a policy reads, found while `params` is validated.
#[derive(Default)]
pub(crate) struct ParamsFields<'a> {
    pub(crate) name: Option<RawValue<'a>>,
    pub(crate) uri: Option<RawValue<'a>>,
    pub(crate) reference: Option<RawValue<'a>>,
    pub(crate) arguments: Option<RawValue<'a>>,
    pub(crate) meta: Option<RawValue<'a>>,
    pub(crate) task_id: Option<RawValue<'a>>,
}

/// The envelope members, found while the message is validated.
#[derive(Default)]
pub(crate) struct Fields<'a> {
    pub(crate) text: &'a str,
    pub(crate) version: Option<RawValue<'a>>,
    pub(crate) id: Option<RawValue<'a>>,
    pub(crate) method: Option<RawValue<'a>>,
    pub(crate) params: Option<RawValue<'a>>,
    pub(crate) result: Option<RawValue<'a>>,
    pub(crate) error: Option<RawValue<'a>>,
    pub(crate) p: ParamsFields<'a>,
}

/// One item of a list result: its exact text, and its identity member (`name`, `uri`,
/// `uriTemplate`) or why it has none usable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListItem<'a> {
    pub(crate) text: &'a str,
    pub(crate) identity: Result<JsonStr<'a>, &'static str>,
    /// Whether the item has a `_meta` member (which may link it to other names: MCP Apps).
    pub(crate) has_meta: bool,
}

/// What to look for in a list result, and what was found: filled during the one parse, so the
/// filter never walks the (often megabyte) list again.
#[derive(Debug)]
pub(crate) struct ListScan<'a> {
    pub(crate) key: &'static str,
    pub(crate) identity: &'static str,
    pub(crate) array: Option<RawValue<'a>>,
    pub(crate) items: Vec<ListItem<'a>>,
    /// `result.cacheScope` (2026-07-28): a filtered list must not stay `"public"`.
    pub(crate) cache_scope: Option<RawValue<'a>>,
}

impl ListScan<'_> {
    pub(crate) fn new(key: &'static str, identity: &'static str) -> Self {
        Self {
            key,
            identity,
            array: None,
            // Real servers list a few dozen items; starting there saves the first regrowths.
            items: Vec::with_capacity(32),
            cache_scope: None,
        }
    }
}

/// What a container is to the walk, which decides what its members are checked for and where
/// their values go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The message object.
    Root,
    /// `params` of the message.
    Params,
    /// Anything inside `params`: a condition may read any argument, so every object there is
    /// checked for repeated keys.
    Deep,
    /// `result` of the message: repeated keys refused at its level.
    Result,
    /// The list array of a list result.
    ListArray,
    /// One item of that list.
    ListItem,
}

impl Role {
    /// Whether objects in this role refuse repeated keys.
    fn checks_keys(self) -> bool {
        !matches!(self, Self::ListItem | Self::ListArray)
    }
}

/// Member slots: which field the value of the current member goes to (0 = none).
mod slot {
    pub(super) const NONE: u8 = 0;
    pub(super) const VERSION: u8 = 1;
    pub(super) const ID: u8 = 2;
    pub(super) const METHOD: u8 = 3;
    pub(super) const PARAMS: u8 = 4;
    pub(super) const RESULT: u8 = 5;
    pub(super) const ERROR: u8 = 6;
    pub(super) const NAME: u8 = 7;
    pub(super) const URI: u8 = 8;
    pub(super) const ARGUMENTS: u8 = 9;
    pub(super) const REF: u8 = 10;
    pub(super) const META: u8 = 11;
    /// The list member of `result`, or the identity member of a list item.
    pub(super) const LIST: u8 = 12;
    /// `cacheScope` of a list `result`.
    pub(super) const CACHE_SCOPE: u8 = 13;
    pub(super) const TASK_ID: u8 = 14;
    /// `_meta` of a list item.
    pub(super) const ITEM_META: u8 = 15;
}

#[derive(Clone, Copy)]
struct Frame {
    start: u32,
    /// Where the current member's key is (for error paths).
    key: StrSpan,
    is_object: bool,
    role: Role,
    slot: u8,
    /// Index of the current element (arrays), for error paths.
    index: u32,
    /// Where this object's keys start in the key stack, and how many it has.
    keys_base: u32,
    nkeys: u32,
    /// One bit per key hash seen in this object: a key whose bit is clear repeats no earlier
    /// key, so most keys are checked without comparing them to the others.
    seen: u64,
}

const EMPTY_FRAME: Frame = Frame {
    start: 0,
    key: StrSpan::EMPTY,
    is_object: false,
    role: Role::Root,
    slot: slot::NONE,
    index: 0,
    keys_base: 0,
    nkeys: 0,
    seen: 0,
};

/// Frames and keys live in fixed arrays for the common shapes; deeper or wider messages spill
/// to the heap.
const INLINE_FRAMES: usize = 8;
const INLINE_KEYS: usize = 24;
/// Up to this many keys an object is checked for repeats as each key arrives; past it, once by
/// sorting when it closes (so a huge object costs n log n, not n²).
const LINEAR_KEYS: usize = 16;

struct Stack {
    frames: [Frame; INLINE_FRAMES],
    more_frames: Vec<Frame>,
    depth: usize,
    keys: [Key; INLINE_KEYS],
    more_keys: Vec<Key>,
    nkeys: usize,
    /// Below this many keys an object takes the hashed check as each key arrives: the
    /// smaller of [`LINEAR_KEYS`] and `max_object_keys`, so that one compare per key also
    /// guards the limit.
    hashed_keys: usize,
}

impl Stack {
    fn new(limits: &Limits) -> Self {
        Self {
            frames: [EMPTY_FRAME; INLINE_FRAMES],
            more_frames: Vec::new(),
            depth: 0,
            keys: [EMPTY_KEY; INLINE_KEYS],
            more_keys: Vec::new(),
            nkeys: 0,
            hashed_keys: LINEAR_KEYS.min(limits.max_object_keys),
        }
    }

    /// Saves the parent of a container being entered.
    #[inline]
    fn push(&mut self, f: Frame) {
        if let Some(slot) = self.frames.get_mut(self.depth) {
            *slot = f;
        } else {
            self.more_frames.push(f);
        }
        self.depth = self.depth.wrapping_add(1);
    }

    /// The parent of the container just closed; `None` when that was the message.
    #[inline]
    fn pop(&mut self) -> Option<Frame> {
        self.depth = self.depth.checked_sub(1)?;
        if self.depth >= INLINE_FRAMES {
            return self.more_frames.pop();
        }
        self.frames.get(self.depth).copied()
    }

    fn frame(&self, i: usize) -> Frame {
        self.frames
            .get(i)
            .or_else(|| self.more_frames.get(i.wrapping_sub(INLINE_FRAMES)))
            .copied()
            .unwrap_or(EMPTY_FRAME)
    }

    #[inline]
    fn key(&self, i: usize) -> Key {
        match self.keys.get(i) {
            Some(k) => *k,
            None => self
                .more_keys
                .get(i - INLINE_KEYS)
                .copied()
                .unwrap_or(EMPTY_KEY),
        }
    }

    #[inline]
    fn push_key(&mut self, k: Key) {
        if let Some(slot) = self.keys.get_mut(self.nkeys) {
            *slot = k;
        } else {
            self.more_keys.push(k);
        }
        self.nkeys = self.nkeys.wrapping_add(1);
    }

    #[inline]
    fn truncate_keys(&mut self, n: usize) {
        self.nkeys = n;
        if n >= INLINE_KEYS {
            self.more_keys.truncate(n - INLINE_KEYS);
        } else if !self.more_keys.is_empty() {
            self.more_keys.clear();
        }
    }

    /// Records key `k` of object `cur`; returns whether an earlier key of it is the same
    /// (objects past [`LINEAR_KEYS`] are checked by [`Stack::repeated_key`] when they close).
    #[inline(always)]
    fn add_key(
        &mut self,
        sc: Scanner<'_>,
        cur: &mut Frame,
        k: Key,
        limits: &Limits,
    ) -> Result<bool, Error> {
        let mut dup = false;
        if (cur.nkeys as usize) < self.hashed_keys {
            let bit = 1u64 << key_hash(sc, k);
            if cur.seen & bit != 0 {
                dup = self.repeats_earlier(sc, cur, k);
            }
            cur.seen |= bit;
        } else if cur.nkeys as usize >= limits.max_object_keys {
            return Err(too_many_keys(limits, &self.render_path(sc, None)));
        }
        self.push_key(k);
        cur.nkeys = cur.nkeys.wrapping_add(1);
        Ok(dup)
    }

    /// Whether key `k` of object `cur` is the same as one of its earlier keys (asked only when
    /// an earlier key has the same hash).
    #[cold]
    #[inline(never)]
    fn repeats_earlier(&self, sc: Scanner<'_>, cur: &Frame, k: Key) -> bool {
        let raw = sc.span_bytes(k);
        (cur.keys_base as usize..self.nkeys).any(|i| {
            let e = self.key(i);
            sc.span_bytes(e) == raw || ((e.escaped() || k.escaped()) && same_key(sc, e, k))
        })
    }

    /// For an object past [`LINEAR_KEYS`] keys: the first key it repeats, if any.
    #[cold]
    #[inline(never)]
    fn repeated_key(&self, sc: Scanner<'_>, f: &Frame) -> Option<String> {
        let mut sorted: Vec<Cow<'_, str>> = (f.keys_base as usize
            ..(f.keys_base + f.nkeys) as usize)
            .map(|i| sc.span_str(self.key(i)).decode())
            .collect();
        sorted.sort_unstable();
        sorted
            .windows(2)
            .find(|w| w.first() == w.get(1))
            .and_then(|w| w.first().map(|k| String::from(k.as_ref())))
    }

    /// The JSON path of `cur` (and of `key` in it), as error messages give it:
    /// `params.arguments.x`, `result.tools[3]`.
    #[cold]
    #[inline(never)]
    fn render_path(&self, sc: Scanner<'_>, key: Option<&str>) -> String {
        let mut out = String::new();
        for i in 0..self.depth {
            let parent = self.frame(i);
            if parent.is_object {
                let k = sc.span_str(parent.key).decode();
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&k);
            } else {
                out.push_str(&alloc::format!("[{}]", parent.index));
            }
        }
        if let Some(k) = key {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(k);
        }
        out
    }
}

/// A key as written (where it is), compared byte for byte unless an escape is involved.
type Key = StrSpan;

const EMPTY_KEY: Key = StrSpan::EMPTY;

/// A bucket (0..64) of a key's decoded text: equal keys share it, whatever their escapes.
#[inline(always)]
fn key_hash(sc: Scanner<'_>, k: Key) -> u32 {
    if k.escaped() {
        return escaped_key_hash(sc, k);
    }
    text_hash(sc.span_bytes(k))
}

#[inline(always)]
fn text_hash(b: &[u8]) -> u32 {
    let first = u32::from(b.first().copied().unwrap_or(0));
    let last = u32::from(b.last().copied().unwrap_or(0));
    // Both ends and the length, mixed by one multiply (Fibonacci hashing, top six bits), tell
    // real keys apart (`name`/`arguments`, `total`/`total_gt`) at the cost of two loads.
    (first | last << 8 | (b.len() as u32) << 16).wrapping_mul(0x9E37_79B1) >> 26
}

#[cold]
#[inline(never)]
fn escaped_key_hash(sc: Scanner<'_>, k: Key) -> u32 {
    text_hash(sc.span_str(k).decode().as_bytes())
}

#[cold]
#[inline(never)]
fn same_key(sc: Scanner<'_>, a: Key, b: Key) -> bool {
    sc.span_str(a).decode() == sc.span_str(b).decode()
}

fn display(path: &str) -> &str {
    if path.is_empty() { "(message)" } else { path }
}

#[cold]
#[inline(never)]
fn too_many_keys(limits: &Limits, path: &str) -> Error {
    Error::new(
        ErrorKind::TooManyKeys,
        alloc::format!(
            "object has more than max_object_keys {}",
            limits.max_object_keys
        ),
    )
    .at_path(display(path))
}

#[cold]
#[inline(never)]
fn duplicate(path: String, key: &str) -> Error {
    Error::new(
        ErrorKind::DuplicateKey,
        alloc::format!("duplicate key `{key}`"),
    )
    .at_path(path)
}

/// The slot a member of a `role` container goes to.
#[inline(always)]
fn slot_of(sc: Scanner<'_>, role: Role, k: Key, list: Option<&ListScan<'_>>) -> u8 {
    if matches!(role, Role::Deep | Role::ListArray) {
        return slot::NONE;
    }
    // Member names that matter have no escapes when written by any real peer; an escaped one
    // is decoded (rare, allocates) so that `"n\u0061me"` still counts as `name`.
    let decoded;
    let raw = if k.escaped() {
        decoded = sc.span_str(k).decode();
        decoded.as_bytes()
    } else {
        sc.span_bytes(k)
    };
    match role {
        Role::Root => match raw {
            b"jsonrpc" => slot::VERSION,
            b"id" => slot::ID,
            b"method" => slot::METHOD,
            b"params" => slot::PARAMS,
            b"result" => slot::RESULT,
            b"error" => slot::ERROR,
            _ => slot::NONE,
        },
        Role::Params => match raw {
            b"name" => slot::NAME,
            b"uri" => slot::URI,
            b"arguments" => slot::ARGUMENTS,
            b"ref" => slot::REF,
            b"_meta" => slot::META,
            b"taskId" => slot::TASK_ID,
            _ => slot::NONE,
        },
        Role::Result => match list {
            Some(l) if raw == l.key.as_bytes() => slot::LIST,
            Some(_) if raw == b"cacheScope" => slot::CACHE_SCOPE,
            _ => slot::NONE,
        },
        Role::ListItem => match list {
            Some(l) if raw == l.identity.as_bytes() => slot::LIST,
            Some(_) if raw == b"_meta" => slot::ITEM_META,
            _ => slot::NONE,
        },
        Role::Deep | Role::ListArray => slot::NONE,
    }
}

/// The role of a container found as the current member/element of `parent`, or `None` when
/// it is only validated.
#[inline]
fn child_role(parent: &Frame, is_object: bool) -> Option<Role> {
    match (parent.role, parent.slot, is_object) {
        (Role::Root, slot::PARAMS, true) => Some(Role::Params),
        (Role::Root, slot::RESULT, true) => Some(Role::Result),
        (Role::Params | Role::Deep, _, _) => Some(Role::Deep),
        (Role::Result, slot::LIST, false) => Some(Role::ListArray),
        (Role::ListArray, _, true) => Some(Role::ListItem),
        _ => None,
    }
}

/// Where the walk puts what it finds.
struct Sink<'a, 'l, F> {
    /// The fields, or where they go (`&mut Fields`).
    f: F,
    list: Option<&'l mut ListScan<'a>>,
    /// The identity member of the list item being read: how often it appeared, and its value.
    item_count: u32,
    item_found: Option<RawValue<'a>>,
    /// Whether the list item being read has a `_meta` member.
    item_meta: bool,
}

impl<'a, F: BorrowMut<Fields<'a>>> Sink<'a, '_, F> {
    /// A value completed as the current member/element of `parent`.
    #[inline(always)]
    fn value(&mut self, parent: &Frame, v: RawValue<'a>, item_identity: Option<ItemIdentity<'a>>) {
        match parent.role {
            Role::Root => {
                let f = self.f.borrow_mut();
                let target = match parent.slot {
                    slot::VERSION => &mut f.version,
                    slot::ID => &mut f.id,
                    slot::METHOD => &mut f.method,
                    slot::PARAMS => &mut f.params,
                    slot::RESULT => &mut f.result,
                    slot::ERROR => &mut f.error,
                    _ => return,
                };
                *target = Some(v);
            }
            Role::Params => {
                let p = &mut self.f.borrow_mut().p;
                let target = match parent.slot {
                    slot::NAME => &mut p.name,
                    slot::URI => &mut p.uri,
                    slot::ARGUMENTS => &mut p.arguments,
                    slot::REF => &mut p.reference,
                    slot::META => &mut p.meta,
                    slot::TASK_ID => &mut p.task_id,
                    _ => return,
                };
                *target = Some(v);
            }
            Role::Result => {
                if let Some(l) = self.list.as_deref_mut() {
                    match parent.slot {
                        slot::LIST if v.kind() == Kind::Array => l.array = Some(v),
                        slot::CACHE_SCOPE => l.cache_scope = Some(v),
                        _ => {}
                    }
                }
            }
            Role::ListArray => {
                if let Some(l) = self.list.as_deref_mut() {
                    l.items.push(ListItem {
                        text: v.as_text(),
                        identity: item_identity.unwrap_or(Err("item is not an object")),
                        has_meta: core::mem::take(&mut self.item_meta),
                    });
                }
            }
            Role::ListItem => match parent.slot {
                slot::LIST => {
                    self.item_count += 1;
                    self.item_found = Some(v);
                }
                slot::ITEM_META => self.item_meta = true,
                _ => {}
            },
            Role::Deep => {}
        }
    }

    /// The identity of the list item that just closed. An item naming it twice, or not as a
    /// string, has no usable identity (which one would the client show?).
    fn item_identity(&mut self) -> ItemIdentity<'a> {
        let found = self.item_found.take().and_then(|v| v.as_json_str());
        let count = core::mem::take(&mut self.item_count);
        match (count, found) {
            (0, _) => Err("item without its identity member"),
            (1, Some(s)) => Ok(s),
            (1, None) => Err("identity member is not a string"),
            _ => Err("identity member repeated"),
        }
    }
}

type ItemIdentity<'a> = Result<JsonStr<'a>, &'static str>;

/// Scans one message object at the cursor (a `{` at nesting `depth`) into `fields` (the
/// fields, returned when done, or a `&mut` to where they go). Inlined into its callers so
/// that the members go straight into the message view: returned by value, the fields were
/// copied twice per parse (memmove was a tenth of the time). A single message is scanned
/// into its caller's fields through a `&mut` (no copy out at all, ~100 instructions); a list
/// answer keeps them by value, as the pointer cost its item loop more than the copy.
#[inline(always)]
pub(crate) fn message<'a, F: BorrowMut<Fields<'a>>>(
    scanner: &mut Scanner<'a>,
    limits: &Limits,
    depth: usize,
    list: Option<&mut ListScan<'a>>,
    fields: F,
) -> Result<F, Error> {
    // A local copy, whose address never escapes (see `Scanner`), so the cursor stays in a
    // register; written back once.
    let mut local = *scanner;
    let fields = walk(&mut local, limits, depth, list, fields)?;
    scanner.pos = local.pos;
    Ok(fields)
}

#[inline(always)]
fn walk<'a, F: BorrowMut<Fields<'a>>>(
    sc: &mut Scanner<'a>,
    limits: &Limits,
    depth: usize,
    list: Option<&mut ListScan<'a>>,
    fields: F,
) -> Result<F, Error> {
    let mut list = list;
    if let Some(l) = list.as_deref_mut() {
        l.items.clear();
        l.array = None;
        l.cache_scope = None;
    }
    let mut st = Stack::new(limits);
    let mut sink = Sink {
        f: fields,
        list,
        item_count: 0,
        item_found: None,
        item_meta: false,
    };
    // The innermost open container lives in a local; the stack holds its ancestors.
    let mut cur = Frame {
        start: sc.pos as u32,
        role: Role::Root,
        is_object: true,
        ..EMPTY_FRAME
    };
    sc.enter(depth)?;
    sc.skip_ws();
    let mut opened = true;
    loop {
        // At the start of a member or element, or at the closer of a container just opened.
        let closes_at_once = opened && sc.peek() == Some(if cur.is_object { b'}' } else { b']' });
        if closes_at_once {
            sc.bump(1);
            if close(sc, &mut st, &mut cur, &mut sink)? {
                return Ok(sink.f);
            }
        } else {
            if cur.is_object {
                let k = sc.key_span()?;
                cur.key = k;
                cur.slot = slot_of(*sc, cur.role, k, sink.list.as_deref());
                if cur.role.checks_keys() && st.add_key(*sc, &mut cur, k, limits)? {
                    let k = sc.span_str(k).decode();
                    return Err(duplicate(st.render_path(*sc, Some(&k)), &k));
                }
            }
            let start = sc.pos;
            let kind = match sc.peek() {
                Some(b'"') => {
                    sc.string_span()?;
                    Some(Kind::String)
                }
                Some(c @ (b'{' | b'[')) => {
                    let is_object = c == b'{';
                    if let Some(role) = child_role(&cur, is_object) {
                        sc.enter(depth + st.depth + 1)?;
                        let keys_base = st.nkeys as u32;
                        st.push(cur);
                        cur = Frame {
                            start: start as u32,
                            role,
                            is_object,
                            keys_base,
                            ..EMPTY_FRAME
                        };
                        sc.skip_ws();
                        if role != Role::Deep {
                            opened = true;
                            continue;
                        }
                        sc.pos = deep(*sc, &mut st, &mut cur, limits, depth)?;
                        if close(sc, &mut st, &mut cur, &mut sink)? {
                            return Ok(sink.f);
                        }
                        None
                    } else {
                        // Nobody reads inside it: validated by the scanner's frameless walk.
                        sc.skip_value(depth + st.depth)?;
                        Some(if is_object { Kind::Object } else { Kind::Array })
                    }
                }
                _ => Some(sc.scan_scalar()?),
            };
            // Only values someone reads are sliced out (two character-boundary checks).
            if let Some(kind) = kind
                && (cur.slot != slot::NONE || cur.role == Role::ListArray)
            {
                sink.value(&cur, sc.value_from(start, kind)?, None);
            }
        }
        // After a value: `,` and the next member, or closers.
        loop {
            sc.skip_ws();
            match sc.peek() {
                Some(b',') => {
                    sc.bump(1);
                    cur.index = cur.index.wrapping_add(1);
                    sc.skip_ws();
                    break;
                }
                Some(b'}') if cur.is_object => {}
                Some(b']') if !cur.is_object => {}
                _ => {
                    return Err(sc.syntax(if cur.is_object {
                        "expected `,` or `}` after an object member"
                    } else {
                        "expected `,` or `]` after an array element"
                    }));
                }
            }
            sc.bump(1);
            if close(sc, &mut st, &mut cur, &mut sink)? {
                return Ok(sink.f);
            }
        }
        opened = false;
    }
}

/// The walk of a container inside `params` (`cur`, already pushed, the cursor just inside it)
/// until it closes. Inside `params` nothing is read, only validated and checked for repeated
/// keys at every level (a condition may read any argument), so this loop has none of the main
/// loop's member slots and sinks: it is most of a `tools/call`. Returns with the cursor past
/// the closer and `cur` still the container's frame, for the caller to close.
#[inline(never)]
fn deep(
    mut scanner: Scanner<'_>,
    st: &mut Stack,
    frame: &mut Frame,
    limits: &Limits,
    depth: usize,
) -> Result<usize, Error> {
    let sc = &mut scanner;
    let mut local = *frame;
    let cur = &mut local;
    deep_walk(sc, st, cur, limits, depth)?;
    *frame = local;
    Ok(scanner.pos)
}

#[inline(always)]
fn deep_walk(
    sc: &mut Scanner<'_>,
    st: &mut Stack,
    cur: &mut Frame,
    limits: &Limits,
    depth: usize,
) -> Result<(), Error> {
    let base = st.depth;
    let mut opened = true;
    'member: loop {
        if opened && sc.peek() == Some(if cur.is_object { b'}' } else { b']' }) {
            sc.bump(1);
            if close_deep(*sc, st, cur, base)? {
                return Ok(());
            }
        } else {
            if cur.is_object {
                let k = sc.key_span()?;
                cur.key = k;
                if st.add_key(*sc, cur, k, limits)? {
                    let k = sc.span_str(k).decode();
                    return Err(duplicate(st.render_path(*sc, Some(&k)), &k));
                }
            }
            match sc.peek() {
                Some(c @ (b'{' | b'[')) => {
                    let start = sc.pos as u32;
                    sc.enter(depth + st.depth + 1)?;
                    let keys_base = st.nkeys as u32;
                    st.push(*cur);
                    *cur = Frame {
                        start,
                        role: Role::Deep,
                        is_object: c == b'{',
                        keys_base,
                        ..EMPTY_FRAME
                    };
                    sc.skip_ws();
                    opened = true;
                    continue;
                }
                _ => {
                    sc.scan_scalar()?;
                }
            }
        }
        // After a value of `cur`: `,` and its next member, or its closer (and its parents'
        // while they end too).
        loop {
            match sc.next_byte() {
                Some(b',') => {
                    sc.bump(1);
                    cur.index = cur.index.wrapping_add(1);
                    sc.skip_ws();
                    opened = false;
                    continue 'member;
                }
                Some(b'}') if cur.is_object => {}
                Some(b']') if !cur.is_object => {}
                _ => return Err(after_value_error(*sc, cur)),
            }
            sc.bump(1);
            if close_deep(*sc, st, cur, base)? {
                return Ok(());
            }
        }
    }
}

/// `cur` has just been closed inside [`deep`]: checks its keys, and its parent becomes `cur`;
/// returns `true` when it was the container [`deep`] started with (left for the caller).
#[inline(always)]
fn close_deep(
    sc: Scanner<'_>,
    st: &mut Stack,
    cur: &mut Frame,
    base: usize,
) -> Result<bool, Error> {
    if st.depth == base {
        return Ok(true);
    }
    if cur.nkeys as usize > LINEAR_KEYS
        && let Some(k) = st.repeated_key(sc, cur)
    {
        return Err(duplicate(st.render_path(sc, Some(&k)), &k));
    }
    st.truncate_keys(cur.keys_base as usize);
    *cur = st.pop().unwrap_or(EMPTY_FRAME);
    Ok(false)
}

#[cold]
#[inline(never)]
fn after_value_error(sc: Scanner<'_>, cur: &Frame) -> Error {
    sc.syntax(if cur.is_object {
        "expected `,` or `}` after an object member"
    } else {
        "expected `,` or `]` after an array element"
    })
}

/// `cur` has just been closed (the cursor is past its closer): checks its keys, hands its span
/// to its parent, which becomes `cur`; returns `true` when it was the message itself.
#[inline(always)]
fn close<'a, F: BorrowMut<Fields<'a>>>(
    sc: &mut Scanner<'a>,
    st: &mut Stack,
    cur: &mut Frame,
    sink: &mut Sink<'a, '_, F>,
) -> Result<bool, Error> {
    if cur.nkeys as usize > LINEAR_KEYS
        && let Some(k) = st.repeated_key(*sc, cur)
    {
        return Err(duplicate(st.render_path(*sc, Some(&k)), &k));
    }
    let kind = if cur.is_object {
        Kind::Object
    } else {
        Kind::Array
    };
    let v = sc.value_from(cur.start as usize, kind)?;
    let Some(parent) = st.pop() else {
        sink.f.borrow_mut().text = v.as_text();
        return Ok(true);
    };
    st.truncate_keys(cur.keys_base as usize);
    let identity = (cur.role == Role::ListItem).then(|| sink.item_identity());
    *cur = parent;
    sink.value(cur, v, identity);
    Ok(false)
}
