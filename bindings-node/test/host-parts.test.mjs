// The host part of the proxy and the middleware (what is theirs, not the engine's), against a
// small scripted MCP upstream: which headers go upstream, what comes back, failures.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";

import express from "express";

const require = createRequire(import.meta.url);
const { Policy } = require("../index.js");
const { createProxyServer, mcpPolicy, Sessions } = require("../lib/http.js");

const POLICY = {
  authorizations: [
    { authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "echo" }] },
    { effect: "DENY", authorizedFeatures: [{ type: "SAMPLING" }] },
  ],
};
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

function listen(server) {
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(`http://127.0.0.1:${server.address().port}`)));
}

/** An upstream that records each request and answers with `script(req, body, res)`. */
function scripted() {
  const seen = [];
  let script = (_req, _body, res) => res.end();
  const server = createServer(async (req, res) => {
    const parts = [];
    for await (const c of req) parts.push(c);
    const body = Buffer.concat(parts).toString();
    seen.push({ method: req.method, headers: req.headers, body });
    script(req, body, res);
  });
  return { server, seen, set: (s) => (script = s) };
}

describe("proxy host part", () => {
  const up = scripted();
  let proxy;
  let base;
  before(async () => {
    const upUrl = await listen(up.server);
    proxy = createProxyServer(POLICY, { upstream: `${upUrl}/mcp`, timeoutMs: 500, maxSessions: 2 });
    base = await listen(proxy);
  });
  after(() => {
    for (const s of [proxy, up.server]) {
      s.closeAllConnections();
      s.close();
    }
  });
  const post = (body, headers = {}) => fetch(`${base}/mcp`, { method: "POST", headers: { ...HEADERS, ...headers }, body });

  test("forwards end-to-end headers only: no token, no hop-by-hop, identity encoding, the judged type", async () => {
    up.set((_req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "up-1", "x-up": "1", connection: "close" });
      res.end('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"get-env"}]}}');
    });
    const r = await post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', {
      authorization: "Bearer secret",
      "x-custom": "kept",
      "accept-encoding": "gzip",
      "content-type": "application/json; charset=utf-8",
      "proxy-authorization": "Basic x",
    });
    const h = up.seen.at(-1).headers;
    assert.equal(h.authorization, undefined, "no token passthrough");
    assert.equal(h["x-custom"], "kept");
    assert.equal(h["accept-encoding"], "identity");
    assert.equal(h["content-type"], "application/json");
    assert.equal(h["proxy-authorization"], undefined, "hop-by-hop");
    assert.equal(r.headers.get("x-up"), "1");
    assert.equal(r.headers.get("mcp-session-id"), "up-1");
    const text = await r.text();
    assert.equal(r.headers.get("content-length"), String(Buffer.byteLength(text)), "Content-Length fixed after filtering");
    assert.deepEqual(JSON.parse(text).result.tools, [{ name: "echo" }]);
  });

  test("an answer the engine cannot judge is not delivered (gzip), a slow server is a 504", async () => {
    up.set((_req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      res.end(gzipSync('{"jsonrpc":"2.0","id":2,"result":{}}'));
    });
    let r = await post('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo"}}');
    assert.equal(r.status, 502);
    assert.equal((await r.json()).id, 2);
    up.set(async (_req, _body, res) => {
      await sleep(1500);
      res.end();
    });
    r = await post('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo"}}');
    assert.equal(r.status, 504);
    assert.equal((await r.json()).error.code, -32000);
  });

  test("a stream may outlast the head timeout: events pass as sent", async () => {
    up.set(async (_req, _body, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}\n\n');
      await sleep(800);
      res.end('data: {"jsonrpc":"2.0","id":9,"result":{"content":[]}}\n\n');
    });
    const t0 = Date.now();
    const r = await post('{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":"t"}}}');
    const reader = r.body.getReader();
    const first = Buffer.from((await reader.read()).value).toString();
    const firstAt = Date.now() - t0;
    assert.match(first, /"progress":1/);
    let rest = "";
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += Buffer.from(c.value).toString();
    assert.match(rest, /"id":9,"result"/);
    assert.ok(Date.now() - t0 - firstAt >= 600, "the progress event arrived before the result was sent");
  });

  test("a refused server request on the stream is answered to the server, not shown to the client", async () => {
    up.set((req, body, res) => {
      if (body.includes('"id":"s1"')) return res.writeHead(202).end(); // the engine's answer, posted back
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[],"maxTokens":1}}\n\n');
      res.end('data: {"jsonrpc":"2.0","id":4,"result":{"content":[]}}\n\n');
    });
    const r = await post('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo"}}', { "mcp-session-id": "up-1" });
    const text = await r.text();
    assert.doesNotMatch(text, /sampling/);
    assert.match(text, /"id":4,"result"/);
    for (let i = 0; i < 50 && !up.seen.some((s) => s.body.includes('"id":"s1"')); i++) await sleep(20);
    const back = up.seen.find((s) => s.body.includes('"id":"s1"'));
    assert.ok(back, "posted back");
    assert.equal(back.headers["mcp-session-id"], "up-1");
    assert.equal(JSON.parse(back.body).error.code, -32601);
  });

  test("other methods are 405; DELETE ends the session upstream", async () => {
    let r = await fetch(`${base}/mcp`, { method: "PUT" });
    assert.equal(r.status, 405);
    up.set((_req, _body, res) => res.writeHead(200).end());
    r = await fetch(`${base}/mcp`, { method: "DELETE", headers: { "mcp-session-id": "up-1" } });
    assert.equal(r.status, 200);
    assert.equal(up.seen.at(-1).method, "DELETE");
    assert.equal(up.seen.at(-1).headers["mcp-session-id"], "up-1");
  });

  test("the session map is bounded", () => {
    const s = new Sessions(Policy.fromJson(POLICY).guard(), 2);
    s.get("a");
    s.get("b");
    s.get("c");
    assert.equal(s.size, 2);
    assert.ok(!s.map.has("a"), "the oldest is forgotten first");
  });

  test("a body over the engine's limit is refused by the engine (413), not cut and misjudged", async () => {
    const small = createProxyServer(POLICY, { upstream: "http://127.0.0.1:9/mcp", limits: { maxBodyBytes: 1000 } });
    const url = await listen(small);
    try {
      const body = `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"${"a".repeat(100_000)}"}}`;
      const r = await fetch(`${url}/mcp`, { method: "POST", headers: HEADERS, body });
      assert.equal(r.status, 413);
      assert.equal((await r.json()).error.code, -32700);
    } finally {
      small.close();
    }
  });

  test("options.upstream is required", () => {
    assert.throws(() => createProxyServer(POLICY, {}), /upstream/);
  });
});

