// The SSE adapters (Web Streams TransformStream, Node Transform) with the server's stream cut
// at every byte position, and one byte at a time: the client must read the same bytes and the
// server must get the same bodies back, since the network may cut a stream anywhere.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";

const require = createRequire(import.meta.url);
const { Policy } = require("../index.js");
const { SseTransform, sseTransformStream } = require("../lib/sse.js");

const policy = Policy.fromJson({
  authorizations: [
    { authorizedFeatures: [{ type: "TOOLS", methods: ["TOOLS_LIST", "TOOLS_CALL"], patternType: "LITERAL", patternValue: "echo" }] },
    { effect: "DENY", authorizedFeatures: [{ type: "SAMPLING" }] },
  ],
});
const guard = policy.guard();
const LIST = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"progressToken":"p"}}}';

// BOM, CRLF and CR line ends, a comment, a progress notification, a refused server request, a
// non-message event, then the list answer with a hidden tool, in UTF-8 with multi-byte text.
const STREAM = Buffer.from(
  "\ufeff: hello\r\n\r\n" +
    'id: 1\rdata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}\r\r' +
    'data: {"jsonrpc":"2.0","id":"srv","method":"sampling/createMessage","params":{"messages":[],"maxTokens":1}}\n\n' +
    "event: ping\ndata: not a message\n\n" +
    'id: 2\ndata: {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","description":"é ✓"},{"name":"get-env"}]}}\n\n',
);

function exchange() {
  const v = guard.client(LIST, null, null, guard.session());
  assert.equal(v.verdict, "forward");
  assert.equal(v.exchange.serverHead(200, "text/event-stream"), "stream");
  return v.exchange;
}

/** What the client and the server get when the stream arrives as `chunks` (Web Streams). */
async function throughWeb(chunks) {
  const toServer = [];
  const source = new ReadableStream({
    start(c) {
      for (const x of chunks) c.enqueue(x);
      c.close();
    },
  });
  const out = [];
  for await (const b of source.pipeThrough(sseTransformStream(exchange(), { onToServer: (b) => toServer.push(b.toString()) }))) {
    out.push(Buffer.from(b));
  }
  return { client: Buffer.concat(out).toString(), toServer };
}

/** The same through the Node Transform. */
async function throughNode(chunks) {
  const toServer = [];
  const t = new SseTransform(exchange());
  t.on("toServer", (b) => toServer.push(b.toString()));
  const out = [];
  await pipeline(Readable.from(chunks, { objectMode: false }), t, async function* (src) {
    for await (const b of src) out.push(b);
  });
  return { client: Buffer.concat(out).toString(), toServer };
}

test("the whole stream: judged as clients read it", async () => {
  const { client, toServer } = await throughWeb([STREAM]);
  // The list lost get-env, the server request and the non-message data never reach the
  // client; event ids and the comment are kept so Last-Event-ID still advances.
  assert.match(client, /"progress":1/);
  assert.match(client, /"tools":\[\{"name":"echo","description":"é ✓"\}\]/);
  assert.doesNotMatch(client, /get-env|sampling|not a message/);
  assert.match(client, /^id: 2$/m);
  assert.equal(toServer.length, 1);
  assert.equal(JSON.parse(toServer[0]).id, "srv");
  assert.deepEqual(await throughNode([STREAM]), { client, toServer });
});

test("every cut position and one byte at a time give the same bytes (both adapters)", async () => {
  const whole = await throughWeb([STREAM]);
  for (let at = 0; at <= STREAM.length; at++) {
    const cut = [STREAM.subarray(0, at), STREAM.subarray(at)].filter((b) => b.length > 0);
    assert.deepEqual(await throughWeb(cut), whole, `web, cut at ${at}`);
    assert.deepEqual(await throughNode(cut), whole, `node, cut at ${at}`);
  }
  const bytes = [...STREAM].map((b) => Buffer.from([b]));
  assert.deepEqual(await throughWeb(bytes), whole, "web, one byte at a time");
  assert.deepEqual(await throughNode(bytes), whole, "node, one byte at a time");
});

test("a stream that ends without answering gets an error; an unreadable event ends the stream", async () => {
  const cut = await throughWeb([Buffer.from('data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}\n\n')]);
  assert.match(cut.client, /"id":1,"error":\{"code":-32603/);
  const bad = Buffer.from('data: {"jsonrpc":"2.0","id":1,"result":\n\ndata: {"jsonrpc":"2.0","id":1,"result":{"tools":[]}}\n\n');
  for (const through of [throughWeb, throughNode]) {
    const r = await through([bad]);
    const events = r.client.split("\n\n").filter(Boolean);
    assert.equal(events.length, 1, `one error event, then the end: ${JSON.stringify(r.client)}`);
    assert.match(events[0], /"id":1,"error":\{"code":-32603/);
  }
});
