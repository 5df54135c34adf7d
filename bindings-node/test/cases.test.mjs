// The shared cases (cases/policy, cases/expr, cases/exchange) through the Node API, with the
// same outcomes as core/tests/cases_{policy,expr,exchange}.rs: each answer is the result's
// `answer` (core's answer format), or the thrown error's `answer`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createRequire } from "node:module";

import { Failures, ROOT, load, matches, resolveInput, run, show } from "./case-runner.mjs";

const require = createRequire(import.meta.url);
const { Context, Policy, Step, evaluate } = require("../index.js");

/** A thrown error's answer (core's `{"error": …}`), or the error itself when it has none. */
function answerOf(fn) {
  try {
    return fn().answer;
  } catch (e) {
    if (e.answer) return e.answer;
    throw e;
  }
}

function contextOf(bytes) {
  return bytes === undefined ? undefined : new Context(bytes);
}

test("cases/policy", () => {
  const r = run(
    {
      folder: "policy",
      fileInputs: ["policy", "context"],
      caseInputs: ["policy", "message", "request", "response", "context"],
      caseKeys: [],
      expects: ["expect", "expectPolicy"],
    },
    (c) => {
      const policy = c.input("policy");
      if (!policy) throw new Error("no policy (neither the case nor its file gives one)");
      if (c.expectKey === "expectPolicy") {
        if (["message", "request", "response", "context"].some((k) => c.gives(k))) {
          throw new Error("an `expectPolicy` case judges only its policy");
        }
        try {
          Policy.fromJson(policy);
        } catch (e) {
          assert.equal(e.code, "INVALID_POLICY");
          return e.answer;
        }
        throw new Error("the policy compiled; `expectPolicy` expects it refused");
      }
      let p;
      try {
        p = Policy.fromJson(policy);
      } catch (e) {
        throw new Error(`the policy does not compile: ${show(e.answer)}`);
      }
      const ctx = contextOf(c.input("context"));
      const [message, request, response] = ["message", "request", "response"].map((k) => c.input(k));
      if (message && !request && !response) return p.check(message, ctx).answer;
      if (!message && request && response) return answerOf(() => p.filterResponse(request, response, ctx));
      throw new Error("give either `message`, or `request` and `response`");
    },
  );
  assert.ok(r.count > 100, `ran ${r.count} cases`);
});

test("cases/expr", () => {
  const r = run(
    {
      folder: "expr",
      fileInputs: ["context", "message"],
      caseInputs: ["context", "message"],
      caseKeys: ["expression", "type"],
      expects: ["expect"],
    },
    (c) => {
      if (typeof c.obj.expression !== "string") throw new Error("no `expression`");
      const type = c.obj.type ?? "auto";
      if (!["auto", "string", "boolean"].includes(type)) throw new Error(`unknown \`type\` ${show(type)}`);
      const ctx = contextOf(c.input("context"));
      const message = c.input("message");
      try {
        return { value: evaluate(c.obj.expression, ctx, message, type) };
      } catch (e) {
        if (e.code === "INVALID_EXPRESSION" || e.code === "EVALUATION_FAILED") return e.answer;
        throw e;
      }
    },
  );
  assert.ok(r.count > 100, `ran ${r.count} cases`);
});

// ---- exchange -------------------------------------------------------------------------------

const FILE_KEYS = ["description", "policy", "policyFile", "options", "cases"];
const CASE_KEYS = ["name", "resumable", "steps"];
const STEP_KEYS = [
  "body", "bodyText", "bodyFile", "headers", "context", "data", "dataText", "dataFile", "status",
  "contentType", "contentEncoding", "lastEventId", "failure", "detail", "streaming",
];
const STEP_KINDS = ["client", "head", "chunks", "finish", "body", "message", "stream", "route", "fail", "failAll"];
const MAX_SPLIT_REPLAY = 16 * 1024;

function chunkList(step) {
  if (!Array.isArray(step.data)) throw new Error('`chunks` steps give their bytes as `data`: ["…", …]');
  return step.data.map((c) => {
    if (typeof c !== "string") throw new Error("each chunk is a string");
    return Buffer.from(c, "utf8");
  });
}

