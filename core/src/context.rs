//! What the host tells the engine about the exchange (ARCHITECTURE.md §3): the HTTP request and
//! response, the execution attributes (claims, roles, client id…), the API, the subscription
//! and extra variables. Conditions read it through `#request`, `#response`,
//! `#context.attributes`, `#api`, `#properties`, `#subscription` and `#name`.
//!
//! Every part borrows: [`Context::from_json`] keeps views into the JSON text (strings are
//! decoded only when they contain escapes), and the [`ContextBuilder`] accepts borrowed or owned
//! strings. Nothing here is copied to evaluate a condition.
//!
//! ```
//! use mcp_policy::Context;
//! let ctx = Context::builder()
//!     .header("X-Role", "admin")
//!     .attribute("user.roles", ["mcp:tools"])
//!     .build();
//! assert_eq!(ctx.request.headers.get_all("x-role").unwrap(), ["admin"]);
//! assert!(ctx.attributes.get("user.roles").is_some());
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, ErrorKind};
use crate::jsonrpc::{Kind, RawValue};

/// Request headers that conditions never see: credentials and cookies. The host's plan checks
/// credentials; a condition that read them would put secrets in policies and logs.
pub const HIDDEN_HEADERS: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-gravitee-api-key",
];

/// Whether conditions may see the request header `name` (see [`HIDDEN_HEADERS`]).
pub fn is_visible_header(name: &str) -> bool {
    // Every header of every request passes here: the length settles nearly all of them.
    let hidden = match name.len() {
        6 => "cookie",
        9 => "x-api-key",
        10 => "set-cookie",
        13 => "authorization",
        18 => "x-gravitee-api-key",
        19 => "proxy-authorization",
        _ => return true,
    };
    !hidden.eq_ignore_ascii_case(name)
}

/// The prefix under which Gravitee stores gateway-set attributes; lookups fall back to it, so
/// `attributes['api']` finds `gravitee.attribute.api`.
pub const ATTRIBUTE_PREFIX: &str = "gravitee.attribute.";

/// A value the host hands to conditions: attributes, API properties, subscription metadata,
/// variables. Strings, lists and maps borrow where they can; [`Data::Json`] is a view of JSON
/// text that is only walked when a condition reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Data<'a> {
    /// No value.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// A list.
    List(Vec<Data<'a>>),
    /// A map, in insertion order (the last entry wins when a key repeats).
    Map(Vec<(Cow<'a, str>, Data<'a>)>),
    /// A validated JSON value, read lazily (objects are maps, arrays are lists).
    Json(RawValue<'a>),
}

impl<'a> Data<'a> {
    /// An empty map.
    pub fn empty_map() -> Self {
        Data::Map(Vec::new())
    }

    /// Converts a `serde_json::Value` (as produced by the OAuth module) into owned data.
    pub fn from_serde(v: serde_json::Value) -> Data<'static> {
        use serde_json::Value as J;
        match v {
            J::Null => Data::Null,
            J::Bool(b) => Data::Bool(b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Data::Int(i),
                None => Data::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Data::Str(Cow::Owned(s)),
            J::Array(a) => Data::List(a.into_iter().map(Data::from_serde).collect()),
            J::Object(o) => Data::Map(
                o.into_iter()
                    .map(|(k, v)| (Cow::Owned(k), Data::from_serde(v)))
                    .collect(),
            ),
        }
    }
}

impl<'a> From<&'a str> for Data<'a> {
    fn from(s: &'a str) -> Self {
        Data::Str(Cow::Borrowed(s))
    }
}
impl From<String> for Data<'_> {
    fn from(s: String) -> Self {
        Data::Str(Cow::Owned(s))
    }
}
impl<'a> From<Cow<'a, str>> for Data<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Data::Str(s)
    }
}
impl From<bool> for Data<'_> {
    fn from(b: bool) -> Self {
        Data::Bool(b)
    }
}
impl From<i64> for Data<'_> {
    fn from(i: i64) -> Self {
        Data::Int(i)
    }
}
impl From<i32> for Data<'_> {
    fn from(i: i32) -> Self {
        Data::Int(i64::from(i))
    }
}
impl From<f64> for Data<'_> {
    fn from(f: f64) -> Self {
        Data::Float(f)
    }
}
impl<'a> From<RawValue<'a>> for Data<'a> {
    fn from(v: RawValue<'a>) -> Self {
        Data::Json(v)
    }
}
impl From<serde_json::Value> for Data<'_> {
    fn from(v: serde_json::Value) -> Self {
        Data::from_serde(v)
    }
}
impl<'a, T: Into<Data<'a>>> From<Vec<T>> for Data<'a> {
    fn from(v: Vec<T>) -> Self {
        Data::List(v.into_iter().map(Into::into).collect())
    }
}
impl<'a, T: Into<Data<'a>>, const N: usize> From<[T; N]> for Data<'a> {
    fn from(v: [T; N]) -> Self {
        Data::List(v.into_iter().map(Into::into).collect())
    }
}
impl<'a, T: Into<Data<'a>>> From<Option<T>> for Data<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Data::Null, Into::into)
    }
}

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

