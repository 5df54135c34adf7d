#!/usr/bin/env node
// Records a real MCP session as test fixtures for the mcp-policy engine.
//
//   cd e2e && npm ci && node capture/capture.mjs
//
// 1. starts @modelcontextprotocol/server-everything in `streamableHttp` mode on a free
//    loopback port (env PORT; bound to 127.0.0.1 by ./loopback-listen.mjs);
// 2. starts a recording HTTP proxy (node:http) on another loopback port that forwards every
//    request and response unchanged (SSE is passed through chunk by chunk as it arrives) and
//    records every JSON-RPC message in both directions;
// 3. drives a TypeScript SDK `Client` (roots + sampling + elicitation) through the proxy;
// 4. writes core/tests/fixtures/traffic/* (or $CAPTURE_OUT_DIR) and exits.
//
// Only 127.0.0.1 is ever contacted. Every wait is bounded; the whole run is bounded by
// CAPTURE_TIMEOUT_MS (default 60 s). The server process is killed on every exit path.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  EmptyResultSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

const LOOPBACK = "127.0.0.1";
const HERE = path.dirname(fileURLToPath(import.meta.url));
const E2E_DIR = path.resolve(HERE, "..");
const REPO_ROOT = path.resolve(E2E_DIR, "..");
const OUT_DIR = process.env.CAPTURE_OUT_DIR
  ? path.resolve(process.env.CAPTURE_OUT_DIR)
  : path.join(REPO_ROOT, "core", "tests", "fixtures", "traffic");
const TOTAL_TIMEOUT_MS = Number(process.env.CAPTURE_TIMEOUT_MS || 60_000);
const STEP_TIMEOUT_MS = 15_000;
const VERBOSE = process.env.CAPTURE_VERBOSE === "1";

const require = createRequire(import.meta.url);

