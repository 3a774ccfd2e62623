// Tests of the build script's plugin discovery, generated entry, Deno permissions and denort lookup.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  denoPermissionFlags,
  discoverPlugins,
  DuplicatePluginNameError,
  findDenort,
  PluginDiscoveryError,
  renderEntry,
  ROOT,
} from "./build.ts";

const FIXTURE = join(ROOT, "tests", "fixtures", "user_plugins", "my_plugins.ts");

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Writes `files` into a fresh temp folder; plugins there are plain objects (no package imports). */
async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "apisix-build-test-"));
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
    assert.ok(found.every((p) => p.file === FIXTURE && p.definedIn === FIXTURE));
  });

  test("gives the bundled plugins when no path is given, and adds them with withBundled", async () => {
    const bundled = await discoverPlugins([], { cwd: ROOT });
    assert.equal(bundled[0]?.name, "say");
    assert.ok(bundled.every((p) => p.bundled && p.file === join(ROOT, "plugins", "mod.ts")));
    assert.equal(bundled[0]?.definedIn, join(ROOT, "plugins", "say.ts"));
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
    const found = await discoverPlugins([dir]);
    assert.deepEqual(found.map((p) => [p.name, p.access]), [["a", ".default"], ["b", ".b"]]);
  });

  test("takes a plugin exported twice once", async () => {
    const dir = await folderWith({
      "twice.ts": `export const one = ${plugin("one")};\nexport const all = [one];`,
    });
    const found = await discoverPlugins([join(dir, "twice.ts")]);
    assert.deepEqual(found.map((p) => [p.name, p.access]), [["one", ".all[0]"]]);
  });

  test("fails naming both files when two plugins share a name", async () => {
    const dir = await folderWith({
      "first.ts": `export const greet = ${plugin("greet")};`,
      "second.ts": `export const hello = ${plugin("greet")};`,
    });
    await assert.rejects(discoverPlugins([dir]), (error: unknown) => {
      assert.ok(error instanceof DuplicatePluginNameError);
      assert.equal(error.pluginName, "greet");
      assert.match(error.message, /first\.ts \(export greet\) and .*second\.ts \(export hello\)/);
      return true;
    });
  });

  test("fails naming the bundled file when a user plugin reuses a bundled name", async () => {
    const dir = await folderWith({ "mine.ts": `export const mySay = ${plugin("say")};` });
    await assert.rejects(
      discoverPlugins([join(dir, "mine.ts")], { cwd: ROOT, withBundled: true }),
      /Two plugins are named "say": plugins\/say\.ts \(bundled\) and .*mine\.ts \(export mySay\)/,
    );
  });

  test("fails for a missing path and for a file without plugins", async () => {
    const dir = await folderWith({ "empty.ts": `export const answer = 42;` });
    await assert.rejects(discoverPlugins([join(dir, "nope.ts")]), PluginDiscoveryError);
    await assert.rejects(
      discoverPlugins([join(dir, "empty.ts")]),
      /empty\.ts exports no plugin/,
    );
  });
});

test("renderEntry() imports each module statically and lists each plugin once", async () => {
  const found = await discoverPlugins([FIXTURE], { cwd: ROOT, withBundled: true });
  const source = renderEntry(found, {
    entryDir: join(ROOT, "dist", ".entry", "x"),
    programName: "my-runner",
  });
  assert.match(source, /^import \{ runRunner \} from "\.\.\/\.\.\/\.\.\/mod\.ts";$/m);
  assert.match(source, /^import \* as _m0 from "\.\.\/\.\.\/\.\.\/plugins\/mod\.ts";$/m);
  assert.match(
    source,
    /^import \* as _m1 from "\.\.\/\.\.\/\.\.\/tests\/fixtures\/user_plugins\/my_plugins\.ts";$/m,
  );
  assert.match(source, /^ {4}_m0\.bundledPlugins\[0\], \/\/ "say" from plugins\/say\.ts$/m);
  assert.match(source, /^ {4}_m1\.tenantGate, \/\/ "tenant-gate" from tests\//m);
  assert.match(source, /programName: "my-runner"/);
  assert.equal(source.match(/^import /gm)?.length, 3);
  assert.doesNotMatch(source, /import\(/, "no dynamic import");
});

describe("denoPermissionFlags()", () => {
  test("grants socket read/write, net and the two APISIX variables by default", () => {
    assert.deepEqual(denoPermissionFlags(), [
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env=APISIX_LISTEN_ADDRESS,APISIX_CONF_EXPIRE_TIME",
    ]);
  });

  test("scopes read/write to the socket dir and merges the user's permissions", () => {
    assert.deepEqual(
      denoPermissionFlags({
        socketDir: "/usr/local/apisix/conf",
        allow: ["env=AUTH_KEY", "read=/etc/my-plugin", "--allow-sys=hostname", "net=auth:443"],
      }),
      [
        "--allow-read=/usr/local/apisix/conf,/etc/my-plugin",
        "--allow-write=/usr/local/apisix/conf",
        "--allow-net",
        "--allow-env=APISIX_LISTEN_ADDRESS,APISIX_CONF_EXPIRE_TIME,AUTH_KEY",
        "--allow-sys=hostname",
      ],
    );
  });

  test("an unscoped user permission widens the scoped one", () => {
    assert.deepEqual(denoPermissionFlags({ socketDir: "/run", allow: ["write"] }).slice(0, 2), [
      "--allow-read=/run",
      "--allow-write",
    ]);
  });

  test("rejects an unknown permission kind", () => {
    assert.throws(
      () => denoPermissionFlags({ allow: ["everything"] }),
      /Unknown --allow "everything"/,
    );
  });
});

describe("findDenort()", () => {
  test("uses DENORT_BIN when it names an existing file", () => {
    const lookup = findDenort(undefined, { DENORT_BIN: FIXTURE });
    assert.deepEqual([lookup.found, lookup.path], [true, FIXTURE]);
  });

  test("reports a DENORT_BIN that does not exist", () => {
    const lookup = findDenort(undefined, { DENORT_BIN: "/nonexistent/denort" });
    assert.equal(lookup.found, false);
    assert.equal(lookup.reason, "DENORT_BIN=/nonexistent/denort does not exist");
  });

  test("looks in Deno's download cache for the target's zip", () => {
    const lookup = findDenort("aarch64-unknown-linux-gnu", {});
    assert.match(
      lookup.cachePath,
      /\/dl\/release\/v\d+\.\d+\.\d+\/denort-aarch64-unknown-linux-gnu\.zip$/,
    );
    if (!lookup.found) assert.match(lookup.reason, /DENORT_BIN is unset and .* does not exist/);
  });
});