fn own_opt(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    c.map(own)
}

impl Data<'_> {
    /// The same value, owning everything (a JSON view becomes lists and maps).
    pub fn into_owned(self) -> Data<'static> {
        match self {
            Data::Null => Data::Null,
            Data::Bool(b) => Data::Bool(b),
            Data::Int(i) => Data::Int(i),
            Data::Float(f) => Data::Float(f),
            Data::Str(s) => Data::Str(own(s)),
            Data::List(l) => Data::List(l.into_iter().map(Data::into_owned).collect()),
            Data::Map(m) => Data::Map(
                m.into_iter()
                    .map(|(k, v)| (own(k), v.into_owned()))
                    .collect(),
            ),
            Data::Json(raw) => raw_to_owned(raw),
        }
    }
}

fn raw_to_owned(v: RawValue<'_>) -> Data<'static> {
    match v.kind() {
        Kind::Null => Data::Null,
        Kind::Bool => Data::Bool(v.as_bool().unwrap_or(false)),
        Kind::Number => match v.as_i64() {
            Some(i) => Data::Int(i),
            None => Data::Float(v.as_f64().unwrap_or(f64::NAN)),
        },
        Kind::String => Data::Str(Cow::Owned(
            v.as_str().map(Cow::into_owned).unwrap_or_default(),
        )),
        Kind::Array => Data::List(v.elements().map(raw_to_owned).collect()),
        Kind::Object => Data::Map(
            v.members()
                .map(|(k, m)| (Cow::Owned(k.decode().into_owned()), raw_to_owned(m)))
                .collect(),
        ),
    }
}

/// A multi-valued map: HTTP headers (case-insensitive names) or query parameters
/// (case-sensitive). Each name maps to a list of values, as in Gravitee.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiMap<'a> {
    entries: Vec<(Cow<'a, str>, Values<'a>)>,
    case_insensitive: bool,
}

