// Figures for the closing note (a benchmark, not a test): `make node-bench`.
//   1. Policy.check per call from Node (Buffer input, no context / a prepared Context / a string);
//   2. filtering a 100-tool list (Policy.filterResponse, and the exchange API on an SSE event);
//   3. per-request cost of the reverse proxy (lib/http.js) in front of server-everything, next
//      to the same proxy judging in plain JavaScript with JSON.parse (bench/plain-proxy.mjs) and
//      to the server reached directly: requests/s and p50/p99 of tools/call at a fixed
//      concurrency, on the same backend.
// Environment: BENCH_TARGETS (some of direct,plain,engine; default all), BENCH_SECONDS (per load run, default 5), BENCH_CONCURRENCY (default 8),
// BENCH_ROUNDS (default 3: the three targets are measured in turn, round after round, so that
// a change in the machine's load hits them alike; the median round is reported).
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { createRequire } from "node:module";
import { createServer as netServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import { createPlainProxy } from "./plain-proxy.mjs";

const require = createRequire(import.meta.url);
const { Context, Policy } = require("../index.js");
const { createProxyServer } = require("../lib/http.js");
const EVERYTHING = require.resolve("@modelcontextprotocol/server-everything/dist/index.js");

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const POLICY = {
  authorizations: [
    { authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "ANY" }] },
    { effect: "DENY", authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "get-env" }] },
  ],
};
const policy = Policy.fromJson(POLICY);

function perCall(label, n, fn) {
  for (let i = 0; i < Math.min(n, 20000); i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(58)} ${ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`} per call`);
  return ns;
}

const micro = !process.env.BENCH_TARGETS; // a load run of some targets skips parts 1 and 2
if (micro) {
// ---- 1. check ----
const callBuf = Buffer.from('{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}');
const callStr = callBuf.toString();
const ctx = new Context({ request: { headers: { "x-role": ["user"] } }, attributes: { user: "alice" } });
console.log("## check");
perCall("check(Buffer) allowed, no context", 1_000_000, () => policy.check(callBuf).allowed);
perCall("check(Buffer) allowed, prepared Context", 1_000_000, () => policy.check(callBuf, ctx).allowed);
perCall("check(string) allowed, no context", 1_000_000, () => policy.check(callStr).allowed);
const denyBuf = Buffer.from('{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get-env"}}');
perCall("check(Buffer) denied, .error read", 500_000, () => policy.check(denyBuf).error);
perCall("reference: JSON.parse of the same message", 1_000_000, () => JSON.parse(callStr).params.name);

// ---- 2. a 100-tool list ----
console.log("## filtering a 100-tool list");
const tools = Array.from({ length: 100 }, (_, i) => ({
  name: i % 10 === 0 ? "get-env" : `tool-${i}`,
  description: `Tool number ${i}, which does something useful with its arguments`,
  inputSchema: { type: "object", properties: { a: { type: "string" }, b: { type: "number" } }, required: ["a"] },
}));
const list = Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools } }));
const listReq = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
console.log(`(list answer: ${list.length} bytes, 10 tools hidden)`);
perCall("Policy.filterResponse(request, list)", 20_000, () => policy.filterResponse(listReq, list).body);
const guard = policy.guard();
const event = Buffer.concat([Buffer.from("data: "), list, Buffer.from("\n\n")]);
perCall("guard.client + serverHead + serverChunk (SSE event) + finish", 20_000, () => {
  const ex = guard.client(listReq, null, null, guard.session()).exchange;
  ex.serverHead(200, "text/event-stream");
  ex.serverChunk(event).toClient;
  ex.finish();
});
perCall("reference: JSON.parse + filter + JSON.stringify in JS", 20_000, () => {
  const m = JSON.parse(list.toString());
  m.result.tools = m.result.tools.filter((t) => t.name !== "get-env");
  return Buffer.from(JSON.stringify(m));
});

}

// ---- 3. proxies under load ----
async function freePort() {
  return new Promise((ok) => {
    const s = netServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function listen(server) {
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server.address().port)));
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });

function post(port, body, sid) {
  return new Promise((ok, fail) => {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "content-length": Buffer.byteLength(body) };
    if (sid) headers["mcp-session-id"] = sid;
    const r = request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers, agent }, (res) => {
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => ok({ status: res.statusCode, sid: res.headers["mcp-session-id"], text: Buffer.concat(parts).toString() }));
    });
    r.on("error", fail);
    r.end(body);
  });
}

/** A session on `port`, then `CONCURRENCY` clients calling echo for `SECONDS`: req/s, latencies. */
async function load(label, port) {
  const init = await post(port, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } } }));
  const sid = init.sid;
  await post(port, '{"jsonrpc":"2.0","method":"notifications/initialized"}', sid);
  let id = 1;
  const lat = [];
  const run = async (until) => {
    while (Date.now() < until) {
      const body = `{"jsonrpc":"2.0","id":${id++},"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}`;
      const t0 = process.hrtime.bigint();
      const r = await post(port, body, sid);
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 200 || !r.text.includes("Echo: hi")) throw new Error(`${label}: ${r.status} ${r.text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, () => run(Date.now() + 500))); // warm up
  lat.length = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, () => run(t0 + SECONDS * 1000)));
  const secs = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: lat.length / secs, p50: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)], n: lat.length };
}

const port = await freePort();
const everything = spawn(process.execPath, [EVERYTHING, "streamableHttp"], { env: { ...process.env, PORT: String(port) }, stdio: "ignore" });
try {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await sleep(100);
    }
  }
  const upstream = `http://127.0.0.1:${port}/mcp`;
  const engineProxy = createProxyServer(policy, { upstream });
  const plainProxy = createPlainProxy(upstream, new Set(["get-env"]));
  const enginePort = await listen(engineProxy);
  const plainPort = await listen(plainProxy);
  console.log(`## tools/call echo through each, ${CONCURRENCY} concurrent clients, ${SECONDS} s x ${ROUNDS} rounds each, same server-everything`);
  const only = process.env.BENCH_TARGETS?.split(","); // direct,plain,engine
  const targets = [
    ["server-everything directly", port, "direct"],
    ["proxy, plain JS JSON.parse ACL", plainPort, "plain"],
    ["proxy, mcp-policy engine (lib/http.js)", enginePort, "engine"],
  ].filter(([, , key]) => !only || only.includes(key));
  const results = targets.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [label, p]] of targets.entries()) results[i].push(await load(label, p));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [i, [label]] of targets.entries()) {
    const rs = results[i];
    console.log(
      `${label.padEnd(40)} ${median(rs.map((x) => x.rps)).toFixed(0).padStart(6)} req/s   p50 ${median(rs.map((x) => x.p50)).toFixed(2)} ms   p99 ${median(rs.map((x) => x.p99)).toFixed(2)} ms   (rounds: ${rs.map((x) => x.rps.toFixed(0)).join(", ")} req/s)`,
    );
  }
  const [direct, plain, engine] = results.map((rs) => median(rs.map((x) => x.p50)));
  if (results.length === 3) console.log(`added p50 per request over the direct call: plain JS ${(plain - direct).toFixed(2)} ms, engine ${(engine - direct).toFixed(2)} ms`);
  engineProxy.closeAllConnections();
  engineProxy.close();
  plainProxy.closeAllConnections();
  plainProxy.close();
} finally {
  everything.kill();
  agent.destroy();
}
