// A faulty MCP backend on raw TCP, for e2e/gateway/faults.test.mjs: it speaks HTTP/1.1 by hand
// so it can also break HTTP itself (garbage, wrong lengths, a connection cut in the middle of
// a chunk), which node:http would refuse to do.
//
// `initialize` is answered honestly with a session id; `notifications/*` get 202; everything
// else is answered per the fault named by the call's tool name (`tools/call` with
// `params.name`), so one gateway API (one upstream connection pool) can be driven into every
// fault in turn and then asked something normal on the same pool. Only 127.0.0.1.
//
// Every request is recorded in `seen` ({ method, path, headers, body }); `live()` counts open
// connections; `streams` lists the `slow-sse` streams with a promise of their connection's close.
import { createServer } from "node:net";

const CRLF = "\r\n";

/** The JSON-RPC answer to `id` (its raw JSON text) with `result`. */
export const result = (id, r) => `{"jsonrpc":"2.0","id":${id},"result":${JSON.stringify(r)}}`;
const text = (id, t) => result(id, { content: [{ type: "text", text: t }] });
const progress = (token, n) =>
  JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: token, progress: n, total: 100 } });
const event = (data, id) => `${id === undefined ? "" : `id: ${id}\n`}event: message\ndata: ${data}\n\n`;

