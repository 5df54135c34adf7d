// Try the OAuth demo gateway (`make demo-oauth`) with the TypeScript SDK client, as a person:
//   node e2e/oauth/try.mjs [http://127.0.0.1:8080/mcp]
// The client discovers the authorization server from the gateway (RFC 9728, RFC 8414),
// registers itself, and prints the sign-in URL to open in a browser; the browser comes back to
// a callback served here on 127.0.0.1. Calling get-env then needs mcp:admin: the gateway answers
// 403 insufficient_scope and the client asks for the scope with a second sign-in URL.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.argv[2] ?? "http://127.0.0.1:8080/mcp");

// The redirect target: the browser brings the code here.
let nextCode;
const callback = createServer((req, res) => {
  const q = new URL(req.url, "http://127.0.0.1").searchParams;
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  res.end(q.get("code") ? "Signed in; you can close this tab.\n" : `Authorization failed: ${q.get("error")} ${q.get("error_description") ?? ""}\n`);
  nextCode?.(q);
});
await new Promise((ok) => callback.listen(0, "127.0.0.1", ok));
const redirectUrl = `http://127.0.0.1:${callback.address().port}/callback`;

const store = {};
const provider = {
  redirectUrl,
  clientMetadata: {
    client_name: "mcp-policy try (OAuth)",
    redirect_uris: [redirectUrl],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  },
  clientInformation: () => store.client,
  saveClientInformation: (c) => void (store.client = c),
  tokens: () => store.tokens,
  saveTokens: (t) => void (store.tokens = t),
  // Ties the browser's return to the request this client made.
  state: () => (store.state = randomUUID()),
  codeVerifier: () => store.verifier,
  saveCodeVerifier: (v) => void (store.verifier = v),
  redirectToAuthorization(authorizationUrl) {
    const scope = authorizationUrl.searchParams.get("scope");
    console.log(`\nSign in (scope "${scope}"): open\n  ${authorizationUrl}\n`);
    const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? null : "xdg-open";
    if (opener && process.env.DISPLAY !== undefined) {
      spawn(opener, [authorizationUrl.href], { stdio: "ignore", detached: true }).on("error", () => {}).unref();
    }
  },
};

const code = () =>
  new Promise((ok, fail) => {
    nextCode = (q) => {
      if (q.get("state") !== store.state) return fail(new Error("authorization answer with an unknown state"));
      return q.get("code") ? ok(q.get("code")) : fail(new Error(`authorization failed: ${q.get("error")}`));
    };
  });

let transport;
let client;
async function authorized(action) {
  const waiting = code();
  try {
    return await action();
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    await transport.finishAuth(await waiting);
    return await action();
  }
}

const open = async () => {
  transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
  client = new Client({ name: "mcp-policy-try-oauth", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport);
};
await authorized(async () => {
  // A failed connect leaves the client half-open: start again with a fresh one.
  await client?.close().catch(() => {});
  await open();
});
console.log(`connected to ${url} (session ${transport.sessionId}) with scope "${store.tokens.scope}"`);

const { tools } = await client.listTools();
console.log(`tools/list: ${tools.length} tools: ${tools.map((t) => t.name).join(", ")}`);
const echo = await client.callTool({ name: "echo", arguments: { message: "hello through the gateway" } });
console.log(`tools/call echo: ${echo.content[0].text}`);

const env = await authorized(() => client.callTool({ name: "get-env", arguments: {} }));
console.log(`tools/call get-env with scope "${store.tokens.scope}": ${JSON.stringify(env).length} bytes of server environment`);

await transport.terminateSession().catch(() => {});
await client.close();
callback.close();
