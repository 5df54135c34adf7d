//! One pass over a message: validation, duplicate-key checks and the positions of the members
//! a policy reads, together. Walking the text again for each of those (as a generic validator
//! followed by lookups would) costs several times the parse itself on the hot path.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::scan::Scanner;
use super::value::{JsonStr, Kind, RawValue};
use crate::error::{Error, ErrorKind};
use crate::limits::Limits;

/// Where an object sits, rendered only when there is an error to report: building path
/// strings for every nested value would allocate on the hot path.
#[derive(Clone, Copy)]
pub(crate) enum Path<'p> {
    Root,
    Key(&'p Path<'p>, JsonStr<'p>),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    pub(crate) fn render(&self) -> String {
        match self {
            Self::Root => String::new(),
            Self::Key(parent, k) => join(&parent.render(), &k.decode()),
            Self::Index(parent, i) => alloc::format!("{}[{i}]", parent.render()),
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        String::from(key)
    } else {
        alloc::format!("{path}.{key}")
    }
}

/// The keys of one object, compared after decoding escapes. The first sixteen live on the
/// stack; bigger objects spill to the heap and are checked by sorting at the end.
struct KeySet<'a> {
    inline: [Option<JsonStr<'a>>; 16],
    n: usize,
    spill: Vec<Cow<'a, str>>,
}

impl<'a> KeySet<'a> {
    fn new() -> Self {
        Self {
            inline: [None; 16],
            n: 0,
            spill: Vec::new(),
        }
    }

    /// Adds `k`; returns whether it was already there (for small sets; big ones are checked
    /// by [`KeySet::finish`]).
    fn insert(&mut self, k: JsonStr<'a>, limits: &Limits, path: &Path<'_>) -> Result<bool, Error> {
        self.n += 1;
        if self.n > limits.max_object_keys {
            return Err(Error::new(
                ErrorKind::TooManyKeys,
                alloc::format!(
                    "object has more than max_object_keys {}",
                    limits.max_object_keys
                ),
            )
            .at_path(display(&path.render())));
        }
        if self.n <= self.inline.len() {
            let earlier = self.inline.iter().take(self.n - 1).flatten();
            let dup = earlier.clone().any(|e| same_key(*e, k));
            if let Some(slot) = self.inline.get_mut(self.n - 1) {
                *slot = Some(k);
            }
            return Ok(dup);
        }
        if self.spill.is_empty() {
            self.spill
                .extend(self.inline.iter().flatten().map(|e| e.decode()));
        }
        self.spill.push(k.decode());
        Ok(false)
    }

    /// For spilled sets: the first repeated key, if any.
    fn finish(&self) -> Option<&str> {
        if self.spill.is_empty() {
            return None;
        }
        let mut sorted: Vec<&str> = self.spill.iter().map(|c| c.as_ref()).collect();
        sorted.sort_unstable();
        sorted
            .windows(2)
            .find(|w| w.first() == w.get(1))
            .and_then(|w| w.first().copied())
    }
}

fn same_key(a: JsonStr<'_>, b: JsonStr<'_>) -> bool {
    if !a.has_escapes() && !b.has_escapes() {
        return a.raw() == b.raw();
    }
    a.decode() == b.decode()
}

fn display(path: &str) -> &str {
    if path.is_empty() { "(message)" } else { path }
}

pub(crate) fn duplicate(path: &Path<'_>, key: &str) -> Error {
    let at = join(&path.render(), key);
    Error::new(
        ErrorKind::DuplicateKey,
        alloc::format!("duplicate key `{key}`"),
    )
    .at_path(at)
}

/// The members of `params` a policy reads, found while `params` is validated.
#[derive(Default)]
pub(crate) struct ParamsFields<'a> {
    pub(crate) name: Option<RawValue<'a>>,
    pub(crate) uri: Option<RawValue<'a>>,
    pub(crate) reference: Option<RawValue<'a>>,
    pub(crate) arguments: Option<RawValue<'a>>,
    pub(crate) meta: Option<RawValue<'a>>,
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

