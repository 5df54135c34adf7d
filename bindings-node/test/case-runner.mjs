// Runs the language-neutral cases of cases/<folder>/*.json (format: cases/README.md) with the
// same strictness and matching rules as core/tests/case_runner/mod.rs: unknown keys, missing
// expectations, duplicate names and empty folders fail; every failure of every file is
// collected and reported at once, with file, case, JSON path, expected and actual values.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const forms = (key) => [key, `${key}Text`, `${key}File`];

/** Compact JSON, cut short (answers can hold whole list results). */
export function show(v) {
  const s = v === undefined ? "(absent)" : JSON.stringify(v);
  return s.length <= 600 ? s : `${s.slice(0, 600)}… (${s.length} bytes)`;
}

/**
 * The bytes of input `key` in `obj`: `X` (a JSON value, sent compact), `XText` (exact text)
 * or `XFile` (a file under the repository root, byte for byte). More than one is an error.
 */
export function resolveInput(obj, key) {
  const [plain, text, file] = forms(key);
  const given = [plain, text, file].filter((k) => Object.hasOwn(obj, k));
  if (given.length > 1) throw new Error(`give only one of ${JSON.stringify(given)}`);
  if (Object.hasOwn(obj, plain)) return Buffer.from(JSON.stringify(obj[plain]));
  if (Object.hasOwn(obj, text)) {
    if (typeof obj[text] !== "string") throw new Error(`\`${text}\` must be a string, not ${show(obj[text])}`);
    return Buffer.from(obj[text], "utf8");
  }
  if (Object.hasOwn(obj, file)) {
    if (typeof obj[file] !== "string") throw new Error(`\`${file}\` must be a path string, not ${show(obj[file])}`);
    try {
      return readFileSync(join(ROOT, obj[file]));
    } catch (e) {
      throw new Error(`\`${file}\`: cannot read ${obj[file]}: ${e.message}`);
    }
  }
  return undefined;
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function pushKey(path, k) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

/**
 * Matches `expected` against `actual` ("Matching an expectation" in cases/README.md); returns
 * the first mismatch `{path, expected, actual}` or null. `present` is false for a key the
 * answer does not have (only null matches it).
 */
export function matches(expected, actual, path = "$", present = true) {
  if (!present) return expected === null ? null : { path, expected: show(expected), actual: "(absent)" };
  if (isObject(expected) && isObject(actual)) {
    for (const [k, v] of Object.entries(expected)) {
      const p = pushKey(path, k);
      const base = k.endsWith("Json") && k.length > 4 ? k.slice(0, -4) : null;
      const m = base
        ? matchJsonText(v, actual[base], Object.hasOwn(actual, base), p)
        : matches(v, actual[k], p, Object.hasOwn(actual, k));
      if (m) return m;
    }
    return null;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      return {
        path,
        expected: `${expected.length} elements: ${show(expected)}`,
        actual: `${actual.length} elements: ${show(actual)}`,
      };
    }
    for (let i = 0; i < expected.length; i++) {
      const m = matches(expected[i], actual[i], `${path}[${i}]`, true);
      if (m) return m;
    }
    return null;
  }
  // Numbers by value (200 and 200.0 are one number here), everything else by equality.
  if (expected === actual && !isObject(expected) && !Array.isArray(expected)) return null;
  return { path, expected: show(expected), actual: show(actual) };
}

function matchJsonText(expected, actual, present, path) {
  if (!present || actual === null) return matches(expected, actual ?? null, path, present);
  if (typeof actual !== "string") {
    return { path, expected: `JSON text encoding ${show(expected)}`, actual: show(actual) };
  }
  let parsed;
  try {
    parsed = JSON.parse(actual);
  } catch (e) {
    return {
      path,
      expected: `JSON text encoding ${show(expected)}`,
      actual: `text that is not JSON (${e.message}): ${show(actual)}`,
    };
  }
  return matches(expected, parsed, true, path);
}

