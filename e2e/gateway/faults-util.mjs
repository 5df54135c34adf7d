// Helpers for e2e/gateway/faults.test.mjs: the gateway's memory, raw HTTP over a socket, and
// the JSON-RPC messages of an answer whatever its form (the seeded PRNG is e2e/prng.mjs).
import { readFileSync } from "node:fs";
import { connect } from "node:net";

/** The process's resident set, in kB (VmRSS). */
export function rssKb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** RSS once it has stopped moving (two reads 250 ms apart within 256 kB), at most `ms`. */
export async function settledRssKb(pid, ms = 5000) {
  const end = Date.now() + ms;
  let last = rssKb(pid);
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 250));
    const now = rssKb(pid);
    if (Math.abs(now - last) < 256) return now;
    last = now;
  }
  return last;
}

/** The JSON-RPC messages of a response body, JSON or SSE (data lines that are not JSON throw). */
export function messagesOf(contentType, text) {
  if (!text) return [];
  if ((contentType ?? "").startsWith("text/event-stream")) {
    return text
      .split(/\n\n/)
      .map((b) =>
        b
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, ""))
          .join("\n"),
      )
      .filter((d) => d.length > 0)
      .map((d) => JSON.parse(d));
  }
  const m = JSON.parse(text);
  return Array.isArray(m) ? m : [m];
}

/**
 * Opens a raw connection to `port`, writes `head`, and resolves { socket, received (a getter),
 * closed (a promise of the received text when the gateway closes the connection) }.
 */
export function rawConnection(port, head = "") {
  return new Promise((ok, fail) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (d) => (received += d));
    const closed = new Promise((c) => socket.once("close", () => c(received)));
    socket.once("error", () => {});
    socket.once("connect", () => {
      if (head) socket.write(head);
      ok({ socket, received: () => received, closed });
    });
    socket.once("error", fail);
  });
}

/** Rejects after `ms` with `what`, else resolves with `p`. */
export function within(p, ms, what) {
  let t;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise((_, fail) => {
      t = setTimeout(() => fail(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

/** Runs `n` jobs (`job(i)`) with at most `width` at once. */
export async function pool(n, width, job) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await job(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}
