// What a Node MCP host copies: a middleware for Node's `http` and Express that enforces a
// policy in front of an MCP app (the TypeScript SDK's Streamable HTTP transport), and a
// reverse proxy in front of an MCP server at a URL. Both only move bytes: every decision is
// the engine's (`guard.client`, the `Exchange` of each answer). What is theirs: reading
// bodies, which headers to forward, hop-by-hop headers, and `Mcp-Session-Id` → engine session.
"use strict";

const { once } = require("node:events");
const { Context, Guard, Policy } = require("../index.js");

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

/** Headers a forwarded request never carries from the client: the proxy sets them itself. */
const REQUEST_SKIP = new Set([
  "host",
  "content-length",
  "content-type",
  "content-encoding",
  "accept-encoding",
  "mcp-session-id",
]);

/** Headers of the server's answer the proxy sets from the engine's answer instead. */
const RESPONSE_SKIP = new Set(["content-length", "content-type", "content-encoding", "mcp-session-id"]);

function guardOf(policy, options) {
  if (policy instanceof Guard) return policy;
  const p = policy instanceof Policy ? policy : Policy.fromJson(policy, options.limits);
  return p.guard({ resourceMetadataUrl: options.resourceMetadataUrl, maxPending: options.maxPending });
}

/**
 * Engine sessions by `Mcp-Session-Id`, at most `max` (the oldest is forgotten first).
 */
class Sessions {
  constructor(guard, max = 10000) {
    this.guard = guard;
    this.max = max;
    this.map = new Map();
  }
  /** The session of `id`, a new one (kept under `id`) when unknown, or a one-off without id. */
  get(id) {
    if (!id) return this.guard.session();
    let s = this.map.get(id);
    if (!s) s = this.bind(id, this.guard.session());
    return s;
  }
  /** Keeps `session` under `id` (the server named it in its answer to `initialize`). */
  bind(id, session) {
    if (this.map.has(id)) return this.map.get(id);
    session.setResumable(true);
    this.map.set(id, session);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value);
    return session;
  }
  delete(id) {
    this.map.delete(id);
  }
  get size() {
    return this.map.size;
  }
}

/** The connection-scoped headers of `rawHeaders` (hop-by-hop and those named in Connection). */
function hopByHop(raw) {
  const names = new Set(HOP_BY_HOP);
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === "connection") {
      for (const t of raw[i + 1].split(",")) names.add(t.trim().toLowerCase());
    }
  }
  return names;
}

/** The request's end-to-end headers to forward, as pairs. */
function forwardHeaders(req, options) {
  const raw = req.rawHeaders;
  const drop = hopByHop(raw);
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].toLowerCase();
    if (drop.has(n) || REQUEST_SKIP.has(n)) continue;
    // No token passthrough unless asked: the client's token is for this proxy.
    if (n === "authorization" && !options.forwardAuthorization) continue;
    out.push([raw[i], raw[i + 1]]);
  }
  // The engine judges bytes as they are: the server must not compress them.
  out.push(["accept-encoding", "identity"]);
  return out;
}

