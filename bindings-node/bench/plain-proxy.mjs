// What users write by hand today: the same reverse proxy as lib/http.js (fetch upstream, stream
// event streams through), judging with JSON.parse and a hand-written allow list instead of the
// engine. For the benchmark only: it misses everything the engine checks (duplicate keys, ids,
// batches, media types, server requests...), which is the point of the comparison.
import { once } from "node:events";
import { createServer } from "node:http";

const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length", "accept-encoding"]);

export function createPlainProxy(upstream, deny) {
  const judge = (msg) => !(msg.method === "tools/call" && deny.has(msg.params?.name));
  const filterEvent = (event) => {
    const data = event
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart())
      .join("\n");
    if (!data) return event;
    const msg = JSON.parse(data);
    if (Array.isArray(msg.result?.tools)) {
      msg.result.tools = msg.result.tools.filter((t) => !deny.has(t.name));
      return event.split("\n").filter((l) => !l.startsWith("data:")).concat(`data: ${JSON.stringify(msg)}`).join("\n");
    }
    return event;
  };
  return createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    if (req.method === "POST") {
      const msg = JSON.parse(body.toString());
      if (!judge(msg)) {
        const out = JSON.stringify({ jsonrpc: "2.0", id: msg.id, error: { code: -32602, message: `Unknown tool: ${msg.params.name}` } });
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(out);
      }
    }
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    const up = await fetch(upstream, { method: req.method, headers, body: req.method === "POST" ? body : undefined });
    const out = {};
    for (const [k, v] of up.headers) if (!HOP.has(k) && k !== "content-encoding") out[k] = v;
    res.writeHead(up.status, out);
    if (!up.body) return res.end();
    if ((up.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of up.body) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!res.write(`${filterEvent(ev)}\n\n`)) await once(res, "drain");
        }
      }
      return res.end(buf);
    }
    const text = await up.text();
    res.end(text);
  });
}
