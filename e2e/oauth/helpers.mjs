// What the OAuth2 tests share: a user agent that signs in and consents on the authorization
// server's pages, an in-memory OAuthClientProvider for the TypeScript SDK, a connect that runs
// the SDK's redirect flow to the end, a recording HTTP hop, and JWT signing with the
// authorization server's key.
import { createSign } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const TIMEOUT = 10000;

/**
 * A user agent without a browser: a cookie jar, redirects followed by hand, and every HTML form
 * on the way submitted as a person would (login name and password on the sign-in page, the
 * consent button). Stops at the first redirect that leaves the authorization server and returns
 * that URL (the client's redirect_uri with `code` or `error`).
 */
export class UserAgent {
  constructor({ login = "alice", password = "any" } = {}) {
    this.login = login;
    this.password = password;
    this.cookies = new Map();
    this.pages = [];
  }

  #store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split("=")[1]) < Date.now());
      if (expired || pair.slice(eq + 1) === "") this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
  }

  async #go(url, init = {}) {
    const headers = { ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { ...init, headers, redirect: "manual", signal: AbortSignal.timeout(TIMEOUT) });
    this.#store(res);
    return res;
  }

  async authorize(authorizationUrl) {
    const origin = new URL(authorizationUrl).origin;
    let url = String(authorizationUrl);
    let init = {};
    for (let hop = 0; hop < 20; hop++) {
      const res = await this.#go(url, init);
      init = {};
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        url = new URL(res.headers.get("location"), url).href;
        if (new URL(url).origin !== origin) return new URL(url);
        continue;
      }
      const html = await res.text();
      this.pages.push({ url, status: res.status, html });
      const form = parseForm(html);
      if (res.status !== 200 || !form) throw new Error(`authorization stopped at ${url} (${res.status}):\n${html.slice(0, 2000)}`);
      for (const name of Object.keys(form.fields)) {
        if (name === "login") form.fields[name] = this.login;
        if (name === "password") form.fields[name] = this.password;
      }
      url = new URL(form.action, url).href;
      init = {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form.fields).toString(),
      };
    }
    throw new Error("authorization: too many redirects");
  }
}

const decode = (s) => s.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");

/** The first POST form of a page: { action, fields } (hidden, text and password inputs). */
function parseForm(html) {
  const m = html.match(/<form\b[^>]*\baction="([^"]*)"[^>]*\bmethod="post"[^>]*>([\s\S]*?)<\/form>/i);
  if (!m) return undefined;
  const fields = {};
  for (const input of m[2].matchAll(/<input\b[^>]*>/gi)) {
    const name = input[0].match(/\bname="([^"]*)"/i)?.[1];
    if (!name) continue;
    fields[decode(name)] = decode(input[0].match(/\bvalue="([^"]*)"/i)?.[1] ?? "");
  }
  return { action: decode(m[1]), fields };
}

/**
 * OAuthClientProvider kept in memory. redirectToAuthorization hands the URL to the user agent,
 * so by the time the SDK throws UnauthorizedError the code is waiting in `code`.
 */
export class MemoryOAuthProvider {
  constructor({ agent = new UserAgent(), redirectUrl = "http://127.0.0.1:1/callback", clientName = "mcp-policy e2e" } = {}) {
    this.agent = agent;
    this._redirectUrl = redirectUrl;
    this._clientName = clientName;
    this.authorizations = [];
    this.registrations = 0;
  }
  get redirectUrl() {
    return this._redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: this._clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    this._state = Math.random().toString(36).slice(2);
    return this._state;
  }
  clientInformation() {
    return this._client;
  }
  saveClientInformation(info) {
    this.registrations += 1;
    this._client = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
  invalidateCredentials(scope) {
    if (scope === "all" || scope === "client") this._client = undefined;
    if (scope === "all" || scope === "tokens") this._tokens = undefined;
  }
  async redirectToAuthorization(url) {
    this.authorizations.push(new URL(url));
    const back = await this.agent.authorize(url);
    if (back.searchParams.get("state") !== this._state) throw new Error(`state mismatch in ${back}`);
    const error = back.searchParams.get("error");
    if (error) throw new Error(`authorization failed: ${error} ${back.searchParams.get("error_description")}`);
    this.code = back.searchParams.get("code");
  }
}

/**
 * An MCP action run as a real client would: on UnauthorizedError (the SDK sent the user to the
 * authorization server), exchange the code and try once more.
 */
export async function withAuthorization(transport, provider, action) {
  try {
    return await action();
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    await transport.finishAuth(provider.code);
    return await action();
  }
}

/**
 * A connected SDK client. The first connect runs discovery, registration, authorization and
 * the token request; the transport is then new, as after a browser redirect.
 */
export async function connect(url, provider, transportOptions = {}) {
  const make = () => new StreamableHTTPClientTransport(new URL(url), { ...transportOptions, authProvider: provider });
  let transport = make();
  let client = new Client({ name: "mcp-policy-oauth-e2e", version: "1.0.0" }, { capabilities: {} });
  try {
    await client.connect(transport);
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    await transport.finishAuth(provider.code);
    await client.close().catch(() => {});
    transport = make();
    client = new Client({ name: "mcp-policy-oauth-e2e", version: "1.0.0" }, { capabilities: {} });
    await client.connect(transport);
  }
  return { client, transport };
}

/** A JWT signed RS256 with a private JWK (the authorization server's own key in the tests). */
export function signJwt(jwk, payload, header = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${b64({ alg: "RS256", typ: "at+jwt", kid: jwk.kid, ...header })}.${b64(payload)}`;
  const signer = createSign("RSA-SHA256");
  signer.update(input);
  const key = { key: jwk, format: "jwk" };
  return `${input}.${signer.sign(key).toString("base64url")}`;
}

/** The claims of a JWT, unchecked. */
export function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
}

/**
 * An HTTP hop that forwards everything to `target` (streams included) and records the headers
 * of each request, so a test can see what the server behind it was sent.
 */
export async function startRecordingHop(target) {
  const to = new URL(target);
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    const up = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } },
      (r) => {
        res.writeHead(r.statusCode, r.rawHeaders);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${to.pathname}`,
    seen,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
