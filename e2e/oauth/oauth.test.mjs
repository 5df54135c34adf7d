// The gateway as an OAuth 2.1 protected resource (plan oauth2, and upstream_oauth = "relay"),
// with real parts only: oidc-provider as the authorization server, the TypeScript SDK client
// running discovery, dynamic registration and authorization code + PKCE (sign-in and consent
// done on the server's own pages by UserAgent), server-everything behind a recording hop, and a
// TypeScript SDK server that is its own protected resource.
//   MCP_POLICY_BIN=target/debug/mcp-policy node --test e2e/oauth/
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { BIN, INIT, ROOT, freePort, kill, post, startEverythingHttp } from "../gateway/harness.mjs";
import { generateJwks, startAuthorizationServer } from "./authorization-server.mjs";
import { MemoryOAuthProvider, UserAgent, claims, connect, signJwt, startRecordingHop, withAuthorization } from "./helpers.mjs";
import { startSecuredServer } from "./secured-server.mjs";

const POLICY = join(ROOT, "examples/oauth/policy.json");

// Rules that read the token through the policy context: the subject as `user`, a claim through
// `jwt.claims`.
const CLAIMS_POLICY = {
  authorizations: [
    {
      name: "echo for alice",
      condition: "{#context.attributes['user'] == 'alice'}",
      authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "echo" }],
    },
    {
      name: "get-sum for the reporting client",
      condition: "{#context.attributes['jwt.claims']['client_id'] == 'reporting'}",
      authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "get-sum" }],
    },
  ],
};
const now = () => Math.floor(Date.now() / 1000);

/** WWW-Authenticate parameters: { scheme, error, scope, resource_metadata, ... }. */
function challenge(header) {
  assert.ok(header, "a WWW-Authenticate header");
  const m = header.match(/^(\S+)\s*(.*)$/);
  const out = { scheme: m[1] };
  for (const p of m[2].matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) out[p[1]] = p[2];
  return out;
}

const scopeSet = (s) => new Set(String(s ?? "").split(" ").filter(Boolean));

async function getJson(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(10000) });
  assert.equal(r.status, 200, `GET ${url}`);
  return r.json();
}

/** A fetch that keeps every response's status and WWW-Authenticate, for the SDK transport. */
function recordingFetch() {
  const log = [];
  const f = async (url, init) => {
    const r = await fetch(url, init);
    log.push({ url: String(url), method: init?.method ?? "GET", status: r.status, wwwAuthenticate: r.headers.get("www-authenticate") });
    return r;
  };
  return { fetch: f, log };
}

function waitForLine(child, pattern, ms = 15000) {
  return new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error(`gateway: no ${pattern} within ${ms} ms:\n${seen}`)), ms);
    const onData = (d) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        child.stderr.off("data", onData);
        ok(m);
      }
    };
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`gateway exited (${code}):\n${seen}`));
    });
  });
}

