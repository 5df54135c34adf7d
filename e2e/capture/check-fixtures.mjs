#!/usr/bin/env node
// Sanity checks for the fixtures written by capture.mjs (no dependencies):
//
//   node capture/check-fixtures.mjs [DIR]      (default: ../core/tests/fixtures/traffic)
//
// Every line of everything-session.jsonl has the agreed shape and its `message` parses as one
// JSON-RPC message; every response answers an earlier request of the other side; the list
// fixtures hold exactly the tools, resources, templates and prompts server-everything
// 2026.8.31 offers a client with roots + sampling + elicitation; each .json is byte-identical
// to the data of the message event in its .sse and to the message in the session log; and the
// wire details the README states still hold.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIR = path.resolve(process.argv[2] ?? path.join(HERE, "..", "..", "core", "tests", "fixtures", "traffic"));

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err?.message ?? err}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function sameSet(actual, expected, what) {
  const a = [...actual].sort();
  const e = [...expected].sort();
  assert(JSON.stringify(a) === JSON.stringify(e), `${what}: got ${JSON.stringify(a)}, expected ${JSON.stringify(e)}`);
}
const read = (name) => readFileSync(path.join(DIR, name));

// mcp-spec.md §5.2 / §5.3
const EXPECTED_TOOLS = [
  "echo", "get-annotated-message", "get-env", "get-resource-links", "get-resource-reference",
  "get-structured-content", "get-sum", "get-tiny-image", "gzip-file-as-resource",
  "toggle-simulated-logging", "toggle-subscriber-updates", "trigger-long-running-operation",
  // registered after initialize because the client declared roots / elicitation (+url) / sampling
  "get-roots-list", "trigger-elicitation-request", "trigger-url-elicitation",
  "trigger-sampling-request", "simulate-research-query",
];
const EXPECTED_RESOURCES = ["architecture", "extension", "features", "how-it-works", "instructions", "startup", "structure"]
  .map((f) => `demo://resource/static/document/${f}.md`);
const EXPECTED_TEMPLATES = ["demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/blob/{resourceId}"];
const EXPECTED_PROMPTS = ["simple-prompt", "args-prompt", "completable-prompt", "resource-prompt"];

// ---- the session log -------------------------------------------------------------------

const lines = read("everything-session.jsonl").toString("utf8").split("\n");
assert(lines.pop() === "", "everything-session.jsonl must end with a newline");
const entries = [];

check("every jsonl line has the agreed shape and a parseable message", () => {
  lines.forEach((line, i) => {
    const o = JSON.parse(line);
    const where = `line ${i + 1}`;
    sameSet(Object.keys(o), ["seq", "direction", "http", "protocolVersion", "message"], `${where} keys`);
    assert(o.seq === i + 1, `${where}: seq ${o.seq}`);
    assert(["client_to_server", "server_to_client"].includes(o.direction), `${where}: direction ${o.direction}`);
    sameSet(Object.keys(o.http), ["method", "transport"], `${where} http keys`);
    assert(["POST", "GET"].includes(o.http.method), `${where}: http.method ${o.http.method}`);
    assert(["json", "sse", "request-body"].includes(o.http.transport), `${where}: transport ${o.http.transport}`);
    assert((o.direction === "client_to_server") === (o.http.transport === "request-body"), `${where}: transport vs direction`);
    assert(o.protocolVersion === "2025-11-25", `${where}: protocolVersion ${o.protocolVersion}`);
    assert(typeof o.message === "string", `${where}: message must be a string`);
    const msg = JSON.parse(o.message);
    assert(msg && typeof msg === "object" && !Array.isArray(msg), `${where}: not a single JSON object`);
    assert(msg.jsonrpc === "2.0", `${where}: jsonrpc`);
    const kinds = ["method" in msg, "result" in msg, "error" in msg].filter(Boolean).length;
    assert(kinds === 1, `${where}: must be exactly one of request/notification, result, error`);
    entries.push({ ...o, msg });
  });
  assert(entries.length > 0, "no messages");
});

const requestsOf = (dir) => entries.filter((e) => e.direction === dir && typeof e.msg.method === "string" && "id" in e.msg);
const methodOf = (e) => e.msg.method;

check("every response answers exactly one earlier request of the other side, and every request is answered", () => {
  for (const dir of ["client_to_server", "server_to_client"]) {
    const other = dir === "client_to_server" ? "server_to_client" : "client_to_server";
    for (const req of requestsOf(dir)) {
      const answers = entries.filter((e) => e.direction === other && !("method" in e.msg) && e.msg.id === req.msg.id);
      assert(answers.length === 1, `${req.msg.method} id ${req.msg.id} (${dir}) has ${answers.length} answers`);
      assert(answers[0].seq > req.seq, `answer to ${req.msg.method} id ${req.msg.id} comes first`);
    }
    const seen = new Set();
    for (const req of requestsOf(dir)) {
      assert(!seen.has(req.msg.id), `${dir} reuses request id ${req.msg.id}`);
      seen.add(req.msg.id);
    }
  }
  const responses = entries.filter((e) => !("method" in e.msg));
  assert(responses.length === requestsOf("client_to_server").length + requestsOf("server_to_client").length, "stray responses");
});