function label(step, kind) {
  if (typeof step[kind] !== "string") throw new Error(`\`${kind}\` must name the exchange (a string)`);
  return step[kind];
}

function headerValue(v) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new Error(`a header value must be a string, found ${show(v)}`);
  return v;
}

/** One run of a case: a session, its exchanges by name, and the names by exchange id. */
class Run {
  constructor(guard, resumable) {
    this.guard = guard;
    this.session = guard.session();
    if (resumable) this.session.setResumable(true);
    this.exchanges = new Map();
    this.labels = new Map();
  }

  exchange(name) {
    const ex = this.exchanges.get(name);
    if (!ex) throw new Error(`no exchange named \`${name}\` (open it with a \`client\` or \`stream\` step first)`);
    return ex;
  }

  step(step, split) {
    const kind = STEP_KINDS.find((k) => Object.hasOwn(step, k));
    if (!kind) throw new Error(`a step needs one of ${JSON.stringify(STEP_KINDS)}`);
    const ctx = step.context === undefined ? undefined : new Context(step.context);
    switch (kind) {
      case "client": {
        const name = label(step, "client");
        const body = resolveInput(step, "body");
        if (!body) throw new Error("`client` needs `body` or `bodyText`");
        let headers;
        if (step.headers === undefined) headers = [["content-type", "application/json"]];
        else if (Array.isArray(step.headers)) {
          headers = step.headers.map((p) => {
            if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") {
              throw new Error(`a header pair is [name, value], found ${show(p)}`);
            }
            return p;
          });
        } else if (step.headers && typeof step.headers === "object") {
          headers = Object.entries(step.headers).map(([k, v]) => [k, headerValue(v) ?? ""]);
        } else throw new Error("`headers` is an object or a list of [name, value]");
        const v = this.guard.client(body, headers, ctx, this.session);
        if (v.verdict === "forward") {
          const ex = v.exchange;
          this.labels.set(ex.id, name);
          this.exchanges.set(name, ex);
        }
        return v.answer;
      }
      case "stream": {
        const name = label(step, "stream");
        const ex = this.guard.stream(this.session, headerValue(step.lastEventId));
        this.labels.set(ex.id, name);
        this.exchanges.set(name, ex);
        return {};
      }
      case "head": {
        const ex = this.exchange(label(step, "head"));
        const status = typeof step.status === "number" ? step.status : 200;
        return { head: ex.serverHead(status, headerValue(step.contentType), headerValue(step.contentEncoding)) };
      }
      case "chunks": {
        const chunks = split ?? chunkList(step);
        const ex = this.exchange(label(step, "chunks"));
        const all = new Step();
        for (const c of chunks) all.merge(ex.serverChunk(c, ctx));
        return all.answer;
      }
      case "finish":
        return this.exchange(label(step, "finish")).finish().answer;
      case "body": {
        const bytes = resolveInput(step, "data");
        if (!bytes) throw new Error("`body` steps give `data` or `dataText`");
        return this.exchange(label(step, "body")).serverBody(bytes, ctx).answer;
      }
      case "message": {
        const bytes = resolveInput(step, "data");
        if (!bytes) throw new Error("`message` steps give `data` or `dataText`");
        const ex = this.exchange(label(step, "message"));
        return answerOf(() => ex.serverMessage(bytes, ctx));
      }
      case "route": {
        const bytes = resolveInput(step, "data");
        if (!bytes) throw new Error("`route` steps give `data` or `dataText`");
        const r = this.session.route(bytes);
        return { route: typeof r === "number" ? (this.labels.get(r) ?? `#${r}`) : r };
      }
      case "fail": {
        const ex = this.exchange(label(step, "fail"));
        const detail = typeof step.detail === "string" ? step.detail : "failed";
        return step.streaming === true
          ? ex.failStream(step.failure, detail).answer
          : ex.failReply(step.failure, detail).answer;
      }
      case "failAll": {
        const message = typeof step.failAll === "string" ? step.failAll : "failed";
        return this.session.failAll(message, -32603).map((f) => [this.labels.get(f.exchange) ?? "", f.body]);
      }
    }
    throw new Error("unreachable");
  }
}

