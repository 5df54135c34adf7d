// End-to-end: three gateway replicas (the same configuration, the same key files) behind Debian's
// NGINX with examples/replicas/nginx.conf (round robin, no affinity), in front of the real
// server-everything over HTTP, driven by the real TypeScript SDK client. One MCP session is
// served by whichever replica NGINX picks for each request.
//   MCP_POLICY_BIN=target/debug/mcp-policy node --test e2e/replicas/
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { BIN, EVERYTHING, INIT, ROOT, freePort, kill, post, startEverythingHttp } from "../gateway/harness.mjs";

const REPLICAS = 3;
let everything;
let dir;
let config;
let nginx;
let nginxPort;
let base;
const nginxLog = [];
/** One entry per replica: { port, child, stdout: [lines], stderr: [lines] }. */
const replicas = [];

function writeConfig(keyFiles) {
  const lines = [
    `listen = "127.0.0.1:0"`,
    "",
    "[[api]]",
    `name = "everything"`,
    `path = "/mcp"`,
    "[api.backend]",
    `url = ${JSON.stringify(everything.url)}`,
    "",
    // A second API on the same backend: an id sealed for one API must not open on another.
    "[[api]]",
    `name = "other"`,
    `path = "/other"`,
    // Idle sessions are reaped quickly here (the reaper looks every 5 s).
    "timeouts = { session_idle_s = 1 }",
    "[api.backend]",
    `url = ${JSON.stringify(everything.url)}`,
    "",
    // A stdio API: its process lives in the replica that started it.
    "[[api]]",
    `name = "stdio"`,
    `path = "/stdio"`,
    "[api.backend]",
    `command = [${[process.execPath, EVERYTHING, "stdio"].map((x) => JSON.stringify(x)).join(", ")}]`,
    "",
    "[sessions]",
    `key_files = [${keyFiles.map((f) => JSON.stringify(join(dir, f))).join(", ")}]`,
  ];
  // Written aside and renamed, so a replica's file watch never reads half a file.
  writeFileSync(config + ".new", lines.join("\n") + "\n");
  renameSync(config + ".new", config);
}

function keygen(name) {
  execFileSync(BIN, ["keygen", join(dir, name)], { stdio: "pipe" });
}

function waitForLine(lines, pattern, what, from = 0, ms = 15000) {
  return new Promise((ok, fail) => {
    const end = Date.now() + ms;
    const poll = () => {
      const hit = lines.slice(from).find((l) => pattern.test(l));
      if (hit) return ok(hit);
      if (Date.now() > end) return fail(new Error(`${what}: no ${pattern} within ${ms} ms:\n${lines.join("\n")}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

async function startReplica(r) {
  const child = spawn(BIN, ["serve", "--config", config, "--listen", `127.0.0.1:${r.port}`], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  r.child = child;
  const from = r.stderr.length;
  child.stdout.on("data", (d) => r.stdout.push(...d.toString().split("\n").filter(Boolean)));
  child.stderr.on("data", (d) => r.stderr.push(...d.toString().split("\n").filter(Boolean)));
  await waitForLine(r.stderr, new RegExp(`listening on http://127\\.0\\.0\\.1:${r.port}`), `replica ${r.port}`, from);
}

async function startNginx() {
  const prefix = join(dir, "nginx");
  mkdirSync(prefix, { recursive: true });
  const servers = replicas.map((r) => `        server 127.0.0.1:${r.port} max_fails=1 fail_timeout=10s;`).join("\n");
  const user = process.getuid?.() === 0 ? "user root;" : "";
  const text = readFileSync(join(ROOT, "examples/replicas/nginx.conf"), "utf8")
    .replaceAll("@PREFIX@", prefix)
    .replaceAll("@USER@", user)
    .replaceAll("@SERVERS@", servers)
    .replaceAll("@PORT@", String(nginxPort));
  writeFileSync(join(prefix, "nginx.conf"), text);
  const child = spawn("nginx", ["-p", prefix, "-c", join(prefix, "nginx.conf"), "-e", "stderr"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (d) => nginxLog.push(d.toString()));
  child.stderr.on("data", (d) => nginxLog.push(d.toString()));
  const end = Date.now() + 15000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}):\n${nginxLog.join("")}`);
    try {
      await fetch(`http://127.0.0.1:${nginxPort}/`, { signal: AbortSignal.timeout(500) });
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nginx never answered:\n${nginxLog.join("")}`);
}

before(async () => {
  everything = await startEverythingHttp();
  dir = mkdtempSync(join(tmpdir(), "mcp-replicas-"));
  config = join(dir, "gateway.toml");
  keygen("current.key");
  writeConfig(["current.key"]);
  for (let i = 0; i < REPLICAS; i++) {
    replicas.push({ port: await freePort(), child: null, stdout: [], stderr: [] });
  }
  await Promise.all(replicas.map(startReplica));
  nginxPort = await freePort();
  nginx = await startNginx();
  base = `http://127.0.0.1:${nginxPort}`;
});

after(async () => {
  if (nginx) await kill(nginx);
  await Promise.all(replicas.filter((r) => r.child).map((r) => kill(r.child)));
  await everything?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  const errors = nginxLog
    .join("")
    .split("\n")
    .filter((l) => /\[(crit|alert|emerg)\]/.test(l));
  assert.deepEqual(errors, [], "nginx logged no critical errors");
});

async function connect(path = "/mcp") {
  const transport = new StreamableHTTPClientTransport(new URL(base + path));
  const client = new Client({ name: "e2e-replicas", version: "1.0.0" }, { capabilities: {} });
  // The GET stream of a replica that goes away is reopened by the SDK; that is not a failure.
  client.onerror = () => {};
  await client.connect(transport);
  return { client, transport };
}

/** Indexes of the replicas whose exchange log lines carry `session`, with their MCP methods. */
function servedBy(session) {
  return replicas
    .map((r, i) => ({
      i,
      methods: r.stdout
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return {};
          }
        })
        .filter((e) => e.session === session)
        .map((e) => e.method ?? e.http_method),
    }))
    .filter((x) => x.methods.length > 0);
}

