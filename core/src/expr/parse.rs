//! Template splitting (exactly as Gravitee: which `{…}` are expressions) and the SpEL parser,
//! which builds the compiled tree directly (variable paths folded, literal patterns compiled).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::ast::{BinOp, K, Method, Node, Obj, PathArg, RegexArg, Var};
use super::error::{ExprError, ExprErrorKind};
use super::jsonpath::JsonPath;
use super::lex::{T, Tok, lex};
use super::regex::Pattern;
use crate::limits::Limits;

/// One part of a template.
#[derive(Debug)]
pub(crate) enum Part {
    Lit(String),
    Expr(Node),
}

/// Gravitee first rewrites every `{ *X…}` where X is `#`, `T` or `(` and the braces balance
/// with at most one nested level (the regex `\{ *([#T(])((?>[^{}]+|\{(?>[^{}]+)*\})*\})`) into
/// `{#X…}`; Spring's template parser then treats each `{#` as the start of an expression.
/// Returns the match's X offset and end (after `}`), when the regex matches at `i`.
fn marker_at(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut j = i + 1;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    if !matches!(b.get(j), Some(b'#' | b'T' | b'(')) {
        return None;
    }
    let x = j;
    let mut k = j + 1;
    loop {
        match b.get(k)? {
            b'}' => return Some((x, k + 1)),
            b'{' => {
                let mut m = k + 1;
                while b.get(m).is_some_and(|&c| c != b'{' && c != b'}') {
                    m += 1;
                }
                if b.get(m) == Some(&b'}') {
                    k = m + 1;
                } else {
                    return None;
                }
            }
            _ => k += 1,
        }
    }
}

/// Applies the rewrite; returns the new text and, for each of its bytes (plus one past the
/// end), the offset in `src` it came from.
fn rewrite(src: &str) -> (String, Vec<u32>) {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() + 4);
    let mut map: Vec<u32> = Vec::with_capacity(src.len() + 5);
    let off = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let copy = |out: &mut String, map: &mut Vec<u32>, from: usize, to: usize| {
        out.push_str(src.get(from..to).unwrap_or(""));
        map.extend((from..to).map(off));
    };
    let mut i = 0usize;
    let mut lit = 0usize;
    while i < b.len() {
        if let Some((x, end)) = marker_at(b, i) {
            copy(&mut out, &mut map, lit, i);
            out.push_str("{#");
            map.push(off(i));
            map.push(off(x));
            copy(&mut out, &mut map, x, end);
            i = end;
            lit = end;
        } else {
            i += 1;
        }
    }
    copy(&mut out, &mut map, lit, b.len());
    map.push(off(b.len()));
    (out, map)
}

fn syntax(msg: String, at: usize, hint: &'static str) -> ExprError {
    ExprError::new(ExprErrorKind::Syntax, msg, at, hint)
}

/// Spring's `skipToCorrectEndSuffix`: the `}` that closes the expression starting at `from`,
/// skipping balanced brackets and quoted strings.
fn expression_end(r: &str, from: usize, map: &[u32]) -> Result<Option<usize>, ExprError> {
    let b = r.as_bytes();
    let orig = |i: usize| map.get(i).map_or(0, |&o| o as usize);
    if !b.get(from..).is_some_and(|s| s.contains(&b'}')) {
        return Ok(None);
    }
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut pos = from;
    while let Some(&c) = b.get(pos) {
        if c == b'}' && stack.is_empty() {
            return Ok(Some(pos));
        }
        match c {
            b'{' | b'[' | b'(' => stack.push((c, pos)),
            b'}' | b']' | b')' => {
                let open = match c {
                    b'}' => b'{',
                    b']' => b'[',
                    _ => b'(',
                };
                match stack.pop() {
                    None => {
                        return Err(syntax(
                            format!(
                                "found closing `{}` without an opening `{}`",
                                c as char, open as char
                            ),
                            orig(pos),
                            "balance the brackets of the expression",
                        ));
                    }
                    Some((o, at)) if o != open => {
                        return Err(syntax(
                            format!(
                                "found closing `{}` but the most recent opening is `{}` at byte {}",
                                c as char,
                                o as char,
                                orig(at)
                            ),
                            orig(pos),
                            "balance the brackets of the expression",
                        ));
                    }
                    Some(_) => {}
                }
            }
            b'\'' | b'"' => match b
                .get(pos + 1..)
                .and_then(|s| s.iter().position(|&x| x == c))
            {
                Some(n) => pos += n + 1,
                None => {
                    return Err(syntax(
                        String::from("string literal is not terminated"),
                        orig(pos),
                        "close the string with the quote it was opened with",
                    ));
                }
            },
            _ => {}
        }
        pos += 1;
    }
    if let Some((o, at)) = stack.pop() {
        let close = match o {
            b'{' => '}',
            b'[' => ']',
            _ => ')',
        };
        return Err(syntax(
            format!("missing closing `{close}` for `{}`", o as char),
            orig(at),
            "balance the brackets of the expression",
        ));
    }
    Ok(None)
}

