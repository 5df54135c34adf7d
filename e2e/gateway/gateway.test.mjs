// End-to-end: the built gateway in front of the real server-everything (spawned over stdio by the
// gateway, and over HTTP), driven by the real TypeScript SDK client.
//   MCP_POLICY_BIN=target/debug/mcp-policy node --test e2e/gateway/
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";

import {
  EVERYTHING,
  INIT,
  POLICY,
  freePort,
  kill,
  post,
  sseMessages,
  startEverythingHttp,
  startGateway,
} from "./harness.mjs";

let everything;
let gw;

before(async () => {
  everything = await startEverythingHttp();
  const deadPort = await freePort();
  gw = await startGateway([
    { name: "stdio", path: "/mcp", command: [process.execPath, EVERYTHING, "stdio"] },
    { name: "http", path: "/mcp-http", url: everything.url },
    { name: "stdio-acl", path: "/acl", command: [process.execPath, EVERYTHING, "stdio"], policy: POLICY },
    { name: "http-acl", path: "/acl-http", url: everything.url, policy: POLICY },
    { name: "small", path: "/small", url: everything.url, extra: ["limits = { max_body_bytes = 1000 }"] },
    { name: "down", path: "/down", url: `http://127.0.0.1:${deadPort}/mcp`, extra: ["timeouts = { connect_ms = 1000 }"] },
  ]);
});

after(async () => {
  await gw?.stop();
  await everything?.stop();
});

async function connect(path, opts = {}, base = gw.base) {
  const transport = new StreamableHTTPClientTransport(new URL(base + path), opts);
  const client = new Client({ name: "e2e", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport };
}

for (const [label, path] of [
  ["stdio backend", "/mcp"],
  ["HTTP backend", "/mcp-http"],
]) {
  describe(`core flow through the gateway (${label})`, () => {
    test("initialize, tools, resources, prompts, progress, end of session", async () => {
      const { client, transport } = await connect(path);
      // Sealed (seal.rs): base64url of a nonce, the sealed upstream binding and a tag.
      assert.match(transport.sessionId, /^[A-Za-z0-9_-]{60,}$/, "the gateway mints its own session ids");
      assert.equal(client.getServerVersion().name, "mcp-servers/everything");

      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const n of ["echo", "get-sum", "get-env", "trigger-long-running-operation"]) {
        assert.ok(names.includes(n), `${n} listed: ${names}`);
      }

      const echo = await client.callTool({ name: "echo", arguments: { message: "through the gateway" } });
      assert.equal(echo.content[0].text, "Echo: through the gateway");
      const sum = await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
      assert.match(sum.content[0].text, /5/);

      const { resources } = await client.listResources();
      assert.ok(resources.length >= 7);
      const read = await client.readResource({ uri: resources[0].uri });
      assert.ok(read.contents[0].text.length > 0);
      const dyn = await client.readResource({ uri: "demo://resource/dynamic/text/1" });
      assert.equal(dyn.contents[0].uri, "demo://resource/dynamic/text/1");

      const prompt = await client.getPrompt({ name: "args-prompt", arguments: { city: "Paris" } });
      assert.match(JSON.stringify(prompt.messages), /Paris/);

      // Progress must be streamed as the server sends it, not released with the result.
      const arrivals = [];
      const t0 = Date.now();
      const long = await client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 1.5, steps: 3 } },
        undefined,
        { onprogress: (p) => arrivals.push({ at: Date.now() - t0, progress: p.progress }) },
      );
      const done = Date.now() - t0;
      assert.match(long.content[0].text, /completed/i);
      assert.equal(arrivals.length, 3, JSON.stringify(arrivals));
      assert.deepEqual(arrivals.map((a) => a.progress), [1, 2, 3]);
      assert.ok(arrivals[0].at < done - 700, `first progress at ${arrivals[0].at} ms, result at ${done} ms`);
      assert.ok(arrivals[2].at - arrivals[0].at >= 600, `progress spread: ${JSON.stringify(arrivals)}`);

      const sid = transport.sessionId;
      await transport.terminateSession();
      await client.close();
      const again = await post(gw.base + path, { jsonrpc: "2.0", id: 9, method: "tools/list" }, {
        "mcp-session-id": sid,
        "mcp-protocol-version": "2025-11-25",
      });
      assert.equal(again.status, 404, "an ended session is unknown to the gateway");
      assert.equal(again.json.error.code, -32001);
      assert.equal(again.json.id, 9, "the error names the request it answers");
    });

    test("resumption with Last-Event-ID through the gateway", async () => {
      const init = await post(gw.base + path, INIT);
      assert.equal(init.status, 200);
      const sid = init.headers.get("mcp-session-id");
      const h = {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sid,
        "mcp-protocol-version": "2025-11-25",
      };
      await fetch(gw.base + path, {
        method: "POST",
        headers: h,
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      });
      const ac = new AbortController();
      const r = await fetch(gw.base + path, {
        method: "POST",
        headers: h,
        signal: ac.signal,
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: {
            name: "trigger-long-running-operation",
            arguments: { duration: 1.2, steps: 4 },
            _meta: { progressToken: "p1" },
          },
        }),
      });
      assert.equal(r.headers.get("content-type"), "text/event-stream");
      // Read until the first progress event, remember its id, then drop the connection.
      const reader = r.body.getReader();
      let text = "";
      let lastId;
      while (!lastId) {
        const { value, done } = await reader.read();
        assert.ok(!done, "stream ended before any progress");
        text += new TextDecoder().decode(value);
        for (const block of text.split("\n\n").slice(0, -1)) {
          if (block.includes("notifications/progress")) lastId = block.match(/^id: ?(.*)$/m)?.[1];
        }
      }
      ac.abort();
      // server-everything replays a POST stream's events only once the stream is finished
      // (observed; the stdio bridge would also continue a live one), so resume after the end.
      await new Promise((r) => setTimeout(r, 1500));
      const resumed = await fetch(gw.base + path, {
        method: "GET",
        headers: { ...h, accept: "text/event-stream", "last-event-id": lastId },
        signal: AbortSignal.timeout(10000),
      });
      assert.equal(resumed.status, 200);
      // A resumed stream may stay open (it can become the session's GET stream): read until the
      // result.
      let body = "";
      let msgs = [];
      const rr = resumed.body.getReader();
      while (!msgs.some((m) => m.id === 2)) {
        const { value, done } = await rr.read();
        if (done) break;
        body += new TextDecoder().decode(value);
        msgs = sseMessages(body.slice(0, body.lastIndexOf("\n\n") + 2));
      }
      await rr.cancel();
      const result = msgs.find((m) => m.id === 2);
      assert.ok(result, `the result arrives on the resumed stream: ${JSON.stringify(msgs)}`);
      assert.match(result.result.content[0].text, /completed/i);
      const progress = msgs.filter((m) => m.method === "notifications/progress").map((m) => m.params.progress);
      assert.ok(!progress.includes(1), `events before Last-Event-ID are not replayed: ${progress}`);
      await fetch(gw.base + path, { method: "DELETE", headers: h });
    });
  });
}

