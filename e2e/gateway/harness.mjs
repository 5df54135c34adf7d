// Starts real processes for the gateway tests: server-everything over HTTP, and the gateway
// binary with a generated configuration. Everything listens on 127.0.0.1 only.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const EVERYTHING = join(
  ROOT,
  "e2e/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
);
export const BIN = resolve(ROOT, process.env.MCP_POLICY_BIN ?? "target/debug/mcp-policy");
export const POLICY = join(ROOT, "examples/policy.json");

export async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function waitFor(child, stream, pattern, what, ms = 15000) {
  return new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error(`${what}: no ${pattern} within ${ms} ms:\n${seen}`)), ms);
    const onData = (d) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        stream.off("data", onData);
        ok(m);
      }
    };
    stream.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`${what} exited (${code}) before ${pattern}:\n${seen}`));
    });
  });
}

/** server-everything in streamableHttp mode on a free port. */
export async function startEverythingHttp() {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.resume();
  await waitFor(child, child.stderr, /listening on port|Listening/i, "server-everything", 20000).catch(
    async () => {
      // Some builds log to stdout; fall back to polling the port.
      await pollPort(port);
    },
  );
  await pollPort(port);
  return { url: `http://127.0.0.1:${port}/mcp`, port, child, stop: () => kill(child) };
}

async function pollPort(port, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`port ${port} never answered`);
}

function tomlString(s) {
  return JSON.stringify(s);
}

/**
 * The gateway with the given APIs:
 * [{ name, path, url? , command?, policy?, extra? (raw TOML lines) }].
 */
export async function startGateway(apis) {
  const dir = mkdtempSync(join(tmpdir(), "mcp-gw-"));
  const lines = [`listen = "127.0.0.1:0"`];
  for (const a of apis) {
    lines.push("", "[[api]]", `name = ${tomlString(a.name)}`, `path = ${tomlString(a.path)}`);
    if (a.policy) lines.push(`policy = ${tomlString(a.policy)}`);
    for (const l of a.extra ?? []) lines.push(l);
    lines.push("[api.backend]");
    if (a.url) lines.push(`url = ${tomlString(a.url)}`);
    if (a.command) lines.push(`command = [${a.command.map(tomlString).join(", ")}]`);
    for (const l of a.backendExtra ?? []) lines.push(l);
  }
  const config = join(dir, "gateway.toml");
  writeFileSync(config, lines.join("\n") + "\n");
  const child = spawn(BIN, ["serve", "--config", config], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs = [];
  child.stdout.on("data", (d) => logs.push(...d.toString().split("\n").filter(Boolean)));
  const errors = [];
  child.stderr.on("data", (d) => errors.push(d.toString()));
  const m = await waitFor(child, child.stderr, /listening on http:\/\/127\.0\.0\.1:(\d+)/, "gateway");
  const base = `http://127.0.0.1:${m[1]}`;
  return { base, child, config, dir, logs, errors, stop: () => kill(child) };
}

export function kill(child, signal = "SIGTERM") {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    child.once("exit", () => ok());
    child.kill(signal);
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}

export const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

export const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** A raw POST; returns { status, headers, text, json? }. */
export async function post(url, body, headers = {}) {
  const r = await fetch(url, {
    method: "POST",
    headers: { ...HEADERS, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

/** The JSON-RPC messages in an SSE body. */
export function sseMessages(text) {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) =>
      block
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, ""))
        .join("\n"),
    )
    .filter((d) => d.length > 0)
    .map((d) => JSON.parse(d));
}
