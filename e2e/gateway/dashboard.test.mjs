// End-to-end: the traffic dashboard as a person sees it. The built gateway in front of the real
// server-everything over HTTP with examples/policy.json (every tool but get-env), scripted
// traffic from the TypeScript SDK client, then `/dashboard` loaded in Debian's chromium through
// playwright-core; the assertions read the rendered page, not `/dashboard/stats`.
//   MCP_POLICY_BIN=target/debug/mcp-policy node --test e2e/gateway/dashboard.test.mjs
// Needs /usr/bin/chromium (`bash scripts/debian-deps.sh chromium`, which `make e2e-node` runs).
// Leaves a screenshot in target/e2e/dashboard.png.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { chromium } from "playwright-core";

import { POLICY, ROOT, startEverythingHttp, startGateway } from "./harness.mjs";

const SHOT = join(ROOT, "target/e2e/dashboard.png");

let everything;
let gw;
let browser;

before(async () => {
  everything = await startEverythingHttp();
  gw = await startGateway([{ name: "acl", path: "/acl", url: everything.url, policy: POLICY }]);
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  await gw?.stop();
  await everything?.stop();
});

/** What the SDK put on the wire: "POST initialize", "GET", "DELETE"... in order. */
function recordingFetch(sent) {
  return (url, init = {}) => {
    const verb = init.method ?? "GET";
    let what = verb;
    if (verb === "POST" && typeof init.body === "string") what += " " + JSON.parse(init.body).method;
    sent.push(what);
    return fetch(url, init);
  };
}

/** The traffic the page must then show; returns what the client sent. */
async function script() {
  const sent = [];
  const transport = new StreamableHTTPClientTransport(new URL(gw.base + "/acl"), { fetch: recordingFetch(sent) });
  const client = new Client({ name: "e2e-dashboard", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport);
  const { tools } = await client.listTools();
  assert.ok(!tools.some((t) => t.name === "get-env"), "the policy hides get-env");
  for (let i = 0; i < 3; i++) {
    const r = await client.callTool({ name: "echo", arguments: { message: `hi ${i}` } });
    assert.equal(r.content[0].text, `Echo: hi ${i}`);
  }
  for (let i = 0; i < 2; i++) {
    const r = await client.callTool({ name: "get-sum", arguments: { a: i, b: 40 } });
    assert.match(r.content[0].text, new RegExp(String(i + 40)));
  }
  for (let i = 0; i < 2; i++) {
    await assert.rejects(client.callTool({ name: "get-env", arguments: {} }), (e) => e.code === -32602);
  }
  // The session ends with a DELETE; closing the client ends its GET stream.
  await transport.terminateSession();
  await client.close();
  return sent;
}

/** The dashboard as rendered: every panel the test reads, as text. */
async function readPage(page) {
  return page.evaluate(() => {
    const text = (e) => (e ? e.innerText.trim() : null);
    const rows = (id) =>
      Array.from(document.querySelectorAll(`#${id} .row:not(.head)`)).map((r) =>
        Array.from(r.children).filter((c) => !c.classList.contains("bar")).map(text),
      );
    const legend = (id) => Array.from(document.querySelectorAll(`#${id} .legend span`)).map(text);
    return {
      total: text(document.getElementById("c-total")),
      httpMethods: rows("b-http"),
      methods: rows("b-methods"),
      toolHeader: Array.from(document.querySelectorAll("#t-tools .row.head span")).map(text),
      tools: rows("t-tools"),
      decisions: rows("b-decisions"),
      errors: legend("p-errors"),
    };
  });
}

test("the dashboard shows methods, HTTP verbs apart, per-tool allowed/denied and denials", async () => {
  const sent = await script();
  // The script itself, as the server saw it asked: one GET stream (the SDK opens it after
  // initialization) and one DELETE, the rest POSTs.
  assert.deepEqual(
    sent.filter((s) => !s.startsWith("POST")),
    ["GET", "DELETE"],
    `requests sent: ${sent.join(", ")}`,
  );
  assert.equal(sent.filter((s) => s === "POST tools/call").length, 7, sent.join(", "));

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(gw.base + "/dashboard");

  const expected = {
    total: "12",
    // Bars are sorted by count, then by name.
    httpMethods: [
      ["POST", "10"],
      ["DELETE", "1"],
      ["GET", "1"],
    ],
    methods: [
      ["tools/call", "7"],
      ["initialize", "1"],
      ["notifications/initialized", "1"],
      ["tools/list", "1"],
    ],
    toolHeader: ["", "", "calls", "allowed", "denied"],
    tools: [
      ["echo", "3", "3", "0"],
      ["get-env", "2", "0", "2"],
      ["get-sum", "2", "2", "0"],
    ],
    decisions: [
      ["allow", "10"],
      ["deny", "2"],
    ],
    errors: ["INVALID_PARAMS (-32602) — 2 (100.0%)"],
  };
  // The GET stream is counted when it ends, and the page polls every 2 s: wait for the numbers
  // to settle, then compare them exactly.
  let shown;
  const deadline = Date.now() + 20000;
  do {
    shown = await readPage(page);
    if (JSON.stringify(shown) === JSON.stringify(expected)) break;
    await page.waitForTimeout(250);
  } while (Date.now() < deadline);
  mkdirSync(join(ROOT, "target/e2e"), { recursive: true });
  await page.screenshot({ path: SHOT, fullPage: true });
  assert.deepEqual(shown, expected);
  assert.match(await page.locator("#status").innerText(), /^updated /);

  // The same numbers for the API picked in the header.
  await page.selectOption("#api", "acl");
  assert.deepEqual(await readPage(page), expected);
  assert.deepEqual(pageErrors, []);
  await page.close();
});
