// End-to-end: NGINX (Debian's nginx + libnginx-mod-http-lua, LuaJIT) running examples/nginx
// (the C library through LuaJIT's FFI) in front of the real server-everything over HTTP, driven
// by the real TypeScript SDK client.
//   MCP_POLICY_LIB=target/release/libmcp_policy_ffi.so node --test e2e/nginx/
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";

import { INIT, POLICY, ROOT, freePort, kill, post, sseMessages, startEverythingHttp } from "../gateway/harness.mjs";

let everything;
let nginx;
let base;
let nginxPort;
let policyDir;
const logs = [];

// The example policy denies get-env; this one also refuses sampling, so a server request can
// be refused on a live stream.
const NO_SAMPLING = {
  authorizations: [
    { authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "ANY" }] },
    {
      effect: "DENY",
      authorizedFeatures: [
        { type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "get-env" },
        { type: "SAMPLING", methods: ["SAMPLING_CREATE_MESSAGE"], patternType: "ANY" },
      ],
    },
  ],
};

async function startNginx(port, upstream, policy) {
  const child = spawn("bash", [join(ROOT, "examples/nginx/run.sh"), String(port), upstream, policy], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (d) => logs.push(d.toString()));
  child.stderr.on("data", (d) => logs.push(d.toString()));
  const end = Date.now() + 15000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}):\n${logs.join("")}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nginx never answered:\n${logs.join("")}`);
}

before(async () => {
  everything = await startEverythingHttp();
  nginxPort = await freePort();
  policyDir = mkdtempSync(join(tmpdir(), "mcp-nginx-test-"));
  const policy = join(policyDir, "policy.json");
  writeFileSync(policy, JSON.stringify(NO_SAMPLING));
  nginx = await startNginx(nginxPort, everything.url, policy);
  base = `http://127.0.0.1:${nginxPort}/mcp`;
});

after(async () => {
  if (nginx) await kill(nginx);
  await everything?.stop();
  // run.sh's working directory (per port) and the policy written here.
  rmSync(join(process.env.TMPDIR ?? "/tmp", `mcp-policy-nginx-${nginxPort}`), { recursive: true, force: true });
  if (policyDir) rmSync(policyDir, { recursive: true, force: true });
  const errors = logs.join("").split("\n").filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
  assert.deepEqual(errors, [], "nginx logged no errors");
});

async function connect(capabilities = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(base));
  const client = new Client({ name: "e2e-nginx", version: "1.0.0" }, { capabilities });
  await client.connect(transport);
  return { client, transport };
}

describe("NGINX + the C library in front of server-everything", () => {
  test("the client sees only the allowed tools and is refused the denied one", async () => {
    const { client } = await connect();
    assert.equal(client.getServerVersion().name, "mcp-servers/everything");
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.ok(names.includes("echo") && names.includes("get-sum"), names.join());
    assert.ok(!names.includes("get-env"), "get-env is hidden from the list");
    const echo = await client.callTool({ name: "echo", arguments: { message: "through nginx" } });
    assert.equal(echo.content[0].text, "Echo: through nginx");
    await assert.rejects(
      client.callTool({ name: "get-env", arguments: {} }),
      (e) => e.code === -32602 && /Unknown tool/.test(e.message),
    );
    await client.close();
  });

  test("progress notifications arrive as the server sends them", async () => {
    const { client } = await connect();
    const arrivals = [];
    const t0 = Date.now();
    const long = await client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 1.5, steps: 3 } },
      undefined,
      { onprogress: (p) => arrivals.push({ at: Date.now() - t0, progress: p.progress }) },
    );
    const done = Date.now() - t0;
    assert.match(long.content[0].text, /completed/i);
    assert.deepEqual(arrivals.map((a) => a.progress), [1, 2, 3], JSON.stringify(arrivals));
    assert.ok(arrivals[0].at < done - 700, `first progress at ${arrivals[0].at} ms, result at ${done} ms`);
    assert.ok(arrivals[2].at - arrivals[0].at >= 600, `progress spread: ${JSON.stringify(arrivals)}`);
    await client.close();
  });

  test("a refused server request never reaches the client, and the server's call ends", async () => {
    const { client } = await connect({ sampling: {} });
    let asked = 0;
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked++;
      return { model: "m", role: "assistant", content: { type: "text", text: "x" } };
    });
    const r = await client.callTool(
      { name: "trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 5 } },
      undefined,
      { timeout: 10000 },
    );
    assert.equal(asked, 0, "the sampling request was not delivered");
    // The library's refusal (-32601) reached the server, whose tool reports it and returns.
    assert.equal(r.isError, true, JSON.stringify(r));
    assert.match(r.content[0].text, /-32601.*sampling\/createMessage/, JSON.stringify(r));
    await client.close();
  });

  test("a body that cannot be judged is refused before the server sees it", async () => {
    const r = await post(base, { jsonrpc: "2.0", id: 1, method: "tools/list" }, { "content-type": "text/plain" });
    assert.equal(r.status, 415);
    const dup = await fetch(base, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"get-env"}}',
    });
    assert.equal(dup.status, 400);
    const body = await dup.json();
    assert.equal(body.error.code, -32600);
  });

  test("a denied call in raw HTTP gets the JSON-RPC error with its id", async () => {
    const init = await post(base, INIT);
    assert.equal(init.status, 200);
    const sid = init.headers.get("mcp-session-id");
    const r = await post(
      base,
      { jsonrpc: "2.0", id: "x-7", method: "tools/call", params: { name: "get-env", arguments: {} } },
      { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" },
    );
    assert.equal(r.status, 200);
    assert.equal(r.json.id, "x-7");
    assert.equal(r.json.error.code, -32602);
    const list = await post(
      base,
      { jsonrpc: "2.0", id: 8, method: "tools/list" },
      { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" },
    );
    const msgs = list.json ? [list.json] : sseMessages(list.text);
    const tools = msgs.find((m) => m.id === 8).result.tools.map((t) => t.name);
    assert.ok(!tools.includes("get-env") && tools.includes("echo"));
  });
});
