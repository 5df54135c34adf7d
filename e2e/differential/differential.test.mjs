// Differential tests: the engine's view of a client request against what real backends act on.
//
// A seeded generator (generate.mjs) writes a few thousand tricky encodings of MCP requests.
// Each is sent through the gateway (policy.json: one tool, one prompt, one resource) to two
// real backends, the TypeScript SDK's Express app (js-backend.mjs) and the Python SDK's
// Streamable HTTP app under uvicorn (python-backend.py), and directly to each of them, and is
// also handed to the bare parsers (JSON.parse, json.loads, pydantic_core.from_json). The
// property (ARCHITECTURE.md §2.2, invariant 1): whatever a backend acted on through the gateway
// is what the engine judged, and is allowed. The direct runs are the control: the same check
// must catch the backends acting on forbidden subjects when nothing stands in front of them.
//
//   DIFF_SEED=<n> (default 20261207) replays a run; DIFF_SEED=random picks one (printed).
//   DIFF_COUNT=<n> (default 3000) inputs; DIFF_DUMP=<file> keeps everything observed.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort, kill, ROOT, startGateway } from "../gateway/harness.mjs";
import { describe } from "./describe.mjs";
import { allowedByPolicy, CATEGORY_NAMES, generate } from "./generate.mjs";

const HERE = join(ROOT, "e2e/differential");
const PYTHON = join(ROOT, "e2e/python/.venv/bin/python");
const SEED =
  process.env.DIFF_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.DIFF_SEED ?? 20261207);
const COUNT = Number(process.env.DIFF_COUNT ?? 3000);
console.log(`# differential: DIFF_SEED=${SEED} DIFF_COUNT=${COUNT}`);

const GOVERNED = new Set(["tools/call", "prompts/get", "resources/read", "resources/subscribe", "resources/unsubscribe"]);
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/**
 * One raw POST, body and headers exactly as given. A kept-alive socket the server closed in the
 * meantime fails before anything was sent; that request is sent again on a new one.
 */