/// The values of one name. Almost every header is sent once, so a single value is kept inline:
/// a host adding borrowed headers allocates the table and nothing per header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Values<'a> {
    One(Cow<'a, str>),
    /// Two or more.
    Many(Vec<Cow<'a, str>>),
}

impl<'a> Values<'a> {
    fn as_slice(&self) -> &[Cow<'a, str>] {
        match self {
            Self::One(v) => core::slice::from_ref(v),
            Self::Many(vs) => vs,
        }
    }

    fn push(&mut self, value: Cow<'a, str>) {
        match self {
            Self::Many(vs) => vs.push(value),
            Self::One(first) => {
                let first = core::mem::take(first);
                *self = Self::Many(alloc::vec![first, value]);
            }
        }
    }
}

/// Room reserved by the first insertion into a [`MultiMap`]: a request carries a handful of
/// headers, so one allocation instead of growing at 4 and again at 8.
const FIRST_CAPACITY: usize = 8;

impl<'a> MultiMap<'a> {
    /// An empty map of HTTP headers (names compared ignoring ASCII case).
    pub fn headers() -> Self {
        Self {
            entries: Vec::new(),
            case_insensitive: true,
        }
    }

    /// An empty map of query parameters (names compared exactly).
    pub fn params() -> Self {
        Self {
            entries: Vec::new(),
            case_insensitive: false,
        }
    }

    fn same(&self, a: &str, b: &str) -> bool {
        if self.case_insensitive {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    }

    /// Appends one value to `name` (a header sent twice has two values).
    ///
    /// A map of headers never takes the credentials and cookies of [`HIDDEN_HEADERS`]: whatever
    /// way a host builds a context (builder, JSON document, header list), conditions cannot read
    /// them.
    pub fn add(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        let name = name.into();
        if self.case_insensitive && !is_visible_header(&name) {
            return;
        }
        let value = value.into();
        let case_insensitive = self.case_insensitive;
        let found = self.entries.iter_mut().find(|(n, _)| {
            if case_insensitive {
                n.eq_ignore_ascii_case(&name)
            } else {
                *n == name
            }
        });
        match found {
            Some((_, values)) => values.push(value),
            None => {
                if self.entries.capacity() == 0 {
                    self.entries.reserve_exact(FIRST_CAPACITY);
                }
                self.entries.push((name, Values::One(value)));
            }
        }
    }

    /// All values of `name`, or `None` when it is absent.
    pub fn get_all(&self, name: &str) -> Option<&[Cow<'a, str>]> {
        self.entries
            .iter()
            .find(|(n, _)| self.same(n, name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`.
    pub fn get_first(&self, name: &str) -> Option<&str> {
        self.get_all(name)?.first().map(|c| c.as_ref())
    }

    /// Whether `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get_all(name).is_some()
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether names are compared ignoring ASCII case (headers).
    pub fn is_case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// Iterates `(name, values)` in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Cow<'a, str>])> {
        self.entries.iter().map(|(n, v)| (n.as_ref(), v.as_slice()))
    }

    /// The same map, owning its strings.
    pub fn into_owned(self) -> MultiMap<'static> {
        MultiMap {
            entries: self
                .entries
                .into_iter()
                .map(|(n, v)| {
                    let v = match v {
                        Values::One(x) => Values::One(own(x)),
                        Values::Many(xs) => Values::Many(xs.into_iter().map(own).collect()),
                    };
                    (own(n), v)
                })
                .collect(),
            case_insensitive: self.case_insensitive,
        }
    }
}

/// The execution attributes (`#context.attributes`). Lookups fall back to the
/// `gravitee.attribute.` prefix; the last insertion of a name wins.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes<'a> {
    entries: Vec<(Cow<'a, str>, Data<'a>)>,
}

impl<'a> Attributes<'a> {
    /// Sets `name` to `value` (replacing an earlier value of the same name).
    pub fn insert(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Data<'a>>) {
        let name = name.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.entries.push((name, value)),
        }
    }

    /// Inserts the `(name, value)` pairs the OAuth module produces (`user`, `user.roles`,
    /// `jwt.claims`, `oauth.payload`, `client_id`).
    pub fn extend_json(&mut self, pairs: impl IntoIterator<Item = (String, serde_json::Value)>) {
        for (k, v) in pairs {
            self.insert(Cow::<'a, str>::Owned(k), Data::from_serde(v));
        }
    }

    /// The value of `name`, else of the same name with or without the `gravitee.attribute.`
    /// prefix: Gravitee stores gateway attributes prefixed and looks plain names up under the
    /// prefix, while hosts here set them plain, so conditions written either way must agree.
    pub fn get(&self, name: &str) -> Option<&Data<'a>> {
        let bare = name.strip_prefix(ATTRIBUTE_PREFIX);
        let mut other = None;
        for (n, v) in &self.entries {
            if n.as_ref() == name {
                return Some(v);
            }
            if other.is_none()
                && (n.strip_prefix(ATTRIBUTE_PREFIX) == Some(name) || Some(n.as_ref()) == bare)
            {
                other = Some(v);
            }
        }
        other
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no attribute.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates `(name, value)` in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Data<'a>)> {
        self.entries.iter().map(|(n, v)| (n.as_ref(), v))
    }

    /// The same attributes, owning everything.
    pub fn into_owned(self) -> Attributes<'static> {
        Attributes {
            entries: self
                .entries
                .into_iter()
                .map(|(n, v)| (own(n), v.into_owned()))
                .collect(),
        }
    }
}

impl<'a, K: Into<Cow<'a, str>>, V: Into<Data<'a>>> FromIterator<(K, V)> for Attributes<'a> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut a = Attributes::default();
        for (k, v) in iter {
            a.insert(k, v);
        }
        a
    }
}

