// Every API of the package, and every error code of the engine as Node sees it.
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { createRequire } from "node:module";
import { describe, test } from "node:test";

const require = createRequire(import.meta.url);
const m = require("../index.js");
const {
  Context, Decision, Exchange, Guard, IntrospectionValidator, JwtValidator, Policy, Session, Step,
  errorCodes, evaluate,
} = m;

const POLICY = {
  authorizations: [
    {
      authorizedFeatures: [
        { type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "echo" },
        { type: "RESOURCES", methods: ["RESOURCES_LIST", "RESOURCES_READ"], patternType: "PREFIX", patternValue: "demo://ok/" },
      ],
    },
    {
      condition: "{#request.headers['x-role'][0] == 'admin'}",
      authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_CALL"], patternType: "ANY" }],
    },
    { effect: "DENY", authorizedFeatures: [{ type: "SAMPLING" }] },
  ],
};
const policy = Policy.fromJson(POLICY);
const call = (name, id = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name } });
const LIST = { jsonrpc: "2.0", id: 1, method: "tools/list" };
const LIST_RESULT = { jsonrpc: "2.0", id: 1, result: { tools: [{ name: "echo" }, { name: "get-env" }] } };

/** The `code` of what `fn` throws (it must throw an Error). */
function thrown(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, "an Error");
    assert.equal(typeof e.code, "string");
    return e;
  }
  assert.fail("did not throw");
}

