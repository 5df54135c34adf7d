// The JavaScript half of the differential suite: the TypeScript SDK's own Express app
// (createMcpExpressApp, whose express.json() honours the declared charset and Content-Encoding)
// in front of a stateless StreamableHTTPServerTransport and a low-level Server.
//
// Every handler acts on whatever tool, resource or prompt it is asked for and records it under
// the request's x-diff-case header: a server that acted only on names it knows would hide a
// policy bypass behind its own "unknown tool". What express.json() parsed is recorded too.
// GET /__acted returns and clears both.
//
// Usage: node js-backend.mjs PORT   (prints "listening PORT" when ready)
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { describe } from "./describe.mjs";

const acted = {};
const parsed = {};
const caseOf = (headers) => {
  const v = headers?.["x-diff-case"];
  return Array.isArray(v) ? v[0] : (v ?? "?");
};
const record = (extra, method, subject) => {
  const c = caseOf(extra?.requestInfo?.headers);
  (acted[c] ??= []).push({ method, subject: typeof subject === "string" || subject == null ? subject ?? null : String(subject) });
};

function makeServer() {
  const server = new Server(
    { name: "diff-js", version: "1" },
    { capabilities: { tools: {}, resources: { subscribe: true }, prompts: {} } },
  );
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    record(extra, "tools/call", req.params.name);
    return { content: [{ type: "text", text: "ok" }] };
  });
  server.setRequestHandler(ListToolsRequestSchema, async (_req, extra) => {
    record(extra, "tools/list", null);
    return { tools: [] };
  });
  server.setRequestHandler(ReadResourceRequestSchema, async (req, extra) => {
    record(extra, "resources/read", req.params.uri);
    return { contents: [{ uri: req.params.uri, text: "ok" }] };
  });
  server.setRequestHandler(SubscribeRequestSchema, async (req, extra) => {
    record(extra, "resources/subscribe", req.params.uri);
    return {};
  });
  server.setRequestHandler(GetPromptRequestSchema, async (req, extra) => {
    record(extra, "prompts/get", req.params.name);
    return { messages: [] };
  });
  return server;
}

const app = createMcpExpressApp();
app.get("/__acted", (_req, res) => {
  res.json({ acted: { ...acted }, parsed: { ...parsed } });
  for (const k of Object.keys(acted)) delete acted[k];
  for (const k of Object.keys(parsed)) delete parsed[k];
});
app.post("/mcp", async (req, res) => {
  parsed[caseOf(req.headers)] = req.body === undefined ? { ok: false } : { ok: true, ...describe(req.body) };
  const server = makeServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
// body-parser's errors (bad JSON, unknown charset or encoding) answered as JSON, as a real
// deployment would; what matters here is only that nothing was acted on.
app.use((err, req, res, _next) => {
  parsed[caseOf(req.headers)] = { ok: false, error: err.type ?? err.name };
  res.status(err.status ?? 500).json({ jsonrpc: "2.0", id: null, error: { code: -32700, message: String(err.message) } });
});

const port = Number(process.argv[2] ?? 0);
const listener = app.listen(port, "127.0.0.1", () => {
  console.log(`listening ${listener.address().port}`);
});
