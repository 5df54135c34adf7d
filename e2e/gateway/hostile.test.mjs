// End-to-end: a hostile MCP server (hostile-server.mjs) behind the gateway with
// examples/policy.json (which hides `get-env`), driven by the real TypeScript SDK client.
// Each trick is run twice: straight against the hostile server, where the client must end up
// with `get-env` (so the trick is real: the client reads it the way the server meant), and
// through the gateway, where it must not (the list arrives filtered, or the call fails).
//   MCP_POLICY_BIN=target/debug/mcp-policy node --test e2e/gateway/
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { deflateSync } from "node:zlib";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { HEADERS, POLICY, startGateway } from "./harness.mjs";
import { ID_FORMS, TRICKS, startHostile } from "./hostile-server.mjs";

// No reconnection: a POST stream that ends after a priming event would otherwise make the
// client retry in the background after the test has its answer.
const NO_RETRY = { maxRetries: 0, initialReconnectionDelay: 10, maxReconnectionDelay: 10, reconnectionDelayGrowFactor: 1 };
// Each test is bounded well under 10 s: a request that is never answered fails after this.
const REQUEST_MS = 3000;
const TEST = { timeout: 9000 };

// The id forms the TypeScript SDK reads as the request's id (the others are for the Python
// client, see e2e/python/test_hostile.py).
const TS_ID_FORMS = Object.keys(ID_FORMS).filter((f) => Number(JSON.parse(ID_FORMS[f](1))) === 1);

// One hostile server per trick behind one gateway, each on its own path (`/` + trick); direct
// runs use a fresh hostile server of their own.
const behind = {};
let gw;

before(async () => {
  for (const t of [...TRICKS, "client-side"]) behind[t] = await startHostile(t === "client-side" ? "honest" : t);
  gw = await startGateway(
    Object.entries(behind).map(([t, h]) => ({ name: t, path: `/${t.replace(":", "-")}`, url: h.url, policy: POLICY })),
  );
});

after(async () => {
  await gw?.stop();
  for (const h of Object.values(behind)) await h.stop();
});

const gatewayUrl = (trick) => `${gw.base}/${trick.replace(":", "-")}`;

/** What the gateway said about API `trick`: its exchange log lines and its stderr. */
function gatewayLog(trick) {
  const lines = gw.logs.filter((l) => l.includes(`"api":${JSON.stringify(trick)}`));
  return `gateway log for ${trick}:\n${lines.join("\n")}\ngateway stderr:\n${gw.errors.join("")}`;
}

async function connect(url) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { reconnectionOptions: NO_RETRY });
  const client = new Client({ name: "e2e-hostile", version: "1.0.0" }, { capabilities: {} });
  const errors = [];
  client.onerror = (e) => errors.push(String(e));
  await client.connect(transport, { timeout: REQUEST_MS });
  const close = async () => {
    await transport.terminateSession().catch(() => {});
    await client.close();
  };
  return { client, transport, errors, close };
}

/** Connects to `url` and lists tools: { names } or { error }, with the client's errors. */
async function listTools(url) {
  const c = await connect(url);
  try {
    return await c.client.listTools(undefined, { timeout: REQUEST_MS }).then(
      (r) => ({ names: r.tools.map((t) => t.name), errors: c.errors }),
      (error) => ({ error, errors: c.errors }),
    );
  } finally {
    await c.close();
  }
}

/** Runs `trick` against a fresh hostile server directly: the client must see get-env. */
async function direct(trick) {
  const h = await startHostile(trick);
  try {
    const got = await listTools(h.url);
    return { got, hostile: h };
  } finally {
    await h.stop();
  }
}

function assertLeaks(got, trick) {
  assert.ok(got.names, `directly, ${trick} answers tools/list: ${got.error} ${got.errors}`);
  assert.deepEqual(got.names, ["echo", "get-env"], `directly, the client reads get-env (${trick} is real)`);
}

function assertFiltered(got, trick) {
  assert.ok(got.names, `through the gateway, ${trick}: tools/list failed (${got.error}) instead of arriving filtered\n${gatewayLog(trick)}`);
  assert.deepEqual(got.names, ["echo"], `through the gateway, ${trick}: only echo\n${gatewayLog(trick)}`);
}

/** The call fails with the gateway's 502 (a JSON-RPC -32603 naming what it cannot judge). */
function assertRefused(got, trick, why) {
  assert.ok(!got.names, `through the gateway, ${trick} must fail; the client got ${got.names}\n${gatewayLog(trick)}`);
  assert.equal(got.error.code, 502, String(got.error));
  assert.match(got.error.message, /-32603/);
  assert.match(got.error.message, why);
  assert.doesNotMatch(got.error.message, /get-env/);
}

