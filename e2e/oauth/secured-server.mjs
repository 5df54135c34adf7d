// An MCP server that is itself an OAuth protected resource, built from the TypeScript SDK's own
// parts: Express, requireBearerAuth, the RFC 9728 metadata router, and JWT checks with jose
// against the authorization server's JWKS. It is the upstream of the gateway's
// `upstream_oauth = "relay"` API in the tests, and is tested on its own first.
import express from "express";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import {
  getOAuthProtectedResourceMetadataUrl,
  mcpAuthMetadataRouter,
} from "@modelcontextprotocol/sdk/server/auth/router.js";

/**
 * Listens on 127.0.0.1 at /mcp. Its RFC 9728 metadata names its own URL as `resource` and
 * `issuer` as its authorization server. It accepts JWTs from `issuer` whose `aud` is
 * `audience` (its own URL unless set: behind a gateway, the gateway's public URL is what
 * clients ask tokens for) and that hold `requiredScopes`.
 * `seen` records every request's Authorization header; `verified` the claims it accepted.
 */
export async function startSecuredServer({ issuer, audience, requiredScopes = ["mcp:tools"] }) {
  const metadata = await (
    await fetch(`${issuer}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(10000) })
  ).json();
  const keys = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const app = express();
  const server = await new Promise((ok) => {
    const s = app.listen(0, "127.0.0.1", () => ok(s));
  });
  const url = new URL(`http://127.0.0.1:${server.address().port}/mcp`);
  audience ??= url.href;
  const seen = [];
  const verified = [];

  const verifier = {
    async verifyAccessToken(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer,
          audience,
          typ: "at+jwt",
          algorithms: ["RS256"],
        }));
      } catch (e) {
        throw new InvalidTokenError(e.message);
      }
      verified.push(payload);
      return {
        token,
        clientId: payload.client_id,
        scopes: typeof payload.scope === "string" ? payload.scope.split(" ") : [],
        expiresAt: payload.exp,
        extra: { sub: payload.sub, aud: payload.aud },
      };
    },
  };

  app.use((req, _res, next) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    next();
  });
  app.use(
    mcpAuthMetadataRouter({
      oauthMetadata: metadata,
      resourceServerUrl: url,
      scopesSupported: ["mcp:tools", "mcp:admin"],
      resourceName: "secured e2e server",
    }),
  );
  const auth = requireBearerAuth({
    verifier,
    requiredScopes,
    resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(url),
  });
  app.post("/mcp", express.json(), auth, async (req, res) => {
    // Stateless: one server and transport per request, so no session outlives its token.
    const mcp = new McpServer({ name: "secured", version: "1.0.0" });
    mcp.registerTool("whoami", { description: "The caller as the token names it" }, async (extra) => ({
      content: [
        {
          type: "text",
          text: JSON.stringify({ sub: extra.authInfo.extra.sub, aud: extra.authInfo.extra.aud, scopes: extra.authInfo.scopes }),
        },
      ],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      transport.close();
      mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  for (const method of ["get", "delete"]) {
    app[method]("/mcp", auth, (_req, res) => res.status(405).set("allow", "POST").end());
  }

  return {
    url: url.href,
    audience,
    seen,
    verified,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