check("the session covers every step of the brief", () => {
  const c2s = new Set(requestsOf("client_to_server").map(methodOf));
  for (const m of ["initialize", "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read",
    "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get", "completion/complete",
    "logging/setLevel", "ping"]) assert(c2s.has(m), `no ${m} request`);
  const tools = requestsOf("client_to_server").filter((e) => e.msg.method === "tools/call").map((e) => e.msg.params.name);
  for (const t of ["echo", "get-sum", "get-resource-links", "get-resource-reference", "get-structured-content",
    "trigger-long-running-operation", "trigger-sampling-request", "trigger-elicitation-request"]) {
    assert(tools.includes(t), `no tools/call of ${t}`);
  }
  assert(tools.some((t) => !EXPECTED_TOOLS.includes(t)), "no call of an unknown tool");
  const prompts = requestsOf("client_to_server").filter((e) => e.msg.method === "prompts/get").map((e) => e.msg.params.name);
  assert(prompts.includes("simple-prompt") && prompts.includes("args-prompt"), "prompts/get of simple-prompt and args-prompt");
  sameSet(requestsOf("server_to_client").map(methodOf), ["roots/list", "sampling/createMessage", "elicitation/create"], "server requests");
  assert(entries.some((e) => e.msg.method === "notifications/initialized"), "notifications/initialized");
  assert(entries.filter((e) => e.msg.method === "notifications/progress").length === 3, "3 progress notifications");
  assert(entries.some((e) => e.msg.method === "notifications/message"), "a log notification");
  assert(entries.some((e) => "error" in e.msg && e.msg.error.code === -32602), "a JSON-RPC -32602 error");
});

check("wire details stated in README.md still hold", () => {
  // server→client request ids: 0 (roots/list on the GET stream), 1 (sampling), 2 (elicitation) on POST streams
  const s2c = requestsOf("server_to_client").map((e) => [e.msg.method, e.msg.id, e.http.method]);
  assert(JSON.stringify(s2c) === JSON.stringify([["roots/list", 0, "GET"], ["sampling/createMessage", 1, "POST"], ["elicitation/create", 2, "POST"]]),
    `server requests: ${JSON.stringify(s2c)}`);
  for (const e of entries.filter((x) => x.direction === "server_to_client")) {
    assert(e.http.transport === "sse", `seq ${e.seq}: server message not on SSE`);
    const first = Object.keys(e.msg)[0];
    if ("result" in e.msg) assert(first === "result", `seq ${e.seq}: result key order`);
    if ("error" in e.msg) assert(first === "jsonrpc", `seq ${e.seq}: error key order`);
    if ("method" in e.msg) assert(first === "method", `seq ${e.seq}: request/notification key order`);
  }
  for (const e of entries.filter((x) => x.msg.method === "notifications/progress")) assert(e.http.method === "POST", "progress on POST stream");
  for (const e of entries.filter((x) => x.msg.method === "notifications/message" || /list_changed$/.test(x.msg.method ?? ""))) {
    assert(e.http.method === "GET", `seq ${e.seq}: ${e.msg.method} not on the GET stream`);
  }
  const unknown = requestsOf("client_to_server").find((e) => e.msg.method === "tools/call" && !EXPECTED_TOOLS.includes(e.msg.params.name));
  const answer = entries.find((e) => e.direction === "server_to_client" && e.msg.id === unknown.msg.id && !("method" in e.msg));
  assert(answer.msg.result?.isError === true, "unknown tool answered with isError result");
});

// ---- the list fixtures -----------------------------------------------------------------

function sseEvents(text) {
  // Minimal parser for the files (LF only, as captured).
  return text.split("\n\n").filter((b) => b !== "").map((block) => {
    const ev = { data: [] };
    for (const line of block.split("\n")) {
      const i = line.indexOf(":");
      const field = line.slice(0, i);
      const value = line.slice(i + 1).replace(/^ /, "");
      if (field === "data") ev.data.push(value);
      else ev[field] = value;
    }
    ev.data = ev.data.join("\n");
    return ev;
  });
}

const LISTS = [
  ["tools-list", "tools/list", "tools", "name", EXPECTED_TOOLS],
  ["resources-list", "resources/list", "resources", "uri", EXPECTED_RESOURCES],
  ["resource-templates-list", "resources/templates/list", "resourceTemplates", "uriTemplate", EXPECTED_TEMPLATES],
  ["prompts-list", "prompts/list", "prompts", "name", EXPECTED_PROMPTS],
];

for (const [base, method, key, field, expected] of LISTS) {
  check(`${base}.json lists the expected ${expected.length} ${key}`, () => {
    const text = read(`${base}.json`).toString("utf8");
    const msg = JSON.parse(text);
    assert(msg.jsonrpc === "2.0" && "id" in msg && msg.result, "not a JSON-RPC result");
    const items = msg.result[key];
    assert(Array.isArray(items), `result.${key} is not an array`);
    assert(items.length === expected.length, `${items.length} ${key}, expected ${expected.length}`);
    sameSet(items.map((x) => x[field]), expected, key);
    if (key === "tools") {
      for (const t of items) assert(t.annotations && t.execution?.taskSupport, `${t.name}: annotations / execution.taskSupport`);
    }
  });
  check(`${base}.sse holds ${base}.json byte for byte, and so does the session log`, () => {
    const raw = read(`${base}.sse`);
    const json = read(`${base}.json`);
    assert(raw.includes(Buffer.concat([Buffer.from("data: "), json, Buffer.from("\n\n")])), "data line not found verbatim");
    const events = sseEvents(raw.toString("utf8"));
    assert(events.length === 2, `${events.length} events, expected a priming event and the response`);
    assert(events[0].id && events[0].data === "" && events[0].event === undefined, "priming event");
    assert(events[1].event === "message" && events[1].id && events[1].data === json.toString("utf8"), "message event");
    const req = requestsOf("client_to_server").find((e) => e.msg.method === method);
    const resp = entries.find((e) => e.direction === "server_to_client" && e.msg.id === req.msg.id && !("method" in e.msg));
    assert(resp.message === json.toString("utf8"), "session log message differs from the .json fixture");
  });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
