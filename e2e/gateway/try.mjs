// Try the demo gateway with the TypeScript SDK client:
//   node e2e/gateway/try.mjs [http://127.0.0.1:8080/mcp]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.argv[2] ?? "http://127.0.0.1:8080/mcp");
const transport = new StreamableHTTPClientTransport(url);
const client = new Client({ name: "mcp-policy-try", version: "1.0.0" }, { capabilities: {} });
await client.connect(transport);
console.log(`connected to ${url} (session ${transport.sessionId})`);

const { tools } = await client.listTools();
console.log(`tools/list: ${tools.length} tools: ${tools.map((t) => t.name).join(", ")}`);

const echo = await client.callTool({ name: "echo", arguments: { message: "hello through the gateway" } });
console.log(`tools/call echo: ${echo.content[0].text}`);

try {
  const env = await client.callTool({ name: "get-env", arguments: {} });
  console.log(`tools/call get-env: allowed (${JSON.stringify(env).length} bytes of server environment)`);
} catch (e) {
  console.log(`tools/call get-env: denied (${e.code}: ${e.message})`);
}

await transport.terminateSession();
await client.close();
