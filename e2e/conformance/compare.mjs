// Compares per-check conformance results of a direct run and a run through the gateway.
//   node compare.mjs <direct-results-dir> <gateway-results-dir> <label>
// Exit 1 when any check differs, except the improvements the gateway is expected to bring.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// Checks the gateway must turn green (it enforces the Origin/Host allow-list itself).
const IMPROVEMENTS = new Set(["dns-rebinding-protection:localhost-host-rebinding-rejected"]);

function load(dir) {
  const out = new Map();
  for (const d of readdirSync(dir)) {
    const scenario = d.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T.*$/, "");
    const checks = JSON.parse(readFileSync(join(dir, d, "checks.json"), "utf8"));
    for (const c of checks) {
      if (c.status === "INFO") continue;
      const key = `${scenario}:${c.id}`;
      // A check id can repeat inside a scenario; keep the worst status.
      const prev = out.get(key);
      if (!prev || prev === "SUCCESS") out.set(key, c.status);
    }
  }
  return out;
}

const [directDir, gwDir, label] = process.argv.slice(2);
const direct = load(directDir);
const gw = load(gwDir);
const keys = [...new Set([...direct.keys(), ...gw.keys()])].sort();
let bad = 0;
let same = 0;
const rows = [];
for (const k of keys) {
  const a = direct.get(k) ?? "absent";
  const b = gw.get(k) ?? "absent";
  if (IMPROVEMENTS.has(k)) {
    const ok = b === "SUCCESS";
    rows.push(`${ok ? "improved" : "NOT IMPROVED"}  ${k}: direct ${a}, ${label} ${b}`);
    if (!ok) bad++;
    continue;
  }
  if (a === b) {
    same++;
    continue;
  }
  bad++;
  rows.push(`DIFFERS  ${k}: direct ${a}, ${label} ${b}`);
}
const passed = (m) => [...m.values()].filter((s) => s === "SUCCESS").length;
console.log(
  `${label}: ${keys.length} checks; direct ${passed(direct)} passed / ${direct.size - passed(direct)} not; ` +
    `${label} ${passed(gw)} passed / ${gw.size - passed(gw)} not; ${same} identical`,
);
for (const r of rows) console.log(`  ${r}`);
process.exit(bad ? 1 : 0);