function send(url, input, tag, retried = false) {
  return new Promise((ok) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: "POST",
        agent: retried ? false : agent,
        headers: { ...input.headers, accept: "application/json, text/event-stream", "x-diff-case": tag },
        timeout: 15000,
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => ok({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
        res.on("error", (e) => ok({ status: 0, text: String(e) }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => {
      // A kept-alive socket the server closed as it was reused ends without any answer (Node
      // does not always mark it reusedSocket when the close races the write): nothing was
      // read, so the request is sent once more on a fresh connection.
      if (e.code === "ECONNRESET" && !retried) ok(send(url, input, tag, true));
      else ok({ status: 0, text: String(e) });
    });
    if (input.chunked && input.body.length > 1) {
      // Written in two parts without a length: Transfer-Encoding: chunked.
      const cut = Math.floor(input.body.length / 2);
      req.write(input.body.subarray(0, cut));
      req.end(input.body.subarray(cut));
    } else {
      req.end(input.body);
    }
  });
}

async function waitReady(url) {
  const end = Date.now() + 30000;
  while (Date.now() < end) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
}

async function startBackend(name) {
  const port = await freePort();
  const child =
    name === "js"
      ? spawn(process.execPath, [join(HERE, "js-backend.mjs"), String(port)], { stdio: ["ignore", "pipe", "inherit"] })
      : spawn(PYTHON, [join(HERE, "python-backend.py"), "serve", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.resume();
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/__acted`);
  return { name, base, url: `${base}/mcp`, child };
}

const inputs = generate(SEED, COUNT);
const state = { backends: [], gateway: null, results: {} };

/** Inputs printed so that a failure can be replayed by hand. */
function show(input) {
  const body = input.body.toString("utf8");
  const printable = Buffer.from(body, "utf8").equals(input.body) ? JSON.stringify(body) : `base64:${input.body.toString("base64")}`;
  return `#${input.index} [${input.category}] ${input.note}\n      headers ${JSON.stringify(input.headers)}\n      body ${printable}`;
}

before(async () => {
  const [js, py] = await Promise.all([startBackend("js"), startBackend("py")]);
  state.backends = [js, py];
  // DIFF_POLICY swaps the gateway's policy while the oracle stays policy.json: a wider policy
  // (examples/policy.json) must make the first test fail, which shows it can.
  const policy = process.env.DIFF_POLICY ? join(ROOT, process.env.DIFF_POLICY) : join(HERE, "policy.json");
  state.gateway = await startGateway(state.backends.map((b) => ({ name: b.name, path: `/${b.name}`, url: b.url, policy })));

  // The gateway writes one JSON line per exchange when its response ends; each API is driven
  // one request at a time, so its n-th line belongs to its n-th request.
  const parsedLogs = { cursor: 0, byApi: {} };
  const lines = (api) => {
    const all = state.gateway.logs;
    for (; parsedLogs.cursor < all.length; parsedLogs.cursor++) {
      let l = null;
      try {
        l = JSON.parse(all[parsedLogs.cursor]);
      } catch {
        /* not a log line */
      }
      if (l?.api) (parsedLogs.byApi[l.api] ??= []).push(l);
    }
    return parsedLogs.byApi[api] ?? [];
  };
  const viaGateway = async (b) => {
    const out = [];
    for (const input of inputs) {
      const res = await send(`${state.gateway.base}/${b.name}`, input, `g${input.index}`);
      const end = Date.now() + 3000;
      let log = lines(b.name);
      while (log.length <= input.index && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 1));
        log = lines(b.name);
      }
      assert.equal(log.length, input.index + 1, `no log line for ${show(input)}`);
      out.push({ res, log: log[input.index] });
    }
    return out;
  };
  const direct = async (b) => {
    const out = new Array(inputs.length);
    let next = 0;
    const worker = async () => {
      while (next < inputs.length) {
        const input = inputs[next++];
        out[input.index] = { res: await send(b.url, input, `d${input.index}`) };
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    return out;
  };
  const runs = await Promise.all(state.backends.flatMap((b) => [viaGateway(b), direct(b)]));
  for (const [i, b] of state.backends.entries()) {
    const record = await (await fetch(`${b.base}/__acted`)).json();
    state.results[b.name] = {
      gateway: runs[2 * i],
      direct: runs[2 * i + 1],
      acted: b.name === "js" ? record.acted : record,
      parsed: b.name === "js" ? record.parsed : {},
    };
  }
});

after(async () => {
  if (process.env.DIFF_DUMP) {
    // Everything observed, for reading a run afterwards (bodies as base64).
    const rows = inputs.map((input) => ({
      index: input.index,
      category: input.category,
      note: input.note,
      headers: input.headers,
      body: input.body.toString("base64"),
      ...Object.fromEntries(
        Object.entries(state.results).map(([name, r]) => [
          name,
          {
            gateway: { status: r.gateway[input.index]?.res.status, log: r.gateway[input.index]?.log },
            direct: { status: r.direct[input.index]?.res.status, text: r.direct[input.index]?.res.text.slice(0, 200) },
            actedViaGateway: r.acted[`g${input.index}`] ?? [],
            actedDirect: r.acted[`d${input.index}`] ?? [],
            parsedDirect: r.parsed[`d${input.index}`],
          },
        ]),
      ),
    }));
    writeFileSync(process.env.DIFF_DUMP, JSON.stringify(rows, null, 1));
  }

  agent.destroy();
  await Promise.all([state.gateway?.stop(), ...state.backends.map((b) => kill(b.child))]);
});

/**
 * What a backend acted on that breaks the property: a forbidden subject, or, through the
 * gateway, anything the engine did not let through as exactly that method and subject.
 * `judged` is the gateway's log line, or undefined for the direct runs (no engine there).
 */
function violations(input, acted, judged, forwarded) {
  const out = [];
  const isBatch = input.body.includes(0x5b) && /^\s*\[/.test(input.body.toString("latin1").replace(/^\ufeff/, ""));
  for (const a of acted ?? []) {
    if (!allowedByPolicy(a.method, a.subject)) out.push(`acted on forbidden ${a.method} ${JSON.stringify(a.subject)}`);
    if (judged === undefined) continue;
    if (!forwarded) out.push(`acted although the engine answered (${judged.decision}, ${judged.status})`);
    if (!isBatch && GOVERNED.has(a.method) && (a.method !== judged.method || a.subject !== judged.subject))
      out.push(`acted on ${a.method} ${JSON.stringify(a.subject)}; engine judged ${judged.method} ${JSON.stringify(judged.subject)}`);
  }
  return out;
}

const forwardedBy = (log) => log.decision === "allow";

test("through the gateway, every backend acts only on what the engine judged, and only if allowed", () => {
  const failures = [];
  const counts = {};
  for (const b of state.backends) {
    const r = state.results[b.name];
    for (const input of inputs) {
      const { log } = r.gateway[input.index];
      const acted = r.acted[`g${input.index}`];
      const c = (counts[`${b.name} ${input.category}`] ??= { inputs: 0, forwarded: 0, acted: 0 });
      c.inputs++;
      if (forwardedBy(log)) c.forwarded++;
      if (acted?.length) c.acted++;
      for (const v of violations(input, acted, log, forwardedBy(log))) failures.push(`${b.name}: ${v}\n    ${show(input)}`);
      // A request that got no HTTP answer at all tells nothing about what was acted on.
      for (const [path, res] of [["gateway", r.gateway[input.index].res], ["direct", r.direct[input.index].res]])
        if (res.status === 0) failures.push(`${b.name} ${path}: no answer (${res.text})\n    ${show(input)}`);
    }
  }
  console.log("# through the gateway (backend category: inputs / forwarded / acted on):");
  for (const [k, c] of Object.entries(counts)) console.log(`#   ${k}: ${c.inputs} / ${c.forwarded} / ${c.acted}`);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} violations (DIFF_SEED=${SEED})`);
});

test("control: without the gateway the same check catches the backends acting on forbidden subjects", () => {
  const byCategory = {};
  for (const b of state.backends) {
    const r = state.results[b.name];
    for (const input of inputs) {
      if (violations(input, r.acted[`d${input.index}`], undefined, true).length) {
        (byCategory[b.name] ??= {})[input.category] = ((byCategory[b.name] ?? {})[input.category] ?? 0) + 1;
      }
    }
  }
  console.log(`# direct to the backends, inputs acted on although forbidden: ${JSON.stringify(byCategory)}`);
  // The tricks are real: each backend acts on forbidden subjects hidden in escapes and
  // duplicate keys, and the JavaScript one also behind declared charsets and Content-Encoding
  // (express.json() decodes both), so a gateway that let these through would fail the test above.
  for (const cat of ["escapes", "duplicates", "numbers", "whitespace", "batches"]) assert.ok(byCategory.js?.[cat] > 0, `js ${cat}`);
  for (const cat of ["charsets", "encodings"]) assert.ok(byCategory.js?.[cat] > 0, `js ${cat}`);
  for (const cat of ["escapes", "duplicates", "whitespace"]) assert.ok(byCategory.py?.[cat] > 0, `py ${cat}`);
});

test("the parsers: where JSON.parse, express.json(), json.loads or pydantic read another request than the engine judged, the engine refused", () => {
  const file = join(state.gateway.dir, "bodies.jsonl");
  writeFileSync(file, inputs.map((i) => JSON.stringify({ b64: i.body.toString("base64") })).join("\n") + "\n");
  const py = spawnSync(PYTHON, [join(HERE, "python-backend.py"), "parse", file], { maxBuffer: 1 << 28, encoding: "utf8" });
  assert.equal(py.status, 0, py.stderr);
  const pyViews = JSON.parse(py.stdout);
  // JSON.parse(buffer.toString()): bad bytes become U+FFFD, a BOM stays (and is refused).
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const failures = [];
  const table = {};
  // The engine's decision does not depend on the backend behind it: either API's log will do.
  const judgedOf = (i) => state.results.js.gateway[i].log;
  for (const input of inputs) {
    const judged = judgedOf(input.index);
    // express.json() as the TypeScript SDK's app runs it, declared charset and encoding honoured
    // (recorded by js-backend.mjs for the direct request).
    const views = { ...pyViews[input.index], express: state.results.js.parsed[`d${input.index}`] ?? { ok: false } };
    try {
      views.json_parse = { ok: true, ...describe(JSON.parse(decoder.decode(input.body))) };
    } catch (e) {
      views.json_parse = { ok: false, error: e.name };
    }
    const row = (table[input.category] ??= { inputs: 0, engine: 0 });
    row.inputs++;
    if (forwardedBy(judged)) row.engine++;
    for (const [parser, v] of Object.entries(views)) {
      if (v.ok) row[parser] = (row[parser] ?? 0) + 1;
      if (!v.ok || !forwardedBy(judged)) continue;
      // A forwarded body: every parser that reads it must read the request the engine judged
      // (content-type and encoding tricks never get here: the engine refuses them).
      const seen = v.batch ? v.batch : [v];
      for (const m of seen) {
        if (!GOVERNED.has(m.method)) continue;
        if (!allowedByPolicy(m.method, m.subject))
          failures.push(`${parser} reads forbidden ${m.method} ${JSON.stringify(m.subject)}\n    ${show(input)}`);
        else if (!v.batch && (m.method !== judged.method || m.subject !== judged.subject))
          failures.push(`${parser} reads ${m.method} ${JSON.stringify(m.subject)}; engine judged ${judged.method} ${JSON.stringify(judged.subject)}\n    ${show(input)}`);
      }
    }
  }
  console.log("# parsers (category: inputs / engine forwarded / JSON.parse, express.json(), json.loads, pydantic read):");
  for (const [k, r] of Object.entries(table))
    console.log(`#   ${k}: ${r.inputs} / ${r.engine} / ${r.json_parse ?? 0}, ${r.express ?? 0}, ${r.json_loads ?? 0}, ${r.pydantic ?? 0}`);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} disagreements (DIFF_SEED=${SEED})`);
});

test("an id beyond a double (3E6666): neither SDK runs the request, so the engine refuses it", async () => {
  const acted = async (b) => (await (await fetch(`${b.base}/__acted`)).json());
  for (const id of ["3E6666", "-3E6666", "1e309"]) {
    // The allowed tool: a refusal here is about the id, not the name.
    const input = {
      body: Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{}}}`),
      headers: { "content-type": "application/json" },
    };
    const [js, py] = state.backends;
    const direct = { js: await send(js.url, input, `inf-d`), py: await send(py.url, input, `inf-d`) };
    assert.equal(direct.js.status, 400, `TypeScript SDK: ${direct.js.text}`);
    assert.equal(direct.py.status, 202, `Python SDK takes it for a notification: ${direct.py.text}`);
    for (const b of state.backends) {
      const before = state.gateway.logs.length;
      const res = await send(`${state.gateway.base}/${b.name}`, input, `inf-g`);
      // The engine's own answer, not the backend's 400 passed on: the log says who answered.
      const end = Date.now() + 3000;
      while (state.gateway.logs.length === before && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      const log = JSON.parse(state.gateway.logs.at(-1));
      assert.equal(log.decision, "invalid", JSON.stringify(log));
      assert.equal(res.status, 400, res.text);
    }
    const record = { js: (await acted(js)).acted, py: await acted(py) };
    assert.deepEqual(record, { js: {}, py: {} }, `id ${id}: nothing may have run`);
  }
});

// Where the readers part ways, measured on this run's inputs sent directly to each backend, with
// what the engine made of the same input. Each row is why a rule of the engine exists (or, for
// the last ones, why it may judge a request that some backend would not run at all).
const DIFFERENCES = [
  // [what, category, note pattern, engine decision, JS acts?, Python acts?]
  ["a repeated name: both SDKs take the last one", "duplicates", /duplicate subject /, "invalid", true, true],
  ["charset=utf-16le: express.json() decodes it", "charsets", /application\/json ?; ?charset=utf-16le( \+BOM)?$/, "invalid", true, false],
  ["Content-Encoding gzip/deflate/br: express.json() inflates it", "encodings", /content-encoding (gzip|deflate|br)$/, "invalid", true, false],
  ["a lone surrogate in a name: JSON.parse keeps it, pydantic refuses", "surrogates", /lone-(high|low)@\d/, "invalid", true, false],
  ["a UTF-8 BOM before the body: express.json() strips it", "whitespace", /bom-start$/, "invalid", true, false],
  ["an overlong or invalid UTF-8 sequence: express.json() reads U+FFFD", "utf8", /(overlong-o|ff|fe|continuation) in subject/, "invalid", true, false],
  // (prompts/get is left out: its arguments must be strings, so pydantic refuses NaN there.)
  ["NaN in arguments: pydantic reads it", "types", /^(tools\/call|resources\/\S+) \S+ arguments=NaN$/, "invalid", false, true],
  ["Content-Type 'application/json, text/plain': the Python SDK takes it", "mediatypes", /"application\/json, text\/plain"/, "invalid", false, true],
  ["a second JSON value after the first: nobody reads it", "trailing", /second-object$/, "invalid", false, false],
  ["id 3E6666: neither SDK runs it", "numbers", /id=-?3E6666$/, "invalid", false, false],
  ["id 1.0: the TypeScript SDK runs it as id 1, the Python one takes it for a notification", "numbers", /(echo|greet|demo:\/\/allowed) id=1\.0$/, "allow", true, false],
  ["a batch: the TypeScript SDK runs each message, the Python one none", "batches", /^batch\[(echo|greet|demo:\/\/allowed)(,(echo|greet|demo:\/\/allowed))*\] version=(2025-03-26|none)$/, "allow", true, false],
];

test("the differences between the readers that the engine's rules answer", (t) => {
  if (COUNT < 1000) return t.skip("needs DIFF_COUNT >= 1000 to see every difference");
  const failures = [];
  for (const [what, category, pattern, decision, jsActs, pyActs] of DIFFERENCES) {
    const matching = inputs.filter((i) => i.category === category && pattern.test(i.note));
    if (matching.length === 0) failures.push(`${what}: no input of this kind (DIFF_SEED=${SEED})`);
    for (const input of matching) {
      const engine = state.results.js.gateway[input.index].log.decision;
      const acts = (b) => (state.results[b].acted[`d${input.index}`] ?? []).length > 0;
      if (engine !== decision || acts("js") !== jsActs || acts("py") !== pyActs)
        failures.push(`${what}: engine ${engine}, JS acted ${acts("js")}, Python acted ${acts("py")}\n    ${show(input)}`);
    }
  }
  assert.deepEqual(failures.slice(0, 20), []);
});

test("every category was generated and exercised", () => {
  const seen = new Set(inputs.map((i) => i.category));
  assert.deepEqual([...seen].sort(), [...CATEGORY_NAMES].sort());
  assert.ok(inputs.length >= CATEGORY_NAMES.length);
});