describe("policy (examples/policy.json)", () => {
  for (const path of ["/acl", "/acl-http"]) {
    test(`${path}: every tool but get-env listed; get-env denied`, async () => {
      const { client, transport } = await connect(path);
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.ok(!names.includes("get-env"), `get-env hidden: ${names}`);
      assert.ok(names.includes("echo") && names.includes("get-sum"));
      assert.equal(names.length, 12, `12 of server-everything's 13 tools: ${names}`);
      await assert.rejects(client.callTool({ name: "get-env", arguments: {} }), (e) => {
        assert.equal(e.code, -32602);
        return true;
      });
      const echo = await client.callTool({ name: "echo", arguments: { message: "ok" } });
      assert.equal(echo.content[0].text, "Echo: ok");
      assert.ok((await client.listResources()).resources.length >= 7);
      assert.equal((await client.listPrompts()).prompts.length, 4);
      await transport.terminateSession();
      await client.close();
    });
  }
});

describe("server requests denied by policy", () => {
  // Every tool callable, sampling denied: the server's sampling/createMessage never reaches the
  // client, and the gateway answers it to the server with an error, so the tool call ends.
  const policy = join(mkdtempSync(join(tmpdir(), "mcp-gw-sampling-")), "policy.json");
  writeFileSync(
    policy,
    JSON.stringify({
      authorizations: [
        { authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "ANY" }] },
        { effect: "DENY", authorizedFeatures: [{ type: "SAMPLING" }] },
      ],
    }),
  );
  let g;
  before(async () => {
    g = await startGateway([
      { name: "stdio-nosampling", path: "/stdio", command: [process.execPath, EVERYTHING, "stdio"], policy },
      { name: "http-nosampling", path: "/http", url: everything.url, policy },
    ]);
  });
  after(async () => g?.stop());

  for (const path of ["/stdio", "/http"]) {
    test(`${path}: trigger-sampling-request ends with an error instead of hanging`, async () => {
      const transport = new StreamableHTTPClientTransport(new URL(g.base + path));
      const client = new Client({ name: "e2e", version: "1.0.0" }, { capabilities: { sampling: {} } });
      let asked = 0;
      client.setRequestHandler(CreateMessageRequestSchema, async () => {
        asked += 1;
        return { role: "assistant", content: { type: "text", text: "leaked" }, model: "none" };
      });
      await client.connect(transport);
      try {
        const t0 = Date.now();
        const outcome = await client
          .callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 5 } }, undefined, {
            timeout: 10000,
          })
          .then((r) => ({ result: r }), (e) => ({ error: e }));
        assert.equal(asked, 0, "the denied sampling request never reached the client");
        assert.ok(Date.now() - t0 < 8000, `answered promptly (${Date.now() - t0} ms)`);
        // server-everything turns the failed sampling call into a tool error result.
        // The denial the gateway sent the server is what the tool reports.
        const text = outcome.error ? String(outcome.error) : JSON.stringify(outcome.result);
        assert.ok(outcome.error || outcome.result.isError === true, text);
        assert.match(text, /-32601.*sampling\/createMessage/, text);
        assert.doesNotMatch(text, /leaked/);
        // The session is still usable afterwards.
        const echo = await client.callTool({ name: "echo", arguments: { message: "after" } });
        assert.equal(echo.content[0].text, "Echo: after");
      } finally {
        await transport.terminateSession().catch(() => {});
        await client.close();
      }
    });
  }
});