/// `#request`: the HTTP request as the gateway received it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request<'a> {
    /// HTTP method (`POST`).
    pub method: Option<Cow<'a, str>>,
    /// `http` or `https`.
    pub scheme: Option<Cow<'a, str>>,
    /// Host (authority) the client addressed.
    pub host: Option<Cow<'a, str>>,
    /// Full request path.
    pub path: Option<Cow<'a, str>>,
    /// Path below the API's context path.
    pub path_info: Option<Cow<'a, str>>,
    /// The API's context path.
    pub context_path: Option<Cow<'a, str>>,
    /// Client address.
    pub remote_address: Option<Cow<'a, str>>,
    /// Headers: case-insensitive names, each a list of values.
    pub headers: MultiMap<'a>,
    /// Query parameters: each a list of values.
    pub params: MultiMap<'a>,
    /// Raw body as text; when absent, the message being judged is used.
    pub content: Option<Cow<'a, str>>,
}

/// `#response`: the upstream response, once there is one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response<'a> {
    /// HTTP status.
    pub status: Option<u16>,
    /// Headers: case-insensitive names, each a list of values.
    pub headers: MultiMap<'a>,
    /// Body as text.
    pub content: Option<Cow<'a, str>>,
}

/// `#api`: the API the request belongs to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Api<'a> {
    /// API id.
    pub id: Option<Cow<'a, str>>,
    /// API name.
    pub name: Option<Cow<'a, str>>,
    /// API version.
    pub version: Option<Cow<'a, str>>,
    /// API properties (`#api.properties`, `#properties`); a map.
    pub properties: Data<'a>,
}

/// `#subscription`: the plan subscription that resolved the caller.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subscription<'a> {
    /// Subscription id.
    pub id: Option<Cow<'a, str>>,
    /// Subscription type.
    pub kind: Option<Cow<'a, str>>,
    /// Subscribing application's name.
    pub application_name: Option<Cow<'a, str>>,
    /// Client id.
    pub client_id: Option<Cow<'a, str>>,
    /// Metadata map.
    pub metadata: Data<'a>,
}

/// Everything the host tells the engine about one exchange (ARCHITECTURE.md §3). Every part is optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Context<'a> {
    /// `#request`.
    pub request: Request<'a>,
    /// `#response`.
    pub response: Response<'a>,
    /// `#context.attributes`.
    pub attributes: Attributes<'a>,
    /// `#api` (and `#properties`).
    pub api: Api<'a>,
    /// `#subscription`.
    pub subscription: Subscription<'a>,
    /// Extra variables, read as `#name`; a map.
    pub variables: Data<'a>,
}

impl Context<'_> {
    /// The same context, owning everything: what a host keeps for a whole stream or session
    /// (JSON views are turned into lists and maps once).
    pub fn into_owned(self) -> Context<'static> {
        let Context {
            request,
            response,
            attributes,
            api,
            subscription,
            variables,
        } = self;
        Context {
            request: Request {
                method: own_opt(request.method),
                scheme: own_opt(request.scheme),
                host: own_opt(request.host),
                path: own_opt(request.path),
                path_info: own_opt(request.path_info),
                context_path: own_opt(request.context_path),
                remote_address: own_opt(request.remote_address),
                headers: request.headers.into_owned(),
                params: request.params.into_owned(),
                content: own_opt(request.content),
            },
            response: Response {
                status: response.status,
                headers: response.headers.into_owned(),
                content: own_opt(response.content),
            },
            attributes: attributes.into_owned(),
            api: Api {
                id: own_opt(api.id),
                name: own_opt(api.name),
                version: own_opt(api.version),
                properties: api.properties.into_owned(),
            },
            subscription: Subscription {
                id: own_opt(subscription.id),
                kind: own_opt(subscription.kind),
                application_name: own_opt(subscription.application_name),
                client_id: own_opt(subscription.client_id),
                metadata: subscription.metadata.into_owned(),
            },
            variables: variables.into_owned(),
        }
    }
}

