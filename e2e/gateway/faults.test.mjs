// Fault tests (issue 18): backends that die, stall, lie about lengths or send garbage, clients
// that vanish or trickle, thousands of connections and sessions, 10,000 malformed requests,
// a policy reload that fails. Each case checks that the client gets a clean error (status and
// a JSON-RPC error with the request's id, or error events), that nothing the engine did not
// judge is delivered, that the gateway keeps serving, and per group that its memory (VmRSS)
// comes back to its baseline.
//   MCP_POLICY_BIN=target/debug/mcp-policy node --test e2e/gateway/faults.test.mjs
//   FAULTS_SEED=1234 ... replays the malformed-request run with that seed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { startFaultBackend } from "./faults-backend.mjs";
import { allowedByPolicy, malformed } from "./faults-fuzz.mjs";
import { prng } from "../prng.mjs";
import { messagesOf, pool, rawConnection, rssKb, settledRssKb, within } from "./faults-util.mjs";
import { EVERYTHING, INIT, POLICY, startEverythingHttp, startGateway } from "./harness.mjs";

// Memory may grow this much over a group's baseline and still count as come back: the
// allocator keeps some freed pages and tokio keeps its worker buffers.
const RSS_TOLERANCE_KB = 8 * 1024;
const SHORT = "timeouts = { connect_ms = 500, read_ms = 1000, stream_idle_ms = 1000, body_read_ms = 1000, session_idle_s = 1 }";

let fb; // the faulty backend, raw TCP
let everything; // server-everything over HTTP: the normal path
let gw;
let policyFile;
let port;
let slowHeaders;

/** A client sending its request head one byte a second, never finishing it. */
async function startSlowHeaders() {
  const head = `POST /faulty HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-slow: ${"a".repeat(80)}`;
  const c = await rawConnection(port);
  let i = 0;
  const drip = setInterval(() => i < head.length && c.socket.write(head[i++]), 1000);
  const t0 = Date.now();
  const closed = c.closed.then((got) => ({ got, waited: Date.now() - t0 }));
  closed.finally(() => clearInterval(drip));
  return { c, closed, drip };
}

before(async () => {
  fb = await startFaultBackend();
  everything = await startEverythingHttp();
  policyFile = join(tmpdir(), `faults-policy-${process.pid}.json`);
  copyFileSync(POLICY, policyFile);
  gw = await startGateway([
    // One pool in front of every fault: a fault must not poison the next request on it.
    {
      name: "faulty",
      path: "/faulty",
      url: fb.url,
      extra: [SHORT, "limits = { max_body_bytes = 65536, max_response_bytes = 1048576 }"],
    },
    // Timeouts for a machine under load: this API measures sessions, not slowness.
    {
      name: "sessions",
      path: "/sessions",
      url: fb.url.replace(/\/mcp$/, "/sessions"),
      extra: ["timeouts = { connect_ms = 3000, read_ms = 5000, session_idle_s = 1 }"],
    },
    { name: "fuzz", path: "/fuzz", url: fb.url.replace(/\/mcp$/, "/fuzz"), policy: policyFile, extra: [SHORT] },
    { name: "everything", path: "/mcp", url: everything.url, policy: POLICY },
    { name: "stdio", path: "/stdio", command: [process.execPath, EVERYTHING, "stdio"] },
  ]);
  port = Number(new URL(gw.base).port);
  // Started now and checked last: the 30 s header timeout runs while the other cases do.
  slowHeaders = await startSlowHeaders();
});

after(async () => {
  if (slowHeaders) {
    clearInterval(slowHeaders.drip);
    slowHeaders.c.socket.destroy();
  }
  await gw?.stop();
  await everything?.stop();
  await fb?.stop();
  if (policyFile) rmSync(policyFile, { force: true });
});

/** The normal path, with the real SDK client through the gateway: an echo works. */
async function normalPathWorks(path = "/mcp") {
  const transport = new StreamableHTTPClientTransport(new URL(gw.base + path));
  const client = new Client({ name: "faults", version: "1" }, { capabilities: {} });
  await client.connect(transport);
  const r = await client.callTool({ name: "echo", arguments: { message: "still up" } });
  assert.equal(r.content[0].text, "Echo: still up");
  await transport.terminateSession();
  await client.close();
}

/** A raw POST to the gateway; returns { status, headers, text, messages }. */
async function rawPost(path, body, headers = {}, signal = AbortSignal.timeout(15000)) {
  const r = await fetch(gw.base + path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    signal,
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, messages: () => messagesOf(r.headers.get("content-type"), text) };
}