function head(status, headers) {
  const reason = { 200: "OK", 202: "Accepted", 404: "Not Found", 405: "Method Not Allowed" }[status] ?? "X";
  // x-backend marks what the backend sent, so a test can tell it from the gateway's own answers.
  headers = { "x-backend": "faulty", ...headers };
  return `HTTP/1.1 ${status} ${reason}${CRLF}${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}${CRLF}`)
    .join("")}${CRLF}`;
}
const chunk = (s) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from(b.length.toString(16) + CRLF), b, Buffer.from(CRLF)]);
};
const SSE = { "content-type": "text/event-stream", "cache-control": "no-cache", "transfer-encoding": "chunked" };

/** Parses one request off `buf`: { method, path, headers, body, rest } or undefined (need more). */
function parseRequest(buf) {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString("latin1").split(CRLF);
  const [method, path] = lines[0].split(" ");
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const len = Number(headers["content-length"] ?? 0);
  if (buf.length < end + 4 + len) return undefined;
  return {
    method,
    path,
    headers,
    body: buf.subarray(end + 4, end + 4 + len).toString("utf8"),
    rest: buf.subarray(end + 4 + len),
  };
}

export async function startFaultBackend() {
  const seen = [];
  const sockets = new Set();
  let minted = 0;
  /** The slow-sse streams: { id, closed (a promise), events (sent so far) }. */
  const streams = [];
  /** Answers for resumed streams, by Last-Event-ID. */
  const resumable = new Map();

  function json(sock, body, extra = {}) {
    const b = Buffer.from(body);
    sock.write(head(200, { "content-type": "application/json", "content-length": b.length, ...extra }));
    sock.write(b);
  }

  /** What to do with a tools/call whose tool `name` names the fault; `id` is raw JSON. */
  function fault(sock, name, id, args, req) {
    const token = JSON.stringify(`p${id}`);
    switch (name) {
      case "echo":
        return json(sock, text(id, `Echo: ${args?.message}`));
      case "big-json": // a JSON answer of args.bytes bytes of text
        return json(sock, text(id, "x".repeat(args.bytes)));
      case "big-event": {
        // One SSE event of about args.bytes bytes, then the end of the stream.
        sock.write(head(200, SSE));
        sock.write(chunk(event(text(id, "y".repeat(args.bytes)))));
        return sock.write("0\r\n\r\n");
      }
      case "sse-killed": // one progress event, then the connection is cut mid-stream
        sock.write(head(200, SSE));
        sock.write(chunk(event(progress(JSON.parse(token), 1))));
        return setTimeout(() => sock.resetAndDestroy(), 50);
      case "sse-no-answer": // a progress event, then a clean end of the stream, never the answer
        sock.write(head(200, SSE));
        sock.write(chunk(event(progress(JSON.parse(token), 1))));
        return sock.write("0\r\n\r\n");
      case "sse-no-answer-id": {
        // The same with an event id: the answer comes on the resumed stream (GET with
        // Last-Event-ID), as a server that lost the connection would send it.
        const eid = `ev-${id}`;
        resumable.set(eid, text(id, "resumed answer"));
        sock.write(head(200, SSE));
        sock.write(chunk(`id: ${eid}\ndata: \n\n`));
        return sock.write("0\r\n\r\n");
      }
      case "sse-no-answer-id-lost": // an event id, but the resumption is refused
        sock.write(head(200, SSE));
        sock.write(chunk(`id: lost-${id}\ndata: \n\n`));
        return sock.write("0\r\n\r\n");
      case "never": // reads the request, answers nothing
        return undefined;
      case "headers-stall-json":
        return sock.write(head(200, { "content-type": "application/json", "content-length": 1000 }));
      case "headers-stall-sse":
        return sock.write(head(200, SSE));
      case "garbage":
        return sock.end("SSH-2.0-OpenSSH_9.6 not http at all\r\n\0\xff\xfe garbage\r\n\r\n");
      case "endless-line": {
        // SSE without a newline: args.bytes of one data line, then nothing.
        sock.write(head(200, SSE));
        sock.write(chunk("data: "));
        const piece = "z".repeat(16 * 1024);
        for (let sent = 0; sent < args.bytes; sent += piece.length) sock.write(chunk(piece));
        return undefined;
      }
      case "wrong-type": {
        const b = text(id, "looks like JSON, declared as HTML");
        return sock.write(head(200, { "content-type": "text/html", "content-length": b.length }) + b);
      }
      case "length-short": {
        // Content-Length shorter than the body: the rest is left on the connection, where
        // it reads as an answer the next request on the pool did not get.
        const b = text(id, "cut");
        const fake = text(999, "smuggled");
        return sock.write(
          head(200, { "content-type": "application/json", "content-length": b.length - 5 }) +
            b +
            head(200, { "content-type": "application/json", "content-length": fake.length }) +
            fake,
        );
      }
      case "length-long": {
        // Content-Length longer than the body, then the connection closes.
        const b = text(id, "short");
        sock.write(head(200, { "content-type": "application/json", "content-length": b.length + 100 }) + b);
        return sock.end();
      }
      case "close-early": // no answer at all: the connection closes right after the request
        return sock.destroy();
      case "slow-sse": {
        // A progress event every 50 ms until the connection closes.
        sock.write(head(200, SSE));
        const s = { id: JSON.parse(id), events: 0 };
        s.closed = new Promise((ok) =>
          sock.once("close", () => {
            s.isClosed = true;
            ok();
          }),
        );
        streams.push(s);
        const t = setInterval(() => sock.write(chunk(event(progress(JSON.parse(token), ++s.events)))), 50);
        sock.once("close", () => clearInterval(t));
        return undefined;
      }
      default:
        return json(sock, `{"jsonrpc":"2.0","id":${id},"error":{"code":-32601,"message":"no fault ${name}"}}`);
    }
  }

  function serve(sock, req) {
    sock.lastPath = req.path;
    seen.push({ method: req.method, path: req.path, headers: req.headers, body: req.body });
    if (req.method === "DELETE") return sock.write(head(200, { "content-length": 0 }));
    if (req.method === "GET") {
      const answer = resumable.get(req.headers["last-event-id"]);
      if (!answer) return sock.write(head(405, { "content-length": 0 }));
      resumable.delete(req.headers["last-event-id"]);
      sock.write(head(200, SSE));
      sock.write(chunk(event(answer)));
      return sock.write("0\r\n\r\n");
    }
    let msg;
    try {
      msg = JSON.parse(req.body);
    } catch {
      return json(sock, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`);
    }
    if (Array.isArray(msg) || msg.id === undefined || msg.method === undefined) {
      return sock.write(head(202, { "content-length": 0 }));
    }
    const id = JSON.stringify(msg.id);
    switch (msg.method) {
      case "initialize":
        return json(
          sock,
          result(id, {
            protocolVersion: msg.params?.protocolVersion ?? "2025-11-25",
            capabilities: { tools: {} },
            serverInfo: { name: "faulty", version: "1" },
          }),
          { "mcp-session-id": `fault-${++minted}` },
        );
      case "tools/call":
        return fault(sock, msg.params?.name, id, msg.params?.arguments, req);
      case "tools/list":
        return json(sock, result(id, { tools: [{ name: "echo", inputSchema: { type: "object" } }] }));
      default:
        return json(sock, result(id, {}));
    }
  }

  const server = createServer((sock) => {
    sockets.add(sock);
    let buf = Buffer.alloc(0);
    sock.on("error", () => {});
    sock.on("close", () => sockets.delete(sock));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const req = parseRequest(buf);
        if (!req) return;
        buf = req.rest;
        serve(sock, req);
      }
    });
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", ok);
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: `${base}/mcp`,
    port: server.address().port,
    seen,
    /** Open connections from the gateway. */
    live: () => sockets.size,
    /** Open connections whose last request was for `path` (one gateway API's pool). */
    liveFor: (path) => [...sockets].filter((s) => s.lastPath === path).length,
    streams,
    stop: () =>
      new Promise((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