impl<'a> Context<'a> {
    /// The context a host without Rust types builds per call: the request headers as
    /// `(name, value)` pairs (those conditions may not see, and values that are not UTF-8,
    /// are skipped; see [`HIDDEN_HEADERS`]) and the attributes as one JSON object (`null` or
    /// absent for none), read lazily like [`Context::from_json`]'s.
    ///
    /// ```
    /// use mcp_policy::Context;
    /// let headers: &[(&[u8], &[u8])] = &[(b"X-Role", b"admin"), (b"Authorization", b"Bearer t")];
    /// let ctx = Context::from_parts(headers, Some(r#"{"user.roles":["mcp:tools"]}"#)).unwrap();
    /// assert_eq!(ctx.request.headers.get_first("x-role"), Some("admin"));
    /// assert!(ctx.request.headers.get_first("authorization").is_none());
    /// assert!(ctx.attributes.get("user.roles").is_some());
    /// ```
    pub fn from_parts(
        headers: &[(&'a [u8], &'a [u8])],
        attributes_json: Option<&'a str>,
    ) -> Result<Context<'a>, Error> {
        let mut ctx = Context::builder().ctx;
        for (name, value) in headers {
            if let (Ok(n), Ok(v)) = (core::str::from_utf8(name), core::str::from_utf8(value)) {
                ctx.request.headers.add(n, v);
            }
        }
        if let Some(text) = attributes_json {
            let root = RawValue::parse(text)?;
            match root.kind() {
                Kind::Null => {}
                Kind::Object => {
                    for (name, value) in root.members() {
                        ctx.attributes.insert(name.decode(), Data::Json(value));
                    }
                }
                k => return Err(bad("attributes", "an object", k)),
            }
        }
        Ok(ctx)
    }

    /// Starts a builder for Rust hosts.
    pub fn builder() -> ContextBuilder<'a> {
        ContextBuilder {
            ctx: Context {
                request: Request {
                    headers: MultiMap::headers(),
                    params: MultiMap::params(),
                    ..Request::default()
                },
                response: Response {
                    headers: MultiMap::headers(),
                    ..Response::default()
                },
                ..Context::default()
            },
        }
    }

    /// Reads the ARCHITECTURE.md §3 JSON document, borrowing from `text` (no tree is built: attribute,
    /// property, metadata and variable values stay views of the text until a condition reads
    /// them). Unknown members are ignored; wrong-typed members are errors naming their path.
    ///
    /// ```
    /// use mcp_policy::Context;
    /// let ctx = Context::from_json(r#"{"request":{"headers":{"X-Role":["admin"]}},
    ///                                  "attributes":{"user.roles":["mcp:tools"]}}"#).unwrap();
    /// assert_eq!(ctx.request.headers.get_first("x-role"), Some("admin"));
    /// ```
    pub fn from_json(text: &'a str) -> Result<Context<'a>, Error> {
        Self::from_json_with(text, &crate::Limits::default())
    }

    /// [`Context::from_json`] under explicit parsing limits.
    pub fn from_json_with(text: &'a str, limits: &crate::Limits) -> Result<Context<'a>, Error> {
        let root = RawValue::parse_with(text, limits)?;
        let mut ctx = Context::builder().ctx;
        if root.kind() != Kind::Object {
            return Err(bad("(context)", "an object", root.kind()));
        }
        for (k, v) in root.members() {
            let key = k.decode();
            match key.as_ref() {
                "request" => read_request(v, &mut ctx.request)?,
                "response" => read_response(v, &mut ctx.response)?,
                "attributes" => {
                    expect_object(v, "attributes")?;
                    for (name, value) in v.members() {
                        ctx.attributes.insert(name.decode(), Data::Json(value));
                    }
                }
                "api" => {
                    expect_object(v, "api")?;
                    for (f, fv) in v.members() {
                        let f = f.decode();
                        match f.as_ref() {
                            "id" => ctx.api.id = opt_str(fv, "api.id")?,
                            "name" => ctx.api.name = opt_str(fv, "api.name")?,
                            "version" => ctx.api.version = opt_str(fv, "api.version")?,
                            "properties" => {
                                ctx.api.properties = map_data(fv, "api.properties")?;
                            }
                            _ => {}
                        }
                    }
                }
                "subscription" => {
                    expect_object(v, "subscription")?;
                    for (f, fv) in v.members() {
                        let f = f.decode();
                        match f.as_ref() {
                            "id" => ctx.subscription.id = opt_str(fv, "subscription.id")?,
                            "type" => ctx.subscription.kind = opt_str(fv, "subscription.type")?,
                            "applicationName" => {
                                ctx.subscription.application_name =
                                    opt_str(fv, "subscription.applicationName")?;
                            }
                            "clientId" => {
                                ctx.subscription.client_id = opt_str(fv, "subscription.clientId")?;
                            }
                            "metadata" => {
                                ctx.subscription.metadata = map_data(fv, "subscription.metadata")?;
                            }
                            _ => {}
                        }
                    }
                }
                "variables" => ctx.variables = map_data(v, "variables")?,
                _ => {}
            }
        }
        Ok(ctx)
    }
}

fn bad(path: &str, want: &str, got: Kind) -> Error {
    Error::new(
        ErrorKind::InvalidContext,
        alloc::format!(
            "context member `{path}` must be {want}, found {} (see the context shape in ARCHITECTURE.md §3)",
            got.name()
        ),
    )
    .at_path(path)
}

fn expect_object(v: RawValue<'_>, path: &str) -> Result<(), Error> {
    if v.kind() == Kind::Object {
        Ok(())
    } else {
        Err(bad(path, "an object", v.kind()))
    }
}

fn opt_str<'a>(v: RawValue<'a>, path: &str) -> Result<Option<Cow<'a, str>>, Error> {
    match v.kind() {
        Kind::Null => Ok(None),
        Kind::String => Ok(v.as_str()),
        k => Err(bad(path, "a string", k)),
    }
}