/** The package.json of an installed package, found by walking up from one of its modules. */
function packageRoot(name, someModule) {
  let dir = path.dirname(require.resolve(someModule));
  for (;;) {
    const candidate = path.join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8"));
      if (pkg.name === name) return { dir, version: pkg.version };
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package.json of ${name}`);
    dir = parent;
  }
}
const SDK_VERSION = packageRoot("@modelcontextprotocol/sdk", "@modelcontextprotocol/sdk/client/index.js").version;
const SERVER_PKG = packageRoot("@modelcontextprotocol/server-everything", "@modelcontextprotocol/server-everything/package.json");
const SERVER_VERSION = SERVER_PKG.version;
const SERVER_ENTRY = path.join(SERVER_PKG.dir, "dist", "index.js");

function log(...args) {
  console.error("[capture]", ...args);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function freeLoopbackPort() {
  const srv = net.createServer();
  srv.listen(0, LOOPBACK);
  await once(srv, "listening");
  const { port } = srv.address();
  srv.close();
  await once(srv, "close");
  return port;
}

// ---------------------------------------------------------------------------------------
// server-everything
// ---------------------------------------------------------------------------------------

let serverProcess = null;
const serverOutput = [];

async function startServer(port) {
  const preload = pathToFileURL(path.join(HERE, "loopback-listen.mjs")).href;
  // A minimal environment: the server's `get-env` tool would dump it, and nothing else is needed.
  // GZIP_ALLOWED_DOMAINS keeps gzip-file-as-resource from fetching anything but loopback
  // (the capture only ever gives it a data: URI).
  const env = {
    PORT: String(port),
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    NODE_ENV: "production",
    GZIP_ALLOWED_DOMAINS: LOOPBACK,
    TZ: "UTC", // times of day inside dynamic resource texts
    LC_ALL: "C",
  };
  serverProcess = spawn(process.execPath, ["--import", preload, SERVER_ENTRY, "streamableHttp"], {
    cwd: E2E_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const ready = new Promise((resolve, reject) => {
    const onData = (stream) => (chunk) => {
      const text = chunk.toString("utf8");
      serverOutput.push(`[${stream}] ${text}`);
      if (VERBOSE) process.stderr.write(`[server ${stream}] ${text}`);
      if (/listening on port/i.test(text)) resolve();
    };
    serverProcess.stdout.on("data", onData("stdout"));
    serverProcess.stderr.on("data", onData("stderr"));
    serverProcess.once("exit", (code, signal) =>
      reject(new Error(`server-everything exited early (code ${code}, signal ${signal})`)),
    );
    serverProcess.once("error", reject);
  });
  await withTimeout(ready, STEP_TIMEOUT_MS, "server-everything to listen");
  log(`server-everything ${SERVER_VERSION} listening on http://${LOOPBACK}:${port}/mcp`);
}

function killServer() {
  if (serverProcess && serverProcess.exitCode === null && serverProcess.signalCode === null) {
    serverProcess.kill("SIGKILL");
  }
}

// ---------------------------------------------------------------------------------------
// Incremental text/event-stream parser (WHATWG "event stream interpretation").
// Calls onEvent({ id, event, data }) for every dispatched event, data lines joined by "\n".
// ---------------------------------------------------------------------------------------

function createSseParser(onEvent) {
  const decoder = new TextDecoder("utf-8");
  let pending = "";
  let first = true;
  let data = [];
  let eventType = "";
  let lastId = undefined;

  function line(text) {
    if (text === "") {
      // Events without data (the priming event "id: …" + "data:") carry no message.
      const joined = data.join("\n");
      if (joined !== "") onEvent({ id: lastId, event: eventType || "message", data: joined });
      data = [];
      eventType = "";
      return;
    }
    if (text.startsWith(":")) return; // comment
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") eventType = value;
    else if (field === "id" && !value.includes("\0")) lastId = value;
    // "retry" and unknown fields are ignored
  }

  function drain(final) {
    for (;;) {
      const m = /\r\n|\r|\n/.exec(pending);
      if (!m) break;
      // A trailing "\r" may be the first half of "\r\n": wait for more input.
      if (m[0] === "\r" && m.index === pending.length - 1 && !final) break;
      line(pending.slice(0, m.index));
      pending = pending.slice(m.index + m[0].length);
    }
  }

  return {
    push(chunk) {
      pending += decoder.decode(chunk, { stream: true });
      if (first && pending.length > 0) {
        if (pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1);
        first = false;
      }
      drain(false);
    },
    end() {
      pending += decoder.decode();
      drain(true);
      // An incomplete final event is discarded, as the spec says.
    },
  };
}

// ---------------------------------------------------------------------------------------
// Recording proxy
// ---------------------------------------------------------------------------------------

class Recorder {
  constructor() {
    this.records = []; // { direction, httpMethod, transport, message, exchange }
    this.exchanges = []; // one per HTTP request
    this.waiters = [];
    this.lastActivity = Date.now();
    this.step = "initialize";
  }

  add(rec) {
    rec.parsed = JSON.parse(rec.message); // fail loudly on anything that is not JSON
    rec.step = this.step;
    this.records.push(rec);
    this.lastActivity = Date.now();
    this.waiters = this.waiters.filter((w) => {
      if (w.predicate(rec)) {
        w.resolve(rec);
        return false;
      }
      return true;
    });
  }

  /** Resolves with the first record (already seen or future) for which predicate is true. */
  waitFor(predicate, what, ms = STEP_TIMEOUT_MS) {
    const seen = this.records.find(predicate);
    if (seen) return Promise.resolve(seen);
    return withTimeout(
      new Promise((resolve) => this.waiters.push({ predicate, resolve })),
      ms,
      `recorded message: ${what}`,
    );
  }

  /** Waits until no message and no HTTP activity has been seen for quietMs (bounded). */
  async settle(quietMs = 150, maxMs = 3_000) {
    const start = Date.now();
    while (Date.now() - start < maxMs) {
      const inflight = this.exchanges.some((x) => !x.done && x.httpMethod !== "GET");
      if (!inflight && Date.now() - this.lastActivity >= quietMs) return;
      await sleep(25);
    }
  }
}

function startProxy(upstreamPort, recorder) {
  const server = http.createServer((req, res) => {
    const exchange = {
      n: recorder.exchanges.length,
      httpMethod: req.method,
      url: req.url,
      requestHeaders: req.headers,
      requestBody: null,
      rpcMethod: null,
      rpcId: undefined,
      status: null,
      responseHeaders: null,
      responseChunks: [],
      contentType: "",
      done: false,
    };
    recorder.exchanges.push(exchange);
    recorder.lastActivity = Date.now();

    const reqChunks = [];
    req.on("data", (c) => reqChunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(reqChunks);
      exchange.requestBody = body;
      if (body.length > 0) {
        const text = body.toString("utf8");
        if (!Buffer.from(text, "utf8").equals(body)) throw new Error("request body is not valid UTF-8");
        recorder.add({ direction: "client_to_server", httpMethod: req.method, transport: "request-body", message: text, exchange });
        const parsed = JSON.parse(text);
        if (parsed && !Array.isArray(parsed)) {
          exchange.rpcMethod = parsed.method ?? (("result" in parsed || "error" in parsed) ? "(response)" : null);
          exchange.rpcId = parsed.id;
        }
      }

      const upstream = http.request(
        {
          host: LOOPBACK,
          port: upstreamPort,
          method: req.method,
          path: req.url,
          headers: req.headers, // unchanged, including Host, Mcp-Session-Id, MCP-Protocol-Version
        },
        (upRes) => {
          exchange.status = upRes.statusCode;
          exchange.responseHeaders = upRes.headers;
          exchange.contentType = String(upRes.headers["content-type"] ?? "");
          const isSse = exchange.contentType.toLowerCase().startsWith("text/event-stream");
          const isJson = exchange.contentType.toLowerCase().startsWith("application/json");
          res.writeHead(upRes.statusCode, upRes.statusMessage, upRes.rawHeaders);
          if (typeof res.flushHeaders === "function") res.flushHeaders();

          const sse = isSse
            ? createSseParser((ev) => {
                recorder.add({ direction: "server_to_client", httpMethod: req.method, transport: "sse", message: ev.data, exchange, sseEventId: ev.id, sseEvent: ev.event });
              })
            : null;

          upRes.on("data", (chunk) => {
            exchange.responseChunks.push(chunk);
            recorder.lastActivity = Date.now();
            res.write(chunk); // pass through immediately, unchanged
            if (sse) sse.push(chunk);
          });
          upRes.on("end", () => {
            if (sse) sse.end();
            const body = Buffer.concat(exchange.responseChunks);
            if (isJson && body.length > 0) {
              recorder.add({ direction: "server_to_client", httpMethod: req.method, transport: "json", message: body.toString("utf8"), exchange });
            }
            exchange.done = true;
            recorder.lastActivity = Date.now();
            res.end();
          });
          upRes.on("error", () => res.destroy());
        },
      );
      upstream.on("error", (err) => {
        exchange.done = true;
        exchange.error = String(err);
        if (!res.headersSent) {
          res.writeHead(502, { "content-type": "text/plain" });
          res.end("upstream error");
        } else {
          res.destroy();
        }
      });
      // The client going away (e.g. the GET stream being aborted) ends the upstream request too.
      res.on("close", () => {
        if (!exchange.done) {
          exchange.done = true;
          exchange.aborted = true;
          upstream.destroy();
        }
      });
      upstream.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, LOOPBACK, () => resolve(server));
  });
}

// ---------------------------------------------------------------------------------------
// The client session
// ---------------------------------------------------------------------------------------

const STATIC_URI = "demo://resource/static/document/architecture.md";
const DYNAMIC_URI = "demo://resource/dynamic/text/1";
const TEXT_TEMPLATE = "demo://resource/dynamic/text/{resourceId}";

async function runSession(proxyUrl, recorder) {
  const transport = new StreamableHTTPClientTransport(new URL(proxyUrl), {
    // No reconnection of the GET stream: the run must stay short and its traffic stable.
    reconnectionOptions: { initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
  });
  const client = new Client(
    { name: "mcp-policy-capture", version: "0.1.0" },
    { capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: { form: {}, url: {} } } },
  );
  client.onerror = (err) => log("client error (ignored):", err?.message ?? err);

  let rootsAnswered;
  const rootsListed = new Promise((resolve) => (rootsAnswered = resolve));
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    rootsAnswered();
    return { roots: [{ uri: "file:///tmp/mcp-policy-e2e/project", name: "project" }] };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const prompt = request.params.messages.map((m) => (m.content?.type === "text" ? m.content.text : "")).join(" ");
    return {
      role: "assistant",
      model: "capture-stub-model",
      stopReason: "endTurn",
      content: { type: "text", text: `Stub completion for: ${prompt}` },
    };
  });
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    if (request.params.mode === "url") return { action: "decline" };
    return {
      action: "accept",
      content: { name: "Ada Lovelace", check: true, email: "ada@example.com", integer: 7 },
    };
  });

  const results = {};
  const step = async (label, fn, { expectError = false } = {}) => {
    recorder.step = label;
    let outcome;
    try {
      outcome = { ok: true, value: await withTimeout(fn(), STEP_TIMEOUT_MS, label) };
    } catch (err) {
      if (!expectError) throw new Error(`${label} failed: ${err?.message ?? err}`);
      outcome = { ok: false, error: { code: err?.code, message: err?.message } };
    }
    if (expectError && outcome.ok && !outcome.value?.isError) {
      throw new Error(`${label}: expected an error, got ${JSON.stringify(outcome.value).slice(0, 200)}`);
    }
    await recorder.settle();
    results[label] = outcome;
    log(`${label}: ${outcome.ok ? (outcome.value?.isError ? "isError result" : "ok") : `error ${outcome.error.code} ${outcome.error.message}`}`);
    return outcome;
  };

  await step("initialize", () => client.connect(transport));
  // Unsolicited roots/list on the GET stream (~350 ms after initialized), the client's answer,
  // and the server's log message about it: wait for all three so the ordering is stable.
  recorder.step = "roots/list on the GET stream (unsolicited)";
  await withTimeout(rootsListed, STEP_TIMEOUT_MS, "roots/list from the server");
  await recorder.waitFor(
    (r) => r.direction === "server_to_client" && r.parsed.method === "notifications/message" && /Roots updated/.test(JSON.stringify(r.parsed.params)),
    "roots log notification",
  );
  await recorder.settle();

  await step("tools/list", () => client.listTools());
  await step("tools/call echo", () => client.callTool({ name: "echo", arguments: { message: "Hello, proxy! \u00e9\u00e8 \u2713" } }));
  await step("tools/call get-sum", () => client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } }));
  await step("tools/call get-resource-links", () => client.callTool({ name: "get-resource-links", arguments: { count: 2 } }));
  await step("tools/call get-resource-reference", () =>
    client.callTool({ name: "get-resource-reference", arguments: { resourceType: "Text", resourceId: 1 } }),
  );
  await step("tools/call get-structured-content", () =>
    client.callTool({ name: "get-structured-content", arguments: { location: "New York" } }),
  );
  const progress = [];
  await step("tools/call trigger-long-running-operation", () =>
    client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 3 } },
      undefined,
      { onprogress: (p) => progress.push(p), timeout: STEP_TIMEOUT_MS },
    ),
  );
  if (progress.length !== 3) throw new Error(`expected 3 progress notifications, got ${progress.length}`);
  await step("tools/call trigger-sampling-request", () =>
    client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "Say hello to the gateway", maxTokens: 50 } }),
  );
  await step("tools/call trigger-elicitation-request", () => client.callTool({ name: "trigger-elicitation-request", arguments: {} }));
  await step("tools/call unknown tool", () => client.callTool({ name: "no-such-tool", arguments: {} }), { expectError: true });

  await step("resources/list", () => client.listResources());
  await step("resources/templates/list", () => client.listResourceTemplates());
  await step("resources/read static", () => client.readResource({ uri: STATIC_URI }));
  await step("resources/read dynamic", () => client.readResource({ uri: DYNAMIC_URI }));
  await step("resources/subscribe", () => client.subscribeResource({ uri: STATIC_URI }));
  await step("resources/unsubscribe", () => client.unsubscribeResource({ uri: STATIC_URI }));

  await step("prompts/list", () => client.listPrompts());
  await step("prompts/get simple-prompt", () => client.getPrompt({ name: "simple-prompt" }));
  await step("prompts/get args-prompt", () => client.getPrompt({ name: "args-prompt", arguments: { city: "Z\u00fcrich", state: "ZH" } }));

  await step("completion/complete prompt", () =>
    client.complete({
      ref: { type: "ref/prompt", name: "completable-prompt" },
      argument: { name: "name", value: "A" },
      context: { arguments: { department: "Engineering" } },
    }),
  );
  await step("completion/complete resource template", () =>
    client.complete({ ref: { type: "ref/resource", uri: TEXT_TEMPLATE }, argument: { name: "resourceId", value: "1" } }),
  );

  await step("logging/setLevel", () => client.setLoggingLevel("info"));
  await step("ping", () => client.ping());
  // A request whose params are invalid: the server answers with a JSON-RPC error (-32602).
  await step(
    "bad params (prompts/get args-prompt without city)",
    () => client.request({ method: "prompts/get", params: { name: "args-prompt", arguments: {} } }, EmptyResultSchema),
    { expectError: true },
  );

  // Extra: a session resource created from a data: URI makes the server announce
  // notifications/resources/list_changed on the GET stream.
  await step("tools/call gzip-file-as-resource", () =>
    client.callTool({
      name: "gzip-file-as-resource",
      arguments: { name: "hello.txt.gz", data: "data:text/plain;base64," + Buffer.from("hello from the capture\n").toString("base64"), outputType: "resourceLink" },
    }),
  );
  await recorder.waitFor((r) => r.parsed.method === "notifications/resources/list_changed", "resources list_changed");
  await recorder.settle();

  recorder.step = "terminateSession (DELETE)";
  const sessionId = transport.sessionId;
  const protocolVersion = transport.protocolVersion;
  await step("terminateSession (DELETE)", () => transport.terminateSession());
  await client.close();
  await recorder.settle();
  return { results, sessionId, protocolVersion, progress };
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

