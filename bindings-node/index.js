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