function runCase(guard, kase, split, f, file, name, variant) {
  const run = new Run(guard, kase.resumable === true);
  if (!Array.isArray(kase.steps)) return f.add(file, name, "a case needs `steps` (an array)");
  for (const [i, step] of kase.steps.entries()) {
    if (step === null || typeof step !== "object" || Array.isArray(step)) {
      return f.add(file, name, `step ${i} is not an object`);
    }
    const bad = Object.keys(step).filter((k) => !STEP_KINDS.includes(k) && !STEP_KEYS.includes(k) && k !== "expect");
    if (bad.length) return f.add(file, name, `step ${i}: unknown step keys ${JSON.stringify(bad)}`);
    let actual;
    try {
      actual = run.step(step, split && split.at === i ? split.chunks : undefined);
    } catch (e) {
      return f.add(file, name, `step ${i}${variant}: cannot run: ${e.message}`);
    }
    if (Object.hasOwn(step, "expect")) {
      const m = matches(step.expect, actual);
      if (m) {
        return f.add(
          file,
          name,
          `step ${i}${variant}: \`expect\` at ${m.path}: expected ${m.expected}, got ${m.actual}\n  answer: ${show(actual)}`,
        );
      }
    } else if (!Object.hasOwn(step, "stream")) {
      return f.add(file, name, `step ${i} needs \`expect\``);
    }
  }
}

function policyOf(doc) {
  if (doc.policy !== undefined && doc.policyFile === undefined) return JSON.stringify(doc.policy);
  if (doc.policy === undefined && typeof doc.policyFile === "string") return readFileSync(join(ROOT, doc.policyFile));
  throw new Error("give `policy` or `policyFile`");
}

test("cases/exchange, each chunks step also split at every byte and fed one byte at a time", () => {
  const f = new Failures();
  const files = load("exchange", f);
  let count = 0;
  let replays = 0;
  for (const file of files) {
    const bad = Object.keys(file.doc).filter((k) => !FILE_KEYS.includes(k));
    if (bad.length) {
      f.add(file.path, null, `unknown top-level keys ${JSON.stringify(bad)}`);
      continue;
    }
    let guard;
    try {
      const o = file.doc.options ?? {};
      guard = Policy.fromJson(policyOf(file.doc)).guard({
        resourceMetadataUrl: o.resourceMetadataUrl,
        maxPending: o.maxPending,
        challengeScopes: o.challengeScopes,
      });
    } catch (e) {
      f.add(file.path, null, e.message);
      continue;
    }
    if (!Array.isArray(file.doc.cases)) {
      f.add(file.path, null, "`cases` must be an array");
      continue;
    }
    for (const kase of file.doc.cases) {
      if (typeof kase?.name !== "string") {
        f.add(file.path, null, "a case has no `name`");
        continue;
      }
      const badKeys = Object.keys(kase).filter((k) => !CASE_KEYS.includes(k));
      if (badKeys.length) {
        f.add(file.path, kase.name, `unknown keys ${JSON.stringify(badKeys)}`);
        continue;
      }
      count++;
      runCase(guard, kase, null, f, file.path, kase.name, "");
      for (const [i, step] of (kase.steps ?? []).entries()) {
        if (!step || !Object.hasOwn(step, "chunks")) continue;
        let chunks;
        try {
          chunks = chunkList(step);
        } catch {
          continue;
        }
        const whole = Buffer.concat(chunks);
        if (whole.length > MAX_SPLIT_REPLAY) continue;
        for (let at = 0; at <= whole.length; at++) {
          replays++;
          const cut = [whole.subarray(0, at), whole.subarray(at)];
          runCase(guard, kase, { at: i, chunks: cut }, f, file.path, kase.name, ` (cut at byte ${at})`);
        }
        const bytes = [...whole].map((b) => Buffer.from([b]));
        replays++;
        runCase(guard, kase, { at: i, chunks: bytes }, f, file.path, kase.name, " (one byte at a time)");
      }
    }
  }
  f.finish("exchange");
  assert.ok(count > 50, `ran ${count} cases`);
  assert.ok(replays > 1000, `replayed ${replays} splits`);
});