/** Reads a body, at most `limit` + 1 bytes (the engine refuses what is over its limit). */
async function readBody(stream, limit) {
  const parts = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit + 1) {
      parts.push(chunk.subarray(0, chunk.length - (size - limit - 1)));
      break;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** The context conditions read: `options.context(req)` or the request's visible headers. */
function contextOf(req, options) {
  if (options.context) {
    const c = options.context(req);
    return c instanceof Context ? c : new Context(c);
  }
  return Context.fromParts(req.rawHeaders);
}

/** Sends an answer the engine wrote (a client verdict's reply, or a failure reply). */
function sendReply(res, reply) {
  if (res.headersSent) return res.end();
  const body = reply.body;
  const headers = reply.headers.map(([n, v]) => [n, v]);
  headers.push(["content-length", String(body.length)]);
  res.writeHead(reply.status, headers.flat());
  res.end(body);
}

function errorHandler(options) {
  return options.onError ?? ((e) => process.emitWarning(`mcp-policy: ${e.stack ?? e}`));
}

// ---- the reverse proxy -----------------------------------------------------------------------

/**
 * A request handler `(req, res)` that enforces `policy` in front of the MCP server at
 * `options.upstream` (its Streamable HTTP endpoint URL), streaming event streams chunk by chunk.
 * @param {Policy | Guard | object | string} policy
 * @param {import("./http").ProxyOptions} options
 */
function createProxyHandler(policy, options) {
  if (!options || !options.upstream) throw new TypeError("createProxyHandler: options.upstream (the MCP server URL) is required");
  const guard = guardOf(policy, options);
  const upstream = new URL(options.upstream);
  const sessions = new Sessions(guard, options.maxSessions);
  const limit = guard.limits.maxBodyBytes;
  const timeoutMs = options.timeoutMs ?? 30000;
  const onError = errorHandler(options);

  /** POSTs a body the engine wrote back to the server (it answers a refused server request). */
  function postBack(body, sid, req) {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    if (sid) headers["mcp-session-id"] = sid;
    const v = req.headers["mcp-protocol-version"];
    if (v) headers["mcp-protocol-version"] = v;
    fetch(upstream, { method: "POST", headers, body })
      .then((r) => r.arrayBuffer())
      .catch(onError);
  }

  async function respond(req, res, exchange, up, ctx, sid, session, abort) {
    let sessionId = sid;
    const newSid = up.headers.get("mcp-session-id");
    if (newSid && !sid && up.ok) {
      sessions.bind(newSid, session);
      sessionId = newSid;
    }
    if (sid && up.status === 404) sessions.delete(sid);
    const head = exchange.serverHead(
      up.status,
      up.headers.get("content-type") ?? undefined,
      up.headers.get("content-encoding") ?? undefined,
    );
    const headers = [];
    for (const [n, v] of up.headers) {
      if (!HOP_BY_HOP.has(n) && !RESPONSE_SKIP.has(n)) headers.push(n, v);
    }
    if (newSid) headers.push("mcp-session-id", newSid);
    if (head === "stream") {
      res.writeHead(up.status, [...headers, "content-type", "text/event-stream"]);
      res.flushHeaders();
      // Chunk by chunk, as they arrive (the same as `sseTransformStream`, without the cost of
      // a Web Streams pipe on every chunk).
      const toServer = (b) => postBack(b, sessionId, req);
      try {
        let ended = false;
        for await (const chunk of up.body) {
          const step = exchange.serverChunk(chunk, ctx);
          for (const b of step.toServer) toServer(b);
          const out = step.toClient;
          if (out.length > 0 && !res.write(out)) await once(res, "drain");
          if (step.end) {
            ended = true;
            break;
          }
        }
        if (!ended) {
          const step = exchange.finish();
          for (const b of step.toServer) toServer(b);
          res.write(step.toClient);
        }
      } catch (e) {
        if (abort.signal.aborted) return; // the client went away: nothing to tell it
        const step = exchange.failStream("broken", `the server's stream broke: ${e.message}`);
        res.write(step.toClient);
      }
      res.end();
      return;
    }
    let body;
    try {
      body = up.body ? await readBody(up.body, limit) : Buffer.alloc(0);
    } catch (e) {
      return sendReply(res, exchange.failReply("broken", `the server's answer broke: ${e.message}`));
    }
    const a = exchange.serverBody(body, ctx);
    for (const b of a.toServer) postBack(b, sessionId, req);
    const out = a.body ?? body;
    if (a.contentType) headers.push("content-type", a.contentType);
    headers.push("content-length", String(out.length));
    res.writeHead(a.status, headers);
    res.end(out);
  }

  return async function mcpPolicyProxy(req, res) {
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    try {
      const sid = req.headers["mcp-session-id"];
      const ctx = contextOf(req, options);
      const target = new URL(upstream);
      target.search = new URL(req.url, "http://x").search || upstream.search;
      const headers = forwardHeaders(req, options);
      if (sid) headers.push(["mcp-session-id", sid]);
      let exchange;
      let session;
      let body;
      if (req.method === "POST") {
        body = await readBody(req, limit);
        session = sessions.get(sid);
        const v = guard.client(body, req.rawHeaders, ctx, session);
        if (v.verdict === "reply") return sendReply(res, v);
        exchange = v.exchange;
        headers.push(["content-type", v.contentType]);
      } else if (req.method === "GET") {
        session = sessions.get(sid);
        exchange = guard.stream(session, req.headers["last-event-id"]);
      } else if (req.method === "DELETE") {
        if (sid) sessions.delete(sid);
        const up = await fetch(target, { method: "DELETE", headers, signal: abort.signal });
        res.writeHead(up.status, { "content-length": "0" });
        return res.end();
      } else {
        res.writeHead(405, { allow: "GET, POST, DELETE", "content-length": "0" });
        return res.end();
      }
      // One controller for both ends: the client going away, and the server not answering
      // in time (a plain timer: AbortSignal.any and AbortSignal.timeout cost more per request).
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, timeoutMs);
      let up;
      try {
        up = await fetch(target, { method: req.method, headers, body, signal: abort.signal });
      } catch (e) {
        if (abort.signal.aborted && !timedOut) return;
        const failure = timedOut ? "timeout" : "unreachable";
        const detail =
          failure === "timeout" ? "did not answer in time" : `cannot be reached: ${e.cause?.message ?? e.message}`;
        return sendReply(res, exchange.failReply(failure, `the server at ${upstream} ${detail}`));
      } finally {
        clearTimeout(timer);
      }
      await respond(req, res, exchange, up, ctx, sid, session, abort);
    } catch (e) {
      onError(e);
      if (!res.headersSent) {
        res.writeHead(500, { "content-length": "0" });
        res.end();
      } else res.destroy(e);
    }
  };
}

