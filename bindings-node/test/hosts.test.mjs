// The hosts users copy, run for real: the reverse proxy in front of server-everything (over
// HTTP), and the middleware (plain http and Express) in front of a TypeScript SDK server, with
// the TypeScript SDK client listing and calling tools through each and receiving progress
// notifications as they are sent.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { createServer as netServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import express from "express";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

const require = createRequire(import.meta.url);
const { Policy } = require("../index.js");
const { createProxyServer, mcpPolicy } = require("../lib/http.js");

const EVERYTHING = require.resolve("@modelcontextprotocol/server-everything/dist/index.js");

/** Everything granted, except the tool `get-env` (listed nowhere, callable by nobody). */
const POLICY = {
  authorizations: [
    {
      authorizedFeatures: [
        { type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "ANY" },
        { type: "RESOURCES", methods: ["RESOURCES_LIST", "RESOURCES_READ", "RESOURCES_TEMPLATES_LIST"], patternType: "ANY" },
        { type: "PROMPTS", methods: ["PROMPTS_LIST", "PROMPTS_GET"], patternType: "ANY" },
      ],
    },
    {
      effect: "DENY",
      authorizedFeatures: [
        { type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "get-env" },
        { type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "secret" },
      ],
    },
  ],
};

export async function freePort() {
  return new Promise((ok, fail) => {
    const s = netServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function pollPort(port, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`port ${port} never answered`);
}

function listen(server) {
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(`http://127.0.0.1:${server.address().port}`)));
}

async function connect(url) {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: "node-binding-test", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport };
}

/** Calls a tool that reports progress; returns when each notification and the result arrived. */
async function progressTimes(client, name, args) {
  const t0 = Date.now();
  const arrivals = [];
  const result = await client.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => arrivals.push({ at: Date.now() - t0, progress: p.progress }),
  });
  return { arrivals, done: Date.now() - t0, result };
}