/// The skeleton every object walk shares: enter at `depth`, read each key (refusing repeats,
/// compared after decoding), let `member` consume the value, and return the object's span.
fn walk_object<'a>(
    sc: &mut Scanner<'a>,
    limits: &Limits,
    depth: usize,
    path: &Path<'_>,
    mut member: impl FnMut(&mut Scanner<'a>, JsonStr<'a>) -> Result<(), Error>,
) -> Result<RawValue<'a>, Error> {
    let start = sc.pos;
    sc.enter(depth)?;
    let mut keys = KeySet::new();
    sc.skip_ws();
    if sc.peek() == Some(b'}') {
        sc.pos += 1;
        return sc.value_from(start, Kind::Object);
    }
    loop {
        let k = sc.key()?;
        if keys.insert(k, limits, path)? {
            return Err(duplicate(path, &k.decode()));
        }
        member(sc, k)?;
        if !sc.next_or_close(b'}')? {
            break;
        }
    }
    if let Some(k) = keys.finish() {
        return Err(duplicate(path, k));
    }
    sc.value_from(start, Kind::Object)
}

/// Scans one message object at the cursor (a `{` at nesting `depth`).
pub(crate) fn message<'a>(
    sc: &mut Scanner<'a>,
    limits: &Limits,
    depth: usize,
    mut list: Option<&mut ListScan<'a>>,
) -> Result<Fields<'a>, Error> {
    let mut f = Fields::default();
    let root = Path::Root;
    let text = walk_object(sc, limits, depth, &root, |sc, k| {
        let here = Path::Key(&root, k);
        let (slot, v) = if k.eq_str("params") && sc.peek() == Some(b'{') {
            // Everything in `params` is checked for duplicates: a condition may read any
            // argument and must see what the server will see.
            let v = object(sc, limits, depth + 1, true, &here, Some(&mut f.p))?;
            (&mut f.params, v)
        } else if k.eq_str("result") && sc.peek() == Some(b'{') {
            let v = match list.as_deref_mut() {
                Some(l) => result_with_list(sc, limits, depth + 1, &here, l)?,
                None => object(sc, limits, depth + 1, false, &here, None)?,
            };
            (&mut f.result, v)
        } else {
            let v = sc.scan_value(depth)?;
            let slot = if k.eq_str("jsonrpc") {
                &mut f.version
            } else if k.eq_str("id") {
                &mut f.id
            } else if k.eq_str("method") {
                &mut f.method
            } else if k.eq_str("params") {
                &mut f.params
            } else if k.eq_str("result") {
                &mut f.result
            } else if k.eq_str("error") {
                &mut f.error
            } else {
                return Ok(());
            };
            (slot, v)
        };
        *slot = Some(v);
        Ok(())
    })?;
    f.text = text.as_text();
    Ok(f)
}

/// Validates an object at the cursor (nesting `depth`), refusing repeated keys; with `deep`,
/// nested objects and arrays are checked the same way. `fields` collects the members of
/// `params` a policy reads.
fn object<'a>(
    sc: &mut Scanner<'a>,
    limits: &Limits,
    depth: usize,
    deep: bool,
    path: &Path<'_>,
    mut fields: Option<&mut ParamsFields<'a>>,
) -> Result<RawValue<'a>, Error> {
    walk_object(sc, limits, depth, path, |sc, k| {
        let v = match sc.peek() {
            Some(b'{') if deep => object(sc, limits, depth + 1, deep, &Path::Key(path, k), None)?,
            Some(b'[') if deep => array(sc, limits, depth + 1, &Path::Key(path, k))?,
            _ => sc.scan_value(depth)?,
        };
        if let Some(f) = fields.as_deref_mut() {
            let slot = if k.eq_str("name") {
                &mut f.name
            } else if k.eq_str("uri") {
                &mut f.uri
            } else if k.eq_str("arguments") {
                &mut f.arguments
            } else if k.eq_str("ref") {
                &mut f.reference
            } else if k.eq_str("_meta") {
                &mut f.meta
            } else {
                return Ok(());
            };
            *slot = Some(v);
        }
        Ok(())
    })
}

