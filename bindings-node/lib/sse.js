// Stream adapters over an Exchange whose server answer is an event stream (after
// `exchange.serverHead(...)` said "stream"): each chunk the server sends, split anywhere, goes
// through `exchange.serverChunk`; what comes out is what the client may read. The end of the
// input is `exchange.finish()` (errors for the requests left waiting). Bodies the engine wants
// sent back to the server (errors answering the server requests the policy refused) are
// handed to `onToServer` / emitted as "toServer": POST each to the server as the client would.
"use strict";

const { Transform } = require("node:stream");

/**
 * A Web Streams `TransformStream` of server bytes to client bytes.
 * @param {import("../index").Exchange} exchange
 * @param {{ context?: import("../index").Context | object, onToServer?: (body: Buffer) => void }} [options]
 * @returns {TransformStream<Uint8Array, Uint8Array>}
 */
function sseTransformStream(exchange, options = {}) {
  const { context, onToServer } = options;
  let ended = false;
  const emit = (step, controller) => {
    const out = step.toClient;
    if (out.length > 0) controller.enqueue(new Uint8Array(out.buffer, out.byteOffset, out.length));
    if (onToServer) for (const body of step.toServer) onToServer(body);
    return step.end;
  };
  return new TransformStream({
    transform(chunk, controller) {
      if (ended) return;
      if (emit(exchange.serverChunk(chunk, context), controller)) {
        // The rest cannot be judged: close the client's stream after what was judged.
        ended = true;
        controller.terminate();
      }
    },
    flush(controller) {
      if (!ended) emit(exchange.finish(), controller);
    },
  });
}

/**
 * A Node `Transform` of server bytes to client bytes; emits `"toServer"` (a Buffer) for each
 * body to send back to the server. When the engine ends the stream early (an event that cannot
 * be read), the readable side ends and later input is discarded.
 */
class SseTransform extends Transform {
  /**
   * @param {import("../index").Exchange} exchange
   * @param {{ context?: import("../index").Context | object }} [options]
   */
  constructor(exchange, options = {}) {
    super();
    this.exchange = exchange;
    this.context = options.context;
    this.ended = false;
  }

  _emit(step) {
    const out = step.toClient;
    if (out.length > 0) this.push(out);
    for (const body of step.toServer) this.emit("toServer", body);
    return step.end;
  }

  _transform(chunk, _encoding, callback) {
    try {
      if (!this.ended && this._emit(this.exchange.serverChunk(chunk, this.context))) {
        this.ended = true;
        this.push(null);
      }
      callback();
    } catch (e) {
      callback(e);
    }
  }

  _flush(callback) {
    try {
      if (!this.ended) this._emit(this.exchange.finish());
      callback();
    } catch (e) {
      callback(e);
    }
  }
}

module.exports = { sseTransformStream, SseTransform };