function listFixture(recorder, method) {
  const matches = recorder.exchanges.filter((x) => x.httpMethod === "POST" && x.rpcMethod === method);
  if (matches.length !== 1) throw new Error(`expected exactly one ${method} exchange, found ${matches.length}`);
  const x = matches[0];
  if (!x.contentType.startsWith("text/event-stream")) throw new Error(`${method}: expected an SSE response, got ${x.contentType}`);
  const rec = recorder.records.find(
    (r) => r.exchange === x && r.direction === "server_to_client" && r.parsed.id === x.rpcId && ("result" in r.parsed || "error" in r.parsed),
  );
  if (!rec) throw new Error(`${method}: no response found in its SSE stream`);
  return { json: rec.message, sse: Buffer.concat(x.responseChunks) };
}

function writeOutputs(recorder, session) {
  mkdirSync(OUT_DIR, { recursive: true });
  const protocolVersion = session.protocolVersion;

  const lines = recorder.records.map((r, i) =>
    JSON.stringify({
      seq: i + 1,
      direction: r.direction,
      http: { method: r.httpMethod, transport: r.transport },
      protocolVersion,
      message: r.message,
    }),
  );
  writeFileSync(path.join(OUT_DIR, "everything-session.jsonl"), lines.join("\n") + "\n");

  const lists = [
    ["tools/list", "tools-list"],
    ["resources/list", "resources-list"],
    ["resources/templates/list", "resource-templates-list"],
    ["prompts/list", "prompts-list"],
  ];
  const counts = {};
  for (const [method, base] of lists) {
    const { json, sse } = listFixture(recorder, method);
    writeFileSync(path.join(OUT_DIR, `${base}.json`), json);
    writeFileSync(path.join(OUT_DIR, `${base}.sse`), sse);
    const result = JSON.parse(json).result;
    counts[method] = (result.tools ?? result.resources ?? result.resourceTemplates ?? result.prompts).length;
  }

  const date = new Date().toISOString().slice(0, 10);
  const perDirection = {};
  const perMethod = {};
  for (const r of recorder.records) {
    perDirection[r.direction] = (perDirection[r.direction] ?? 0) + 1;
    const key = `${r.direction} ${kindOf(r, recorder)}`;
    perMethod[key] = (perMethod[key] ?? 0) + 1;
  }
  const steps = [];
  recorder.records.forEach((r, i) => {
    const last = steps[steps.length - 1];
    if (last && last.label === r.step) last.to = i + 1;
    else steps.push({ label: r.step, from: i + 1, to: i + 1 });
  });
  writeFileSync(
    path.join(OUT_DIR, "README.md"),
    readme({ date, protocolVersion, counts, perDirection, perMethod, steps, total: recorder.records.length }),
  );
  return { counts, perDirection, perMethod };
}

