// An OAuth 2.1 authorization server for the OAuth2 tests and `make demo-oauth`: oidc-provider
// with open dynamic client registration, authorization code + PKCE, and RFC 8707 resource
// indicators that yield RS256 JWT access tokens whose `aud` is the requested resource and whose
// `scope` holds the granted scopes. Login and consent are oidc-provider's development pages
// (any login name and password; the login name becomes the token's `sub`).
//
//   node e2e/oauth/authorization-server.mjs [--port 9000] [--resource URL=scope,scope]... [--ttl 300]
//                                           [--refresh-tokens]
// Refresh tokens are off by default: a TypeScript SDK client (1.32.2) that holds one answers a
// 403 insufficient_scope by refreshing, which cannot add the scope, instead of asking the user.
//
// In-process: `await startAuthorizationServer({ resources: { [url]: ["mcp:tools"] }, jwks })`.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { exportJWK, generateKeyPair } from "jose";
import Provider, { errors } from "oidc-provider";

/** A private RS256 signing key set `{ keys: [jwk] }` (kept in memory; nothing is written). */
export async function generateJwks() {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { keys: [{ ...jwk, kid: randomUUID(), alg: "RS256", use: "sig" }] };
}

/** The public half of a key set made by generateJwks. */
export function publicJwks(jwks) {
  return {
    keys: jwks.keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
  };
}

// Resource indicators are compared without one trailing slash: clients send the metadata's
// `resource` verbatim, and RFC 9728 documents are written with or without it.
const canonical = (u) => String(u).replace(/\/$/, "");

/**
 * Starts the server on 127.0.0.1.
 * - port: 0 for a free one; the issuer is then http://127.0.0.1:<port> unless `issuer` is set.
 * - resources: { [resource URL]: [scopes] }, the protected resources tokens may be issued for,
 *   or a function (url) => scopes | undefined for resources known only later. Instead of
 *   [scopes], { scopes, format: "opaque" } gives that resource opaque access tokens (to be
 *   checked by RFC 7662 introspection) instead of JWTs.
 * - accessTokenTTL: seconds.
 * - refreshTokens: issue refresh tokens to clients registered for the refresh_token grant.
 * - jwks: the private signing key set (generateJwks()); generated when absent.
 * - introspectionClient: { client_id, client_secret } registered as a confidential client that
 *   may call the RFC 7662 introspection endpoint.
 * Returns { issuer, port, jwks, accounts, close }.
 */
export async function startAuthorizationServer({
  port = 0,
  host = "127.0.0.1",
  issuer,
  resources = {},
  accessTokenTTL = 300,
  refreshTokens = false,
  jwks,
  introspectionClient,
} = {}) {
  jwks ??= await generateJwks();
  const scopesFor =
    typeof resources === "function"
      ? resources
      : (url) =>
          Object.entries(resources).find(([r]) => canonical(r) === canonical(url))?.[1];

  let handler;
  const server = createServer((req, res) => handler(req, res));
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, ok);
  });
  const bound = server.address().port;
  issuer ??= `http://${host}:${bound}`;

  const provider = new Provider(issuer, {
    jwks,
    clients: introspectionClient
      ? [
          {
            ...introspectionClient,
            grant_types: [],
            response_types: [],
            redirect_uris: [],
            token_endpoint_auth_method: "client_secret_basic",
          },
        ]
      : [],
    // Signing keys for the interaction cookies, fresh per start.
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    scopes: ["openid", "offline_access"],
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    pkce: { required: () => true },
    issueRefreshToken: (_ctx, client) => refreshTokens && client.grantTypeAllowed("refresh_token"),
    ttl: { AccessToken: accessTokenTTL, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 3600 },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      introspection: { enabled: Boolean(introspectionClient) },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // A client that names no resource at the token endpoint gets the one it was granted.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const found = scopesFor(indicator);
          if (!found) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          const { scopes, format = "jwt" } = Array.isArray(found) ? { scopes: found } : found;
          return {
            scope: scopes.join(" "),
            audience: indicator,
            accessTokenTTL,
            accessTokenFormat: format,
            ...(format === "jwt" ? { jwt: { sign: { alg: "RS256" } } } : {}),
          };
        },
      },
    },
  });
  const callback = provider.callback();
  const registration = new URL(`${issuer}/reg`).pathname;

  handler = async (req, res) => {
    const path = req.url.split("?")[0];
    // Browser-based clients (MCP Inspector) register from their own origin; registration is
    // open anyway, so any origin may call it (oidc-provider sends no CORS headers there).
    if (path === registration && req.headers.origin) {
      res.setHeader("access-control-allow-origin", req.headers.origin);
      res.setHeader("vary", "origin");
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          "access-control-allow-methods": "POST",
          "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "content-type",
          "access-control-max-age": "600",
        });
        return res.end();
      }
    }
    // MCP clients register with the scope of the first challenge and step up to more scopes
    // later with the same registration (SEP-835). oidc-provider would make that scope a ceiling
    // and rejects resource scopes in it, so the registration's scope is not kept: which scopes
    // a client gets is decided per resource and by the user's consent.
    if (req.method === "POST" && path === registration && /json/.test(req.headers["content-type"] ?? "")) {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        delete body.scope;
        req.body = body;
      } catch {
        req.body = Buffer.concat(chunks).toString("utf8");
      }
    }
    callback(req, res);
  };

  return {
    issuer,
    port: bound,
    jwks,
    provider,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function parseResources(list) {
  const out = {};
  for (const item of list) {
    const eq = item.lastIndexOf("=");
    if (eq < 0) throw new Error(`--resource ${item}: expected URL=scope,scope`);
    out[item.slice(0, eq)] = item.slice(eq + 1).split(",").filter(Boolean);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "9000" },
      resource: { type: "string", multiple: true, default: ["http://127.0.0.1:8080/mcp=mcp:tools,mcp:admin"] },
      ttl: { type: "string", default: "300" },
      "refresh-tokens": { type: "boolean", default: false },
    },
  });
  const resources = parseResources(values.resource);
  const as = await startAuthorizationServer({
    port: Number(values.port),
    resources,
    accessTokenTTL: Number(values.ttl),
    refreshTokens: values["refresh-tokens"],
  });
  console.log(`authorization server: ${as.issuer} (metadata ${as.issuer}/.well-known/oauth-authorization-server)`);
  for (const [r, s] of Object.entries(resources)) console.log(`  resource ${r}: ${s.join(" ")}`);
  const stop = () => as.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
