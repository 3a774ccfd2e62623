// Tests of plugin discovery: every plugin export of a module or folder, duplicates named, bundled ones.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { BUNDLED_PLUGINS_SPECIFIER, discoverPlugins } from "./discover.ts";
import { DuplicatePluginNameError, PluginDiscoveryError } from "./errors.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURE = join(ROOT, "tests", "support", "fixtures", "user_plugins", "my_plugins.ts");

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Writes `files` into a fresh temp folder; plugins there are plain objects (no package imports). */
async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "apisix-discover-test-"));
  dirs.push(dir);
  for (const [name, source] of Object.entries(files)) await writeFile(join(dir, name), source);
  return dir;
}

function plugin(name: string): string {
  return `{ name: ${JSON.stringify(name)}, parseConf: (raw: string) => raw }`;
}

describe("discoverPlugins()", () => {
  test("takes every plugin export and plugin array of a file, and nothing else", async () => {
    const found = await discoverPlugins([FIXTURE], { cwd: ROOT });
    assert.deepEqual(
      found.map((p) => [p.name, p.access, p.bundled]),
      [["body-length", ".plugins[0]", false], ["tenant-gate", ".tenantGate", false]],
    );
    assert.ok(found.every((p) => p.file === FIXTURE && p.plugin.name === p.name));
  });

  test("gives the bundled plugins with withBundled, before the user's", async () => {
    const bundled = await discoverPlugins([], { cwd: ROOT, withBundled: true });
    assert.equal(bundled[0]?.name, "say");
    assert.ok(bundled.every((p) => p.bundled && p.file === BUNDLED_PLUGINS_SPECIFIER));
    const both = await discoverPlugins([FIXTURE], { cwd: ROOT, withBundled: true });
    assert.deepEqual(both.map((p) => p.name), [
      ...bundled.map((p) => p.name),
      "body-length",
      "tenant-gate",
    ]);
  });

  test("reads a folder's *.ts files in name order, without tests, _-prefixed and .d.ts files", async () => {
    const dir = await folderWith({
      "b.ts": `export const b = ${plugin("b")};`,
      "a.ts": `export default ${plugin("a")};\nexport const helper = 1;`,
      "a_test.ts": `throw new Error("a test file was imported");`,
      "_shared.ts": `throw new Error("a _-prefixed file was imported");`,
      "types.d.ts": `export {};`,
      "notes.md": "not code",
    });
    const found = await discoverPlugins([dir], { cwd: dir });
    assert.deepEqual(found.map((p) => [p.name, p.access]), [["a", ".default"], ["b", ".b"]]);
  });

  test("takes a plugin exported twice once", async () => {
    const dir = await folderWith({
      "twice.ts": `export const one = ${plugin("one")};\nexport const all = [one];`,
    });
    const found = await discoverPlugins([join(dir, "twice.ts")], { cwd: dir });
    assert.deepEqual(found.map((p) => [p.name, p.access]), [["one", ".all[0]"]]);
  });

  test("fails naming both files when two plugins share a name", async () => {
    const dir = await folderWith({
      "first.ts": `export const greet = ${plugin("greet")};`,
      "second.ts": `export const hello = ${plugin("greet")};`,
    });
    await assert.rejects(discoverPlugins([dir], { cwd: dir }), (error: unknown) => {
      assert.ok(error instanceof DuplicatePluginNameError);
      assert.equal(error.pluginName, "greet");
      assert.match(error.message, /first\.ts \(export greet\) and .*second\.ts \(export hello\)/);
      return true;
    });
  });

  test("fails naming the bundled plugin when a user plugin reuses a bundled name", async () => {
    const dir = await folderWith({ "mine.ts": `export const mySay = ${plugin("say")};` });
    await assert.rejects(
      discoverPlugins([join(dir, "mine.ts")], { cwd: ROOT, withBundled: true }),
      /Two plugins are named "say": the bundled example plugin and .*mine\.ts \(export mySay\)/,
    );
  });

  test("fails for a missing path and for a file without plugins", async () => {
    const dir = await folderWith({ "empty.ts": `export const answer = 42;` });
    await assert.rejects(
      discoverPlugins([join(dir, "nope.ts")], { cwd: dir }),
      PluginDiscoveryError,
    );
    await assert.rejects(
      discoverPlugins([join(dir, "empty.ts")], { cwd: dir }),
      /empty\.ts exports no plugin/,
    );
    await assert.rejects(discoverPlugins([], { cwd: dir }), /No plugins to serve: pass --plugins/);
  });
});
