import type { IncomingMessage, ServerResponse, Server } from "node:http";
import type { Context, Guard, LimitsOptions, Policy, Session } from "../index";

/** Options shared by the middleware and the proxy. */
export interface CommonOptions {
  /** The protected resource metadata URL named in step-up challenges (when `policy` is not a Guard). */
  resourceMetadataUrl?: string;
  /** Most requests waiting per session (when `policy` is not a Guard). */
  maxPending?: number;
  /** Most sessions remembered (default 10,000; the oldest is forgotten first). */
  maxSessions?: number;
  /** The engine's limits when `policy` is a document (a Policy or Guard has its own): bodies are
   * read up to `maxBodyBytes` + 1 bytes and a larger one is refused by the engine (413). */
  limits?: LimitsOptions;
  /** The context conditions read, per request (default: the request's visible headers). */
  context?: (req: IncomingMessage) => Context | object;
  /** Errors of the host part (a failed post back, a broken socket). Default: process warnings. */
  onError?: (e: unknown) => void;
}

/** Options of the reverse proxy. */
export interface ProxyOptions extends CommonOptions {
  /** The MCP server's Streamable HTTP endpoint, e.g. http://127.0.0.1:3001/mcp. */
  upstream: string | URL;
  /** Milliseconds to wait for the server's response head (default 30,000): then 504. */
  timeoutMs?: number;
  /** Forward the client's Authorization header (default false: no token passthrough). */
  forwardAuthorization?: boolean;
}

/** Options of the middleware. */
export interface MiddlewareOptions extends CommonOptions {
  /** Sends a body the engine wrote back to the app (default: a POST to the same URL). */
  postBack?: (body: Buffer, req: IncomingMessage) => void;
}

/** The engine's sessions by Mcp-Session-Id. */
export declare class Sessions {
  constructor(guard: Guard, max?: number);
  get(id: string | undefined): Session;
  bind(id: string, session: Session): Session;
  delete(id: string): void;
  readonly size: number;
}

/** Hop-by-hop header names (lowercase). */
export declare const HOP_BY_HOP: Set<string>;

/** A middleware for Node's http and Express enforcing `policy` in front of an MCP app mounted after it. */
export declare function mcpPolicy(
  policy: Policy | Guard | object | string,
  options?: MiddlewareOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => Promise<void>;

/** A request handler enforcing `policy` in front of the MCP server at `options.upstream`. */
export declare function createProxyHandler(
  policy: Policy | Guard | object | string,
  options: ProxyOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** An http.Server running createProxyHandler (not listening yet). */
export declare function createProxyServer(policy: Policy | Guard | object | string, options: ProxyOptions): Server;