async function echo(client, message) {
  const r = await client.callTool({ name: "echo", arguments: { message } });
  assert.equal(r.content[0].text, `Echo: ${message}`);
}

/** A raw tools/list in `session`, as the SDK would send it. */
function listIn(session, path = "/mcp") {
  return post(
    base + path,
    { jsonrpc: "2.0", id: 99, method: "tools/list" },
    { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
  );
}

/** A copy of `id` with one character changed at `at`. */
function tamper(id, at) {
  const c = id[at] === "A" ? "B" : "A";
  return id.slice(0, at) + c + id.slice(at + 1);
}

describe("three replicas behind NGINX round robin, no affinity", () => {
  test("keygen writes a 32-byte base64 key readable by its owner only", () => {
    const st = statSync(join(dir, "current.key"));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(Buffer.from(readFileSync(join(dir, "current.key"), "utf8").trim(), "base64").length, 32);
    assert.throws(() => keygen("current.key"), /exists/, "an existing key is not overwritten");
  });

  test("one session is served by several replicas: tools, calls, progress", async () => {
    const { client, transport } = await connect();
    const session = transport.sessionId;
    assert.ok(session, "the gateway handed out a session id");
    assert.match(session, /^[A-Za-z0-9_-]+$/, "base64url without padding: visible ASCII");
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    const long = names.find((n) => /long/i.test(n));
    assert.ok(names.includes("echo") && long, names.join());
    for (let i = 0; i < 6; i++) await echo(client, `call ${i}`);
    const sum = await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
    assert.match(sum.content[0].text, /5/);
    const progress = [];
    const done = await client.callTool({ name: long, arguments: { duration: 1, steps: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    assert.match(done.content[0].text, /completed/i);
    assert.deepEqual(progress, [1, 2, 3]);
    const served = servedBy(session);
    assert.ok(served.length >= 2, `requests hit ${served.length} replica(s): ${JSON.stringify(served)}`);
    const calls = served.filter((s) => s.methods.includes("tools/call")).length;
    assert.ok(calls >= 2, `tools/call answered by ${calls} replica(s): ${JSON.stringify(served)}`);
    const continued = replicas.filter((r) => r.stderr.some((l) => l.includes(`session ${session} continued here`)));
    assert.ok(continued.length >= 1, "a replica that never saw initialize continued the session");
    await client.close();
  });

  test("an id that does not open gets 404 like an unknown one, on every replica", async () => {
    const { client, transport } = await connect();
    const session = transport.sessionId;
    // Three requests in a row: round robin puts them on every replica.
    for (let i = 0; i < REPLICAS; i++) {
      assert.equal((await listIn(session)).status, 200);
    }
    for (const at of [0, 10, 40, session.length - 1]) {
      for (let i = 0; i < REPLICAS; i++) {
        const r = await listIn(tamper(session, at));
        assert.equal(r.status, 404, `byte ${at} changed: ${r.status} ${r.text}`);
      }
    }
    assert.equal((await listIn(session.slice(0, -2))).status, 404, "truncated");
    assert.equal((await listIn("0123456789abcdef0123456789abcdef")).status, 404, "garbage");
    for (let i = 0; i < REPLICAS; i++) {
      assert.equal((await listIn(session, "/other")).status, 404, "sealed for another API");
    }
    await echo(client, "still fine");
    await client.close();
  });

  test("a stdio session lives in one replica: the others answer 404 to its sealed id", async () => {
    const [home, ...others] = replicas.map((r) => `http://127.0.0.1:${r.port}/stdio`);
    const init = await post(home, INIT);
    assert.equal(init.status, 200, init.text);
    const id = init.headers.get("mcp-session-id");
    assert.match(id, /^[A-Za-z0-9_-]{40,}$/, "sealed like an HTTP session's id");
    const headers = { "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" };
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
    assert.equal((await post(home, list, headers)).status, 200);
    for (const url of others) {
      const r = await post(url, list, headers);
      assert.equal(r.status, 404, `${url}: ${r.status} ${r.text}`);
    }
    const end = await fetch(home, { method: "DELETE", headers });
    assert.equal(end.status, 200);
  });

  test("an idle session is only forgotten by each replica, not ended upstream", async () => {
    const { client, transport } = await connect("/other");
    const session = transport.sessionId;
    for (let i = 0; i < REPLICAS; i++) await echo(client, `before idle ${i}`);
    const holders = servedBy(session).map((s) => replicas[s.i]);
    assert.ok(holders.length >= 2, "several replicas hold the session");
    // The GET stream keeps a session busy on no replica (HTTP backend): all of them reap it.
    const reaped = new RegExp(`session ${session} on api \\S+ (forgotten here|ended): idle`);
    await Promise.all(holders.map((r) => waitForLine(r.stderr, reaped, "reaper", 0, 20000)));
    // Nobody ended it upstream: the next requests continue it from its id.
    for (let i = 0; i < REPLICAS; i++) await echo(client, `after idle ${i}`);
    // (Stderr lines are JSON: the API's name is quoted and escaped there.)
    const ended = replicas.flatMap((r) => r.stderr.filter((l) => l.includes(`session ${session} on api`) && l.includes("ended")));
    assert.deepEqual(ended, [], "no replica ended the session");
    await client.close();
  });

  test("a replica killed mid-session loses no request that had not started", async () => {
    const { client, transport } = await connect();
    const session = transport.sessionId;
    for (let i = 0; i < REPLICAS; i++) await echo(client, `before ${i}`);
    const victim = replicas[1];
    await kill(victim.child, "SIGKILL");
    victim.child = null;
    try {
      // Its kept-alive connections in NGINX close with it; a request picking it is refused at
      // connect and goes to the next replica.
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 2 * REPLICAS; i++) await echo(client, `after ${i}`);
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0);
      // A session that starts now works too.
      const other = await connect();
      await echo(other.client, "new session");
      await other.client.close();
      const served = servedBy(session).map((s) => s.i);
      assert.ok(served.filter((i) => i !== 1).length >= 2, `served by ${served}`);
      await client.close();
    } finally {
      // Back to three for the next test.
      await startReplica(victim);
    }
  });

  test("key rotation: new key first, old second; sessions live through reload and restart", async () => {
    const s = await connect();
    const old = s.transport.sessionId;
    await echo(s.client, "sealed with the old key");

    const reloaded = async (keys) => {
      const marks = replicas.map((r) => r.stderr.length);
      writeConfig(keys);
      // Each replica watches its configuration and key files: no signal needed.
      await Promise.all(
        replicas.map((r, i) => waitForLine(r.stderr, /reloaded configuration/, `replica ${i} reload`, marks[i])),
      );
    };
    const restarted = async () => {
      for (const r of replicas) {
        await kill(r.child);
        r.child = null;
      }
      await Promise.all(replicas.map(startReplica));
    };

    // Step 1 on every replica: the new key opens, the old one still seals, so a replica that
    // has not reloaded yet can open every id the others mint.
    keygen("next.key");
    await reloaded(["current.key", "next.key"]);
    // Step 2: the new key seals.
    await reloaded(["next.key", "current.key"]);
    for (let i = 0; i < REPLICAS; i++) await echo(s.client, `after reload ${i}`);
    const t = await connect();
    const fresh = t.transport.sessionId;
    await echo(t.client, "sealed with the new key");

    // A full restart (SIGTERM, new processes): no replica ended the sessions upstream.
    await restarted();
    for (let i = 0; i < REPLICAS; i++) {
      await echo(s.client, `old session after restart ${i}`);
      await echo(t.client, `new session after restart ${i}`);
    }

    // Step 3: the old key retired. Ids it sealed no longer open; those of the new key do, which
    // shows the first key sealed them.
    await reloaded(["next.key"]);
    for (let i = 0; i < REPLICAS; i++) {
      assert.equal((await listIn(old)).status, 404, "sealed with the retired key");
      assert.equal((await listIn(fresh)).status, 200, "sealed with the new key");
    }
    await t.client.close();
  });

  test("requests really went through NGINX to every replica", () => {
    const log = readFileSync(join(dir, "nginx", "access.log"), "utf8");
    for (const r of replicas) {
      assert.match(log, new RegExp(`upstream=[^ ]*127\\.0\\.0\\.1:${r.port}`), `replica ${r.port} got requests`);
    }
  });
});