fn array<'a>(
    sc: &mut Scanner<'a>,
    limits: &Limits,
    depth: usize,
    path: &Path<'_>,
) -> Result<RawValue<'a>, Error> {
    let start = sc.pos;
    sc.enter(depth)?;
    sc.skip_ws();
    if sc.peek() == Some(b']') {
        sc.pos += 1;
        return sc.value_from(start, Kind::Array);
    }
    let mut i = 0usize;
    loop {
        match sc.peek() {
            Some(b'{') => {
                object(sc, limits, depth + 1, true, &Path::Index(path, i), None)?;
            }
            Some(b'[') => {
                array(sc, limits, depth + 1, &Path::Index(path, i))?;
            }
            _ => {
                sc.scan_value(depth)?;
            }
        }
        i += 1;
        if !sc.next_or_close(b']')? {
            break;
        }
    }
    sc.value_from(start, Kind::Array)
}

/// One item of a list result: its exact text, and its identity member (`name`, `uri`,
/// `uriTemplate`) or why it has none usable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListItem<'a> {
    pub(crate) text: &'a str,
    pub(crate) identity: Result<JsonStr<'a>, &'static str>,
}

/// What to look for in a list result, and what was found: filled during the one parse, so the
/// filter never walks the (often megabyte) list again.
#[derive(Debug)]
pub(crate) struct ListScan<'a> {
    pub(crate) key: &'static str,
    pub(crate) identity: &'static str,
    pub(crate) array: Option<RawValue<'a>>,
    pub(crate) items: Vec<ListItem<'a>>,
}

impl ListScan<'_> {
    pub(crate) fn new(key: &'static str, identity: &'static str) -> Self {
        Self {
            key,
            identity,
            array: None,
            items: Vec::new(),
        }
    }
}

/// `result` with duplicate keys refused at its level, and the list array read item by item.
fn result_with_list<'a>(
    sc: &mut Scanner<'a>,
    limits: &Limits,
    depth: usize,
    path: &Path<'_>,
    list: &mut ListScan<'a>,
) -> Result<RawValue<'a>, Error> {
    walk_object(sc, limits, depth, path, |sc, k| {
        if k.eq_str(list.key) && sc.peek() == Some(b'[') {
            list.array = Some(list_array(sc, depth + 1, list)?);
        } else {
            sc.scan_value(depth)?;
        }
        Ok(())
    })
}

fn list_array<'a>(
    sc: &mut Scanner<'a>,
    depth: usize,
    list: &mut ListScan<'a>,
) -> Result<RawValue<'a>, Error> {
    let start = sc.pos;
    sc.enter(depth)?;
    list.items.clear();
    sc.skip_ws();
    if sc.peek() == Some(b']') {
        sc.pos += 1;
        return sc.value_from(start, Kind::Array);
    }
    loop {
        let item_start = sc.pos;
        let identity = if sc.peek() == Some(b'{') {
            list_item(sc, depth + 1, list.identity)?
        } else {
            sc.scan_value(depth)?;
            Err("item is not an object")
        };
        let text = sc.value_from(item_start, Kind::Object)?.as_text();
        list.items.push(ListItem { text, identity });
        if !sc.next_or_close(b']')? {
            break;
        }
    }
    sc.value_from(start, Kind::Array)
}

/// Validates one item object and finds its identity member. An item naming it twice, or not
/// as a string, has no usable identity (which one would the client show?).
fn list_item<'a>(
    sc: &mut Scanner<'a>,
    depth: usize,
    identity: &str,
) -> Result<Result<JsonStr<'a>, &'static str>, Error> {
    sc.enter(depth)?;
    let mut found: Option<RawValue<'a>> = None;
    let mut count = 0u32;
    sc.skip_ws();
    if sc.peek() == Some(b'}') {
        sc.pos += 1;
    } else {
        loop {
            let k = sc.key()?;
            let v = sc.scan_value(depth)?;
            if k.eq_str(identity) {
                count += 1;
                found = Some(v);
            }
            if !sc.next_or_close(b'}')? {
                break;
            }
        }
    }
    Ok(match (count, found.and_then(|v| v.as_json_str())) {
        (0, _) => Err("item without its identity member"),
        (1, Some(s)) => Ok(s),
        (1, None) => Err("identity member is not a string"),
        _ => Err("identity member repeated"),
    })
}