/** Failures are collected, not thrown, so one run lists everything that broke. */
export class Failures {
  list = [];
  add(file, name, what) {
    this.list.push(name ? `${file}: case \`${name}\`: ${what}` : `${file}: ${what}`);
  }
  finish(folder) {
    if (this.list.length) {
      throw new Error(
        `${this.list.length} failure(s) in cases/${folder}:\n` + this.list.map((f) => `\n- ${f}\n`).join(""),
      );
    }
  }
}

/** cases/<folder>/*.json, sorted; an empty folder is a failure. */
export function load(folder, failures) {
  const dir = join(ROOT, "cases", folder);
  let names;
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch (e) {
    failures.add(`cases/${folder}`, null, `cannot list the folder: ${e.message}`);
    return [];
  }
  if (names.length === 0) failures.add(`cases/${folder}`, null, "no case files (*.json) in the folder");
  const files = [];
  for (const n of names) {
    const path = `cases/${folder}/${n}`;
    let doc;
    try {
      doc = JSON.parse(readFileSync(join(dir, n), "utf8"));
    } catch (e) {
      failures.add(path, null, `not JSON: ${e.message}`);
      continue;
    }
    if (!isObject(doc)) {
      failures.add(path, null, `not a JSON object: ${show(doc)}`);
      continue;
    }
    files.push({ path, doc });
  }
  return files;
}

/**
 * Runs every case of `spec.folder` through `judge(case)` (the engine's answer, or throws why
 * the case cannot run) and matches the answer against the expectation. Returns the count;
 * throws with every failure at the end.
 */
export function run(spec, judge) {
  const failures = new Failures();
  const files = load(spec.folder, failures);
  const fileKeys = new Set(["description", "cases", ...spec.fileInputs.flatMap(forms)]);
  const caseKeys = new Set(["name", ...spec.caseKeys, ...spec.expects, ...spec.caseInputs.flatMap(forms)]);
  let count = 0;
  for (const file of files) {
    const bad = Object.keys(file.doc).filter((k) => !fileKeys.has(k));
    if (bad.length) {
      failures.add(file.path, null, `unknown top-level keys ${JSON.stringify(bad)}`);
      continue;
    }
    if (typeof file.doc.description !== "string") failures.add(file.path, null, "no `description` string");
    const cases = file.doc.cases;
    if (!Array.isArray(cases) || cases.length === 0) {
      failures.add(file.path, null, "`cases` must be a non-empty array");
      continue;
    }
    const names = new Set();
    cases.forEach((c, i) => {
      if (!isObject(c)) return failures.add(file.path, null, `cases[${i}] is not an object`);
      if (typeof c.name !== "string") return failures.add(file.path, null, `cases[${i}] has no \`name\` string`);
      if (names.has(c.name)) failures.add(file.path, c.name, "the name is used twice in the file");
      names.add(c.name);
      const badKeys = Object.keys(c).filter((k) => !caseKeys.has(k));
      if (badKeys.length) return failures.add(file.path, c.name, `unknown keys ${JSON.stringify(badKeys)}`);
      const given = spec.expects.filter((k) => Object.hasOwn(c, k));
      if (given.length !== 1) {
        return failures.add(
          file.path,
          c.name,
          `needs exactly one of ${JSON.stringify(spec.expects)}, has ${JSON.stringify(given)}`,
        );
      }
      const expectKey = given[0];
      count++;
      const kase = {
        file,
        name: c.name,
        obj: c,
        expectKey,
        input: (key) => resolveInput(c, key) ?? resolveInput(file.doc, key),
        gives: (key) => forms(key).some((k) => Object.hasOwn(c, k)),
      };
      let actual;
      try {
        actual = judge(kase);
      } catch (e) {
        return failures.add(file.path, c.name, `cannot run: ${e.message}`);
      }
      const m = matches(c[expectKey], actual);
      if (m) {
        failures.add(
          file.path,
          c.name,
          `\`${expectKey}\` at ${m.path}: expected ${m.expected}, got ${m.actual}\n  answer: ${show(actual)}`,
        );
      }
    });
  }
  failures.finish(spec.folder);
  return { count, files: files.length };
}