describe("reverse proxy in front of server-everything", () => {
  let everything;
  let proxy;
  let base;
  let errors = [];

  before(async () => {
    const port = await freePort();
    everything = spawn(process.execPath, [EVERYTHING, "streamableHttp"], {
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "ignore", "ignore"],
    });
    await pollPort(port);
    proxy = createProxyServer(Policy.fromJson(POLICY), {
      upstream: `http://127.0.0.1:${port}/mcp`,
      onError: (e) => errors.push(e),
    });
    base = await listen(proxy);
  });

  after(async () => {
    proxy?.closeAllConnections();
    proxy?.close();
    everything?.kill();
  });

  test("the SDK client lists and calls tools; hidden tools are neither listed nor callable", async () => {
    const { client, transport } = await connect(`${base}/mcp`);
    assert.equal(client.getServerVersion().name, "mcp-servers/everything");
    assert.ok(transport.sessionId, "the server's session id passes through");
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const n of ["echo", "get-sum", "trigger-long-running-operation"]) assert.ok(names.includes(n), `${n} in ${names}`);
    assert.ok(!names.includes("get-env"), "get-env is filtered out of the list");
    const echo = await client.callTool({ name: "echo", arguments: { message: "through the Node proxy" } });
    assert.equal(echo.content[0].text, "Echo: through the Node proxy");
    await assert.rejects(client.callTool({ name: "get-env", arguments: {} }), /Unknown tool: get-env/);
    const { resources } = await client.listResources();
    assert.ok(resources.length > 0);
    await transport.terminateSession();
    await client.close();
    assert.deepEqual(errors, []);
  });

  test("progress notifications stream through as the server sends them", async () => {
    const { client } = await connect(`${base}/mcp`);
    const { arrivals, done } = await progressTimes(client, "trigger-long-running-operation", { duration: 1.5, steps: 3 });
    assert.deepEqual(arrivals.map((a) => a.progress), [1, 2, 3]);
    assert.ok(arrivals[0].at < done - 700, `first progress at ${arrivals[0].at} ms, result at ${done} ms`);
    assert.ok(arrivals[2].at - arrivals[0].at >= 600, `progress spread: ${JSON.stringify(arrivals)}`);
    await client.close();
  });

  test("raw requests: a denied call is answered by the proxy, a bad body never reaches the server", async () => {
    const post = (body, headers = {}) =>
      fetch(`${base}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body,
      });
    let r = await post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env"}}');
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { jsonrpc: "2.0", id: 1, error: { code: -32602, message: "Unknown tool: get-env" } });
    r = await post('{"jsonrpc":"2.0","id":1,"method":"tools/list","id":2}');
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.code, -32600);
    r = await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { "content-type": "text/plain" });
    assert.equal(r.status, 415);
  });

  test("an unreachable server is a 502 with an error for the request", async () => {
    const dead = createProxyServer(Policy.fromJson(POLICY), { upstream: `http://127.0.0.1:${await freePort()}/mcp` });
    const url = await listen(dead);
    try {
      const r = await fetch(`${url}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: '{"jsonrpc":"2.0","id":7,"method":"ping"}',
      });
      assert.equal(r.status, 502);
      const b = await r.json();
      assert.equal(b.id, 7);
      assert.equal(b.error.code, -32603);
    } finally {
      dead.close();
    }
  });
});

/** A TypeScript SDK server: `echo`, `secret` (hidden by the policy) and `slow` (reports progress). */
function sdkServer() {
  const server = new McpServer({ name: "sdk-app", version: "1.0.0" });
  server.registerTool("echo", { inputSchema: { message: z.string() } }, async ({ message }) => ({
    content: [{ type: "text", text: `Echo: ${message}` }],
  }));
  server.registerTool("secret", { inputSchema: {} }, async () => ({ content: [{ type: "text", text: "s3cret" }] }));
  server.registerTool("slow", { inputSchema: { steps: z.number() } }, async ({ steps }, extra) => {
    for (let i = 1; i <= steps; i++) {
      await sleep(300);
      const token = extra._meta?.progressToken;
      if (token !== undefined) {
        await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: i, total: steps } });
      }
    }
    return { content: [{ type: "text", text: "done" }] };
  });
  return server;
}

/** One SDK server and transport per session, as the SDK's own examples do. */
function sdkHandler() {
  const transports = new Map();
  return async (req, res) => {
    const sid = req.headers["mcp-session-id"];
    let transport = sid && transports.get(sid);
    if (!transport) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      await sdkServer().connect(transport);
    }
    await transport.handleRequest(req, res, req.body);
  };
}

async function exerciseSdkApp(url) {
  const { client, transport } = await connect(url);
  assert.equal(client.getServerVersion().name, "sdk-app");
  const names = (await client.listTools()).tools.map((t) => t.name).sort();
  assert.deepEqual(names, ["echo", "slow"], "secret is filtered out of the list");
  const echo = await client.callTool({ name: "echo", arguments: { message: "hi" } });
  assert.equal(echo.content[0].text, "Echo: hi");
  await assert.rejects(client.callTool({ name: "secret", arguments: {} }), /Unknown tool: secret/);
  const { arrivals, done, result } = await progressTimes(client, "slow", { steps: 3 });
  assert.equal(result.content[0].text, "done");
  assert.deepEqual(arrivals.map((a) => a.progress), [1, 2, 3]);
  assert.ok(arrivals[0].at < done - 400, `first progress at ${arrivals[0].at} ms, result at ${done} ms`);
  assert.ok(arrivals[2].at - arrivals[0].at >= 400, `progress spread: ${JSON.stringify(arrivals)}`);
  await transport.terminateSession();
  await client.close();
}

describe("middleware in front of a TypeScript SDK server", () => {
  test("Express: tools listed and called, hidden ones refused, progress as sent", async () => {
    const app = express();
    const errors = [];
    app.all("/mcp", mcpPolicy(POLICY, { onError: (e) => errors.push(e) }), express.json(), sdkHandler());
    const server = createServer(app);
    const url = await listen(server);
    try {
      await exerciseSdkApp(`${url}/mcp`);
      assert.deepEqual(errors, []);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test("Node http: the same through the middleware called by hand", async () => {
    const guard = mcpPolicy(Policy.fromJson(POLICY));
    const handler = sdkHandler();
    const server = createServer((req, res) => {
      guard(req, res, (err) => {
        if (err) {
          res.writeHead(500).end(String(err));
          return;
        }
        handler(req, res).catch((e) => res.destroy(e));
      });
    });
    const url = await listen(server);
    try {
      await exerciseSdkApp(`${url}/mcp`);
      // A denied call never reaches the app: the middleware answers it.
      const r = await fetch(`${url}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"secret"}}',
      });
      assert.deepEqual(await r.json(), { jsonrpc: "2.0", id: 3, error: { code: -32602, message: "Unknown tool: secret" } });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
