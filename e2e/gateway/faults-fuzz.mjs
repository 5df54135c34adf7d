// Malformed MCP requests from a seeded PRNG, for the fuzz case of faults.test.mjs: a valid
// request is taken and broken one way (bytes, JSON, JSON-RPC, MCP, headers), so most inputs
// are near misses a parser could get wrong rather than noise it refuses at the first byte.

const TEMPLATES = [
  { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { message: "hi" } } },
  { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "get-env", arguments: {} } },
  { jsonrpc: "2.0", id: 3, method: "tools/list" },
  { jsonrpc: "2.0", id: 4, method: "ping" },
  { jsonrpc: "2.0", id: 5, method: "resources/read", params: { uri: "demo://resource/static/document/a.md" } },
  { jsonrpc: "2.0", id: 6, method: "prompts/get", params: { name: "simple-prompt" } },
  { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } },
];

const JUNK = ["\0", "\xff", "\ud800", "}", "{", "[", "]", '"', "\\", ",", ":", "\u2028", "\ufeff", "NaN", "1e999", "\r\n"];

/** One way to break `msg` (a template copy) or its text; returns the body as a Buffer. */
const BODY_MUTATIONS = [
  // Bytes.
  (r, t) => Buffer.from(t).subarray(0, r.int(t.length)), // truncated
  (r, t) => {
    const b = Buffer.from(t);
    b[r.int(b.length)] = r.int(256);
    return b;
  },
  (r, t) => {
    const at = r.int(t.length);
    return Buffer.from(t.slice(0, at) + r.pick(JUNK) + t.slice(at));
  },
  (r, t) => {
    const at = r.int(t.length);
    return Buffer.from(t.slice(0, at) + t.slice(at + 1));
  },
  (r) => Buffer.from(Array.from({ length: 1 + r.int(200) }, () => r.int(256))), // noise
  () => Buffer.alloc(0),
  (r, t) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t)]), // BOM
  (r, t) => Buffer.concat([Buffer.from(t), Buffer.from(r.pick([" x", "{}", t, "\0", "]"]))]), // trailing
  (r, t) => {
    const at = 1 + r.int(t.length - 1); // invalid UTF-8 (C3 28) somewhere
    return Buffer.concat([Buffer.from(t.slice(0, at)), Buffer.from([0xc3, 0x28]), Buffer.from(t.slice(at))]);
  },
  // JSON.
  (r) => Buffer.from("[".repeat(1 + r.int(5000)) + "]".repeat(r.int(5000))), // depth
  (r, t) => Buffer.from(t.replace('"method":', `"method":"ping","method":`)), // duplicate key
  (r, t) => Buffer.from(t.replace('"name":"echo"', '"name":"echo","name":"get-env"')),
  (r, t) => Buffer.from(t.replace(/"(\w+)":/, (m, k) => `"${k}\\u0000":`)),
  (r, t) => Buffer.from(t.replace("get-env", "get\\u002denv")),
  (r, t) => Buffer.from(t.replace(/:(\d+)/, ":" + r.pick(["1e400", "-0", "01", "1.", "0x1", "Infinity", "9".repeat(400)]))),
  // JSON-RPC.
  (r, t, m) => json({ ...m, jsonrpc: r.pick(["1.0", 2, null, "2.0 ", ["2.0"]]) }),
  (r, t, m) => json({ ...m, id: r.pick([{}, [], true, null, 1.5, "", "x".repeat(5000)]) }),
  (r, t, m) => json({ ...m, method: r.pick([1, null, [], "", "tools/call\0", "TOOLS/CALL"]) }),
  (r, t, m) => json({ ...m, params: r.pick([1, "x", [], null, true]) }),
  (r, t, m) => {
    const { jsonrpc, ...rest } = m;
    return json(r.next() < 0.5 ? rest : { ...m, result: {}, error: { code: 1, message: "x" } });
  },
  (r, t, m) => json(r.pick([[], [m], [m, m], [m, TEMPLATES[1]], [1, 2], "string", 42, null])), // batches, scalars
  // MCP.
  (r, t, m) => json({ ...m, method: "tools/call", params: { name: r.pick([1, null, "", "get-env", "echo\u0000", "x".repeat(300)]), arguments: r.pick([[], "x", 1, {}]) } }),
  (r, t, m) => json({ ...m, method: "resources/read", params: { uri: r.pick([1, "", "file:///etc/passwd", "demo://resource/\u0000"]) } }),
  (r, t, m) => json({ ...m, method: "initialize", params: r.pick([{}, { protocolVersion: 1 }, { protocolVersion: "2025-11-25" }]) }),
];

const HEADER_MUTATIONS = [
  (r, h) => ({ ...h, "content-type": r.pick(["text/plain", "application/json; charset=utf-16", "", "multipart/form-data", "application/jsonx", "application/json; charset=latin1"]) }),
  (r, h) => ({ ...h, "mcp-protocol-version": r.pick(["1999-01-01", "garbage", "2025-11-25, 2025-03-26", ""]) }),
  (r, h) => ({ ...h, "mcp-method": r.pick(["ping", "tools/list", "x"]), "mcp-protocol-version": "2025-11-25" }),
  (r, h) => ({ ...h, "mcp-name": r.pick(["get-env", "echo", ""]), "mcp-protocol-version": "2025-11-25" }),
  (r, h) => ({ ...h, "content-encoding": r.pick(["gzip", "deflate", "br", "identity, gzip"]) }),
  (r, h) => ({ ...h, "mcp-session-id": r.pick(["0".repeat(32), "x", "f".repeat(500)]) }),
  (r, h) => ({ ...h, accept: r.pick(["text/html", "application/json", "*/*"]) }),
];

function json(v) {
  return Buffer.from(JSON.stringify(v));
}

/**
 * Input `i` of the run seeded with the PRNG `r`: { body (Buffer), headers, how }. Most inputs
 * get one body mutation; about one in five gets a header mutation on a valid body instead or
 * as well.
 */
export function malformed(r) {
  const msg = structuredClone(r.pick(TEMPLATES));
  const text = JSON.stringify(msg);
  let headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const how = [];
  let body = Buffer.from(text);
  const roll = r.next();
  if (roll < 0.85) {
    const k = r.int(BODY_MUTATIONS.length);
    body = BODY_MUTATIONS[k](r, text, msg);
    how.push(`body${k}`);
  }
  if (roll >= 0.65) {
    const k = r.int(HEADER_MUTATIONS.length);
    headers = HEADER_MUTATIONS[k](r, headers);
    how.push(`header${k}`);
  }
  return { body, headers, how: how.join("+") };
}

/**
 * Whether a body that reached the backend is one the policy allows: strictly JSON-RPC 2.0 (one
 * message or a batch of them), and never a call of or listing for `get-env`, however spelled.
 */
export function allowedByPolicy(body) {
  let v;
  try {
    v = JSON.parse(body);
  } catch {
    return false;
  }
  const one = (m) =>
    m !== null &&
    typeof m === "object" &&
    !Array.isArray(m) &&
    m.jsonrpc === "2.0" &&
    typeof m.method === "string" &&
    // Any JSON number (1.5, 1e400): JSON-RPC 2.0 allows them, and the engine matches ids by value.
    (m.id === undefined || typeof m.id === "string" || typeof m.id === "number") &&
    !(m.method === "tools/call" && m.params?.name === "get-env");
  return Array.isArray(v) ? v.length > 0 && v.every(one) : one(v);
}