describe("Policy", () => {
  test("fromJson takes an object, JSON text or a Buffer; allowAll grants everything", () => {
    for (const p of [POLICY, JSON.stringify(POLICY), Buffer.from(JSON.stringify(POLICY))]) {
      assert.equal(Policy.fromJson(p).ruleCount, 3);
    }
    assert.ok(policy instanceof Policy);
    assert.equal(Policy.allowAll().check(call("anything")).allowed, true);
    assert.equal(policy.limits.maxBodyBytes, 16 * 1024 * 1024);
    assert.equal(Policy.fromJson(POLICY, { maxDepth: 9 }).guard().limits.maxDepth, 9);
  });

  test("check returns a typed decision with core's answer", () => {
    const allow = policy.check(call("echo"));
    assert.ok(allow instanceof Decision);
    assert.equal(allow.allowed, true);
    assert.equal(allow.decision, "allow");
    assert.equal(allow.rule, 0);
    assert.equal(allow.status, 200);
    assert.equal(allow.error, null);
    assert.equal(allow.audit.subject, "echo");
    const deny = policy.check(call("get-env", 9));
    assert.equal(deny.allowed, false);
    assert.equal(deny.kind, "not_granted");
    assert.equal(deny.mode, "hide");
    assert.deepEqual(deny.requiredScopes, []);
    assert.equal(allow.mode, null);
    assert.deepEqual(deny.error, { code: -32602, message: "Unknown tool: get-env" });
    assert.deepEqual(deny.response, { jsonrpc: "2.0", id: 9, error: deny.error });
    assert.match(deny.reason, /get-env/);
    assert.deepEqual(JSON.parse(JSON.stringify(deny)), deny.answer, "toJSON is the answer");
    assert.equal(deny.answer.decision, "deny");
  });

  test("a denial a scope would cure is a step-up: 403, the scopes, the challenge", () => {
    const scoped = Policy.fromJson({
      authorizations: [
        {
          scopes: ["mcp:admin"],
          condition: "{#context.attributes['user.roles']?.contains('mcp:admin') ?: false}",
          authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_CALL"], patternType: "ANY" }],
        },
      ],
    });
    const d = scoped.check(call("echo"));
    assert.equal(d.status, 403);
    assert.deepEqual(d.requiredScopes, ["mcp:admin"]);
    assert.equal(scoped.check(call("echo"), { attributes: { "user.roles": ["mcp:admin"] } }).allowed, true);
    const g = scoped.guard({ resourceMetadataUrl: "https://gw.example.com/.well-known/oauth-protected-resource/mcp" });
    const v = g.client(call("echo"), null, null, g.session());
    assert.equal(v.status, 403);
    assert.match(v.wwwAuthenticate, /insufficient_scope/);
    assert.match(v.wwwAuthenticate, /resource_metadata="https:\/\/gw.example.com/);
    assert.ok(v.headers.some(([n]) => n === "www-authenticate"));
  });

  test("a context (prepared, object or JSON text) feeds conditions; credentials stay hidden", () => {
    const admin = { request: { headers: { "x-role": ["admin"] } } };
    assert.equal(policy.check(call("get-env"), admin).allowed, true);
    assert.equal(policy.check(call("get-env"), JSON.stringify(admin)).allowed, true);
    assert.equal(policy.check(call("get-env"), new Context(admin)).allowed, true);
    const fromRaw = Context.fromParts(["X-Role", "admin", "Authorization", "Bearer t"]);
    assert.equal(policy.check(call("get-env"), fromRaw).allowed, true);
    assert.equal(policy.check(call("get-env"), Context.fromParts([["x-role", "admin"]])).allowed, true);
    assert.equal(policy.check(call("get-env"), Context.fromParts({ "x-role": ["user", "admin"] })).allowed, false, "first value counts");
    const hidden = Context.fromParts(["authorization", "admin"], { user: "alice" });
    assert.equal(evaluate("{#request.headers['authorization']}", hidden), null, "credentials never reach conditions");
    assert.equal(evaluate("{#context.attributes['user']}", hidden), "alice");
  });

  test("bytes are judged as they are: a Buffer byte for byte, a string as UTF-8", () => {
    const bad = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e\xffcho"}}', "latin1");
    const d = policy.check(bad);
    assert.equal(d.allowed, false);
    assert.equal(d.code, "INVALID_UTF8");
    assert.equal(d.kind, "invalid_message");
    const dup = policy.check('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"get-env"}}');
    assert.equal(dup.code, "DUPLICATE_KEY");
    const uint8 = new TextEncoder().encode(JSON.stringify(call("echo")));
    assert.equal(policy.check(uint8).allowed, true, "any Uint8Array");
    const batch = policy.check([call("echo", 1), call("get-env", 2)]);
    assert.equal(batch.allowed, false);
    assert.deepEqual(batch.batch.map((b) => b.allowed), [true, false]);
  });

  test("the answer read later is the answer to what was judged (inputs changed after check)", () => {
    const buf = Buffer.from(JSON.stringify(call("get-env")));
    const ctx = { request: { headers: { "x-role": ["user"] } } };
    const d = policy.check(buf, ctx);
    buf.write("echo   ", buf.indexOf("get-env"));
    ctx.request.headers["x-role"] = ["admin"];
    assert.equal(d.allowed, false);
    assert.equal(d.audit.subject, "get-env");
    assert.equal(d.decision, "deny");
    assert.ok(d instanceof Decision);
    assert.throws(() => policy.check(new Uint16Array(4)), { code: "INVALID_ARGUMENT" });
  });

  test("filterResponse filters one whole answer", () => {
    const f = policy.filterResponse(LIST, LIST_RESULT);
    assert.equal(f.rewrite, "replaced");
    assert.deepEqual(JSON.parse(f.body).result.tools, [{ name: "echo" }]);
    assert.deepEqual(f.hidden.map((h) => h.subject), ["get-env"]);
    const same = policy.filterResponse(call("echo"), '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}');
    assert.equal(same.rewrite, "unchanged");
    assert.equal(same.body.toString(), '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}');
    assert.equal(JSON.parse(JSON.stringify(f)).rewrite, "replaced");
  });

  test("a hundred-tool list keeps only what the policy grants", () => {
    const tools = Array.from({ length: 100 }, (_, i) => ({ name: i === 42 ? "echo" : `tool-${i}`, inputSchema: { type: "object" } }));
    const f = policy.filterResponse(LIST, { jsonrpc: "2.0", id: 1, result: { tools } });
    assert.deepEqual(JSON.parse(f.body).result.tools.map((t) => t.name), ["echo"]);
    assert.equal(f.hidden.length, 99);
  });
});

test("evaluate: values by type, #mcp from the message", () => {
  const ctx = { request: { headers: { "x-n": ["3"] } }, attributes: { roles: ["a", "b"] } };
  assert.equal(evaluate("{#request.headers['x-n'][0] == '3'}", ctx), true);
  assert.equal(evaluate("{#context.attributes['roles'].size()}", ctx), 2);
  assert.equal(evaluate("true", undefined, undefined, "boolean"), true);
  assert.equal(evaluate("{#mcp.name}", undefined, call("echo"), "string"), "echo");
  assert.equal(evaluate("{#request.headers['nope']}"), null);
});

describe("Guard, Session, Exchange", () => {
  const guard = policy.guard({ resourceMetadataUrl: "https://gw.example.com/.well-known/oauth-protected-resource/mcp", maxPending: 4 });

  test("client: forward with an exchange, reply with status, headers and body", () => {
    assert.ok(guard instanceof Guard);
    const s = guard.session();
    assert.ok(s instanceof Session);
    const fwd = guard.client(LIST, null, null, s);
    assert.equal(fwd.verdict, "forward");
    assert.equal(fwd.contentType, "application/json");
    assert.ok(fwd.exchange instanceof Exchange);
    assert.equal(fwd.exchange, fwd.exchange, "the same object on every read");
    assert.equal(fwd.summary.method, "tools/list");
    assert.equal(fwd.answer.verdict, "forward");
    assert.equal(s.pendingCount, 1);
    assert.equal(fwd.exchange.waiting, 1);
    const rep = guard.client(call("get-env", 2), [["content-type", "application/json"]], undefined, s);
    assert.equal(rep.verdict, "reply");
    assert.equal(rep.status, 200);
    assert.equal(rep.kind, "denied");
    assert.equal(rep.errorCode, -32602);
    assert.deepEqual(rep.headers, [["content-type", "application/json"]]);
    assert.deepEqual(JSON.parse(rep.body), { jsonrpc: "2.0", id: 2, error: { code: -32602, message: "Unknown tool: get-env" } });
    assert.equal(rep.exchange, null);
  });

  test("2026-07-28 requests (no sessions: a fresh one each) follow the tasks they create", () => {
    const h = { "content-type": "application/json", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo" };
    const fwd = guard.client(call("echo"), h, null, guard.session());
    assert.equal(fwd.verdict, "forward");
    assert.equal(fwd.exchange.serverHead(200, "application/json"), "whole");
    const task = { jsonrpc: "2.0", id: 1, result: { resultType: "task", taskId: "t-1", status: "working" } };
    assert.equal(fwd.exchange.serverBody(JSON.stringify(task)).status, 200);
    const get = { jsonrpc: "2.0", id: 2, method: "tasks/get", params: { taskId: "t-1" } };
    const hg = { ...h, "mcp-method": "tasks/get", "mcp-name": "t-1" };
    assert.equal(guard.client(get, hg, null, guard.session()).verdict, "forward");
    const own = guard.client(get, { "content-type": "application/json", "mcp-protocol-version": "2025-11-25" }, null, guard.session());
    assert.equal(own.verdict, "reply");
    assert.match(String(own.body), /Unknown task: t-1/);
  });

  test("headers: a repeated Content-Type in rawHeaders is refused; media types and versions checked", () => {
    const s = guard.session();
    const twice = guard.client(call("echo"), ["Content-Type", "application/json", "content-type", "text/plain"], null, s);
    assert.equal(twice.status, 415);
    const text = guard.client(call("echo"), { "content-type": "text/plain" }, null, s);
    assert.equal(text.status, 415);
    const unknownVersion = guard.client(call("echo"), { "content-type": "application/json", "mcp-protocol-version": "1999-01-01" }, null, s);
    assert.equal(unknownVersion.errorCode, -32022);
    const mismatch = guard.client(call("echo"), { "content-type": "application/json", "mcp-method": "tools/list" }, null, s);
    assert.equal(mismatch.errorCode, -32020);
  });

  test("an event stream answer: filtered, refused server requests sent back, finish", () => {
    const s = guard.session();
    const ex = guard.client(LIST, null, null, s).exchange;
    assert.equal(ex.serverHead(200, "text/event-stream"), "stream");
    const all = new Step();
    const events = [
      'data: {"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[],"maxTokens":1}}\n\n',
      `id: 7\ndata: ${JSON.stringify(LIST_RESULT)}\n\n`,
    ].join("");
    const step = ex.serverChunk(Buffer.from(events));
    all.merge(step);
    assert.equal(step.toServer.length, 1, "the refused sampling request is answered to the server");
    assert.equal(JSON.parse(step.toServer[0]).id, "s1");
    assert.equal(step.notes.refused, 1);
    assert.equal(step.notes.hidden, 1);
    assert.match(step.toClient.toString(), /^id: 7\ndata: .*"echo"/m);
    assert.doesNotMatch(step.toClient.toString(), /get-env|sampling/);
    const fin = ex.finish();
    assert.equal(fin.end, true);
    all.merge(fin);
    assert.equal(all.answer.notes.answered, 1);
  });

  test("a whole answer, a failure, a stdio line, routing and failAll", () => {
    const s = guard.session();
    const ex = guard.client(LIST, null, null, s).exchange;
    assert.equal(ex.serverHead(200, "application/json"), "whole");
    const a = ex.serverBody(JSON.stringify(LIST_RESULT));
    assert.equal(a.status, 200);
    assert.equal(a.contentType, "application/json");
    assert.deepEqual(JSON.parse(a.body).result.tools, [{ name: "echo" }]);
    assert.deepEqual(a.toServer, []);
    assert.equal(a.notes.hidden, 1);
    assert.equal(a.answer.status, 200);

    const ex2 = guard.client(call("echo", 5), null, null, s).exchange;
    const r = ex2.failReply("timeout", "too slow");
    assert.equal(r.status, 504);
    assert.equal(r.kind, "failed");
    assert.equal(JSON.parse(r.body).error.code, -32000);
    assert.equal(r.errorCode, -32000);

    const ex3 = guard.client(call("echo", 6), null, null, s).exchange;
    assert.equal(s.route('{"jsonrpc":"2.0","id":6,"result":{}}'), ex3.id);
    assert.equal(s.route('{"jsonrpc":"2.0","method":"notifications/message","params":{}}'), "unsolicited");
    assert.equal(s.route("not json"), "unreadable");
    const d = ex3.serverMessage('{"jsonrpc":"2.0","id":6,"result":{"content":[]}}');
    assert.equal(JSON.parse(d.message).id, 6);
    assert.equal(d.notes.answered, 1);

    const ex4 = guard.client(call("echo", 8), null, null, s).exchange;
    const failed = s.failAll("the server process died");
    assert.deepEqual(failed.map((f) => f.exchange), [ex4.id]);
    assert.equal(JSON.parse(failed[0].body).id, 8);
    const st = guard.client(call("echo", 10), null, null, s).exchange;
    st.serverHead(200, "text/event-stream");
    const broken = st.failStream("broken", "connection reset");
    assert.match(broken.toClient.toString(), /"id":10/);
  });

  test("a resumed stream takes over the requests of the stream that passed the event id", () => {
    const s = guard.session();
    s.setResumable(true);
    const ex = guard.client(call("echo", 3), null, null, s).exchange;
    ex.serverHead(200, "text/event-stream");
    ex.serverChunk('id: e1\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}\n\n');
    assert.equal(ex.finish().toClient.length, 0, "no error: the stream can be resumed");
    const resumed = guard.stream(s, "e1");
    resumed.serverHead(200, "text/event-stream");
    const step = resumed.serverChunk('data: {"jsonrpc":"2.0","id":3,"result":{"content":[]}}\n\n');
    assert.equal(step.notes.answered, 1);
    assert.equal(s.revision, null);
  });

  test("maxPending bounds a session (429)", () => {
    const s = guard.session();
    for (let i = 0; i < 4; i++) assert.equal(guard.client(call("echo", i), null, null, s).verdict, "forward");
    const full = guard.client(call("echo", 99), null, null, s);
    assert.equal(full.status, 429);
  });
});

// ---- OAuth -----------------------------------------------------------------------------------

const RESOURCE = "https://gw.example.com/mcp";
const ISSUER = "https://as.example.com";

function es256Token(privateKey, claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${enc({ alg: "ES256", kid: "k1", typ: "JWT" })}.${enc(claims)}`;
  const sig = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${sig.toString("base64url")}`;
}

describe("OAuth helpers", () => {
  test("metadata URLs, documents and challenges", () => {
    assert.equal(m.protectedResourceMetadataUrl(RESOURCE), "https://gw.example.com/.well-known/oauth-protected-resource/mcp");
    assert.ok(m.protectedResourceMetadataUrls(RESOURCE).length >= 2);
    assert.equal(m.canonicalResourceUri("HTTPS://GW.example.com:443/mcp"), RESOURCE);
    assert.ok(m.authorizationServerMetadataUrls(ISSUER).some((u) => u.includes("oauth-authorization-server")));
    const doc = m.protectedResourceMetadata(RESOURCE, [ISSUER], { scopesSupported: ["mcp:tools"], resourceName: "GW" });
    assert.equal(doc.resource, RESOURCE);
    assert.deepEqual(doc.authorization_servers, [ISSUER]);
    assert.deepEqual(m.validateProtectedResourceMetadata(doc, RESOURCE).resource, RESOURCE);
    const as = { issuer: ISSUER, authorization_endpoint: `${ISSUER}/auth`, token_endpoint: `${ISSUER}/token`, code_challenge_methods_supported: ["S256"], response_types_supported: ["code"] };
    assert.equal(m.validateAuthorizationServerMetadata(as, ISSUER).issuer, ISSUER);
    const c = m.bearerChallenge({ resourceMetadata: m.protectedResourceMetadataUrl(RESOURCE), scope: ["mcp:tools"] });
    assert.equal(c.status, 401);
    const parsed = m.parseBearerChallenge(c.header);
    assert.equal(parsed.resourceMetadata, m.protectedResourceMetadataUrl(RESOURCE));
    assert.deepEqual(parsed.scope, ["mcp:tools"]);
    const step = m.bearerChallenge({ scope: ["a", "b"], error: "insufficient_scope" });
    assert.equal(step.status, 403);
    assert.match(m.rewriteUpstreamChallenge('Bearer resource_metadata="http://up/.well-known/oauth-protected-resource"', RESOURCE), /gw\.example\.com/);
    assert.equal(JSON.parse(m.rewriteUpstreamMetadata({ resource: "http://up/mcp", x: 1 }, RESOURCE)).resource, RESOURCE);
  });

  test("JWT validation against a JWKS fills context attributes", () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "ES256", use: "sig" }] };
    const v = new JwtValidator(jwks, [ISSUER], RESOURCE, { requiredScopes: ["mcp:tools"], resourceMetadataUrl: m.protectedResourceMetadataUrl(RESOURCE) });
    const now = Math.floor(Date.now() / 1000);
    const good = es256Token(privateKey, { iss: ISSUER, aud: RESOURCE, sub: "alice", scope: "mcp:tools", exp: now + 600 });
    const p = v.validate(good, now);
    assert.equal(p.user, "alice");
    assert.deepEqual(p.scopes, ["mcp:tools"]);
    assert.equal(p.attributes.user, "alice");
    assert.equal(evaluate("{#context.attributes['user']}", { attributes: p.attributes }), "alice");
    const e = thrown(() => v.validate(es256Token(privateKey, { iss: ISSUER, aud: RESOURCE, sub: "a", scope: "other", exp: now + 600 }), now));
    assert.equal(e.code, "INSUFFICIENT_SCOPE");
    assert.equal(e.status, 403);
    assert.match(e.wwwAuthenticate, /insufficient_scope/);
    const expired = thrown(() => v.validate(good, now + 3600));
    assert.equal(expired.code, "INVALID_TOKEN");
    assert.equal(expired.status, 401);
  });

  test("introspection responses", () => {
    const v = new IntrospectionValidator(RESOURCE, { issuers: [ISSUER] });
    const now = Math.floor(Date.now() / 1000);
    const p = v.validate(JSON.stringify({ active: true, iss: ISSUER, aud: RESOURCE, sub: "bob", exp: now + 60 }), now);
    assert.equal(p.user, "bob");
    assert.equal(thrown(() => v.validate('{"active":false}', now)).code, "INVALID_TOKEN");
  });
});