fn is_java_ws(c: char) -> bool {
    c <= ' '
}

/// Splits and parses a template.
pub(crate) fn parse_template(src: &str, limits: &Limits) -> Result<Vec<Part>, ExprError> {
    let (r, map) = rewrite(src);
    let orig = |i: usize| map.get(i).map_or(src.len(), |&o| o as usize);
    let mut parts = Vec::new();
    let mut start = 0usize;
    while start < r.len() {
        let Some(p) = r.get(start..).and_then(|s| s.find("{#")).map(|p| p + start) else {
            parts.push(Part::Lit(String::from(r.get(start..).unwrap_or(""))));
            break;
        };
        if p > start {
            parts.push(Part::Lit(String::from(r.get(start..p).unwrap_or(""))));
        }
        let after = p + 2;
        let Some(end) = expression_end(&r, after, &map)? else {
            return Err(syntax(
                String::from("no closing `}` for the expression starting here"),
                orig(p),
                "close the expression with `}`",
            ));
        };
        let raw = r.get(after..end).unwrap_or("");
        let lead = raw.len() - raw.trim_start_matches(is_java_ws).len();
        let text = raw.trim_matches(is_java_ws);
        if text.is_empty() {
            return Err(syntax(
                String::from("no expression between `{#` and `}`"),
                orig(p),
                "write an expression such as {#request.method == 'POST'}",
            ));
        }
        let base = after + lead;
        let toks = lex(text).map_err(|e| {
            let at = orig(base + e.position());
            e.at(at)
        })?;
        let mut parser = Parser {
            toks,
            i: 0,
            base,
            end: base + text.len(),
            map: &map,
            src_len: src.len(),
            limits,
            depth: 0,
        };
        let node = parser.expr()?;
        if let Some(t) = parser.toks.get(parser.i) {
            return Err(syntax(
                format!(
                    "unexpected {} after a complete expression",
                    t.kind.describe()
                ),
                parser.pos(t.at),
                "join conditions with && or ||; compare once per operand pair ((a == b) && (b == c))",
            ));
        }
        parts.push(Part::Expr(node));
        start = end + 1;
    }
    Ok(parts)
}

struct Parser<'s> {
    toks: Vec<Tok<'s>>,
    i: usize,
    base: usize,
    end: usize,
    map: &'s [u32],
    src_len: usize,
    limits: &'s Limits,
    depth: usize,
}

fn ident_is(t: Option<&T<'_>>, word: &str) -> bool {
    matches!(t, Some(T::Ident(s)) if s.eq_ignore_ascii_case(word))
}

impl<'s> Parser<'s> {
    /// Template offset of an expression-local offset.
    fn pos(&self, local: usize) -> usize {
        self.map
            .get(self.base + local)
            .map_or(self.src_len, |&o| o as usize)
    }

    fn pos32(&self, local: usize) -> u32 {
        u32::try_from(self.pos(local)).unwrap_or(u32::MAX)
    }

