// Seeded generator of tricky encodings of MCP client requests. Every input is a request for one
// subject that the policy allows or forbids, written so that some reader might see another
// method, name or URI than a strict one: escapes, duplicate keys, surrogates, bad UTF-8, odd
// ids, BOMs and whitespace, control characters, declared charsets, Content-Encoding, trailing
// data and batches. The same seed gives the same inputs byte for byte.
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import iconv from "iconv-lite";
import { prng } from "../prng.mjs";

/** What the policy (policy.json) grants: one tool, one prompt, one resource. */
export const TARGETS = [
  { method: "tools/call", key: "name", allow: "echo", deny: "get-env", extra: { arguments: { message: "hi" } } },
  { method: "prompts/get", key: "name", allow: "greet", deny: "admin-prompt", extra: {} },
  { method: "resources/read", key: "uri", allow: "demo://allowed", deny: "demo://secret", extra: {} },
  { method: "resources/subscribe", key: "uri", allow: "demo://allowed", deny: "demo://secret", extra: {} },
];

export function allowedByPolicy(method, subject) {
  switch (method) {
    case "tools/call":
      return subject === "echo";
    case "prompts/get":
      return subject === "greet";
    case "resources/read":
    case "resources/subscribe":
    case "resources/unsubscribe":
      return subject === "demo://allowed";
    default:
      return true;
  }
}

const hex4 = (c, upper) => {
  const h = c.toString(16).padStart(4, "0");
  return upper ? h.toUpperCase() : h;
};

/** A JSON string literal for `s`, each character escaped or not at random (`\/` for slashes). */
function escaped(r, s, p = 0.5) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (c > 0xffff || !r.chance(p)) {
      out += ch === '"' || ch === "\\" ? "\\" + ch : ch;
    } else if (ch === "/" && r.chance(0.5)) {
      out += "\\/";
    } else {
      out += "\\u" + hex4(c, r.chance(0.5));
    }
  }
  return out + '"';
}

const lit = (s) => JSON.stringify(s);

/**
 * A request as text from its parts: each part is [keyText, valueText] already written as JSON
 * text, so keys and values can be escaped, repeated or broken at will.
 */
const obj = (pairs, ws = "") => "{" + ws + pairs.map(([k, v]) => `${k}${ws}:${ws}${v}`).join("," + ws) + ws + "}";

function paramsPairs(t, subjectText, extraText) {
  const pairs = [[lit(t.key), subjectText]];
  for (const [k, v] of Object.entries(t.extra)) pairs.push([lit(k), extraText ?? JSON.stringify(v)]);
  return pairs;
}

function envelope({ id = "1", method, params, extra = [] }) {
  return [[lit("jsonrpc"), lit("2.0")], [lit("id"), id], [lit("method"), method], [lit("params"), params], ...extra];
}

function plain(t, subject, id = "1") {
  return obj(envelope({ id, method: lit(t.method), params: obj(paramsPairs(t, lit(subject))) }));
}

function shuffle(r, xs) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const JSON_CT = "application/json";

