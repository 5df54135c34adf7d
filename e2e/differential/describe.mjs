// Method and subject of a parsed JSON-RPC body as a receiver would dispatch them; the same
// reading as python-backend.py's describe(), so the two parsers' views compare directly.
export function subjectOf(method, params) {
  if (params === null || typeof params !== "object" || Array.isArray(params)) return null;
  if (method === "tools/call" || method === "prompts/get") return params.name ?? null;
  if (method === "resources/read" || method === "resources/subscribe" || method === "resources/unsubscribe")
    return params.uri ?? null;
  return null;
}

const safe = (v) => (typeof v === "string" || v === null || v === undefined ? (v ?? null) : `${typeof v}:${String(v)}`);

function one(m) {
  if (m === null || typeof m !== "object" || Array.isArray(m)) return { shape: m === null ? "null" : typeof m };
  return { method: safe(m.method), subject: safe(subjectOf(m.method, m.params)), id: safe(m.id) };
}

export function describe(value) {
  return Array.isArray(value) ? { batch: value.map(one) } : one(value);
}
