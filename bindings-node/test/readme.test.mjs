// The README's examples run as written: every ```js block of README.md is written to a file of
// its own and run by `node` in a child process, with `require("mcp-policy")` (and its subpaths)
// resolving to this package through NODE_PATH (a temporary node_modules/mcp-policy linking here,
// then this package's node_modules for express).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const readme = readFileSync(join(pkg, "README.md"), "utf8");

/** The ```js blocks of `text`, with the line each starts on. */
function jsBlocks(text) {
  const blocks = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```js") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== "```") end++;
    assert.ok(end < lines.length, `the block at README.md:${start} is closed`);
    blocks.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return blocks;
}

const blocks = jsBlocks(readme);
const dir = mkdtempSync(join(tmpdir(), "mcp-policy-readme-"));
mkdirSync(join(dir, "node_modules"));
symlinkSync(pkg, join(dir, "node_modules", "mcp-policy"), "dir");
const NODE_PATH = [join(dir, "node_modules"), join(pkg, "node_modules")].join(delimiter);

describe("README.md examples", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("there are examples to run", () => {
    assert.ok(blocks.length >= 3, `found ${blocks.length} js blocks`);
  });

  for (const { line, code } of blocks) {
    test(`the block at README.md:${line} runs`, () => {
      const file = join(dir, `readme-${line}.cjs`);
      writeFileSync(file, code + "\n");
      const r = spawnSync(process.execPath, [file], {
        cwd: dir,
        env: { ...process.env, NODE_PATH },
        encoding: "utf8",
        timeout: 30_000,
      });
      assert.equal(r.error, undefined, String(r.error));
      assert.equal(r.status, 0, `exit ${r.status} (signal ${r.signal})\n${r.stdout}\n${r.stderr}`);
    });
  }
});