/**
 * An `http.Server` running {@link createProxyHandler}; `listen` it yourself.
 */
function createProxyServer(policy, options) {
  const http = require("node:http");
  return http.createServer(createProxyHandler(policy, options));
}

// ---- the middleware --------------------------------------------------------------------------

function toBuffer(chunk, encoding) {
  if (chunk === undefined || chunk === null) return Buffer.alloc(0);
  if (typeof chunk === "string") return Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8");
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Copies `headers` (an object or a flat/paired list, as `writeHead` takes) onto `res`. */
function applyHeaders(res, headers) {
  if (!headers) return;
  if (Array.isArray(headers)) {
    const pairs = Array.isArray(headers[0]) ? headers : [];
    if (!pairs.length) for (let i = 0; i < headers.length; i += 2) pairs.push([headers[i], headers[i + 1]]);
    for (const [n, v] of pairs) res.setHeader(n, v);
  } else {
    for (const [n, v] of Object.entries(headers)) if (v !== undefined) res.setHeader(n, v);
  }
}

/**
 * Puts `exchange` between an app and the client: what the app writes to `res` is judged
 * (an event stream chunk by chunk, anything else whole) before it reaches the client.
 */
function judgeResponse(res, exchange, ctx, postBack, onSessionId) {
  const orig = { writeHead: res.writeHead, write: res.write, end: res.end, flushHeaders: res.flushHeaders };
  let mode = null;
  let ended = false;
  const buffered = [];

  const decide = () => {
    if (mode) return;
    const ct = res.getHeader("content-type");
    const ce = res.getHeader("content-encoding");
    const sid = res.getHeader("mcp-session-id");
    if (sid) onSessionId(String(sid));
    mode = exchange.serverHead(res.statusCode, ct === undefined ? undefined : String(ct), ce === undefined ? undefined : String(ce));
    if (mode === "stream") {
      res.removeHeader("content-length");
      res.setHeader("content-type", "text/event-stream");
      orig.writeHead.call(res, res.statusCode);
    }
  };
  const emit = (step) => {
    for (const b of step.toServer) postBack(b);
    const ok = orig.write.call(res, step.toClient);
    if (step.end) {
      ended = true;
      orig.end.call(res);
    }
    return ok;
  };

  res.writeHead = function (status, reason, headers) {
    if (typeof reason !== "string") headers = reason;
    res.statusCode = status;
    applyHeaders(res, headers);
    decide();
    return res;
  };
  res.flushHeaders = function () {
    decide();
    if (mode === "stream") orig.flushHeaders.call(res);
  };
  res.write = function (chunk, encoding, cb) {
    if (typeof encoding === "function") [cb, encoding] = [encoding, undefined];
    decide();
    const buf = toBuffer(chunk, encoding);
    let ok = true;
    if (ended) ok = true;
    else if (mode === "stream") ok = emit(exchange.serverChunk(buf, ctx));
    else buffered.push(buf);
    if (cb) process.nextTick(cb);
    return ok;
  };
  res.end = function (chunk, encoding, cb) {
    if (typeof chunk === "function") [cb, chunk] = [chunk, undefined];
    if (typeof encoding === "function") [cb, encoding] = [encoding, undefined];
    decide();
    if (chunk !== undefined && chunk !== null) res.write(chunk, encoding);
    if (ended) {
      if (cb) process.nextTick(cb);
      return res;
    }
    ended = true;
    if (mode === "stream") {
      const step = exchange.finish();
      for (const b of step.toServer) postBack(b);
      orig.end.call(res, step.toClient, cb);
      return res;
    }
    const body = Buffer.concat(buffered);
    const a = exchange.serverBody(body, ctx);
    for (const b of a.toServer) postBack(b);
    const out = a.body ?? body;
    if (a.contentType) res.setHeader("content-type", a.contentType);
    else res.removeHeader("content-type");
    res.setHeader("content-length", String(out.length));
    orig.writeHead.call(res, a.status);
    orig.end.call(res, out, cb);
    return res;
  };
}

/**
 * A middleware `(req, res, next)` for Node's `http` and Express that enforces `policy` in
 * front of an MCP app mounted after it (the TypeScript SDK's `StreamableHTTPServerTransport`):
 * each POST body is judged before the app sees it (then `req.body` holds the parsed message, as
 * `express.json()` would leave it), and whatever the app answers is judged before the client
 * reads it. Mount it before any body parser.
 * @param {Policy | Guard | object | string} policy
 * @param {import("./http").MiddlewareOptions} [options]
 */
function mcpPolicy(policy, options = {}) {
  const guard = guardOf(policy, options);
  const sessions = new Sessions(guard, options.maxSessions);
  const limit = guard.limits.maxBodyBytes;
  const onError = errorHandler(options);

  function defaultPostBack(req, sid) {
    const url = `http://${req.socket.localAddress.includes(":") ? `[${req.socket.localAddress}]` : req.socket.localAddress}:${req.socket.localPort}${req.originalUrl ?? req.url}`;
    return (body) => {
      const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      const id = sid();
      if (id) headers["mcp-session-id"] = id;
      const v = req.headers["mcp-protocol-version"];
      if (v) headers["mcp-protocol-version"] = v;
      fetch(url, { method: "POST", headers, body })
        .then((r) => r.arrayBuffer())
        .catch(onError);
    };
  }

  return async function mcpPolicyMiddleware(req, res, next) {
    try {
      let sid = req.headers["mcp-session-id"];
      const ctx = contextOf(req, options);
      const onSessionId = (id) => {
        if (!sid) sessions.bind(id, session);
        sid = id;
      };
      const postBack = options.postBack ? (b) => options.postBack(b, req) : defaultPostBack(req, () => sid);
      let session;
      if (req.method === "POST") {
        if (req.body !== undefined && !Buffer.isBuffer(req.body)) {
          throw new Error("mcpPolicy: the body was parsed before the policy saw it; mount the middleware before body parsers");
        }
        const body = Buffer.isBuffer(req.body) ? req.body : await readBody(req, limit);
        session = sessions.get(sid);
        const v = guard.client(body, req.rawHeaders, ctx, session);
        if (v.verdict === "reply") return sendReply(res, v);
        // The app reads the message the engine judged.
        req.body = JSON.parse(body.toString("utf8"));
        judgeResponse(res, v.exchange, ctx, postBack, onSessionId);
      } else if (req.method === "GET") {
        session = sessions.get(sid);
        judgeResponse(res, guard.stream(session, req.headers["last-event-id"]), ctx, postBack, onSessionId);
      } else if (req.method === "DELETE") {
        if (sid) sessions.delete(sid);
      }
      next();
    } catch (e) {
      if (options.onError) options.onError(e);
      next(e);
    }
  };
}

module.exports = { mcpPolicy, createProxyHandler, createProxyServer, Sessions, HOP_BY_HOP };