/** The gateway on a port chosen first, so that its public URLs are known to the authorization server. */
async function startGateway(port, config) {
  const dir = mkdtempSync(join(tmpdir(), "mcp-gw-oauth-"));
  const file = join(dir, "gateway.toml");
  writeFileSync(file, config);
  const child = spawn(BIN, ["serve", "--config", file], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.resume();
  const stderr = [];
  child.stderr.on("data", (d) => stderr.push(d.toString()));
  const stop = async () => {
    await kill(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForLine(child, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, stderr, stop };
}

// Each suite is bounded, so that a hung peer fails the run instead of stalling it.
describe("secured TypeScript SDK server on its own (the relay test's upstream)", { timeout: 120000 }, () => {
  const resources = {};
  let as;
  let secured;

  before(async () => {
    as = await startAuthorizationServer({ resources: (r) => resources[r.replace(/\/$/, "")] });
    secured = await startSecuredServer({ issuer: as.issuer });
    resources[secured.url] = ["mcp:tools", "mcp:admin"];
  });
  after(async () => {
    await secured?.close();
    await as?.close();
  });

  test("without a token: 401 naming its own metadata, which names the authorization server", async () => {
    const r = await post(secured.url, INIT);
    assert.equal(r.status, 401);
    const c = challenge(r.headers.get("www-authenticate"));
    assert.equal(c.error, "invalid_token");
    const meta = await getJson(c.resource_metadata);
    assert.equal(meta.resource, secured.url);
    assert.deepEqual(meta.authorization_servers, [as.issuer]);
  });

  test("the SDK client registers, authorizes with PKCE for the resource, and calls the tool", async () => {
    const provider = new MemoryOAuthProvider();
    const { client } = await connect(secured.url, provider);
    try {
      assert.equal(provider.registrations, 1);
      const [authz] = provider.authorizations;
      assert.equal(authz.searchParams.get("resource"), secured.url);
      assert.equal(authz.searchParams.get("code_challenge_method"), "S256");
      const token = provider.tokens().access_token;
      assert.equal(claims(token).aud, secured.url);
      assert.deepEqual(scopeSet(claims(token).scope), new Set(["mcp:tools"]));
      const who = await client.callTool({ name: "whoami", arguments: {} });
      assert.deepEqual(JSON.parse(who.content[0].text), { sub: "alice", aud: secured.url, scopes: ["mcp:tools"] });
      assert.ok(secured.seen.some((s) => s.authorization === `Bearer ${token}`));
    } finally {
      await client.close();
    }
  });

  test("a token for another resource is refused by the SDK server", async () => {
    const token = signJwt(as.jwks.keys[0], {
      iss: as.issuer, sub: "alice", aud: "http://127.0.0.1:1/elsewhere", scope: "mcp:tools",
      client_id: "x", iat: now(), exp: now() + 300, jti: randomUUID(),
    });
    const r = await post(secured.url, INIT, { authorization: `Bearer ${token}` });
    assert.equal(r.status, 401);
    assert.equal(challenge(r.headers.get("www-authenticate")).error, "invalid_token");
  });
});

describe("gateway with one oauth2 API", { timeout: 120000 }, () => {
  let as;
  let gateway;
  let base;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    as = await startAuthorizationServer({ resources: { [`${base}/only`]: ["mcp:tools"] } });
    gateway = await startGateway(
      port,
      [
        `listen = "127.0.0.1:${port}"`,
        "[[api]]",
        `name = "only"`,
        `path = "/only"`,
        `plan = "oauth2"`,
        `policy = ${JSON.stringify(POLICY)}`,
        `backend = { url = "http://127.0.0.1:1/mcp" }`,
        "[api.oauth2]",
        `authorization_servers = [${JSON.stringify(as.issuer)}]`,
        "",
      ].join("\n"),
    );
  });
  after(async () => {
    await gateway?.stop();
    await as?.close();
  });

  test("the root metadata form names it, and its resource defaults to http://<listen><path>", async () => {
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/only", "/only/.well-known/oauth-protected-resource"]) {
      const meta = await getJson(`${base}${path}`);
      assert.equal(meta.resource, `${base}/only`, path);
      assert.deepEqual(meta.authorization_servers, [as.issuer], path);
    }
  });
});