fn map_data<'a>(v: RawValue<'a>, path: &str) -> Result<Data<'a>, Error> {
    match v.kind() {
        Kind::Null => Ok(Data::empty_map()),
        Kind::Object => Ok(Data::Json(v)),
        k => Err(bad(path, "an object", k)),
    }
}

fn read_multimap<'a>(v: RawValue<'a>, path: &str, into: &mut MultiMap<'a>) -> Result<(), Error> {
    match v.kind() {
        Kind::Null => return Ok(()),
        Kind::Object => {}
        k => return Err(bad(path, "an object of string lists", k)),
    }
    for (name, values) in v.members() {
        let name = name.decode();
        match values.kind() {
            Kind::String => {
                if let Some(s) = values.as_str() {
                    into.add(name, s);
                }
            }
            Kind::Array => {
                let mut any = false;
                for el in values.elements() {
                    match el.as_str() {
                        Some(s) => {
                            into.add(name.clone(), s);
                            any = true;
                        }
                        None => {
                            return Err(bad(
                                &alloc::format!("{path}.{name}[]"),
                                "a string",
                                el.kind(),
                            ));
                        }
                    }
                }
                if !any {
                    // An empty list is an absent header.
                    continue;
                }
            }
            Kind::Null => {}
            k => {
                return Err(bad(
                    &alloc::format!("{path}.{name}"),
                    "a string or a list of strings",
                    k,
                ));
            }
        }
    }
    Ok(())
}

fn read_request<'a>(v: RawValue<'a>, r: &mut Request<'a>) -> Result<(), Error> {
    expect_object(v, "request")?;
    for (k, fv) in v.members() {
        let k = k.decode();
        match k.as_ref() {
            "method" => r.method = opt_str(fv, "request.method")?,
            "scheme" => r.scheme = opt_str(fv, "request.scheme")?,
            "host" => r.host = opt_str(fv, "request.host")?,
            "path" => r.path = opt_str(fv, "request.path")?,
            "pathInfo" => r.path_info = opt_str(fv, "request.pathInfo")?,
            "contextPath" => r.context_path = opt_str(fv, "request.contextPath")?,
            "remoteAddress" => r.remote_address = opt_str(fv, "request.remoteAddress")?,
            "headers" => read_multimap(fv, "request.headers", &mut r.headers)?,
            "params" => read_multimap(fv, "request.params", &mut r.params)?,
            "content" => r.content = opt_str(fv, "request.content")?,
            _ => {}
        }
    }
    Ok(())
}

fn read_response<'a>(v: RawValue<'a>, r: &mut Response<'a>) -> Result<(), Error> {
    expect_object(v, "response")?;
    for (k, fv) in v.members() {
        let k = k.decode();
        match k.as_ref() {
            "status" => {
                r.status = match fv.kind() {
                    Kind::Null => None,
                    _ => match fv.as_i64().and_then(|n| u16::try_from(n).ok()) {
                        Some(s) => Some(s),
                        None => return Err(bad("response.status", "an HTTP status", fv.kind())),
                    },
                }
            }
            "headers" => read_multimap(fv, "response.headers", &mut r.headers)?,
            "content" => r.content = opt_str(fv, "response.content")?,
            _ => {}
        }
    }
    Ok(())
}

/// Builds a [`Context`] in Rust (see [`Context::builder`]).
#[derive(Debug, Clone)]
pub struct ContextBuilder<'a> {
    ctx: Context<'a>,
}