describe("safety", () => {
  test("foreign Origin gets 403 with a JSON-RPC error", async () => {
    const r = await post(gw.base + "/mcp-http", INIT, { origin: "http://evil.example" });
    assert.equal(r.status, 403);
    assert.equal(r.json.jsonrpc, "2.0");
    assert.equal(r.json.error.code, -32000);
    const ok = await post(gw.base + "/mcp-http", INIT, { origin: "http://localhost:6274" });
    assert.equal(ok.status, 200);
  });

  test("foreign Host gets 403", async () => {
    // fetch() will not forge Host, so speak HTTP/1.1 by hand.
    const { request } = await import("node:http");
    const url = new URL(gw.base + "/mcp-http");
    const status = await new Promise((ok, fail) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: "POST",
          headers: { host: "evil.example:8080", "content-type": "application/json", accept: "application/json, text/event-stream" } },
        (res) => { res.resume(); ok(res.statusCode); },
      );
      req.on("error", fail);
      req.end(JSON.stringify(INIT));
    });
    assert.equal(status, 403);
  });

  test("oversized body gets 413 with a JSON-RPC error", async () => {
    const big = { ...INIT, params: { ...INIT.params, clientInfo: { name: "x".repeat(2000), version: "1" } } };
    const r = await post(gw.base + "/small", big);
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, -32600);
  });

  test("unparseable body is refused before the backend", async () => {
    const r = await post(gw.base + "/mcp-http", "{not json");
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
  });

  test("backend down gets 502 with a JSON-RPC error naming the backend", async () => {
    const r = await post(gw.base + "/down", INIT);
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, -32603);
    assert.equal(r.json.id, 1);
    assert.match(r.json.error.message, /127\.0\.0\.1:\d+\/mcp/);
  });

  test("unknown session id gets 404", async () => {
    for (const path of ["/mcp", "/mcp-http"]) {
      const r = await post(gw.base + path, { jsonrpc: "2.0", id: 3, method: "tools/list" }, {
        "mcp-session-id": "0123456789abcdef0123456789abcdef",
      });
      assert.equal(r.status, 404, path);
    }
  });

  test("HTTP backend killed mid-stream: clean error, gateway keeps serving", async () => {
    const victim = await startEverythingHttp();
    const g2 = await startGateway([
      { name: "victim", path: "/mcp", url: victim.url },
      { name: "stdio", path: "/stdio", command: [process.execPath, EVERYTHING, "stdio"] },
    ]);
    try {
      const noRetry = { maxRetries: 0, initialReconnectionDelay: 10, maxReconnectionDelay: 10, reconnectionDelayGrowFactor: 1 };
      const { client } = await connect("/mcp", { reconnectionOptions: noRetry }, g2.base);
      let killed = false;
      const call = client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } },
        undefined,
        {
          timeout: 15000,
          onprogress: () => {
            if (!killed) {
              killed = true;
              victim.child.kill("SIGKILL");
            }
          },
        },
      );
      await assert.rejects(call, (e) => {
        assert.equal(e.code, -32603, String(e));
        assert.match(e.message, /Backend http:\/\/127\.0\.0\.1:\d+\/mcp/);
        return true;
      });
      await client.close().catch(() => {});
      const m = await fetch(g2.base + "/metrics");
      assert.equal(m.status, 200);
      const s = await connect("/stdio", {}, g2.base);
      assert.equal((await s.client.callTool({ name: "echo", arguments: { message: "alive" } })).content[0].text, "Echo: alive");
      await s.transport.terminateSession();
      await s.client.close();
    } finally {
      await g2.stop();
      await victim.stop();
    }
  });

  test("stdio backend killed mid-stream: clean error, new session works", async () => {
    const { client, transport } = await connect("/mcp");
    let killed = false;
    const call = client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } },
      undefined,
      {
        timeout: 15000,
        onprogress: () => {
          if (killed) return;
          killed = true;
          // The gateway's children are the per-session server processes; kill the newest.
          const pids = execFileSync("pgrep", ["-n", "-P", String(gw.child.pid)]).toString().trim();
          process.kill(Number(pids), "SIGKILL");
        },
      },
    );
    await assert.rejects(call, (e) => {
      assert.equal(e.code, -32603, String(e));
      assert.match(e.message, /ended/);
      return true;
    });
    const sid = transport.sessionId;
    await client.close().catch(() => {});
    const r = await post(gw.base + "/mcp", { jsonrpc: "2.0", id: 4, method: "tools/list" }, { "mcp-session-id": sid });
    assert.equal(r.status, 404, "the dead session is gone");
    const s = await connect("/mcp");
    assert.equal((await s.client.callTool({ name: "echo", arguments: { message: "again" } })).content[0].text, "Echo: again");
    await s.transport.terminateSession();
    await s.client.close();
  });
});