describe("gateway plan oauth2 and upstream_oauth relay", { timeout: 120000 }, () => {
  let as;
  let everything;
  let hop;
  let secured;
  let gateway;
  let base;
  let mcpUrl;
  let securedUrl;
  let claimsUrl;
  let opaqueUrl;
  let claimsPolicyDir;
  const tokensSeen = [];

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    mcpUrl = `${base}/mcp`;
    securedUrl = `${base}/secured`;
    claimsUrl = `${base}/claims`;
    opaqueUrl = `${base}/opaque`;
    const introspector = { client_id: "gateway", client_secret: randomUUID() };
    claimsPolicyDir = mkdtempSync(join(tmpdir(), "mcp-policy-claims-"));
    const claimsPolicy = join(claimsPolicyDir, "policy.json");
    writeFileSync(claimsPolicy, JSON.stringify(CLAIMS_POLICY));
    // No refresh tokens: holding one, SDK 1.32.2 answers a 403 insufficient_scope by refreshing,
    // which cannot widen the scope, and gives up ("Server returned 403 after trying upscoping")
    // instead of sending the user to consent to the new scope.
    as = await startAuthorizationServer({
      resources: {
        [mcpUrl]: ["mcp:tools", "mcp:admin"],
        [securedUrl]: ["mcp:tools", "mcp:admin"],
        [opaqueUrl]: { scopes: ["mcp:tools"], format: "opaque" },
      },
      introspectionClient: introspector,
      jwks: await generateJwks(),
      accessTokenTTL: 300,
    });
    everything = await startEverythingHttp();
    hop = await startRecordingHop(everything.url);
    secured = await startSecuredServer({ issuer: as.issuer, audience: securedUrl });
    const q = JSON.stringify;
    gateway = await startGateway(
      port,
      [
        `listen = ${q(`127.0.0.1:${port}`)}`,
        "",
        "[[api]]",
        `name = "everything"`,
        `path = "/mcp"`,
        `plan = "oauth2"`,
        `public_url = ${q(mcpUrl)}`,
        `policy = ${q(POLICY)}`,
        `backend = { url = ${q(hop.url)} }`,
        "[api.oauth2]",
        `authorization_servers = [${q(as.issuer)}]`,
        `scopes_supported = ["mcp:tools", "mcp:admin"]`,
        `required_scopes = ["mcp:tools"]`,
        "",
        "[[api]]",
        `name = "claims"`,
        `path = "/claims"`,
        `plan = "oauth2"`,
        `public_url = ${q(claimsUrl)}`,
        `policy = ${q(claimsPolicy)}`,
        `backend = { url = ${q(hop.url)} }`,
        "[api.oauth2]",
        `authorization_servers = [${q(as.issuer)}]`,
        `required_scopes = ["mcp:tools"]`,
        "",
        "[[api]]",
        `name = "opaque"`,
        `path = "/opaque"`,
        `plan = "oauth2"`,
        `public_url = ${q(opaqueUrl)}`,
        `policy = ${q(POLICY)}`,
        `backend = { url = ${q(hop.url)} }`,
        "[api.oauth2]",
        `authorization_servers = [${q(as.issuer)}]`,
        `introspection = { endpoint = ${q(`${as.issuer}/token/introspection`)}, client_id = ${q(introspector.client_id)}, client_secret = ${q(introspector.client_secret)} }`,
        `required_scopes = ["mcp:tools"]`,
        "",
        "[[api]]",
        `name = "secured"`,
        `path = "/secured"`,
        `upstream_oauth = "relay"`,
        `backend = { url = ${q(secured.url)} }`,
        "",
      ].join("\n"),
    );
  });

  after(async () => {
    await gateway?.stop();
    await hop?.close();
    await everything?.stop();
    await secured?.close();
    await as?.close();
    if (claimsPolicyDir) rmSync(claimsPolicyDir, { recursive: true, force: true });
  });

  test("RFC 9728 metadata is served without a token, at both well-known forms", async () => {
    for (const url of [`${base}/.well-known/oauth-protected-resource/mcp`, `${base}/mcp/.well-known/oauth-protected-resource`]) {
      const meta = await getJson(url);
      assert.equal(meta.resource, mcpUrl, url);
      assert.deepEqual(meta.authorization_servers, [as.issuer], url);
      assert.deepEqual(new Set(meta.scopes_supported), new Set(["mcp:tools", "mcp:admin"]), url);
    }
    // Four APIs here, so the root form names none of them.
    const root = await fetch(`${base}/.well-known/oauth-protected-resource`, { signal: AbortSignal.timeout(10000) });
    assert.equal(root.status, 404, await root.text());
  });

  test("a request without a token gets 401 with the metadata URL and the required scope", async () => {
    const before = hop.seen.length;
    const r = await post(mcpUrl, INIT);
    assert.equal(r.status, 401);
    const c = challenge(r.headers.get("www-authenticate"));
    assert.equal(c.scheme, "Bearer");
    assert.equal(c.resource_metadata, `${base}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(c.scope, "mcp:tools");
    for (const method of ["GET", "DELETE"]) {
      const r2 = await fetch(mcpUrl, { method, headers: { "mcp-session-id": "any" }, signal: AbortSignal.timeout(10000) });
      await r2.body?.cancel();
      assert.equal(r2.status, 401, method);
      assert.equal(challenge(r2.headers.get("www-authenticate")).resource_metadata, c.resource_metadata, method);
    }
    assert.equal(hop.seen.length, before, "nothing reached the backend");
  });

  test("a valid token without the required scope gets 403 insufficient_scope naming it", async () => {
    const before = hop.seen.length;
    const token = signJwt(as.jwks.keys[0], {
      iss: as.issuer, sub: "alice", aud: mcpUrl, scope: "profile", client_id: "test",
      iat: now() - 5, exp: now() + 300, jti: randomUUID(),
    });
    tokensSeen.push(token);
    const r = await post(mcpUrl, INIT, { authorization: `Bearer ${token}` });
    assert.equal(r.status, 403, r.text);
    const c = challenge(r.headers.get("www-authenticate"));
    assert.equal(c.error, "insufficient_scope");
    assert.deepEqual(scopeSet(c.scope), new Set(["mcp:tools"]));
    assert.equal(hop.seen.length, before, "nothing reached the backend");
  });

  test("the SDK client discovers, registers, authorizes with PKCE, then lists and calls tools", async () => {
    const provider = new MemoryOAuthProvider();
    const { client, transport } = await connect(mcpUrl, provider);
    try {
      assert.equal(provider.registrations, 1);
      assert.equal(provider.authorizations.length, 1);
      const authz = provider.authorizations[0];
      assert.equal(authz.origin, as.issuer);
      assert.equal(authz.searchParams.get("resource"), mcpUrl);
      assert.deepEqual(scopeSet(authz.searchParams.get("scope")), new Set(["mcp:tools"]));
      assert.equal(authz.searchParams.get("code_challenge_method"), "S256");
      const token = provider.tokens().access_token;
      tokensSeen.push(token);
      const c = claims(token);
      assert.equal(c.aud, mcpUrl);
      assert.equal(c.iss, as.issuer);
      assert.deepEqual(scopeSet(c.scope), new Set(["mcp:tools"]));

      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      assert.ok(names.includes("echo"), names.join(","));
      const echo = await client.callTool({ name: "echo", arguments: { message: "through oauth" } });
      assert.match(echo.content[0].text, /through oauth/);
      assert.ok(transport.sessionId, "the backend's session id reached the client");
    } finally {
      await client.close();
    }
  });

  describe("tokens the gateway must refuse get 401 invalid_token", () => {
    const good = () => ({
      iss: as.issuer, sub: "mallory", aud: mcpUrl, scope: "mcp:tools", client_id: "test",
      iat: now() - 5, exp: now() + 300, jti: randomUUID(),
    });
    const sign = (payload, jwks = as.jwks) => signJwt(jwks.keys[0], payload);

    async function refused(token) {
      const before = hop.seen.length;
      const r = await post(mcpUrl, INIT, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 401, r.text);
      const c = challenge(r.headers.get("www-authenticate"));
      assert.equal(c.error, "invalid_token");
      assert.equal(c.resource_metadata, `${base}/.well-known/oauth-protected-resource/mcp`);
      assert.equal(hop.seen.length, before, "nothing reached the backend");
    }

    // The same construction with nothing wrong is accepted, so each refusal below is due to
    // the one thing changed.
    test("control: a token signed by the server's key, for this resource, in time", async () => {
      const token = sign(good());
      tokensSeen.push(token);
      const r = await post(mcpUrl, INIT, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 200, r.text);
    });

    test("for another audience", () => refused(sign({ ...good(), aud: "http://127.0.0.1:1/elsewhere" })));
    test("expired", () => refused(sign({ ...good(), iat: now() - 7200, exp: now() - 3600 })));
    test("from another issuer", () => refused(sign({ ...good(), iss: "http://127.0.0.1:1" })));
    test("signed by a key the server does not publish", async () => refused(sign(good(), await generateJwks())));
    test("unsigned (alg none)", () => {
      const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
      return refused(`${b64({ alg: "none", typ: "at+jwt" })}.${b64(good())}.`);
    });
    test("without exp", () => {
      const { exp, ...rest } = good();
      return refused(sign(rest));
    });
    test("tampered: one payload byte changed after signing", () => {
      const [h, p, s] = sign(good()).split(".");
      const json = Buffer.from(p, "base64url").toString("utf8");
      const changed = json.replace('"sub":"mallory"', '"sub":"mallorz"');
      assert.notEqual(changed, json);
      return refused(`${h}.${Buffer.from(changed).toString("base64url")}.${s}`);
    });
  });

  test("a call the policy grants only with mcp:admin gets the 403 step-up, and the re-authorized retry succeeds", async () => {
    const agent = new UserAgent({ login: "carol" });
    const provider = new MemoryOAuthProvider({ agent });
    const rec = recordingFetch();
    const { client, transport } = await connect(mcpUrl, provider, { fetch: rec.fetch });
    try {
      const first = provider.tokens().access_token;
      tokensSeen.push(first);
      assert.deepEqual(scopeSet(claims(first).scope), new Set(["mcp:tools"]));
      const backendBefore = hop.seen.filter((s) => s.method === "POST").length;

      const env = await withAuthorization(transport, provider, () => client.callTool({ name: "get-env", arguments: {} }));

      const denied = rec.log.filter((l) => l.status === 403);
      assert.equal(denied.length, 1, JSON.stringify(rec.log, null, 1));
      const c = challenge(denied[0].wwwAuthenticate);
      assert.equal(c.error, "insufficient_scope");
      assert.deepEqual(scopeSet(c.scope), new Set(["mcp:tools", "mcp:admin"]));
      assert.equal(c.resource_metadata, `${base}/.well-known/oauth-protected-resource/mcp`);

      // The SDK asked for the challenge's scope itself; the user consented once more.
      assert.equal(provider.authorizations.length, 2);
      assert.deepEqual(scopeSet(provider.authorizations[1].searchParams.get("scope")), new Set(["mcp:tools", "mcp:admin"]));
      const second = provider.tokens().access_token;
      tokensSeen.push(second);
      assert.notEqual(second, first);
      assert.deepEqual(scopeSet(claims(second).scope), new Set(["mcp:tools", "mcp:admin"]));
      assert.equal(claims(second).sub, "carol");

      assert.ok(!env.isError, JSON.stringify(env));
      assert.ok(env.content[0].text.length > 0);
      // The refused call stopped at the gateway: only the retry reached the backend.
      assert.equal(hop.seen.filter((s) => s.method === "POST").length, backendBefore + 1);
      // Other tools still work with the new token (its scope kept mcp:tools).
      const echo = await client.callTool({ name: "echo", arguments: { message: "after step-up" } });
      assert.match(echo.content[0].text, /after step-up/);
    } finally {
      await client.close();
    }
  });

  test("the token's claims reach the policy: `user` is the subject, `jwt.claims` the claims", async () => {
    const token = (sub, clientId) =>
      signJwt(as.jwks.keys[0], {
        iss: as.issuer, sub, aud: claimsUrl, scope: "mcp:tools", client_id: clientId,
        iat: now() - 5, exp: now() + 300, jti: randomUUID(),
      });
    async function session(sub, clientId) {
      const t = token(sub, clientId);
      tokensSeen.push(t);
      const transport = new StreamableHTTPClientTransport(new URL(claimsUrl), {
        requestInit: { headers: { authorization: `Bearer ${t}` } },
      });
      const client = new Client({ name: "claims", version: "1.0.0" }, { capabilities: {} });
      await client.connect(transport);
      return client;
    }
    const call = (client, name, args) => client.callTool({ name, arguments: args });
    const hidden = { code: -32602 };

    const alice = await session("alice", "other");
    try {
      assert.deepEqual((await alice.listTools()).tools.map((t) => t.name), ["echo"]);
      assert.match((await call(alice, "echo", { message: "hi" })).content[0].text, /hi/);
      await assert.rejects(call(alice, "get-sum", { a: 1, b: 2 }), hidden);
    } finally {
      await alice.close();
    }
    const bob = await session("bob", "reporting");
    try {
      assert.deepEqual((await bob.listTools()).tools.map((t) => t.name), ["get-sum"]);
      assert.match((await call(bob, "get-sum", { a: 1, b: 2 })).content[0].text, /3/);
      await assert.rejects(call(bob, "echo", { message: "hi" }), hidden);
    } finally {
      await bob.close();
    }
  });

  test("opaque tokens are checked by introspection: the SDK client's works, an unknown one gets 401", async () => {
    const provider = new MemoryOAuthProvider({ agent: new UserAgent({ login: "olga" }) });
    const rec = recordingFetch();
    const { client } = await connect(opaqueUrl, provider, { fetch: rec.fetch });
    try {
      const token = provider.tokens().access_token;
      tokensSeen.push(token);
      assert.equal(token.split(".").length, 1, "an opaque token, not a JWT");
      const echo = await client.callTool({ name: "echo", arguments: { message: "introspected" } });
      assert.match(echo.content[0].text, /introspected/);
      // The introspected scope feeds the policy as a JWT's would: get-env asks for mcp:admin.
      await assert.rejects(client.callTool({ name: "get-env", arguments: {} }), UnauthorizedError);
      const denied = rec.log.filter((l) => l.status === 403);
      assert.equal(denied.length, 1, JSON.stringify(rec.log, null, 1));
      assert.deepEqual(scopeSet(challenge(denied[0].wwwAuthenticate).scope), new Set(["mcp:tools", "mcp:admin"]));
    } finally {
      await client.close();
    }
    const r = await post(opaqueUrl, INIT, { authorization: `Bearer ${randomUUID().replace(/-/g, "")}` });
    assert.equal(r.status, 401, r.text);
    assert.equal(challenge(r.headers.get("www-authenticate")).error, "invalid_token");
  });

  test("the backend never received an Authorization header, let alone a client's token", () => {
    assert.ok(tokensSeen.length >= 6, `tokens used: ${tokensSeen.length}`);
    assert.ok(hop.seen.length > 0, "the backend was reached");
    for (const s of hop.seen) {
      assert.equal(s.headers.authorization, undefined, `${s.method} ${s.url}`);
      const all = JSON.stringify(s.headers);
      for (const t of tokensSeen) assert.ok(!all.includes(t), `${s.method} ${s.url} carried a client token`);
    }
  });

  describe("upstream_oauth relay: the upstream is its own protected resource", () => {
    test("the upstream's 401 is relayed with resource_metadata at the gateway, whose metadata names the gateway and the upstream's server", async () => {
      const r = await post(securedUrl, INIT);
      assert.equal(r.status, 401);
      const c = challenge(r.headers.get("www-authenticate"));
      assert.ok(c.resource_metadata, r.headers.get("www-authenticate"));
      assert.equal(new URL(c.resource_metadata).origin, base, c.resource_metadata);
      const meta = await getJson(c.resource_metadata);
      assert.equal(meta.resource, securedUrl);
      assert.deepEqual(meta.authorization_servers, [as.issuer]);
    });

    test("the SDK client follows the relayed challenge and calls the upstream with a token for the gateway's URL", async () => {
      const provider = new MemoryOAuthProvider({ agent: new UserAgent({ login: "dave" }) });
      const { client } = await connect(securedUrl, provider);
      try {
        const authz = provider.authorizations[0];
        assert.equal(authz.origin, as.issuer);
        assert.equal(authz.searchParams.get("resource"), securedUrl);
        const token = provider.tokens().access_token;
        assert.equal(claims(token).aud, securedUrl);
        const who = await client.callTool({ name: "whoami", arguments: {} });
        assert.deepEqual(JSON.parse(who.content[0].text), { sub: "dave", aud: securedUrl, scopes: ["mcp:tools"] });
        // Relay means the client's own token is what the upstream checked.
        assert.ok(secured.seen.some((s) => s.authorization === `Bearer ${token}`));
      } finally {
        await client.close();
      }
    });
  });
});
