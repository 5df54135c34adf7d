import { Transform } from "node:stream";
import type { Context, Exchange } from "../index";

/** Options of the SSE adapters. */
export interface SseOptions {
  /** The context conditions read (the request's). */
  context?: Context | object;
  /** Called with each body to POST back to the server (errors answering refused server requests). */
  onToServer?: (body: Buffer) => void;
}

/**
 * A Web Streams TransformStream of the server's event-stream bytes (split anywhere) to the bytes
 * the client may read: each chunk through `exchange.serverChunk`, the end through `exchange.finish()`.
 */
export declare function sseTransformStream(exchange: Exchange, options?: SseOptions): TransformStream<Uint8Array, Uint8Array>;

/** The same as a Node Transform; emits "toServer" (a Buffer) for each body to send back to the server. */
export declare class SseTransform extends Transform {
  constructor(exchange: Exchange, options?: { context?: Context | object });
  readonly exchange: Exchange;
  on(event: "toServer", listener: (body: Buffer) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}