impl<'a> ContextBuilder<'a> {
    /// `#request.method`.
    #[must_use]
    pub fn method(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.method = Some(v.into());
        self
    }
    /// `#request.scheme`.
    #[must_use]
    pub fn scheme(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.scheme = Some(v.into());
        self
    }
    /// `#request.host`.
    #[must_use]
    pub fn host(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.host = Some(v.into());
        self
    }
    /// `#request.path`.
    #[must_use]
    pub fn path(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.path = Some(v.into());
        self
    }
    /// `#request.pathInfo`.
    #[must_use]
    pub fn path_info(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.path_info = Some(v.into());
        self
    }
    /// `#request.contextPath`.
    #[must_use]
    pub fn context_path(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.context_path = Some(v.into());
        self
    }
    /// `#request.remoteAddress`.
    #[must_use]
    pub fn remote_address(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.remote_address = Some(v.into());
        self
    }
    /// Adds one value of a request header (call twice for two values); credentials and cookies
    /// are skipped (see [`HIDDEN_HEADERS`]).
    #[must_use]
    pub fn header(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.headers.add(name, value);
        self
    }
    /// Adds request headers (credentials and cookies are skipped: see [`HIDDEN_HEADERS`]).
    #[must_use]
    pub fn headers<N, V>(mut self, headers: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<Cow<'a, str>>,
        V: Into<Cow<'a, str>>,
    {
        for (n, v) in headers {
            self.ctx.request.headers.add(n, v);
        }
        self
    }
    /// Adds one value of a query parameter.
    #[must_use]
    pub fn param(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.params.add(name, value);
        self
    }
    /// `#request.content` (defaults to the message being judged).
    #[must_use]
    pub fn content(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.request.content = Some(v.into());
        self
    }
    /// `#response.status`.
    #[must_use]
    pub fn response_status(mut self, status: u16) -> Self {
        self.ctx.response.status = Some(status);
        self
    }
    /// Adds one value of a response header.
    #[must_use]
    pub fn response_header(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.ctx.response.headers.add(name, value);
        self
    }
    /// `#response.content`.
    #[must_use]
    pub fn response_content(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.response.content = Some(v.into());
        self
    }
    /// Sets an attribute (`#context.attributes[name]`).
    #[must_use]
    pub fn attribute(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Data<'a>>) -> Self {
        self.ctx.attributes.insert(name, value);
        self
    }
    /// Sets the attributes the OAuth module produced.
    #[must_use]
    pub fn attributes_json(
        mut self,
        pairs: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Self {
        self.ctx.attributes.extend_json(pairs);
        self
    }
    /// `#api.id`.
    #[must_use]
    pub fn api_id(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.api.id = Some(v.into());
        self
    }
    /// `#api.name`.
    #[must_use]
    pub fn api_name(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.api.name = Some(v.into());
        self
    }
    /// Sets an API property (`#api.properties[name]`, `#properties[name]`).
    #[must_use]
    pub fn api_property(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Data<'a>>,
    ) -> Self {
        map_insert(&mut self.ctx.api.properties, name.into(), value.into());
        self
    }
    /// `#subscription.id`.
    #[must_use]
    pub fn subscription_id(mut self, v: impl Into<Cow<'a, str>>) -> Self {
        self.ctx.subscription.id = Some(v.into());
        self
    }
    /// Sets a subscription metadata entry.
    #[must_use]
    pub fn subscription_metadata(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Data<'a>>,
    ) -> Self {
        map_insert(
            &mut self.ctx.subscription.metadata,
            name.into(),
            value.into(),
        );
        self
    }
    /// Sets an extra variable (`#name`).
    #[must_use]
    pub fn variable(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Data<'a>>) -> Self {
        map_insert(&mut self.ctx.variables, name.into(), value.into());
        self
    }
    /// Finishes.
    pub fn build(self) -> Context<'a> {
        self.ctx
    }
}

/// Inserts into a [`Data::Map`], turning `Null` (the default) into a map first. A JSON view is
/// replaced by a map holding its members plus the new entry.
fn map_insert<'a>(map: &mut Data<'a>, name: Cow<'a, str>, value: Data<'a>) {
    if let Data::Json(raw) = map {
        let members = raw
            .members()
            .map(|(k, v)| (k.decode(), Data::Json(v)))
            .collect();
        *map = Data::Map(members);
    }
    if !matches!(map, Data::Map(_)) {
        *map = Data::empty_map();
    }
    if let Data::Map(entries) = map {
        match entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => entries.push((name, value)),
        }
    }
}
