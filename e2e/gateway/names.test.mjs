// End-to-end: paths to a name beyond the eight ACL methods (issue 12), through the built gateway
// in front of the real server-everything over HTTP, driven by the TypeScript SDK client:
// completion/complete judged by the prompt or template it names, resources/read contents, and
// "completion": "pass" keeping Gravitee's pass-through.
//   MCP_POLICY_BIN=target/debug/mcp-policy node --test e2e/gateway/names.test.mjs
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { startEverythingHttp, startGateway } from "./harness.mjs";

// completable-prompt and the text template are granted; args-prompt and the blob template are
// not (implicit deny).
const RULES = [
  {
    authorizedFeatures: [
      { type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "ANY" },
      { type: "PROMPTS", methods: ["PROMPTS_LIST", "PROMPTS_GET"], patternType: "LITERAL", patternValue: "completable-prompt" },
      {
        type: "RESOURCES",
        methods: ["RESOURCES_LIST", "RESOURCES_TEMPLATES_LIST", "RESOURCES_READ"],
        patternType: "PREFIX",
        patternValue: "demo://resource/dynamic/text/",
      },
    ],
  },
];

let everything;
let gw;
let dir;

before(async () => {
  everything = await startEverythingHttp();
  dir = mkdtempSync(join(tmpdir(), "mcp-names-"));
  const judged = join(dir, "judged.json");
  const passed = join(dir, "passed.json");
  writeFileSync(judged, JSON.stringify({ authorizations: RULES }));
  writeFileSync(passed, JSON.stringify({ completion: "pass", authorizations: RULES }));
  gw = await startGateway([
    { name: "judged", path: "/judged", url: everything.url, policy: judged },
    { name: "passed", path: "/passed", url: everything.url, policy: passed },
  ]);
});

after(async () => {
  await gw?.stop();
  await everything?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function connect(path) {
  const transport = new StreamableHTTPClientTransport(new URL(gw.base + path));
  const client = new Client({ name: "e2e-names", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport);
  return client;
}

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected the request to be refused");
}

const complete = (client, ref, name, value) => client.complete({ ref, argument: { name, value } });

describe("completion/complete through the gateway (server-everything, TypeScript SDK client)", () => {
  test("a granted prompt completes with the server's values", async () => {
    const client = await connect("/judged");
    const r = await complete(client, { type: "ref/prompt", name: "completable-prompt" }, "department", "E");
    assert.ok(r.completion.values.length > 0, JSON.stringify(r));
    await client.close();
  });

  test("a hidden prompt is refused as the hidden prompt itself is, and never reaches the server", async () => {
    const client = await connect("/judged");
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name), ["completable-prompt"]);
    const viaCompletion = await rejection(complete(client, { type: "ref/prompt", name: "args-prompt" }, "city", "Pa"));
    const viaGet = await rejection(client.getPrompt({ name: "args-prompt", arguments: { city: "Paris" } }));
    assert.equal(viaCompletion.code, -32602);
    assert.equal(viaCompletion.message, viaGet.message, "the same answer on both paths");
    assert.match(viaCompletion.message, /Unknown prompt: args-prompt/);
    await client.close();
  });

  test("a granted template completes; a hidden one is answered as a missing template", async () => {
    const client = await connect("/judged");
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ["demo://resource/dynamic/text/{resourceId}"]);
    await complete(client, { type: "ref/resource", uri: "demo://resource/dynamic/text/{resourceId}" }, "resourceId", "1");
    const hidden = await rejection(
      complete(client, { type: "ref/resource", uri: "demo://resource/dynamic/blob/{resourceId}" }, "resourceId", "1"),
    );
    assert.equal(hidden.code, -32602);
    assert.match(hidden.message, /Resource template demo:\/\/resource\/dynamic\/blob\/\{resourceId\} not found/);
    await client.close();
  });

  test('with "completion": "pass" (Gravitee) the hidden prompt completes: the path the rule closes', async () => {
    const client = await connect("/passed");
    const r = await complete(client, { type: "ref/prompt", name: "args-prompt" }, "city", "");
    assert.ok(Array.isArray(r.completion.values));
    await client.close();
  });
});

describe("resources/read through the gateway", () => {
  test("a granted resource reads; a hidden one is refused", async () => {
    const client = await connect("/judged");
    const ok = await client.readResource({ uri: "demo://resource/dynamic/text/1" });
    assert.equal(ok.contents.length, 1);
    assert.equal(ok.contents[0].uri, "demo://resource/dynamic/text/1");
    const hidden = await rejection(client.readResource({ uri: "demo://resource/dynamic/blob/1" }));
    assert.equal(hidden.code, -32602);
    await client.close();
  });
});
