// The npm package `mcp-policy`: loads the native addon built for this platform
// (`mcp-policy.node`, from `napi build`) and makes every error it throws speak core's error
// set. Types: index.d.ts (generated from the Rust doc comments).
//
// Errors: the addon throws `Error`s whose `code` is core's stable name (`SYNTAX`,
// `INVALID_POLICY`...) and keeps the rest of the error answer aside; this file attaches it
// (`number`, `path`, `offset`, `hint`, `issues`, `position`, `status`, `wwwAuthenticate` when
// the error has them, and `answer`: the whole error answer). An argument napi-rs could not
// convert (a number where a string goes) becomes `INVALID_ARGUMENT`, a panic (a bug)
// `INTERNAL`, so that every error of this package has a code of the one set.
"use strict";

const native = require("./mcp-policy.node");

const CODES = new Map(native.errorCodes().map((c) => [c.name, c.number]));

function fix(e) {
  if (!(e instanceof Error)) return e;
  const detail = native.__takeErrorDetail();
  if (detail && detail.error && detail.error.code === e.code) {
    for (const [k, v] of Object.entries(detail.error)) {
      if (k !== "code" && k !== "message") e[k] = v;
    }
    e.answer = detail;
    return e;
  }
  if (CODES.has(e.code)) return e;
  // napi-rs's own errors: a failed argument conversion, or a panic caught at the boundary.
  const internal = e.code === "GenericFailure";
  e.napiStatus = e.code;
  e.code = internal ? "INTERNAL" : "INVALID_ARGUMENT";
  e.number = CODES.get(e.code);
  if (internal) e.message = `internal error (a bug, please report it): ${e.message}`;
  return e;
}

function wrap(fn) {
  return function (...args) {
    try {
      return fn.apply(this, args);
    } catch (e) {
      throw fix(e);
    }
  };
}

// Prototype methods and getters are wrapped in place (napi-rs defines them configurable).
// Static factories are not configurable, so the class is exported as a constructor of its
// own that shares the native prototype (`instanceof` holds for every instance, whichever
// call made it) and carries wrapped statics.
function wrapClass(cls) {
  const proto = cls.prototype;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === "constructor") continue;
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (typeof d.value === "function") {
      Object.defineProperty(proto, name, { ...d, value: wrap(d.value) });
    } else if (d.get) {
      Object.defineProperty(proto, name, { ...d, get: wrap(d.get), set: d.set && wrap(d.set) });
    }
  }
  const Class = function (...args) {
    if (new.target === undefined) throw new TypeError(`Class constructor ${cls.name} cannot be invoked without 'new'`);
    try {
      return Reflect.construct(cls, args, new.target === Class ? cls : new.target);
    } catch (e) {
      throw fix(e);
    }
  };
  Class.prototype = proto;
  Object.defineProperty(Class, "name", { value: cls.name });
  for (const name of Object.getOwnPropertyNames(cls)) {
    if (["prototype", "length", "name", "caller", "arguments"].includes(name)) continue;
    const v = cls[name];
    Class[name] = typeof v === "function" ? wrap(v) : v;
  }
  return Class;
}

for (const [name, value] of Object.entries(native)) {
  if (name === "__takeErrorDetail") continue;
  if (typeof value !== "function") {
    module.exports[name] = value;
  } else if (/^[A-Z]/.test(name)) {
    module.exports[name] = wrapClass(value);
  } else {
    module.exports[name] = wrap(value);
  }
}

// ---- Policy.check and its Decision ----------------------------------------------------------
//
// `check` asks the addon for the verdict only (a number: allowed, HTTP status), and the
// Decision asks for core's whole answer (`__answer`) the first time a field beyond `allowed`
// and `status` is read. Creating an object in Rust for every check costs more than judging the
// message, and most callers read `allowed` only. Judging is deterministic, so the answer is
// computed from what the verdict was: the same bytes (a Buffer is copied, an object
// stringified once) and the same context (an object stringified once, a Context is immutable).

const { Context, Policy } = module.exports;

function invalidArgument(message) {
  const e = new Error(message);
  e.code = "INVALID_ARGUMENT";
  e.number = CODES.get("INVALID_ARGUMENT");
  return e;
}

function frozen(value, what, isContext) {
  if (value === undefined || value === null || typeof value === "string") return value ?? undefined;
  if (value instanceof Uint8Array) return Buffer.from(value); // a copy: later writes change nothing
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value; // the addon refuses them (INVALID_ARGUMENT)
  if (isContext && value instanceof Context) return value;
  if (typeof value !== "object") return value; // the addon refuses it with INVALID_ARGUMENT
  try {
    return JSON.stringify(value);
  } catch (e) {
    throw invalidArgument(`${what}: JSON.stringify failed (${e.message}); pass a Buffer or a string`);
  }
}

/** The decision on a message (`Policy.check`); see index.d.ts. */
class Decision {
  #policy;
  #message;
  #context;
  #answer;

  constructor(policy, message, context, verdict) {
    this.#policy = policy;
    this.#message = message;
    this.#context = context;
    /** Whether the message may be forwarded (a batch: every message of it). */
    this.allowed = (verdict & 1) === 1;
    /** The HTTP status to answer with; null for a batch. */
    this.status = verdict >>> 1 || null;
  }

  /** Core's answer (`answer::check`). */
  get answer() {
    if (this.#answer === undefined) this.#answer = JSON.parse(this.#policy.__answer(this.#message, this.#context));
    return this.#answer;
  }
  #field(key) {
    const v = this.answer[key];
    return v === undefined ? null : v;
  }
  get decision() { return this.#field("decision"); }
  get reason() { return this.#field("reason"); }
  get rule() { return this.#field("rule"); }
  get kind() { return this.#field("kind"); }
  get mode() { return this.#field("mode"); }
  get requiredScopes() { return this.#field("requiredScopes") ?? []; }
  get error() { return this.#field("error"); }
  get response() { return this.#field("response"); }
  get code() { return this.#field("code"); }
  get audit() { return this.#field("audit"); }
  get batch() { return this.#field("batch"); }
  toJSON() { return this.answer; }
}

Object.defineProperty(Policy.prototype, "check", {
  configurable: true,
  writable: true,
  value: function check(message, context) {
    const m = frozen(message, "message", false);
    const c = frozen(context, "context", true);
    return new Decision(this, m, c, this.__verdict(m, c));
  },
});

module.exports.Decision = Decision;