test("middleware: a body parsed before it is refused (it must judge the bytes)", async () => {
  const app = express();
  const errors = [];
  app.post("/mcp", express.json(), mcpPolicy(POLICY), (_req, res) => res.end("app"));
  app.use((err, _req, res, _next) => {
    errors.push(err);
    res.status(500).end();
  });
  const server = createServer(app);
  const url = await listen(server);
  try {
    const r = await fetch(`${url}/mcp`, { method: "POST", headers: HEADERS, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
    assert.equal(r.status, 500);
    assert.match(errors[0].message, /before body parsers/);
  } finally {
    server.close();
  }
});

test("middleware: an app's JSON answer is judged whole (list filtered, Content-Length fixed)", async () => {
  const app = express();
  app.post("/mcp", mcpPolicy(POLICY), (req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ jsonrpc: "2.0", id: req.body.id, result: { tools: [{ name: "echo" }, { name: "get-env" }] } }));
  });
  const server = createServer(app);
  const url = await listen(server);
  try {
    const r = await fetch(`${url}/mcp`, { method: "POST", headers: HEADERS, body: '{"jsonrpc":"2.0","id":5,"method":"tools/list"}' });
    const text = await r.text();
    assert.deepEqual(JSON.parse(text).result.tools, [{ name: "echo" }]);
    assert.equal(r.headers.get("content-length"), String(text.length));
  } finally {
    server.close();
  }
});
