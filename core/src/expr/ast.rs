//! The compiled tree: variable paths resolved, methods identified, literal regexes and JSONPaths
//! compiled.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::jsonpath::JsonPath;
use super::regex::Pattern;

/// A node and the byte offset in the template where it starts.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) kind: K,
    pub(crate) pos: u32,
    pub(crate) depth: u16,
}

/// Binary operators that evaluate both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A regex operand: compiled once when it is a literal, else built at evaluation time.
#[derive(Debug)]
pub(crate) enum RegexArg {
    Compiled(Pattern),
    Dynamic(Box<Node>),
}

/// A JSONPath operand.
#[derive(Debug)]
pub(crate) enum PathArg {
    Compiled(JsonPath),
    Dynamic(Box<Node>),
}

#[derive(Debug)]
pub(crate) enum K {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
    Var(Var),
    Prop {
        target: Box<Node>,
        name: String,
        safe: bool,
    },
    Index {
        target: Box<Node>,
        index: Box<Node>,
    },
    Call {
        target: Box<Node>,
        method: Method,
        args: Vec<Node>,
        safe: bool,
    },
    JsonPath {
        value: Box<Node>,
        path: PathArg,
    },
    Neg(Box<Node>),
    Not(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Ternary(Box<Node>, Box<Node>, Box<Node>),
    Elvis(Box<Node>, Box<Node>),
    Matches(Box<Node>, RegexArg),
}

impl Node {
    pub(crate) fn new(kind: K, pos: u32) -> Self {
        let d = |n: &Node| n.depth;
        let child = match &kind {
            K::Null | K::Bool(_) | K::Int(_) | K::Float(_) | K::Str(_) | K::Var(_) => 0,
            K::List(v) => v.iter().map(d).max().unwrap_or(0),
            K::Map(v) => v.iter().map(|(_, n)| n.depth).max().unwrap_or(0),
            K::Prop { target, .. } => target.depth,
            K::Index { target, index } => target.depth.max(index.depth),
            K::Call { target, args, .. } => args.iter().map(d).max().unwrap_or(0).max(target.depth),
            K::JsonPath { value, path } => match path {
                PathArg::Compiled(_) => value.depth,
                PathArg::Dynamic(p) => value.depth.max(p.depth),
            },
            K::Neg(a) | K::Not(a) => a.depth,
            K::Bin(_, a, b) | K::And(a, b) | K::Or(a, b) | K::Elvis(a, b) => a.depth.max(b.depth),
            K::Ternary(a, b, c) => a.depth.max(b.depth).max(c.depth),
            K::Matches(a, r) => match r {
                RegexArg::Compiled(_) => a.depth,
                RegexArg::Dynamic(p) => a.depth.max(p.depth),
            },
        };
        Self {
            kind,
            pos,
            depth: child.saturating_add(1),
        }
    }
}

/// A variable or variable path resolved at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Var {
    /// `#root`, `#this`: the root object, which is null in Gravitee.
    Root,
    /// A whole object: `#request`, `#context`…
    Obj(Obj),
    /// `#request.<field>`.
    Req(ReqField),
    /// `#response.<field>`.
    Resp(RespField),
    /// `#context.attributes['name']`.
    Attr(String),
    /// `#api.<field>`.
    Api(ApiField),
    /// `#subscription.<field>`.
    Sub(SubField),
    /// `#mcp.<field>`.
    Mcp(McpField),
    /// A host-provided variable (`#name`), null when absent.
    User(String),
}