/** "request tools/call", "notification notifications/progress", "result (tools/call)"… */
function kindOf(rec, recorder) {
  const msg = rec.parsed;
  if (Array.isArray(msg)) return "batch";
  if (typeof msg.method === "string") return `${"id" in msg ? "request" : "notification"} ${msg.method}`;
  const kind = "error" in msg ? "error" : "result";
  // The request this answers: same id, sent earlier in the opposite direction.
  const req = recorder.records.find(
    (r) => r.direction !== rec.direction && typeof r.parsed.method === "string" && "id" in r.parsed && r.parsed.id === msg.id,
  );
  return req ? `${kind} (${req.parsed.method})` : `${kind} (id ${JSON.stringify(msg.id)})`;
}

function readme({ date, protocolVersion, counts, perDirection, perMethod, steps, total }) {
  const stepLines = steps.map((s) => `| ${s.from === s.to ? s.from : `${s.from}–${s.to}`} | ${s.label} |`).join("\n");
  const methodLines = Object.entries(perMethod)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `| ${k.replace(" ", " | ")} | ${v} |`)
    .join("\n");
  return `# Captured MCP traffic (fixtures)

Real JSON-RPC traffic between the official TypeScript SDK client and the reference server
\`server-everything\`, over Streamable HTTP on loopback, recorded by a pass-through proxy.
Do not edit these files by hand: regenerate them.

## How they were produced

\`\`\`sh
cd e2e && npm ci && node capture/capture.mjs
\`\`\`

- \`@modelcontextprotocol/sdk@${SDK_VERSION}\` (client: \`Client\` + \`StreamableHTTPClientTransport\`,
  capabilities \`roots\` + \`sampling\` + \`elicitation\` {form, url})
- \`@modelcontextprotocol/server-everything@${SERVER_VERSION}\` (\`streamableHttp\` mode, endpoint \`/mcp\`)
- Node ${process.version}; captured ${date}; negotiated protocol version \`${protocolVersion}\`
- \`e2e/capture/capture.mjs\` starts the server on a free 127.0.0.1 port, puts a recording proxy
  (node:http) in front of it, and runs the session: initialize, tools/list, tools/call (echo,
  get-sum, get-resource-links, get-resource-reference, get-structured-content,
  trigger-long-running-operation with a progress token, trigger-sampling-request,
  trigger-elicitation-request, an unknown tool), resources/list, resources/templates/list,
  resources/read (static and dynamic), resources/subscribe + unsubscribe, prompts/list,
  prompts/get (simple-prompt, args-prompt), completion/complete (prompt and resource template
  refs), logging/setLevel, ping, prompts/get with invalid params (JSON-RPC error -32602),
  tools/call gzip-file-as-resource with a data: URI (which makes the server send
  notifications/resources/list_changed on the GET stream), then DELETE of the session.
  The client answers the server's roots/list, sampling/createMessage and elicitation/create.

Between runs only the session id (quoted in two log messages), SSE event ids and the time of day
inside dynamic text resources change (the server runs with TZ=UTC); the message order is kept
stable by waiting for each step's traffic to settle before the next step. \`node
capture/check-fixtures.mjs\` checks the files and the wire details listed below.

## Files

- \`everything-session.jsonl\` — every JSON-RPC message of the session (${total} lines), in the order the
  proxy saw them: \`{"seq", "direction": "client_to_server"|"server_to_client", "http": {"method":
  "POST"|"GET", "transport": "request-body"|"sse"|"json"}, "protocolVersion", "message"}\`, where
  \`message\` is the exact message text as on the wire (a POST body, or one SSE event's \`data:\`).
  \`http.method\` is the HTTP request that carried it (\`GET\` = the standalone SSE stream).
- \`tools-list.json\` — the raw JSON-RPC response of \`tools/list\` (${counts["tools/list"]} tools), unwrapped from its SSE event.
- \`tools-list.sse\` — the raw SSE response body of that \`tools/list\` POST, all events as received.
- \`resources-list.json\` — the raw response of \`resources/list\` (${counts["resources/list"]} resources).
- \`resources-list.sse\` — its raw SSE response body.
- \`resource-templates-list.json\` — the raw response of \`resources/templates/list\` (${counts["resources/templates/list"]} templates).
- \`resource-templates-list.sse\` — its raw SSE response body.
- \`prompts-list.json\` — the raw response of \`prompts/list\` (${counts["prompts/list"]} prompts).
- \`prompts-list.sse\` — its raw SSE response body.
- \`README.md\` — this file (written by the script too).
- \`.gitattributes\` — kept by hand (not written by the script): marks the fixtures \`-text\` so git never
  converts their line endings.

## Steps (seq ranges in everything-session.jsonl)

| seq | step |
| --- | --- |
${stepLines}

## Wire details worth knowing (server-everything ${SERVER_VERSION} on SDK ${SDK_VERSION})

- Every POST carrying a request is answered with \`text/event-stream\`, never JSON: first a
  priming event \`id: <uuid>\` + \`data: \` (empty data), then \`event: message\` /
  \`id: <uuid>\` / \`data: <json>\` events, blank-line terminated, LF line endings, no \`retry:\`.
  POSTs carrying a notification or a response get 202 with no body; DELETE gets 200, no body.
- Key order differs by message kind: results are \`{"result":…,"jsonrpc":"2.0","id":N}\`, errors
  \`{"jsonrpc":"2.0","id":N,"error":…}\`, requests and notifications from either side
  \`{"method":…,"params":…,"jsonrpc":"2.0"[,"id":N]}\`. Parsers must not expect \`jsonrpc\` first.
- Server→client request ids come from one per-session counter starting at 0, shared by the GET
  stream and the POST streams (roots/list = 0 on GET, then sampling = 1, elicitation = 2 on the
  POST streams of their tools/call). They overlap with the client's own request ids.
- Progress notifications, sampling and elicitation requests travel on the POST stream of the
  tools/call they belong to; log messages about subscribe/unsubscribe/roots and
  \`notifications/resources/list_changed\` travel on the GET stream.
- An unknown tool is answered with a normal result \`isError: true\` (not a JSON-RPC error);
  invalid prompt arguments give JSON-RPC error -32602.
- While handling \`notifications/initialized\` the server registers its capability-dependent
  tools and emits one \`notifications/tools/list_changed\` per tool (5, not debounced). The GET
  stream is not open yet, so the client never sees them: the server only keeps them in its
  event store. A GET with \`Last-Event-ID\` would replay them, and that replay ignores stream
  boundaries (it replays every later event of the session, POST responses included).

## Messages by direction and kind

${Object.entries(perDirection).map(([k, v]) => `- ${k}: ${v}`).join("\n")}

| direction | kind | count |
| --- | --- | --- |
${methodLines}
`;
}