// ---- every error code ------------------------------------------------------------------------

describe("every error code", () => {
  const small = (limits) => Policy.fromJson(POLICY, limits);
  const tight = { maxBodyBytes: 1000, maxDepth: 4, maxBatchLen: 2, maxStringBytes: 10, maxObjectKeys: 5 };
  const guard = policy.guard({ maxPending: 1 });
  const reply = (body, headers) => guard.client(body, headers ?? null, null, guard.session());
  const now = Math.floor(Date.now() / 1000);

  /**
   * How each code reaches Node: thrown (`error.code`), in a decision (`decision.code`, a message
   * that cannot be read), or, for the protocol errors core's guard answers itself, as the
   * reply's JSON-RPC code and HTTP status (the reply format carries no name).
   */
  const WAYS = {
    TOO_LARGE: () => thrown(() => small(tight).filterResponse(LIST, `{"a":"${"x".repeat(2000)}"}`)).code,
    TOO_DEEP: () => small(tight).check('{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":{"b":{"c":{}}}}}').code,
    BATCH_TOO_LONG: () => small(tight).check([call("echo", 1), call("echo", 2), call("echo", 3)]).code,
    STRING_TOO_LONG: () => small(tight).check(call("a-very-long-tool-name")).code,
    TOO_MANY_KEYS: () => small(tight).check('{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}}').code,
    INVALID_UTF8: () => policy.check(Buffer.from([0x22, 0xff, 0x22])).code,
    LONE_SURROGATE: () => policy.check('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\\ud800"}}').code,
    SYNTAX: () => thrown(() => policy.filterResponse(LIST, "{nope")).code,
    TRAILING_DATA: () => policy.check('{"jsonrpc":"2.0","id":1,"method":"ping"} x').code,
    DUPLICATE_KEY: () => thrown(() => policy.filterResponse(LIST, '{"jsonrpc":"2.0","id":1,"id":2,"result":{}}')).code,
    INVALID_REQUEST: () => thrown(() => policy.filterResponse(LIST, call("echo"))).code,
    INVALID_PARAMS: () => policy.check('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}').code,
    BATCH_NOT_ALLOWED: () => policy.check("[]").code,
    HEADER_MISMATCH: () => {
      const r = reply(call("echo"), { "content-type": "application/json", "mcp-name": "other" });
      assert.deepEqual([r.status, r.errorCode], [400, -32020]);
      return "HEADER_MISMATCH";
    },
    UNSUPPORTED_PROTOCOL_VERSION: () => {
      const r = reply(call("echo"), { "content-type": "application/json", "mcp-protocol-version": "2000-01-01" });
      assert.deepEqual([r.status, r.errorCode], [400, -32022]);
      return "UNSUPPORTED_PROTOCOL_VERSION";
    },
    UNSUPPORTED_MEDIA_TYPE: () => {
      const r = reply(call("echo"), { "content-type": "application/json", "content-encoding": "gzip" });
      assert.equal(r.status, 415);
      return "UNSUPPORTED_MEDIA_TYPE";
    },
    DUPLICATE_ID: () => {
      const g = policy.guard();
      const s = g.session();
      assert.equal(g.client(call("echo", 1), null, null, s).verdict, "forward");
      const r = g.client(call("echo", "1"), null, null, s);
      assert.deepEqual([r.status, r.errorCode], [400, -32600]);
      return "DUPLICATE_ID";
    },
    TOO_MANY_PENDING: () => {
      const s = guard.session();
      guard.client(call("echo", 1), null, null, s);
      const r = guard.client(call("echo", 2), null, null, s);
      assert.deepEqual([r.status, r.errorCode], [429, -32000]);
      return "TOO_MANY_PENDING";
    },
    INVALID_LIMITS: () => thrown(() => Policy.fromJson(POLICY, { maxDepth: 0 })).code,
    INVALID_CONTEXT: () => thrown(() => policy.check(call("echo"), { attributes: 7 })).code,
    INVALID_POLICY: () => thrown(() => Policy.fromJson({ authorizations: [{ authorizedFeatures: [{ type: "NOPE" }] }] })).code,
    INVALID_EXPRESSION: () => thrown(() => evaluate("{#request.headers[}")).code,
    EVALUATION_FAILED: () => thrown(() => evaluate("{(1 / 0 == 1)}", undefined, undefined, "boolean")).code,
    INVALID_TOKEN: () => thrown(() => new IntrospectionValidator(RESOURCE).validate('{"active":false}', now)).code,
    INSUFFICIENT_SCOPE: () =>
      thrown(() =>
        new IntrospectionValidator(RESOURCE, { requiredScopes: ["admin"] }).validate(
          JSON.stringify({ active: true, aud: RESOURCE, sub: "x", scope: "read", exp: now + 60 }),
          now,
        ),
      ).code,
    INVALID_URL: () => thrown(() => m.protectedResourceMetadataUrl("not a url")).code,
    INVALID_METADATA: () => thrown(() => m.validateProtectedResourceMetadata({ resource: "https://other.example.com/mcp" }, RESOURCE)).code,
    INVALID_CHALLENGE: () => thrown(() => m.parseBearerChallenge('Bearer realm="unterminated')).code,
    INVALID_JWKS: () => thrown(() => new JwtValidator("not json", [ISSUER], RESOURCE)).code,
    INVALID_VALIDATOR_CONFIG: () => {
      const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "ES256" }] };
      return thrown(() => new JwtValidator(jwks, [], RESOURCE)).code;
    },
    RELAY_FAILED: () => thrown(() => m.rewriteUpstreamMetadata("[1]", RESOURCE)).code,
    INVALID_ARGUMENT: () => thrown(() => policy.check(42)).code,
    INTERNAL: () => thrown(() => m.__panicForTest()).code,
  };
  // The C ABI's alone: Node callers never hand the engine a buffer to fill.
  const NOT_IN_NODE = ["BUFFER_TOO_SMALL"];

  test("the code set is core's: 34 codes with fixed numbers", () => {
    const codes = errorCodes();
    assert.equal(codes.length, 34);
    assert.deepEqual(codes[0], { number: 101, name: "TOO_LARGE" });
    assert.deepEqual(codes.at(-1), { number: 999, name: "INTERNAL" });
    assert.deepEqual(
      codes.map((c) => c.name).filter((n) => !NOT_IN_NODE.includes(n)).sort(),
      Object.keys(WAYS).sort(),
      "every code but the C ABI's own has a way here",
    );
  });

  for (const [name, way] of Object.entries(WAYS)) {
    test(name, () => assert.equal(way(), name));
  }

  test("thrown errors carry core's detail: number, path, hint, issues, answer", () => {
    const p = thrown(() => Policy.fromJson({ authorizations: [{ authorizedFeatures: [{ type: "NOPE" }] }] }));
    assert.equal(p.number, 303);
    assert.ok(p.issues.some((i) => i.path.startsWith("$.authorizations[0]")), JSON.stringify(p.issues));
    assert.equal(p.answer.error.code, "INVALID_POLICY");
    const c = thrown(() => new Context({ request: { headers: 5 } }));
    assert.equal(c.code, "INVALID_CONTEXT");
    assert.equal(c.path, "request.headers");
    assert.ok(c.hint.length > 0);
    const s = thrown(() => policy.filterResponse(LIST, "{nope"));
    assert.equal(s.offset, 1);
    const x = thrown(() => evaluate("{#request.headers[}"));
    assert.equal(typeof x.position, "number");
    const a = thrown(() => policy.guard().session().route(Symbol("x")));
    assert.equal(a.code, "INVALID_ARGUMENT");
    assert.equal(a.number, 901);
    for (const bad of [
      () => policy.guard().client(call("echo"), [["content-type"]], null, policy.guard().session()),
      () => policy.guard().client(call("echo"), { "x-a": "\u0100" }, null, policy.guard().session()),
      () => policy.guard().client(call("echo"), null, null, "not a session"),
      () => evaluate("{1}", undefined, undefined, "number"),
      () => policy.guard().session() && policy.guard().client(LIST, null, null, policy.guard().session()).exchange.failReply("meteor", "x"),
      () => m.validateProtectedResourceMetadata({}, RESOURCE, "loose"),
      () => {
        const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "ES256" }] };
        return new JwtValidator(jwks, [ISSUER], RESOURCE, { algorithms: ["none!"] });
      },
      () => policy.check(call("echo"), { nope: () => 1, toJSON() { throw new Error("no"); } }),
    ]) {
      const e = thrown(bad);
      assert.ok(["INVALID_ARGUMENT", "INVALID_VALIDATOR_CONFIG"].includes(e.code), `${e.code}: ${e.message}`);
      assert.ok(e.message.length > 10, e.message);
    }
  });
});