/// Objects that exist only as views of the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Obj {
    Request,
    Response,
    Context,
    Attributes,
    Api,
    Subscription,
    Mcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReqField {
    Method,
    Scheme,
    Host,
    Path,
    Paths,
    PathInfo,
    PathInfos,
    ContextPath,
    RemoteAddress,
    Headers,
    Params,
    Content,
    JsonContent,
    /// A Gravitee request property this context does not carry: always null.
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RespField {
    Status,
    Headers,
    Content,
    JsonContent,
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiField {
    Id,
    Name,
    Version,
    Properties,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubField {
    Id,
    Type,
    ApplicationName,
    ClientId,
    Metadata,
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum McpField {
    Method,
    Name,
    Uri,
    Arguments,
    Params,
}

impl Obj {
    /// The path a property of this object resolves to, or `None` when there is no such
    /// property.
    pub(crate) fn field(self, name: &str) -> Option<Var> {
        Some(match self {
            Obj::Request => Var::Req(match name {
                "method" => ReqField::Method,
                "scheme" => ReqField::Scheme,
                "host" => ReqField::Host,
                "path" => ReqField::Path,
                "paths" => ReqField::Paths,
                "pathInfo" => ReqField::PathInfo,
                "pathInfos" => ReqField::PathInfos,
                "contextPath" => ReqField::ContextPath,
                "remoteAddress" => ReqField::RemoteAddress,
                "headers" => ReqField::Headers,
                "params" | "parameters" => ReqField::Params,
                "content" => ReqField::Content,
                "jsonContent" => ReqField::JsonContent,
                "id" | "transactionId" | "uri" | "pathParams" | "version" | "timestamp"
                | "localAddress" | "xmlContent" | "ssl" => ReqField::Absent,
                _ => return None,
            }),
            Obj::Response => Var::Resp(match name {
                "status" => RespField::Status,
                "headers" => RespField::Headers,
                "content" => RespField::Content,
                "jsonContent" => RespField::JsonContent,
                "reason" | "trailers" | "xmlContent" => RespField::Absent,
                _ => return None,
            }),
            Obj::Context => match name {
                "attributes" => Var::Obj(Obj::Attributes),
                _ => return None,
            },
            Obj::Attributes => Var::Attr(String::from(name)),
            Obj::Api => Var::Api(match name {
                "id" => ApiField::Id,
                "name" => ApiField::Name,
                "version" => ApiField::Version,
                "properties" => ApiField::Properties,
                _ => return None,
            }),
            Obj::Subscription => Var::Sub(match name {
                "id" => SubField::Id,
                "type" => SubField::Type,
                "applicationName" => SubField::ApplicationName,
                "clientId" => SubField::ClientId,
                "metadata" => SubField::Metadata,
                "apiProductId" | "plan" | "application" => SubField::Absent,
                _ => return None,
            }),
            Obj::Mcp => Var::Mcp(match name {
                "method" => McpField::Method,
                "name" => McpField::Name,
                "uri" => McpField::Uri,
                "arguments" => McpField::Arguments,
                "params" => McpField::Params,
                _ => return None,
            }),
        })
    }

    /// The properties an error message lists.
    pub(crate) fn known(self) -> &'static str {
        match self {
            Obj::Request => {
                "method, scheme, host, path, paths, pathInfo, pathInfos, contextPath, remoteAddress, headers, params, content, jsonContent"
            }
            Obj::Response => "status, headers, content, jsonContent",
            Obj::Context => "attributes",
            Obj::Attributes => "any attribute name",
            Obj::Api => "id, name, version, properties",
            Obj::Subscription => "id, type, applicationName, clientId, metadata",
            Obj::Mcp => "method, name, uri, arguments, params",
        }
    }

    /// The name used in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Obj::Request => "#request",
            Obj::Response => "#response",
            Obj::Context => "#context",
            Obj::Attributes => "#context.attributes",
            Obj::Api => "#api",
            Obj::Subscription => "#subscription",
            Obj::Mcp => "#mcp",
        }
    }
}

/// The allow-listed methods (ARCHITECTURE.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Equals,
    EqualsIgnoreCase,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    IsEmpty,
    Length,
    ToLowerCase,
    ToUpperCase,
    Trim,
    Substring,
    IndexOf,
    LastIndexOf,
    Split,
    ContainsKey,
    Get,
    GetFirst,
    GetAll,
    Size,
    ContainsAllKeys,
    ToString,
    KeySet,
    Values,
    ToSingleValueMap,
}

impl Method {
    pub(crate) fn from_name(name: &str) -> Option<Method> {
        Some(match name {
            "equals" => Method::Equals,
            "equalsIgnoreCase" => Method::EqualsIgnoreCase,
            "contains" => Method::Contains,
            "startsWith" => Method::StartsWith,
            "endsWith" => Method::EndsWith,
            "matches" => Method::Matches,
            "isEmpty" => Method::IsEmpty,
            "length" => Method::Length,
            "toLowerCase" => Method::ToLowerCase,
            "toUpperCase" => Method::ToUpperCase,
            "trim" => Method::Trim,
            "substring" => Method::Substring,
            "indexOf" => Method::IndexOf,
            "lastIndexOf" => Method::LastIndexOf,
            "split" => Method::Split,
            "containsKey" => Method::ContainsKey,
            "get" => Method::Get,
            "getFirst" => Method::GetFirst,
            "getAll" => Method::GetAll,
            "size" => Method::Size,
            "containsAllKeys" => Method::ContainsAllKeys,
            "toString" => Method::ToString,
            "keySet" => Method::KeySet,
            "values" => Method::Values,
            "toSingleValueMap" => Method::ToSingleValueMap,
            _ => return None,
        })
    }

    /// Accepted argument counts.
    pub(crate) fn arity(self) -> (usize, usize) {
        match self {
            Method::IsEmpty
            | Method::Length
            | Method::ToLowerCase
            | Method::ToUpperCase
            | Method::Trim
            | Method::Size
            | Method::ToString
            | Method::KeySet
            | Method::Values
            | Method::ToSingleValueMap => (0, 0),
            Method::Substring => (1, 2),
            Method::GetFirst => (0, 1),
            _ => (1, 1),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Equals => "equals",
            Method::EqualsIgnoreCase => "equalsIgnoreCase",
            Method::Contains => "contains",
            Method::StartsWith => "startsWith",
            Method::EndsWith => "endsWith",
            Method::Matches => "matches",
            Method::IsEmpty => "isEmpty",
            Method::Length => "length",
            Method::ToLowerCase => "toLowerCase",
            Method::ToUpperCase => "toUpperCase",
            Method::Trim => "trim",
            Method::Substring => "substring",
            Method::IndexOf => "indexOf",
            Method::LastIndexOf => "lastIndexOf",
            Method::Split => "split",
            Method::ContainsKey => "containsKey",
            Method::Get => "get",
            Method::GetFirst => "getFirst",
            Method::GetAll => "getAll",
            Method::Size => "size",
            Method::ContainsAllKeys => "containsAllKeys",
            Method::ToString => "toString",
            Method::KeySet => "keySet",
            Method::Values => "values",
            Method::ToSingleValueMap => "toSingleValueMap",
        }
    }
}