// ---------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------

async function main() {
  const recorder = new Recorder();
  const serverPort = await freeLoopbackPort();
  await startServer(serverPort);
  const proxy = await startProxy(serverPort, recorder);
  const proxyUrl = `http://${LOOPBACK}:${proxy.address().port}/mcp`;
  log(`recording proxy on ${proxyUrl}`);

  const session = await runSession(proxyUrl, recorder);
  proxy.closeAllConnections?.();
  proxy.close();

  // Every request header after initialize carries the negotiated version.
  for (const x of recorder.exchanges) {
    const v = x.requestHeaders["mcp-protocol-version"];
    if (x.rpcMethod !== "initialize" && v !== undefined && v !== session.protocolVersion) {
      throw new Error(`exchange ${x.n} carries MCP-Protocol-Version ${v}, negotiated ${session.protocolVersion}`);
    }
  }

  const summary = writeOutputs(recorder, session);
  log(`wrote ${recorder.records.length} messages to ${OUT_DIR}`);
  log("per direction:", JSON.stringify(summary.perDirection));
  for (const [k, v] of Object.entries(summary.perMethod).sort()) log(`  ${String(v).padStart(3)}  ${k}`);
  if (VERBOSE) {
    for (const x of recorder.exchanges) {
      log(`exchange ${x.n}: ${x.httpMethod} ${x.rpcMethod ?? ""} -> ${x.status} ${x.contentType}${x.aborted ? " (aborted by client)" : ""}`);
    }
  }
}

const overall = setTimeout(() => {
  log(`overall timeout of ${TOTAL_TIMEOUT_MS} ms reached`);
  killServer();
  process.exit(2);
}, TOTAL_TIMEOUT_MS);

process.on("exit", killServer);
process.on("uncaughtException", (err) => {
  log("FAILED (uncaught):", err?.stack ?? err);
  killServer();
  process.exit(1);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    killServer();
    process.exit(130);
  });
}

main()
  .then(() => {
    clearTimeout(overall);
    killServer();
    process.exit(0);
  })
  .catch((err) => {
    log("FAILED:", err?.stack ?? err);
    if (!VERBOSE && serverOutput.length) log("server output:\n" + serverOutput.join("").slice(-4000));
    killServer();
    process.exit(1);
  });