/** A session on the faulty API, and a call of fault `name` in it with a fresh id. */
async function faultySession() {
  const init = await rawPost("/faulty", INIT);
  assert.equal(init.status, 200, init.text);
  const sid = init.headers.get("mcp-session-id");
  await rawPost("/faulty", { jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": sid });
  let id = 100;
  return {
    sid,
    call: (name, args = {}) => {
      const n = ++id;
      const body = { jsonrpc: "2.0", id: n, method: "tools/call", params: { name, arguments: args } };
      return rawPost("/faulty", body, { "mcp-session-id": sid }).then((r) => ({ ...r, id: n }));
    },
  };
}

/**
 * The answer is a clean failure of request `r.id`: `status`, and exactly one message, a
 * JSON-RPC error with `code` and the request's id, after only progress notifications (the
 * engine let those through); none of `forbidden` (bytes only the fault sent) anywhere.
 */
function assertCleanError(r, { status, code, message, forbidden = [] }) {
  assert.equal(r.status, status, r.text.slice(0, 300));
  const msgs = r.messages();
  const last = msgs.at(-1);
  assert.ok(last?.error, `an error last: ${r.text.slice(0, 300)}`);
  assert.equal(last.id, r.id, "the error carries the request's id");
  assert.equal(last.error.code, code, last.error.message);
  if (message) assert.match(last.error.message, message);
  for (const m of msgs.slice(0, -1)) assert.equal(m.method, "notifications/progress", JSON.stringify(m));
  for (const f of forbidden) assert.ok(!r.text.includes(f), `${f} delivered`);
}

/**
 * Runs `work` between two settled RSS reads of the gateway and checks they are close. The
 * allocator keeps the pages of a load's peak (glibc's arenas), so the first runs of a load
 * raise RSS to a plateau and only growth past it is a leak: `warmups` runs of `work` come
 * first, unmeasured (their figures are reported).
 */
async function memoryComesBack(t, what, work, { warmups = 0, tolerance = RSS_TOLERANCE_KB } = {}) {
  const cold = await settledRssKb(gw.child.pid);
  for (let i = 0; i < warmups; i++) await work();
  const before = await settledRssKb(gw.child.pid);
  const out = await work();
  const afterKb = await settledRssKb(gw.child.pid);
  t.diagnostic(
    `${what}: gateway VmRSS ${cold} kB cold, ${before} kB after ${warmups} warm-up run(s), ` +
      `${afterKb} kB after the measured run (tolerance +${tolerance} kB)`,
  );
  assert.ok(afterKb <= before + tolerance, `${what}: RSS ${before} kB -> ${afterKb} kB`);
  return out;
}

describe("backend faults (HTTP backend, one connection pool)", () => {
  const rounds = Number(process.env.FAULTS_ROUNDS ?? 10);

  test("warm-up: the faulty backend works through the gateway", async () => {
    const s = await faultySession();
    const r = await s.call("echo", { message: "warm" });
    assert.equal(r.messages()[0].result.content[0].text, "Echo: warm");
    await normalPathWorks();
  });

  // Each fault and the error the client must get; after each, an echo on the same session
  // goes through the same upstream pool.
  const CASES = [
    ["killed mid-SSE", "sse-killed", {}, { status: 200, code: -32603, message: /broke the stream/ }],
    ["SSE ended without the answer, no event id", "sse-no-answer", {}, { status: 200, code: -32603, message: /ended the stream without answering/ }],
    ["accepts, never answers", "never", {}, { status: 504, code: -32000, message: /did not answer within 1000 ms/ }],
    ["headers then stall (JSON)", "headers-stall-json", {}, { status: 504, code: -32000, message: /did not finish its response within 1000 ms/ }],
    ["headers then stall (SSE)", "headers-stall-sse", {}, { status: 200, code: -32000, message: /sent nothing for 1000 ms/ }],
    ["garbage, not HTTP", "garbage", {}, { status: 502, code: -32603, message: /failed: invalid HTTP/, forbidden: ["SSH-2.0", "garbage"] }],
    // 2 MB of one line against a 1 MB event limit: refused at the limit, not after the silence
    // that follows it.
    ["endless SSE line", "endless-line", { bytes: 2 << 20 }, { status: 200, code: -32603, message: /larger than 1048576 bytes/, forbidden: ["zzzz"] }],
    ["10 MB SSE event over max_response_bytes", "big-event", { bytes: 10 << 20 }, { status: 200, code: -32603, message: /larger than 1048576 bytes/, forbidden: ["yyyy"] }],
    ["10 MB JSON answer over max_response_bytes", "big-json", { bytes: 10 << 20 }, { status: 502, code: -32603, message: /length limit exceeded/, forbidden: ["xxxx"] }],
    ["wrong Content-Type", "wrong-type", {}, { status: 502, code: -32603, message: /Content-Type `text\/html`/, forbidden: ["declared as HTML"] }],
    ["Content-Length shorter than the body", "length-short", {}, { status: 502, code: -32603, message: /cannot judge/, forbidden: ["smuggled"] }],
    ["Content-Length longer than the body, then close", "length-long", {}, { status: 502, code: -32603, message: /unreadable response/ }],
    ["closes before answering", "close-early", {}, { status: 502, code: -32603, message: /connection closed before message completed/ }],
  ];

  for (const [label, name, args, want] of CASES) {
    test(`${label}: clean error, the next request on the pool works`, async () => {
      const s = await faultySession();
      const r = await s.call(name, args);
      assertCleanError(r, want);
      const next = await s.call("echo", { message: "next" });
      assert.equal(next.status, 200);
      assert.deepEqual(next.messages().map((m) => m.result?.content?.[0]?.text), ["Echo: next"], next.text);
    });
  }

  test("an event just under max_response_bytes passes whole", async () => {
    const s = await faultySession();
    const r = await s.call("big-event", { bytes: 1000 * 1000 });
    assert.equal(r.status, 200);
    const [m] = r.messages();
    assert.equal(m.id, r.id);
    assert.equal(m.result.content[0].text.length, 1000 * 1000);
  });

  test("SSE ended with an event id: the request waits for the resumed stream", async () => {
    const s = await faultySession();
    const r = await s.call("sse-no-answer-id");
    assert.equal(r.status, 200);
    assert.match(r.text, /^id: ev-\d+/, "the priming event is passed on");
    assert.deepEqual(r.messages(), [], "no error: the stream can be resumed");
    const resumed = await fetch(gw.base + "/faulty", {
      headers: { accept: "text/event-stream", "mcp-session-id": s.sid, "last-event-id": `ev-${r.id}` },
      signal: AbortSignal.timeout(5000),
    });
    const text = await resumed.text();
    assert.equal(resumed.status, 200);
    const msgs = messagesOf(resumed.headers.get("content-type"), text);
    assert.deepEqual(msgs.map((m) => [m.id, m.result?.content?.[0]?.text]), [[r.id, "resumed answer"]]);

    // A resumption the backend refuses: its status is passed on, the gateway goes on.
    const lost = await s.call("sse-no-answer-id-lost");
    assert.equal(lost.status, 200);
    const refused = await fetch(gw.base + "/faulty", {
      headers: { accept: "text/event-stream", "mcp-session-id": s.sid, "last-event-id": `lost-${lost.id}` },
      signal: AbortSignal.timeout(5000),
    });
    await refused.arrayBuffer();
    assert.equal(refused.status, 405);
    const next = await s.call("echo", { message: "after resume" });
    assert.equal(next.messages()[0].result.content[0].text, "Echo: after resume");
  });

  test(`every fault ${rounds} more times: memory comes back, the gateway serves`, async (t) => {
    await memoryComesBack(t, `${rounds} rounds of ${CASES.length} backend faults`, async () => {
      for (let i = 0; i < rounds; i++) {
        const s = await faultySession();
        await Promise.all(CASES.map(([, name, args, want]) => s.call(name, args).then((r) => assertCleanError(r, want))));
      }
    });
    await normalPathWorks();
  });
});

describe("backends that die between requests", () => {
  test("HTTP backend gone: 502 with the request's id, other APIs unaffected", async () => {
    const victim = await startFaultBackend();
    const g = await startGateway([{ name: "victim", path: "/v", url: victim.url, extra: [SHORT] }]);
    try {
      const init = await fetch(g.base + "/v", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify(INIT),
      });
      assert.equal(init.status, 200);
      await init.text();
      const sid = init.headers.get("mcp-session-id");
      await victim.stop();
      const r = await fetch(g.base + "/v", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sid },
        body: JSON.stringify({ jsonrpc: "2.0", id: 77, method: "tools/list" }),
      });
      const text = await r.text();
      assertCleanError({ status: r.status, id: 77, text, messages: () => messagesOf(r.headers.get("content-type"), text) }, { status: 502, code: -32603 });
      assert.equal(g.child.exitCode, null, "the gateway runs on");
    } finally {
      await g.stop();
    }
    await normalPathWorks();
  });

  test("stdio backend process exits between requests: the session is gone (404), a new one works", async () => {
    const transport = new StreamableHTTPClientTransport(new URL(gw.base + "/stdio"));
    const client = new Client({ name: "faults", version: "1" }, { capabilities: {} });
    await client.connect(transport);
    const sid = transport.sessionId;
    const child = Number(execFileSync("pgrep", ["-n", "-P", String(gw.child.pid)]).toString().trim());
    process.kill(child, "SIGKILL");
    // The gateway notices the exit on its own; until then a request may still be written to
    // the dead process's stdin, and must fail cleanly too.
    let r;
    const end = Date.now() + 5000;
    for (let id = 1; Date.now() < end; id++) {
      r = await rawPost("/stdio", { jsonrpc: "2.0", id, method: "tools/list" }, { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" });
      r.id = id;
      if (r.status === 404) break;
      assertCleanError(r, { status: r.status, code: -32603 });
    }
    assert.equal(r.status, 404, r.text);
    assert.equal(r.messages()[0].error.code, -32001);
    assert.equal(r.messages()[0].id, r.id, "the 404 names the request it answers");
    await client.close().catch(() => {});
    await normalPathWorks("/stdio");
  });
});

describe("clients that misbehave", () => {
  test("client gone mid-stream: the backend connection is closed, the request id is free again", async (t) => {
    const s = await faultySession();
    await memoryComesBack(t, "50 abandoned streams", async () => {
      for (let i = 0; i < 50; i++) {
        const ac = new AbortController();
        const id = 9000 + i;
        const r = await fetch(gw.base + "/faulty", {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": s.sid },
          body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "slow-sse", arguments: {} } }),
          signal: ac.signal,
        });
        const reader = r.body.getReader();
        const first = await reader.read();
        assert.match(Buffer.from(first.value).toString(), /notifications\/progress/);
        ac.abort();
        const stream = fb.streams.find((x) => x.id === id);
        await within(stream.closed, 3000, "the backend sees its stream closed");
        // The stream had no event id, so nothing can resume it: the id is no longer waiting.
        const again = await s.call("echo", { message: `again ${i}` });
        assert.equal(again.status, 200, again.text);
      }
    });
    assert.ok(fb.streams.every((x) => x.isClosed), "no abandoned stream is still held upstream");
  });

  test("slow body (one byte a second): 408 with a JSON-RPC error within body_read_ms, nothing forwarded", async (t) => {
    // POSTs only: the reaper's DELETEs of earlier sessions may arrive meanwhile.
    const posts = () => fb.seen.filter((s) => s.method === "POST").length;
    const before = posts();
    await memoryComesBack(t, "20 slow bodies", async () => {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const body = JSON.stringify({ jsonrpc: "2.0", id: 5, method: "ping" });
          const c = await rawConnection(
            port,
            `POST /faulty HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
              `accept: application/json, text/event-stream\r\ncontent-length: ${body.length}\r\n\r\n`,
          );
          let i = 0;
          const drip = setInterval(() => i < body.length && c.socket.write(body[i++]), 1000);
          const t0 = Date.now();
          try {
            const got = await within(c.closed, 5000, "the gateway ends a slow body");
            assert.match(got, /^HTTP\/1\.1 408 /);
            const json = JSON.parse(got.slice(got.indexOf("\r\n\r\n") + 4));
            assert.equal(json.error.code, -32000);
            assert.match(json.error.message, /within 1000 ms/);
            assert.ok(Date.now() - t0 < 4000, `answered after ${Date.now() - t0} ms`);
          } finally {
            clearInterval(drip);
            c.socket.destroy();
          }
        }),
      );
    });
    assert.equal(posts(), before, "no slow body reached the backend");
  });
});

describe("many connections and sessions", () => {
  test("2,000 concurrent connections: the gateway stays responsive, memory comes back", async (t) => {
    // Each connection carries a call the policy denies: answered by the gateway alone, so the
    // load is the connections themselves (the backend's own limits are the sessions case's).
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get-env", arguments: {} } });
    const req =
      `POST /fuzz HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
      `accept: application/json, text/event-stream\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    // Counted at the /fuzz path only: the reaper's DELETEs of other tests' sessions go on.
    const toFuzz = () => fb.seen.filter((s) => s.path === "/fuzz").length;
    const upstream0 = toFuzz();
    const batch = async () => {
      const conns = [];
      await pool(2000, 200, async () => conns.push(await rawConnection(port, req)));
      try {
        const t0 = Date.now();
        await normalPathWorks();
        t.diagnostic(`an SDK session with 2,000 connections open: ${Date.now() - t0} ms`);
        assert.ok(Date.now() - t0 < 10000);
        const answered = (c) => /\r\n\r\n\{.*\}$/s.test(c.received());
        const end = Date.now() + 20000;
        while (conns.some((c) => !answered(c)) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
        for (const c of conns) {
          const got = c.received();
          assert.match(got, /^HTTP\/1\.1 200 /);
          const m = JSON.parse(got.slice(got.indexOf("\r\n\r\n") + 4));
          assert.equal(m.id, 1);
          assert.equal(m.error.code, -32602, got);
        }
        // Kept alive, not closed: the 2,000 connections are all still open here.
        assert.equal(conns.filter((c) => c.socket.readyState === "open").length, 2000);
      } finally {
        for (const c of conns) c.socket.destroy();
      }
    };
    await memoryComesBack(t, "2,000 connections", batch, { warmups: 2 });
    assert.equal(toFuzz(), upstream0, "nothing reached the backend");
  });

  test("a burst of 500 concurrent upstream requests leaves at most 64 idle backend connections", async () => {
    let ok = 0;
    await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const r = await rawPost("/sessions", { jsonrpc: "2.0", id: i, method: "ping" });
        if (r.status === 200) ok++;
        else assertCleanError({ ...r, id: i }, { status: r.status, code: r.status === 504 ? -32000 : -32603 });
      }),
    );
    assert.ok(ok > 0);
    // The connections above the cap are closed as their answers end.
    const end = Date.now() + 5000;
    while (fb.liveFor("/sessions") > 64 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fb.liveFor("/sessions") <= 64, `idle connections kept: ${fb.liveFor("/sessions")}`);
  });

  test("5,000 sessions created then idle-expired: all gone, upstream sessions deleted, memory back", async (t) => {
    const metric = async () => {
      const m = (await (await fetch(gw.base + "/metrics")).text()).match(/mcp_gateway_sessions\{api="sessions"\} (\d+)/);
      return Number(m?.[1] ?? 0);
    };
    // Sessions of earlier tests idle out first, so the count is this test's.
    const end0 = Date.now() + 15000;
    while ((await metric()) > 0 && Date.now() < end0) await new Promise((r) => setTimeout(r, 250));
    await memoryComesBack(t, "5,000 sessions", async () => {
      const deletes0 = fb.seen.filter((s) => s.method === "DELETE" && s.path === "/sessions").length;
      const ids = new Set();
      await pool(5000, 64, async () => {
        const r = await rawPost("/sessions", INIT);
        assert.equal(r.status, 200);
        ids.add(r.headers.get("mcp-session-id"));
      });
      assert.equal(ids.size, 5000, "5,000 distinct gateway session ids");
      const peak = await metric();
      t.diagnostic(`sessions right after creating them: ${peak}`);
      const end = Date.now() + 20000;
      while ((await metric()) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
      assert.equal(await metric(), 0, "every session expired");
      const deleted = () => fb.seen.filter((s) => s.method === "DELETE" && s.path === "/sessions").length - deletes0;
      while (deleted() < 5000 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      assert.equal(deleted(), 5000, "each expired session was ended at the backend");
      const r = await rawPost("/sessions", { jsonrpc: "2.0", id: 1, method: "ping" }, { "mcp-session-id": [...ids][0] });
      assert.equal(r.status, 404);
      assert.equal(r.messages()[0].error.code, -32001);
    }, { warmups: 1 });
    await normalPathWorks();
  });
});

describe("malformed requests", () => {
  test("10,000 seeded malformed requests: each refused with a JSON-RPC error or judged and allowed; nothing unjudged upstream", async (t) => {
    const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 2 ** 31);
    const n = Number(process.env.FAULTS_FUZZ_N ?? 10000);
    t.diagnostic(`seed ${seed} (replay: FAULTS_SEED=${seed}), ${n} inputs`);
    const r = prng(seed);
    const inputs = Array.from({ length: n }, () => malformed(r));
    const upstream0 = fb.seen.length;
    const forwarded = [];
    const outcome = {};
    const examples = {};
    await memoryComesBack(t, `${n} malformed requests`, async () => {
      await pool(n, 16, async (i) => {
        const { body, headers, how } = inputs[i];
        const res = await fetch(gw.base + "/fuzz", { method: "POST", headers, body, signal: AbortSignal.timeout(10000) });
        const text = await res.text();
        const where = `input ${i} (${how}, seed ${seed}): ${res.status} ${text.slice(0, 200)}`;
        const key = `${res.headers.has("x-backend") ? "forwarded" : "refused"} ${res.status}`;
        outcome[key] = (outcome[key] ?? 0) + 1;
        examples[key] ??= `${how}: ${body.toString("latin1").slice(0, 80)} -> ${text.slice(0, 120)}`;
        if (res.headers.has("x-backend")) {
          forwarded.push(body.toString("latin1"));
          return;
        }
        // Refused: a 4xx, or a 200 whose every message is an error (a denied call is answered
        // as the SDK's server answers an unknown tool), never a 5xx.
        assert.ok((res.status >= 400 && res.status < 500) || res.status === 200, where);
        const msgs = messagesOf(res.headers.get("content-type"), text);
        assert.ok(msgs.length > 0 && msgs.every((m) => m.jsonrpc === "2.0" && m.error && Number.isInteger(m.error.code)), where);
      });
    });
    t.diagnostic(`outcomes: ${JSON.stringify(outcome)}`);
    for (const [k, v] of Object.entries(examples)) t.diagnostic(`e.g. ${k}: ${v}`);
    const seen = fb.seen.slice(upstream0).filter((s) => s.path === "/fuzz" && s.method === "POST");
    for (const s of seen) assert.ok(allowedByPolicy(s.body), `reached the backend unjudged (seed ${seed}): ${s.body.slice(0, 300)}`);
    assert.deepEqual(
      seen.map((s) => Buffer.from(s.body, "utf8").toString("latin1")).sort(),
      forwarded.sort(),
      "the backend got exactly the bodies whose answers came from it",
    );
    assert.ok(forwarded.length < n / 4, `mostly refused: ${forwarded.length} of ${n} forwarded`);
    await normalPathWorks();
  });
});

describe("policy reload that fails", () => {
  test("a broken policy file is refused and logged; the old policy stays enforced", async () => {
    const call = (id, name) =>
      rawPost("/fuzz", { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: { message: "m" } } });
    const denied = await call(1, "get-env");
    assert.equal(denied.headers.has("x-backend"), false);
    assert.ok(denied.messages()[0].error, denied.text);
    const errors0 = gw.errors.join("").length;
    const good = readFileSync(policyFile, "utf8");
    writeFileSync(policyFile, good.replace('"effect": "DENY"', '"effect": DENY'));
    try {
      // Files are polled every 2 s.
      const logged = await within(
        (async () => {
          for (;;) {
            const line = gw.errors
              .join("")
              .slice(errors0)
              .split("\n")
              .find((l) => l.includes("refused, keeping the previous configuration"));
            if (line) return line;
            await new Promise((r) => setTimeout(r, 100));
          }
        })(),
        6000,
        "the refused reload is logged",
      );
      const entry = JSON.parse(logged);
      assert.equal(entry.level, "error");
      assert.match(entry.msg, /reload \(file changed\) refused/);
      assert.ok(entry.msg.includes(policyFile), `names the file: ${entry.msg}`);
      const still = await call(2, "get-env");
      assert.equal(still.headers.has("x-backend"), false, "get-env still denied");
      assert.deepEqual(still.messages()[0].id, 2);
      assert.ok(still.messages()[0].error);
      const echo = await call(3, "echo");
      assert.equal(echo.messages()[0].result.content[0].text, "Echo: m", "echo still allowed");
    } finally {
      writeFileSync(policyFile, good);
    }
    await normalPathWorks();
  });
});

describe("slow headers", () => {
  test("a request head sent one byte a second: the gateway drops it at its 30 s header timeout", { timeout: 45000 }, async () => {
    await normalPathWorks();
    const { got, waited } = await within(slowHeaders.closed, 40000, "the header read timeout");
    assert.ok(waited >= 29000 && waited < 40000, `closed after ${waited} ms`);
    assert.ok(got === "" || /^HTTP\/1\.1 408 /.test(got), JSON.stringify(got));
  });
});