describe("hostile server: what the TypeScript SDK client ends up with", () => {
  test("control: an honest JSON answer is filtered", TEST, async () => {
    assertLeaks((await direct("honest")).got, "honest");
    assertFiltered(await listTools(gatewayUrl("honest")), "honest");
  });

  test("1. the tools/list answer sent on the GET stream (the POST stream primed, then closed)", TEST, async () => {
    const d = await direct("get-stream");
    assertLeaks(d.got, "get-stream");
    assert.deepEqual(d.hostile.answers.map((a) => a.via), ["get"]);
    const before = behind["get-stream"].answers.length;
    assertFiltered(await listTools(gatewayUrl("get-stream")), "get-stream");
    assert.deepEqual(behind["get-stream"].answers.slice(before).map((a) => a.via), ["get"], "the answer went on the GET stream");
  });

  test("2. the tools/list answer sent on initialize's still-open SSE stream", TEST, async () => {
    const d = await direct("init-stream");
    assertLeaks(d.got, "init-stream");
    assert.deepEqual(d.hostile.answers.map((a) => a.via), ["initialize"]);
    const before = behind["init-stream"].answers.length;
    assertFiltered(await listTools(gatewayUrl("init-stream")), "init-stream");
    assert.deepEqual(behind["init-stream"].answers.slice(before).map((a) => a.via), ["initialize"]);
  });

  describe("3. the answer's id written differently, read as the same by Number()", () => {
    for (const form of TS_ID_FORMS) {
      const trick = `id:${form}`;
      test(`${form}: ${ID_FORMS[form](1)} for 1`, TEST, async () => {
        assertLeaks((await direct(trick)).got, trick);
        assertFiltered(await listTools(gatewayUrl(trick)), trick);
      });
    }
  });

  test("4. (Python proves it) charset=utf-7: the TS client reads UTF-8 anyway; the gateway refuses", TEST, async () => {
    // fetch's TextDecoderStream ignores the charset, so directly this client sees the UTF-7
    // bytes literally, not get-env; e2e/python/test_hostile.py shows a client that decodes them.
    const d = await direct("utf7");
    assert.deepEqual(d.got.names, ["echo", "+AGcAZQB0AC0AZQBuAHY-"]);
    assertRefused(await listTools(gatewayUrl("utf7")), "utf7", /charset=utf-7/);
  });

  test("5. Content-Encoding: deflate: fetch inflates it directly; the gateway refuses", TEST, async () => {
    assertLeaks((await direct("deflate")).got, "deflate");
    assertRefused(await listTools(gatewayUrl("deflate")), "deflate", /Content-Encoding `deflate`/);
  });

  test("6. Content-Type: \\u00a0text/event-stream: the SDK trims it; the gateway refuses", TEST, async () => {
    assertLeaks((await direct("nbsp-type")).got, "nbsp-type");
    assertRefused(await listTools(gatewayUrl("nbsp-type")), "nbsp-type", /not a media type/);
  });

  describe("bodies another parser would read differently from the client", () => {
    for (const [trick, refused] of [
      ["escaped-name"],
      ["duplicate-name"],
      ["duplicate-result", /duplicate key `result`/],
      ["duplicate-id", /duplicate key `id`/],
      ["batch-answer"],
      ["bom-json", /unexpected byte 0xef/],
      ["multiline-data"],
      ["cr-lines"],
    ]) {
      test(`${trick}: ${refused ? "refused" : "filtered"}`, TEST, async () => {
        assertLeaks((await direct(trick)).got, trick);
        const got = await listTools(gatewayUrl(trick));
        if (refused) assertRefused(got, trick, refused);
        else assertFiltered(got, trick);
      });
    }
  });
});

describe("7. the client side: a body the gateway cannot judge as the server would read it", () => {
  const call = (name, message) =>
    JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name, arguments: { message } } });
  // The same request in each: echo, and get-env spelled in UTF-7 (a server decoding the
  // declared charset would run get-env; a UTF-8 reader sees an unknown tool "+AGc...-").
  const bodies = [call("echo", "hi"), call("+AGcAZQB0AC0AZQBuAHY-", "hi")];

  async function postRaw(url, c, headers, body) {
    return fetch(url, {
      method: "POST",
      headers: {
        ...HEADERS,
        "mcp-session-id": c.transport.sessionId,
        "mcp-protocol-version": c.transport.protocolVersion,
        ...headers,
      },
      body,
      signal: AbortSignal.timeout(REQUEST_MS),
    });
  }

  for (const [label, headers, encode, why] of [
    ["Content-Type: application/json; charset=utf-7", { "content-type": "application/json; charset=utf-7" }, (b) => b, /charset=utf-7/],
    // The body is judged as the bytes it is, so a compressed one cannot be judged at all.
    ["Content-Encoding: deflate", { "content-encoding": "deflate" }, (b) => deflateSync(Buffer.from(b)), /Content-Encoding `deflate`/],
  ]) {
    test(`${label}: 415, never reaches the server`, TEST, async () => {
      // Directly, the server takes it: nothing on the way refuses such a request by itself.
      const h = await startHostile("honest");
      try {
        const c = await connect(h.url);
        try {
          const r = await postRaw(h.url, c, headers, encode(bodies[0]));
          assert.equal(r.status, 200);
          await r.body?.cancel();
          assert.ok(h.seen.some((s) => s.rpc === "tools/call"), "directly, the server received the call");
        } finally {
          await c.close();
        }
      } finally {
        await h.stop();
      }

      const backend = behind["client-side"];
      const c = await connect(gatewayUrl("client-side"));
      try {
        for (const body of bodies) {
          const r = await postRaw(gatewayUrl("client-side"), c, headers, encode(body));
          const text = await r.text();
          assert.equal(r.status, 415, `${body}: ${text}\n${gatewayLog("client-side")}`);
          // A JSON-RPC error; its id is null: the gateway does not read a body it cannot judge.
          const err = JSON.parse(text);
          assert.equal(err.jsonrpc, "2.0", text);
          assert.equal(err.error.code, -32600, text);
          assert.match(err.error.message, why, text);
        }
        // The session still works, and the refused calls never reached the server.
        const echo = await c.client.callTool({ name: "echo", arguments: { message: "ok" } }, undefined, { timeout: REQUEST_MS });
        assert.equal(echo.content[0].text, "Echo: ok");
        const calls = backend.seen.filter((s) => s.rpc === "tools/call");
        assert.deepEqual(
          calls.map((s) => s.contentType),
          calls.map(() => "application/json"),
          `only the SDK's own call reached the server: ${JSON.stringify(calls.map((s) => s.body))}`,
        );
        assert.ok(calls.every((s) => s.headers["content-encoding"] === undefined));
      } finally {
        await c.close();
      }
    });
  }
});