    fn peek(&self) -> Option<&T<'s>> {
        self.toks.get(self.i).map(|t| &t.kind)
    }

    fn peek_at(&self, n: usize) -> Option<&T<'s>> {
        self.toks.get(self.i + n).map(|t| &t.kind)
    }

    /// Offset (expression-local) of the current token, or of the end.
    fn here(&self) -> usize {
        self.toks.get(self.i).map_or(self.end - self.base, |t| t.at)
    }

    fn bump(&mut self) -> Option<Tok<'s>> {
        let t = self.toks.get(self.i).cloned();
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    fn unexpected(&self, wanted: &str) -> ExprError {
        let found = match self.peek() {
            Some(t) => t.describe(),
            None => String::from("the end of the expression"),
        };
        syntax(
            format!("expected {wanted}, found {found}"),
            self.pos(self.here()),
            "check the expression syntax (SpEL: #variable.property, 'string', a == b, a && b)",
        )
    }

    fn expect(&mut self, t: &T<'_>, wanted: &str) -> Result<(), ExprError> {
        if self.peek() == Some(t) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    fn mk(&self, kind: K, pos: u32) -> Result<Node, ExprError> {
        let n = Node::new(kind, pos);
        if usize::from(n.depth) > self.limits.max_expr_depth {
            return Err(ExprError::new(
                ExprErrorKind::TooDeep,
                format!(
                    "expression nests deeper than max_expr_depth {}",
                    self.limits.max_expr_depth
                ),
                pos as usize,
                "split the condition into several rules or raise max_expr_depth",
            ));
        }
        Ok(n)
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > self.limits.max_expr_depth {
            return Err(ExprError::new(
                ExprErrorKind::TooDeep,
                format!(
                    "expression nests deeper than max_expr_depth {}",
                    self.limits.max_expr_depth
                ),
                self.pos(self.here()),
                "split the condition into several rules or raise max_expr_depth",
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn expr(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let r = self.expr_inner();
        self.leave();
        r
    }

    fn expr_inner(&mut self) -> Result<Node, ExprError> {
        let cond = self.or()?;
        match self.peek() {
            Some(T::Elvis) => {
                self.i += 1;
                let other = self.expr()?;
                let pos = cond.pos;
                self.mk(K::Elvis(Box::new(cond), Box::new(other)), pos)
            }
            Some(T::Question) => {
                self.i += 1;
                let a = self.expr()?;
                self.expect(&T::Colon, "`:` of the ternary operator")?;
                let b = self.expr()?;
                let pos = cond.pos;
                self.mk(K::Ternary(Box::new(cond), Box::new(a), Box::new(b)), pos)
            }
            Some(T::Unsupported("=")) => Err(ExprError::new(
                ExprErrorKind::Unsupported,
                String::from("assignment `=` is not allowed (expressions are read-only)"),
                self.pos(self.here()),
                "compare with `==`",
            )),
            _ => Ok(cond),
        }
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        let mut l = self.and()?;
        while matches!(self.peek(), Some(T::OrOr)) || ident_is(self.peek(), "or") {
            self.i += 1;
            let r = self.and()?;
            let pos = l.pos;
            l = self.mk(K::Or(Box::new(l), Box::new(r)), pos)?;
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        let mut l = self.relational()?;
        while matches!(self.peek(), Some(T::AndAnd)) || ident_is(self.peek(), "and") {
            self.i += 1;
            let r = self.relational()?;
            let pos = l.pos;
            l = self.mk(K::And(Box::new(l), Box::new(r)), pos)?;
        }
        Ok(l)
    }

    fn relational(&mut self) -> Result<Node, ExprError> {
        let l = self.sum()?;
        let op_at = self.here();
        let op = match self.peek() {
            Some(T::EqEq) => Some(BinOp::Eq),
            Some(T::Ne) => Some(BinOp::Ne),
            Some(T::Lt) => Some(BinOp::Lt),
            Some(T::Le) => Some(BinOp::Le),
            Some(T::Gt) => Some(BinOp::Gt),
            Some(T::Ge) => Some(BinOp::Ge),
            Some(T::Ident(w)) => match w.to_ascii_lowercase().as_str() {
                "eq" => Some(BinOp::Eq),
                "ne" => Some(BinOp::Ne),
                "lt" => Some(BinOp::Lt),
                "le" => Some(BinOp::Le),
                "gt" => Some(BinOp::Gt),
                "ge" => Some(BinOp::Ge),
                "matches" => {
                    self.i += 1;
                    let r = self.sum()?;
                    let arg = self.regex_arg(r)?;
                    let pos = l.pos;
                    return self.mk(K::Matches(Box::new(l), arg), pos);
                }
                "instanceof" | "between" => {
                    return Err(ExprError::new(
                        ExprErrorKind::Unsupported,
                        format!("operator `{w}` is not supported"),
                        self.pos(op_at),
                        "use ==, <, >, matches or the allow-listed methods",
                    ));
                }
                _ => None,
            },
            _ => None,
        };
        let Some(op) = op else { return Ok(l) };
        self.i += 1;
        let r = self.sum()?;
        let pos = l.pos;
        self.mk(K::Bin(op, Box::new(l), Box::new(r)), pos)
    }

    fn regex_arg(&self, r: Node) -> Result<RegexArg, ExprError> {
        if let K::Str(p) = &r.kind {
            return match Pattern::full(p, self.limits.max_regex_bytes) {
                Ok(c) => Ok(RegexArg::Compiled(c)),
                Err((msg, at)) => Err(ExprError::new(
                    ExprErrorKind::Pattern,
                    msg,
                    (r.pos as usize).saturating_add(1).saturating_add(at),
                    "write a Java-style regular expression without look-around or back-references",
                )),
            };
        }
        Ok(RegexArg::Dynamic(Box::new(r)))
    }

    fn sum(&mut self) -> Result<Node, ExprError> {
        let mut l = self.product()?;
        loop {
            let op = match self.peek() {
                Some(T::Plus) => BinOp::Add,
                Some(T::Minus) => BinOp::Sub,
                _ => return Ok(l),
            };
            self.i += 1;
            let r = self.product()?;
            let pos = l.pos;
            l = self.mk(K::Bin(op, Box::new(l), Box::new(r)), pos)?;
        }
    }

    fn product(&mut self) -> Result<Node, ExprError> {
        let mut l = self.power()?;
        loop {
            let op = match self.peek() {
                Some(T::Star) => BinOp::Mul,
                Some(T::Slash) => BinOp::Div,
                Some(T::Percent) => BinOp::Rem,
                Some(T::Ident(w)) if w.eq_ignore_ascii_case("div") => BinOp::Div,
                Some(T::Ident(w)) if w.eq_ignore_ascii_case("mod") => BinOp::Rem,
                _ => return Ok(l),
            };
            self.i += 1;
            let r = self.power()?;
            let pos = l.pos;
            l = self.mk(K::Bin(op, Box::new(l), Box::new(r)), pos)?;
        }
    }

    fn power(&mut self) -> Result<Node, ExprError> {
        let l = self.unary()?;
        if matches!(self.peek(), Some(T::Caret)) {
            self.i += 1;
            let r = self.unary()?;
            let pos = l.pos;
            return self.mk(K::Bin(BinOp::Pow, Box::new(l), Box::new(r)), pos);
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let r = self.unary_inner();
        self.leave();
        r
    }

    fn unary_inner(&mut self) -> Result<Node, ExprError> {
        let at = self.here();
        let pos = self.pos32(at);
        if matches!(self.peek(), Some(T::Bang)) || ident_is(self.peek(), "not") {
            self.i += 1;
            let e = self.unary()?;
            return self.mk(K::Not(Box::new(e)), pos);
        }
        if matches!(self.peek(), Some(T::Minus)) {
            self.i += 1;
            let e = self.unary()?;
            return match e.kind {
                K::Int(i) => self.mk(K::Int(i.wrapping_neg()), pos),
                K::Float(f) => self.mk(K::Float(-f), pos),
                _ => self.mk(K::Neg(Box::new(e)), pos),
            };
        }
        if matches!(self.peek(), Some(T::Plus)) {
            self.i += 1;
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let mut node = self.start()?;
        loop {
            match self.peek() {
                Some(T::Dot | T::SafeDot) => {
                    let safe = matches!(self.peek(), Some(T::SafeDot));
                    self.i += 1;
                    let name_at = self.here();
                    let name = match self.peek() {
                        Some(T::Ident(n)) => *n,
                        _ => return Err(self.unexpected("a property or method name")),
                    };
                    self.i += 1;
                    if matches!(self.peek(), Some(T::LParen)) {
                        let args = self.args()?;
                        node = self.call(node, name, name_at, args, safe)?;
                    } else {
                        node = self.property(node, name, name_at, safe)?;
                    }
                }
                Some(T::LBracket) => {
                    let at = self.here();
                    self.i += 1;
                    let index = self.expr()?;
                    self.expect(&T::RBracket, "`]`")?;
                    node = self.index(node, index, at)?;
                }
                Some(T::Unsupported(s)) if s.ends_with('[') => {
                    return Err(ExprError::new(
                        ExprErrorKind::Unsupported,
                        format!("collection selection/projection `{s}…]` is not supported"),
                        self.pos(self.here()),
                        "use contains(), containsKey() or #jsonPath",
                    ));
                }
                _ => return Ok(node),
            }
        }
    }

    fn args(&mut self) -> Result<Vec<Node>, ExprError> {
        self.expect(&T::LParen, "`(`")?;
        let mut args = Vec::new();
        if matches!(self.peek(), Some(T::RParen)) {
            self.i += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            match self.peek() {
                Some(T::Comma) => self.i += 1,
                Some(T::RParen) => {
                    self.i += 1;
                    return Ok(args);
                }
                _ => return Err(self.unexpected("`,` or `)`")),
            }
        }
    }

    fn unknown_property(&self, obj: Obj, name: &str, at: usize) -> ExprError {
        ExprError::new(
            ExprErrorKind::UnknownName,
            format!("{} has no property `{name}`", obj.name()),
            self.pos(at),
            match obj {
                Obj::Request => {
                    "#request has: method, scheme, host, path, paths, pathInfo, pathInfos, contextPath, remoteAddress, headers, params, content, jsonContent"
                }
                Obj::Response => "#response has: status, headers, content, jsonContent",
                Obj::Context => "#context has: attributes (#context.attributes['name'])",
                Obj::Api => "#api has: id, name, version, properties",
                Obj::Subscription => {
                    "#subscription has: id, type, applicationName, clientId, metadata"
                }
                Obj::Mcp => "#mcp has: method, name, uri, arguments, params",
                Obj::Attributes => "read attributes as #context.attributes['name']",
            },
        )
    }

    fn property(&self, target: Node, name: &str, at: usize, safe: bool) -> Result<Node, ExprError> {
        if let K::Var(Var::Obj(obj)) = &target.kind {
            let obj = *obj;
            return match obj.field(name) {
                Some(v) => self.mk(K::Var(v), target.pos),
                None => Err(self.unknown_property(obj, name, at)),
            };
        }
        let pos = target.pos;
        self.mk(
            K::Prop {
                target: Box::new(target),
                name: String::from(name),
                safe,
            },
            pos,
        )
    }

    fn index(&self, target: Node, index: Node, at: usize) -> Result<Node, ExprError> {
        if let (K::Var(Var::Obj(obj)), K::Str(name)) = (&target.kind, &index.kind) {
            let obj = *obj;
            return match obj.field(name) {
                Some(v) => self.mk(K::Var(v), target.pos),
                None => Err(self.unknown_property(obj, name, at + 1)),
            };
        }
        let _ = at;
        let pos = target.pos;
        self.mk(
            K::Index {
                target: Box::new(target),
                index: Box::new(index),
            },
            pos,
        )
    }

    fn call(
        &self,
        target: Node,
        name: &str,
        at: usize,
        mut args: Vec<Node>,
        safe: bool,
    ) -> Result<Node, ExprError> {
        let Some(method) = Method::from_name(name) else {
            return Err(ExprError::new(
                ExprErrorKind::UnknownName,
                format!("method `{name}` is not allowed"),
                self.pos(at),
                const_format_methods(),
            ));
        };
        let (lo, hi) = method.arity();
        if args.len() < lo || args.len() > hi {
            let want = if lo == hi {
                format!("{lo}")
            } else {
                format!("{lo} or {hi}")
            };
            return Err(ExprError::new(
                ExprErrorKind::Syntax,
                format!(
                    "`{}` takes {want} argument(s), {} given",
                    method.name(),
                    args.len()
                ),
                self.pos(at),
                "check the method's arguments",
            ));
        }
        let pos = target.pos;
        if method == Method::Matches
            && !safe
            && args.first().is_some_and(|a| matches!(a.kind, K::Str(_)))
            && let Some(arg) = args.pop()
        {
            let r = self.regex_arg(arg)?;
            return self.mk(K::Matches(Box::new(target), r), pos);
        }
        self.mk(
            K::Call {
                target: Box::new(target),
                method,
                args,
                safe,
            },
            pos,
        )
    }

    fn start(&mut self) -> Result<Node, ExprError> {
        let at = self.here();
        let pos = self.pos32(at);
        let Some(tok) = self.bump() else {
            return Err(self.unexpected("a value"));
        };
        match tok.kind {
            T::Int(i) => self.mk(K::Int(i), pos),
            T::Float(f) => self.mk(K::Float(f), pos),
            T::Str(s) => self.mk(K::Str(s), pos),
            T::LParen => {
                let e = self.expr()?;
                self.expect(&T::RParen, "`)`")?;
                Ok(e)
            }
            T::LBrace => self.inline(pos),
            T::Hash => {
                let name = match self.peek() {
                    Some(T::Ident(n)) => *n,
                    _ => return Err(self.unexpected("a variable name after `#`")),
                };
                let name_at = self.here();
                self.i += 1;
                if matches!(self.peek(), Some(T::LParen)) {
                    return self.function(name, name_at, pos);
                }
                let var = match name {
                    "request" => Var::Obj(Obj::Request),
                    "response" => Var::Obj(Obj::Response),
                    "context" => Var::Obj(Obj::Context),
                    "api" => Var::Obj(Obj::Api),
                    "subscription" => Var::Obj(Obj::Subscription),
                    "mcp" => Var::Obj(Obj::Mcp),
                    "properties" => Var::Api(super::ast::ApiField::Properties),
                    "root" | "this" => Var::Root,
                    other => Var::User(String::from(other)),
                };
                self.mk(K::Var(var), pos)
            }
            T::Ident(w) => {
                if w.eq_ignore_ascii_case("true") {
                    return self.mk(K::Bool(true), pos);
                }
                if w.eq_ignore_ascii_case("false") {
                    return self.mk(K::Bool(false), pos);
                }
                if w.eq_ignore_ascii_case("null") {
                    return self.mk(K::Null, pos);
                }
                if w == "T" && matches!(self.peek(), Some(T::LParen)) {
                    return Err(ExprError::new(
                        ExprErrorKind::Unsupported,
                        String::from("type references `T(…)` are not supported"),
                        pos as usize,
                        "use the allow-listed string/list/map methods instead of Java classes",
                    ));
                }
                if w == "new" {
                    return Err(ExprError::new(
                        ExprErrorKind::Unsupported,
                        String::from("constructors (`new …`) are not supported"),
                        pos as usize,
                        "use literals: 'text', 1, {'a','b'}",
                    ));
                }
                Err(ExprError::new(
                    ExprErrorKind::UnknownName,
                    format!("`{w}` is not a variable (the root object is null)"),
                    pos as usize,
                    "variables start with #: #request, #context.attributes, #mcp…",
                ))
            }
            other => {
                self.i -= 1;
                let _ = other;
                Err(self.unexpected("a value"))
            }
        }
    }

    /// `{}` empty list, `{:}` empty map, `{a, b}` list, `{k: v}` map.
    fn inline(&mut self, pos: u32) -> Result<Node, ExprError> {
        if matches!(self.peek(), Some(T::RBrace)) {
            self.i += 1;
            return self.mk(K::List(Vec::new()), pos);
        }
        if matches!(self.peek(), Some(T::Colon)) && matches!(self.peek_at(1), Some(T::RBrace)) {
            self.i += 2;
            return self.mk(K::Map(Vec::new()), pos);
        }
        let is_map = matches!(self.peek(), Some(T::Ident(_) | T::Str(_) | T::Int(_)))
            && matches!(self.peek_at(1), Some(T::Colon));
        if is_map {
            let mut entries = Vec::new();
            loop {
                let key = match self.bump().map(|t| t.kind) {
                    Some(T::Ident(k)) => String::from(k),
                    Some(T::Str(k)) => k,
                    Some(T::Int(i)) => format!("{i}"),
                    _ => {
                        self.i = self.i.saturating_sub(1);
                        return Err(self.unexpected("a map key"));
                    }
                };
                self.expect(&T::Colon, "`:`")?;
                let v = self.expr()?;
                entries.push((key, v));
                match self.peek() {
                    Some(T::Comma) => self.i += 1,
                    Some(T::RBrace) => {
                        self.i += 1;
                        return self.mk(K::Map(entries), pos);
                    }
                    _ => return Err(self.unexpected("`,` or `}`")),
                }
            }
        }
        let mut items = Vec::new();
        loop {
            items.push(self.expr()?);
            match self.peek() {
                Some(T::Comma) => self.i += 1,
                Some(T::RBrace) => {
                    self.i += 1;
                    return self.mk(K::List(items), pos);
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    fn function(&mut self, name: &str, name_at: usize, pos: u32) -> Result<Node, ExprError> {
        if name != "jsonPath" {
            return Err(ExprError::new(
                ExprErrorKind::UnknownName,
                format!("function `#{name}` is not available"),
                self.pos(name_at),
                "the available function is #jsonPath(value, '$.path')",
            ));
        }
        let mut args = self.args()?;
        if args.len() != 2 {
            return Err(ExprError::new(
                ExprErrorKind::Syntax,
                format!("`#jsonPath` takes 2 arguments, {} given", args.len()),
                self.pos(name_at),
                "write #jsonPath(value, '$.a.b')",
            ));
        }
        let path = args.pop();
        let value = args.pop();
        let (Some(value), Some(path)) = (value, path) else {
            return Err(self.unexpected("two arguments"));
        };
        let path = if let K::Str(p) = &path.kind {
            match JsonPath::parse(p) {
                Ok(jp) => PathArg::Compiled(jp),
                Err((msg, at)) => {
                    return Err(ExprError::new(
                        ExprErrorKind::Pattern,
                        format!("invalid JSONPath: {msg}"),
                        (path.pos as usize).saturating_add(1).saturating_add(at),
                        "use $.a.b, $['a'], [0], [*] or ..name",
                    ));
                }
            }
        } else {
            PathArg::Dynamic(Box::new(path))
        };
        self.mk(
            K::JsonPath {
                value: Box::new(value),
                path,
            },
            pos,
        )
    }
}

/// The allow-list, as one static hint.
fn const_format_methods() -> &'static str {
    "allowed methods: equals, equalsIgnoreCase, contains, startsWith, endsWith, matches, isEmpty, length, toLowerCase, toUpperCase, trim, substring, indexOf, lastIndexOf, split, containsKey, get, getFirst, getAll, size, containsAllKeys, toString, keySet, values, toSingleValueMap"
}
