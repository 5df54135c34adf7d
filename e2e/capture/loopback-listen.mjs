// Preloaded into the server-everything process (`node --import`) by capture.mjs.
//
// server-everything calls `app.listen(PORT)`, which binds every interface. This module
// makes any `server.listen(port[, backlog][, callback])` or `server.listen({ port })` that
// names no host bind 127.0.0.1 instead, so the capture never exposes the server beyond
// loopback. Everything else about the server is left untouched.
import net from "node:net";

const LOOPBACK = "127.0.0.1";
const originalListen = net.Server.prototype.listen;

net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first, second] = args;
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    if (typeof second !== "string") {
      // listen(port), listen(port, cb), listen(port, backlog, cb): insert the host.
      return originalListen.call(this, Number(first), LOOPBACK, ...args.slice(1));
    }
  } else if (first && typeof first === "object" && !Array.isArray(first) && "port" in first && first.host === undefined) {
    return originalListen.call(this, { ...first, host: LOOPBACK }, ...args.slice(1));
  }
  return originalListen.apply(this, args);
};