// Each category returns { body: string | Buffer, headers?: {}, note }.
const CATEGORIES = {
  escapes(r) {
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const p = r.pick([0.2, 0.5, 1]);
    const key = (k) => (r.chance(0.3) ? escaped(r, k, p) : lit(k));
    const params = obj(
      paramsPairs(t, escaped(r, subject, p)).map(([k, v]) => [k === lit(t.key) ? key(t.key) : k, v]),
    );
    const pairs = [
      [key("jsonrpc"), lit("2.0")],
      [key("id"), "1"],
      [key("method"), escaped(r, t.method, p)],
      [key("params"), params],
    ];
    return { body: obj(shuffle(r, pairs)), note: `${t.method} ${subject} escaped p=${p}` };
  },

  duplicates(r) {
    const t = r.pick(TARGETS);
    const [a, b] = r.chance(0.5) ? [t.allow, t.deny] : [t.deny, t.allow];
    const dupKey = (k) => (r.chance(0.3) ? escaped(r, k, 0.5) : lit(k));
    const where = r.pick(["subject", "params", "method", "id", "jsonrpc", "arguments", "meta", "nested-params"]);
    let body;
    if (where === "subject") {
      const params = obj([[lit(t.key), lit(a)], [dupKey(t.key), lit(b)]]);
      body = obj(envelope({ method: lit(t.method), params }));
    } else if (where === "params") {
      body = obj(
        envelope({
          method: lit(t.method),
          params: obj(paramsPairs(t, lit(a))),
          extra: [[dupKey("params"), obj(paramsPairs(t, lit(b)))]],
        }),
      );
    } else if (where === "method") {
      // The same params under two methods: one governed, one that passes ungoverned.
      const other = r.pick(["ping", "tools/list", "notifications/initialized", TARGETS[r.int(4)].method]);
      const [m1, m2] = r.chance(0.5) ? [t.method, other] : [other, t.method];
      body = obj(envelope({ method: lit(m1), params: obj(paramsPairs(t, lit(a))), extra: [[dupKey("method"), lit(m2)]] }));
    } else if (where === "id") {
      body = obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, lit(a))), extra: [[dupKey("id"), "2"]] }));
    } else if (where === "jsonrpc") {
      body = obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, lit(a))), extra: [[dupKey("jsonrpc"), lit("1.0")]] }));
    } else if (where === "arguments") {
      const params = obj([[lit(t.key), lit(a)], [lit("arguments"), obj([[lit("message"), lit("x")], [dupKey("message"), lit("y")]])]]);
      body = obj(envelope({ method: lit(t.method), params }));
    } else if (where === "meta") {
      const params = obj([[lit(t.key), lit(a)], [lit("_meta"), obj([[lit("progressToken"), "1"], [dupKey("progressToken"), "2"]])]]);
      body = obj(envelope({ method: lit(t.method), params }));
    } else {
      // params inside params: a reader that flattens or recurses might take the inner name.
      const inner = obj([[lit(t.key), lit(b)]]);
      const params = obj([[lit(t.key), lit(a)], [lit("params"), inner]]);
      body = obj(envelope({ method: lit(t.method), params }));
    }
    return { body, note: `${t.method} duplicate ${where} ${a}/${b}` };
  },

  surrogates(r) {
    const t = r.pick(TARGETS);
    const base = r.chance(0.5) ? t.allow : t.deny;
    const forms = [
      ["lone-high", "\\ud800"],
      ["lone-low", "\\udc00"],
      ["pair", "\\ud83d\\ude00"],
      ["reversed-pair", "\\ude00\\ud83d"],
      ["high-then-text", "\\udbff" + "x"],
      ["double-high", "\\ud800\\ud800"],
      ["raw-astral", "\u{1F600}"],
      ["lone-high-upper", "\\uD800"],
    ];
    const [name, s] = r.pick(forms);
    const at = r.int(base.length + 1);
    const text = '"' + base.slice(0, at) + s + base.slice(at) + '"';
    const inKey = r.chance(0.15);
    const params = inKey
      ? obj([[lit(t.key), lit(base)], ['"' + t.key + s + '"', lit(t.deny)]])
      : obj(paramsPairs(t, text));
    return { body: obj(envelope({ method: lit(t.method), params })), note: `${t.method} ${base} ${name}@${inKey ? "key" : at}` };
  },

  utf8(r) {
    const t = r.pick(TARGETS);
    const base = r.chance(0.5) ? t.allow : t.deny;
    const forms = [
      ["overlong-slash", [0xc0, 0xaf]],
      ["overlong-o", [0xc1, 0xaf]],
      ["overlong-3", [0xe0, 0x80, 0xaf]],
      ["overlong-4", [0xf0, 0x80, 0x80, 0xaf]],
      ["continuation", [0x80]],
      ["ff", [0xff]],
      ["fe", [0xfe]],
      ["truncated", [0xe2, 0x82]],
      ["cesu-surrogate", [0xed, 0xa0, 0x80]],
      ["overlong-quote", [0xc0, 0xa2]],
      ["above-max", [0xf4, 0x90, 0x80, 0x80]],
    ];
    const [name, bytes] = r.pick(forms);
    const where = r.pick(["subject", "subject", "method", "key", "between", "arguments"]);
    const mark = "\ue000MARK\ue000";
    let text;
    if (where === "subject") {
      const at = r.int(base.length + 1);
      text = obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, '"' + base.slice(0, at) + mark + base.slice(at) + '"')) }));
    } else if (where === "method") {
      text = obj(envelope({ method: '"' + t.method + mark + '"', params: obj(paramsPairs(t, lit(base))) }));
    } else if (where === "key") {
      text = obj(envelope({ method: lit(t.method), params: obj([[lit(t.key), lit(base)], ['"' + t.key + mark + '"', lit(t.deny)]]) }));
    } else if (where === "between") {
      text = obj(envelope({ method: lit(t.method), params: "{" + mark + lit(t.key) + ":" + lit(base) + "}" }));
    } else {
      text = obj(envelope({ method: lit(t.method), params: obj([[lit(t.key), lit(base)], [lit("_meta"), '{"note":"' + mark + '"}']]) }));
    }
    const [before, after] = text.split(mark);
    const body = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
    return { body, note: `${t.method} ${base} ${name} in ${where}` };
  },

  numbers(r) {
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const id = r.pick([
      "1.0", "1e0", "1E0", "10e-1", "3E6666", "-3E6666", "1e309", "1E-6666", "-0", "-0.0", "0e0",
      "12345678901234567890", "9007199254740993", "1.5", "0.1e1", "100000000000000000000000e-23",
      "1" + "0".repeat(400), "-1",
    ]);
    return { body: plain(t, subject, id), note: `${t.method} ${subject} id=${id.length > 24 ? id.slice(0, 20) + "…" : id}` };
  },

  ids(r) {
    // Shapes that make a request a notification, or no message, to one reader and a request
    // to another: a notification for tools/call must not be acted on either.
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const id = r.pick(["(absent)", "null", "true", "{}", "[]", '"1"', '" 1 "', '"0x1"', '""', '"\\u0031"', '"1_0"']);
    const params = obj(paramsPairs(t, lit(subject)));
    const pairs = envelope({ id, method: lit(t.method), params }).filter(([k]) => !(id === "(absent)" && k === lit("id")));
    return { body: obj(pairs), note: `${t.method} ${subject} id=${id}` };
  },

  modern(r) {
    // The 2026-07-28 revision: the Python SDK reads these with json.loads and its own
    // Mcp-Method/Mcp-Name checks, the TypeScript one refuses the revision. Header values are
    // written every way a reader might decode them.
    const t = r.pick(TARGETS);
    const [a, b] = r.chance(0.5) ? [t.allow, t.deny] : [t.deny, t.allow];
    const meta = obj([
      [lit("io.modelcontextprotocol/protocolVersion"), lit("2026-07-28")],
      [lit("io.modelcontextprotocol/clientCapabilities"), "{}"],
      [lit("io.modelcontextprotocol/clientInfo"), '{"name":"diff","version":"1"}'],
    ]);
    const subjectText = r.chance(0.5) ? escaped(r, a, 0.5) : lit(a);
    const params = obj([...paramsPairs(t, subjectText), [lit("_meta"), meta]]);
    const form = r.pick(["match", "other-name", "both-names", "base64-other", "base64-same", "case", "spaces", "absent", "other-method"]);
    const headerName = {
      match: a,
      "other-name": b,
      "both-names": [a, b],
      "base64-other": `=?base64?${Buffer.from(b).toString("base64")}?=`,
      "base64-same": `=?base64?${Buffer.from(a).toString("base64")}?=`,
      case: a.toUpperCase(),
      spaces: ` ${a} `,
      absent: undefined,
      "other-method": a,
    }[form];
    const headers = {
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": form === "other-method" ? "tools/list" : t.method,
      ...(headerName === undefined ? {} : { "mcp-name": headerName }),
    };
    return { body: obj(envelope({ method: lit(t.method), params })), headers, note: `${t.method} ${a} 2026-07-28 mcp-name ${form}` };
  },

  proto(r) {
    // JavaScript readers: "__proto__" from JSON.parse is an own key, but a copy made with
    // assignment turns it into the prototype, whose members then read as the object's own.
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const key = r.pick([lit("__proto__"), '"__pr\u006fto__"', lit("constructor"), lit("prototype")]);
    const form = r.pick(["params-proto-only", "params-proto-and-own", "envelope-proto-method", "envelope-proto-params", "response-with-proto"]);
    let body;
    if (form === "params-proto-only") {
      body = obj(envelope({ method: lit(t.method), params: obj([[key, obj([[lit(t.key), lit(t.deny)]])]]) }));
    } else if (form === "params-proto-and-own") {
      body = obj(envelope({ method: lit(t.method), params: obj([[lit(t.key), lit(subject)], [key, obj([[lit(t.key), lit(t.deny)]])]]) }));
    } else if (form === "envelope-proto-method") {
      body = obj([[lit("jsonrpc"), lit("2.0")], [lit("id"), "1"], [lit("params"), obj(paramsPairs(t, lit(subject)))], [key, obj([[lit("method"), lit(t.method)]])]]);
    } else if (form === "envelope-proto-params") {
      body = obj([[lit("jsonrpc"), lit("2.0")], [lit("id"), "1"], [lit("method"), lit(t.method)], [key, obj([[lit("params"), obj(paramsPairs(t, lit(t.deny)))]])]]);
    } else {
      body = obj([[lit("jsonrpc"), lit("2.0")], [lit("id"), "1"], [lit("result"), "{}"], [key, obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, lit(t.deny))) }))]]);
    }
    return { body, note: `${t.method} ${subject} ${key} ${form}` };
  },

  mediatypes(r) {
    // The HTTP layer: what the engine takes for UTF-8 JSON must be what each app parses, also
    // when the type is spelled oddly, repeated, absent, or the body arrives in chunks.
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const ct = r.pick([
      "APPLICATION/JSON", "application/json;", "application/json; foo=bar", "application/json;charset=utf-8;charset=utf-8",
      "text/plain", "application/x-www-form-urlencoded", null, "application/vnd.api+json", "application/json\t",
      "application/json, text/plain", "application/jsonx", ["application/json", "application/json; charset=utf-16le"],
      ["text/plain", "application/json"], "application/json; charset=", "application/json; charset=utf-8 ; x=\"a;b\"",
      "application/json", "application/json",
    ]);
    const chunked = r.chance(0.3);
    const headers = ct === null ? { "content-type": undefined } : { "content-type": ct };
    return { body: plain(t, subject), headers, chunked, note: `${t.method} ${subject} content-type ${JSON.stringify(ct)}${chunked ? " chunked" : ""}` };
  },

  types(r) {
    // Subjects and methods of the wrong type: a lax reader might coerce 1 to "1" or take the
    // first element of ["get-env"]. Python's json.loads also reads NaN and Infinity.
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const v = r.pick([
      "1", "true", "null", "[" + lit(subject) + "]", "{" + lit(t.key) + ":" + lit(subject) + "}", "NaN", "Infinity", "-Infinity",
      "[" + lit(t.allow) + "," + lit(t.deny) + "]",
    ]);
    const where = r.pick(["subject", "method", "id", "arguments"]);
    let body;
    if (where === "subject") body = obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, v)) }));
    else if (where === "method") body = obj(envelope({ method: v.replace(lit(subject), lit(t.method)), params: obj(paramsPairs(t, lit(subject))) }));
    else if (where === "id") body = plain(t, subject, v);
    else body = obj(envelope({ method: lit(t.method), params: obj([[lit(t.key), lit(subject)], [lit("arguments"), "{" + lit("x") + ":" + v + "}"]]) }));
    return { body, note: `${t.method} ${subject} ${where}=${v}` };
  },

  whitespace(r) {
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const form = r.pick([
      "bom-start", "bom-start-twice", "bom-between", "feff-in-subject-raw", "feff-in-subject-escaped",
      "json-ws", "vtab", "formfeed", "nbsp", "line-separator", "ideographic-space", "bom-end",
    ]);
    const ws = { "json-ws": r.pick([" ", "\t", "\r\n", "\n \t"]), vtab: "\v", formfeed: "\f", nbsp: "\u00a0", "line-separator": "\u2028", "ideographic-space": "\u3000" };
    const at = r.int(subject.length + 1);
    let body;
    switch (form) {
      case "bom-start":
        body = "\ufeff" + plain(t, subject);
        break;
      case "bom-start-twice":
        body = "\ufeff\ufeff" + plain(t, subject);
        break;
      case "bom-end":
        body = plain(t, subject) + "\ufeff";
        break;
      case "bom-between":
        body = obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, lit(subject))) }), "\ufeff");
        break;
      case "feff-in-subject-raw":
        body = plain(t, subject.slice(0, at) + "\ufeff" + subject.slice(at));
        break;
      case "feff-in-subject-escaped":
        body = obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, '"' + subject.slice(0, at) + "\\ufeff" + subject.slice(at) + '"')) }));
        break;
      default:
        body = obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, lit(subject))) }), ws[form]);
    }
    return { body, note: `${t.method} ${subject} ${form}` };
  },

  control(r) {
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const form = r.pick([
      ["raw-nul", "\u0000"], ["esc-nul", "\\u0000"], ["esc-1f", "\\u001f"], ["raw-tab", "\t"],
      ["esc-tab", "\\t"], ["esc-newline", "\\n"], ["raw-del", "\u007f"], ["esc-85", "\\u0085"],
      ["esc-2028", "\\u2028"], ["raw-1b", "\u001b"], ["esc-nul-then-deny", "\\u0000" + t.deny],
    ]);
    const where = r.pick(["subject-end", "subject-start", "method", "trailing"]);
    let body;
    if (where === "method") {
      body = obj(envelope({ method: '"' + t.method + form[1] + '"', params: obj(paramsPairs(t, lit(subject))) }));
    } else if (where === "trailing") {
      body = plain(t, subject) + (form[1].startsWith("\\") ? "\u0000" : form[1]);
    } else {
      const s = where === "subject-end" ? subject + form[1] : form[1] + subject;
      body = obj(envelope({ method: lit(t.method), params: obj(paramsPairs(t, '"' + s + '"')) }));
    }
    return { body, note: `${t.method} ${subject} ${form[0]} ${where}` };
  },

  charsets(r) {
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const text = plain(t, subject);
    const [label, enc, bom] = r.pick([
      ["utf-16le", "utf-16le", false], ["utf-16le", "utf-16le", true], ["utf-16be", "utf-16be", false],
      ["utf-16", "utf-16le", true], ["UTF-16LE", "utf-16le", false], ["latin1", "latin1", false],
      ["iso-8859-1", "latin1", false], ["utf-7", "utf7", false], ["UTF-7", "utf7", false],
      ["us-ascii", "latin1", false], ["utf-32le", null, false], ["utf-8", "utf8", false], ['"utf-8"', "utf8", false],
      ["utf8", "utf8", false], ["UTF-8", "utf8", false], ["cp1252", "latin1", false],
    ]);
    let body;
    if (enc === null) {
      // iconv-lite has no UTF-32 encoder; each code unit as four little-endian bytes.
      body = Buffer.alloc(text.length * 4);
      for (let i = 0; i < text.length; i++) body.writeUInt32LE(text.charCodeAt(i), i * 4);
    } else if (enc === "utf7") {
      // Plain ASCII survives UTF-7 unchanged; spell the subject's letters as shifted base64 so
      // only a UTF-7 reader sees the real name.
      const spelled = "+" + Buffer.from(subject, "utf16le").swap16().toString("base64").replace(/=+$/, "") + "-";
      body = Buffer.from(text.replace(lit(subject), `"${spelled}"`));
    } else {
      body = iconv.encode(text, enc, { addBOM: bom });
    }
    const sep = r.pick(["; ", ";", " ; "]);
    const contentType = r.chance(0.1) ? `${JSON_CT}${sep}charset=utf-8${sep}charset=${label}` : `${JSON_CT}${sep}charset=${label}`;
    return { body, headers: { "content-type": contentType }, note: `${t.method} ${subject} ${contentType}${bom ? " +BOM" : ""}` };
  },

  encodings(r) {
    const t = r.pick(TARGETS);
    const subject = r.chance(0.5) ? t.allow : t.deny;
    const text = Buffer.from(plain(t, subject));
    const [label, fn] = r.pick([
      ["gzip", gzipSync], ["GZIP", gzipSync], ["deflate", deflateSync], ["br", brotliCompressSync],
      ["identity", (b) => b], ["gzip, identity", gzipSync], [" gzip", gzipSync], ["x-gzip", gzipSync],
    ]);
    return { body: fn(text), headers: { "content-encoding": label }, note: `${t.method} ${subject} content-encoding ${label}` };
  },

  trailing(r) {
    const t = r.pick(TARGETS);
    const a = r.chance(0.5) ? t.allow : t.deny;
    const second = plain(t, t.deny, "2");
    const form = r.pick([
      ["second-object", second], ["newline-second", "\n" + second], ["comma-second", "," + second],
      ["garbage", "xyz"], ["close-bracket", "]"], ["close-brace", "}"], ["nul", "\u0000"], ["comment", "//c"],
      ["spaces", "   \n"],
    ]);
    return { body: plain(t, a) + form[1], note: `${t.method} ${a} trailing ${form[0]}` };
  },

  batches(r) {
    const n = r.int(4);
    const parts = [];
    const notes = [];
    for (let i = 0; i < n; i++) {
      const t = r.pick(TARGETS);
      const s = r.chance(0.6) ? t.allow : t.deny;
      parts.push(plain(t, s, String(i + 1)));
      notes.push(s);
    }
    const nested = r.chance(0.15);
    const body = nested ? "[[" + parts.join(",") + "]]" : "[" + parts.join(",") + "]";
    const version = r.pick([null, "2025-03-26", "2025-06-18", "2025-11-25"]);
    return {
      body,
      headers: version ? { "mcp-protocol-version": version } : {},
      note: `batch[${notes.join(",")}]${nested ? " nested" : ""} version=${version ?? "none"}`,
    };
  },
};

export const CATEGORY_NAMES = Object.keys(CATEGORIES);

/** `count` inputs for `seed`, spread evenly over the categories in a seeded order. */
export function generate(seed, count) {
  const r = prng(seed);
  const inputs = [];
  for (let i = 0; i < count; i++) {
    const category = CATEGORY_NAMES[i % CATEGORY_NAMES.length];
    const g = CATEGORIES[category](r);
    const body = Buffer.isBuffer(g.body) ? g.body : Buffer.from(g.body, "utf8");
    const headers = { "content-type": JSON_CT, ...(g.headers ?? {}) };
    if (headers["content-type"] === undefined) delete headers["content-type"];
    inputs.push({ index: i, category, note: g.note, body, headers, chunked: g.chunked ?? false });
  }
  return inputs;
}