describe("observability", () => {
  test("/metrics and one JSON log line per exchange", async () => {
    const { client, transport } = await connect("/mcp-http");
    await client.callTool({ name: "echo", arguments: { message: "m" } });
    await transport.terminateSession();
    await client.close();
    const text = await (await fetch(gw.base + "/metrics")).text();
    assert.match(text, /mcp_gateway_requests_total\{api="http",http_method="POST",method="tools\/call",status="200",decision="pass-through"\} \d+/);
    assert.match(text, /mcp_gateway_request_duration_seconds_bucket\{api="http",http_method="POST",method="tools\/call",le="\+Inf"\} \d+/);
    await new Promise((r) => setTimeout(r, 100));
    const lines = gw.logs.map((l) => JSON.parse(l));
    const call = lines.find((l) => l.api === "http" && l.method === "tools/call" && l.subject === "echo");
    assert.ok(call, "a log line for the echo call");
    for (const k of ["time", "decision", "status", "latency_us", "session"]) assert.ok(k in call, k);
    assert.equal(call.status, 200);
  });

  test("an exchange's log line is written on its own, with nothing reading the counters", async () => {
    // /metrics and the dashboard write what waits before they read; here only the log's
    // flusher thread can, within its batch window (10 ms).
    const before = gw.logs.length;
    const { client, transport } = await connect("/mcp-http");
    await client.callTool({ name: "echo", arguments: { message: "flushed-alone" } });
    await transport.terminateSession();
    await client.close();
    const line = () =>
      gw.logs
        .slice(before)
        .map((l) => JSON.parse(l))
        .find((l) => l.api === "http" && l.method === "tools/call" && l.subject === "echo");
    const deadline = Date.now() + 2000;
    while (!line() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(line(), "the call's log line within 2 s, without /metrics");
  });
});

describe("reload and shutdown", () => {
  test("SIGHUP: a bad configuration is refused, sessions survive; SIGTERM exits cleanly", async () => {
    const g = await startGateway([
      { name: "stdio", path: "/mcp", command: [process.execPath, EVERYTHING, "stdio"] },
    ]);
    try {
      const { client, transport } = await connect("/mcp", {}, g.base);
      const good = readFileSync(g.config, "utf8");
      writeFileSync(g.config, good + "\n[[api]]\nname = 'broken'\n");
      g.child.kill("SIGHUP");
      await new Promise((r) => setTimeout(r, 300));
      assert.match(g.errors.join(""), /reload \(SIGHUP\) refused, keeping the previous configuration/);
      assert.equal((await client.callTool({ name: "echo", arguments: { message: "still" } })).content[0].text, "Echo: still");

      writeFileSync(g.config, good.replace('path = "/mcp"', 'path = "/mcp"\nallowed_origins = ["http://ok.example"]'));
      g.child.kill("SIGHUP");
      await new Promise((r) => setTimeout(r, 300));
      assert.match(g.errors.join(""), /reloaded configuration \(SIGHUP\)/);
      const r = await post(g.base + "/mcp", INIT, { origin: "http://ok.example" });
      assert.equal(r.status, 200, "the new allow-list is in force");
      assert.equal((await client.callTool({ name: "echo", arguments: { message: "kept" } })).content[0].text, "Echo: kept", "the session survived the reload");
      await transport.terminateSession();
      await client.close();

      const exited = new Promise((ok) => g.child.once("exit", (code, sig) => ok({ code, sig })));
      g.child.kill("SIGTERM");
      const { code } = await exited;
      assert.equal(code, 0);
    } finally {
      await g.stop();
    }
  });
});
