// Tests of the build's generated entry, Deno permissions and denort lookup.

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { discoverPlugins } from "../discover.ts";
import { findDenort } from "./denort.ts";
import { renderEntry } from "./entry.ts";
import { denoPermissionFlags } from "./permissions.ts";

const ROOT = new URL("../../..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURE = join(ROOT, "tests", "support", "fixtures", "user_plugins", "my_plugins.ts");
const DENO = join(ROOT, "node_modules", ".bin", "deno");

test("renderEntry() imports each module statically and lists each plugin once", async () => {
  const found = await discoverPlugins([FIXTURE], { cwd: ROOT, withBundled: true });
  const source = renderEntry(found, {
    entryDir: join(ROOT, ".apisix-ts-runner", "x"),
    programName: "my-runner",
  });
  assert.match(source, /^import \{ runRunner \} from "apisix-ts-plugin-runner\/runner";$/m);
  assert.match(source, /^import \* as _m0 from "apisix-ts-plugin-runner\/plugins";$/m);
  assert.match(
    source,
    /^import \* as _m1 from "\.\.\/\.\.\/tests\/support\/fixtures\/user_plugins\/my_plugins\.ts";$/m,
  );
  assert.match(source, /^ {4}_m0\.bundledPlugins\[0\], \/\/ "say" from the bundled plugins$/m);
  assert.match(source, /^ {4}_m1\.tenantGate, \/\/ "tenant-gate" from my_plugins\.ts$/m);
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
      "--allow-env=APISIX_LISTEN_ADDRESS,APISIX_CONF_EXPIRE_TIME,OTEL_*",
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
        "--allow-env=APISIX_LISTEN_ADDRESS,APISIX_CONF_EXPIRE_TIME,OTEL_*,AUTH_KEY",
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
    const lookup = findDenort(DENO, undefined, { DENORT_BIN: FIXTURE });
    assert.deepEqual([lookup.found, lookup.path], [true, FIXTURE]);
  });

  test("reports a DENORT_BIN that does not exist", () => {
    const lookup = findDenort(DENO, undefined, { DENORT_BIN: "/nonexistent/denort" });
    assert.equal(lookup.found, false);
    assert.equal(lookup.reason, "DENORT_BIN=/nonexistent/denort does not exist");
  });

  test("looks in Deno's download cache for the target's zip", () => {
    const lookup = findDenort(DENO, "aarch64-unknown-linux-gnu", {});
    assert.match(
      lookup.cachePath,
      /\/dl\/release\/v\d+\.\d+\.\d+\/denort-aarch64-unknown-linux-gnu\.zip$/,
    );
    if (!lookup.found) assert.match(lookup.reason, /DENORT_BIN is unset and .* does not exist/);
  });
});
